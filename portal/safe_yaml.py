"""The one bounded YAML loader for text that users send (documents, kubeconfigs, catalog fields).

``yaml.safe_load`` constructs no objects, but it expands aliases and recurses with the nesting: a
few hundred bytes of nested ``&a``/``*a`` become millions of nodes (and a reply that quotes them,
hundreds of megabytes), and ten thousand ``[`` exhaust the stack. Nothing Slipway reads needs
anchors, so they are refused outright; size and nesting depth are capped; and the refusal is a
short message that quotes nothing but a position.
"""

from __future__ import annotations

from typing import Any

import yaml
from django.conf import settings

MAX_DEPTH = 50  # deeper than any kubeconfig, manifest or document Slipway reads


class YAMLRefused(ValueError):
    """The text is not YAML that Slipway accepts; ``str()`` is a short, user-facing reason."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases and caps nesting (the pure-Python composer: the
    C one cannot be hooked, and the size cap keeps the slower parser cheap)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise YAMLRefused(f"YAML anchors and aliases (&name, *name) are not accepted{_at(event.start_mark)}.")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YAMLRefused(f"The YAML is nested more than {MAX_DEPTH} levels deep{_at(event.start_mark)}.")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _at(mark: Any) -> str:
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def max_bytes() -> int:
    return settings.SLIPWAY_MAX_YAML_BYTES


def _text(source: str | bytes, what: str) -> str:
    limit = max_bytes()
    size = len(source) if isinstance(source, bytes) else len(source.encode("utf-8", errors="surrogatepass"))
    if size > limit:
        raise YAMLRefused(f"The {what} is {size} bytes; at most {limit} bytes are accepted.")
    if isinstance(source, bytes):
        try:
            return source.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YAMLRefused(f"The {what} is not UTF-8 text.") from exc
    return source


def _refusal(exc: yaml.YAMLError, what: str) -> YAMLRefused:
    # The problem text is PyYAML's own words ("mapping values are not allowed here"); the snippet
    # PyYAML would add quotes the user's line, so only the position is kept.
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or "it cannot be parsed"
    mark = getattr(exc, "problem_mark", None)
    return YAMLRefused(f"The {what} is not valid YAML: {' '.join(str(problem).split())[:120]}{_at(mark)}.")


def _loader(source: str | bytes, what: str) -> _BoundedLoader:
    try:  # the reader refuses control characters as soon as it is built
        return _BoundedLoader(_text(source, what))
    except yaml.YAMLError as exc:
        raise _refusal(exc, what) from exc


def load(source: str | bytes, *, what: str = "document") -> Any:
    """One YAML document → plain data (dict, list, str, int, float, bool, None, dates).

    Raises YAMLRefused (a ValueError) with a short reason naming ``what``: too large, not UTF-8,
    anchors/aliases, too deep, or a syntax error with its line and column.
    """
    loader = _loader(source, what)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise _refusal(exc, what) from exc
    except RecursionError as exc:  # a flow collection deep enough to exhaust the parser itself
        raise YAMLRefused(f"The {what} is nested too deeply.") from exc
    finally:
        loader.dispose()


def load_all(source: str | bytes, *, what: str = "manifest") -> list[Any]:
    """Every document of a multi-document stream (``---``), with the same bounds as ``load``."""
    loader = _loader(source, what)
    try:
        documents = []
        while loader.check_data():
            documents.append(loader.get_data())
        return documents
    except yaml.YAMLError as exc:
        raise _refusal(exc, what) from exc
    except RecursionError as exc:
        raise YAMLRefused(f"The {what} is nested too deeply.") from exc
    finally:
        loader.dispose()
