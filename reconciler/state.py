"""The reconciler's inputs besides the desired model: bindings, observed Discord state, rendered dashboards.

All frozen data. The bot builds these (reading ``hlb_runtime`` and Discord); the
reconciler only reads them. Discord ids are ``int`` throughout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from hlb.compiler.model import ObjectKey

# Binding statuses, as ``hlb status`` shows them.
IN_SYNC = "in_sync"
PENDING = "pending"
DRIFTED = "drifted"
ERROR = "error"


@dataclass(frozen=True)
class Binding:
    """What hlb owns: a spec object bound to a Discord object, and how its last reconcile went.

    ``discord_id`` is the channel id (Channel), the message id (Dashboard, with the channel in
    ``channel_id``) or the guild id (Guild and, for its command set, Command). ``spec_hash`` is
    the content hash of the spec last converged; ``rendered_hash`` the hash of the payload last
    sent (dashboards and commands). ``protect`` remembers the last spec's ``protect`` flag, so
    an object that left the specs is still protected from prune.

    A failure keeps both hashes (the last state that was true) and records its ``error``, its
    ``error_kind`` (``temporary`` or ``permanent``), the spec hash it was for
    (``attempted_hash``) and when to try again (``next_attempt_at``, after ``attempts`` failures).

    ``written_hash`` and ``flaps`` count healing writes that did not stick (``damping``): the
    hash of the last writes sent to bring the object back, and how many times in a row exactly
    those were sent. A value the server will not keep makes the object ``drifted``, held like a
    permanent error, with ``error`` naming the fields.
    """

    key: ObjectKey
    discord_id: int | None = None
    channel_id: int | None = None
    spec_hash: str | None = None
    rendered_hash: str | None = None
    status: str = PENDING
    error: str | None = None
    error_kind: str | None = None
    attempted_hash: str | None = None
    written_hash: str | None = None
    flaps: int = 0
    attempts: int = 0
    next_attempt_at: datetime | None = None
    reconciled_at: datetime | None = None
    protect: bool = False

    def waiting(self, now: datetime, spec_hash: str) -> bool:
        """True while the object is held back: its retry time not reached, and its spec
        (``spec_hash``) unchanged since the attempt that failed."""
        if self.next_attempt_at is None or now >= self.next_attempt_at:
            return False
        return self.attempted_hash is None or self.attempted_hash == spec_hash


@dataclass(frozen=True)
class ObservedOverwrite:
    """One permission overwrite on a channel: target id, 0 role / 1 member, allow and deny bits."""

    target: int
    type: int
    allow: int
    deny: int


@dataclass(frozen=True)
class ObservedChannel:
    """A guild channel as Discord reports it (only the fields hlb manages)."""

    id: int
    type: int
    name: str
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    nsfw: bool = False
    slowmode: int = 0
    bitrate: int | None = None
    user_limit: int | None = None
    overwrites: tuple[ObservedOverwrite, ...] = ()


@dataclass(frozen=True)
class ObservedRole:
    """A guild role as Discord reports it (the fields hlb manages, and whether an integration owns it)."""

    id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    unicode_emoji: str | None = None


@dataclass(frozen=True)
class ObservedEmoji:
    """A custom emoji as Discord reports it; ``managed``: an integration's, never hlb's to touch."""

    id: int
    name: str
    animated: bool = False
    roles: tuple[int, ...] = ()
    managed: bool = False


@dataclass(frozen=True)
class ObservedGuild:
    """A snapshot of one guild: channels, roles, the bound dashboard messages and the command set.

    ``bot_top`` is the position of the bot's highest role: the bot can edit, move or delete
    only roles below it.
    ``settings`` holds the guild's own fields hlb may manage, by Discord's names
    (``verification_level``, ``system_channel_id`` ...), as Discord reports them;
    ``premium_tier`` (boost level) sets the emoji slots; ``emojis`` its custom emojis.

    ``messages`` maps the message ids the bindings name to whether they still exist;
    ``commands`` is the guild's application commands (raw Discord JSON) or ``None`` when
    they were not read.
    """

    id: int
    name: str
    channels: tuple[ObservedChannel, ...] = ()
    roles: tuple[ObservedRole, ...] = ()
    messages: Mapping[int, bool] = field(default_factory=dict)
    commands: tuple[Mapping[str, Any], ...] | None = None
    bot_top: int | None = None  # position of the bot's highest role; None when not read

    def role(self, role_id: int | None) -> ObservedRole | None:
        return next((r for r in self.roles if r.id == role_id), None) if role_id is not None else None
    settings: Mapping[str, Any] = field(default_factory=dict)
    premium_tier: int = 0
    emojis: tuple[ObservedEmoji, ...] = ()

    def channel(self, channel_id: int | None) -> ObservedChannel | None:
        if channel_id is None:
            return None
        for channel in self.channels:
            if channel.id == channel_id:
                return channel
        return None


def payload_hash(payload: Any) -> str:
    """A stable hash of a JSON payload (what a dashboard or command set last sent)."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


@dataclass(frozen=True)
class RenderedMessage:
    """A dashboard rendered to Discord's message JSON (content, embeds, components) and its hash.

    ``problems`` lists what went wrong while rendering (a failing source, a template error);
    the message still renders, with the problem shown in it.
    """

    payload: Mapping[str, Any]
    hash: str
    problems: tuple[str, ...] = ()

    @classmethod
    def of(cls, payload: Mapping[str, Any], problems: tuple[str, ...] = ()) -> RenderedMessage:
        return cls(payload, payload_hash(payload), problems)
