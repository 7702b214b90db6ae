"""Class 2: user-written SQL is parsed, never passed through (issue 14).

A data copy's row filter runs on the source server, which may be production. The old check was a
regex over tokens, bypassed by a comment holding a quote (``/* ' */``): the rest of the text reached
MariaDB as SQL (subqueries, SLEEP, other tables). Filters are now parsed into a tree, checked against
an allow-list and rendered by Slipway; these tests hold the allow-list to its promise, with the
issue's bypasses, a real copy, and property-based checks that whatever is accepted renders to SQL
reading only the table's own columns, literals and the allowed functions and operators.
"""

import uuid
from urllib.parse import urlparse

import pymysql
import pytest
import sqlglot
from hypothesis import given
from hypothesis import strategies as st
from sqlglot import exp

from migrations_tool.contracts import CopyError, Endpoint
from migrations_tool.mariadb import MariaDBCopier
from migrations_tool.row_filter import RowFilterError, parse_row_filter, row_filter_errors
from tests.migrations_tool.conftest import copy_world, fill, mariadb_pair  # noqa: F401 (fixtures shared with the app's tests)

TABLE = "orders"
COLUMNS = ["id", "customer_id", "customer_email", "amount", "note", "created_at", "rate%"]

# The bypasses and their siblings: each is refused, with a reason naming what was refused.
REFUSED = [
    ("id = 1 /* ' */ OR (SELECT SLEEP(5)) /* ' */", "comments"),
    ("id >= 1 /* ' */ OR (SELECT COUNT(*) FROM customers) > 0 /* ' */", "comments"),
    ("/*!50000 SLEEP(1) = 0 AND */ id = 1", "comments"),
    ("id = 1 -- ' OR 1=1", "comments"),
    ("id = 1 # '", "comments"),
    ("id IN (SELECT id FROM customers)", "subquery"),
    ("id = (SELECT MAX(id) FROM customers WHERE email LIKE 'a%')", "subquery"),
    ("EXISTS (SELECT 1 FROM customers)", "EXISTS"),
    ("id = ANY (SELECT id FROM customers)", "ANY"),
    ("SLEEP(5) = 0", "SLEEP"),
    ("BENCHMARK(100000000, MD5('x')) = 0", "BENCHMARK"),
    ("LOAD_FILE('/etc/passwd') IS NOT NULL", "LOAD_FILE"),
    ("id = 1 UNION SELECT email FROM customers", "UNION"),
    ("1=1; DROP TABLE customers", "';'"),
    ("id = 1;", "';'"),
    ("customers.email LIKE '%@corp.example'", "another table"),
    ("t2.x = 1", "another table"),
    ("shop.orders.id = 1", "another table"),
    ("@x = 1", "user variable"),
    ("(@x := id) > 0", "assignment"),
    ("@@hostname = 'db-1'", "system variable"),
    ("id = 1 INTO OUTFILE '/tmp/x'", "not a valid condition"),
    ("id = 1 INTO DUMPFILE '/tmp/x'", "not a valid condition"),
    ("id = 1 FOR UPDATE", "not a valid condition"),
    ("id = 1 LIMIT 1", "not a valid condition"),
    ("note = 0x27204f5220313d31", "hex literal"),
    ("note = X'27'", "hex literal"),
    ("note = b'0100111'", "bit literal"),
    ("note = _latin1'x'", "character set introducer"),
    ("note = _binary 0x27", "not allowed"),
    ("note = N'x'", "national string"),
    ("note = CONVERT('x' USING latin1)", "CAST/CONVERT"),
    ("note = 'x' COLLATE utf8mb4_bin", "COLLATE"),
    ("note REGEXP '(a+)+$'", "REGEXP"),
    ("VERSION() = 'x'", "not allowed"),
    ("USER() LIKE 'root%'", "USER"),
    ("DATABASE() = 'shop'", "not allowed"),
    ("CASE WHEN id = 1 THEN SLEEP(1) END", "CASE"),
    ("IF(id = 1, 1, 0) = 1", "IF"),
    ("id = ?", "placeholder"),
    ("(id, customer_id) = (1, 2)", "row constructor"),
    ("INTERVAL 1 DAY", "INTERVAL outside"),
    ("created_at > NOW() - INTERVAL 1 DAY_HOUR", "interval unit"),
    ("note = 'unterminated", "quotes"),
    ("id = 1 AND", "not a valid condition"),
    ("DATE_SUB(", "not a valid condition"),  # crashes the parser itself
    ("", "empty"),
    ("id = 1\x00", "control character"),
    ("(" * 60 + "id" + ")" * 60, "nested"),
    ("NOT " * 60 + "id", "nested"),
    ("id = " + "1" * 1000, "longer than"),
    ("id = 1e999999999", "out of range"),
    ("nosuch = 1", "not a column of 'orders'"),
]

