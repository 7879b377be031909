"""Module sizes and roles: each library module opens with a docstring saying its role, and has 100-400 lines.

Issue 13 ("Real sizes, one simple core"): a module is one role, small enough to read at once
and big enough to be worth a name. The library is ``hlb/`` (its subpackages included),
``compiler/``, ``reconciler/`` and ``bot/``; not tests, benchmarks or migration scripts. A
module outside 100-400 lines is allowed only when it is

- a package ``__init__.py`` that holds nothing but its docstring (a package marker);
- a kind's own module in its layer (``compiler/kinds/<slug>.py``, ``hlb/store/rows/<slug>.py``,
  ``reconciler/<table>.py``, found through the kind descriptors): adding a kind is one module
  per layer (docs/architecture.md, "One module per kind"), so a simple kind's may be small;
- or named in ``ALLOWED`` below, with the reason it stands alone.

So a new 600-line module, or a new 30-line helper, fails here until it is split, merged or
given its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ("hlb", "compiler", "reconciler", "bot")
EXCLUDED = ("migrations/versions",)  # alembic's scripts: one per schema change, their size is the change's
MIN_LINES, MAX_LINES = 100, 400

# Modules outside 100-400 lines on purpose, each with why it stands alone. An entry whose module
# is back within the bounds (or gone) fails test_the_allow_list_is_current: take it out.
ALLOWED: dict[str, str] = {
    "hlb/__init__.py": "the package's version; importing hlb must stay free",
    "hlb/serve/__init__.py": "a package marker whose docstring maps the package (app, queries, state)",
    "hlb/serve/config.py": "what `hlb serve` checks before importing aiohttp, so a missing aiohttp is E702",
    "hlb/cli_progress.py": "the progress line pulls in asyncio: kept out of the modules `hlb --help` loads",
    "hlb/settings.py": "the environment read once, imported by CLI, store and bot alike",
    "hlb/store/rows/__init__.py": "the registry of the per-kind row mappings, found by slug",
    "hlb/store/rows/generate.py": "a program (`python -m hlb.store.rows.generate`) that writes tables.py",
    "hlb/store/bulk_keys.py": "bulk foreign-key checks: a tuning of its own with its own measurements",
    "hlb/store/leadership.py": "leader election among bot replicas (an advisory lock): bot and serve read it",
    "hlb/runtime/conditions.py": "conditions an operator should know of, logged as they start and end",
    "hlb/templating/__init__.py": "the text tests and lazy doors the compiler uses without importing Jinja",
    "hlb/templating/filters.py": "the filters templates may use; engine.py is near 400 without them",
    "hlb/testing/__init__.py": "the emulator's public names for test suites (`from hlb.testing import ...`)",
    "hlb/testing/__main__.py": "the program `python -m hlb.testing` (the emulator as a server)",
    "hlb/testing/pytest_plugin.py": "a pytest plugin: pytest loads it by its module name",
    "hlb/testing/human.py": "what a person changes by hand in Discord's UI; server.py is near 400 without it",
    "compiler/kinds/__init__.py": "the kind registry: KIND_ORDER's names found as modules of this package",
    "compiler/enums.py": "the closed vocabularies, shared by schema, tables, rows and reconciler",
    "compiler/wording.py": "how hlb words things for people (plurals, colour), shared by every output",
    "compiler/durations.py": "the duration syntax, shared by schema, templates, steps and the CLI",
    "compiler/secret_places.py": "where ${secret:NAME} may stand, shared by kinds, units and interpolation",
    "compiler/ceilings.py": "Discord's per-guild ceilings: a cross-file stage of its own after linking",
    "reconciler/action_base.py": "what every action is (phases, Ref, Change); actions.py (the union) is 380",
    "bot/context.py": "the running bot's shared view, imported by the runner and every handler module",
    "bot/importer.py": "reads a guild over REST for `hlb import-discord`; the rest of import is pure",
}


def library_modules() -> list[Path]:
    found = [path for top in LIBRARY for path in (ROOT / top).rglob("*.py")]
    return sorted(p for p in found if not any(part in p.relative_to(ROOT).as_posix() for part in EXCLUDED))


def kind_modules() -> set[str]:
    """Each registered kind's own module in the compiler, the row mapping and the reconciler."""
    from hlb.compiler.kinds import KINDS

    paths: set[str] = set()
    for kind in KINDS:
        paths.add(f"compiler/kinds/{kind.slug}.py")
        paths.add(f"hlb/store/rows/{kind.slug}.py")
        if kind.reconciler_module is not None:
            paths.add(kind.reconciler_module.replace("hlb.reconciler.", "reconciler/") + ".py")
    return paths


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def role_problem(path: Path) -> str | None:
    """Why ``path`` does not open with a docstring whose first line says its role (None: it does)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    doc = ast.get_docstring(tree, clean=True)
    if doc is None:
        return "no module docstring"
    first = doc.split("\n", 1)[0].strip()
    if len(first.split()) < 4:
        return f"its docstring's first line {first!r} does not say a role"
    return None


def is_marker(path: Path) -> bool:
    """A package ``__init__.py`` holding only its docstring (and ``from __future__`` imports)."""
    if path.name != "__init__.py":
        return False
    body = ast.parse(path.read_text(encoding="utf-8")).body
    rest = body[1:] if body and isinstance(body[0], ast.Expr) else body
    return all(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in rest)


def size_problem(path: Path, kinds: set[str], root: Path = ROOT) -> str | None:
    """Why ``path``'s size is out of bounds and not allowed (None: it is fine)."""
    name = path.relative_to(root).as_posix()
    count = lines(path)
    if MIN_LINES <= count <= MAX_LINES or name in ALLOWED:
        return None
    if count < MIN_LINES and (is_marker(path) or name in kinds):
        return None
    side = "over" if count > MAX_LINES else "under"
    return f"{name}: {count} lines, {side} {MIN_LINES}-{MAX_LINES}; split or merge it, or add it to ALLOWED"


