"""Reconcile actions: the Discord writes (and binding-only steps) a pass will make, as frozen data.

Each action names the spec object it serves (``key``), why it is needed (``reason``), and
its ``phase`` (``hlb.reconciler.action_base``): the executor runs phases in order and the
actions of one phase concurrently.
Ids of objects created earlier in the same pass are written as a ``Ref`` to their key and
resolved by the executor from the bindings it has just filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from hlb.compiler.model import ObjectKey
from hlb.reconciler import action_base as phases
from hlb.reconciler.action_base import ActionBase, Change, Ref


@dataclass(frozen=True)
class CreateChannel(ActionBase):
    guild_id: int
    payload: Mapping[str, Any]  # POST /guilds/{id}/channels body, without parent_id
    parent: Ref | None = None

    verb: ClassVar[str] = "create channel"
    symbol: ClassVar[str] = "+"

    @property
    def phase(self) -> int:
        return phases.CREATE_CATEGORIES if self.payload.get("type") == 4 else phases.CREATE_CHANNELS


@dataclass(frozen=True)
class AdoptChannel(ActionBase):
    """Bind an existing, unmanaged channel of the same name, type and parent (``adopt: by-name``)."""

    channel_id: int

    verb: ClassVar[str] = "adopt channel"
    symbol: ClassVar[str] = "="
    writes: ClassVar[bool] = False

    @property
    def phase(self) -> int:
        return phases.CREATE_CATEGORIES

    def describe(self) -> str:
        return f"{self.symbol} {self.verb} {self.key} (existing #{self.channel_id}, {self.reason})"


@dataclass(frozen=True)
class UpdateChannel(ActionBase):
    channel_id: int
    fields: Mapping[str, Any]  # only the Discord fields that differ (PATCH /channels/{id})
    changes: tuple[Change, ...] = ()
    parent: Ref | None = None  # set when parent_id must be resolved at execution

    verb: ClassVar[str] = "update channel"

    @property
    def phase(self) -> int:
        return phases.UPDATE_CHANNELS

    def describe(self) -> str:
        names = ", ".join(c.field for c in self.changes) or ", ".join(self.fields)
        return f"{self.symbol} {self.verb} {self.key}: {names} ({self.reason})"


@dataclass(frozen=True)
class DeleteChannel(ActionBase):
    channel_id: int
    category: bool = False

    verb: ClassVar[str] = "delete channel"
    symbol: ClassVar[str] = "-"

    @property
    def phase(self) -> int:
        return phases.DELETE_CATEGORIES if self.category else phases.DELETE_CHANNELS


@dataclass(frozen=True)
class PutOverwrite(ActionBase):
    """Add or change one permission overwrite (added before any is removed: no open window)."""

    channel: Ref
    target: Ref  # a role created in this pass is its key
    type: int  # 0 role, 1 member
    allow: int
    deny: int
    label: str = ""  # the spec's name for the target, for people

    verb: ClassVar[str] = "set overwrite"

    @property
    def phase(self) -> int:
        return phases.PUT_OVERWRITES

    def describe(self) -> str:
        return f"{self.symbol} {self.verb} {self.label or self.target} on {self.key} ({self.reason})"


@dataclass(frozen=True)
class DeleteOverwrite(ActionBase):
    channel_id: int
    target: int

    verb: ClassVar[str] = "remove overwrite"
    symbol: ClassVar[str] = "-"

    @property
    def phase(self) -> int:
        return phases.DELETE_OVERWRITES

    def describe(self) -> str:
        return f"{self.symbol} {self.verb} {self.target} on {self.key} ({self.reason})"


@dataclass(frozen=True)
class ReorderChannels(ActionBase):
    """One bulk position call listing only managed channels whose position differs."""

    guild_id: int
    positions: tuple[tuple[Ref, int], ...]

    verb: ClassVar[str] = "reorder channels"

    @property
    def phase(self) -> int:
        return phases.REORDER

    def describe(self) -> str:
        return f"{self.symbol} {self.verb} in {self.key} ({len(self.positions)} moved, {self.reason})"


@dataclass(frozen=True)
class PostMessage(ActionBase):
    channel: Ref
    payload: Mapping[str, Any]
    rendered_hash: str

    verb: ClassVar[str] = "post dashboard"
    symbol: ClassVar[str] = "+"

    @property
    def phase(self) -> int:
        return phases.MESSAGES


@dataclass(frozen=True)
class EditMessage(ActionBase):
    channel_id: int
    message_id: int
    payload: Mapping[str, Any]
    rendered_hash: str

    verb: ClassVar[str] = "edit dashboard"

    @property
    def phase(self) -> int:
        return phases.MESSAGES


@dataclass(frozen=True)
class DeleteMessage(ActionBase):
    channel_id: int
    message_id: int

    verb: ClassVar[str] = "delete dashboard"
    symbol: ClassVar[str] = "-"

    @property
    def phase(self) -> int:
        return phases.DELETE_MESSAGES


@dataclass(frozen=True)
class OverwriteCommands(ActionBase):
    """One bulk overwrite of the guild's application commands; ``key`` is the Guild's."""

    guild_id: int
    payload: tuple[Mapping[str, Any], ...]
    rendered_hash: str
    commands: tuple[ObjectKey, ...] = ()  # the Command objects the payload declares

    verb: ClassVar[str] = "overwrite commands"

    @property
    def phase(self) -> int:
        return phases.COMMANDS

    def describe(self) -> str:
        names = ", ".join("/" + c["name"] for c in self.payload) or "none"
        return f"{self.symbol} {self.verb} of {self.key}: {names} ({self.reason})"


@dataclass(frozen=True)
class CreateRole(ActionBase):
    guild_id: int
    payload: Mapping[str, Any]  # POST /guilds/{id}/roles body

    verb: ClassVar[str] = "create role"
    symbol: ClassVar[str] = "+"

    @property
    def phase(self) -> int:
        return phases.CREATE_ROLES


@dataclass(frozen=True)
class AdoptRole(ActionBase):
    """Bind an existing role of the same name that hlb does not manage yet (``adopt: by-name``)."""

    role_id: int

    verb: ClassVar[str] = "adopt role"
    symbol: ClassVar[str] = "="
    writes: ClassVar[bool] = False

    @property
    def phase(self) -> int:
        return phases.CREATE_ROLES

    def describe(self) -> str:
        return f"{self.symbol} {self.verb} {self.key} (existing role {self.role_id}, {self.reason})"


@dataclass(frozen=True)
class UpdateRole(ActionBase):
    guild_id: int
    role_id: int
    fields: Mapping[str, Any]  # only the Discord fields that differ (PATCH /guilds/{id}/roles/{role_id})
    changes: tuple[Change, ...] = ()

    verb: ClassVar[str] = "update role"

    @property
    def phase(self) -> int:
        return phases.UPDATE_ROLES

    def describe(self) -> str:
        names = ", ".join(c.field for c in self.changes) or ", ".join(self.fields)
        return f"{self.symbol} {self.verb} {self.key}: {names} ({self.reason})"


@dataclass(frozen=True)
class ReorderRoles(ActionBase):
    """One call setting the positions of the managed roles (``key`` is the Guild's)."""

    guild_id: int
    positions: tuple[tuple[Ref, int], ...]

    verb: ClassVar[str] = "reorder roles"

    @property
    def phase(self) -> int:
        return phases.REORDER_ROLES

    def describe(self) -> str:
        return f"{self.symbol} {self.verb} in {self.key} ({len(self.positions)} roles, {self.reason})"


@dataclass(frozen=True)
class DeleteRole(ActionBase):
    guild_id: int
    role_id: int

    verb: ClassVar[str] = "delete role"
    symbol: ClassVar[str] = "-"

    @property
    def phase(self) -> int:
        return phases.DELETE_ROLES


@dataclass(frozen=True)
class UpdateGuild(ActionBase):
    """One PATCH /guilds/{id} with only the settings that differ; ``key`` is the Guild's."""

    guild_id: int
    fields: Mapping[str, Any]  # Discord's field names and values, channel settings excepted
    changes: tuple[Change, ...] = ()
    channels: tuple[tuple[str, Ref], ...] = ()  # channel settings (``afk_channel_id``) to resolve

    verb: ClassVar[str] = "update guild settings"

    @property
    def phase(self) -> int:
        return phases.UPDATE_GUILD

    def describe(self) -> str:
        names = ", ".join(c.field for c in self.changes)
        return f"{self.symbol} {self.verb} of {self.key}: {names} ({self.reason})"


@dataclass(frozen=True)
class CreateEmoji(ActionBase):
    guild_id: int
    payload: Mapping[str, Any]  # POST /guilds/{id}/emojis body: name, image (data URI)
    roles: tuple[Ref, ...] = ()  # the roles that may use it (a role created in this pass: its key)

    verb: ClassVar[str] = "upload emoji"
    symbol: ClassVar[str] = "+"

    @property
    def phase(self) -> int:
        return phases.EMOJIS


@dataclass(frozen=True)
class AdoptEmoji(ActionBase):
    """Bind an existing, unmanaged emoji of the same name (``adopt: by-name``)."""

    emoji_id: int

    verb: ClassVar[str] = "adopt emoji"
    symbol: ClassVar[str] = "="
    writes: ClassVar[bool] = False

    @property
    def phase(self) -> int:
        return phases.DELETE_EMOJIS


@dataclass(frozen=True)
class UpdateEmoji(ActionBase):
    guild_id: int
    emoji_id: int
    fields: Mapping[str, Any]  # name (PATCH /guilds/{id}/emojis/{emoji_id})
    changes: tuple[Change, ...] = ()
    roles: tuple[Ref, ...] | None = None  # the new roles, when they change

    verb: ClassVar[str] = "update emoji"

    @property
    def phase(self) -> int:
        return phases.EMOJIS

    def describe(self) -> str:
        names = ", ".join(c.field for c in self.changes) or ", ".join(self.fields)
        return f"{self.symbol} {self.verb} {self.key}: {names} ({self.reason})"


@dataclass(frozen=True)
class DeleteEmoji(ActionBase):
    guild_id: int
    emoji_id: int

    verb: ClassVar[str] = "delete emoji"
    symbol: ClassVar[str] = "-"

    @property
    def phase(self) -> int:
        return phases.DELETE_EMOJIS


# Every action there is. The executor and the other dispatchers ``match`` on it and end with
# ``assert_never``, so mypy names each place a new action must be handled; tests/test_reconciler_pure.py
# checks that every ActionBase subclass is in this union.
Action = (
    CreateChannel
    | AdoptChannel
    | UpdateChannel
    | DeleteChannel
    | PutOverwrite
    | DeleteOverwrite
    | ReorderChannels
    | PostMessage
    | EditMessage
    | DeleteMessage
    | OverwriteCommands
    | CreateRole
    | AdoptRole
    | UpdateRole
    | ReorderRoles
    | DeleteRole
    | UpdateGuild
    | CreateEmoji
    | AdoptEmoji
    | UpdateEmoji
    | DeleteEmoji
)
