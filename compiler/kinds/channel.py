"""The Channel kind: category references, per-type fields, permission overwrites; and shared reference checks.

Besides ``RULES``, this module holds two helpers the other kinds use:
``reference_problem`` (E304, a named object is missing) and
``permission_problems`` (E306, unknown permission names).
"""

from __future__ import annotations

import difflib
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from hlb.compiler.diagnostics import JsonPath, dotted_path
from hlb.compiler.durations import parse_duration
from hlb.compiler.kinds.base import Draft, Index, Kind, Problem

VOICE_TYPES = frozenset({"voice", "stage"})
# The fields Discord keeps for each channel type, besides those every type has (type,
# display_name, position, permissions; and hlb's own protect). From Discord's Channel object
# and Modify Channel docs; reconciler/channels.py sends exactly these (TOPIC_TYPES, NSFW_TYPES,
# SLOWMODE_TYPES, VOICE_TYPES). A field outside its type's row is E307, even when set to its
# default: Discord would drop it silently.
TYPE_FIELDS: Mapping[str, frozenset[str]] = {
    "text": frozenset({"category", "topic", "nsfw", "slowmode"}),
    "announcement": frozenset({"category", "topic", "nsfw"}),  # no slowmode (rate_limit_per_user)
    "forum": frozenset({"category", "topic", "nsfw", "slowmode"}),
    "voice": frozenset({"category", "nsfw", "slowmode", "bitrate", "user_limit"}),
    "stage": frozenset({"category", "nsfw", "slowmode", "bitrate", "user_limit"}),
    "category": frozenset(),
}
TYPED_FIELDS = frozenset().union(*TYPE_FIELDS.values())
_WHERE = {  # which types take a field, for the message
    field: [t for t, fields in TYPE_FIELDS.items() if field in fields] for field in sorted(TYPED_FIELDS)
}
MESSAGE_TYPES = frozenset({"text", "announcement"})  # channels a bot message can be posted to
_USER_LIMIT = {"voice": 99, "stage": 10_000}
_ARTICLE = {"announcement": "an", "stage": "a", "voice": "a", "text": "a", "category": "a", "forum": "a"}


def channel_type(draft: Draft) -> str:
    value = draft.spec.get("type", "text")
    return value if isinstance(value, str) else "text"


def a_type(ctype: str) -> str:
    """'a text channel', 'an announcement channel', 'a category'."""
    return "a category" if ctype == "category" else f"{_ARTICLE.get(ctype, 'a')} {ctype} channel"


class _Suggester:
    """Closest-name hints for one Index, with a budget so thousands of broken references stay fast.

    Names are listed once per (guild, kind); a name that differs only in case, '-' or '_' is found
    at once; fuzzy matching (difflib) stops after ``_FUZZY_BUDGET`` candidate comparisons.
    """

    def __init__(self, index: Index) -> None:
        self._index = index
        self._names: dict[tuple[str, str], tuple[list[str], dict[str, str]]] = {}
        self._memo: dict[tuple[str, str, str], str | None] = {}
        self._budget = _FUZZY_BUDGET

    def closest(self, guild: str, kind: str, name: str) -> str | None:
        key = (guild, kind, name)
        if key not in self._memo:
            self._memo[key] = self._closest(guild, kind, name)
        return self._memo[key]

    def _closest(self, guild: str, kind: str, name: str) -> str | None:
        if (guild, kind) not in self._names:
            names = sorted(d.name for d in self._index.of_kind(guild, kind))
            self._names[guild, kind] = (names, {_fold(n): n for n in names})
        names, folded = self._names[guild, kind]
        if _fold(name) in folded:
            return folded[_fold(name)]
        if self._budget < len(names):
            return None
        self._budget -= len(names)
        close = difflib.get_close_matches(name, names, n=1)
        return close[0] if close else None


_FUZZY_BUDGET = 50_000
_SUGGESTERS: weakref.WeakKeyDictionary[Index, _Suggester] = weakref.WeakKeyDictionary()


def _fold(name: str) -> str:
    return name.lower().replace("_", "-")


def _suggestions(index: Index) -> _Suggester:
    suggester = _SUGGESTERS.get(index)
    if suggester is None:
        suggester = _SUGGESTERS[index] = _Suggester(index)
    return suggester


def reference_problem(
    index: Index, draft: Draft, kind: str, name: Any, path: JsonPath
) -> tuple[Draft | None, Problem | None]:
    """The draft ``name`` refers to, or an E304 problem saying it does not exist (with the closest name).

    Neither when ``name`` is declared by a document with errors of its own: that
    document's diagnostic is the one to fix, not every reference to it."""
    target = index.get(draft.guild, kind, name) if isinstance(name, str) else None
    if target is not None:
        return target, None
    if isinstance(name, str) and index.is_broken(draft.guild, kind, name):
        return None, None
    close = _suggestions(index).closest(draft.guild, kind, str(name))
    hint = f"did you mean '{close}'?" if close else f"add a {kind} named '{name}' or fix the name"
    message = f"{dotted_path(path)}: no {kind} named '{name}' in guild '{draft.guild}'; {hint}"
    return None, Problem("E304", message, path)


