"""Flag stores: where the run-time flags live."""
