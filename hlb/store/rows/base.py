"""The row-mapping toolkit: table specs, typed fields, and the Storage each kind exposes.

A kind's normalized spec is split into the real columns of its main table,
child rows for its lists (steps, options, component grid) and ``extra``: the
spec keys (or list shapes) the columns cannot hold exactly. Reading joins the
three back, so ``from_rows(to_rows(obj)) == obj`` for every object, including
fields a newer normalizer adds before the tables learn about them.

Values go into a column only when the column holds them exactly: a text column
takes ``str``, an integer column an ``int`` (not ``bool``) within int4, a
jsonb column any JSON value but ``None`` (``None`` is "omitted" in a row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hlb.compiler.model import ObjectKey, SpecObject
from hlb.store.rows.tables import COLUMNS, KEYS, ColumnType
from hlb.store.rows.tables import SCHEMA as SCHEMA

Row = dict[str, Any]
Rows = dict[str, list[Row]]
INT4 = range(-(2**31), 2**31)


@dataclass(frozen=True)
class Field:
    """One spec key held by one column."""

    key: str
    column: str
    type: ColumnType
    choices: tuple[str, ...] = ()  # for text columns under a CHECK ... IN (...)

    def accepts(self, value: Any) -> bool:
        if value is None:
            return False
        if self.type == "text":
            return type(value) is str and (not self.choices or value in self.choices)
        if self.type == "int":
            return type(value) is int and value in INT4
        if self.type == "bool":
            return type(value) is bool
        return True


@dataclass(frozen=True)
class Col:
    """A spec key and the column of the SQLAlchemy table that holds it (its type comes from there)."""

    key: str
    column: str
    choices: tuple[str, ...] = ()


def field_(key: str, column: str | None = None, choices: Iterable[str] = ()) -> Col:
    return Col(key, column or key, tuple(choices))


@dataclass(frozen=True)
class Fields:
    """The fields of one table, with the lookups ``split`` needs computed once."""

    items: tuple[Field, ...]
    by_key: Mapping[str, Field] = field(init=False, repr=False, compare=False)
    blank: Mapping[str, None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {f.key: f for f in self.items})
        object.__setattr__(self, "blank", {f.column: None for f in self.items})

    def __iter__(self) -> Iterator[Field]:
        return iter(self.items)

    def __getitem__(self, index: slice) -> Fields:
        return Fields(self.items[index])


def fields(table: str, *cols: str | Col) -> Fields:
    """The fields of ``table`` holding the spec keys ``cols`` (a name: key and column alike)."""
    types = dict(COLUMNS[table])
    items = []
    for col in cols:
        c = field_(col) if isinstance(col, str) else col
        items.append(Field(c.key, c.column, types[c.column], c.choices))
    return Fields(tuple(items))


@dataclass(frozen=True)
class TableSpec:
    """What the store needs to know about a table, read from its definition in hlb.store.models."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # primary key columns
    jsonb: frozenset[str] = field(default_factory=frozenset)
    parent: tuple[str, ...] = ()  # child tables: the columns naming the parent object (guild, name)
    json_positions: tuple[int, ...] = field(init=False, repr=False, compare=False)  # of jsonb columns

    def __post_init__(self) -> None:
        positions = tuple(i for i, c in enumerate(self.columns) if c in self.jsonb)
        object.__setattr__(self, "json_positions", positions)

    @property
    def object_key(self) -> tuple[str, ...]:
        """The columns identifying the object a row belongs to."""
        return self.parent or self.key


def table_spec(table: str, parent: str | None = None) -> TableSpec:
    """The TableSpec of ``table``; ``parent``: for a child table, its column naming the parent object."""
    columns = tuple(name for name, _ in COLUMNS[table])
    jsonb = frozenset(name for name, type_ in COLUMNS[table] if type_ == "json")
    return TableSpec(table, columns, KEYS[table], jsonb, parent=("guild", parent) if parent else ())


def split(values: Mapping[str, Any], fields: Fields, extra: dict[str, Any]) -> Row:
    """The columns of ``fields`` filled from ``values``; what they cannot hold goes to ``extra``."""
    row: Row = dict(fields.blank)
    by_key = fields.by_key
    for key, value in values.items():
        f = by_key.get(key)
        if f is not None and f.accepts(value):
            row[f.column] = value
        else:
            extra[key] = value
    return row


def join(row: Mapping[str, Any], fields: Fields, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The inverse of ``split``: the spec keys of non-null columns, then ``extra``."""
    values = {f.key: row[f.column] for f in fields if row.get(f.column) is not None}
    if extra:
        values.update(extra)
    return values


def fits(values: Mapping[str, Any], required: Iterable[Field]) -> bool:
    """Whether every required field is present with a type its column holds."""
    return all(f.accepts(values.get(f.key)) for f in required)


def main_row(
    obj: SpecObject,
    fields: Fields,
    extra: dict[str, Any],
    *,
    lists: tuple[str, ...] = (),
    guild_column: bool = True,
) -> Row:
    """The main-table row of ``obj``; ``extra`` receives what the columns cannot hold.
    Keys in ``lists`` are left out: they are child rows (see ``child_rows``)."""
    head: Row = {"guild": obj.key.guild, "name": obj.key.name} if guild_column else {"name": obj.key.name}
    spec = {k: v for k, v in obj.spec.items() if k not in lists} if lists else obj.spec
    row = head | split(spec, fields, extra)
    row["labels"] = dict(obj.labels)
    row["extra"] = extra
    row["content_hash"] = obj.hash
    return row


def child_rows(
    spec: Mapping[str, Any], key: str, extra: dict[str, Any], make: Callable[[list[Any]], list[Row] | None]
) -> list[Row]:
    """Child rows for the list under ``key``. An empty list, or one whose shape ``make``
    cannot hold exactly (it returns None), is kept whole in ``extra`` instead."""
    if key not in spec:
        return []
    value = spec[key]
    rows = make(value) if isinstance(value, list) and value else None
    if rows is None:
        extra[key] = value
        return []
    return rows


def build_object(kind: str, main: Mapping[str, Any], spec: Mapping[str, Any]) -> SpecObject:
    """The SpecObject of a main row (its hash recomputed from what was read)."""
    name = main["name"]
    key = ObjectKey(main.get("guild", name), kind, name)
    return SpecObject.build(key, main.get("labels") or {}, spec)


@dataclass(frozen=True)
class Storage:
    """How one kind is stored: its tables (main first) and the two mappings."""

    kind: str
    tables: tuple[TableSpec, ...]
    to_rows: Callable[[SpecObject], Rows]
    from_rows: Callable[[Mapping[str, Any], Mapping[str, Sequence[Row]]], SpecObject]

    @property
    def main(self) -> TableSpec:
        return self.tables[0]

    @property
    def children(self) -> tuple[TableSpec, ...]:
        return self.tables[1:]


def flat_storage(kind: str, table: str, fields: Fields) -> Storage:
    """The Storage of a kind held in one row of ``table`` (no child tables), keyed by (guild, name)."""
    spec = table_spec(table)

    def to_rows(obj: SpecObject) -> Rows:
        return {spec.name: [main_row(obj, fields, {})]}

    def from_rows(main: Mapping[str, Any], children: Mapping[str, Sequence[Row]]) -> SpecObject:
        return build_object(kind, main, join(main, fields, main.get("extra")))

    return Storage(kind, (spec,), to_rows, from_rows)
