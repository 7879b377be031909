"""The static checks of tests/test_quality.py, started in the background as soon as the tests are collected.

ruff, vulture, mypy and lint-imports are processes that take from one to about 25 s of CPU (mypy
with a cold cache). Run one after another inside their tests, they made one worker the last to
finish; started together at the end of collection, they also use the cores the workers leave
idle while their tests wait on PostgreSQL, bots and browsers, and the tests in test_quality.py
only read their verdicts. Not at a lower priority: on a busy machine mypy then got CPU only once
the workers were done, and the session waited for it at the end. One process starts them: the
only one, or the worker ``gw0`` of ``pytest -n`` (every worker collects the same tests, and none
runs one before all have collected). Each verdict is a JSON file (exit code, output) in a
directory all workers share: the base temporary directory of the session. Only the checks of the
tests that were selected start; a check nobody started (another plugin's ordering, say) runs in
its test as before.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["hlb", "compiler", "reconciler", "bot", "migrations", "bench"]
WAIT_SECONDS = 600.0


@dataclass(frozen=True)
class Verdict:
    """How a check's process ended."""

    returncode: int
    output: str  # stdout and stderr together


@dataclass(frozen=True)
class Check:
    """One static check: its command, run from ``cwd`` with ``env`` added to ours."""

    name: str
    args: tuple[str, ...]
    cwd: Path
    env: tuple[tuple[str, str], ...] = ()


def package_mirror(tmp: Path) -> Path:
    """The `hlb` package as Python sees it (folders mapped to subpackages), as symlinks mypy can follow."""
    root = tmp / "src" / "hlb"
    root.mkdir(parents=True)
    for item in (ROOT / "hlb").iterdir():
        (root / item.name).symlink_to(item)
    for sub in ("compiler", "reconciler", "bot", "migrations"):
        (root / sub).symlink_to(ROOT / sub, target_is_directory=True)
    return root.parent


def package_copy(tmp: Path) -> Path:
    """A copy of the package as Python sees it: grimp (lint-imports) walks real directories."""
    root = tmp / "src" / "hlb"
    shutil.copytree(ROOT / "hlb", root, ignore=shutil.ignore_patterns("__pycache__"))
    for sub in ("compiler", "reconciler", "bot", "migrations"):
        shutil.copytree(ROOT / sub, root / sub, ignore=shutil.ignore_patterns("__pycache__"))
    return root.parent


def lint_imports() -> str | None:
    return shutil.which("lint-imports", path=str(Path(sys.executable).parent))


def checks_of(test: str, work: Path) -> list[Check]:
    """The checks the test named ``test`` in test_quality.py reads; ``work`` is a directory of their own."""
    python = sys.executable
    if test == "test_ruff_is_clean":
        return [Check("ruff", (python, "-m", "ruff", "check", *SOURCES, "tests"), ROOT)]
    if test == "test_no_dead_code":
        emulator = (python, "-m", "vulture", "hlb/testing", "tests", "--min-confidence", "60")
        return [Check("vulture", (python, "-m", "vulture"), ROOT), Check("vulture-emulator", emulator, ROOT)]
    if test == "test_mypy_is_clean":
        src = package_mirror(work / "mypy")
        config, cache = str(ROOT / "pyproject.toml"), str(ROOT / ".mypy_cache" / "hlb-package")
        mypy = (python, "-m", "mypy", "--config-file", config, "--cache-dir", cache, "-p", "hlb")
        return [Check("mypy", mypy, src, (("MYPYPATH", str(src)),))]
    if test == "test_import_contracts_hold":
        lint = lint_imports()
        if lint is None:  # the test says so
            return []
        src = package_copy(work / "lint-imports")
        contracts = (lint, "--config", str(ROOT / "pyproject.toml"))
        return [Check("lint-imports", contracts, src.parent, (("PYTHONPATH", str(src)),))]
    return []


def run(check: Check) -> Verdict:
    """Run ``check`` to its end."""
    done = subprocess.run(
        list(check.args), cwd=check.cwd, env={**os.environ, **dict(check.env)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=WAIT_SECONDS, check=False,
    )
    return Verdict(done.returncode, done.stdout)


def shared_dir(config: pytest.Config) -> Path:
    """``quality-checks`` in the session's base temporary directory, the same for every worker."""
    base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # a worker's is <the session's>/popen-gwN
    return base / "quality-checks"


_RUNNING: list[threading.Thread] = []


def start(check: Check, verdicts: Path) -> None:
    """Run ``check`` in the background; its verdict appears as ``verdicts/NAME.json`` (see ``verdict``)."""
    (verdicts / f"{check.name}.started").touch()

    def work() -> None:
        try:
            verdict = run(check)
        except Exception as error:  # a fault of the check's process: its test shows it
            verdict = Verdict(-1, f"{check.name} could not run: {error!r}")
        partial = verdicts / f".{check.name}.json"
        partial.write_text(json.dumps([verdict.returncode, verdict.output]), encoding="utf-8")
        partial.rename(verdicts / f"{check.name}.json")

    thread = threading.Thread(target=work, name=f"quality-{check.name}", daemon=True)
    thread.start()
    _RUNNING.append(thread)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    starter = os.environ.get("PYTEST_XDIST_WORKER", "gw0") == "gw0"  # the only process, or gw0
    if not starter or not hasattr(session.config, "_tmp_path_factory"):
        return
    selected = {item.name for item in session.items if item.path.name == "test_quality.py"}
    if not selected:
        return
    verdicts = shared_dir(session.config)
    verdicts.mkdir(parents=True, exist_ok=True)
    for test in sorted(selected):
        for check in checks_of(test, verdicts):
            start(check, verdicts)


def pytest_sessionfinish() -> None:
    """The process that started the checks outlives them: another worker may be waiting for a verdict."""
    for thread in _RUNNING:
        thread.join(WAIT_SECONDS)


def verdict(verdicts: Path, test: str, name: str, work: Path) -> Verdict:
    """The verdict of check ``name`` of ``test``: the one started in ``verdicts``, else run it now."""
    if not (verdicts / f"{name}.started").exists():
        (check,) = [c for c in checks_of(test, work) if c.name == name]
        return run(check)
    done, deadline = verdicts / f"{name}.json", time.monotonic() + WAIT_SECONDS
    while not done.exists():
        assert time.monotonic() < deadline, f"{name} started in the background gave no verdict"
        time.sleep(0.1)
    returncode, output = json.loads(done.read_text(encoding="utf-8"))
    return Verdict(returncode, output)
