"""Where the embedded Postgres puts its unix socket: a directory only its own user can enter.

The server authenticates local connections with ``trust`` (no password), and
the superuser can run programs (``COPY ... TO PROGRAM``). That is safe only
because nobody but the user the server runs as can reach the socket: it lives
in a directory owned by that user with mode 0700, the socket itself has mode
0700 and the server listens on no TCP port (see ``server_options``).

The directory is ``<pgdata>`` itself when its socket path fits the ~107-byte
limit (initdb makes it 0700). Otherwise it is a fresh directory under the
temporary directory, made by ``mkdtemp`` (a random name, created atomically
with mode 0700, so nobody can create it first or swap in a symlink). Its name
is recorded in ``postmaster.pid`` by the server, which is where later commands
read it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
import sys
import tempfile
from pathlib import Path

SOCKET_FILE = ".s.PGSQL.5432"
_MAX_SOCKET_PATH = 107 if sys.platform.startswith("linux") else 103  # sizeof(sun_path) - 1
_TEMP_PREFIX = "hlb-"
# pg_ctl runs postgres through ``/bin/sh -c 'exec postgres -D "<pgdata>" ...'``:
# inside double quotes these characters would be read by the shell.
_SHELL_SPECIAL = frozenset('"$`\\')


class NoSafeSocketDir(Exception):
    """No directory for the socket that only the server's user can reach could be made."""


def path_problem(pgdata: Path) -> str | None:
    """Why ``pgdata`` cannot be handed to pg_ctl, or None when it can."""
    text = str(pgdata)
    bad = sorted({c for c in text if c in _SHELL_SPECIAL or not c.isprintable()})
    if bad:
        return f"its path holds {' '.join(repr(c) for c in bad)}, which pg_ctl cannot pass on"
    return None


def server_options(socket_dir: Path) -> str:
    """pg_ctl's ``-o`` string: no TCP, the socket in ``socket_dir`` and reachable by its owner only."""
    return f'-h "" -c unix_socket_permissions=0700 -k {shlex.quote(str(socket_dir))}'


def choose(pgdata: Path, uid: int, gid: int) -> Path:
    """A socket directory for the server of ``pgdata``, run as ``uid``:``gid``, private to it.

    Raises NoSafeSocketDir when neither ``pgdata`` nor a fresh temporary directory will do."""
    if _fits(pgdata) and "," not in str(pgdata):  # postgres splits its socket directory list on commas
        _make_private(pgdata, uid)
        return pgdata
    base = _temp_base()
    if not _fits(base / "hlb-12345678"):
        raise NoSafeSocketDir(f"the temporary directory {base} is too long for a unix socket path")
    if not _safe_parent(base):
        raise NoSafeSocketDir(f"the temporary directory {base} is writable by others and not sticky")
    try:
        directory = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=base))
        if os.geteuid() != uid:  # root starting the server as its own user
            os.chown(directory, uid, gid)
        directory.chmod(0o700)
    except OSError as exc:
        raise NoSafeSocketDir(f"could not make a private directory in {base}: {exc.strerror}") from exc
    return directory


def is_private(directory: Path, uid: int) -> bool:
    """Whether ``directory`` is a real directory (no symlink) owned by ``uid`` that only it can enter."""
    try:
        st = directory.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == uid and st.st_mode & 0o077 == 0


def discard(directory: Path, pgdata: Path, uid: int) -> None:
    """Remove the socket files of a server that is gone, and its temporary socket directory.

    Postgres refuses to start while a socket lock file names a live process (a reused pid).
    Only ``pgdata`` or a private ``hlb-*`` directory of ``uid`` is touched; anything else is left."""
    temporary = directory.name.startswith(_TEMP_PREFIX) and is_private(directory, uid)
    if directory != pgdata and not temporary:
        return
    with contextlib.suppress(OSError):
        for entry in directory.iterdir():
            if entry.name.startswith(SOCKET_FILE):
                entry.unlink()
        if directory != pgdata:
            directory.rmdir()


def _fits(directory: Path) -> bool:
    return len(os.fsencode(directory / f"{SOCKET_FILE}.lock")) <= _MAX_SOCKET_PATH


def _make_private(pgdata: Path, uid: int) -> None:
    try:
        st = pgdata.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid:
            raise NoSafeSocketDir(f"{pgdata} is not a directory owned by the server's user")
        if st.st_mode & 0o077:
            pgdata.chmod(0o700)  # initdb -g leaves 0750: the group could reach the socket
    except OSError as exc:
        raise NoSafeSocketDir(f"could not make {pgdata} private: {exc.strerror}") from exc


def _temp_base() -> Path:
    base = Path(tempfile.gettempdir()).resolve()
    return base if _fits(base / "hlb-12345678") else Path("/tmp").resolve()


def _safe_parent(base: Path) -> bool:
    """Others cannot rename or replace our entries in ``base``: not writable by them, or sticky (/tmp)."""
    try:
        st = base.stat()
    except OSError:
        return False
    if st.st_uid not in (0, os.geteuid()):
        return False
    return not st.st_mode & 0o022 or bool(st.st_mode & stat.S_ISVTX)
