"""Orders' outbox: its codec and writer, and what servicekit's relay is handed."""
