"""Row mappings: how each kind's normalized spec is stored in hlb_config tables.

``STORAGES`` lists one ``Storage`` per kind in registry order (KIND_ORDER):
the order objects are inserted in; deletes run in reverse.
"""

from __future__ import annotations

from hlb.compiler.model import KIND_ORDER
from hlb.compiler.rows import channel, command, dashboard, guild, workflow
from hlb.compiler.rows.base import Row, Rows, Storage, TableSpec

_BY_KIND: dict[str, Storage] = {
    m.STORAGE.kind: m.STORAGE for m in (guild, channel, workflow, dashboard, command)
}
STORAGES: tuple[Storage, ...] = tuple(_BY_KIND[kind] for kind in KIND_ORDER)


def storage_for(kind: str) -> Storage:
    return _BY_KIND[kind]


__all__ = ["STORAGES", "Row", "Rows", "Storage", "TableSpec", "storage_for"]
