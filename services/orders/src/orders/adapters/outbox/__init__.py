"""outbox and relay."""
