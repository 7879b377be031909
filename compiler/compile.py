"""The compile pipeline: spec files -> diagnostics and, when clean, the desired model.

Stages: discover and read files, parse YAML (fast path, falling back to the
round-trip parser for anything unusual), interpolate ``${VAR}``, check each
document against its kind's JSON Schema, resolve guilds, check uniqueness,
run each kind's reference and limit checks, normalize, hash, check Discord's
per-guild ceilings (``hlb.compiler.ceilings``). Every problem of
every stage is collected, so one run reports them all; positions are filled in
from the round-trip parse of just the files that have problems.

The stages up to the schema check depend on one file alone
(``hlb.compiler.units``); with a cache (a ``hlb.compiler.cache.UnitStore``
the caller passes: the CLI's is ``hlb.compile_cache``, on disk) an unchanged
file's unit is read instead of computed, and so is each document's kind check
while its guild and the drafts it looked up are unchanged. Guild resolution,
uniqueness and the order of diagnostics are computed on every run, so a
compile from the cache gives exactly the result of one without it. A clean
set whose files are all unchanged is served by its whole-set entry
(``hlb.compiler.set_cache``) instead, which holds that same result.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hlb.compiler import positions
from hlb.compiler.cache import UnitStore
from hlb.compiler.ceilings import ceiling_problems
from hlb.compiler.checks import Key, Row, check_rows
from hlb.compiler.diagnostics import Diagnostic, has_errors, sort_diagnostics
from hlb.compiler.kinds.role import ranked
from hlb.compiler.model import Model
from hlb.compiler.set_cache import decode_set, encode_set, set_entry_name
from hlb.compiler.sources import Document, SourceFile, discover, read_source
from hlb.compiler.units import Checked, Failed, FileUnit, at, compile_file, text_digest


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
    cache: UnitStore | None = None,
) -> CompileResult:
    """Compile the spec files under ``paths``.

    ``reference=True`` takes the slow reference path (ruamel.yaml and
    python-jsonschema) end to end; the benchmark and the differential tests
    use it to prove both paths agree. It never uses the cache.

    ``cache``: where units of unchanged files are kept between runs (the CLI
    passes ``hlb.compile_cache.default_cache()``); None for none. The
    compiler reads and writes no cache of its own.
    """
    files, diagnostics = discover(paths)
    sources: dict[str, SourceFile] = {}
    for path in files:
        read = read_source(path)
        if isinstance(read, Diagnostic):
            diagnostics.append(read)
        else:
            sources[read.path] = read
    return compile_sources(list(sources.values()), env, reference=reference, initial=diagnostics, cache=cache)


def compile_sources(
    sources: Sequence[SourceFile],
    env: Mapping[str, str] | None = None,
    *,
    reference: bool = False,
    initial: Iterable[Diagnostic] = (),
    cache: UnitStore | None = None,
) -> CompileResult:
    """Compile already read sources; units of unchanged files come from ``cache`` when one is given."""
    return _compile(sources, env, reference, list(initial), cache)


def _compile(
    sources: Sequence[SourceFile],
    env: Mapping[str, str] | None,
    reference: bool,
    initial: list[Diagnostic],
    cache: UnitStore | None,
) -> CompileResult:
    environ = os.environ if env is None else env
    store = None if reference else cache
    set_name: str | None = None  # the whole-set entry's, when the set may have one
    digests: list[str] = []  # of the texts, for that entry's key
    if store is not None and not initial and sources:
        set_name, digests = set_entry_name(sources), [text_digest(src.text) for src in sources]
        hit = store.load_set(set_name, len(sources), lambda blob: decode_set(blob, sources, digests, environ))
        if hit is not None:
            return CompileResult(hit[0], hit[1], files=len(sources), documents=hit[2])
    cached = [store.load(src, environ) if store is not None else None for src in sources]
    units: list[FileUnit] = []
    for src, unit in zip(sources, cached, strict=True):
        if unit is None:
            unit = compile_file(src, environ, reference=reference, record=store is not None)
        units.append(unit)

    diagnostics = list(initial)
    for unit in units:
        diagnostics.extend(unit.load_problems)
    for unit in units:
        diagnostics.extend(unit.doc_problems)
    failed = [who for unit in units for who in unit.failed]
    rows, broken = _guilds([item for unit in units for item in unit.checked], failed, diagnostics)
    objects, fresh = check_rows(rows, units, diagnostics, broken)
    objects = ranked(objects)  # a Role's place in the hierarchy is its place among the documents
    diagnostics.extend(ceiling_problems(rows, objects))

    by_file = {s.path: s for s in sources}
    diagnostics = positions.resolve(diagnostics, by_file)
    for record, start, stop in fresh:  # new records keep their findings positioned
        record[2] = diagnostics[start:stop]
    diagnostics = sort_diagnostics(diagnostics)
    served = all(not unit.changed for unit in units)  # every unit and kind check came from the cache
    if store is not None:
        store.save(units)
    model = None if has_errors(diagnostics) else Model.of(objects)
    if store is not None and set_name is not None and served and model is not None:
        blob = None if _reads_files(model) else encode_set(sources, digests, units, model, diagnostics)
        if blob is not None:
            store.save_set(set_name, blob)
    documents = sum(unit.documents for unit in units)
    return CompileResult(model, diagnostics, files=len(sources), documents=documents)


def _reads_files(model: Model) -> bool:
    """Whether an object of ``model`` depends on a file besides its spec (an Emoji's image)."""
    from hlb.compiler.kinds import kind_for

    return any(kind_for(kind).reads_files for kind in {obj.key.kind for obj in model})


def _guilds(
    checked: list[Checked], failed: list[Failed], diagnostics: list[Diagnostic]
) -> tuple[list[Row], set[Key]]:
    """Resolve each document's guild and reject duplicate identities.

    ``failed`` names the documents that did not pass their own checks: a Guild
    among them still counts as declared, and the identities of them all come
    back (with their guild resolved) so that a reference to one is not
    reported as missing: one mistake, one diagnostic.
    """
    guilds: dict[str, Document] = {}
    for doc, data in _pairs(checked):
        if data["kind"] == "Guild":
            name = data["name"]
            if name in guilds:
                first = guilds[name]
                diagnostics.append(
                    at(
                        doc,
                        ("name",),
                        "E301",
                        f"Guild '{name}' is already declared at {first.file}:{first.line}; "
                        "rename one of them or delete the duplicate",
                    )
                )
            else:
                guilds.setdefault(name, doc)
    declared = set(guilds) | {name for _, kind, name, _ in failed if kind == "Guild"}
    only_guild = next(iter(declared)) if len(declared) == 1 else None
    ids: dict[str, str] = {}
    for doc, data in _pairs(checked):
        guild_id = data.get("spec", {}).get("id") if data["kind"] == "Guild" else None
        if isinstance(guild_id, str) and guilds.get(data["name"]) is doc:
            if guild_id in ids:
                diagnostics.append(
                    at(
                        doc,
                        ("spec", "id"),
                        "E308",
                        f"Guild '{data['name']}' has the Discord id {guild_id}, "
                        f"which Guild '{ids[guild_id]}' already uses; one Discord server is one Guild object",
                    )
                )
            ids.setdefault(guild_id, data["name"])

    rows: list[Row] = []
    seen: dict[tuple[str, str, str], Document] = {}
    for item in checked:
        doc, data = item.doc, item.data
        kind, name = data["kind"], data["name"]
        if kind == "Guild":
            guild = name
        elif "guild" in data:
            guild = data["guild"]
            if guild not in declared:
                known = ", ".join(sorted(guilds)) or "none"
                diagnostics.append(
                    at(
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
            if declared:
                names = ", ".join(sorted(declared))
                why = f"there are {len(declared)} Guild objects ({names}); set `guild:` on it"
            else:
                why = "no Guild object is declared; add one (kind: Guild) or set `guild:`"
            diagnostics.append(at(doc, ("kind",), "E303", f"{kind} '{name}' has no guild: {why}"))
            continue
        identity = (guild, kind, name)
        if kind != "Guild" and identity in seen:
            first = seen[identity]
            diagnostics.append(
                at(
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
        rows.append((item, guild))
    broken = {
        (guild, kind, name)
        for _, kind, name, given in failed
        if (guild := name if kind == "Guild" else given or only_guild) is not None
    }
    return rows, broken


def _pairs(checked: list[Checked]) -> Iterator[tuple[Document, dict[str, Any]]]:
    return ((item.doc, item.data) for item in checked)
