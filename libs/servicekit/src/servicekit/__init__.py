"""Cross-cutting FastAPI plumbing shared by the services.

Written once here so both services answer errors, log, expose health and
metrics, authenticate and configure themselves the same way.
"""