def permission_problems(names: Any, path: JsonPath) -> Iterator[Problem]:
    """E306 for every name in ``names`` that is not a Discord permission flag."""
    from hlb.compiler.permissions import ALIASES, PERMISSIONS

    if not isinstance(names, list):
        return
    for i, name in enumerate(names):
        if isinstance(name, str) and name in PERMISSIONS:
            continue
        guess = ALIASES.get(name) if isinstance(name, str) else None
        if guess is None:
            close = difflib.get_close_matches(str(name), list(PERMISSIONS), n=1)
            guess = close[0] if close else None
        hint = f"did you mean '{guess}'?" if guess else "use Discord's flags in snake_case, e.g. view_channel"
        yield Problem("E306", f"unknown permission '{name}' in {dotted_path((*path, i))}; {hint}", (*path, i))


def _target(entry: Mapping[str, Any]) -> tuple[int, str]:
    """Sort key and identity of an overwrite: roles before members, then the target."""
    if "role" in entry:
        return 0, str(entry["role"])
    return 1, str(entry.get("member", ""))


def _overwrite_problems(entries: Sequence[Any], path: JsonPath) -> Iterator[Problem]:
    seen: dict[tuple[int, str], int] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            continue
        here = (*path, i)
        keys = [k for k in ("role", "member") if k in entry]
        if not keys:
            yield Problem("E205", f"{dotted_path(here)} names no target; add role: NAME or member: ID", here)
            continue
        if len(keys) == 2:
            message = f"{dotted_path(here)} has both 'role' and 'member'; an overwrite targets exactly one"
            yield Problem("E208", message, (*here, "member"))
        for field in ("allow", "deny"):
            yield from permission_problems(entry.get(field), (*here, field))
        allowed = set(entry.get("allow") or [])
        for j, name in enumerate(entry.get("deny") or []):
            if name in allowed:
                message = (f"'{name}' is both allowed and denied in {dotted_path(here)}; "
                           "keep it in only one of allow and deny")
                yield Problem("E206", message, (*here, "deny", j))
        key = _target(entry)
        if key in seen:
            who = "role" if key[0] == 0 else "member"
            message = (f"{who} '{key[1]}' already has an overwrite at {dotted_path((*path, seen[key]))}; "
                       "merge the two entries into one")
            yield Problem("E410", message, (*here, who))
        else:
            seen[key] = i


def normalize_overwrites(entries: Iterable[Any]) -> list[dict[str, Any]]:
    """Each overwrite as {role|member, allow, deny} with sorted, unique names; roles first, then by target."""
    out: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        who = "role" if "role" in entry else "member"
        item: dict[str, Any] = {who: entry.get(who, "")}
        item["allow"] = sorted(set(entry.get("allow") or []))
        item["deny"] = sorted(set(entry.get("deny") or []))
        out.append(item)
    return sorted(out, key=_target)


class ChannelRules:
    """Rules of the Channel kind (a document without spec is a text channel)."""


    def check(self, draft: Draft, index: Index) -> Iterator[Problem]:
        spec = draft.spec
        ctype = channel_type(draft)
        if "category" in spec:
            yield from self._category(draft, index, ctype)
        allowed = TYPE_FIELDS.get(ctype, TYPE_FIELDS["text"])
        for field in spec:
            if field in TYPED_FIELDS and field not in allowed and field != "category":
                takes = ", ".join(_WHERE[field])
                message = (f"{a_type(ctype)} has no {field} (Discord keeps it only for {takes} channels); "
                           f"remove spec.{field} or change the type")
                yield Problem("E307", message, ("spec", field))
        limit = spec.get("user_limit")
        if ctype in _USER_LIMIT and isinstance(limit, int) and not 0 <= limit <= _USER_LIMIT[ctype]:
            message = f"user_limit is {limit}; {a_type(ctype)} allows 0..{_USER_LIMIT[ctype]} (0: no limit)"
            yield Problem("E408", message, ("spec", "user_limit"))
        entries = spec.get("permissions")
        if isinstance(entries, list):
            yield from _overwrite_problems(entries, ("spec", "permissions"))

    def _category(self, draft: Draft, index: Index, ctype: str) -> Iterator[Problem]:
        path: JsonPath = ("spec", "category")
        name = draft.spec["category"]
        if ctype == "category":
            yield Problem("E307", "a category cannot be inside another category; remove spec.category", path)
            return
        parent, problem = reference_problem(index, draft, "Channel", name, path)
        if problem is not None:
            yield problem
        elif parent is not None and channel_type(parent) != "category":
            message = (f"category '{name}' is {a_type(channel_type(parent))}; "
                       "point it at a Channel of type category")
            yield Problem("E305", message, path)

    def normalize(self, draft: Draft) -> dict[str, Any]:
        spec = draft.spec
        ctype = channel_type(draft)
        out: dict[str, Any] = {"type": ctype, "display_name": spec.get("display_name", draft.name)}
        for key in ("category", "topic", "position"):
            if key in spec:
                out[key] = spec[key]
        out["nsfw"] = bool(spec.get("nsfw", False))
        slowmode = spec.get("slowmode", 0)
        seconds = parse_duration(slowmode) if isinstance(slowmode, str | int) else None
        out["slowmode"] = seconds if seconds is not None else slowmode
        if ctype in VOICE_TYPES:
            for key in ("bitrate", "user_limit"):
                if key in spec:
                    out[key] = spec[key]
        out["protect"] = bool(spec.get("protect", False))
        out["permissions"] = normalize_overwrites(spec.get("permissions") or [])  # unset: no overwrites
        return out


KIND = Kind("Channel", ChannelRules(), "channels")
