"""Logs of an environment: live pod output (kube source → websocket) and searchable history."""
