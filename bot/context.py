"""The running bot's view of the world, shared by the reconcile loop and the interaction handlers.

The runner owns one ``BotContext`` and replaces its model and bindings after each apply
and reconcile; handlers only read them. Lookups are by Discord id (which guild an
interaction came from) and by spec name (which channel a ``send`` step means).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
import psycopg

from hlb.compiler.model import Model, ObjectKey, SpecObject
from hlb.reconciler.state import Binding
from hlb.runtime.secrets import Secrets

if TYPE_CHECKING:
    from hlb.bot.metrics import BotMetrics

Refresh = Callable[[str, str], Awaitable[None]]  # (guild name, dashboard name)


async def _no_refresh(guild: str, dashboard: str) -> None:
    return None


@dataclass
class BotContext:
    """Model, bindings and shared clients of one bot process."""

    application_id: int
    sources: aiohttp.ClientSession  # outgoing HTTP for workflow steps and dashboard sources
    secrets: Secrets  # ${secret:NAME} values, looked up per request
    conn: psycopg.AsyncConnection[Any] | None = None  # hlb_runtime writes (workflow runs)
    model: Model = field(default_factory=Model)
    bindings: dict[ObjectKey, Binding] = field(default_factory=dict)
    refresh: Refresh = _no_refresh
    metrics: BotMetrics | None = None  # the bot's metrics (None: not counted, as in tests of handlers)

    def guild_by_id(self, guild_id: int | None) -> SpecObject | None:
        if guild_id is None:
            return None
        for guild in self.model.of_kind("Guild"):
            if str(guild.spec.get("id")) == str(guild_id):
                return guild
        return None

    def get(self, guild: str, kind: str, name: str) -> SpecObject | None:
        return self.model.by_key().get(ObjectKey(guild, kind, name))

    def channel_id(self, guild: str, channel: str) -> int | None:
        """The Discord id of the managed Channel ``channel`` (None until reconciled)."""
        binding = self.bindings.get(ObjectKey(guild, "Channel", channel))
        return binding.discord_id if binding else None
