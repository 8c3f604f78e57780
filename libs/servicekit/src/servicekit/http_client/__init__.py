"""Calling another service over HTTP: the pooled client, what a failed attempt means, retries."""
