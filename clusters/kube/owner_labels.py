"""The labels and annotation by which Slipway recognises what it owns in a cluster.

The renderer stamps them on every object (``environments.render.labels`` imports the keys from
here); the engine selects by them to prune, detect drift, switch colours and check namespaces.
One definition, so the objects made and the objects looked for can never disagree.
"""

from __future__ import annotations

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_SLIPWAY = "slipway"  # the value of MANAGED_BY on everything Slipway renders
ENVIRONMENT = "slipway.io/environment"
COLOUR = "slipway.io/colour"
# On the namespace: which Slipway object it belongs to (portal.derived_names.owner_marker). Checked
# before an environment applies into an existing namespace or deletes it.
OWNER_MARKER = "slipway.io/owner-marker"


def ownership_selector(environment: str, *, colour: str = "", except_colour: str = "") -> str:
    """The label selector of the objects Slipway manages for ``environment``.

    ``colour`` narrows it to one blue/green colour; ``except_colour`` leaves one colour out (what a
    blue/green rollout may prune: everything but the live colour). Never empty, so it can never
    select every object of a namespace.
    """
    terms = [f"{MANAGED_BY}={MANAGED_BY_SLIPWAY}", f"{ENVIRONMENT}={environment}"]
    if colour:
        terms.append(f"{COLOUR}={colour}")
    if except_colour:
        terms.append(f"{COLOUR}!={except_colour}")
    return ",".join(terms)
