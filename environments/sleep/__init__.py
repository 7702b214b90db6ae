"""Sleep and wake (issue 17): an environment's Deployments scaled to zero and back, on a schedule, after
idle hours, on request ("Sleep now" / "Wake now") and on the first HTTP request to a sleeping hostname.
Same skeleton as the other sub-domains; the models belong to the ``environments`` app."""
