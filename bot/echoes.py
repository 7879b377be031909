"""The bot's own writes, remembered briefly, so their echo over the gateway is not taken for drift.

Every write the bot makes comes back as a gateway event (CHANNEL_UPDATE, CHANNEL_DELETE,
MESSAGE_DELETE, GUILD_ROLE_UPDATE, GUILD_ROLE_DELETE, GUILD_UPDATE, GUILD_EMOJIS_UPDATE). An
update that changed none of the attributes hlb manages (a guild's boost count, its icon) is
no drift at all. ``Echoes`` remembers, per spec
object, which attributes the bot wrote and when; an event within ``window`` seconds that
changed nothing but those attributes is the bot's own echo: not drift, no pass. Anything
else (another attribute changed, a write longer ago) is drift as before. A person who
changes exactly the attribute the bot just wrote, within the window, is seen at the next
pass (after an apply, or the periodic resync).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, assert_never

import disnake

from hlb.bot.outcomes import Outcome
from hlb.compiler.model import ObjectKey
from hlb.reconciler import actions as a
from hlb.reconciler.guilds import DISCORD_FIELDS
from hlb.reconciler.state import Binding

WINDOW = 5.0  # seconds after a write during which its echo is expected
DELETED = "deleted"
POSITION = "position"
OVERWRITES = "overwrites"
log = logging.getLogger("hlb.bot")
# Discord's channel fields -> the disnake channel attributes an event shows them in.
ATTRIBUTES = {
    "name": "name",
    "type": "type",
    "topic": "topic",
    "nsfw": "nsfw",
    "rate_limit_per_user": "slowmode_delay",
    "bitrate": "bitrate",
    "user_limit": "user_limit",
    "parent_id": "category_id",
}
# Discord's role fields (the names events on roles report) -> the disnake role attributes
# that hold them as Discord sent them.
ROLE_ATTRIBUTES = {
    "name": "name",
    "permissions": "_permissions",
    "color": "_primary_color",
    "hoist": "hoist",
    "mentionable": "mentionable",
    "unicode_emoji": "_emoji",
}

# The guild settings (``reconciler.guilds.DISCORD_FIELDS``) a disnake guild holds under another
# name; the others are its attributes of the same name.
GUILD_READERS: dict[str, Callable[[Any], Any]] = {
    "default_message_notifications": lambda g: g.default_notifications,
    "system_channel_id": lambda g: g._system_channel_id,
    "rules_channel_id": lambda g: g._rules_channel_id,
    "afk_channel_id": lambda g: getattr(g.afk_channel, "id", None),
}


@dataclass
class Echoes:
    """What the bot wrote lately: spec object -> attribute -> when (monotonic seconds)."""

    window: float = WINDOW
    clock: Callable[[], float] = time.monotonic
    _written: dict[ObjectKey, dict[str, float]] = field(default_factory=dict)

    def wrote(self, outcome: Outcome) -> None:
        """Remember a write that reached Discord (failed ones have no echo)."""
        if not outcome.ok or not outcome.action.writes:
            return
        now = self.clock()
        self._forget_old(now)
        attributes = self._written.setdefault(outcome.action.key, {})
        attributes.update(dict.fromkeys(written(outcome.action), now))

    def explains(self, key: ObjectKey, changed: frozenset[str]) -> bool:
        """True when an event on ``key`` that changed ``changed`` is an echo of the bot's writes:
        every attribute it changed was written by the bot within the window."""
        now = self.clock()
        recent: set[str] = set()
        for owner in (key, ObjectKey(key.guild, "Guild", key.guild)):  # reorders are the guild's
            recent.update(n for n, when in self._written.get(owner, {}).items() if now - when <= self.window)
        return bool(recent) and changed <= recent

    def _forget_old(self, now: float) -> None:
        for key, attributes in list(self._written.items()):
            if all(now - when > self.window for when in attributes.values()):
                del self._written[key]


@dataclass
class DriftWatch:
    """Gateway events on managed objects: drift (``request`` a pass of the guild), unless the
    event is the echo of the bot's own write. Events that arrive while a pass is writing wait
    for its outcomes (``passing``), then are judged (``after_pass``)."""

    bindings: Callable[[], Mapping[ObjectKey, Binding]]  # the bindings as they are now
    request: Callable[[str], None]
    echoes: Echoes = field(default_factory=Echoes)
    passing: bool = False
    _pending: list[tuple[ObjectKey, int, frozenset[str]]] = field(default_factory=list)

    def seen(self, discord_id: int, what: frozenset[str], kind: str = "Channel") -> None:
        """Discord object ``discord_id`` changed ``what`` (attributes, or ``DELETED``).

        ``kind`` tells ids apart that Discord shares between kinds (``@everyone`` has the guild's)."""
        bound = self.bindings().items()
        key = next((k for k, b in bound if b.discord_id == discord_id and k.kind == kind), None)
        if key is None:
            return
        if self.passing:
            self._pending.append((key, discord_id, what))
        else:
            self._judge(key, discord_id, what)

    def install(self, client: disnake.Client) -> None:
        """Listen to the gateway events that show a managed object changed or deleted."""

        async def channel_deleted(channel: disnake.abc.GuildChannel) -> None:
            self.seen(channel.id, frozenset({DELETED}))

        async def channel_updated(before: disnake.abc.GuildChannel, after: disnake.abc.GuildChannel) -> None:
            self.seen(after.id, changed(before, after))

        async def message_deleted(payload: disnake.RawMessageDeleteEvent) -> None:
            self.seen(payload.message_id, frozenset({DELETED}), "Dashboard")

        async def role_deleted(role: disnake.Role) -> None:
            self.seen(role.id, frozenset({DELETED}), "Role")

        async def role_updated(before: disnake.Role, after: disnake.Role) -> None:
            self.seen(after.id, changed_role(before, after), "Role")

        async def guild_updated(before: disnake.Guild, after: disnake.Guild) -> None:
            settings = frozenset(f for f in DISCORD_FIELDS if setting(before, f) != setting(after, f))
            if settings:  # else only what hlb leaves alone changed (boosts, the icon, ...)
                self.seen(after.id, settings, "Guild")

        async def emojis_updated(
            _guild: disnake.Guild, before: Sequence[disnake.Emoji], after: Sequence[disnake.Emoji]
        ) -> None:
            now = {e.id: e for e in after}
            for old in before:  # a new emoji is the bot's upload or unmanaged: nothing to heal
                what = changed_emoji(old, now[old.id]) if old.id in now else frozenset({DELETED})
                if what:
                    self.seen(old.id, what, "Emoji")

        client.add_listener(channel_deleted, "on_guild_channel_delete")
        client.add_listener(channel_updated, "on_guild_channel_update")
        client.add_listener(message_deleted, "on_raw_message_delete")
        client.add_listener(role_deleted, "on_guild_role_delete")
        client.add_listener(role_updated, "on_guild_role_update")
        client.add_listener(guild_updated, "on_guild_update")
        client.add_listener(emojis_updated, "on_guild_emojis_update")

    def after_pass(self) -> None:
        pending, self._pending = self._pending, []
        for key, discord_id, what in pending:
            self._judge(key, discord_id, what)

    def _judge(self, key: ObjectKey, discord_id: int, what: frozenset[str]) -> None:
        names = ",".join(sorted(what)) or "?"
        if self.echoes.explains(key, what):
            log.debug("event=echo key=%s id=%s changed=%s", key, discord_id, names)
            return
        log.info("event=drift key=%s id=%s changed=%s", key, discord_id, names)
        self.request(key.guild)


def written(action: a.Action) -> frozenset[str]:
    """The attributes a gateway event would show changed after ``action``."""
    match action:
        case a.UpdateChannel():
            names = {ATTRIBUTES.get(f, f) for f in action.fields}
            return frozenset(names | ({"category_id"} if action.parent is not None else set()))
        case a.PutOverwrite() | a.DeleteOverwrite():
            return frozenset({OVERWRITES})
        case a.ReorderChannels():
            return frozenset({POSITION})
        case a.DeleteChannel() | a.DeleteMessage():
            return frozenset({DELETED})
        case a.CreateChannel():
            return frozenset({*ATTRIBUTES.values(), POSITION, OVERWRITES})
        case a.AdoptChannel() | a.PostMessage() | a.EditMessage() | a.OverwriteCommands():
            return frozenset()  # no channel event follows (messages and commands are not watched)
        case a.UpdateRole():
            return frozenset(action.fields)
        case a.ReorderRoles():
            return frozenset({POSITION})
        case a.DeleteRole():
            return frozenset({DELETED})
        case a.CreateRole():
            return frozenset({*ROLE_ATTRIBUTES, POSITION})
        case a.AdoptRole():
            return frozenset()  # nothing is written
        case a.UpdateGuild():
            return frozenset({*action.fields, *(name for name, _ref in action.channels)})
        case a.UpdateEmoji():
            return frozenset({*action.fields, *(("roles",) if action.roles is not None else ())})
        case a.DeleteEmoji():
            return frozenset({DELETED})
        case a.CreateEmoji() | a.AdoptEmoji():
            return frozenset()  # a new emoji is not reported (see emojis_updated)
        case _:
            assert_never(action)


def changed(before: Any, after: Any) -> frozenset[str]:
    """The attributes that differ between two versions of a disnake guild channel."""
    names = {
        n for n in (*ATTRIBUTES.values(), POSITION) if getattr(before, n, None) != getattr(after, n, None)
    }
    if _overwrites(before) != _overwrites(after):
        names.add(OVERWRITES)
    return frozenset(names)


def changed_role(before: Any, after: Any) -> frozenset[str]:
    """The Discord fields that differ between two versions of a disnake role."""
    fields = {**ROLE_ATTRIBUTES, POSITION: POSITION}
    return frozenset(f for f, n in fields.items() if getattr(before, n, None) != getattr(after, n, None))


def setting(guild: Any, field: str) -> Any:
    """Guild setting ``field`` (Discord's name) as a disnake guild holds it."""
    reader = GUILD_READERS.get(field)
    return reader(guild) if reader is not None else getattr(guild, field)


def changed_emoji(before: Any, after: Any) -> frozenset[str]:
    """The fields hlb manages that differ between two versions of a disnake emoji."""
    fields = {"name": lambda e: e.name, "roles": lambda e: sorted(getattr(e, "_roles", None) or ())}
    return frozenset(f for f, read in fields.items() if read(before) != read(after))


def _overwrites(channel: Any) -> list[tuple[Any, ...]]:
    found = getattr(channel, "_overwrites", None) or []
    return sorted((o.id, o.type, o.allow, o.deny) for o in found)
