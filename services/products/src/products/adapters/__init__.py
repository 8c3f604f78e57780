"""Adapters: SQL storage (`db/`)."""
