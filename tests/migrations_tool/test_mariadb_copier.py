"""The MariaDB copier against the real server: equality, subsets, masking, programs, errors."""

import dataclasses

import pytest

from migrations_tool.contracts import CopyError
from migrations_tool.mariadb import MariaDBCopier

from .conftest import fill, query

pytestmark = pytest.mark.integration

KEY = "test-installation-key"


def checksum(endpoint, table):
    return query(endpoint, f"CHECKSUM TABLE `{table}` EXTENDED")[0][1]


def copy(source, target, **options):
    events = []
    report = MariaDBCopier(workers=3, chunk_rows=7).copy(
        source, target, {"masking_key": KEY, **options}, lambda **kw: events.append(kw))
    return report, events


def test_copy_makes_target_equal_schema_data_views_programs(mariadb_pair):
    source, target = mariadb_pair
    fill(source)
    query(target, "CREATE TABLE leftover (id INT PRIMARY KEY)")
    report, events = copy(source, target)
    assert report.verified, report.verification
    for table in ("customers", "orders", "order_tags", "audit_log", "odd_types"):
        assert checksum(source, table) == checksum(target, table), table
        assert query(source, f"SHOW CREATE TABLE `{table}`") == query(target, f"SHOW CREATE TABLE `{table}`")
    assert query(target, "SELECT * FROM big_customers ORDER BY id") == query(source, "SELECT * FROM big_customers ORDER BY id")
    assert query(target, "SELECT double_it(21)") == ((42,),)
    assert query(target, "SELECT * FROM odd_types ORDER BY id") == query(source, "SELECT * FROM odd_types ORDER BY id")
    assert query(target, "SHOW TABLES LIKE 'leftover'") == ()
    query(target, "INSERT INTO customers (email, created_at) VALUES ('new@x', NOW())")
    query(target, "INSERT INTO orders VALUES (100000, 1, NULL, 1, NULL)")
    assert query(target, "SELECT line FROM audit_log WHERE line='order 100000'") == (("order 100000",),)
    assert report.counters["rows"] == sum(r["source_rows"] for r in report.verification.values())
    assert [e for e in events if "rows_done" in e][-1]["rows_done"] == report.counters["rows"]
    # idempotent: a second run converges on the same state
    query(target, "DELETE FROM orders WHERE id=100000")
    report2, _ = copy(source, target)
    assert report2.verified and checksum(source, "orders") == checksum(target, "orders")


def test_subset_filters_and_table_selection(mariadb_pair):
    source, target = mariadb_pair
    fill(source)
    report, _ = copy(source, target, include_tables=["customers", "orders"],
                     filters={"orders": "amount >= 100 AND note IS NULL"})
    assert report.verified
    assert set(report.verification) == {"customers", "orders"}
    expected = query(source, "SELECT COUNT(*) FROM orders WHERE amount >= 100 AND note IS NULL")
    assert query(target, "SELECT COUNT(*) FROM orders") == expected
    assert query(target, "SHOW TABLES LIKE 'order_tags'") == ()


@pytest.mark.parametrize("expression", [
    "1=1; DROP TABLE customers", "id = 1 -- x", "id IN (SELECT id FROM customers)", "nosuch = 1",
    "id = 1 /* c */", "SLEEP(5) = 0", "note = 'a\\' OR 1=1'",
])
def test_row_filters_refuse_injection(mariadb_pair, expression):
    source, target = mariadb_pair
    fill(source, customers=3)
    with pytest.raises(CopyError):
        copy(source, target, filters={"orders": expression})
    assert query(target, "SHOW TABLES") == ()


def test_masking_deterministic_complete_and_joins_intact(mariadb_pair):
    source, target = mariadb_pair
    fill(source)
    rules = {"customers.email": "email", "customers.name": "name", "customers.phone": "phone",
             "customers.avatar": "null", "orders.customer_email": "email", "orders.note": {"rule": "fixed",
                                                                                       "value": "redacted"}}
    report, _ = copy(source, target, masking=rules)
    assert report.verified
    assert report.verification["customers"]["masked_columns"] == ["avatar", "email", "name", "phone"]
    original = {r[0] for r in query(source, "SELECT email FROM customers")}
    masked = query(target, "SELECT email, name, phone, avatar FROM customers ORDER BY id")
    assert not original & {r[0] for r in masked}
    assert all(r[0].endswith("@example.com") and r[3] is None for r in masked)
    assert len({r[0] for r in masked}) == len(masked)  # unique index still holds
    joined = query(target, "SELECT COUNT(*) FROM orders o JOIN customers c ON c.email = o.customer_email "
                           "AND c.id = o.customer_id")
    assert joined == query(source, "SELECT COUNT(*) FROM orders")
    assert {r[0] for r in query(target, "SELECT note FROM orders")} == {"redacted"}
    # deterministic: the same key gives the same output on a second run
    copy(source, target, masking=rules)
    assert query(target, "SELECT email, name, phone FROM customers ORDER BY id") == tuple(r[:3] for r in masked)


def test_wrong_credentials_is_a_clear_error(mariadb_pair):
    source, target = mariadb_pair
    bad = dataclasses.replace(source, password="wrong-password-123")
    with pytest.raises(CopyError) as err:
        copy(bad, target)
    assert "Access denied" in str(err.value) and "source" in str(err.value)
    assert "wrong-password-123" not in str(err.value)


def test_unknown_masking_column_refused(mariadb_pair):
    source, target = mariadb_pair
    fill(source, customers=2)
    with pytest.raises(CopyError, match="unknown column"):
        copy(source, target, masking={"customers.nope": "hash"})
