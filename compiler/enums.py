"""The closed vocabularies of specs, each defined once: Discord's enumerations (with API numbers), hlb's own.

The JSON Schemas (``schemas/*.schema.json``) list the same names as ``enum``s
so editors can complete them; ``tests/test_schema.py`` keeps each schema enum
equal to the tuple here, in the same order. The database's CHECK constraints
(``hlb.store.models``), the row mapping (``hlb.store.rows``), the reconciler's
payloads and the renderers all read these. Permission names live in
``hlb.compiler.permissions`` (with their bits), for the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping

# --- Discord's enumerations: spec name -> API number, in the order the schemas list them ---------

# https://discord.com/developers/docs/resources/channel#channel-object-channel-types
CHANNEL_TYPES: Mapping[str, int] = {
    "text": 0,
    "voice": 2,
    "category": 4,
    "announcement": 5,
    "forum": 15,
    "stage": 13,
}
CHANNEL_TYPE_NAMES: Mapping[int, str] = {v: k for k, v in CHANNEL_TYPES.items()}

# https://discord.com/developers/docs/components/reference#button-button-styles
BUTTON_STYLES: Mapping[str, int] = {"primary": 1, "secondary": 2, "success": 3, "danger": 4, "link": 5}
BUTTON_STYLE_NAMES: Mapping[int, str] = {v: k for k, v in BUTTON_STYLES.items()}
LINK_STYLE = "link"  # the style of a url button; every other style runs a workflow
WORKFLOW_STYLES: tuple[str, ...] = tuple(s for s in BUTTON_STYLES if s != LINK_STYLE)

# https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-option-type
OPTION_TYPES: Mapping[str, int] = {
    "string": 3,
    "integer": 4,
    "number": 10,
    "boolean": 5,
    "user": 6,
    "channel": 7,
    "role": 8,
    "mentionable": 9,
}
OPTION_TYPE_NAMES: Mapping[int, str] = {v: k for k, v in OPTION_TYPES.items()}

# --- hlb's own vocabularies ------------------------------------------------------------------------

COMPONENT_TYPES: tuple[str, ...] = ("button", "select")  # the cells of a dashboard's component grid
STEP_TYPES: tuple[str, ...] = ("reply", "send", "http", "add_role", "remove_role", "refresh")
ADOPT_MODES: tuple[str, ...] = ("none", "by-name")  # a Guild's spec.adopt

# --- a Guild's settings (https://discord.com/developers/docs/resources/guild#guild-object) ----------

# https://discord.com/developers/docs/resources/guild#guild-object-verification-level
VERIFICATION_LEVELS: Mapping[str, int] = {"none": 0, "low": 1, "medium": 2, "high": 3, "very_high": 4}
# https://discord.com/developers/docs/resources/guild#guild-object-default-message-notification-level
DEFAULT_NOTIFICATIONS: Mapping[str, int] = {"all_messages": 0, "only_mentions": 1}
# https://discord.com/developers/docs/resources/guild#guild-object-explicit-content-filter-level
EXPLICIT_CONTENT_FILTERS: Mapping[str, int] = {"disabled": 0, "members_without_roles": 1, "all_members": 2}
# https://discord.com/developers/docs/resources/guild#modify-guild-json-params (afk_timeout, seconds)
AFK_TIMEOUTS: tuple[int, ...] = (60, 300, 900, 1800, 3600)

# --- emojis ----------------------------------------------------------------------------------------

# https://discord.com/developers/docs/reference#image-data: the image types an emoji may be
EMOJI_IMAGE_TYPES: tuple[str, ...] = ("png", "jpeg", "webp", "gif")
EMOJI_MAX_BYTES = 256 * 1024
# https://discord.com/developers/docs/resources/emoji: static and animated slots each, by premium tier
EMOJI_SLOTS: Mapping[int, int] = {0: 50, 1: 100, 2: 150, 3: 250}
