"""Use cases of the products service: commands, queries and their handlers."""
