"""database adapters: tables, repository, unit of work, read queries."""
