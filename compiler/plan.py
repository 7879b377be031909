"""Plans as data: compare the desired model with what is stored -> create/update/delete ops.

Like alembic's autogenerate, comparing yields plain op objects; rendering
(``render.py``) and executing (``apply.py``) look at them by type. Comparing
is hash-first: only objects whose content hash differs are loaded and
diffed field by field (deepdiff), so a plan over 10,000 unchanged objects
costs one hash lookup each.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, assert_never

from hlb.compiler.model import Model, ObjectKey, SpecObject

PLAN_FORMAT_VERSION = 1


@dataclass(frozen=True)
class FieldChange:
    """One changed leaf of an updated object: ``spec.topic: "a" -> "b"``."""

    path: tuple[str | int, ...]
    old: Any = None
    new: Any = None
    added: bool = False
    removed: bool = False

    @property
    def dotted(self) -> str:
        return format_path(self.path)


@dataclass(frozen=True)
class CreateOp:
    new: SpecObject

    @property
    def key(self) -> ObjectKey:
        return self.new.key


@dataclass(frozen=True)
class UpdateOp:
    old: SpecObject
    new: SpecObject
    changes: tuple[FieldChange, ...]

    @property
    def key(self) -> ObjectKey:
        return self.new.key


@dataclass(frozen=True)
class DeleteOp:
    old: SpecObject

    @property
    def key(self) -> ObjectKey:
        return self.old.key


Op = CreateOp | UpdateOp | DeleteOp


@dataclass(frozen=True)
class Plan:
    """What applying ``desired`` on top of revision ``base_revision`` changes."""

    base_revision: int | None
    desired: Model
    ops: tuple[Op, ...] = field(default=())
    database_id: str | None = None  # the identity of the database planned against (None: never migrated)

    @property
    def has_changes(self) -> bool:
        return bool(self.ops)

    def summary(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "delete": 0}
        for op in self.ops:
            counts[action_of(op)] += 1
        return counts

    def creates(self) -> list[SpecObject]:
        return [op.new for op in self.ops if isinstance(op, CreateOp)]

    def updates(self) -> list[SpecObject]:
        return [op.new for op in self.ops if isinstance(op, UpdateOp)]

    def deletes(self) -> list[ObjectKey]:
        return [op.key for op in self.ops if isinstance(op, DeleteOp)]

    @property
    def managed_before(self) -> int:
        """How many objects the database held when this plan was made."""
        counts = self.summary()
        return len(self.desired) - counts["create"] + counts["delete"]


def action_of(op: Op) -> str:
    match op:
        case CreateOp():
            return "create"
        case UpdateOp():
            return "update"
        case DeleteOp():
            return "delete"
        case _:
            assert_never(op)


Loader = Callable[[Collection[ObjectKey]], Mapping[ObjectKey, SpecObject]]


def compute_plan(
    desired: Model,
    stored_hashes: Mapping[ObjectKey, str],
    load: Loader,
    base_revision: int | None,
) -> Plan:
    """Compare by hash, then load and diff only the objects that differ."""
    wanted = desired.by_key()
    changed = [k for k, o in wanted.items() if k in stored_hashes and stored_hashes[k] != o.hash]
    gone = [k for k in stored_hashes if k not in wanted]
    old = load([*changed, *gone]) if changed or gone else {}
    ops: list[Op] = []
    for obj in desired:  # registry order: create order
        if obj.key not in stored_hashes:
            ops.append(CreateOp(obj))
        elif stored_hashes[obj.key] != obj.hash:
            before = old[obj.key]
            ops.append(UpdateOp(before, obj, diff_objects(before, obj)))
    for key in sorted(gone, key=lambda k: k.sort_key(), reverse=True):  # deletes in reverse order
        ops.append(DeleteOp(old[key]))
    return Plan(base_revision, desired, tuple(ops))


def diff_models(old: Model, new: Model, base_revision: int | None = None) -> Plan:
    """The plan that turns ``old`` into ``new`` (for ``hlb show`` and rollbacks)."""
    before = old.by_key()
    return compute_plan(new, {k: o.hash for k, o in before.items()}, lambda keys: before, base_revision)


def diff_objects(old: SpecObject, new: SpecObject) -> tuple[FieldChange, ...]:
    """Field-level changes between two versions of one object (labels and spec)."""
    from deepdiff import DeepDiff  # on first use: a plan without updates never needs it

    a = {"labels": dict(old.labels), "spec": old.spec}
    b = {"labels": dict(new.labels), "spec": new.spec}
    tree = DeepDiff(a, b, view="tree", ignore_order=False)
    changes: list[FieldChange] = []
    for report, levels in tree.items():
        for level in levels:
            path = tuple(level.path(output_format="list"))
            if report in ("dictionary_item_added", "iterable_item_added"):
                changes.append(FieldChange(path, None, level.t2, added=True))
            elif report in ("dictionary_item_removed", "iterable_item_removed"):
                changes.append(FieldChange(path, level.t1, None, removed=True))
            else:
                changes.append(FieldChange(path, level.t1, level.t2))
    return tuple(sorted(changes, key=lambda c: [str(p) for p in c.path]))


def format_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
