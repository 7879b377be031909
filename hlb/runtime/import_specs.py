"""Import: an observed guild (``ObservedGuild``) as Guild, Channel and Role spec documents, and as files.

``guild_to_documents`` makes no I/O and needs no Discord client: it is what ``hlb.bot.importer``
runs on the guild it reads over REST, and what the tests run on hand-made snapshots. Every field
is written the way ``hlb.reconciler.channels`` compares it, so applying the output and reconciling
with ``adopt: by-name`` binds every channel without a Discord write, except where a warning says
Discord holds something the spec format cannot express.

``write_specs`` writes the documents in the style of ``hlb export``: it refuses to overwrite
earlier files (unless forced), heads each file with where it came from, escapes ``${`` so
nothing is interpolated, and comments the roles written as ids.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from hlb.compiler.enums import CHANNEL_TYPE_NAMES
from hlb.compiler.model import API_VERSION
from hlb.compiler.permissions import PERMISSIONS, from_bits, to_bits
from hlb.reconciler.channels import (  # what the reconciler compares
    NSFW_TYPES,
    SLOWMODE_TYPES,
    TOPIC_TYPES,
    VOICE_TYPES,
)
from hlb.reconciler.state import (
    ObservedChannel,
    ObservedGuild,
    ObservedOverwrite,
    ObservedRole,
)
from hlb.runtime.import_guild import role_documents

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_NAME = 64
MAX_TOPIC = 1024  # the spec's limit (Discord allows 4096 on forums)
KNOWN_BITS = to_bits(PERMISSIONS)
USER_LIMIT = {2: 99, 13: 10_000}
BITRATE = (8000, 384_000)
UNSUPPORTED = {
    1: "DM",
    3: "group DM",
    6: "store",
    10: "announcement thread",
    11: "public thread",
    12: "private thread",
    14: "directory",
    16: "media",
}


class ImportFailed(Exception):
    """The import cannot proceed: a bad name, files that would be overwritten."""


@dataclass(frozen=True)
class ImportResult:
    """The spec documents of one guild (the Guild first, then its Channels) and what to tell the user."""

    guild_id: int
    guild_name: str  # what Discord calls the guild
    documents: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    role_notes: dict[str, str] = field(default_factory=dict)  # role id -> who it is, when written as an id
    roles: list[dict[str, Any]] = field(default_factory=list)  # Role documents, top first
    emojis: list[dict[str, Any]] = field(default_factory=list)  # Emoji documents
    images: dict[str, bytes] = field(default_factory=dict)  # their image files: path -> bytes

    @property
    def guild(self) -> dict[str, Any]:
        return self.documents[0]

    @property
    def channels(self) -> list[dict[str, Any]]:
        return self.documents[1:]


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise ImportFailed(
            f"--name {name!r} is not a valid object name: use lowercase letters, digits, '-' and '_', "
            "at most 64 characters, starting with a letter or digit"
        )


def slug(text: str, fallback: str) -> str:
    """``text`` as an object name: ASCII, lowercase, runs of other characters as '-'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    value = re.sub(r"[^a-z0-9_-]+", "-", ascii_text)
    value = re.sub(r"-{2,}", "-", value).lstrip("-_")[:MAX_NAME].rstrip("-_")
    return value if NAME_PATTERN.match(value) else fallback


def unique(base: str, used: set[str]) -> str:
    name, n = base, 1
    while name in used:
        n += 1
        suffix = f"-{n}"
        name = base[: MAX_NAME - len(suffix)].rstrip("-_") + suffix
    used.add(name)
    return name


def _order(channel: ObservedChannel) -> tuple[int, int, int]:
    return (1 if channel.type in VOICE_TYPES else 0, channel.position, channel.id)


def _arranged(channels: Iterable[ObservedChannel]) -> list[ObservedChannel]:
    """Channels outside categories, then each category followed by its channels, by position."""
    categories = sorted((c for c in channels if c.type == 4), key=lambda c: (c.position, c.id))
    ids = {c.id for c in categories}
    others = [c for c in channels if c.type != 4]
    result = sorted((c for c in others if c.parent_id not in ids), key=_order)
    for category in categories:
        result.append(category)
        result.extend(sorted((c for c in others if c.parent_id == category.id), key=_order))
    return result


