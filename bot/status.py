"""Per-object status for ``hlb status``: files vs database, and database vs Discord (the bindings).

Pure functions over the compiled files (optional), the applied model and the bindings,
plus the text rendering of both ``hlb status`` and ``hlb reconcile`` reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from hlb.compiler.model import Model, ObjectKey
from hlb.reconciler.state import DRIFTED, ERROR, IN_SYNC, PENDING, Binding

if TYPE_CHECKING:
    from hlb.bot.reconcile import GuildReport

# files vs database
APPLIED = "applied"
NOT_APPLIED = "not applied"
CHANGED = "changed"
REMOVED = "removed from files"
NOT_IN_DISCORD = "n/a"  # workflows run in the bot; Discord holds nothing for them


@dataclass(frozen=True)
class ObjectStatus:
    """One object's two layers: ``files`` (None when no files were given) and ``discord``."""

    key: ObjectKey
    files: str | None
    discord: str
    reconciled_at: datetime | None = None
    error: str | None = None


def live_states(reports: list[GuildReport]) -> dict[ObjectKey, str]:
    """From a dry-run pass: objects Discord differs on right now (drifted) or that await a write."""
    states: dict[ObjectKey, str] = {}
    for report in reports:
        if report.plan is None:
            continue
        for action in report.plan.writes:
            keys = getattr(action, "commands", ()) or (action.key,)
            for key in keys:
                states[key] = DRIFTED if key in report.plan.drifted else PENDING
        for key in report.plan.blocked:
            states[key] = ERROR
    return states


def object_status(
    applied: Model,
    bindings: Mapping[ObjectKey, Binding],
    files: Model | None = None,
    live: Mapping[ObjectKey, str] | None = None,
) -> list[ObjectStatus]:
    """Every object in the files, the database or the bindings, with its status on each layer.

    ``live`` (from ``live_states``) overrides what the bindings say with what Discord shows now."""
    stored = applied.by_key()
    declared = files.by_key() if files is not None else {}
    keys = set(stored) | set(declared) | {k for k in bindings if k.kind != "Guild" or k in stored}
    rows = []
    for key in sorted(keys, key=ObjectKey.sort_key):
        file_layer = None
        if files is not None:
            file_layer = _file_layer(declared.get(key), stored.get(key))
        binding = bindings.get(key)
        obj = stored.get(key)
        stored_layer = _discord_layer(obj.hash if obj else None, binding)
        rows.append(
            ObjectStatus(
                key,
                file_layer,
                NOT_IN_DISCORD
                if key.kind == "Workflow"
                else stored_layer
                if stored_layer == ERROR  # a live view does not hide why the last attempt failed
                else (live or {}).get(key) or stored_layer,
                binding.reconciled_at if binding else None,
                failure_text(binding) if binding else None,
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
        return "pending removal"
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
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.discord] = counts.get(row.discord, 0) + 1
    lines.append("Summary: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) + ".")
    return "\n".join(lines)


def render_reports(reports: list[GuildReport], *, dry_run: bool) -> str:
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
        summary = f"  {verb} {writes} Discord write(s)"
        if plan.drifted:
            summary += f"; {len(plan.drifted)} object(s) drifted"
        if report.failed:
            summary += f"; {report.failed} failed"
        if report.held:
            summary += f"; {report.held} held after an error"
        lines.append(summary + ("" if writes or report.failed or report.held else " (in sync)") + ".")
    if not reports:
        lines.append("No guild to reconcile: apply specs with a Guild first.")
    return "\n".join(lines)
