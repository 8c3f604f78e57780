"""Hypothesis settings of the property tests: bounded by default, wider on request.

``just test`` runs the bounded profile (seconds per test on two cores);
``PROPERTIES_PROFILE=thorough just test tests/properties`` runs many more examples.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "bounded",
    max_examples=15,
    deadline=None,
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", parent=settings.get_profile("bounded"), max_examples=300)

PROFILE = settings.get_profile(os.environ.get("PROPERTIES_PROFILE", "bounded"))
"""Decorate each property test with this (explicit, so other suites keep their own)."""
