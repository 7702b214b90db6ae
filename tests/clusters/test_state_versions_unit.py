"""The Terraform state guard's rules, without a backend: what counts as a state that went backwards."""

from clusters.models import Cluster
from clusters.state_versions import state_problem
from clusters.terraform import Backend, StateVersion

BACKEND = Backend(bucket="b", key="clusters/x.tfstate", region="us-east-1")


def cluster(lineage: str = "L1", serial: int | None = 5) -> Cluster:
    return Cluster(name="x", kind="local", state_lineage=lineage, state_serial=serial)


def test_nothing_recorded_trusts_any_state():
    assert state_problem(cluster(lineage="", serial=None), None, BACKEND) == ""
    assert state_problem(cluster(lineage="", serial=None), StateVersion("other", 1), BACKEND) == ""


def test_same_lineage_same_or_newer_serial_is_trusted():
    assert state_problem(cluster(), StateVersion("L1", 5), BACKEND) == ""
    assert state_problem(cluster(), StateVersion("L1", 9), BACKEND) == ""


def test_missing_other_lineage_and_older_are_refused_with_the_reason():
    missing = state_problem(cluster(), None, BACKEND)
    assert "s3://b/clusters/x.tfstate is missing" in missing and "lineage L1, serial 5" in missing
    other = state_problem(cluster(), StateVersion("L2", 7), BACKEND)
    assert "has lineage L2" in other and "another state was put in its place" in other
    older = state_problem(cluster(), StateVersion("L1", 4), BACKEND)
    assert "at serial 4, older than" in older and "newer changes were lost" in older
