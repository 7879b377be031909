"""Template limits seen without rendering: constant expressions and nested constant loops over a limit.

``limit_error`` walks a parsed template (or expression) and evaluates only what is constant
(``'x' * 10**9``, ``range(10**9)``, ``lipsum(10**6)``, two nested ``range(10000)`` loops) with
the same checks the renderer makes, before computing anything; what depends on data is left to
the render.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

from jinja2 import nodes

from hlb.templating import limits
from hlb.templating.limits import MAX_LOOP_ITERATIONS, LimitExceeded

_OPERATORS: dict[type[nodes.BinExpr], tuple[str, Callable[[Any, Any], Any]]] = {
    nodes.Add: ("+", operator.add),
    nodes.Sub: ("-", operator.sub),
    nodes.Mul: ("*", operator.mul),
    nodes.Pow: ("**", operator.pow),
    nodes.Mod: ("%", operator.mod),
    nodes.FloorDiv: ("//", operator.floordiv),
    nodes.Div: ("/", operator.truediv),
}


class _Unknown(Exception):
    """The value depends on data (or is not worth computing here)."""


def limit_error(tree: nodes.Node) -> tuple[int, str] | None:
    """``(line, message)`` for the first limit a template's constant parts go over; ``None`` if none."""
    for node in (tree, *tree.find_all((nodes.BinExpr, nodes.Concat, nodes.Call, nodes.Filter))):
        try:
            _value(node)
        except LimitExceeded as error:
            return node.lineno, str(error)
        except Exception:
            pass
    try:
        _loops(tree.iter_child_nodes(), 1)
    except _NestedLoops as error:
        return error.lineno, str(error)
    return None


def _args(node: nodes.Call | nodes.Filter) -> tuple[list[Any], dict[str, Any]]:
    if node.dyn_args is not None or node.dyn_kwargs is not None:
        raise _Unknown
    return [_value(a) for a in node.args], {str(k.key): _value(k.value) for k in node.kwargs}


def _value(node: nodes.Node) -> Any:
    """The value of a constant expression, each step checked against the limits first."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.List | nodes.Tuple):
        items = [_value(item) for item in node.items]
        return items if isinstance(node, nodes.List) else tuple(items)
    if isinstance(node, nodes.Neg):
        return -_value(node.node)
    if isinstance(node, nodes.BinExpr) and type(node) in _OPERATORS:
        symbol, apply = _OPERATORS[type(node)]
        left, right = _value(node.left), _value(node.right)
        limits.check_binop(symbol, left, right)
        try:
            return apply(left, right)
        except (ArithmeticError, TypeError, ValueError):
            raise _Unknown from None
    if isinstance(node, nodes.Concat):
        return limits.joined("".join(str(_value(part)) for part in node.nodes))
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
        args, kwargs = _args(node)
        if node.node.name == "range":
            return _checked(limits.check_range, args, kwargs)
        if node.node.name == "lipsum":
            lipsum_args = {k: v for k, v in kwargs.items() if k != "html"}
            _checked(limits.check_lipsum, [a for i, a in enumerate(args) if i != 1], lipsum_args)
    if isinstance(node, nodes.Filter) and node.name in limits.LIMITED_FILTERS and node.node is not None:
        value, (args, kwargs) = _value(node.node), _args(node)
        limits.check_filter(node.name, value, tuple(args), kwargs)
    raise _Unknown


def _checked(check: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    try:
        return check(*args, **kwargs)
    except (TypeError, ValueError):
        raise _Unknown from None


class _NestedLoops(LimitExceeded):
    def __init__(self, lineno: int, iterations: int) -> None:
        super().__init__(
            f"over the template limit on loop iterations: nested loops run {iterations} times; "
            f"at most {MAX_LOOP_ITERATIONS} in one render"
        )
        self.lineno = lineno


def _length(node: nodes.Node) -> int:
    """How many items a loop's constant iterable has (1 when it depends on data)."""
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.ImportedName) and node.args:
        node = node.args[0]  # the `counted(...)` guard_loops put around every loop's iterable
    try:
        value = _value(node)
    except (_Unknown, LimitExceeded):
        return 1
    return len(value) if isinstance(value, range | list | tuple | str) else 1


def _loops(children: Iterable[nodes.Node], factor: int) -> None:
    """Raise ``_NestedLoops`` when constant loops nested in each other multiply past the limit."""
    for node in children:
        if isinstance(node, nodes.For):
            inner = factor * _length(node.iter)
            if inner > MAX_LOOP_ITERATIONS:
                raise _NestedLoops(node.lineno, inner)
            _loops(node.body, inner)
            _loops(node.else_, factor)
        else:
            _loops(node.iter_child_nodes(), factor)
