"""Static checks run with the test suite: ruff, mypy and the import contracts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["hlb", "compiler", "reconciler", "bot", "migrations", "bench"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_ruff_is_clean() -> None:
    done = run(sys.executable, "-m", "ruff", "check", *SOURCES, "tests")
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_dead_code() -> None:
    """vulture over the packages ([tool.vulture] in pyproject.toml; vulture_whitelist.py says
    why each name it cannot see used is live), and over the emulator with the tests that use it."""
    done = run(sys.executable, "-m", "vulture")
    assert done.returncode == 0, done.stdout + done.stderr
    emulator = run(sys.executable, "-m", "vulture", "hlb/testing", "tests", "--min-confidence", "60")
    unused = [line for line in emulator.stdout.splitlines() if line.startswith("hlb/testing/")]
    assert not unused, "\n".join(unused)


def package_mirror(tmp: Path) -> Path:
    """The `hlb` package as Python sees it (folders mapped to subpackages), as symlinks mypy can follow."""
    root = tmp / "src" / "hlb"
    root.mkdir(parents=True)
    for item in (ROOT / "hlb").iterdir():
        (root / item.name).symlink_to(item)
    for sub in ("compiler", "reconciler", "bot", "migrations"):
        (root / sub).symlink_to(ROOT / sub, target_is_directory=True)
    return root.parent


def test_mypy_is_clean(tmp_path: Path) -> None:
    src = package_mirror(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "hlb-package"),  # apart from a plain `mypy compiler` run's cache,
            "-p",
            "hlb",
        ],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "MYPYPATH": str(src)},
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_import_contracts_hold(tmp_path: Path) -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.fail("lint-imports is missing: install the test extras (pip install -e '.[test]')")
    # grimp walks real directories: give it a copy of the package as Python sees it
    root = tmp_path / "src" / "hlb"
    shutil.copytree(ROOT / "hlb", root, ignore=shutil.ignore_patterns("__pycache__"))
    for sub in ("compiler", "reconciler", "bot", "migrations"):
        shutil.copytree(ROOT / sub, root / sub, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [lint, "--config", str(ROOT / "pyproject.toml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONPATH": str(root.parent)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
