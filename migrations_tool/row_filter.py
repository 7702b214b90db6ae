"""Per-table row filters for subsets (``created_at >= NOW() - INTERVAL 30 DAY``): parsed, never passed through.

A filter is written by the person starting a copy and runs on the source server, which may be
production. Its text is parsed into an expression tree (sqlglot, MySQL dialect), every node is
checked against an allow-list (the table's own columns, literals, comparison, boolean and
arithmetic operators, ``IN``, ``BETWEEN``, ``LIKE``, ``IS NULL`` and a few named functions), and the
SQL sent to the server is rendered from that tree by this module: identifiers from the table's own
column list, operators and function names from the tables below, values as literals escaped by the
connection that runs the statement. No character of the user's text reaches the server as SQL, so
comments, quotes, subqueries, other tables, variables and statements cannot get through however they
are spelled, and a ``%`` is only ever part of a value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlglot
from pymysql.converters import escape_string
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from .contracts import CopyError
from .mariadb_schema import quote_name

MAX_LENGTH = 1000
MAX_DEPTH = 40  # nesting of the expression tree; deeper is no filter a person writes
_DIALECT = sqlglot.Dialect.get_or_raise("mysql")

# What a filter may use, as shown in error messages.
ALLOWED = ("the table's columns, numbers, quoted strings, NULL, TRUE/FALSE, = <> < <= > >= <=>, AND/OR/NOT, "
           "+ - * / DIV MOD %, IN (…), BETWEEN, LIKE, IS [NOT] NULL, INTERVAL n UNIT, and the functions "
           "NOW, CURDATE, CURRENT_DATE, CURRENT_TIMESTAMP, UTC_TIMESTAMP, UTC_DATE, DATE, YEAR, MONTH, DAY, "
           "DATE_ADD, DATE_SUB, LOWER, UPPER, LENGTH, CHAR_LENGTH, COALESCE, IFNULL, ABS")

_BINARY = {exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=",
           exp.NullSafeEQ: "<=>", exp.And: "AND", exp.Or: "OR", exp.Add: "+", exp.Sub: "-", exp.Mul: "*",
           exp.Div: "/", exp.IntDiv: "DIV", exp.Mod: "MOD"}
# Functions by the class sqlglot parses them into (so LCASE, IFNULL… arrive as Lower, Coalesce…),
# rendered under one fixed name. Every one is pure: none reads a table, waits, or touches files.
_NO_ARGUMENT = {exp.CurrentTimestamp: "NOW()", exp.CurrentDate: "CURDATE()", exp.UtcTimestamp: "UTC_TIMESTAMP()",
                exp.UtcDate: "UTC_DATE()"}
_ONE_ARGUMENT = {exp.TsOrDsToDate: "DATE", exp.Year: "YEAR", exp.Month: "MONTH", exp.Day: "DAY",
                 exp.Lower: "LOWER", exp.Upper: "UPPER", exp.Abs: "ABS"}
_ANONYMOUS = {"NOW": "NOW()", "UTC_TIMESTAMP": "UTC_TIMESTAMP()", "UTC_DATE": "UTC_DATE()", "CURDATE": "CURDATE()"}
_DATE_ARITHMETIC = {exp.DateAdd: "DATE_ADD", exp.DateSub: "DATE_SUB"}
UNITS = frozenset("MICROSECOND SECOND MINUTE HOUR DAY WEEK MONTH QUARTER YEAR".split())

# Names for what was refused, in the words of the person who wrote it.
_REFUSED = {exp.Select: "a subquery", exp.Subquery: "a subquery", exp.Union: "UNION", exp.Intersect: "INTERSECT",
            exp.Except: "EXCEPT", exp.Exists: "EXISTS", exp.All: "ALL (…)", exp.Any: "ANY (…)",
            exp.Parameter: "a user variable (@name)", exp.PropertyEQ: "an assignment (:=)",
            exp.SessionParameter: "a system variable (@@name)",
            exp.Placeholder: "a placeholder", exp.HexString: "a hex literal", exp.BitString: "a bit literal",
            exp.ByteString: "a byte string", exp.National: "a national string (N'…')",
            exp.Introducer: "a character set introducer (_charset'…')", exp.Collate: "COLLATE",
            exp.Cast: "CAST/CONVERT/BINARY", exp.Tuple: "a row constructor", exp.RegexpLike: "REGEXP",
            exp.Case: "CASE", exp.If: "IF", exp.Star: "*"}


class RowFilterError(CopyError):
    """A row filter that is not accepted; the message says why, in terms the writer can act on."""


@dataclass(frozen=True)
class Value:
    """A literal value of a filter: reaches SQL only through the connection's escaping."""

    value: Any


