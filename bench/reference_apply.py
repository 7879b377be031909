"""The reference apply of issue 13: the textbook stack the fast path is measured against.

Usage: python bench/reference_apply.py SPECS [--url URL]   (default: the database `hlb db url` names)

The same job as `hlb apply`, done the plain way: every file loaded by the
ruamel.yaml round-trip parser and validated by python-jsonschema (the
compiler's reference path, ``compile_paths(reference=True)``), the same
compile, then one SQLAlchemy ORM session: every stored object read as mapped
objects of the ``hlb.store.models`` tables, one DeepDiff of everything desired
against everything stored, and the changes written as mapped objects (added,
changed attribute by attribute, deleted) with the revision row, committed in
one transaction. It writes the same rows `hlb apply` writes
(``tests/test_reference_apply.py``), so `bench/compiler_bench.py` can time
both on one database and print the ratio.

Bench code, not library code: nothing in ``hlb`` imports it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepdiff import DeepDiff
from sqlalchemy import Table, create_engine, null, text
from sqlalchemy.orm import Session, registry

from hlb.compiler.compile import compile_paths
from hlb.compiler.model import Model, ObjectKey, SpecObject
from hlb.store import models
from hlb.store.db import resolve_url, sqlalchemy_url
from hlb.store.rows import STORAGES, Storage, storage_for


class Mapped:
    """Base of the classes mapped onto the hlb_config tables (one per table, made at import)."""

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)


_REGISTRY = registry()
_CLASSES: dict[str, type[Mapped]] = {}


def mapped(table: Table) -> type[Mapped]:
    """The ORM class of ``table`` (mapped imperatively once)."""
    found = _CLASSES.get(table.name)
    if found is None:
        found = _CLASSES[table.name] = type(f"Orm_{table.name}", (Mapped,), {})
        _REGISTRY.map_imperatively(found, table)
    return found


def _orm(name: str) -> type[Mapped]:
    return mapped(models.metadata.tables[f"{models.CONFIG_SCHEMA}.{name}"])


@dataclass(frozen=True)
class ReferenceResult:
    """What the reference apply did: counts of each action, and the new revision (None: no change)."""

    created: int
    updated: int
    deleted: int
    revision: int | None


def _as_row(storage_table: Any, item: Mapped) -> dict[str, Any]:
    return {c: getattr(item, c) for c in storage_table.columns}


def _object_key(table: Any, item: Mapped, kind: str) -> ObjectKey:
    cols = table.object_key
    values = [getattr(item, c) for c in cols]
    guild, name = (values[0], values[1]) if len(values) == 2 else (values[0], values[0])
    return ObjectKey(guild, kind, name)


def load_stored(session: Session) -> tuple[dict[ObjectKey, SpecObject], dict[ObjectKey, list[Mapped]]]:
    """Every stored object, read through the ORM, and the mapped rows each is made of (main first)."""
    objects: dict[ObjectKey, SpecObject] = {}
    rows_of: dict[ObjectKey, list[Mapped]] = defaultdict(list)
    for storage in STORAGES:
        children: dict[ObjectKey, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for child in storage.children:
            order = [getattr(_orm(child.name), c) for c in child.key]
            for item in session.query(_orm(child.name)).order_by(*order):
                key = _object_key(child, item, storage.kind)
                children[key][child.name].append(_as_row(child, item))
                rows_of[key].append(item)
        main = storage.main
        for item in session.query(_orm(main.name)):
            key = _object_key(main, item, storage.kind)
            obj = storage.from_rows(_as_row(main, item), children.get(key, {}))
            objects[obj.key] = obj
            rows_of[obj.key].insert(0, item)
    return objects, rows_of


def _plain(objects: dict[ObjectKey, SpecObject]) -> dict[str, dict[str, Any]]:
    return {
        "\0".join((k.guild, k.kind, k.name)): {"labels": dict(o.labels), "spec": o.spec, "hash": o.hash}
        for k, o in objects.items()
    }


def differing(stored: dict[ObjectKey, SpecObject], desired: dict[ObjectKey, SpecObject]) -> set[ObjectKey]:
    """The objects whose labels, spec or hash differ, by one DeepDiff of the two whole sets."""
    keys = {"\0".join((k.guild, k.kind, k.name)): k for k in (*stored, *desired)}
    tree = DeepDiff(_plain(stored), _plain(desired), view="tree", ignore_order=False)
    found: set[ObjectKey] = set()
    for levels in tree.values():
        for level in levels:
            path = level.path(output_format="list")
            found.update([keys[path[0]]] if path else keys.values())  # no path: the whole set differs
    return found


def _new(name: str, row: dict[str, Any]) -> Mapped:
    """A new mapped row; a column left None stays out of the INSERT (SQL NULL, where a jsonb column
    given None would hold JSON null)."""
    return _orm(name)(**{column: value for column, value in row.items() if value is not None})


def _write(session: Session, storage: Storage, obj: SpecObject) -> None:
    for name, rows in storage.to_rows(obj).items():
        session.add_all(_new(name, row) for row in rows)


def reference_apply(paths: Sequence[str], url: str, *, author: str) -> ReferenceResult:
    """Compile ``paths`` on the reference path and apply the model through the ORM, in one transaction."""
    result = compile_paths(list(paths), dict(os.environ), reference=True)
    if result.model is None:
        raise SystemExit("\n".join(str(d) for d in result.diagnostics))
    desired_model: Model = result.model
    desired = desired_model.by_key()
    engine = create_engine(sqlalchemy_url(url))
    try:
        with Session(engine) as session, session.begin():
            stored, rows_of = load_stored(session)
            changed = differing(stored, desired)
            if not changed:
                return ReferenceResult(0, 0, 0, None)
            revisions = _orm("revisions")
            head = session.query(revisions).order_by(revisions.id.desc()).first()  # type: ignore[attr-defined]
            created = updated = deleted = 0
            for obj in desired_model:  # registry order, as hlb apply
                if obj.key not in changed:
                    continue
                storage = storage_for(obj.key.kind)
                if obj.key not in stored:
                    _write(session, storage, obj)
                    created += 1
                    continue
                main, *children = rows_of[obj.key]
                for child in children:
                    session.delete(child)
                rows = storage.to_rows(obj)
                for column, value in rows[storage.main.name][0].items():
                    setattr(main, column, null() if value is None else value)
                for name, child_rows in rows.items():
                    if name != storage.main.name:
                        session.add_all(_new(name, row) for row in child_rows)
                updated += 1
            for key in sorted(changed - desired.keys(), key=lambda k: k.sort_key(), reverse=True):
                for item in reversed(rows_of[key]):
                    session.delete(item)
                deleted += 1
            summary = {"create": created, "update": updated, "delete": deleted}
            revision = revisions(
                author=author,
                git_sha=None,
                message=None,
                parent_revision=None if head is None else head.id,  # type: ignore[attr-defined]
                snapshot=desired_model.to_snapshot(),
                summary=summary,
            )
            session.add(revision)
            session.flush()
            session.execute(text("SELECT pg_notify('hlb_applied', :id)"), {"id": str(revision.id)})  # type: ignore[attr-defined]
            return ReferenceResult(created, updated, deleted, int(revision.id))  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="+")
    parser.add_argument("--url", help="the database (default: the one `hlb db url` names)")
    args = parser.parse_args()
    url = args.url or resolve_url()
    done = reference_apply(args.specs, url, author=getpass.getuser())
    print(f"{done.created} created, {done.updated} updated, {done.deleted} deleted; revision {done.revision}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
