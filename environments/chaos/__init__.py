"""Chaos experiments: opt-in fault injection against an environment, measured recovery, and the
"chaos-ready" badge (issue 16). Same skeleton as the other sub-domains; the models belong to the
``environments`` app (``environments/models.py`` imports them)."""