ACCEPTED = [
    ("created_at >= NOW() - INTERVAL 30 DAY", "(`created_at` >= (NOW() - INTERVAL ('30') DAY))"),
    ("DATE_SUB(CURDATE(), INTERVAL 1 MONTH) < created_at", "(DATE_SUB(CURDATE(), INTERVAL ('1') MONTH) < `created_at`)"),
    ("note LIKE '%50%'", "(`note` LIKE '%50%')"),
    ("note LIKE '100\\% off'", "(`note` LIKE '100\\\\% off')"),
    ("note NOT LIKE 'a|%' ESCAPE '|'", "(`note` NOT LIKE 'a|%' ESCAPE '|')"),
    ("`rate%` >= 10 AND amount % 2 = 0", "((`rate%` >= 10) AND ((`amount` MOD 2) = 0))"),
    ("id IN (1, 2, 3) OR customer_id BETWEEN 5 AND 9", "((`id` IN (1, 2, 3)) OR (`customer_id` BETWEEN 5 AND 9))"),
    ("note IS NOT NULL AND NOT amount <=> NULL", "((NOT (`note` IS NULL)) AND (NOT (`amount` <=> NULL)))"),
    ("orders.ID = -1.50", "(`id` = (-1.50))"),
    ("LOWER(customer_email) = 'a@b.c' && YEAR(created_at) = 2026",
     "((LOWER(`customer_email`) = 'a@b.c') AND (YEAR(DATE(`created_at`)) = 2026))"),
    # Quotes and backslashes inside a value stay inside the value.
    ("note = 'a\\' OR 1=1 -- '", "(`note` = 'a\\' OR 1=1 -- ')"),
    ("note = \"x' OR '1'='1\"", "(`note` = 'x\\' OR \\'1\\'=\\'1')"),
    ("IFNULL(note, '') <> '' || amount > 1e3", "((COALESCE(`note`, '') <> '') OR (`amount` > 1000))"),
]


@pytest.mark.parametrize(("expression", "reason"), REFUSED)
def test_hostile_filters_are_refused_with_the_reason(expression, reason):
    with pytest.raises(RowFilterError, match=None) as refused:
        parse_row_filter(expression, table=TABLE, columns=COLUMNS)
    assert reason in str(refused.value)
    assert len(str(refused.value)) < 700  # bounded, whatever was written


@pytest.mark.parametrize(("expression", "rendered"), ACCEPTED)
def test_allowed_filters_are_rendered_from_the_tree(expression, rendered):
    accepted = parse_row_filter(expression, table=TABLE, columns=COLUMNS)
    assert accepted.text() == rendered
    assert_reads_only_its_own_table(accepted.text())


def test_the_edge_checks_shape_without_the_schema_and_the_worker_checks_columns():
    assert row_filter_errors({"orders": "nosuch = 1", "customers": "created_at > NOW() - INTERVAL 7 DAY"}) == []
    errors = row_filter_errors({"orders": "id = 1 /* ' */ OR SLEEP(5) /* ' */", "x" * 65: "id = 1"})
    assert len(errors) == 2 and "comments are not allowed" in errors[0] and "1 to 64" in errors[1]
    assert row_filter_errors("id = 1") == ["Row filters must map table names to WHERE expressions."]
    assert "is empty" in row_filter_errors({"orders": 5})[0]
    with pytest.raises(RowFilterError, match="not a column"):
        parse_row_filter("nosuch = 1", table="orders", columns=COLUMNS)


# -- the rendered SQL, re-parsed: only the table's columns, literals, allowed operators and functions ---------
_ALLOWED_NODES = (exp.Column, exp.Identifier, exp.Literal, exp.Null, exp.Boolean, exp.Paren, exp.EQ, exp.NEQ,
                  exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.And, exp.Or, exp.Not, exp.Neg, exp.Add,
                  exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Is, exp.In, exp.Between, exp.Like,
                  exp.Escape, exp.Interval, exp.Var, exp.CurrentTimestamp, exp.CurrentDate, exp.UtcTimestamp,
                  exp.UtcDate, exp.TsOrDsToDate, exp.Year, exp.Month, exp.Day, exp.Lower, exp.Upper, exp.Length,
                  exp.Coalesce, exp.Abs, exp.DateAdd, exp.DateSub)
