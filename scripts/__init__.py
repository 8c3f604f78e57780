"""Developer and CI tooling that is not part of any service."""
