"""A data copy's state moves only through migrations_tool/lifecycle.py (issue 15): the table, and a
real copy and undo (MariaDB and S3 on the stack) audited once per move and logged in their jobs."""

import pytest

from migrations_tool.lifecycle import DATA_COPY_STATE, data_copy_transition
from migrations_tool.models import DataCopy
from migrations_tool.services import data_copy_start, data_copy_undo
from portal.audit.actor import Actor
from portal.status_machine import IllegalTransition
from tests.factories import JobFactory
from tests.status_changes import job_log, status_changes

from .conftest import fill

STATES = [value for value, _ in DataCopy.STATES]
ALLOWED = {(source, to) for to, sources in DATA_COPY_STATE.sources.items() for source in sources}


@pytest.mark.parametrize(("source", "to"), [(s, t) for s in STATES for t in STATES])
def test_the_table_allows_what_it_lists_and_refuses_the_rest_changing_nothing(copy_world, source, to):
    copy = DataCopy.objects.create(source=copy_world["source"], target=copy_world["target"],
                                   team=copy_world["target"].team, stores=["mysql"], job=JobFactory(),
                                   state=source, error="before")
    if (source, to) in ALLOWED:
        assert data_copy_transition(copy, to, actor=Actor.system("test")) == source
        copy.refresh_from_db()
        assert (copy.state, copy.error) == (to, "before")  # no error given: the stored one stays
        assert status_changes(copy, "data_copy.status_changed") == ([] if source == to else [(source, to)])
    else:
        with pytest.raises(IllegalTransition, match=f"is {source}; it cannot become {to}"):
            data_copy_transition(copy, to, actor=Actor.system("test"), error="why")
        copy.refresh_from_db()
        assert (copy.state, copy.error) == (source, "before")
        assert status_changes(copy, "data_copy.status_changed") == []


@pytest.mark.integration
def test_a_copy_and_its_undo_move_the_state_audited_and_logged(copy_world, django_capture_on_commit_callbacks):
    fill(copy_world["source_ep"])
    qa = copy_world["users"]["qa"]
    with django_capture_on_commit_callbacks(execute=True):
        copy = data_copy_start(actor=Actor.for_user(qa), user=qa, source=copy_world["source"],
                               target=copy_world["target"], stores=["mysql"],
                               options={"masking": {"customers.email": "email", "customers.name": "name",
                                                    "customers.phone": "phone", "orders.customer_email": "email"}})
    copy.refresh_from_db()
    assert copy.state == DataCopy.VERIFIED, copy.error
    with django_capture_on_commit_callbacks(execute=True):
        data_copy_undo(actor=Actor.for_user(qa), user=qa, copy=copy)
    copy.refresh_from_db()
    assert copy.state == DataCopy.UNDONE, copy.undo_job.error
    assert status_changes(copy, "data_copy.status_changed") == [("queued", "running"), ("running", "verified"), ("verified", "undoing"),
                             ("undoing", "undone")]
    assert "status: queued → running" in job_log(copy.job) and "status: running → verified" in job_log(copy.job)
    assert "status: undoing → undone" in job_log(copy.undo_job)
