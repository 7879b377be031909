"""The per-draft stage of a compile: each kind's checks and normalization, or a unit's record of them.

Input: the documents that passed the schema, each with the guild it was
resolved to (``hlb.compiler.compile`` resolves guilds on every run). A
document whose unit (``hlb.compiler.units``) holds a record made for the same
guild, whose every lookup still finds a draft with the same fingerprint,
takes its findings, normalized spec and hash from the record. The others run
their kind's ``check`` and ``normalize`` against a ``RecordingIndex`` over
every draft, in document order, exactly as a compile without a cache does;
the checks that stayed clean leave a new record behind.

When every record holds, no ``Draft`` is built and no kind module is
imported (they pull in Jinja); a unit from the cache keeps its data as JSON
text until some check needs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hlb.compiler.diagnostics import Diagnostic
from hlb.compiler.model import ObjectKey, Origin, SpecObject
from hlb.compiler.units import Checked, FileUnit

if TYPE_CHECKING:
    from hlb.compiler.kinds.base import Draft

Row = tuple[Checked, str]  # a document that passed the schema, and its guild
Key = tuple[str, str, str]  # guild, kind, name
Fresh = tuple[list[Any], int, int]  # a new record, and the slice of the diagnostics holding its findings


def check_rows(
    rows: list[Row], units: Iterable[FileUnit], diagnostics: list[Diagnostic], broken: Iterable[Key] = ()
) -> tuple[list[SpecObject], list[Fresh]]:
    """The objects of ``rows`` (findings go to ``diagnostics``) and the records made on the way.

    ``broken``: the identities of documents that failed before this stage; a
    reference to one is not reported missing (its own diagnostic says what is wrong)."""
    unit_of = {unit.src.path: unit for unit in units}
    first: dict[tuple[str, str, str], str | None] = {}  # identity -> fingerprint of its draft
    for item, guild in rows:
        data = item.data
        unit = unit_of[item.doc.file]
        first.setdefault((guild, data["kind"], data["name"]), unit.fingerprints.get(item.doc.index))
    reuse = [_valid(unit_of[item.doc.file].drafts.get(item.doc.index), guild, first) for item, guild in rows]
    if all(record is not None for record in reuse):
        return _from_records(rows, reuse, diagnostics), []

    from hlb.compiler.kinds import kind_for as rules_kind
    from hlb.compiler.kinds import rules_for
    from hlb.compiler.kinds.base import RecordingIndex

    drafts = [_draft(item, guild) for item, guild in rows]
    fingerprints = {(u.src.path, i): p for u in unit_of.values() for i, p in u.fingerprints.items()}
    index = RecordingIndex(drafts, fingerprints, broken)
    objects: list[SpecObject] = []
    fresh: list[Fresh] = []
    for (item, guild), draft, record in zip(rows, drafts, reuse, strict=True):
        if record is not None:
            objects.extend(_from_records([(item, guild)], [record], diagnostics))
            continue
        rules = rules_for(draft.kind)
        key = ObjectKey(draft.guild, draft.kind, draft.name)
        index.start()
        start = len(diagnostics)
        diagnostics.extend(
            Diagnostic(draft.file, 0, 0, p.code, p.message, doc=draft.doc, path=tuple(p.path))
            for p in rules.check(draft, index)
        )
        obj = None
        if len(diagnostics) == start:
            obj = SpecObject.build(key, draft.labels, rules.normalize(draft), Origin(draft.file, draft.line))
            objects.append(obj)
        unit = unit_of[draft.file]
        if unit.env is not None and index.clean and not rules_kind(draft.kind).reads_files:
            spec, spec_hash = (None, None) if obj is None else (obj.spec, obj.hash)
            new = [guild, index.lookups, [], spec, spec_hash]
            unit.drafts[draft.doc] = new
            unit.changed = True
            fresh.append((new, start, len(diagnostics)))
    return objects, fresh


def _valid(record: list[Any] | None, guild: str, first: dict[tuple[str, str, str], str | None]) -> Any:
    """``record`` when it was made for ``guild`` and every draft it looked up is unchanged, else None."""
    if record is None or record[0] != guild:
        return None
    try:
        for g, k, n, seen in record[1]:
            if first.get((g, k, n)) != seen:
                return None
    except (TypeError, ValueError):  # a malformed lookup: check again
        return None
    return record


def _from_records(rows: list[Row], records: list[Any], diagnostics: list[Diagnostic]) -> list[SpecObject]:
    objects: list[SpecObject] = []
    for (item, guild), (_, _, findings, spec, spec_hash) in zip(rows, records, strict=True):
        if findings:
            diagnostics.extend(findings)
        if spec is not None:
            data, doc = item.data, item.doc
            key = ObjectKey(guild, data["kind"], data["name"])
            labels = data.get("labels") or {}
            objects.append(SpecObject(key, dict(labels), spec, spec_hash, Origin(doc.file, doc.line)))
    return objects


def _draft(item: Checked, guild: str) -> Draft:
    from hlb.compiler.kinds.base import Draft

    data = item.full()
    doc = item.doc
    labels = data.get("labels") or {}
    spec = data.get("spec") or {}
    return Draft(doc.file, doc.index, doc.line, guild, data["kind"], data["name"], labels, spec)
