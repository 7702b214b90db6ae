"""Benchmarks never rot (issue 18): every bench script (a file under bench/ that runs as a program) is
named by a test in tests/bench/, which `make test` runs in the script's smoke size. Helper modules
(bench_stack.py, chaos_scenarios.py…) are exercised through the scripts that import them.

A script whose smoke test is added by another branch may be listed in smoke_pending.txt; a listed script
that a test already names fails here too, so the list empties itself at the merge."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def bench_scripts() -> set[str]:
    return {f"bench/{path.name}" for path in (ROOT / "bench").glob("*.py")
            if 'if __name__ == "__main__":' in path.read_text()}


def named_by_tests() -> set[str]:
    text = "\n".join(path.read_text() for path in HERE.glob("test_*.py") if path.resolve() != Path(__file__).resolve())
    return {script for script in bench_scripts() if script in text}


def pending() -> set[str]:
    lines = (HERE / "smoke_pending.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_every_bench_script_has_a_smoke_test():
    missing = bench_scripts() - named_by_tests() - pending()
    assert not missing, (f"bench scripts without a smoke test in tests/bench/ (run it in a small size there and "
                         f"check it completes and prints its figures): {sorted(missing)}")


def test_the_pending_list_names_only_scripts_still_waiting_for_their_smoke_test():
    stale = pending() & named_by_tests()
    assert not stale, f"covered now: remove from tests/bench/smoke_pending.txt: {sorted(stale)}"
    unknown = pending() - bench_scripts()
    assert not unknown, f"not bench scripts (renamed or removed?): {sorted(unknown)}"


def test_the_guard_finds_the_scripts_it_guards():
    """A guard that finds nothing passes for nothing: the known scripts are found."""
    assert {"bench/environment_create.py", "bench/sleep_wake.py", "bench/chaos_recovery.py"} <= bench_scripts()
    assert "bench/bench_stack.py" not in bench_scripts()