def guild_to_documents(
    observed: ObservedGuild, *, name: str | None = None, images: Mapping[int, bytes] | None = None
) -> ImportResult:
    """The spec documents of ``observed``: a Guild (``adopt: by-name``, ``prune: false``, its settings),
    its Channels and its Emojis (``images``: each emoji's downloaded image, by emoji id).

    Pure: no I/O. Channel types hlb does not manage are skipped with a warning.
    """
    from hlb.runtime.import_guild import emoji_documents, imported_settings

    if name is not None:
        check_name(name)
    guild_name = name or slug(observed.name, "guild")
    warnings: list[str] = []
    supported = []
    for channel in observed.channels:
        if channel.type in CHANNEL_TYPE_NAMES:
            supported.append(channel)
        else:
            kind = UNSUPPORTED.get(channel.type, f"type {channel.type}")
            warnings.append(f"skipped {_label(channel)}: hlb does not manage {kind} channels")
    arranged = _arranged(supported)
    used: set[str] = set()
    names = {c.id: unique(slug(c.name, CHANNEL_TYPE_NAMES[c.type]), used) for c in arranged}
    warnings.extend(_ambiguities(arranged))
    roles, role_notes = _role_names(observed.roles)
    guild_doc: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Guild",
        "name": guild_name,
        "spec": {
            "id": str(observed.id),
            "prune": False,
            "adopt": "by-name",
            **imported_settings(observed, names),
        },
    }
    documents = [guild_doc]
    for channel in arranged:
        spec = _channel_spec(channel, names, observed, roles, warnings)
        documents.append(
            {
                "apiVersion": API_VERSION,
                "kind": "Channel",
                "name": names[channel.id],
                "guild": guild_name,
                "spec": spec,
            }
        )
    roles_docs = role_documents(observed, guild_name, warnings)
    emojis, files = emoji_documents(observed, guild_name, images or {}, roles, warnings)
    return ImportResult(
        observed.id, observed.name, documents, warnings, role_notes, roles_docs, emojis, files
    )


def _label(channel: ObservedChannel) -> str:
    return f"channel {channel.name!r} ({channel.id})"


def _ambiguities(channels: list[ObservedChannel]) -> Iterable[str]:
    """adopt: by-name pairs by (name, type, parent): twins may be paired the other way round."""
    counts = Counter((c.name, c.type, c.parent_id) for c in channels)
    for (name, kind, parent), n in sorted(counts.items(), key=lambda item: str(item[0])):
        if n > 1:
            what = "categories" if kind == 4 else f"{CHANNEL_TYPE_NAMES[kind]} channels"
            where = " in the same category" if parent is not None else ""
            yield (
                f"{n} {what} are named {name!r}{where}: adopt: by-name may pair their documents the "
                "other way round and the first reconcile then swaps their settings"
                + (" and re-creates the channels inside them" if kind == 4 else "")
                + "; rename them apart in Discord before importing"
            )


def _role_names(roles: Iterable[ObservedRole]) -> tuple[dict[int, str], dict[str, str]]:
    """Role id -> the name a spec may use for it (unique, not digits-only); and, for the roles
    that must be written as ids, a note naming them (a YAML comment next to the id)."""
    roles = list(roles)
    counts = Counter(r.name for r in roles)
    names: dict[int, str] = {}
    notes: dict[str, str] = {}
    for r in roles:
        shown = " ".join(r.name.split())  # a comment is one line
        if r.name == "@everyone":
            continue
        if counts[r.name] > 1:
            notes[str(r.id)] = f"{shown} ({counts[r.name]} roles have this name)"
        elif r.name.isdigit() or not r.name:
            notes[str(r.id)] = f"the role named {shown!r}"
        else:
            names[r.id] = r.name
    return names, notes


def _channel_spec(
    channel: ObservedChannel,
    names: Mapping[int, str],
    guild: ObservedGuild,
    roles: Mapping[int, str],
    warnings: list[str],
) -> dict[str, Any]:
    kind = channel.type
    label = _label(channel)
    spec: dict[str, Any] = {"type": CHANNEL_TYPE_NAMES[kind]}
    if channel.name != names[channel.id]:
        spec["display_name"] = channel.name
    if kind != 4 and channel.parent_id is not None:
        if channel.parent_id in names:
            spec["category"] = names[channel.parent_id]
        else:
            warnings.append(
                f"{label}: its parent {channel.parent_id} is not a category of this guild; "
                "imported without a category, so the first reconcile moves it out"
            )
    spec["position"] = max(channel.position, 0)
    if kind in TOPIC_TYPES and channel.topic:
        topic = channel.topic
        if len(topic) > MAX_TOPIC:
            warnings.append(
                f"{label}: topic cut to {MAX_TOPIC} characters (the spec's limit); the first "
                "reconcile shortens it in Discord"
            )
            topic = topic[:MAX_TOPIC]
        spec["topic"] = topic
    if kind in NSFW_TYPES and channel.nsfw:
        spec["nsfw"] = True
    if kind in SLOWMODE_TYPES and channel.slowmode:  # not an announcement channel or a category
        spec["slowmode"] = min(max(channel.slowmode, 0), 21600)
    if kind in VOICE_TYPES:
        if channel.bitrate is not None:
            bitrate = min(max(int(channel.bitrate), BITRATE[0]), BITRATE[1])
            if bitrate != channel.bitrate:
                warnings.append(f"{label}: bitrate {channel.bitrate} is outside the spec's range")
            spec["bitrate"] = bitrate
        if channel.user_limit is not None:
            spec["user_limit"] = min(max(int(channel.user_limit), 0), USER_LIMIT[kind])
    permissions = [_overwrite(o, channel, guild, roles, warnings) for o in channel.overwrites]
    if permissions:
        spec["permissions"] = permissions
    return spec


