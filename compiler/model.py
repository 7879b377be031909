"""The desired model: frozen, normalized, content-hashed spec objects.

This is what the compiler produces, what ``hlb apply`` stores, what a revision
snapshots and what the reconciler reads. Specs inside are plain JSON values
(dict, list, str, int, float, bool, None) in their normalized form; treat them
as read-only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

API_VERSION = "hlb/v1"
# The kind registry, the one list of kinds: the order objects are created in (deletes run in
# reverse). Each layer finds a kind's module by its name (hlb.compiler.kinds.Kind says where).
KIND_ORDER: tuple[str, ...] = ("Guild", "Role", "Channel", "Emoji", "Workflow", "Dashboard", "Command")


@dataclass(frozen=True, order=True)
class ObjectKey:
    """Identity of a spec object: stable across renames of what Discord shows."""

    guild: str
    kind: str
    name: str

    def sort_key(self) -> tuple[str, int, str]:
        return (self.guild, KIND_ORDER.index(self.kind), self.name)

    def __str__(self) -> str:
        return f"{self.kind}/{self.guild}/{self.name}"


@dataclass(frozen=True)
class Origin:
    """Where an object was declared (not part of its content)."""

    file: str
    line: int


def canonical_json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def content_hash(kind: str, labels: Mapping[str, str], spec: Mapping[str, Any]) -> str:
    payload = canonical_json({"kind": kind, "labels": labels, "spec": spec})
    return hashlib.sha256(payload).hexdigest()[:32]


@dataclass(frozen=True)
class SpecObject:
    """One compiled object: identity, labels, normalized spec and its content hash."""

    key: ObjectKey
    labels: Mapping[str, str]
    spec: Mapping[str, Any]
    hash: str
    origin: Origin | None = field(default=None, compare=False)

    @classmethod
    def build(
        cls,
        key: ObjectKey,
        labels: Mapping[str, str],
        spec: Mapping[str, Any],
        origin: Origin | None = None,
    ) -> SpecObject:
        return cls(key, dict(labels), spec, content_hash(key.kind, labels, spec), origin)

    def to_document(self) -> dict[str, Any]:
        """The object as a spec document that validates (what ``hlb export`` writes, what a saved
        plan is checked as): without the channel fields the model fills in for every type but
        validate refuses on a type that does not keep them (``nsfw`` on a category)."""
        doc: dict[str, Any] = {"apiVersion": API_VERSION, "kind": self.key.kind, "name": self.key.name}
        if self.key.kind != "Guild":
            doc["guild"] = self.key.guild
        if self.labels:
            doc["labels"] = dict(self.labels)
        doc["spec"] = _kept_fields(self.spec) if self.key.kind == "Channel" else self.spec
        if self.key.kind == "Role":  # its rank is its place among the documents, not a field
            doc["spec"] = {k: v for k, v in self.spec.items() if k != "rank"}
        elif self.key.kind == "Emoji":  # the image's bytes and hash come from the file it names
            from hlb.compiler.kinds.emoji import DERIVED

            doc["spec"] = {k: v for k, v in self.spec.items() if k not in DERIVED}
        return doc

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "guild": self.key.guild,
            "kind": self.key.kind,
            "name": self.key.name,
            "labels": dict(self.labels),
            "spec": self.spec,
            "hash": self.hash,
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> SpecObject:
        key = ObjectKey(data["guild"], data["kind"], data["name"])
        return cls.build(key, data.get("labels") or {}, data["spec"])


@dataclass(frozen=True)
class Model:
    """A complete desired state: every object of every guild, in registry order."""

    objects: tuple[SpecObject, ...] = ()

    @classmethod
    def of(cls, objects: Iterable[SpecObject]) -> Model:
        """The objects in registry order; a guild's roles in their hierarchy (``rank``), the others by name.

        So an export, a saved plan and a plan list roles in the order that makes them, top first."""
        return cls(tuple(sorted(objects, key=_order)))

    def __iter__(self) -> Iterator[SpecObject]:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    def by_key(self) -> dict[ObjectKey, SpecObject]:
        return {o.key: o for o in self.objects}

    def of_kind(self, kind: str) -> list[SpecObject]:
        return [o for o in self.objects if o.key.kind == kind]

    def to_snapshot(self) -> list[dict[str, Any]]:
        return [o.to_snapshot() for o in self.objects]

    @classmethod
    def from_snapshot(cls, items: Iterable[Mapping[str, Any]]) -> Model:
        return cls.of(SpecObject.from_snapshot(item) for item in items)


def _order(obj: SpecObject) -> tuple[str, int, int, str]:
    guild, kind, name = obj.key.sort_key()
    rank = obj.spec.get("rank", -1) if obj.key.kind == "Role" else 0
    return (guild, kind, rank if isinstance(rank, int) else -1, name)


def _kept_fields(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A Channel spec without the fields its type does not keep."""
    from hlb.compiler.kinds.channel import TYPE_FIELDS, TYPED_FIELDS

    allowed = TYPE_FIELDS.get(spec.get("type", "text"), TYPED_FIELDS)
    return {k: v for k, v in spec.items() if k not in TYPED_FIELDS or k in allowed}
