"""Guard: no module over 500 lines (issue 15). A module that grows past it holds more than one thing:
split it by sub-domain (a package, or modules named for what each part does)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 500
SKIPPED_DIRS = {".venv", "var", "node_modules", "migrations", ".git", "__pycache__", "static"}


def too_long(root: Path = ROOT, limit: int = LIMIT) -> dict[str, int]:
    """Every .py file under ``root`` (tests included) longer than ``limit`` lines, with its length."""
    found = {}
    for path in root.rglob("*.py"):
        if SKIPPED_DIRS & set(path.relative_to(root).parts[:-1]):
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found[str(path.relative_to(root))] = lines
    return found


def test_no_module_is_over_500_lines():
    assert not too_long(), f"split these modules: {too_long()}"


def test_the_guard_sees_a_long_module(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * (LIMIT + 1))
    (tmp_path / "pkg" / "short.py").write_text("x = 1\n" * LIMIT)
    assert too_long(tmp_path) == {"pkg/long.py": LIMIT + 1}
