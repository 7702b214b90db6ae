"""Per-table row filters for subsets (``created_at >= NOW() - INTERVAL 30 DAY``), validated.

A filter is pasted into a ``WHERE`` clause, so it is tokenised and accepted only when every token is
a column of the table, a literal, an operator or an allowed function: no statements, comments,
subqueries or other tables can get through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .contracts import CopyError

_TOKEN = re.compile(r"""
    \s+                                      # whitespace
  | (?P<string>'(?:[^'\\]|'')*')             # 'text' ('' escapes a quote; backslashes refused)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<quoted>`[A-Za-z0-9_$]+`)
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<op><=>|<=|>=|<>|!=|=|<|>|\(|\)|,|\+|-|\*|/|%)
""", re.VERBOSE)

_KEYWORDS = frozenset("""AND OR NOT IS NULL IN BETWEEN LIKE TRUE FALSE INTERVAL
    MICROSECOND SECOND MINUTE HOUR DAY WEEK MONTH QUARTER YEAR""".split())
_FUNCTIONS = frozenset("""NOW CURDATE CURRENT_DATE CURRENT_TIMESTAMP UTC_TIMESTAMP UTC_DATE DATE_SUB DATE_ADD
    DATE LOWER UPPER LENGTH COALESCE IFNULL ABS MOD YEAR MONTH DAY""".split())


def validate_filter(expression: str, columns: Iterable[str], *, table: str = "") -> str:
    """Return the filter unchanged when it is safe for ``table`` with ``columns``; raise CopyError otherwise."""
    known = {c.lower() for c in columns}
    where = f" for table {table}" if table else ""
    if not expression.strip():
        raise CopyError(f"Empty row filter{where}.")
    if len(expression) > 1000:
        raise CopyError(f"Row filter{where} is longer than 1000 characters.")
    position, depth, words = 0, 0, 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise CopyError(f"Row filter{where} has a character that is not allowed at position {position}: "
                            f"{expression[position:position + 10]!r}.")
        position = match.end()
        if match.group("quoted"):
            name = match.group("quoted")[1:-1]
            if name.lower() not in known:
                raise CopyError(f"Row filter{where} refers to unknown column {name!r}.")
        elif match.group("word"):
            word = match.group("word")
            words += 1
            following = expression[position:].lstrip()[:1]
            if word.upper() in _FUNCTIONS and following == "(":
                continue
            if word.upper() not in _KEYWORDS and word.lower() not in known:
                raise CopyError(f"Row filter{where} refers to {word!r}, which is neither a column of the table "
                                "nor an allowed keyword or function.")
        elif match.group("op") == "(":
            depth += 1
        elif match.group("op") == ")":
            depth -= 1
            if depth < 0:
                raise CopyError(f"Row filter{where} has unbalanced parentheses.")
    if depth:
        raise CopyError(f"Row filter{where} has unbalanced parentheses.")
    return expression
