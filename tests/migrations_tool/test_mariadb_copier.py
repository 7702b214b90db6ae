"""The MariaDB copier against the real server: equality, subsets, masking, programs, errors."""

import dataclasses
import time

import pytest

from migrations_tool.contracts import CopyError
from migrations_tool.mariadb import MariaDBCopier
from migrations_tool.mariadb_load import Spool

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


def test_verification_catches_rows_changed_or_lost_between_reading_and_writing(mariadb_pair, monkeypatch):
    # Fault injection between the source's reads and the target's writes: the batches as sent.
    source, target = mariadb_pair
    fill(source)
    real = Spool.write
    lost = []

    def tamper(self, cursor, fmt, table, payload, **kw):
        if table == "customers":
            payload = payload.replace(b"Hara", b"Hare", 1)
        if table == "order_tags" and not lost:
            lost.append(payload[:payload.index(b"\n") + 1])
            payload = payload[len(lost[0]):]
        return real(self, cursor, fmt, table, payload, **kw)

    monkeypatch.setattr(Spool, "write", tamper)
    report, _ = copy(source, target)
    assert not report.verified
    customers, tags = report.verification["customers"], report.verification["order_tags"]
    assert customers["checksum"] == "different" and customers["source_rows"] == customers["target_rows"]
    assert tags["target_rows"] == tags["source_rows"] - 1 and not tags["ok"]
    assert report.verification["orders"]["ok"] and report.verification["odd_types"]["ok"]
    assert any("customers" in note and "order_tags" in note for note in report.notes)


def test_a_row_the_readers_missed_is_caught_though_both_counts_agree(mariadb_pair, monkeypatch):
    # The source's count is the rows its readers read (no second scan): a row they skip leaves both
    # counts equal, and the source's own checksum, taken by the server in the snapshot, still differs.
    import migrations_tool.mariadb as copier_module
    source, target = mariadb_pair
    fill(source)
    real = copier_module.read_batches
    skipped = []

    def reader_skipping_one(conn, task, plan, chunk_rows):
        for name, fmt, payload, rows, size in real(conn, task, plan, chunk_rows):
            if name == "orders" and fmt is not None and not skipped and payload.count(b"\n") > 1:
                skipped.append(payload[:payload.index(b"\n") + 1])
                payload, rows = payload[len(skipped[0]):], rows - 1
            yield name, fmt, payload, rows, size

    monkeypatch.setattr(copier_module, "read_batches", reader_skipping_one)
    report, _ = copy(source, target)
    assert skipped, "the fault was never injected"
    orders = report.verification["orders"]
    assert orders["source_rows"] == orders["target_rows"]
    assert orders["checksum"] == "different" and not orders["ok"] and not report.verified


def test_a_value_the_target_cannot_take_fails_the_copy_instead_of_being_truncated(mariadb_pair, monkeypatch):
    # LOAD DATA LOCAL turns data errors into warnings; the copier turns them back into a failure.
    source, target = mariadb_pair
    fill(source)
    real = Spool.write

    def corrupt(self, cursor, fmt, table, payload, **kw):
        if table == "orders":
            payload = b"'not-a-number'" + payload[payload.index(b"\t"):]
        return real(self, cursor, fmt, table, payload, **kw)

    monkeypatch.setattr(Spool, "write", corrupt)
    with pytest.raises(CopyError, match=r"loading orders on the target: Incorrect integer value: 'not-a-number'"):
        copy(source, target)


def test_sparse_keys_and_rows_larger_than_a_batch_are_copied_whole(mariadb_pair):
    # Rows travel in key ranges joined by the server: ranges must stretch over gaps of billions of ids
    # and shrink (down to one key, then row by row) when rows outgrow the server's join limit.
    source, target = mariadb_pair
    query(source, "CREATE TABLE blobs (id BIGINT UNSIGNED PRIMARY KEY, body LONGTEXT, n INT) "
                  "DEFAULT CHARSET=utf8mb4")
    bodies = {0: "a" * 3_000_000, 1: "b" * 3_000_000, 2: "c\td\ne'f\\g", 5_000_000_000: "é" * 2_600_000,
              18446744073709551615: "last"}
    for key, body in bodies.items():
        query(source, "INSERT INTO blobs VALUES (%s, %s, %s)", (key, body, key % 7))
    query(source, "INSERT INTO blobs SELECT 10000000000 + seq * 1000, CONCAT('row ', seq), seq FROM seq_1_to_3000")
    report, _ = copy(source, target)
    assert report.verified, report.verification
    assert report.counters["rows"] == 3005
    assert checksum(source, "blobs") == checksum(target, "blobs")
    assert query(target, "SELECT id, body FROM blobs WHERE id < 10000000000 ORDER BY id") == tuple(bodies.items())[:-1]