_ANONYMOUS_ALLOWED = {"NOW", "UTC_TIMESTAMP", "UTC_DATE", "CURDATE"}


def assert_reads_only_its_own_table(condition: str, columns=COLUMNS) -> None:
    statement = f"SELECT COUNT(*) FROM `{TABLE}` WHERE {condition}"
    trees = sqlglot.parse(statement, read="mysql")
    assert len(trees) == 1, statement
    select = trees[0]
    assert isinstance(select, exp.Select)
    assert [t.name for t in select.find_all(exp.Table)] == [TABLE], statement
    assert len(list(select.find_all(exp.Select))) == 1, statement
    where = select.args["where"].this
    known = {c.lower() for c in columns}
    for node in where.walk():
        if isinstance(node, exp.Anonymous):
            assert str(node.this).upper() in _ANONYMOUS_ALLOWED and not node.expressions, statement
            continue
        assert isinstance(node, _ALLOWED_NODES), f"{type(node).__name__} in {statement}"
        if isinstance(node, exp.Column):
            assert not node.table and node.name.lower() in known, statement
        if isinstance(node, exp.Var):
            assert isinstance(node.parent, exp.Interval | exp.DateAdd | exp.DateSub), statement
        if isinstance(node, exp.In):
            assert not node.args.get("query") and node.expressions, statement


# Hostile and random filter strings: pieces of SQL that matter for injection, joined every which way.
_PIECES = [*COLUMNS, "customers.email", "t2.x", "`id`", "`a``b`", "orders.id", "'", '"', "`", "\\", "\\'", "''",
           "/*", "*/", "/*!", "--", "-- ", "#", ";", "(", ")", ",", "=", "<>", "<=>", "%", "%s", "%%", "+", "-",
           "*", "/", "AND", "OR", "NOT", "XOR", "||", "&&", "!", "IN", "BETWEEN", "LIKE", "ESCAPE", "IS", "NULL",
           "TRUE", "SELECT", "FROM", "UNION", "INTO", "OUTFILE", "DUMPFILE", "EXISTS", "SLEEP(1)", "BENCHMARK(9,1)",
           "NOW()", "CURDATE()", "DATE_SUB(", "INTERVAL", "1", "DAY", "LOWER(", "COALESCE(", "YEAR(", "@x", "@@version",
           ":=", "0x41", "X'41'", "b'1'", "_latin1", "_binary", "N'a'", "COLLATE", "utf8mb4_bin", "CHAR(39)",
           "CONVERT(", "USING", "'a%'", "'%_'", "'\\%'", "1e3", "-1", ".5", "\n", "\t", "\\!", "?", ":a", "{fn NOW()}"]


@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=14), st.sampled_from(["", " "]))
def test_random_strings_either_refused_or_rendered_safe(pieces, joiner):
    _check_any(joiner.join(pieces))


@given(st.text(max_size=60))
def test_arbitrary_text_either_refused_or_rendered_safe(text):
    _check_any(text)


def _check_any(text: str) -> None:
    try:
        accepted = parse_row_filter(text, table=TABLE, columns=COLUMNS)
    except RowFilterError as exc:
        refused = str(exc)
    else:
        refused = None
    if refused is not None:
        assert refused and len(refused) < 700
        return
    assert_reads_only_its_own_table(accepted.text())
    assert not accepted.columns - set(COLUMNS)


# Trees: the allowed grammar with hostile leaves mixed in, written as text.
_VALUE = st.one_of(st.integers(-10**6, 10**6).map(str), st.sampled_from(["1.5", "1e3", "NULL", "TRUE"]),
                   st.text(st.characters(categories=["L", "N", "P", "S"], include_characters=" "), max_size=12).map(lambda s: "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"))
_COLUMN = st.sampled_from([*(f"`{c}`" for c in COLUMNS), "id", "note", "orders.amount"])
_HOSTILE = st.sampled_from(["(SELECT email FROM customers LIMIT 1)", "SLEEP(1)", "customers.email", "@x",
                            "@@version", "LOAD_FILE('/etc/passwd')", "0x41", "_binary'x'", "USER()"])


