"""The embedded Postgres belongs to its user alone, and comes back after it died.

Each test starts a real server (pgserver's binaries) in its own ``HLB_HOME`` and
stops it at the end. When the tests run as root, postgres runs as pgserver's
own user: the socket directory must then belong to that user.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from hlb.store import embedded, embedded_socket


def _server_uid(server: embedded.EmbeddedServer) -> int:
    uid: int = psutil.Process(server.pid).uids().effective
    return uid


def _assert_private(server: embedded.EmbeddedServer) -> None:
    """Only the user postgres runs as can reach the socket, and nobody over TCP."""
    assert server.socket_dir is not None
    st = os.lstat(server.socket_dir)
    assert stat.S_ISDIR(st.st_mode)  # a real directory, no symlink
    assert st.st_uid == _server_uid(server)
    assert stat.S_IMODE(st.st_mode) == 0o700
    socket = os.lstat(server.socket_dir / f".s.PGSQL.{server.port}")
    assert stat.S_ISSOCK(socket.st_mode) and stat.S_IMODE(socket.st_mode) == 0o700
    with psycopg.connect(server.url("postgres")) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()
            for name in ("listen_addresses", "unix_socket_permissions")
        }
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert settings == {"listen_addresses": ("",), "unix_socket_permissions": ("0700",)}


@pytest.fixture
def homes(tmp_path: Path) -> Iterator[list[Path]]:
    """``HLB_HOME``s whose servers are stopped after the test, whatever happened."""
    made: list[Path] = []
    yield made
    for home in made:
        embedded.stop(home)


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A directory with a short path, so a socket fits in a pgdata below it whatever the basetemp
    (pytest-xdist's ``popen-gwN`` made tmp_path too long for that on CI); removed at the end."""
    path = Path(tempfile.mkdtemp(prefix="hlbt-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize(
    "shape",
    ["long", "with space", "non-ascii ü"],
)
def test_the_socket_is_private_whatever_the_path(
    tmp_path: Path, short_tmp: Path, homes: list[Path], shape: str
) -> None:
    if shape == "long":
        home = tmp_path.joinpath(*(["a-long-directory-name"] * 5), ".hlb")
        assert len(os.fsencode(home / "pg" / ".s.PGSQL.5432")) > 107
    else:
        home = short_tmp / f"hlb {shape}" / ".hlb"
        assert len(os.fsencode(home / "pg" / ".s.PGSQL.5432.lock")) <= 107
    homes.append(home)
    server = embedded.ensure_running(home)
    _assert_private(server)
    assert server.socket_dir is not None
    if shape == "long":  # a fresh directory with a random name, removed when the server stops
        assert server.socket_dir != server.pgdata and server.socket_dir.name.startswith("hlb-")
        assert embedded.stop(home)
        assert not server.socket_dir.exists()
    else:
        assert server.socket_dir == server.pgdata
        # a server whose socket others can reach (as an older hlb left it) is restarted privately
        server.socket_dir.chmod(0o750)
        again = embedded.ensure_running(home)
        assert again.pid != server.pid
        _assert_private(again)


def test_a_symlink_or_a_foreign_directory_is_not_private(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    mine.chmod(0o700)
    uid = os.geteuid()
    assert embedded_socket.is_private(mine, uid)
    link = tmp_path / "link"
    link.symlink_to(mine)
    assert not embedded_socket.is_private(link, uid)
    assert not embedded_socket.is_private(mine, uid + 1)
    mine.chmod(0o755)
    assert not embedded_socket.is_private(mine, uid)


def _hlb(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HLB_DATABASE_URL")}
    environ.update(env, HLB_HOME=str(home))
    command = [sys.executable, "-m", "hlb.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=environ, timeout=120, check=False)


def test_no_safe_socket_path_is_one_line_and_stops(
    tmp_path: Path, short_tmp: Path, homes: list[Path]
) -> None:
    """A long HLB_HOME needs the temporary directory; one others may rename in is refused."""
    open_tmp = short_tmp / "open"  # short: a temporary directory too long for a socket is passed over
    open_tmp.mkdir()
    open_tmp.chmod(0o777)  # writable by all, not sticky
    home = tmp_path.joinpath(*(["a-long-directory-name"] * 5), ".hlb")
    homes.append(home)
    runtime = tmp_path / "runtime"  # pgserver's own runtime directory, which it checks by itself
    runtime.mkdir(mode=0o700)
    done = _hlb(home, "db", "current", TMPDIR=str(open_tmp), XDG_RUNTIME_DIR=str(runtime))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    starting, message = done.stderr.strip().splitlines()  # the line said while starting, then the error
    assert starting.startswith("starting the embedded database in ") and "E605" in message
    assert "HLB_HOME" in message and "writable by others" in message
    assert embedded.running(embedded.pgdata_dir(home)) is None and not list(open_tmp.iterdir())


def test_a_path_pg_ctl_cannot_carry_is_refused_by_name(tmp_path: Path) -> None:
    home = tmp_path / 'a"b$c'
    done = _hlb(home, "db", "current")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "HLB_HOME" in done.stderr and "pg_ctl cannot pass on" in done.stderr
    assert not (home / "pg").exists()


def test_the_first_command_after_the_server_died_starts_it_again(
    tmp_path: Path, homes: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL leaves postmaster.pid and the socket lock; after a reboot their pid may be reused."""
    home = tmp_path / ".hlb"
    homes.append(home)
    server = embedded.ensure_running(home)
    assert server.socket_dir is not None
    owner = _server_uid(server)
    as_owner = owner if os.geteuid() == 0 else None
    os.kill(server.pid, signal.SIGKILL)
    while psutil.pid_exists(server.pid) and psutil.Process(server.pid).status() != psutil.STATUS_ZOMBIE:
        time.sleep(0.02)
    # a process still working in the data directory (as a backend of the dead server would) blocks
    # the restart: removing postmaster.pid would disable postgres's own check for it
    monkeypatch.setattr(embedded, "LEFTOVER_WAIT", 0.3)
    with subprocess.Popen(["sleep", "120"], cwd=server.pgdata, user=as_owner) as leftover:
        try:
            with pytest.raises(embedded.EmbeddedPostgresError, match=f"still work in .*pid {leftover.pid}"):
                embedded.embedded_url(home)  # what every command calls
            assert (server.pgdata / "postmaster.pid").exists()
        finally:
            leftover.kill()
    # an unrelated process of the server's own user now holds the pid both files name
    stranger = subprocess.Popen(["sleep", "120"], user=as_owner)
    try:
        for name in ("postmaster.pid", ".s.PGSQL.5432.lock"):
            path = (server.pgdata if name == "postmaster.pid" else server.socket_dir) / name
            lines = path.read_text(encoding="utf-8").splitlines()
            path.write_text("\n".join([str(stranger.pid), *lines[1:]]) + "\n", encoding="utf-8")
        done = _hlb(home, "db", "current")
        assert done.returncode == 0, done.stderr
        assert "head:" in done.stdout
        assert stranger.poll() is None  # the unrelated process was left alone
    finally:
        stranger.kill()
        stranger.wait()
    again = embedded.running(server.pgdata)
    assert again is not None and again.pid not in (server.pid, stranger.pid)
    _assert_private(again)
