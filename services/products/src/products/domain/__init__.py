"""Products domain: catalogue entries, stock reservations, their rules and ports."""
