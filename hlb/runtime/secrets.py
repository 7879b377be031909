"""Secret provider: ``${secret:NAME}`` values from where the operator put them, and masking of them.

A secret NAME (``[A-Z][A-Z0-9_]*``) comes from the environment variable ``HLB_SECRET_<NAME>``,
else from the file ``<NAME>`` in the directory named by ``HLB_SECRETS_DIR`` (the Docker and
Kubernetes secret mount convention; a regular file, one trailing newline stripped). From nothing
else: ``DISCORD_TOKEN`` or ``DATABASE_URL`` are never secrets a spec can ask for, not even as
``HLB_SECRET_DISCORD_TOKEN`` or a file of that name (the compiler refuses those names; so does
``lookup``). An empty value counts as not provided. Secrets are looked up when a request needs
them, so a missing one fails only that step or source, and a rotated file is read again.

``Secrets`` also masks: the ``HLB_SECRET_*`` values, the values it has handed out in this process
(files included) and hlb's own credentials (the bot token, database passwords) become ``***`` in
error texts, stored inputs and (with ``MaskSecrets``) log lines; no other environment value is
ever masked. Values shorter than
``MIN_MASKED`` characters are masked only when they are the whole text, so a short secret never
blanks out ordinary words.

``Vault`` is one request's view: the spec's references become unguessable sentinels before
templates render (so text a user types, or a template builds, never resolves), and sentinels
become values only in the outgoing request.
"""

from __future__ import annotations

import logging
import re
import secrets as random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hlb.compiler.interpolate import OWN_CREDENTIALS, SECRET_ENV_PREFIX, SECRET_NAME, SECRET_REF

SECRETS_DIR = "HLB_SECRETS_DIR"
MIN_MASKED = 8  # shorter values are masked only as a whole text
MAX_FILE = 1 << 20  # bytes of a secret file
_DATABASE_URLS = ("DATABASE_URL", "HLB_DATABASE_URL")


class SecretMissing(Exception):
    """A referenced secret is not provided; the message says where to provide it."""

    def __init__(self, name: str) -> None:
        where = f"set {SECRET_ENV_PREFIX}{name} or add the file {name} to {SECRETS_DIR}"
        super().__init__(f"secret {name} is not provided: {where}")
        self.name = name


def lookup(name: str, env: Mapping[str, str]) -> str | None:
    """Secret ``name`` from ``HLB_SECRET_<name>``, else from ``$HLB_SECRETS_DIR/<name>``; None if neither."""
    if not SECRET_NAME.fullmatch(name) or name in OWN_CREDENTIALS:
        return None  # the pattern also keeps the file lookup inside the directory
    value = env.get(SECRET_ENV_PREFIX + name)
    if value:
        return value
    directory = env.get(SECRETS_DIR)
    return _read(Path(directory) / name) if directory else None


def _read(path: Path) -> str | None:
    try:
        if not path.is_file():  # follows the symlinks of a Kubernetes mount; no fifo, no directory
            return None
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if len(raw) > MAX_FILE:
        return None
    text = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
    return text or None


@dataclass(frozen=True)
class Secrets:
    """The bot's secrets: looked up by name on demand; remembers what it handed out, for masking."""

    env: Mapping[str, str] = field(repr=False)  # only HLB_SECRET_* and HLB_SECRETS_DIR
    credentials: tuple[str, ...] = field(default=(), repr=False)  # hlb's own: always masked
    _given: set[str] = field(default_factory=set, repr=False, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Secrets:
        """The provider for a process environment (the bot passes ``os.environ``)."""
        kept = {k: v for k, v in env.items() if k.startswith(SECRET_ENV_PREFIX) or k == SECRETS_DIR}
        return cls(kept, own_credentials(env))

    def get(self, name: str) -> str | None:
        """Secret ``name``'s value, or None when it is not provided."""
        value = lookup(name, self.env)
        if value:
            self._given.add(value)
        return value

    def require(self, name: str) -> str:
        """Secret ``name``'s value; ``SecretMissing`` when it is not provided."""
        value = self.get(name)
        if value is None:
            raise SecretMissing(name)
        return value

    def _masked(self) -> list[str]:
        provided = (v for k, v in self.env.items() if k.startswith(SECRET_ENV_PREFIX))
        return sorted({*provided, *self._given, *self.credentials} - {""}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        """``text`` with the secrets (by variable, or handed out so far) and hlb's credentials as ``***``."""
        values = self._masked()
        if text in values:
            return "***"
        for value in values:
            if len(value) >= MIN_MASKED:
                text = text.replace(value, "***")
        return text

    def holds(self, text: str) -> bool:
        """Whether ``text`` is, or holds, a secret (as ``mask`` knows them) or one of hlb's credentials."""
        return any(text == value or (len(value) >= MIN_MASKED and value in text) for value in self._masked())


def own_credentials(env: Mapping[str, str]) -> tuple[str, ...]:
    """hlb's own credentials in ``env``: the bot token and the database passwords."""
    found = [env.get("DISCORD_TOKEN", ""), env.get("PGPASSWORD", "")]
    for variable in _DATABASE_URLS:
        found.append(_password(env.get(variable, "")))
    return tuple(value for value in found if value)


def _password(conninfo: str) -> str:
    if not conninfo:
        return ""
    from psycopg.conninfo import conninfo_to_dict

    try:
        value = conninfo_to_dict(conninfo).get("password")
    except Exception:  # an unparseable URL: the database layer reports it
        return ""
    return value if isinstance(value, str) else ""


class MaskSecrets(logging.Filter):
    """Masks a ``Secrets``' values in each log record (``hlb bot run`` sets it on its handlers)."""

    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._secrets.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._secrets.mask(logging.Formatter().formatException(record.exc_info))
        return True


class Vault:
    """One run's (or fetch's) secrets: references become sentinels, sentinels become values in requests."""

    def __init__(self, secrets: Secrets) -> None:
        self._secrets = secrets
        self._prefix = f"\x00hlb-secret-{random.token_hex(8)}:"  # unguessable: inputs cannot forge it
        self._sentinel = re.compile(re.escape(self._prefix) + r"([A-Z][A-Z0-9_]*)\x00")

    def protect(self, text: str) -> str:
        """``text`` with each ``${secret:NAME}`` replaced by this run's sentinel, ready to render."""
        return SECRET_REF.sub(lambda m: f"{self._prefix}{m[1]}\x00", text)

    def resolve(self, text: str) -> str:
        """Sentinels replaced by the secret values; ``SecretMissing`` when one is not provided."""
        values = {name: self._secrets.require(name) for name in self._sentinel.findall(text)}
        return self._sentinel.sub(lambda m: values[m[1]], text)

    def show(self, text: str) -> str:
        """Sentinels written back as ``${secret:NAME}``: safe to show."""
        return self._sentinel.sub(lambda m: f"${{secret:{m[1]}}}", text)

    def holds_ref(self, text: str) -> bool:
        """Whether ``text`` holds a (protected) secret reference."""
        return self._sentinel.search(text) is not None

    def scrub(self, text: str) -> str:
        """``text`` with secret values and hlb's credentials as ``***`` (a last line of defence)."""
        return self.show(self._secrets.mask(text))

    def is_secret(self, value: str) -> bool:
        """Whether ``value`` is, or holds, a secret value or one of hlb's credentials."""
        return self._secrets.holds(value)
