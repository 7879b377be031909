"""Row mappings: how each kind's normalized spec is stored in hlb_config tables.

Each kind in ``KIND_ORDER`` has its mapping in ``hlb.store.rows.<slug>``
(its ``STORAGE``). ``STORAGES`` lists them in that order: the order objects
are inserted in; deletes run in reverse.
"""

from __future__ import annotations

import importlib

from hlb.compiler.model import KIND_ORDER
from hlb.store.rows.base import Row, Rows, Storage, TableSpec


def _load(kind: str) -> Storage:
    storage = importlib.import_module(f"{__name__}.{kind.lower()}").STORAGE
    if not isinstance(storage, Storage) or storage.kind != kind:  # pragma: no cover - any test run
        raise RuntimeError(f"hlb.store.rows.{kind.lower()}.STORAGE is not the row mapping of {kind}")
    return storage


STORAGES: tuple[Storage, ...] = tuple(_load(kind) for kind in KIND_ORDER)
_BY_KIND: dict[str, Storage] = {s.kind: s for s in STORAGES}


def storage_for(kind: str) -> Storage:
    return _BY_KIND[kind]


__all__ = ["STORAGES", "Row", "Rows", "Storage", "TableSpec", "storage_for"]
