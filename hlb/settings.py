"""Settings: what hlb reads from its environment, read once into a frozen value.

Secrets (the Discord token, a password inside ``DATABASE_URL``) never appear
in the repr of ``Settings``, so logging or printing the settings is safe.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_HOME = ".hlb"


class ConfigError(Exception):
    """A setting is missing or refused (no DISCORD_TOKEN, a token Discord rejects); says what to do."""

    code = "E701"


@dataclass(frozen=True)
class Settings:
    """The environment of one hlb process."""

    # DATABASE_URL or HLB_DATABASE_URL; None means the embedded Postgres under hlb_home.
    database_url: str | None = field(default=None, repr=False)
    # HLB_HOME, default ./.hlb (absolute): the embedded Postgres lives in <hlb_home>/pg.
    hlb_home: Path = field(default_factory=lambda: Path.cwd() / DEFAULT_HOME)
    # DISCORD_TOKEN: read by the bot only; never shown.
    discord_token: str | None = field(default=None, repr=False)
    # HLB_DISCORD_API_BASE: a Discord-compatible API (the emulator in tests).
    discord_api_base: str | None = None
    # Seconds before the first retry of a Discord call that failed for a passing reason (503, a
    # dropped connection, a 429 past disnake's own retries); doubled before each of the next ones.
    discord_retry_delay: float = 0.2

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Settings:
        environ = os.environ if env is None else env
        base = cwd if cwd is not None else Path.cwd()
        url = environ.get("DATABASE_URL") or environ.get("HLB_DATABASE_URL") or None
        home_text = environ.get("HLB_HOME") or ""
        home = Path(home_text).expanduser() if home_text else Path(DEFAULT_HOME)
        if not home.is_absolute():
            home = base / home
        return cls(
            database_url=url,
            hlb_home=home,
            discord_token=environ.get("DISCORD_TOKEN") or None,
            discord_api_base=environ.get("HLB_DISCORD_API_BASE") or None,
        )

    @property
    def embedded(self) -> bool:
        """Whether the database is the embedded Postgres (no URL configured)."""
        return self.database_url is None

    def __repr__(self) -> str:
        url = "embedded" if self.database_url is None else redact_url(self.database_url)
        token = "unset" if self.discord_token is None else "***"
        return (
            f"Settings(database_url={url!r}, hlb_home={str(self.hlb_home)!r}, "
            f"discord_token={token}, discord_api_base={self.discord_api_base!r})"
        )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings of this process (``os.environ`` unless ``env`` is given)."""
    return Settings.from_env(env)


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable database URL>"
    if parts.password is None and "password=" not in parts.query:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostinfo}"
    query = (
        "&".join("password=***" if item.startswith("password=") else item for item in parts.query.split("&"))
        if parts.query
        else ""
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
