"""The relay side of a transactional outbox: leased batches, one aggregate's events in order, backoff, dead letters."""
