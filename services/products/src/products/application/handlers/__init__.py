"""Command and query handlers: plain functions taking their collaborators explicitly."""
