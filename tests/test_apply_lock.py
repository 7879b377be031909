"""The apply lock against a real PostgreSQL: a waiting apply names the holder, then gives up cleanly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from hlb.store.lock import IDENTITY_TABLE

ROOT = Path(__file__).resolve().parent.parent


def test_a_waiting_apply_names_the_holder_and_gives_up_after_its_timeout(
    db_url: str, tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    env = {**os.environ, "DATABASE_URL": db_url, "HLB_HOME": str(tmp_path / ".hlb")}
    holder_url = db_url + ("&" if "?" in db_url else "?") + "application_name=nightly-deploy"
    with psycopg.connect(holder_url) as holder:
        holder.execute(f"LOCK TABLE {IDENTITY_TABLE} IN EXCLUSIVE MODE")
        pid = holder.info.backend_pid
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "hlb.cli", "apply", "specs", "--lock-timeout", "2s"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert proc.stderr is not None
        waiting = proc.stderr.readline()
        said_after = time.monotonic() - started
        _, rest = proc.communicate(timeout=60)
        took = time.monotonic() - started
        holder.rollback()
    assert waiting.startswith("waiting for the apply lock, held by 'nightly-deploy'"), waiting
    assert f"(pid {pid} " in waiting and " since " in waiting
    # within a second of trying (the interpreter's start-up and imports come first)
    assert said_after < took - 1.5
    assert proc.returncode == 1
    gave_up = "error: E610 gave up after waiting 2s for the apply lock, held by 'nightly-deploy'"
    assert rest.startswith(gave_up), rest
    assert "nothing was changed" in rest and "Traceback" not in rest
    assert 2 <= took < 30
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM hlb_config.revisions").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM hlb_config.guilds").fetchone() == (0,)


def test_an_apply_shows_up_as_hlb_apply_with_its_pid(db_url: str) -> None:
    from hlb.compiler.model import Model
    from hlb.store.apply import apply_model

    seen: list[object] = []

    def look(conn: psycopg.Connection) -> None:  # type: ignore[type-arg]
        seen.append(conn.execute("SELECT current_setting('application_name')").fetchone())

    apply_model(db_url, Model(), author="t", echo=lambda _: None, before_commit=look)
    assert seen == []  # nothing to change: no commit hook
    from hlb.compiler.compile import compile_paths

    model = compile_paths([str(ROOT / "specs" / "guild.yaml")], {}).model
    assert model is not None
    apply_model(db_url, model, author="t", echo=lambda _: None, before_commit=look)
    assert seen == [(f"hlb apply (pid {os.getpid()})",)]
