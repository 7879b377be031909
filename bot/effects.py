"""The bot's ``Effects``: what workflow steps do on Discord, through disnake, for one invocation.

``DiscordEffects`` answers the interaction that started a run (``reply``), posts to managed
channels and gives or takes roles over disnake's REST client (``client.http``, so disnake's
rate limiting applies), and asks the runner to re-render dashboards. It also tracks how the
interaction was answered (nothing yet, a reply, a deferral), so the handler can add a final
notice ("Done.", "... failed: ...") through the right endpoint. For schedules there is no
interaction: ``reply`` only logs a note. Failures are raised as ``StepFailed`` with a message
meant for the person who ran the workflow; none of them quotes a token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import disnake
from disnake.http import Route
from disnake.interactions import Interaction, MessageInteraction

from hlb.bot import rest
from hlb.bot.context import BotContext
from hlb.compiler.model import SpecObject
from hlb.runtime.invocation import Message, StepFailed
from hlb.runtime.render import MAX_CONTENT, MAX_EMBEDS, clip

log = logging.getLogger("hlb.bot.effects")

# Rendered data must never ping @everyone or a role; a template may mention a user on purpose.
ALLOWED_MENTIONS: dict[str, Any] = {"parse": ["users"]}
MAX_ERROR = 300  # characters of Discord's error text quoted in a StepFailed

# How the interaction has been answered so far.
UNANSWERED, REPLIED = "unanswered", "replied"
DEFERRED_MESSAGE, DEFERRED_UPDATE = "deferred", "deferred-update"


def _mentions() -> disnake.AllowedMentions:
    return disnake.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False)


def _embeds(embeds: Sequence[Mapping[str, Any]]) -> list[disnake.Embed]:
    return [disnake.Embed.from_dict(dict(e)) for e in list(embeds)[:MAX_EMBEDS]]  # type: ignore[arg-type]


def _check_not_empty(message: Message, what: str) -> None:
    if not message.content and not message.embeds:
        raise StepFailed(f"the {what} is empty: give it content or embeds")


def _short(error: BaseException) -> str:
    if isinstance(error, disnake.HTTPException):
        text = error.text or getattr(error.response, "reason", "") or ""
        return clip(
            f"HTTP {error.status}" + (f" (code {error.code})" if error.code else "") + f": {text}", MAX_ERROR
        )
    return clip(f"{type(error).__name__}: {error}", MAX_ERROR)


class DiscordEffects:
    """``Effects`` for one run in ``guild``, answering ``inter`` (None for schedules)."""

    def __init__(
        self,
        client: disnake.Client,
        ctx: BotContext,
        guild: SpecObject,
        inter: Interaction | None = None,
    ) -> None:
        self.client = client
        self.ctx = ctx
        self.guild = guild
        self.inter = inter
        self.state = UNANSWERED
        self.replies = 0  # reply steps (and notices) that reached the user
        self._answering = asyncio.Lock()  # a deferral and a reply never race: one goes first

    @property
    def guild_id(self) -> int:
        return int(str(self.guild.spec.get("id")))

    @property
    def answered(self) -> bool:
        return self.state != UNANSWERED

    # -- the interaction ---------------------------------------------------------------------

    async def defer(self, *, ephemeral: bool, update: bool = False) -> None:
        """Acknowledge now, answer later: a "thinking" message, or (components) a silent update."""
        async with self._answering:
            if self.inter is None or self.answered:
                return
            if update and isinstance(self.inter, MessageInteraction):
                await self.inter.response.defer(with_message=False)
                self.state = DEFERRED_UPDATE
            else:
                await self.inter.response.defer(with_message=True, ephemeral=ephemeral)
                self.state = DEFERRED_MESSAGE

    async def reply(self, message: Message) -> None:
        if self.inter is None:
            log.info("workflow reply ignored: a scheduled run has no interaction to answer")
            return
        _check_not_empty(message, "reply")
        try:
            await self._answer(message)
        except disnake.InteractionTimedOut:
            expired = "the interaction expired before the reply was sent (Discord allows 15 minutes)"
            raise StepFailed(expired) from None
        except disnake.HTTPException as error:
            raise StepFailed(f"Discord refused the reply: {_short(error)}") from None

    async def notify(self, text: str) -> None:
        """A short ephemeral notice (refusal, "Done.", a failure) by whatever route is still open."""
        if self.inter is None:
            return
        await self._answer(Message(content=text, ephemeral=True))

    async def _answer(self, message: Message) -> None:
        async with self._answering:
            await self._answer_now(message)

    async def _answer_now(self, message: Message) -> None:
        inter = self.inter
        assert inter is not None
        fields: dict[str, Any] = {"allowed_mentions": _mentions()}
        if message.content:
            fields["content"] = clip(message.content, MAX_CONTENT)
        if message.embeds:
            fields["embeds"] = _embeds(message.embeds)
        if self.state == UNANSWERED:
            await inter.response.send_message(ephemeral=message.ephemeral, **fields)
            self.state = REPLIED
        elif self.state == DEFERRED_MESSAGE and self.replies == 0:
            # The first answer after a deferral replaces the "thinking" message (its visibility
            # was fixed when deferring).
            await inter.edit_original_response(**fields)
        else:
            await inter.followup.send(ephemeral=message.ephemeral, **fields)
        self.replies += 1

    # -- channels, roles, dashboards ---------------------------------------------------------

    async def send(self, channel: str, message: Message) -> None:
        _check_not_empty(message, f"message to {channel}")
        channel_id = self.ctx.channel_id(self.guild.key.name, channel)
        if channel_id is None:
            raise StepFailed(f"channel {channel} is not reconciled yet")
        body: dict[str, Any] = {"allowed_mentions": ALLOWED_MENTIONS}
        if message.content:
            body["content"] = clip(message.content, MAX_CONTENT)
        if message.embeds:
            body["embeds"] = [dict(e) for e in list(message.embeds)[:MAX_EMBEDS]]
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        try:
            await rest.call(self.client.http, route, json=body)
        except rest.PermanentError as error:
            if error.status == 403:
                raise StepFailed(f"the bot lacks permission to post in channel {channel}: {error}") from None
            if error.status == 404:
                raise StepFailed(f"channel {channel} no longer exists in Discord: {error}") from None
            raise StepFailed(f"cannot post in channel {channel}: {error}") from None
        except rest.RestError as error:
            raise StepFailed(f"cannot post in channel {channel}: {error}") from None

    async def add_role(self, role: str, member_id: int) -> None:
        await self._member_role("PUT", role, member_id)

    async def remove_role(self, role: str, member_id: int) -> None:
        await self._member_role("DELETE", role, member_id)

    async def _member_role(self, method: str, role: str, member_id: int) -> None:
        role_id = await self.role_id(role)
        route = Route(
            method,
            "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
            guild_id=self.guild_id,
            user_id=member_id,
            role_id=role_id,
        )
        verb = "give" if method == "PUT" else "take"
        try:
            await rest.call(self.client.http, route, reason="hlb workflow")
        except rest.PermanentError as error:
            if error.status == 403:
                raise StepFailed(f"the bot lacks permission to manage role {role}: {error}") from None
            if error.status == 404 and error.code == 10007:
                raise StepFailed(f"member {member_id} is not in the guild") from None
            raise StepFailed(f"cannot {verb} role {role}: {error}") from None
        except rest.RestError as error:
            raise StepFailed(f"cannot {verb} role {role}: {error}") from None

    async def role_id(self, role: str) -> int:
        """The id of the role named ``role`` (or with that id): the gateway cache first, then REST."""
        cached = self.client.get_guild(self.guild_id)
        if cached is not None:
            found = _find_role([(r.id, r.name) for r in cached.roles], role)
            if found is not None:
                return found
        route = Route("GET", "/guilds/{guild_id}/roles", guild_id=self.guild_id)
        try:
            roles = await rest.call(self.client.http, route)
        except rest.RestError as error:
            raise StepFailed(f"cannot read the roles of the guild to find role {role}: {error}") from None
        found = _find_role([(int(r["id"]), str(r["name"])) for r in roles], role)
        if found is None:
            raise StepFailed(f"role {role} does not exist in guild {self.guild.key.name}")
        return found

    async def refresh(self, dashboard: str) -> None:
        try:
            await self.ctx.refresh(self.guild.key.name, dashboard)
        except StepFailed:
            raise
        except Exception as error:
            raise StepFailed(f"refreshing dashboard {dashboard} failed: {_short(error)}") from None


def _find_role(roles: Sequence[tuple[int, str]], wanted: str) -> int | None:
    """A role by id (digits), else by exact name, else by a case-insensitive name if only one matches."""
    wanted = wanted.strip()
    if wanted.isdigit():
        for role_id, _ in roles:
            if role_id == int(wanted):
                return role_id
    if wanted == "@everyone":
        return None  # everyone has it; it cannot be given or taken
    for role_id, name in roles:
        if name == wanted:
            return role_id
    folded = [role_id for role_id, name in roles if name.casefold() == wanted.casefold()]
    return folded[0] if len(folded) == 1 else None
