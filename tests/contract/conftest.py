"""Shared setup of the contract tests."""

import os

# pact-python phones home on first use unless told not to; tests never should.
os.environ["PACT_DO_NOT_TRACK"] = "true"
