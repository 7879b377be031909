"""A pytest plugin measuring CPU, not wall: per test, and per worker for start-up, collection and the rest.

``pytest --cpu-durations=20`` prints the 20 tests that spent the most CPU (user + system) of the
process running them plus the child processes it waited for (``resource.getrusage`` SELF and
CHILDREN: an ``hlb`` subprocess counts, a PostgreSQL server does not, as nobody waits for it
before the session ends), setup, call and teardown together, then the same summed per file, then
each worker's CPU: until its tests were collected (interpreter start, imports, collection), in
all, and its PostgreSQL server's (the postmaster, its checkpointer and other processes, and the
backends it reaped, read just before the session fixture stops it). Wall durations
(``--durations``) mix in waiting and the load of the machine; CPU is what a test costs the two
cores whatever else runs. Works with and without pytest-xdist: a worker sends its figures with
each report (``user_properties``) and at its end (``workeroutput``). Off unless the option is
given.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections import defaultdict
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import psutil
import pytest

_CPU = "cpu_seconds"
_START = pytest.StashKey[float]()


def server_cpu_seconds(pid: int) -> float:
    """CPU of a PostgreSQL server so far: the postmaster, the backends it reaped, the processes still up."""
    postmaster = psutil.Process(pid)
    times = postmaster.cpu_times()
    alive = 0.0
    for child in postmaster.children():
        with contextlib.suppress(psutil.Error):  # it may end meanwhile (and be counted as reaped)
            child_times = child.cpu_times()
            alive += child_times.user + child_times.system
    return times.user + times.system + times.children_user + times.children_system + alive


def note_server(config: pytest.Config, pid: int) -> None:
    """Called by the session's database fixture before it stops its server: count that server's CPU."""
    if _on(config):
        with contextlib.suppress(psutil.Error):  # a figure missing is no reason to fail a test
            config.stash[_TALLY].server_cpu += server_cpu_seconds(pid)


def _own_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def cpu_seconds() -> float:
    """User + system CPU of this process and of the children it has waited for, in seconds."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass(frozen=True)
class WorkerFigures:
    """One process's CPU: up to the end of its collection, and in all."""

    name: str
    collected_cpu: float
    total_cpu: float
    server_cpu: float


@dataclass
class Tally:
    """What the controller (or the only process) gathers from the reports."""

    per_test: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    workers: list[WorkerFigures] = field(default_factory=list)
    server_cpu: float = 0.0


_TALLY = pytest.StashKey[Tally]()
_COLLECTED = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("terminal reporting").addoption(
        "--cpu-durations", type=int, default=None, metavar="N",
        help="show the N tests (and files) that spent the most CPU, and each worker's start-up CPU",
    )


def _on(config: pytest.Config) -> bool:
    return config.getoption("cpu_durations", None) is not None


_CONFIG: list[pytest.Config] = []  # the session's, for the report hooks that are not given it


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_TALLY] = Tally()
    _CONFIG[:] = [config]


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[_COLLECTED] = cpu_seconds()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, Any, None]:
    item.stash[_START] = cpu_seconds()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    if not _on(item.config):
        return
    now = cpu_seconds()
    spent, item.stash[_START] = now - item.stash.get(_START, now), now  # this phase only
    outcome.get_result().user_properties.append((_CPU, spent))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for key, value in report.user_properties:
        if key == _CPU:
            _CONFIG[0].stash[_TALLY].per_test[report.nodeid] += float(value)  # type: ignore[arg-type]


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    output = getattr(config, "workeroutput", None)
    if output is not None and _on(config):  # an xdist worker: hand the controller its own figures
        output[_CPU] = (config.stash.get(_COLLECTED, 0.0), cpu_seconds(), config.stash[_TALLY].server_cpu)


def pytest_testnodedown(node: Any, error: object) -> None:
    output = getattr(node, "workeroutput", {}) or {}
    if _CPU in output:
        collected, total, server = output[_CPU]
        name = getattr(node.gateway, "id", "?")
        _CONFIG[0].stash[_TALLY].workers.append(WorkerFigures(name, collected, total, server))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    count = config.getoption("cpu_durations", None)
    if count is None:
        return
    tally = config.stash[_TALLY]
    write = terminalreporter.write_line
    terminalreporter.section(f"CPU of the {count} costliest tests (process + waited-for children)")
    ranked = sorted(tally.per_test.items(), key=lambda pair: -pair[1])
    for nodeid, spent in ranked[: count or None]:
        write(f"{spent:8.2f}s  {nodeid}")
    per_file: dict[str, list[float]] = defaultdict(list)
    for nodeid, spent in tally.per_test.items():
        per_file[nodeid.split("::")[0]].append(spent)
    terminalreporter.section("CPU per file")
    for file, spents in sorted(per_file.items(), key=lambda pair: -sum(pair[1]))[: count or None]:
        write(f"{sum(spents):8.2f}s  {len(spents):4d} tests  {file}")
    in_tests = sum(tally.per_test.values())
    alone = WorkerFigures("main", config.stash.get(_COLLECTED, 0.0), cpu_seconds(), tally.server_cpu)
    workers = tally.workers or [alone]
    terminalreporter.section("CPU per process")
    for worker in sorted(workers, key=lambda w: w.name):
        write(f"{worker.name}: {worker.collected_cpu:.2f}s to start and collect, "
              f"{worker.total_cpu:.2f}s in all, its PostgreSQL {worker.server_cpu:.2f}s")
    total = sum(w.total_cpu for w in workers)
    started = sum(w.collected_cpu for w in workers)
    servers = sum(w.server_cpu for w in workers)
    write(f"tests {in_tests:.1f}s of {total:.1f}s CPU; start-up and collection {started:.1f}s; "
          f"PostgreSQL {servers:.1f}s; this process {_own_cpu():.1f}s; wall {time.monotonic() - _T0:.1f}s")


_T0 = time.monotonic()
