"""Plans for review: a pull-request comment in GitHub-flavoured Markdown, permission changes in words.

``render_review(plan)`` is what ``hlb plan --format markdown`` prints: a
title line with the counts, a "Destructive changes" block (deletes and every
permission an overwrite takes away), one section per kind with a collapsible
``<details>`` per object, and a footer with the base revision and the hlb
version. docs/plan-format.md describes it.

``permission_changes`` compares the ``permissions`` lists of a Channel by
target (a role or a member), not by list index, and says what changed in
words: "role admins gains view_channel in #🔧-ops"; for a Role, its
server-wide permissions: "role moderators gains manage_messages".

Everything here is a pure function of the plan: no database, no clock, no
environment, so the same plan always renders to the same text. Values from
the specs are escaped for the context they land in (a code span, HTML, a
fenced block), so a topic holding ``</details>``, ``|`` or backticks cannot
break the comment, and ``@everyone`` never mentions anyone on GitHub.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hlb import __version__
from hlb.compiler.model import KIND_ORDER
from hlb.compiler.permissions import PERMISSIONS
from hlb.compiler.plan import CreateOp, DeleteOp, FieldChange, Op, Plan, UpdateOp, action_of
from hlb.compiler.wording import plural

# GitHub refuses comments over 65,536 characters; leave room for what a CI step adds.
MAX_COMMENT = 60_000
MAX_VALUE = 120  # characters of one value shown in a diff line
MAX_DESTRUCTIVE = 100  # items listed in the destructive block
MARKER = "<!-- hlb plan -->"  # lets CI scripts find (and update) an earlier comment

GAINS = "gains"
LOSES = "loses"
DENIED = "is denied"
UNDENIED = "is no longer denied"
CAN = "can"
CANNOT = "cannot"
_VERB_ORDER = (GAINS, LOSES, DENIED, UNDENIED, CAN, CANNOT)
_TAKES_AWAY = frozenset({LOSES, DENIED})

_ICON = {"create": "🟢", "update": "🟡", "delete": "🔴"}
_DIFF_SIGN = {"create": "+", "delete": "-"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


# --- permission overwrites in words -----------------------------------------------------------------


@dataclass(frozen=True)
class PermissionChange:
    """One sentence about one target's permissions in one channel."""

    channel: str  # "#🚨-alerts", "category Infra"
    target: str  # "@everyone", "role admins", "member 123456789012345678"
    verb: str  # gains | loses | is denied | is no longer denied | can | cannot
    permissions: tuple[str, ...]
    note: str = ""  # "overwrite removed" / "new overwrite"

    @property
    def destructive(self) -> bool:
        """Takes a permission away: an allow removed, a deny added, or the whole overwrite removed."""
        return self.verb in _TAKES_AWAY or self.note == "overwrite removed"

    def sentence(self) -> str:
        """Plain text: ``role admins loses send_messages in #🚨-alerts`` (a Role's: no channel)."""
        note = f" ({self.note})" if self.note else ""
        where = f" in {self.channel}" if self.channel else ""
        return f"{self.target} {self.verb} {', '.join(self.permissions)}{where}{note}"

    def markdown(self) -> str:
        """The sentence with names in code spans (no mentions, no markup from user values)."""
        kind, _, name = self.target.partition(" ")
        target = f"{kind} {code(name)}" if name else code(self.target)
        perms = ", ".join(code(p) for p in self.permissions)
        note = f" ({self.note})" if self.note else ""
        where = f" in {code(self.channel)}" if self.channel else ""
        return f"{target} **{self.verb}** {perms}{where}{note}"


def channel_label(spec: Mapping[str, Any], name: str) -> str:
    """How a channel is named in sentences: ``#`` and its display name (categories by name)."""
    shown = str(spec.get("display_name") or name)
    return f"category {shown}" if spec.get("type") == "category" else f"#{shown}"


def _target(entry: Mapping[str, Any]) -> tuple[str, str]:
    if entry.get("member") is not None:
        return ("member", str(entry["member"]))
    return ("role", str(entry.get("role", "")))


def _target_label(target: tuple[str, str]) -> str:
    kind, name = target
    return name if (kind, name) == ("role", "@everyone") else f"{kind} {name}"


def _by_target(entries: Any) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """Overwrites keyed by target, in list order; a target listed twice is merged."""
    out: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for entry in entries or ():
        if not isinstance(entry, Mapping):
            continue
        allow, deny = out.setdefault(_target(entry), (set(), set()))
        allow.update(str(p) for p in entry.get("allow") or ())
        deny.update(str(p) for p in entry.get("deny") or ())
    return out


def _ordered(names: Iterable[str]) -> tuple[str, ...]:
    """Permission names in Discord's bit order (unknown names last, alphabetically)."""
    return tuple(sorted(names, key=lambda n: (PERMISSIONS.get(n, 1 << 10), n)))


IN_WORDS = frozenset({"Channel", "Role"})  # kinds whose spec.permissions the plan tells in words


