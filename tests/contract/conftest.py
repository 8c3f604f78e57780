"""Shared setup of the contract tests."""

import os

# pact-python phones home on first use unless told not to; tests never should.
os.environ["PACT_DO_NOT_TRACK"] = "true"

PACT_GROUP = "pact"
"""The pact tests share one file: the consumer tests write it, the provider's verify it.

Their modules carry ``xdist_group(PACT_GROUP)``, so ``just test`` (``--dist loadgroup``; conftest.py)
runs them on one worker, in collection order, as a serial run does: a second worker
would empty the folder mid-write.
"""
