"""Per-object status for ``hlb status``: files vs database, and database vs Discord (the bindings).

Pure functions over the compiled files (optional), the applied model and the bindings,
plus the text and JSON renderings of ``hlb status`` (docs/reconcile.md describes the JSON)
and the text of ``hlb reconcile``. With ``--live``, a dry-run pass adds what Discord shows
now: each differing object's fields, desired vs seen (``hlb.runtime.drift``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hlb.compiler.model import Model, ObjectKey
from hlb.compiler.wording import plural
from hlb.reconciler.plan import ReconcilePlan
from hlb.reconciler.state import DRIFTED, ERROR, IN_SYNC, PENDING, Binding, ObservedGuild
from hlb.runtime.drift import FieldDrift, plan_fields


class ActionOutcome(Protocol):
    """How one executed action went, as the bot's executor reports it."""

    @property
    def action(self) -> object: ...
    @property
    def error(self) -> str | None: ...


class ExecutionReport(Protocol):
    """What executing a plan did: one outcome per action sent."""

    @property
    def outcomes(self) -> Sequence[ActionOutcome]: ...


class GuildReport(Protocol):
    """What a reconcile pass did in one guild (the bot's ``GuildReport``), as status reads it."""

    @property
    def guild(self) -> str: ...
    @property
    def plan(self) -> ReconcilePlan | None: ...
    @property
    def execution(self) -> ExecutionReport | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def problems(self) -> tuple[str, ...]: ...
    @property
    def observed(self) -> ObservedGuild | None: ...
    @property
    def writes(self) -> int: ...
    @property
    def held(self) -> int: ...
    @property
    def failed(self) -> int: ...


# files vs database
APPLIED = "applied"
NOT_APPLIED = "not applied"
CHANGED = "changed"
REMOVED = "removed from files"
NOT_IN_DISCORD = "n/a"  # workflows run in the bot; Discord holds nothing for them
PENDING_REMOVAL = "pending removal"
DIFFERS = frozenset({DRIFTED, PENDING, PENDING_REMOVAL, CHANGED, NOT_APPLIED, REMOVED})


@dataclass(frozen=True)
class ObjectStatus:
    """One object's layers: ``files`` (None when no files were given), ``database``, ``discord``.

    ``fields`` (from ``--live``) are the fields Discord differs on, desired vs seen."""

    key: ObjectKey
    files: str | None
    discord: str
    reconciled_at: datetime | None = None
    error: str | None = None
    database: str = APPLIED
    fields: tuple[FieldDrift, ...] = ()

    @property
    def differs(self) -> bool:
        return bool(self.fields) or self.discord in DIFFERS or self.files in DIFFERS


@dataclass(frozen=True)
class LiveView:
    """What a dry-run pass saw: each object's state, the fields that differ, why one failed."""

    states: Mapping[ObjectKey, str] = field(default_factory=dict)
    fields: Mapping[ObjectKey, tuple[FieldDrift, ...]] = field(default_factory=dict)
    errors: Mapping[ObjectKey, str] = field(default_factory=dict)
    read: frozenset[str] = frozenset()  # the guilds Discord was read for


def live_view(reports: Sequence[GuildReport]) -> LiveView:
    """From a dry-run pass: objects Discord differs on right now (drifted) or that await a write."""
    states: dict[ObjectKey, str] = {}
    fields: dict[ObjectKey, tuple[FieldDrift, ...]] = {}
    errors: dict[ObjectKey, str] = {}
    read: set[str] = set()
    for report in reports:
        if report.plan is None or report.observed is None:
            guild = ObjectKey(report.guild, "Guild", report.guild)
            states[guild], errors[guild] = ERROR, f"Discord not read: {report.error}"
            continue
        plan = report.plan
        read.add(report.guild)
        for key, rows in plan_fields(plan, report.observed).items():
            fields[key] = rows
            states[key] = DRIFTED if key in plan.drifted else PENDING
        for key, reason in plan.blocked.items():
            states[key], errors[key] = ERROR, reason
    return LiveView(states, fields, errors, frozenset(read))


def object_status(
    applied: Model,
    bindings: Mapping[ObjectKey, Binding],
    files: Model | None = None,
    live: LiveView | None = None,
) -> list[ObjectStatus]:
    """Every object in the files, the database or the bindings, with its status on each layer.

    ``live`` (from ``live_view``) overrides what the bindings say with what Discord shows now."""
    stored = applied.by_key()
    declared = files.by_key() if files is not None else {}
    keys = set(stored) | set(declared) | {k for k in bindings if k.kind != "Guild" or k in stored}
    live = live or LiveView()
    rows = []
    for key in sorted(keys, key=ObjectKey.sort_key):
        file_layer = None
        if files is not None:
            file_layer = _file_layer(declared.get(key), stored.get(key))
        binding = bindings.get(key)
        obj = stored.get(key)
        stored_layer = _discord_layer(obj.hash if obj else None, binding)
        discord = (
            NOT_IN_DISCORD
            if key.kind == "Workflow"
            else stored_layer
            if stored_layer == ERROR  # a live view does not hide why the last attempt failed
            else live.states.get(key) or stored_layer
        )
        if discord == PENDING and key.guild in live.read and key not in live.states and obj is not None:
            discord = IN_SYNC  # Discord was read and already matches: the pass would write nothing
        rows.append(
            ObjectStatus(
                key,
                file_layer,
                discord,
                binding.reconciled_at if binding else None,
                (failure_text(binding) if binding else None) or live.errors.get(key),
                APPLIED if obj is not None else NOT_APPLIED,
                live.fields.get(key, ()),
            )
        )
    return rows