def permission_changes(op: Op) -> list[PermissionChange]:
    """The permission changes of one Channel or Role op, in words; [] for other kinds and for deletes."""
    if op.key.kind not in IN_WORDS or isinstance(op, DeleteOp):
        return []
    if op.key.kind == "Role":
        return role_changes(op)
    label = channel_label(op.new.spec, op.key.name)
    new = _by_target(op.new.spec.get("permissions"))
    changes: list[PermissionChange] = []
    if isinstance(op, CreateOp):
        for target, (allow, deny) in new.items():
            who = _target_label(target)
            if allow:
                changes.append(PermissionChange(label, who, CAN, _ordered(allow)))
            if deny - allow:
                changes.append(PermissionChange(label, who, CANNOT, _ordered(deny - allow)))
        return changes
    old = _by_target(op.old.spec.get("permissions"))
    for target in [*new, *(t for t in old if t not in new)]:
        before, after = _states(old.get(target)), _states(new.get(target))
        note = "new overwrite" if target not in old else "overwrite removed" if target not in new else ""
        moved: dict[str, list[str]] = {}
        for perm in set(before) | set(after):
            verb = _transition(before.get(perm), after.get(perm))
            if verb:
                moved.setdefault(verb, []).append(perm)
        who = _target_label(target)
        for verb in _VERB_ORDER:
            if verb in moved:
                changes.append(PermissionChange(label, who, verb, _ordered(moved[verb]), note))
    return changes


def role_changes(op: CreateOp | UpdateOp) -> list[PermissionChange]:
    """A Role's server-wide permissions in words: what a new role can do, what a changed one gains, loses."""
    who = _target_label(("role", op.key.name))
    new = {str(p) for p in op.new.spec.get("permissions") or ()}
    if isinstance(op, CreateOp):
        return [PermissionChange("", who, CAN, _ordered(new))] if new else []
    old = {str(p) for p in op.old.spec.get("permissions") or ()}
    moved = [(GAINS, new - old), (LOSES, old - new)]
    return [PermissionChange("", who, verb, _ordered(perms)) for verb, perms in moved if perms]


def _states(overwrite: tuple[set[str], set[str]] | None) -> dict[str, str]:
    """permission -> "allow" | "deny" (Discord lets an allow win over a deny of the same overwrite)."""
    if overwrite is None:
        return {}
    allow, deny = overwrite
    return {**{p: "deny" for p in deny}, **{p: "allow" for p in allow}}


def _transition(before: str | None, after: str | None) -> str | None:
    if before == after:
        return None
    if after == "allow":
        return GAINS
    if after == "deny":
        return DENIED
    return LOSES if before == "allow" else UNDENIED


# --- escaping -------------------------------------------------------------------------------------


def one_line(text: str) -> str:
    """Control characters and line breaks become one space: nothing can start a new block."""
    return _CONTROL.sub(" ", text)


def code(text: str) -> str:
    """A Markdown code span holding ``text`` literally, whatever backticks it contains."""
    text = one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def html_code(text: str) -> str:
    """``<code>`` with HTML-escaped text, for places where Markdown is not parsed (``<summary>``)."""
    return f"<code>{html.escape(one_line(text), quote=True)}</code>"


def clip(value: Any, limit: int = MAX_VALUE) -> str:
    """A value as one line of JSON, cut after ``limit`` characters with how much was left out."""
    text = one_line(json.dumps(value, ensure_ascii=False, default=str, sort_keys=False))
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (+{len(text) - limit} chars)"


