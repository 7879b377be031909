"""Saved plans: what `hlb plan -o` writes, and what `hlb apply plan.json` checks before trusting one.

A saved plan is the plan's JSON (docs/plan-format.md) plus the complete
desired model, the identity of the database it was computed against and a
``digest``: the sha256 of the canonical JSON of everything else in the file.
It stays indented JSON for review, with one line per desired object.

``load_saved_plan`` refuses a file that is not a plan (E602), one without a
digest (made by an older hlb, E602) and one whose digest does not match (it
was edited, E607); ``hlb.store.apply`` then refuses it for another
database (E608) or a database that moved on (E601). The digest is not a
signature, so ``check_desired`` also runs validate's model checks on the
desired objects (schema, references, uniqueness, limits) before anything is
written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hlb.compiler.diagnostics import Diagnostic
from hlb.compiler.model import Model
from hlb.compiler.plan import PLAN_FORMAT_VERSION, Plan
from hlb.plans.render import plan_to_json

_DESIRED_OPEN = '  "desired": ['


class SavedPlanError(ValueError):
    """A saved plan file that cannot be used (the CLI shows its message as E602)."""


class SavedPlanEdited(ValueError):
    """A saved plan whose content no longer matches its digest (the CLI shows it as E607)."""


@dataclass(frozen=True)
class PlannedOn:
    """Where a saved plan was computed: the database's identity and its revision then."""

    database_id: str | None
    base_revision: int | None


@dataclass(frozen=True)
class SavedPlan:
    """A saved plan whose digest matched: where it was planned and what it stores."""

    planned_on: PlannedOn
    desired: Model
    desired_line: int  # the file's line of desired[0]; 0 when the file is laid out otherwise


def digest_of(data: Mapping[str, Any]) -> str:
    """sha256 over the canonical JSON (sorted keys, no spaces) of ``data`` without its ``digest``."""
    content = {k: v for k, v in data.items() if k != "digest"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dump_saved_plan(plan: Plan) -> str:
    """The file `hlb plan -o` writes: indented JSON, each desired object on a line of its own."""
    payload = plan_to_json(plan)
    payload["database_id"] = plan.database_id
    # Round-trip once so the digest covers exactly the values a reader will load.
    payload = json.loads(json.dumps(payload, ensure_ascii=False, default=str))
    desired = json.loads(json.dumps(plan.desired.to_snapshot(), ensure_ascii=False, default=str))
    payload["desired"] = desired
    payload["digest"] = digest_of(payload)
    head = {k: v for k, v in payload.items() if k != "desired"}
    text = json.dumps(head, indent=2, ensure_ascii=False)
    items = ",\n".join("    " + json.dumps(o, ensure_ascii=False, sort_keys=True) for o in desired)
    if not desired:
        return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    return f"{text[:-2]},\n{_DESIRED_OPEN}\n{items}\n  ]\n}}\n"


def load_saved_plan(text: str) -> SavedPlan:
    """Read a saved plan and check its digest; SavedPlanError or SavedPlanEdited when unusable."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SavedPlanError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != PLAN_FORMAT_VERSION or "desired" not in data:
        raise SavedPlanError("not a saved hlb plan; create one with `hlb plan SPECS -o plan.json`")
    if "digest" not in data or "database_id" not in data:
        raise SavedPlanError(
            "this plan was saved by an older hlb and carries no digest; run `hlb plan SPECS -o FILE` again"
        )
    if data["digest"] != digest_of(data):
        raise SavedPlanEdited(
            "the saved plan was changed after `hlb plan` wrote it (its digest does not match); "
            "run `hlb plan SPECS -o FILE` again instead of editing the file"
        )
    try:
        desired = Model.from_snapshot(data["desired"])
        planned = PlannedOn(_optional(data["database_id"], str), _optional(data["base_revision"], int))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise SavedPlanError(f"damaged saved plan ({exc}); create it again with `hlb plan -o`") from None
    lines = text.split("\n")
    desired_line = lines.index(_DESIRED_OPEN) + 2 if _DESIRED_OPEN in lines else 0
    return SavedPlan(planned, desired, desired_line)


def _optional(value: Any, kind: type) -> Any:
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise TypeError(f"{value!r} is not a {kind.__name__}")
    return value


def check_desired(saved: SavedPlan, path: str) -> list[Diagnostic]:
    """Validate's checks on the desired objects; each finding points at the object's line in ``path``.

    Every object is compiled again as the spec document it stands for
    (``hlb.compiler.export``), so the checks are exactly those of `hlb validate`;
    an object that compiles to another hash was not written by `hlb plan`."""
    from hlb.compiler.compile import compile_sources
    from hlb.compiler.export import object_index, sources_of
    from hlb.compiler.kinds import kind_for
    from hlb.compiler.kinds.emoji import recorded_problem

    objects = list(saved.desired)
    # A kind that reads files besides its spec (an Emoji's image) cannot be compiled again here,
    # away from the spec files: its recorded content (the image and its hash) is checked instead.
    texts = [i for i, o in enumerate(objects) if not _reads_files(kind_for, o.key.kind)]
    result = compile_sources(sources_of([objects[i] for i in texts]), {})
    found: list[Diagnostic] = []
    for d in result.diagnostics:
        if d.severity != "error":
            continue
        i = texts[min(object_index(d.file, d.doc), len(texts) - 1)] if texts else 0
        found.append(_at(path, saved, i, d.code, f"{_name(objects, i)}: {d.message}"))
    for i, obj in enumerate(objects):
        problem = recorded_problem(obj.spec) if obj.key.kind == "Emoji" else None
        if problem is not None:
            found.append(_at(path, saved, i, "E602", f"{_name(objects, i)}: {problem}; run `hlb plan` again"))
    if result.model is not None:
        again = result.model.by_key()
        for i, obj in enumerate(objects):
            if obj.key in again and again[obj.key].hash != obj.hash:
                found.append(_at(path, saved, i, "E602", f"{_name(objects, i)} is not in the form `hlb plan` "
                                 "writes; run `hlb plan SPECS -o FILE` again"))
    return found


def _reads_files(kind_for: Any, kind: str) -> bool:
    try:
        return bool(kind_for(kind).reads_files)
    except KeyError:  # an unknown kind: compiled again, which reports it
        return False


def _name(objects: list[Any], i: int) -> str:
    if not objects:
        return "desired"
    key = objects[min(i, len(objects) - 1)].key
    return f"desired {key.kind} '{key.name}' of guild '{key.guild}'"


def _at(path: str, saved: SavedPlan, i: int, code: str, message: str) -> Diagnostic:
    line = saved.desired_line + i if saved.desired_line else 1
    return Diagnostic(path, line, 5 if saved.desired_line else 1, code, message)


__all__ = [
    "SavedPlan",
    "SavedPlanEdited",
    "SavedPlanError",
    "check_desired",
    "digest_of",
    "dump_saved_plan",
    "load_saved_plan",
]