@dataclass(frozen=True)
class RowFilter:
    """An accepted filter: SQL pieces rendered from its tree, values kept apart until a connection escapes them."""

    table: str
    parts: tuple[str | Value, ...]
    columns: frozenset[str]  # the column names it refers to (as spelled in the table when they were known)

    def sql(self, literal: Callable[[Any], str]) -> str:
        """The condition for ``WHERE``, each value written by ``literal`` (use the connection's own
        ``conn.escape``, which knows the server's escaping mode). Never passed through ``%`` formatting."""
        return "".join(part if isinstance(part, str) else literal(part.value) for part in self.parts)

    def text(self) -> str:
        """The condition with values escaped offline (backslash escapes): for messages and tests."""
        return self.sql(lambda value: f"'{escape_string(value)}'" if isinstance(value, str) else str(value))


def parse_row_filter(expression: str, *, table: str, columns: Iterable[str] | None = None) -> RowFilter:
    """Parse ``expression`` as a filter of ``table``; raise RowFilterError (with the reason) unless allowed.

    With ``columns`` (the table's real columns, read from the server) every column must be one of them;
    without (the shape check at the web edge, where the source may not answer), any unqualified column
    name passes and the worker checks it again with the real list before anything runs.
    """
    where = f"Row filter for {_shown(table)}"
    if not isinstance(expression, str) or not expression.strip():
        raise RowFilterError(f"{where} is empty.")
    if len(expression) > MAX_LENGTH:
        raise RowFilterError(f"{where} is longer than {MAX_LENGTH} characters.")
    if not _printable_lines(expression):
        raise RowFilterError(f"{where} contains a control character or an invalid one.")
    tree = _parse(expression, where)
    renderer = _Renderer(table, where, None if columns is None else list(columns))
    renderer.check_depth(tree)
    parts = renderer.render(tree)
    return RowFilter(table, tuple(parts), frozenset(renderer.used))


def row_filter_errors(filters: Any) -> list[str]:
    """Reasons why a ``{table: expression}`` mapping from a form or API cannot be accepted (empty = fine)."""
    if not isinstance(filters, Mapping):
        return ["Row filters must map table names to WHERE expressions."]
    errors = []
    for table, expression in filters.items():
        if not isinstance(table, str) or not table.strip() or len(table) > 64:
            errors.append(f"Row filter for {_shown(str(table))}: a table name has 1 to 64 characters.")
            continue
        try:
            parse_row_filter(expression, table=table)
        except RowFilterError as exc:
            errors.append(str(exc))
    return errors


def _parse(expression: str, where: str) -> exp.Expression:
    try:
        tokens = _DIALECT.tokenize(expression)
        if any(token.comments for token in tokens):
            raise RowFilterError(f"{where}: comments are not allowed.")
        if any(token.token_type == TokenType.SEMICOLON for token in tokens):
            raise RowFilterError(f"{where}: ';' is not allowed; a filter is one condition, not statements.")
        trees = _DIALECT.parse(expression)
    except RowFilterError:
        raise
    except TokenError:
        raise RowFilterError(f"{where} cannot be read: check its quotes.") from None
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        position = f" near column {first['col']}" if first.get("col") else ""
        reason = str(first.get("description") or "not a condition").split(" for <class")[0]
        raise RowFilterError(f"{where} is not a valid condition{position}: {reason[:120]}.") from None
    except RecursionError:
        raise RowFilterError(f"{where} is nested too deeply.") from None
    except Exception:
        # The parser itself fails on some malformed input (seen: "DATE_SUB(" raises AttributeError in
        # sqlglot 30.31); malformed is the writer's mistake to hear about, not a server error.
        raise RowFilterError(f"{where} is not a valid condition.") from None
    if len(trees) != 1 or trees[0] is None:
        raise RowFilterError(f"{where} must be one condition.")
    return trees[0]


