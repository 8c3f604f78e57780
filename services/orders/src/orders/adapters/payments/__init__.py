"""payment adapters."""
