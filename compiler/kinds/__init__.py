"""The ordered registry of kinds: one module per kind, in create order.

Adding a kind is adding its module here (and its schema, docs page and test
cases); ``RULES`` follows ``KIND_ORDER``, the order objects are created in.
"""

from __future__ import annotations

from hlb.compiler.kinds import channel, command, dashboard, guild, workflow
from hlb.compiler.kinds.base import KindRules
from hlb.compiler.model import KIND_ORDER

RULES: tuple[KindRules, ...] = (guild.RULES, channel.RULES, workflow.RULES, dashboard.RULES, command.RULES)
_BY_KIND: dict[str, KindRules] = {rules.kind: rules for rules in RULES}

if tuple(_BY_KIND) != KIND_ORDER:  # pragma: no cover - a programming error, caught by any test run
    raise RuntimeError(f"kind registry {tuple(_BY_KIND)} is out of step with KIND_ORDER {KIND_ORDER}")


def rules_for(kind: str) -> KindRules:
    """The rules of ``kind`` ("Channel"); KeyError for a kind the registry does not know."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise KeyError(f"no rules for kind {kind!r}; known kinds: {', '.join(_BY_KIND)}") from None


__all__ = ["RULES", "rules_for"]
