"""Guild rows: one row in ``hlb_config.guilds`` per guild, keyed by its name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hlb.compiler.enums import (
    ADOPT_MODES,
    DEFAULT_NOTIFICATIONS,
    EXPLICIT_CONTENT_FILTERS,
    VERIFICATION_LEVELS,
)
from hlb.compiler.model import SpecObject
from hlb.store.rows.base import (
    Row,
    Rows,
    Storage,
    build_object,
    field_,
    fields,
    join,
    main_row,
    table_spec,
)

KIND = "Guild"
FIELDS = fields(
    "guilds",
    field_("id", "discord_id"),
    "prune",
    field_("adopt", choices=ADOPT_MODES),
    field_("verification_level", choices=VERIFICATION_LEVELS),
    field_("default_notifications", choices=DEFAULT_NOTIFICATIONS),
    field_("explicit_content_filter", choices=EXPLICIT_CONTENT_FILTERS),
    *("system_channel", "rules_channel", "afk_channel", "afk_timeout", "preferred_locale", "description"),
)
GUILDS = table_spec("guilds")


def to_rows(obj: SpecObject) -> Rows:
    return {GUILDS.name: [main_row(obj, FIELDS, {}, guild_column=False)]}


def from_rows(main: Mapping[str, Any], children: Mapping[str, Sequence[Row]]) -> SpecObject:
    return build_object(KIND, main, join(main, FIELDS, main.get("extra")))


STORAGE = Storage(KIND, (GUILDS,), to_rows, from_rows)
