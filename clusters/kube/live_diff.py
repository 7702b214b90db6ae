"""Drift: how the live objects differ from a rendered revision, who changed them, and reconcile.

Only the fields Slipway declares are compared (the desired manifest is walked, the live object is
looked up along the way), so everything the API server or controllers add -- status, uid,
resourceVersion, managedFields, defaulted spec fields, their annotations -- is ignored by
construction. Secret values never leave this module: their changes read "<redacted>".
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any, cast

from kubernetes import client
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError
from kubernetes.utils import parse_quantity

from .apply import PRUNABLE_KINDS, Action, ApplyResult, apply_manifests, prune
from .objects import ObjectKey, dynamic_client, object_key, resource_for, unwanted_objects

MANAGER = "slipway"
REDACTED = "<redacted>"

Segment = str | int | tuple[str, str]  # a map key, a list index, or ("name", x) in a keyed list

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_SEGMENT = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_-]*)|\[name=([^\]]*)\]|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')
# Map keys under which quantities live ("0.5" == "500m", "1Gi" == "1024Mi").
_QUANTITY_PARENTS = {"resources", "hard", "sizeLimit"}
_LIMIT_RANGE_QUANTITIES = {"default", "defaultRequest", "max", "min", "maxLimitRequestRatio"}


@dataclass
class FieldChange:
    path: str  # e.g. "spec.replicas", "spec.template.spec.containers[name=web].image"
    desired: Any
    live: Any  # None when the live object lacks the field


@dataclass
class ObjectDrift:
    key: ObjectKey
    state: str  # "missing" | "changed" | "extra"
    changes: list[FieldChange] = field(default_factory=list)
    changed_by: list[str] = field(default_factory=list)  # field managers other than slipway


def format_path(segments: list[Segment]) -> str:
    """The readable form of a path: dots between plain keys, ["a.b/c"] for other keys, [name=x], [0]."""
    out = ""
    for seg in segments:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif isinstance(seg, tuple):
            out += f"[name={seg[1]}]"
        elif _PLAIN_KEY.match(seg):
            out += f".{seg}" if out else seg
        else:
            out += f"[{json.dumps(seg)}]"
    return out


def parse_path(path: str) -> list[Segment]:
    """The inverse of format_path; raises ValueError for text it did not produce."""
    segments: list[Segment] = []
    pos = 0
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if not m or m.end() == pos:
            raise ValueError(f"not a drift path: {path!r}")
        plain, name, index, quoted = m.groups()
        if plain is not None:
            segments.append(plain)
        elif name is not None:
            segments.append(("name", name))
        elif index is not None:
            segments.append(int(index))
        else:
            segments.append(json.loads(quoted))
        pos = m.end()
    return segments


def diff_object(desired: dict[str, Any], live: dict[str, Any]) -> list[FieldChange]:
    """Every field the desired manifest sets whose live value differs, in manifest order.

    Lists of maps that all carry a "name" are matched by name (order and extra live elements do
    not matter); other lists differ when their lengths differ or an element differs in a declared
    field, and are then reported whole. Quantities compare by value under resources, ResourceQuota
    hard, emptyDir sizeLimit and LimitRange limits. For a Secret, ``stringData`` compares with the
    decoded live ``data`` and every data/stringData change reads "<redacted>" on both sides.
    Never raises for differently shaped live objects: a type mismatch is a change.
    """
    changes: list[FieldChange] = []
    kind = desired.get("kind", "")
    for key, value in desired.items():
        if key in ("apiVersion", "kind", "status"):
            continue
        if kind == "Secret" and key in ("data", "stringData"):
            changes += _secret_changes(key, value or {}, live.get("data") or {})
        else:
            _walk([key], value, live.get(key), kind, changes)
    return changes


def _walk(path: list[Segment], desired: Any, live: Any, kind: str, out: list[FieldChange]) -> None:
    if desired is None:
        return
    if isinstance(desired, dict):
        if live is None:
            live = {}
        if not isinstance(live, dict):
            out.append(FieldChange(format_path(path), desired, live))
            return
        for key, value in desired.items():
            _walk([*path, key], value, live.get(key), kind, out)
    elif isinstance(desired, list):
        _walk_list(path, desired, live, kind, out)
    elif not _same_scalar(path, desired, live, kind):
        out.append(FieldChange(format_path(path), desired, live))


def _walk_list(path: list[Segment], desired: list[Any], live: Any, kind: str, out: list[FieldChange]) -> None:
    if live is None and not desired:
        return
    if not isinstance(live, list):
        out.append(FieldChange(format_path(path), desired, live))
        return
    keyed = bool(desired) and all(isinstance(d, dict) and "name" in d for d in desired)
    if keyed and all(isinstance(item, dict) for item in live):
        by_name = {item.get("name"): item for item in live}
        for item in desired:
            step = [*path, ("name", str(item["name"]))]
            if item["name"] not in by_name:
                out.append(FieldChange(format_path(step), item, None))
            else:
                _walk(step, item, by_name[item["name"]], kind, out)
        return
    inner: list[FieldChange] = []
    if len(desired) == len(live):
        for index, (d, v) in enumerate(zip(desired, live, strict=True)):
            _walk([*path, index], d, v, kind, inner)
    if inner or len(desired) != len(live):
        out.append(FieldChange(format_path(path), desired, live))


def _same_scalar(path: list[Segment], desired: Any, live: Any, kind: str) -> bool:
    if desired == live or (desired == "" and live is None):
        return True
    if live is None or isinstance(desired, bool) or isinstance(live, bool) or not _is_quantity(path, kind):
        return False
    try:
        return parse_quantity(desired) == parse_quantity(live)
    except (ValueError, TypeError):
        return False


def _is_quantity(path: list[Segment], kind: str) -> bool:
    keys = [s for s in path if isinstance(s, str)]
    if any(k in _QUANTITY_PARENTS for k in keys[:-1]) or keys[-1:] == ["sizeLimit"]:
        return True
    return kind == "LimitRange" and keys[:2] == ["spec", "limits"] and any(k in _LIMIT_RANGE_QUANTITIES for k in keys)


def _secret_changes(field_name: str, desired: dict[str, Any], live_data: dict[str, Any]) -> list[FieldChange]:
    changes = []
    for key, value in desired.items():
        # stringData is plain text; base64 data compares decoded, so padding/line breaks do not matter.
        want = str(value).encode() if field_name == "stringData" else _b64decode(value)
        raw = live_data.get(key)
        if raw is None or _b64decode(raw) != want:
            changes.append(FieldChange(format_path([field_name, key]), REDACTED, REDACTED))
    return changes


def _b64decode(value: Any) -> bytes | None:
    try:
        return base64.b64decode(str(value), validate=False)
    except (binascii.Error, ValueError):
        return None


def changed_by(live: dict[str, Any], paths: list[str]) -> list[str]:
    """Sorted field managers other than slipway that own any of ``paths`` in ``live``'s managedFields.

    The mapping of a path to fieldsV1 is best effort: "[name=x]" matches k:{"name":"x",...} keys
    (any keyed element when the list is keyed by something else), "[i]" any element, and an owned
    ancestor with no children (an atomic field) owns everything below it. For a Secret, a
    stringData path also matches the same key under data. When no manager owns a path this way,
    falls back to the managers (status writers excepted) whose last write is later than slipway's.
    Raises ValueError for a path that format_path could not have produced.
    """
    entries = (live.get("metadata") or {}).get("managedFields") or []
    kind = live.get("kind", "")
    parsed = [parse_path(path) for path in paths]
    if kind == "Secret":
        parsed += [["data", *p[1:]] for p in parsed if p[:1] == ["stringData"]]
    owners = {e.get("manager", "") for e in entries
              if e.get("manager") != MANAGER and e.get("fieldsV1")
              and any(_owns(e["fieldsV1"], p) for p in parsed)}
    if owners:
        return sorted(owners)
    since = max((e.get("time") or "" for e in entries if e.get("manager") == MANAGER), default="")
    return sorted({e.get("manager", "") for e in entries
                   if e.get("manager") != MANAGER and e.get("operation") in ("Update", "Apply")
                   and e.get("subresource") != "status" and str(e.get("time") or "") > since})


def _owns(node: dict[str, Any], path: list[Segment]) -> bool:
    if not path or not node:
        return True  # the field itself, or an atomic ancestor
    seg, rest = path[0], path[1:]
    if isinstance(seg, str):
        child = node.get(f"f:{seg}")
        return isinstance(child, dict) and _owns(child, rest)
    elements = {k: v for k, v in node.items() if k[:2] in ("k:", "v:", "i:") and isinstance(v, dict)}
    if isinstance(seg, tuple):
        names = {k: _element_name(k) for k in elements}
        if any(n is not None for n in names.values()):
            elements = {k: v for k, v in elements.items() if names[k] == seg[1]}
    return any(_owns(v, rest) for v in elements.values())


def _element_name(key: str) -> str | None:
    try:
        value = json.loads(key[2:]) if key.startswith("k:") else None
    except ValueError:
        return None
    return str(value["name"]) if isinstance(value, dict) and "name" in value else None


def detect_drift(api: client.ApiClient, manifests: list[dict[str, Any]], *, namespace: str, selector: str,
                 prunable_kinds: list[tuple[str, str]] = PRUNABLE_KINDS) -> list[ObjectDrift]:
    """The drifted objects of ``manifests``; an empty list means the environment is in sync.

    Each desired object is read from the server: absent, being deleted or of a kind the server does
    not serve -> "missing"; declared fields that differ -> "changed" (with the changes and who made
    them). Objects of ``prunable_kinds`` in ``namespace`` matching ``selector`` that are not
    desired (compared by API group, like prune) and not controlled by another object -> "extra".
    Read-only. Raises ValueError for an empty selector and API errors other than 404.
    """
    if not selector.strip():
        raise ValueError("drift detection needs a label selector: an empty one would match every object")
    dyn = dynamic_client(api)
    drifts: list[ObjectDrift] = []
    for manifest in manifests:
        key = object_key(manifest)
        try:
            resource = resource_for(api, key[0], key[1])
            ns = (key[2] or namespace) if resource.namespaced else None
            live = dyn.get(resource, name=key[3], namespace=ns).to_dict()
        except (ResourceNotFoundError, NotFoundError):
            live = None
        if live is None or live["metadata"].get("deletionTimestamp"):
            drifts.append(ObjectDrift(key, "missing"))
            continue
        changes = diff_object(manifest, live)
        if changes:
            drifts.append(ObjectDrift(key, "changed", changes, changed_by(live, [c.path for c in changes])))
    desired = {(v, k, ns or namespace, n) for v, k, ns, n in map(object_key, manifests)}
    for api_version, kind, _, item in unwanted_objects(api, namespace=namespace, selector=selector,
                                                       kinds=list(prunable_kinds), keep=desired):
        meta = item["metadata"]
        managers = sorted({e.get("manager", "") for e in meta.get("managedFields") or []
                           if e.get("manager") != MANAGER and e.get("subresource") != "status"})
        drifts.append(ObjectDrift((api_version, kind, namespace, meta["name"]), "extra", [], managers))
    return drifts


def reconcile(api: client.ApiClient, manifests: list[dict[str, Any]], drifts: list[ObjectDrift], *,
              namespace: str, selector: str) -> list[ApplyResult]:
    """Bring the live objects back to ``manifests``: re-apply all of them, prune the extras.

    Every manifest is server-side applied with force (slipway takes back the fields others
    changed; in-sync objects report "unchanged"). When ``drifts`` has "extra" objects, the managed
    objects of those kinds that are not desired are pruned (see apply.prune) and reported with
    action "deleted". Apply failures come back as "failed" results (see apply.raise_for_errors).
    """
    results = apply_manifests(api, manifests, force=True)
    kinds = list(dict.fromkeys((d.key[0], d.key[1]) for d in drifts if d.state == "extra"))
    if kinds:
        keep = {object_key(m) for m in manifests}
        pruned = prune(api, namespace=namespace, selector=selector, keep=keep, kinds=kinds)
        results += [ApplyResult(key, cast(Action, "deleted")) for key in pruned]
    return results
