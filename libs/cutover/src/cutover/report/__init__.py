"""The go/no-go report of a cut-over, read from a service's /metrics or from Prometheus (ADR 0018)."""