def failure_text(binding: Binding) -> str | None:
    """A failed binding's error, its class and when it is tried again; None when it did not fail."""
    if binding.error is None:
        return None
    if binding.next_attempt_at is None:
        return binding.error
    when = binding.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S %Z").rstrip()
    if binding.status == DRIFTED:
        return (
            f"{binding.error} [drifted: not written again before {when} unless the spec changes "
            "or `hlb reconcile --retry-failed`]"
        )
    if binding.error_kind == "permanent":
        return (
            f"{binding.error} [permanent: not retried before {when} unless the spec changes "
            "or `hlb reconcile --retry-failed`]"
        )
    return f"{binding.error} [{binding.error_kind or 'temporary'}: retried after {when}]"


def _file_layer(declared: object, stored: object) -> str:
    if declared is None:
        return REMOVED
    if stored is None:
        return NOT_APPLIED
    return APPLIED if getattr(declared, "hash", None) == getattr(stored, "hash", None) else CHANGED


def _discord_layer(spec_hash: str | None, binding: Binding | None) -> str:
    if binding is None:
        return PENDING if spec_hash else "unmanaged"
    if binding.status in (ERROR, DRIFTED):
        return binding.status
    if spec_hash is None:
        return PENDING_REMOVAL
    return IN_SYNC if binding.spec_hash == spec_hash and binding.status == IN_SYNC else PENDING


def render_status(rows: list[ObjectStatus]) -> str:
    if not rows:
        return "Nothing applied yet: run `hlb apply PATH...` first."
    with_files = any(r.files is not None for r in rows)
    header = ["OBJECT", *(["FILES"] if with_files else []), "DISCORD", "LAST RECONCILE"]
    table = [header]
    for row in rows:
        when = row.reconciled_at.strftime("%Y-%m-%d %H:%M:%S") if row.reconciled_at else "never"
        table.append([str(row.key), *([row.files or ""] if with_files else []), row.discord, when])
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in table]
    lines += [f"  {row.key}: {row.error}" for row in rows if row.error]
    differing = [row for row in rows if row.fields]
    if differing:
        lines.append("Differences in Discord (desired is what hlb applied, seen is Discord now):")
        for row in differing:
            lines.append(f"  {row.key} ({row.discord}):")
            lines += [f"    {drift.text()}" for drift in row.fields]
    counts = summary(rows)["discord"]
    lines.append("Summary: " + ", ".join(f"{n} {state}" for state, n in counts.items()) + ".")
    return "\n".join(lines)


def summary(rows: list[ObjectStatus]) -> dict[str, Any]:
    """Counts over the rows: objects per Discord state and per files state, differing, failed."""

    def count(values: list[str]) -> dict[str, int]:
        return {v: values.count(v) for v in sorted(set(values))}

    return {
        "objects": len(rows),
        "discord": count([r.discord for r in rows]),
        "files": count([r.files for r in rows if r.files]) if any(r.files for r in rows) else None,
        "differ": sum(1 for r in rows if r.differs),
        "errors": sum(1 for r in rows if r.error or r.discord == ERROR),
    }


def status_json(rows: list[ObjectStatus]) -> dict[str, Any]:
    """``hlb status --format json``: one entry per object and the summary (docs/reconcile.md)."""
    objects = [
        {
            "guild": row.key.guild,
            "kind": row.key.kind,
            "name": row.key.name,
            "files": row.files,
            "database": row.database,
            "discord": row.discord,
            "reconciled_at": row.reconciled_at.isoformat() if row.reconciled_at else None,
            "fields": [{"field": f.field, "desired": f.desired, "seen": f.seen} for f in row.fields],
            "error": row.error,
        }
        for row in rows
    ]
    return {"objects": objects, "summary": summary(rows)}


def exit_code(rows: list[ObjectStatus]) -> int:
    """``--detailed-exitcode``: 1 when an object failed or Discord was not read, 2 when any differs."""
    if any(r.error or r.discord == ERROR for r in rows):
        return 1
    return 2 if any(r.differs for r in rows) else 0


def render_reports(reports: Sequence[GuildReport], *, dry_run: bool) -> str:
    lines: list[str] = []
    for report in reports:
        lines.append(f"guild {report.guild}:")
        if report.error:
            lines.append(f"  error: {report.error}")
            continue
        plan = report.plan
        assert plan is not None
        failed = {id(o.action): o.error for o in report.execution.outcomes} if report.execution else {}
        for action in plan.actions:
            error = failed.get(id(action))
            lines.append(f"  {action.describe()}" + (f"\n      failed: {error}" if error else ""))
        for key, reason in plan.blocked.items():
            lines.append(f"  ! {key} not reconciled: {reason}")
        for key in plan.waiting:
            lines.append(f"  … {key} held after an error: see `hlb status` (--retry-failed tries it now)")
        for key in plan.damped:
            lines.append(f"  ≠ {key} drifted: values that do not stick, see `hlb status`")
        for problem in report.problems:
            lines.append(f"  ⚠ {problem}")
        writes = report.writes
        verb = "would make" if dry_run else "made"
        summary = f"  {verb} {plural(writes, 'Discord write')}"
        if plan.drifted:
            summary += f"; {plural(len(plan.drifted), 'object')} drifted"
        if report.failed:
            summary += f"; {report.failed} failed"
        if report.held:
            summary += f"; {report.held} held after an error"
        lines.append(summary + ("" if writes or report.failed or report.held else " (in sync)") + ".")
    if not reports:
        lines.append("No guild to reconcile: apply specs with a Guild first.")
    return "\n".join(lines)
