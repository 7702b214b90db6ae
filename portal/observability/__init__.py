"""Operating Slipway: readiness (/readyz), Prometheus metrics (/metrics), JSON logs with a request id."""
