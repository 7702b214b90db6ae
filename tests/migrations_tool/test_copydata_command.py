import io

import pytest
from django.core.management import CommandError, call_command

from migrations_tool.models import DataCopy

from .conftest import fill, query

pytestmark = pytest.mark.integration


@pytest.mark.django_db(transaction=True)  # the command commits; the (eager) job runs on commit as with a worker
def test_copydata_copies_with_progress_bar_and_options(copy_world):
    fill(copy_world["source_ep"], customers=6)
    out = io.StringIO()
    call_command("copydata", "--from", "qa-source", "--to", "qa-target", "--stores", "mysql", "--as", "qa",
                 "--include-tables", "customers,orders", "--filter", "orders=id < 5",
                 "--mask", "customers.email=email", "--mask", "customers.name=fixed:Anon", stdout=out)
    text = out.getvalue()
    assert "] 100%" in text and "mysql: verified" in text and "verified" in text.splitlines()[-1]
    copy = DataCopy.objects.get()
    assert copy.state == DataCopy.VERIFIED
    assert query(copy_world["target_ep"], "SELECT DISTINCT name FROM customers") == (("Anon",),)
    assert query(copy_world["target_ep"], "SELECT COUNT(*) FROM orders") == ((4,),)


def test_copydata_refusals_are_command_errors(copy_world):
    with pytest.raises(CommandError, match="own teams"):
        call_command("copydata", "--from", "qa-source", "--to", "qa-target", "--as", "manager", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not found"):
        call_command("copydata", "--from", "nope", "--to", "qa-target", "--as", "qa", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Choose one or more"):
        call_command("copydata", "--from", "qa-source", "--to", "qa-target", "--stores", "oracle", "--as", "qa",
                     stdout=io.StringIO())


def test_copydata_refuses_a_hostile_row_filter(copy_world):
    """Refused before a copy is recorded (the worker would refuse it too, later and less visibly)."""
    with pytest.raises(CommandError, match="comments are not allowed"):
        call_command("copydata", "--from", "qa-source", "--to", "qa-target", "--as", "qa", "--no-wait",
                     "--filter", "orders=id = 1 /* ' */ OR SLEEP(5) = 0 /* ' */", stdout=io.StringIO())
    assert not DataCopy.objects.exists()
