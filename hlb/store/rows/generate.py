"""Write ``tables.py``: the hlb_config tables of hlb.store.models as the row mapping reads them.

The tables are defined once, in SQLAlchemy (``hlb.store.models``). The row mapping
needs their columns, column types and keys on every ``hlb apply``, and importing
SQLAlchemy would cost that command about a tenth of a second, so the facts are
written out to ``tables.py`` by this module and ``tests/test_store.py`` fails
while the two differ. After changing a table in ``hlb.store.models``, run::

    python -m hlb.store.rows.generate
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TARGET = Path(__file__).with_name("tables.py")
HEADER = '''"""The hlb_config tables as the row mapping reads them, made from hlb.store.models: do not edit.

Run ``python -m hlb.store.rows.generate`` after changing a table there
(``hlb.store.rows.generate`` says why this is written out).
"""

from __future__ import annotations

from typing import Literal

ColumnType = Literal["text", "int", "bool", "json"]
'''


def column_type(column: Any) -> str:
    """The kind of value a column holds exactly ("text", "int", "bool", "json"), from its SQLAlchemy type."""
    if column.type.__visit_name__ in ("JSON", "JSONB"):
        return "json"
    names = {str: "text", bool: "bool", int: "int"}
    python = column.type.python_type
    if python not in names:
        raise TypeError(f"no row mapping for column {column} of type {column.type}")
    return names[python]


def render() -> str:
    """The text of ``tables.py`` for the tables hlb.store.models defines now."""
    from hlb.store import models

    tables = [
        t for t in models.metadata.sorted_tables
        if t.schema == models.CONFIG_SCHEMA and t.name not in ("revisions", "database_identity")
    ]
    lines = [HEADER, f"SCHEMA = {_q(models.CONFIG_SCHEMA)}", ""]
    lines.append("# Each table's columns in order, with their types.")
    lines.append("COLUMNS: dict[str, tuple[tuple[str, ColumnType], ...]] = {")
    for table in tables:
        lines.append(f"    {_q(table.name)}: (")
        lines += [f"        ({_q(c.name)}, {_q(column_type(c))})," for c in table.columns]
        lines.append("    ),")
    lines += ["}", "", "# Each table's primary key columns.", "KEYS: dict[str, tuple[str, ...]] = {"]
    for table in tables:
        key = [_q(c.name) for c in table.primary_key.columns]
        lines.append(f"    {_q(table.name)}: ({', '.join(key)}{',' if len(key) == 1 else ''}),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _q(name: str) -> str:
    return '"' + str(name) + '"'  # table and column names are plain identifiers


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
