"""docs/getting-started.md, walked command by command: the guide fails this test when it drifts from hlb.

The walk runs every fenced ``sh`` block of the guide in order, line by line, each line with bash in
a temporary directory laid out like a fresh clone (``specs/`` and ``examples/`` copied), with its own
``HOME`` (so ``~/my-server`` is inside it), no ``DATABASE_URL`` and the ``hlb`` of this test's
virtualenv first on ``PATH``. The working directory and exported variables carry over from line to
line, as in a terminal. Every line must exit 0. Discord is the emulator (``python -m hlb.testing``).

The guide marks what cannot run as written with an HTML comment on the line before a fenced block:

- ``<!-- walk: skip (why) -->``: the block is not run (installing hlb: this test runs the installed one).
- ``<!-- walk: file PATH -->``: the block's text is written to PATH (relative to the working directory).
- ``<!-- walk: output -->``: a ``text`` block that must match what the last command printed
  (stdout and stderr together). A ``...`` inside a line stands for any text (paths, pids, sizes); a
  line of only ``...`` for any number of lines.
- ``<!-- walk: background until "TEXT" -->``: the block's last line starts in the background, as in a
  second shell, and the walk goes on once it printed TEXT. ``export K=V`` lines it prints are applied,
  as a reader pastes them. It is stopped with Ctrl-C (SIGINT) at the end and must exit cleanly.

``export NAME=...`` (a value the reader fills in) keeps the value the walk already has (the
emulator's token), else sets a placeholder.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "getting-started.md"
FENCE = re.compile(
    r"(?:<!-- walk: (?P<mark>[^>]*?) -->\n)?(?P<indent>[ ]*)```(?P<lang>\w+)\n(?P<body>.*?)\n(?P=indent)```",
    re.S,
)
CLEARED = (
    "DATABASE_URL",
    "HLB_DATABASE_URL",
    "HLB_HOME",
    "DISCORD_TOKEN",
    "HLB_DISCORD_API_BASE",
    "HLB_GUILD_ID",
)
READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class Block:
    lang: str
    body: str
    mark: str  # the walk comment before it, "" when none


def blocks(text: str) -> list[Block]:
    found = []
    for match in FENCE.finditer(text):
        indent = match["indent"]
        body = "\n".join(line.removeprefix(indent) for line in match["body"].splitlines())
        found.append(Block(match["lang"], body, (match["mark"] or "").strip()))
    return found


def output_pattern(expected: str) -> re.Pattern[str]:
    """A regex for a documented output: ``...`` in a line is any text, a line of ``...`` any lines."""
    pattern, gap, first = "", False, True
    for line in expected.splitlines():
        if line.strip() == "...":
            gap = True
            continue
        line_re = ".*".join(re.escape(part) for part in line.split("..."))
        sep = "" if first else "\n"
        pattern += sep + ("(?:[^\n]*\n)*?" if gap else "") + line_re
        gap, first = False, False
    return re.compile(pattern + ("(?:\n[^\n]*)*" if gap else ""))


@dataclass
class Background:
    command: str
    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def start_reading(self) -> None:
        def pump() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.put(line.rstrip("\n"))

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not any(text in line for line in self.seen):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.process.poll() is not None and self.lines.empty()):
                raise AssertionError(f"{self.command!r} never printed {text!r}:\n" + "\n".join(self.seen))
            try:
                self.seen.append(self.lines.get(timeout=min(remaining, 0.5)))
            except queue.Empty:
                continue


@dataclass
class Walk:
    cwd: Path
    env: dict[str, str]
    background: list[Background] = field(default_factory=list)
    last_output: str = ""
    last_command: str = ""

    def run_line(self, line: str) -> None:
        line = self.fill_in(line)
        state = self.cwd.parent / ".walk-state"
        script = f'set -e\n{line}\nprintf "%s" "$PWD" > {state}/pwd\nexport -p > {state}/env\n'
        state.mkdir(exist_ok=True)
        t0 = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
        print(f"{time.monotonic() - t0:6.1f}s  {line}")
        assert done.returncode == 0, f"`{line}` exited {done.returncode}:\n{done.stdout}"
        self.last_output, self.last_command = done.stdout, line
        self.cwd = Path((state / "pwd").read_text())
        self.env = read_exports((state / "env").read_text())

    def fill_in(self, line: str) -> str:
        """``export NAME=...``: the reader's own value; the walk's when it has one."""
        match = re.match(r"\s*export (\w+)=\.\.\.(\s|$)", line)
        if match is None:
            return line
        name = match[1]
        return ":" if name in self.env else f"export {name}=walk-placeholder"

    def start(self, line: str, until: str) -> None:
        process = subprocess.Popen(
            ["bash", "-c", f"exec {line}"],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        job = Background(line, process)
        self.background.append(job)
        job.start_reading()
        job.wait_for(until)
        for printed in job.seen:  # the reader pastes the export lines it printed
            if printed.startswith("export "):
                name, _, value = printed.removeprefix("export ").partition("=")
                self.env[name] = value.strip("'")

    def stop_background(self) -> list[tuple[str, int, str]]:
        results = []
        for job in reversed(self.background):
            if job.process.poll() is None:
                job.process.send_signal(signal.SIGINT)  # Ctrl-C, as the reader stops them
            try:
                code = job.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                job.process.kill()
                code = job.process.wait()
            while not job.lines.empty():
                job.seen.append(job.lines.get())
            results.append((job.command, code, "\n".join(job.seen)))
        return results


def read_exports(text: str) -> dict[str, str]:
    """The environment bash's ``export -p`` printed (``declare -x NAME="value"``)."""
    env = {}
    for match in re.finditer(r'^declare -x (\w+)(?:="((?:[^"\\]|\\.)*)")?$', text, re.M):
        env[match[1]] = re.sub(r"\\(.)", r"\1", match[2] or "")
    return env


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[Walk]:
    clone, home = tmp_path / "clone", tmp_path / "home"
    shutil.copytree(ROOT / "specs", clone / "specs")
    shutil.copytree(ROOT / "examples", clone / "examples")
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.startswith("HLB_SECRET")}
    env |= {"HOME": str(home), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
    walk = Walk(clone, env)
    yield walk
    walk.stop_background()
    for pid_file in tmp_path.glob("**/.hlb/pg/postmaster.pid"):  # every embedded server the walk started
        subprocess.run(["hlb", "db", "stop"], cwd=pid_file.parents[2], env=walk.env, capture_output=True)


def test_the_guide_parses_into_runnable_blocks() -> None:
    found = blocks(GUIDE.read_text(encoding="utf-8"))
    marks = {b.mark.split()[0] for b in found if b.mark}
    assert marks == {"skip", "file", "output", "background"}
    assert sum(b.lang == "sh" for b in found) >= 8


def test_walk_the_getting_started_guide(walk: Walk) -> None:
    started = time.monotonic()
    for block in blocks(GUIDE.read_text(encoding="utf-8")):
        kind, _, argument = block.mark.partition(" ")
        if kind == "skip":
            continue
        if kind == "file":
            target = walk.cwd / argument
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.body + "\n", encoding="utf-8")
        elif kind == "output":
            pattern = output_pattern(block.body)
            assert pattern.fullmatch(walk.last_output.rstrip("\n")), (
                f"`{walk.last_command}` printed:\n{walk.last_output}\nbut the guide shows:\n{block.body}"
            )
        elif block.lang == "sh":
            lines = [line for line in block.body.splitlines() if line.strip() and not line.startswith("#")]
            *now, last = lines
            for line in now if kind == "background" else lines:
                walk.run_line(line)
            if kind == "background":
                until = re.fullmatch(r'until "(.*)"', argument)
                assert until is not None, block.mark
                walk.start(last, until[1])
    for command, code, output in walk.stop_background():
        assert code == 0 and "Traceback" not in output, f"{command!r} exited {code}:\n{output}"
    assert time.monotonic() - started < 90


@pytest.mark.parametrize(
    "expected, printed, matches",
    [
        ("a\n...\nc", "a\nb\nb2\nc", True),
        ("a\n...\nc", "a\nc", True),
        ("a\nc", "a\nb\nc", False),  # a line the guide does not show
        ("state: running, pid ...", "state: running, pid 42", True),
        ("state: running, pid ...", "state: stopped", False),
        ("x\n...", "x\ny\nz", True),
        ("x", "x\ny", False),  # output the guide leaves out
    ],
)
def test_documented_output_matching(expected: str, printed: str, matches: bool) -> None:
    assert bool(output_pattern(expected).fullmatch(printed)) is matches