def _overwrite(
    overwrite: ObservedOverwrite,
    channel: ObservedChannel,
    guild: ObservedGuild,
    roles: Mapping[int, str],
    warnings: list[str],
) -> dict[str, Any]:
    label = _label(channel)
    entry: dict[str, Any]
    if overwrite.type == 1:
        entry = {"member": str(overwrite.target)}
        who = f"member {overwrite.target}"
    elif overwrite.target == guild.id:
        entry, who = {"role": "@everyone"}, "@everyone"
    else:
        role = roles.get(overwrite.target)
        entry = {"role": role if role is not None else str(overwrite.target)}
        who = f"role {role or overwrite.target}"
        if role is None and not any(r.id == overwrite.target for r in guild.roles):
            warnings.append(
                f"{label}: the overwrite for role {overwrite.target} names no role of the guild; kept by id"
            )
    unknown = (overwrite.allow | overwrite.deny) & ~KNOWN_BITS
    if unknown:
        warnings.append(
            f"{label}: the overwrite for {who} has permission bits hlb does not know ({unknown:#x}); "
            "left out, so the first reconcile clears them"
        )
    allow, deny = from_bits(overwrite.allow), from_bits(overwrite.deny & ~overwrite.allow)
    if overwrite.deny & overwrite.allow & KNOWN_BITS:
        warnings.append(
            f"{label}: the overwrite for {who} allows and denies the same permissions; kept as allowed, "
            "so the first reconcile rewrites it"
        )
    if allow:
        entry["allow"] = allow
    if deny:
        entry["deny"] = deny
    return entry


# --- the documents as files ------------------------------------------------------------------------

GUILD_FILE = "guild.yaml"
CHANNELS_FILE = "channels.yaml"
ROLES_FILE = "roles.yaml"
EMOJIS_FILE = "emojis.yaml"
PRUNE_NOTE = "imported: deleting a document releases its channel; see docs/import.md"


def output_files(out_dir: Path) -> list[Path]:
    return [out_dir / GUILD_FILE, out_dir / CHANNELS_FILE, out_dir / ROLES_FILE, out_dir / EMOJIS_FILE]


def refuse_overwrite(out_dir: Path, force: bool) -> None:
    """Raise ``ImportFailed`` when ``out_dir`` already holds the files an import writes (unless ``force``)."""
    taken = [p for p in output_files(out_dir) if p.exists()]
    if taken and not force:
        names = " and ".join(str(p) for p in taken)
        verb = "exists" if len(taken) == 1 else "exist"
        raise ImportFailed(f"{names} already {verb}; pass --force to overwrite")


def write_specs(
    result: ImportResult, out_dir: Path, *, force: bool = False, now: datetime | None = None
) -> list[Path]:
    """Write ``guild.yaml``, ``channels.yaml``, and (when the guild has them) ``roles.yaml``,
    ``emojis.yaml`` and the emoji images into ``out_dir``; refuse to overwrite unless ``force``."""
    refuse_overwrite(out_dir, force)
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    guild_name = " ".join(result.guild_name.split())
    header = (
        f"# Generated by `hlb import-discord` on {when} from guild {result.guild_id} ({guild_name}).\n"
        "# Review it, then `hlb validate`, `hlb apply` and `hlb reconcile`: with adopt: by-name the\n"
        "# existing channels are adopted as they are, not re-created.\n"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    guild_path, channels_path, roles_path, emojis_path = output_files(out_dir)
    guild_path.write_text(header + render_documents([result.guild]), encoding="utf-8")
    channels_path.write_text(header + render_documents(result.channels, result.role_notes), encoding="utf-8")
    written = [guild_path, channels_path]
    if result.roles:
        roles_path.write_text(header + render_documents(result.roles), encoding="utf-8")
        written.append(roles_path)
    if result.emojis:
        emojis_path.write_text(header + render_documents(result.emojis), encoding="utf-8")
        for relative, data in result.images.items():
            (out_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (out_dir / relative).write_bytes(data)
        written.append(emojis_path)
    return written


def render_documents(documents: list[dict[str, Any]], role_notes: Mapping[str, str] | None = None) -> str:
    """YAML for the documents, in the style of ``hlb export``; ``${`` escaped so nothing is interpolated.

    ``role_notes``: comments put next to overwrites whose role is written as an id.
    """
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 120
    yaml.allow_unicode = True
    buf = io.StringIO()
    yaml.dump_all([_styled(d, role_notes or {}) for d in documents], buf)
    return buf.getvalue()


def _styled(value: Any, notes: Mapping[str, str], key: str | None = None) -> Any:
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        out = CommentedMap((k, _styled(v, notes, k)) for k, v in value.items())
        if value.get("kind") == "Guild":
            out["spec"].yaml_add_eol_comment(PRUNE_NOTE, "prune")
        if key is None and value.get("role") in notes:
            out.yaml_add_eol_comment(notes[value["role"]], "role")
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_styled(v, notes) for v in value)
        if key in ("allow", "deny"):
            seq.fa.set_flow_style()
        return seq
    return value