def fenced(lines: Sequence[str], info: str = "diff") -> list[str]:
    """A fenced code block that no line inside can close early."""
    longest = max((len(run) for line in lines for run in re.findall(r"`{3,}|~{3,}", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", *lines, fence]


# --- the comment ----------------------------------------------------------------------------------


def counts_line(plan: Plan) -> str:
    s = plan.summary()
    return f"{s['create']} to create, {s['update']} to update, {s['delete']} to delete"


def destructive_items(plan: Plan) -> list[str]:
    """Markdown list items for everything the plan takes away: deletes, then permission losses."""
    many = _many_guilds(plan)
    deletes = [op for op in plan.ops if isinstance(op, DeleteOp)]
    items = [f"**delete** {op.key.kind} {code(op.key.name)}{_aside(op, many)}" for op in deletes]
    for op in plan.ops:
        items.extend(c.markdown() for c in permission_changes(op) if c.destructive)
    return items


def _many_guilds(plan: Plan) -> bool:
    return len({op.key.guild for op in plan.ops}) > 1


def _aside(op: Op, many_guilds: bool) -> str:
    """What else names an object: a channel's label, and its guild when the plan spans several."""
    obj = op.old if isinstance(op, DeleteOp) else op.new
    parts = []
    if op.key.kind == "Channel":
        parts.append(code(channel_label(obj.spec, op.key.name)))
    if many_guilds and op.key.kind != "Guild":
        parts.append(f"guild {code(op.key.guild)}")
    return f" ({', '.join(parts)})" if parts else ""


def _summary(op: Op, destructive: bool, many_guilds: bool) -> str:
    action = action_of(op)
    head = f"{_ICON[action]} {action} <b>{html.escape(op.key.kind)}</b> {html_code(op.key.name)}"
    obj = op.old if isinstance(op, DeleteOp) else op.new
    if op.key.kind == "Channel":
        head += " " + html_code(channel_label(obj.spec, op.key.name))
    if many_guilds and op.key.kind != "Guild":
        head += " in guild " + html_code(op.key.guild)
    if isinstance(op, UpdateOp):
        n = len(op.changes)
        head += f" · {plural(n, 'field')}"
    if destructive:
        head += " · ⚠️ destructive"
    return head


def _diff_lines(op: Op, skip_permissions: bool) -> list[str]:
    def keep(path: Sequence[str | int]) -> bool:
        return not (skip_permissions and tuple(path[:2]) == ("spec", "permissions"))

    if isinstance(op, UpdateOp):
        lines: list[str] = []
        for c in op.changes:
            if keep(c.path):
                lines.extend(_change_lines(c))
        return lines
    obj = op.new if isinstance(op, CreateOp) else op.old
    sign = _DIFF_SIGN[action_of(op)]
    lines = [f"{sign} spec.{k}: {clip(v)}" for k, v in obj.spec.items() if keep(("spec", k))]
    lines += [f"{sign} labels.{k}: {clip(v)}" for k, v in obj.labels.items()]
    return [one_line(line) for line in lines]


def _change_lines(c: FieldChange) -> list[str]:
    path = one_line(c.dotted)
    if c.added:
        return [f"+ {path}: {clip(c.new)}"]
    if c.removed:
        return [f"- {path}: {clip(c.old)}"]
    return [f"- {path}: {clip(c.old)}", f"+ {path}: {clip(c.new)}"]


def _object_block(op: Op, many_guilds: bool) -> list[str]:
    perms = permission_changes(op)
    destructive = isinstance(op, DeleteOp) or any(c.destructive for c in perms)
    lines = [f"<details><summary>{_summary(op, destructive, many_guilds)}</summary>", ""]
    if isinstance(op, CreateOp | UpdateOp) and op.new.origin is not None:
        lines += [f"Declared in {code(op.new.origin.file)} line {op.new.origin.line}.", ""]
    if perms:
        lines += [f"- {c.markdown()}" for c in perms] + [""]
    elif isinstance(op, UpdateOp) and any(c.path[:2] == ("spec", "permissions") for c in op.changes):
        lines += ["- Permission overwrites reordered; no permission changes.", ""]
    body = _diff_lines(op, skip_permissions=op.key.kind in IN_WORDS)
    if body:
        lines += [*fenced(body), ""]
    lines += ["</details>", ""]
    return lines


def _footer(plan: Plan) -> str:
    base = "an empty database" if plan.base_revision is None else f"revision {plan.base_revision}"
    return f"<sub>Planned against {base} · hlb {__version__}</sub>"


def render_review(plan: Plan, *, max_chars: int = MAX_COMMENT) -> str:
    """The plan as a Markdown pull-request comment (deterministic; at most ``max_chars`` characters)."""
    footer = _footer(plan)
    if not plan.has_changes:
        return "\n".join([MARKER, "**hlb plan**: No changes. The database matches the specs.", "", footer])
    lines = [MARKER, f"**hlb plan**: {counts_line(plan)}", ""]
    destructive = destructive_items(plan)
    if destructive:
        lines += [f"> **⚠️ Destructive changes ({len(destructive)})**", ">"]
        lines += [f"> - {item}" for item in destructive[:MAX_DESTRUCTIVE]]
        if len(destructive) > MAX_DESTRUCTIVE:
            lines.append(f"> - … and {len(destructive) - MAX_DESTRUCTIVE} more (see the sections below)")
        lines.append("")
    size = sum(len(line) + 1 for line in lines) + len(footer) + 200  # 200: room for the cut-off note
    shown, many = 0, _many_guilds(plan)
    for kind in KIND_ORDER:
        ops = [op for op in plan.ops if op.key.kind == kind]
        if not ops or size > max_chars:
            continue
        counts = {a: sum(1 for op in ops if action_of(op) == a) for a in ("create", "update", "delete")}
        title = ", ".join(f"{n} to {a}" for a, n in counts.items() if n)
        section = [f"### {kind} ({title})", ""]
        for op in ops:
            block = [*section, *_object_block(op, many)]
            cost = sum(len(line) + 1 for line in block)
            if size + cost > max_chars:
                size = max_chars + 1  # full: show nothing after the first object that does not fit
                break
            lines += block
            size += cost
            section = []
            shown += 1
    if shown < len(plan.ops):
        lines += [
            f"_… {plural(len(plan.ops) - shown, 'more change')} not shown: the comment would exceed "
            "GitHub's size limit. Run `hlb plan` for the full plan._",
            "",
        ]
    lines.append(footer)
    return "\n".join(lines)
