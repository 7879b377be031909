"""The benchmark's reference apply (ruamel + jsonschema + DeepDiff + ORM) writes the rows `hlb apply` writes.

bench/compiler_bench.py quotes the fast path as a ratio to bench/reference_apply.py:
the ratio means something only when both do the same job. On the homelab
shape, from an empty database, after a 1% edit and after a file is removed,
both leave every hlb_config table with the same rows, and the revisions with
the same parent, summary and snapshot; a no-op makes no revision on either.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import psycopg

from hlb.compiler.compile import compile_paths
from hlb.store.apply import apply_model
from hlb.store.rows import STORAGES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate_shape  # noqa: E402
from reference_apply import reference_apply  # noqa: E402


def contents(url: str) -> dict[str, Any]:
    """Every object row, and each revision's parent, summary and snapshot."""
    out: dict[str, Any] = {}
    with psycopg.connect(url) as conn:
        for storage in STORAGES:
            for table in storage.tables:
                cols = ", ".join(f'"{c}"' for c in table.columns)
                order = ", ".join(f'"{c}"' for c in table.key)
                query = f'SELECT {cols} FROM hlb_config."{table.name}" ORDER BY {order}'
                out[table.name] = conn.execute(query).fetchall()  # type: ignore[call-overload]
        out["revisions"] = conn.execute(
            "SELECT id, parent_revision, summary, snapshot::jsonb FROM hlb_config.revisions ORDER BY id"
        ).fetchall()
    return out


def empty(url: str) -> None:
    with psycopg.connect(url) as conn:
        tables = ", ".join(f'hlb_config."{t.name}"' for s in STORAGES for t in s.tables)
        conn.execute(f"TRUNCATE {tables}, hlb_config.revisions RESTART IDENTITY")


def fast_apply(specs: Path, url: str) -> int | None:
    result = compile_paths([str(specs)], {})
    assert result.model is not None, [str(d) for d in result.diagnostics]
    return apply_model(url, result.model, author="test", echo=lambda _: None).revision


def test_reference_apply_writes_the_rows_hlb_apply_writes(tmp_path: Path, db_url: str) -> None:
    specs, changed = tmp_path / "specs", tmp_path / "changed"
    generate_shape(specs, "homelab", seed=1)
    generate_shape(changed, "homelab", seed=1, change_percent=5.0)
    steps = [specs, changed, tmp_path / "fewer"]
    shutil.copytree(changed, steps[2])
    removed = sorted((steps[2] / "dashboards").glob("*.yaml"))[-1]  # nothing refers to a dashboard
    removed.unlink()

    fast: list[dict[str, Any]] = []
    for step in steps:
        assert fast_apply(step, db_url) is not None
        fast.append(contents(db_url))
    assert fast_apply(steps[-1], db_url) is None

    empty(db_url)
    for step, expected in zip(steps, fast, strict=True):
        done = reference_apply([str(step)], db_url, author="test")
        assert done.revision is not None
        assert contents(db_url) == expected, step.name
    assert fast[1] != fast[0] and fast[2] != fast[1]  # the steps changed something
    assert reference_apply([str(steps[-1])], db_url, author="test").revision is None
