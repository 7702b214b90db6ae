"""Log history: the backend interface, the search query, and the text query language.

The backend is chosen by ``SLIPWAY_LOG_HISTORY_BACKEND`` (a dotted path to a class implementing
``LogHistoryBackend``); CloudWatch Logs is the one shipped. An OpenSearch or Loki backend only
has to translate a ``HistoryQuery`` (its ``text`` already parsed into ``TextQuery``).

Text query language (what users type, the same for every backend):
``word`` and ``"a phrase"`` must all appear; ``?word ?"other phrase"`` means any of them;
``-word`` / ``-"a phrase"`` excludes. Any-of terms cannot be mixed with the others (CloudWatch's
term syntax has no grouping, so a mixed query would silently mean something else).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

_TOKEN = re.compile(r'([?-]?)(?:"([^"]*)"|(\S+))')
MAX_TERMS = 20


class HistoryQueryError(ValueError):
    """The search cannot be run as asked; the message is safe to show."""


@dataclass(frozen=True)
class TextQuery:
    all_terms: tuple[str, ...] = ()
    any_terms: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.all_terms or self.any_terms or self.excluded)


def parse_text(text: str) -> TextQuery:
    """Parse the user's search text. Raises HistoryQueryError for what cannot be expressed."""
    text = text.strip()
    if text.count('"') % 2:
        raise HistoryQueryError("A quoted phrase is not closed.")
    all_terms: list[str] = []
    any_terms: list[str] = []
    excluded: list[str] = []
    for prefix, phrase, word in _TOKEN.findall(text):
        term = phrase if phrase is not None and word == "" else word
        if not term.strip():
            continue
        {"": all_terms, "?": any_terms, "-": excluded}[prefix].append(term)
    if any_terms and (all_terms or excluded):
        raise HistoryQueryError("Use either ?any ?of ?these terms, or terms that must all match "
                                "(with -exclusions), not both in one search.")
    if len(all_terms) + len(any_terms) + len(excluded) > MAX_TERMS:
        raise HistoryQueryError(f"At most {MAX_TERMS} search terms.")
    return TextQuery(tuple(all_terms), tuple(any_terms), tuple(excluded))


@dataclass(frozen=True)
class HistoryQuery:
    """One page of a search in one environment's logs."""

    cluster: str
    namespace: str
    component: str = ""
    pod: str = ""
    start: datetime | None = None
    end: datetime | None = None
    text: TextQuery = field(default_factory=TextQuery)
    cursor: str = ""
    limit: int = 100


@dataclass(frozen=True)
class HistoryEvent:
    timestamp: datetime
    container: str
    pod: str
    message: str
    event_id: str = ""


@dataclass
class HistoryPage:
    events: list[HistoryEvent]
    next_cursor: str = ""
    notice: str = ""  # e.g. "nothing shipped yet for this environment"
    source: str = ""  # where the backend looked (log group, index…), for the page


class LogHistoryBackend(Protocol):
    name: str

    def search(self, query: HistoryQuery) -> HistoryPage:
        """Events matching ``query``, oldest first, at most ``query.limit``; raises HistoryQueryError."""
        ...


def history_backend() -> LogHistoryBackend:
    return import_string(settings.SLIPWAY_LOG_HISTORY_BACKEND)()