@pytest.mark.parametrize("path", library_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_module_opens_with_its_role(path: Path) -> None:
    assert role_problem(path) is None, role_problem(path)


def test_modules_stay_between_100_and_400_lines() -> None:
    kinds = kind_modules()
    problems = [p for p in (size_problem(path, kinds) for path in library_modules()) if p]
    assert problems == []


def test_the_allow_list_is_current() -> None:
    """Every ALLOWED module exists and is still outside the bounds, with a reason given."""
    stale = []
    for name, reason in ALLOWED.items():
        path = ROOT / name
        if not path.exists() or MIN_LINES <= lines(path) <= MAX_LINES or not reason.strip():
            stale.append(name)
    assert stale == []


def test_the_kind_modules_are_found() -> None:
    """The per-kind exemption follows the registry: it names real modules, one per layer and kind."""
    kinds = kind_modules()
    assert {"compiler/kinds/role.py", "hlb/store/rows/emoji.py", "reconciler/dashboards.py"} <= kinds
    assert all((ROOT / name).exists() for name in kinds)


def test_the_checks_see_big_small_and_silent_modules(tmp_path: Path) -> None:
    """The checks are not blind: a 600-line module, a 30-line helper and a module without a role fail."""
    doc = '"""A sample module that says what it is for."""\n'
    big, small, fine = tmp_path / "big.py", tmp_path / "small.py", tmp_path / "fine.py"
    big.write_text(doc + "x = 1\n" * 600, encoding="utf-8")
    small.write_text(doc + "x = 1\n" * 30, encoding="utf-8")
    fine.write_text(doc + "x = 1\n" * 200, encoding="utf-8")
    assert "over 100-400" in (size_problem(big, set(), tmp_path) or "")
    assert "under 100-400" in (size_problem(small, set(), tmp_path) or "")
    assert size_problem(small, {"small.py"}, tmp_path) is None  # a kind's own module
    assert size_problem(fine, set(), tmp_path) is None
    silent, vague = tmp_path / "silent.py", tmp_path / "vague.py"
    silent.write_text("x = 1\n", encoding="utf-8")
    vague.write_text('"""Helpers."""\n', encoding="utf-8")
    assert role_problem(silent) == "no module docstring"
    assert role_problem(vague) is not None
    assert role_problem(fine) is None
    marker, init = tmp_path / "pkg" / "__init__.py", tmp_path / "code" / "__init__.py"
    marker.parent.mkdir()
    init.parent.mkdir()
    marker.write_text(doc, encoding="utf-8")
    init.write_text(doc + "X = 1\n", encoding="utf-8")
    assert size_problem(marker, set(), tmp_path) is None
    assert size_problem(init, set(), tmp_path) is not None  # an __init__ with code is a module like any other
