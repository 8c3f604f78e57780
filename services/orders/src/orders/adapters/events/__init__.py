"""Integration events: domain events to envelopes, the bus choice, orders' own consumers."""
