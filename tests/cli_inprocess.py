"""A test helper: run an `hlb` command in this process, as a subprocess run would, at a fraction of the CPU.

Each `hlb` process a test starts spends about a second importing hlb and its dependencies; a
test whose point is an exit code or an output (not the process itself: signals, start-up time,
terminal detection, the installed script) runs the click group here instead. ``hlb(env, cwd,
*args)`` takes the environment and working directory a subprocess would get and returns a
``subprocess.CompletedProcess`` with the exit code and stdout/stderr kept apart, so call sites
read the same. The environment (``env`` replaces ``os.environ`` for the call, keys absent from
it are removed) and the working directory are restored afterwards, and the group is invoked,
not the program: the program's own process tuning (``hlb.cli.run``) stays out of the test
process. An exception the CLI does not turn into a message propagates and fails the test (a
process would print a traceback, which these tests reject anyway).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner

from hlb.cli import main


def hlb(
    env: Mapping[str, str], cwd: Path | str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``hlb *args`` run in this process with ``env`` as its whole environment, from ``cwd``."""
    overrides: dict[str, str | None] = {key: None for key in os.environ if key not in env}
    overrides.update({key: value for key, value in env.items() if os.environ.get(key) != value})
    with contextlib.chdir(cwd):
        result = CliRunner().invoke(main, list(args), input=stdin, env=overrides, catch_exceptions=False)
    return subprocess.CompletedProcess(["hlb", *args], result.exit_code, result.stdout, result.stderr)