def _trees(hostile: bool):
    leaf = st.one_of(_VALUE, _COLUMN, *([_HOSTILE] if hostile else []))

    def extend(inner):
        # Each form is parenthesized whole, so the text means the tree it was generated as.
        binary = st.tuples(inner, st.sampled_from(["=", "<>", "<", ">=", "<=>", "+", "-", "*", "/", "DIV", "%",
                                                   "AND", "OR"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        return st.one_of(
            binary,
            inner.map(lambda e: f"NOT ({e})"),
            inner.map(lambda e: f"({e}) IS NOT NULL"),
            st.tuples(inner, st.lists(_VALUE, min_size=1, max_size=3)).map(lambda t: f"{t[0]} IN ({', '.join(t[1])})"),
            st.tuples(inner, inner, inner).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
            st.tuples(inner, _VALUE).map(lambda t: f"{t[0]} LIKE {t[1]}"),
            st.tuples(st.sampled_from(["LOWER", "UPPER", "LENGTH", "ABS", "DATE", "YEAR"]), inner)
              .map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"COALESCE({t[0]}, {t[1]})"),
            st.tuples(inner, st.integers(0, 99), st.sampled_from(["DAY", "HOUR", "MONTH"]))
              .map(lambda t: f"DATE_SUB({t[0]}, INTERVAL {t[1]} {t[2]})"),
            st.tuples(st.integers(0, 99)).map(lambda t: f"(NOW() - INTERVAL {t[0]} DAY)"),
        ).map(lambda text: f"({text})")
    return st.recursive(leaf, extend, max_leaves=8)


@given(_trees(hostile=False))
def test_trees_of_the_allowed_grammar_are_accepted_and_render_safe(text):
    accepted = parse_row_filter(text, table=TABLE, columns=COLUMNS)
    assert_reads_only_its_own_table(accepted.text())


@given(_trees(hostile=True))
def test_trees_with_hostile_leaves_are_refused_or_render_safe(text):
    _check_any(text)


# -- against the real server -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(mariadb_url):
    url = urlparse(mariadb_url)
    facts = {"host": url.hostname, "port": url.port, "user": url.username, "password": url.password}
    name = f"rowfilter_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(**facts, autocommit=True)
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE `{name}`")
    cur.execute(f"USE `{name}`")
    cur.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT, customer_email VARCHAR(120), "
                "amount DECIMAL(10,2), note TEXT, created_at DATETIME, `rate%` INT)")
    cur.execute("INSERT INTO orders VALUES (1, 1, 'a@corp.example', 10.5, '100% off', NOW(), 10), "
                "(2, 2, 'b@corp.example', 99, 'half', NOW() - INTERVAL 40 DAY, 50), (3, 3, NULL, NULL, NULL, NULL, NULL)")
    cur.execute("CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(120))")
    yield {**facts, "database": name, "conn": conn}
    cur.execute(f"DROP DATABASE `{name}`")
    conn.close()


@pytest.mark.integration
@given(_trees(hostile=True))
def test_the_server_runs_what_is_accepted_as_one_select_of_the_table(server, text):
    """The rendered condition, escaped by a real connection, is valid MariaDB: never a syntax error."""
    try:
        accepted = parse_row_filter(text, table=TABLE, columns=COLUMNS)
    except RowFilterError:
        return
    conn = server["conn"]
    sql = f"SELECT COUNT(*) FROM `{TABLE}` WHERE {accepted.sql(conn.escape)}"
    assert_reads_only_its_own_table(accepted.sql(conn.escape))
    code = None
    try:
        conn.cursor().execute(f"SET STATEMENT max_statement_time=2 FOR {sql}")
    except pymysql.MySQLError as exc:
        code = exc.args[0]
    # Values may be out of range for the server (data errors); the SQL itself is always well-formed:
    # no syntax error, unknown column, unknown table or unknown function.
    assert code not in (1064, 1054, 1146, 1305), sql


@pytest.fixture
def copy_pair(mariadb_database):
    """A cursor on the test's source database, its endpoint and an empty target database's (dropped after)."""
    facts = {k: mariadb_database[k] for k in ("host", "port", "user", "password")}
    conn = pymysql.connect(**facts, database=mariadb_database["database"], autocommit=True)
    cur = conn.cursor()
    target_name = f"{mariadb_database['database']}_to"
    cur.execute(f"CREATE DATABASE `{target_name}`")
    try:
        yield (cur, Endpoint(kind="mysql", **facts, database=mariadb_database["database"]),
               Endpoint(kind="mysql", **facts, database=target_name), target_name)
    finally:
        cur.execute(f"DROP DATABASE `{target_name}`")
        conn.close()


@pytest.mark.integration
def test_a_copy_with_percent_and_like_copies_exactly_the_matching_rows(copy_pair):
    """A ``%`` in a filter or in a column name crashed the copier (pymysql's %-formatting of the
    statement); a LIKE with ``\\%`` must still mean a literal percent sign."""
    cur, source, target, target_name = copy_pair
    cur.execute("CREATE TABLE discounts (id INT PRIMARY KEY, label VARCHAR(40), `rate%` INT)")
    rows = [(1, "10% off", 10), (2, "100% off", 100), (3, "half off", 50), (4, "%s", 5), (5, "100 off", 100),
            (6, "50% off", 50), (7, "free %", 100)]
    rows += [(i, f"filler {i}", i % 100) for i in range(8, 60)]
    cur.executemany("INSERT INTO discounts VALUES (%s, %s, %s)", rows)
    report = MariaDBCopier(workers=3, chunk_rows=7).copy(
        source, target, {"masking_key": "k", "filters": {"discounts": "label LIKE '%0\\% off' AND `rate%` >= 50"}},
        lambda **kw: None)
    assert report.verified
    cur.execute(f"SELECT id FROM `{target_name}`.discounts ORDER BY id")
    assert [r[0] for r in cur.fetchall()] == [2, 6]
    # Masked tables take the row-by-row path (keyset pages with literal keys): same answer.
    MariaDBCopier(workers=1, chunk_rows=2).copy(
        source, target, {"masking_key": "k", "masking": {"discounts.label": "keep"},
                         "filters": {"discounts": "label LIKE '%\\%%' OR label = '%s'"}}, lambda **kw: None)
    cur.execute(f"SELECT id FROM `{target_name}`.discounts ORDER BY id")
    assert [r[0] for r in cur.fetchall()] == [1, 2, 4, 6, 7]


@pytest.mark.integration
@pytest.mark.parametrize("expression", [
    "id >= 1 /* ' */ AND (SELECT COUNT(*) FROM customers WHERE email > CHAR(117)) > 0 /* ' */",
    "id = 1 /* ' */ OR SLEEP(3) = 0 /* ' */",
])
def test_the_comment_bypass_reads_nothing_on_the_source(copy_pair, expression):
    """The issue's example against a real copy: refused before anything is read or written."""
    cur, source, target, target_name = copy_pair
    cur.execute("CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(120))")
    cur.execute("CREATE TABLE orders (id INT PRIMARY KEY, note TEXT)")
    cur.execute("INSERT INTO customers VALUES (1, 'user1@corp.example')")
    cur.execute("INSERT INTO orders VALUES (1, 'a'), (2, 'b')")
    with pytest.raises(CopyError, match="comments are not allowed"):
        MariaDBCopier(workers=1).copy(source, target, {"masking_key": "k", "include_tables": ["orders"],
                                                       "filters": {"orders": expression}}, lambda **kw: None)
    cur.execute(f"SHOW TABLES FROM `{target_name}`")
    assert cur.fetchall() == ()


# -- through the API, as a signed-in QA user ------------------------------------------------------------------
@pytest.mark.integration
def test_the_api_answers_any_row_filter_with_a_reason_or_accepts_only_safe_ones(copy_world, api_for):  # noqa: F811
    """Hostile strings and trees posted as a row filter: a 400 in the error shape naming the reason and no
    copy recorded, or a 202 for a filter the worker would accept too — never a 500."""
    from migrations_tool.models import DataCopy

    fill(copy_world["source_ep"], customers=2)
    api = api_for(copy_world["users"]["qa"])
    body = {"source": copy_world["source"].pk, "target": copy_world["target"].pk, "stores": ["mysql"]}
    orders = ["id", "customer_id", "customer_email", "amount", "note"]

    @given(st.one_of(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=10).map(" ".join),
                     _trees(hostile=True), st.text(max_size=40)))
    def post(text):
        response = api.post("/api/v1/data-copies/", {**body, "options": {"mysql": {"filters": {"orders": text}}}},
                            format="json")
        assert response.status_code in (202, 400), (text, response.status_code)
        if response.status_code == 400:
            error = response.json()["error"]
            assert error["code"] == "invalid" and error["message"] and error["fields"]["options"], text
            assert not DataCopy.objects.exists()
        else:
            assert parse_row_filter(text, table="orders", columns=orders)
            DataCopy.objects.all().delete()  # queued only (no worker here): the next post may start one

    post()
