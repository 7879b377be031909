"""Alembic migrations of the hlb_config and hlb_runtime schemas, shipped in the package.

Importing this package is cheap (no alembic, no SQLAlchemy): ``hlb.store.db`` compares
a database's revision with ``HEAD`` on every command and only loads alembic
when an upgrade is due. A test keeps ``REVISIONS`` equal to alembic's history.
"""

from __future__ import annotations

from pathlib import Path

# Every revision id, oldest first; the last one is the head this hlb expects.
REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008")
HEAD = REVISIONS[-1]
# alembic_version lives in hlb_config, next to the tables it versions.
VERSION_TABLE = "alembic_version"
VERSION_TABLE_SCHEMA = "hlb_config"
# The transaction-level advisory lock env.py takes, so concurrent migrations (and grants) serialize.
MIGRATION_LOCK_KEY = 0x686C62_6D6967  # "hlb" "mig"


def script_location() -> Path:
    """The directory alembic reads ``env.py`` and ``versions/`` from."""
    return Path(__file__).resolve().parent
