"""The kind registry: each name in ``KIND_ORDER`` is found as its module ``hlb.compiler.kinds.<slug>``.

``hlb.compiler.model.KIND_ORDER`` is the one list of kinds (in create order;
deletes run in reverse). Each kind module defines its ``Kind`` descriptor as
``KIND``; the row mapping, the reconciler, the schemas and the docs find their
part of a kind by the descriptor's names (docs/architecture.md, "One module
per kind", lists what a new kind needs).
"""

from __future__ import annotations

import importlib

from hlb.compiler.kinds.base import Kind, KindRules
from hlb.compiler.model import KIND_ORDER


def _load(name: str) -> Kind:
    kind = importlib.import_module(f"{__name__}.{name.lower()}").KIND
    if not isinstance(kind, Kind) or kind.name != name:  # pragma: no cover - caught by any test run
        raise RuntimeError(f"hlb.compiler.kinds.{name.lower()}.KIND is not the descriptor of {name}")
    return kind


KINDS: tuple[Kind, ...] = tuple(_load(name) for name in KIND_ORDER)
_BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS}


def kind_for(name: str) -> Kind:
    """The descriptor of kind ``name`` ("Channel"); KeyError for a kind the registry does not know."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no kind {name!r}; known kinds: {', '.join(_BY_NAME)}") from None


def allowed_secrets(name: str) -> tuple[tuple[str | None, ...], ...]:
    """Where kind ``name`` may hold ``${secret:NAME}``; nowhere for a kind the registry does not know."""
    kind = _BY_NAME.get(name)
    return kind.secret_places if kind is not None else ()


def rules_for(kind: str) -> KindRules:
    """The rules of ``kind`` ("Channel"); KeyError for a kind the registry does not know."""
    return kind_for(kind).rules


__all__ = ["KINDS", "Kind", "allowed_secrets", "kind_for", "rules_for"]
