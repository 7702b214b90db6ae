"""One status badge for every object (issue 13 point 6): the words say what is true, on every page."""

from django.template import Context, Template

from clusters.models import Cluster, TerraformRun
from environments.models import Environment
from migrations_tool.models import DataCopy
from portal.jobs.models import Job


def render(obj, waiting: str = "") -> str:
    return Template('{% load status %}{% status_badge obj waiting %}').render(Context({"obj": obj, "waiting": waiting}))


def test_a_plan_awaiting_approval_says_so():
    html = render(TerraformRun(state=TerraformRun.AWAITING_APPROVAL))
    assert '<span class="badge badge-warning" data-status="awaiting_approval" data-live-transitional>' \
           'awaiting approval</span>' in html
    assert ">planning<" in render(TerraformRun(state=TerraformRun.RUNNING))
    # The job behind a plan succeeded, but its run waits: a page that knows it relabels the job.
    assert ">awaiting approval<" in render(Job(state=Job.SUCCEEDED), "awaiting approval")
    assert ">succeeded<" in render(Job(state=Job.SUCCEEDED)) and "badge-success" in render(Job(state=Job.SUCCEEDED))


def test_environment_states_and_drift():
    drifted = render(Environment(status="ready", drift=[{"key": ["apps/v1", "Deployment", "ns", "web"]}]))
    assert ">ready<" in drifted and 'data-status="drifted"' in drifted and ">drifted<" in drifted
    moved = render(Environment(status="ready", moved_tags=[{"component": "web", "tag": "latest"}]))
    assert ">mutable tag moved<" in moved and 'title="web:latest now names another image"' in moved
    destroying = render(Environment(status="destroying", drift=[{"key": []}]))
    assert ">destroying<" in destroying and "badge-warning" in destroying and "data-live-transitional" in destroying
    assert "drifted" not in destroying  # what is being deleted has no drift worth showing
    failed = render(Environment(status="failed"))
    assert "badge-failure" in failed and "data-live-transitional" not in failed
    assert "data-live-transitional" in render(Environment(status="pending"))


def test_clusters_and_copies():
    cluster = render(Cluster(status="ready", drift_status="drifted"))
    assert ">ready<" in cluster and ">drifted<" in cluster
    assert "badge-failure" in render(Cluster(status="unreachable"))
    assert ">verified<" in render(DataCopy(state="verified"))
    assert "data-live-transitional" in render(DataCopy(state="running"))
