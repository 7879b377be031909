"""The Guild kind: the server a spec set manages and its optional settings, each managed only when present.

A guild's id is usually interpolated (``id: "${HLB_GUILD_ID}"``); the schema
has already checked that it is a string of digits. Two Guild objects with the
same id (E308) can only be seen with every Guild at once, which ``Index``
does not offer a kind check: that belongs to the compiler's cross-document checks.

The settings (``verification_level`` ... ``description``) are copied into the
normalized spec only when the spec names them: an absent setting is never
touched in Discord. The three channel settings name Channel specs of the
guild by their hlb name, of a fitting type (``CHANNEL_SETTINGS``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hlb.compiler.kinds.base import Draft, Index, Kind, Problem
from hlb.compiler.kinds.channel import a_type, channel_type, reference_problem

# The channel settings and the channel type each must name.
CHANNEL_SETTINGS: Mapping[str, str] = {
    "system_channel": "text",
    "rules_channel": "text",
    "afk_channel": "voice",
}
# Every optional setting, in the order the docs list them.
SETTINGS: tuple[str, ...] = (
    "verification_level",
    "default_notifications",
    "explicit_content_filter",
    *CHANNEL_SETTINGS,
    "afk_timeout",
    "preferred_locale",
    "description",
)


class GuildRules:
    """Rules of the Guild kind."""

    def check(self, draft: Draft, index: Index) -> Iterator[Problem]:
        guild_id = draft.spec.get("id")
        if isinstance(guild_id, str) and guild_id.strip("0") == "":
            message = "spec.id is all zeros; use the server's id (in Discord: right click, Copy ID)"
            yield Problem("E206", message, ("spec", "id"))
        for setting, wanted in CHANNEL_SETTINGS.items():
            if setting in draft.spec:
                yield from _channel_setting(draft, index, setting, wanted)

    def normalize(self, draft: Draft) -> dict[str, Any]:
        spec = draft.spec
        raw_id = spec.get("id", "")
        out: dict[str, Any] = {
            "id": str(raw_id).strip(),
            "prune": bool(spec.get("prune", True)),
            "adopt": spec.get("adopt", "none"),
        }
        out.update({name: spec[name] for name in SETTINGS if name in spec})
        return out


def _channel_setting(draft: Draft, index: Index, setting: str, wanted: str) -> Iterator[Problem]:
    path = ("spec", setting)
    name = draft.spec[setting]
    # A Guild's own objects carry the guild's name as their guild.
    channel, problem = reference_problem(index, draft, "Channel", name, path)
    if problem is not None:
        yield problem
    elif channel is not None and channel_type(channel) != wanted:
        message = (
            f"{setting} '{name}' is {a_type(channel_type(channel))}; "
            f"point it at a Channel of type {wanted}"
        )
        yield Problem("E305", message, path)


KIND = Kind("Guild", GuildRules(), "guilds", plans_last=True)
