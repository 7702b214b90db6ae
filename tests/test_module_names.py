"""No two product modules of the same name doing different things (issue 15).

Every sub-domain has the same skeleton (``models``, ``services``, ``selectors``, ``views``, ``api``,
``api_urls``, ``urls``, ``forms``, ``serializers``, ``tasks``…), so those names repeat by design and
mean the same role everywhere. Any other name that appears twice in product code says two different
things under one word (three ``drift.py``, two ``provisioning.py`` and two ``engine.py`` did): name
the module for what it does instead.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not product code: the tests themselves, installed packages, runtime data, generated migrations.
SKIPPED_DIRS = {"tests", ".venv", "var", "node_modules", "migrations", ".git", "__pycache__"}

# The skeleton: one role per name, in every app and sub-domain.
SKELETON = {
    "__init__.py", "admin.py", "api.py", "api_urls.py", "apps.py", "consumers.py", "filters.py", "forms.py", "lifecycle.py",
    "models.py", "periodic.py", "selectors.py", "serializers.py", "services.py", "tables.py", "tasks.py", "urls.py", "views.py",
}

# Same name, known, with the reason it is still allowed (keep this short, and empty it when you can).
ALLOWED: dict[str, str] = {
    # The same role in two sub-domains: when things fire by cron in a time zone (chaos experiments; sleep and
    # wake times), both placing cron times through portal.wall_clock. Issue 17's contract names environments/sleep/schedule.py.
    "schedule.py": "a sub-domain's cron schedule (chaos/, sleep/)",
}


def product_modules() -> list[Path]:
    return [path for path in ROOT.rglob("*.py")
            if not SKIPPED_DIRS & set(path.relative_to(ROOT).parts[:-1])]


def test_no_two_product_modules_share_a_name_outside_the_skeleton():
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in product_modules():
        by_name[path.name].append(str(path.relative_to(ROOT)))
    shared = {name: sorted(paths) for name, paths in by_name.items()
              if len(paths) > 1 and name not in SKELETON and name not in ALLOWED}
    assert not shared, ("modules of the same name doing different things; name each for what it does: "
                        f"{shared}")


def test_allowed_names_are_still_needed():
    counts = defaultdict(int)
    for path in product_modules():
        counts[path.name] += 1
    stale = sorted(name for name in ALLOWED if counts[name] < 2)
    assert not stale, f"no longer shared, remove from ALLOWED: {stale}"
