"""Static checks run with the test suite: ruff, mypy and the import contracts.

The checks run in the background from the end of collection on (tests/quality_checks.py);
these tests read their verdicts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from quality_checks import Verdict, lint_imports, shared_dir, verdict


def check(request: pytest.FixtureRequest, name: str, work: Path) -> Verdict:
    return verdict(shared_dir(request.config), request.node.name, name, work)


def test_ruff_is_clean(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    done = check(request, "ruff", tmp_path)
    assert done.returncode == 0, done.output


def test_no_dead_code(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """vulture over the packages ([tool.vulture] in pyproject.toml; vulture_whitelist.py says
    why each name it cannot see used is live), and over the emulator with the tests that use it."""
    done = check(request, "vulture", tmp_path)
    assert done.returncode == 0, done.output
    emulator = check(request, "vulture-emulator", tmp_path)
    unused = [line for line in emulator.output.splitlines() if line.startswith("hlb/testing/")]
    assert not unused, "\n".join(unused)


def test_mypy_is_clean(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    done = check(request, "mypy", tmp_path)
    assert done.returncode == 0, done.output


def test_import_contracts_hold(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if lint_imports() is None:
        pytest.fail("lint-imports is missing: install the test extras (pip install -e '.[test]')")
    done = check(request, "lint-imports", tmp_path)
    assert done.returncode == 0, done.output
