"""Hostnames in Route 53: per-cluster settings, one record (plus extra hostnames) per environment,
each marked with an ownership TXT record so Slipway only ever changes or deletes what it wrote."""
