"""notification adapters."""
