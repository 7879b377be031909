"""The contract every kind module fulfils: its descriptor (``Kind``), its checks and normalization.

A kind module (``guild.py``, ``channel.py`` ...) exposes one ``Kind`` named
``KIND``: the kind's name, its ``KindRules``, its table and whether the
reconciler converges it. The compiler has already checked YAML, the envelope
and the kind's JSON Schema (``schemas/<kind>.schema.json``) and interpolated
``${VAR}`` before a kind sees a document, so ``check`` and ``normalize`` may
rely on the schema's shapes and types.

``RecordingIndex`` is the Index of a compile that notes what each kind check looks up, so
its result can be reused while that holds. One serves every check of a compile (the
closest-name hints of ``hlb.compiler.kinds.channel`` keep one budget per Index, as without
the cache). Before each check ``start`` clears the log; afterwards ``lookups`` lists
``[guild, kind, name, fingerprint]`` of every ``get`` and ``clean`` says whether the result
depends on nothing else: a ``get`` that found nothing (its hint weighs every name of the
kind) or an ``of_kind`` listing makes the check's result unfit for reuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from hlb.compiler.diagnostics import JsonPath


@dataclass(frozen=True)
class Draft:
    """A document that passed the envelope and schema checks, with its guild resolved."""

    file: str
    doc: int  # index of the document in its file
    line: int  # line of the document's first key
    guild: str
    kind: str
    name: str
    labels: Mapping[str, str]
    spec: Mapping[str, Any]  # interpolated, not yet normalized


@dataclass(frozen=True)
class Problem:
    """A finding of a kind check; the compiler turns it into a positioned Diagnostic."""

    code: str
    message: str
    path: JsonPath = ()  # path from the document root, e.g. ("spec", "embeds", 0, "title")


class Index:
    """Every draft of the spec set, for cross-reference checks.

    ``broken``: (guild, kind, name) of documents that exist but failed their
    own checks; ``get`` finds no draft for them and ``is_broken`` says why.
    """

    def __init__(self, drafts: Iterable[Draft], broken: Iterable[tuple[str, str, str]] = ()) -> None:
        self._by_key: dict[tuple[str, str, str], Draft] = {}
        for d in drafts:
            self._by_key.setdefault((d.guild, d.kind, d.name), d)
        self._broken = frozenset(broken)

    def is_broken(self, guild: str, kind: str, name: str) -> bool:
        """Whether ``name`` is declared by a document with errors of its own (so not missing)."""
        return (guild, kind, name) in self._broken

    def get(self, guild: str, kind: str, name: str) -> Draft | None:
        return self._by_key.get((guild, kind, name))

    def of_kind(self, guild: str, kind: str) -> Iterator[Draft]:
        return (d for (g, k, _), d in self._by_key.items() if g == guild and k == kind)


class RecordingIndex(Index):
    """The Index of a compile, noting what the current kind check looks up."""

    def __init__(
        self,
        drafts: Iterable[Draft],
        fingerprints: Mapping[tuple[str, int], str],
        broken: Iterable[tuple[str, str, str]] = (),
    ) -> None:
        super().__init__(drafts, broken)
        self._fingerprints = fingerprints  # (file, document index) -> fingerprint
        self.lookups: list[list[Any]] = []
        self.clean = True

    def start(self) -> None:
        self.lookups = []
        self.clean = True

    def get(self, guild: str, kind: str, name: str) -> Draft | None:
        found = super().get(guild, kind, name)
        seen = None if found is None else self._fingerprints.get((found.file, found.doc))
        if seen is None:
            self.clean = False
        else:
            self.lookups.append([guild, kind, name, seen])
        return found

    def of_kind(self, guild: str, kind: str) -> Iterator[Draft]:
        self.clean = False
        return super().of_kind(guild, kind)


class KindRules(Protocol):
    """What the compiler needs of a kind."""

    def check(self, draft: Draft, index: Index) -> Iterable[Problem]:
        """References, Discord limits, templates: everything the schema cannot say."""
        ...

    def normalize(self, draft: Draft) -> dict[str, Any]:
        """The canonical spec: defaults filled in, durations in seconds, sets sorted,
        keys whose value is unset omitted. Normalizing a normalized spec changes nothing."""
        ...


@dataclass(frozen=True)
class Kind:
    """Everything hlb knows about one kind, written once; the other layers find theirs by its names.

    Registered by its name in ``hlb.compiler.model.KIND_ORDER`` (the create order). By convention:
    the JSON Schema ``compiler/schemas/<slug>.schema.json``, the row mapping
    ``hlb.store.rows.<slug>``, the table ``hlb_config.<table>`` (``hlb.store.models``), the reconciler
    module ``hlb.reconciler.<table>`` when ``reconciled``, the docs page ``docs/kinds/<slug>.md``
    and the export file ``<table>.yaml``. ``tests/test_kinds.py`` checks every one exists.
    """

    name: str  # "Channel"
    rules: KindRules
    table: str  # "channels"
    reconciled: bool = True  # False: no Discord object of its own (a Guild is the server; workflows run)
    # Where ``${secret:NAME}`` may stand: path patterns of the request text the bot sends
    # (``hlb.compiler.secret_places`` matches them; a reference anywhere else is E507).
    secret_places: tuple[tuple[str | None, ...], ...] = ()
    # True when its rules read files besides the spec (an Emoji's image): its check results
    # are not kept in the compile cache, which knows only the spec files' text.
    reads_files: bool = False
    # True when its reconciler plans after every other kind's (the Guild's settings name channels,
    # whose ids the channel planner finds or adopts first); phases still order the actions.
    plans_last: bool = False

    @property
    def slug(self) -> str:
        return self.name.lower()

    @property
    def export_file(self) -> str:
        return f"{self.table}.yaml"

    @property
    def reconciler_module(self) -> str | None:
        return f"hlb.reconciler.{self.table}" if self.reconciled else None
