"""The compile pipeline: spec files -> diagnostics and, when clean, the desired model.

Stages: discover and read files, parse YAML (fast path, falling back to the
round-trip parser for anything unusual), interpolate ``${VAR}``, check each
document against its kind's JSON Schema, resolve guilds, check uniqueness,
run each kind's reference and limit checks, normalize, hash. Every problem of
every stage is collected, so one run reports them all; positions are filled in
at the end from the round-trip parse of just the files that have problems.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hlb.compiler import positions, schema
from hlb.compiler.diagnostics import Diagnostic, has_errors, sort_diagnostics
from hlb.compiler.interpolate import interpolate
from hlb.compiler.kinds import rules_for
from hlb.compiler.kinds.base import Draft, Index
from hlb.compiler.loader import Document, load_fast
from hlb.compiler.model import Model, ObjectKey, Origin, SpecObject
from hlb.compiler.sources import SourceFile, discover, read_source


@dataclass(frozen=True)
class CompileResult:
    """What the compiler made of a spec set."""

    model: Model | None  # None when there are errors
    diagnostics: list[Diagnostic]
    files: int = 0
    documents: int = 0

    @property
    def ok(self) -> bool:
        return self.model is not None


def compile_paths(
    paths: Sequence[str | Path],
    env: Mapping[str, str] | None = None,
    *,
    reference: bool = False,
) -> CompileResult:
    """Compile the spec files under ``paths``.

    ``reference=True`` takes the slow reference path (ruamel.yaml and
    python-jsonschema) end to end; the benchmark and the differential tests
    use it to prove both paths agree.
    """
    files, diagnostics = discover(paths)
    sources: dict[str, SourceFile] = {}
    for path in files:
        read = read_source(path)
        if isinstance(read, Diagnostic):
            diagnostics.append(read)
        else:
            sources[read.path] = read
    return compile_sources(list(sources.values()), env, reference=reference, initial=diagnostics)


def compile_sources(
    sources: Sequence[SourceFile],
    env: Mapping[str, str] | None = None,
    *,
    reference: bool = False,
    initial: Iterable[Diagnostic] = (),
) -> CompileResult:
    environ = os.environ if env is None else env
    diagnostics = list(initial)
    documents: list[Document] = []
    for src in sources:
        if reference:
            from hlb.compiler.roundtrip import load_roundtrip

            docs, load_problems = load_roundtrip(src)
        else:
            docs, load_problems = load_fast(src)
        documents.extend(docs)
        diagnostics.extend(load_problems)

    checked: list[tuple[Document, dict[str, Any]]] = []
    for doc in documents:
        data, unresolved = interpolate(doc.data, environ)
        diagnostics.extend(_at(doc, path, code, message) for path, code, message in unresolved)
        reported = {tuple(path) for path, _, _ in unresolved}  # one problem per spot: the unset variable
        schema_problems = [
            p for p in schema.validate_document(data, reference=reference) if tuple(p.path) not in reported
        ]
        diagnostics.extend(_at(doc, p.path, p.code, p.message) for p in schema_problems)
        if not schema_problems:
            checked.append((doc, data))

    drafts = _drafts(checked, diagnostics)
    index = Index(drafts)
    objects: list[SpecObject] = []
    for draft in drafts:
        rules = rules_for(draft.kind)
        findings = list(rules.check(draft, index))
        diagnostics.extend(_at_draft(draft, p.path, p.code, p.message) for p in findings)
        if not findings:
            key = ObjectKey(draft.guild, draft.kind, draft.name)
            objects.append(
                SpecObject.build(key, draft.labels, rules.normalize(draft), Origin(draft.file, draft.line))
            )

    by_file = {s.path: s for s in sources}
    diagnostics = sort_diagnostics(positions.resolve(diagnostics, by_file))
    model = None if has_errors(diagnostics) else Model.of(objects)
    return CompileResult(model, diagnostics, files=len(sources), documents=len(documents))


def _drafts(checked: list[tuple[Document, dict[str, Any]]], diagnostics: list[Diagnostic]) -> list[Draft]:
    """Resolve each document's guild and reject duplicate identities."""
    guilds: dict[str, Document] = {}
    for doc, data in checked:
        if data["kind"] == "Guild":
            name = data["name"]
            if name in guilds:
                first = guilds[name]
                diagnostics.append(
                    _at(
                        doc,
                        ("name",),
                        "E301",
                        f"Guild '{name}' is already declared at {first.file}:{first.line}; "
                        "rename one of them or delete the duplicate",
                    )
                )
            else:
                guilds.setdefault(name, doc)
    only_guild = next(iter(guilds)) if len(guilds) == 1 else None
    ids: dict[str, str] = {}
    for doc, data in checked:
        guild_id = data.get("spec", {}).get("id") if data["kind"] == "Guild" else None
        if isinstance(guild_id, str) and guilds.get(data["name"]) is doc:
            if guild_id in ids:
                diagnostics.append(
                    _at(
                        doc,
                        ("spec", "id"),
                        "E308",
                        f"Guild '{data['name']}' has the Discord id {guild_id}, "
                        f"which Guild '{ids[guild_id]}' already uses; one Discord server is one Guild object",
                    )
                )
            ids.setdefault(guild_id, data["name"])

    drafts: list[Draft] = []
    seen: dict[tuple[str, str, str], Document] = {}
    for doc, data in checked:
        kind, name = data["kind"], data["name"]
        if kind == "Guild":
            guild = name
        elif "guild" in data:
            guild = data["guild"]
            if guild not in guilds:
                known = ", ".join(sorted(guilds)) or "none"
                diagnostics.append(
                    _at(
                        doc,
                        ("guild",),
                        "E302",
                        f"guild '{guild}' is not declared (known guilds: {known}); "
                        "add a Guild object with that name or fix the name",
                    )
                )
                continue
        elif only_guild is not None:
            guild = only_guild
        else:
            if guilds:
                why = (
                    f"there are {len(guilds)} Guild objects ({', '.join(sorted(guilds))}); set `guild:` on it"
                )
            else:
                why = "no Guild object is declared; add one (kind: Guild) or set `guild:`"
            diagnostics.append(_at(doc, ("kind",), "E303", f"{kind} '{name}' has no guild: {why}"))
            continue
        identity = (guild, kind, name)
        if kind != "Guild" and identity in seen:
            first = seen[identity]
            diagnostics.append(
                _at(
                    doc,
                    ("name",),
                    "E301",
                    f"{kind} '{name}' in guild '{guild}' is already declared at "
                    f"{first.file}:{first.line}; names are unique per guild and kind",
                )
            )
            continue
        seen[identity] = doc
        if kind == "Guild" and guilds.get(name) is not doc:
            continue
        drafts.append(
            Draft(
                doc.file,
                doc.index,
                doc.line,
                guild,
                kind,
                name,
                data.get("labels") or {},
                data.get("spec") or {},
            )
        )
    return drafts


def _at(doc: Document, path: Iterable[str | int], code: str, message: str) -> Diagnostic:
    return Diagnostic(doc.file, 0, 0, code, message, doc=doc.index, path=tuple(path))


def _at_draft(draft: Draft, path: Iterable[str | int], code: str, message: str) -> Diagnostic:
    return Diagnostic(draft.file, 0, 0, code, message, doc=draft.doc, path=tuple(path))
