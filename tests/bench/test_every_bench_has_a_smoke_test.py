"""Benchmarks never rot (issue 18): every bench script (a file under bench/ that runs as a program) is
named by a test in tests/bench/, which `make test` runs in the script's smoke size. Helper modules
(bench_stack.py, chaos_scenarios.py…) are exercised through the scripts that import them."""

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


def test_every_bench_script_has_a_smoke_test():
    missing = bench_scripts() - named_by_tests()
    assert not missing, (f"bench scripts without a smoke test in tests/bench/ (run it in a small size there and "
                         f"check it completes and prints its figures): {sorted(missing)}")


def test_the_guard_finds_the_scripts_it_guards():
    """A guard that finds nothing passes for nothing: the known scripts are found."""
    assert {"bench/environment_create.py", "bench/sleep_wake.py", "bench/chaos_recovery.py"} <= bench_scripts()
    assert "bench/bench_stack.py" not in bench_scripts()