class _Renderer:
    def __init__(self, table: str, where: str, columns: list[str] | None) -> None:
        self.table, self.where = table, where
        self.known = None if columns is None else {c.lower(): c for c in columns}
        self.used: set[str] = set()

    def refuse(self, what: str) -> RowFilterError:
        return RowFilterError(f"{self.where} uses {what}, which is not allowed. A filter may use: {ALLOWED}.")

    def check_depth(self, tree: exp.Expression) -> None:
        stack = [(tree, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise RowFilterError(f"{self.where} is nested more than {MAX_DEPTH} levels deep.")
            stack += [(child, depth + 1) for child in node.iter_expressions()]

    def render(self, node: exp.Expression, *, interval_allowed: bool = False) -> list[str | Value]:
        kind = type(node)
        if kind is exp.Paren:
            return ["(", *self.render(node.this), ")"]
        if kind is exp.Column:
            return [self.column(node)]
        if kind is exp.Literal:
            return [self.literal(node)]
        if kind is exp.Null:
            return ["NULL"]
        if kind is exp.Boolean:
            return ["TRUE" if node.this else "FALSE"]
        if kind in _BINARY:
            self.only(node, "this", "expression", "safe")
            dates = kind in (exp.Add, exp.Sub)  # date ± INTERVAL n UNIT
            return ["(", *self.render(node.this, interval_allowed=kind is exp.Add and dates), f" {_BINARY[kind]} ",
                    *self.render(node.expression, interval_allowed=dates), ")"]
        if kind is exp.Interval:
            if not interval_allowed:
                raise self.refuse("INTERVAL outside date + INTERVAL or date - INTERVAL")
            return ["INTERVAL ", *self.operand(node.this), f" {self.unit(node.args.get('unit'))}"]
        if kind is exp.Not:
            return ["(NOT ", *self.render(node.this), ")"]
        if kind is exp.Neg:
            return ["(-", *self.render(node.this), ")"]
        if kind is exp.Is:
            if not isinstance(node.expression, exp.Null | exp.Boolean):
                raise self.refuse("IS with something other than NULL, TRUE or FALSE")
            return ["(", *self.render(node.this), " IS ", *self.render(node.expression), ")"]
        if kind is exp.In:
            if node.args.get("query") is not None:
                raise self.refuse("a subquery")
            self.only(node, "this", "expressions")
            if not node.expressions:
                raise self.refuse("IN without a list of values")
            return ["(", *self.render(node.this), " IN (", *self.joined(node.expressions), "))"]
        if kind is exp.Between:
            self.only(node, "this", "low", "high")
            return ["(", *self.render(node.this), " BETWEEN ", *self.render(node.args["low"]), " AND ",
                    *self.render(node.args["high"]), ")"]
        if kind is exp.Like:
            return self.like(node, None)
        if kind is exp.Escape and isinstance(node.this, exp.Like):
            return self.like(node.this, node.expression)
        return self.function(node)

    def function(self, node: exp.Expression) -> list[str | Value]:
        kind = type(node)
        if kind in _NO_ARGUMENT:
            self.only(node)
            return [_NO_ARGUMENT[kind]]
        if kind is exp.Anonymous:
            name = str(node.this).upper()
            if name in _ANONYMOUS and not node.expressions:
                return [_ANONYMOUS[name]]
            raise self.refuse(f"the function {_shown(name)}")
        if kind in _ONE_ARGUMENT:
            self.only(node, "this")
            return [f"{_ONE_ARGUMENT[kind]}(", *self.render(node.this), ")"]
        if kind is exp.Length:
            self.only(node, "this", "binary")
            return ["LENGTH(" if node.args.get("binary") else "CHAR_LENGTH(", *self.render(node.this), ")"]
        if kind is exp.Coalesce:
            self.only(node, "this", "expressions", "is_nvl", "is_null")
            return ["COALESCE(", *self.joined([node.this, *node.expressions]), ")"]
        if kind in _DATE_ARITHMETIC:
            self.only(node, "this", "expression", "unit")
            return [f"{_DATE_ARITHMETIC[kind]}(", *self.render(node.this), ", INTERVAL ",
                    *self.operand(node.expression), f" {self.unit(node.args.get('unit'))})"]
        for refused, what in _REFUSED.items():
            if isinstance(node, refused):
                raise self.refuse(what)
        if isinstance(node, exp.Func):
            raise self.refuse(f"the function {_shown(node.sql_name())}")
        raise self.refuse(_shown(node.key.upper()))

    def like(self, node: exp.Like, escape: exp.Expression | None) -> list[str | Value]:
        self.only(node, "this", "expression", "negate")
        parts = ["(", *self.render(node.this), " NOT LIKE " if node.args.get("negate") else " LIKE ",
                 *self.render(node.expression)]
        if escape is not None:
            if not (isinstance(escape, exp.Literal) and escape.is_string):
                raise self.refuse("an ESCAPE that is not a quoted character")
            parts += [" ESCAPE ", self.literal(escape)]
        return [*parts, ")"]

    def column(self, node: exp.Column) -> str:
        name = node.name
        qualifier = node.table
        if node.args.get("db") or node.args.get("catalog") or (qualifier and qualifier != self.table):
            raise self.refuse(f"a column of another table ({_shown(node.sql(dialect='mysql'))})")
        if not name or len(name) > 64:
            raise self.refuse("a column name that is empty or longer than 64 characters")
        if self.known is not None:
            found = self.known.get(name.lower())  # column names are case-insensitive in MariaDB
            if found is None:
                raise RowFilterError(f"{self.where} refers to {_shown(name)}, which is not a column of "
                                     f"{_shown(self.table)}.")
            name = found
        self.used.add(name)
        return quote_name(name)

    def literal(self, node: exp.Literal) -> str | Value:
        if node.is_string:
            return Value(node.this)
        try:
            number = Decimal(node.this)
        except InvalidOperation:
            raise self.refuse(f"the number {_shown(node.this)}") from None
        if not number.is_finite() or abs(number.adjusted()) > 65:
            raise RowFilterError(f"{self.where}: the number {_shown(node.this)} is out of range.")
        # Rendered from the parsed value (digits, a point), never from the text as written.
        return str(int(number)) if number == number.to_integral_value() and "." not in node.this \
            and "e" not in node.this.lower() else format(number, "f")

    def operand(self, node: exp.Expression | None) -> list[str | Value]:
        if node is None:
            raise self.refuse("INTERVAL without a value")
        return ["(", *self.render(node), ")"]

    def unit(self, node: exp.Expression | None) -> str:
        unit = node.name.upper() if isinstance(node, exp.Var) else ""
        if unit not in UNITS:
            raise self.refuse(f"the interval unit {_shown(unit or '(none)')}; use one of {', '.join(sorted(UNITS))}")
        return unit

    def joined(self, nodes: list[exp.Expression]) -> list[str | Value]:
        parts: list[str | Value] = []
        for i, node in enumerate(nodes):
            parts += ([", "] if i else []) + self.render(node)
        return parts

    def only(self, node: exp.Expression, *allowed: str) -> None:
        """Refuse a node carrying arguments this renderer would silently drop (a format, a charset…)."""
        extra = [k for k, v in node.args.items() if k not in allowed and v not in (None, False, [])]
        if extra:
            raise self.refuse(f"{_shown(node.key.upper())} with {', '.join(sorted(extra))}")


def _printable_lines(text: str) -> bool:
    """Printable apart from line breaks and tabs, and encodable (no lone surrogates from JSON)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text)


def _shown(text: str) -> str:
    """User text inside a message: quoted, one line, bounded."""
    text = " ".join(str(text).split())
    return repr(text if len(text) <= 60 else text[:57] + "...")
