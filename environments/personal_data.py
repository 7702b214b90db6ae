"""What a blueprint declares personal, checked and put in one shape wherever a definition arrives.

``migrations_tool/policy.py`` reads ``Blueprint.personal_data``: the legacy list of ``table.column``
(MariaDB classified; Redis and S3 not) or a mapping per store kind (a kind present is classified,
an empty list meaning "nothing personal"; a kind absent is unclassified). Every definition here is
normalised to the mapping: the legacy list becomes ``{"mysql": [...]}``, which the policy reads the
same way (Redis and S3 stay unclassified), so documents, API and form show one form. An empty
declaration (``[]``, ``{}``, the model's default) declares nothing: every store is unclassified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from portal.quoting import listed, quoted, sorted_keys

KINDS = ("mysql", "redis", "s3")
MAX_ENTRIES = 200  # per store kind
MAX_CHARS = {"mysql": 129, "redis": 512, "s3": 1024}  # MariaDB names are at most 64 characters each
COLUMN = re.compile(r"^[A-Za-z0-9_$]{1,64}\.[A-Za-z0-9_$]{1,64}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SHAPE = ('Give personal_data as {mysql: ["table.column", …], redis: ["key:pattern*", …], s3: ["prefix/", …]} '
         "(a store left out is unclassified; an empty list means nothing personal).")


def personal_data_normalised(value: Any) -> dict[str, list[str]]:
    """A stored declaration as the mapping, entries de-duplicated and sorted (the order means nothing).

    An empty declaration, ``[]`` or ``{}``, classifies nothing and becomes ``{}``, as the policy reads it.
    """
    if not value:
        return {}
    if isinstance(value, Mapping):
        raw = {kind: value[kind] for kind in KINDS if kind in value}
    else:
        raw = {"mysql": value}
    return {kind: sorted({entries} if isinstance(entries, str) else {str(e) for e in entries or []})
            for kind, entries in raw.items()}


def _entry_errors(kind: str, entries: Any, path: str, add: Any) -> None:
    if not isinstance(entries, list):
        add(path, f"Give {kind} as a list (got {quoted(entries)}).")
        return
    if len(entries) > MAX_ENTRIES:
        add(path, f"At most {MAX_ENTRIES} entries per store (got {len(entries)}).")
        return
    for n, entry in enumerate(entries):
        where = f"{path}[{n}]"
        if not isinstance(entry, str) or not entry.strip():
            add(where, f"{quoted(entry)} is not an entry: give non-empty text.")
        elif len(entry) > MAX_CHARS[kind] or CONTROL.search(entry):
            add(where, f"An entry has at most {MAX_CHARS[kind]} characters and no control characters.")
        elif kind == "mysql" and not COLUMN.match(entry):
            add(where, f"{quoted(entry)} is not a column: write table.column (letters, digits, _ and $).")


def personal_data_clean(value: Any, *, prefix: str = "") -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(the declaration as the mapping, errors keyed by ``prefix`` + path such as ``personal_data.redis[0]``).

    Accepts the mapping or the legacy list of MariaDB columns; anything else is an error with its reason.
    """
    errors: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        errors.setdefault(prefix + path, []).append(message)

    if isinstance(value, list):
        _entry_errors("mysql", value, "personal_data", add)
    elif isinstance(value, dict):
        extra = sorted_keys(set(value) - set(KINDS))
        if extra:
            add("personal_data", f"Unknown store kinds: {listed(extra)}; use {', '.join(KINDS)}.")
        for kind in KINDS:
            if kind in value:
                _entry_errors(kind, value[kind], f"personal_data.{kind}", add)
    else:
        add("personal_data", SHAPE)
    return ({} if errors else personal_data_normalised(value)), errors