def test_rows_travel_without_conversion_only_when_the_columns_share_one_charset(mariadb_pair):
    from migrations_tool.mariadb_connection import connect
    from migrations_tool.mariadb_load import load_format
    from migrations_tool.mariadb_schema import read_schema

    source, target = mariadb_pair
    fill(source, customers=1)
    query(source, "CREATE TABLE wide (id INT PRIMARY KEY, w VARCHAR(10) CHARACTER SET utf16)")
    query(source, "INSERT INTO wide VALUES (1, 'h\u00e9\tl\nlo'), (2, NULL), (3, '\u4e2d')")
    conn = connect(source, side="source")
    try:
        tables = read_schema(conn.cursor(), source.database).tables
    finally:
        conn.close()
    assert "CHARACTER SET binary" in load_format(tables["customers"]).load_into
    assert "CHARACTER SET utf8mb4" in load_format(tables["odd_types"]).load_into  # latin1 and utf8mb4
    assert "UNHEX" in load_format(tables["wide"]).load_into  # utf16: the bare word NULL is not recognised
    report, _ = copy(source, target)
    assert report.verified, report.verification
    for table in ("customers", "odd_types", "wide"):
        assert query(target, f"SELECT * FROM {table} ORDER BY 1") == query(source, f"SELECT * FROM {table} ORDER BY 1")


def test_a_server_refusing_local_infile_gets_the_same_copy_through_inserts(mariadb_pair):
    source, target = mariadb_pair
    fill(source)
    query(source, "SET GLOBAL local_infile = 0")
    try:
        report, _ = copy(source, target)
    finally:
        query(source, "SET GLOBAL local_infile = 1")
    assert report.verified
    for table in ("customers", "orders", "order_tags", "odd_types"):
        assert checksum(source, table) == checksum(target, table), table


def test_a_batch_chosen_as_deadlock_victim_is_sent_again_once(mariadb_pair):
    # A real InnoDB deadlock: the batch locks row 1 then waits for row 2, which a heavier transaction
    # holds while it asks for row 1. InnoDB rolls the lighter one (the batch) back; the spool resends it.
    import threading

    from migrations_tool.mariadb_connection import connect
    from migrations_tool.mariadb_load import RowFormat, Spool

    _, target = mariadb_pair
    query(target, "CREATE TABLE t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
    query(target, "INSERT INTO t SELECT seq, 0 FROM seq_1_to_200")
    heavy, batch = connect(target, side="target"), connect(target, side="target")
    hc = heavy.cursor()
    hc.execute("BEGIN")
    hc.execute("UPDATE t SET v = v + 10 WHERE id >= 2")  # heavy: 199 row locks, row 2 among them
    spool = Spool()
    sent = threading.Thread(target=spool.write, args=(batch.cursor(), RowFormat(select="", load_into=""), "t",
                                                      b"UPDATE t SET v = v + 1 WHERE id IN (1, 2) ORDER BY id"))
    sent.start()
    deadline = time.monotonic() + 30
    while not query(target, "SELECT 1 FROM information_schema.INNODB_LOCK_WAITS") and time.monotonic() < deadline:
        time.sleep(0.05)  # the batch now holds row 1 and waits for row 2
    hc.execute("UPDATE t SET v = v + 10 WHERE id = 1")  # closes the cycle: InnoDB picks the batch
    hc.execute("COMMIT")
    sent.join(timeout=30)
    spool.close()
    assert not sent.is_alive()
    assert query(target, "SELECT id, v FROM t WHERE id <= 3 ORDER BY id") == ((1, 11), (2, 11), (3, 10))
    heavy.close()
    batch.close()


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
    "id = 1 /* c */", "SLEEP(5) = 0", "id = 1 /* ' */ OR SLEEP(1) = 0 /* ' */", "customers.id = 1",
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
