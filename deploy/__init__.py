"""Deployment tooling: the dev runner, container builds, and the compose checker."""
