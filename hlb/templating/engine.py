"""The template engine: one sandboxed Jinja environment with hlb's filters, syntax checks and rendering.

Strings holding ``{{``, ``{%`` or ``{#`` are templates. The compiler only checks
their syntax (``check_template``, ``check_expression``); the bot renders them
(``render``, ``evaluate``) with a context of plain data (``user``, ``options``,
``steps``, ``sources``, ``now``...).

Safety: templates run in Jinja's ``ImmutableSandboxedEnvironment`` (no access to
``_``-prefixed attributes or Python internals, no mutation of the context) and
within the limits of ``hlb.templating.limits``: output size, time per
render, integer size, ``range`` and loop iterations. The hooks of ``_Environment``
check them as a render runs; ``template_errors`` and ``check_expression`` report
what is visible without running it (``'x' * 10**9``, ``range(10**9)``).

Undefined values: ``StrictChainableUndefined``. Looking deeper into a missing
value is allowed (``sources.nodes.data.result`` when ``data`` is missing), so
``| default(...)`` and ``is defined`` work at any depth; printing, iterating,
comparing or testing the truth of a missing value is an error naming it, so a
typo never renders silently as an empty string.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

from hlb.compiler.diagnostics import JsonPath, dotted_path
from hlb.templating import is_template as is_template
from hlb.templating import limits
from hlb.templating import static as template_static
from hlb.templating import unwrap_expression as unwrap_expression
from hlb.templating.filters import FILTERS
from hlb.templating.limits import MAX_OUTPUT, LimitExceeded

_CACHE_SIZE = 4096
_SCALARS = frozenset({int, float, bool, type(None)})
_OUTPUT_TAG = re.compile(r"\{\{.*?\}\}", re.DOTALL)  # one {{ ... }}, up to the first }}


class RenderError(Exception):
    """A template could not be rendered or evaluated; the message says why."""


class StrictChainableUndefined(ChainableUndefined, StrictUndefined):
    """Missing values may be chained (``a.b.c``) but not printed, compared or tested."""

    __slots__ = ()


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox with hlb's limits (``hlb.templating.limits``) checked in every hook."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})  # also keeps them from being folded at compile
    code_generator_class = limits.LimitedCodeGenerator

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return limits.guard_loops(super()._parse(source, name, filename))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        limits.tick()
        limits.check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        limits.tick()
        if isinstance(obj, str) and attribute in ("format", "format_map"):
            limits.check_brace_format(obj)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        limits.tick()
        return super().getitem(obj, argument)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        limits.tick()
        target = getattr(__obj, "__self__", None)
        if target is not None:
            args = limits.check_method(target, getattr(__obj, "__name__", ""), args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


def _limited(name: str, func: Any) -> Any:
    """A built-in filter that first refuses results past the limits (``check_filter``)."""
    skip = 1 if _PassArg.from_obj(func) is not None else 0  # eval_ctx / environment comes first

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value = limits.check_filter(name, args[skip], args[skip + 1 :], kwargs)
        return func(*args[:skip], value, *args[skip + 1 :], **kwargs)

    return wrapper


ENV = _Environment(
    autoescape=False,
    undefined=StrictChainableUndefined,
    keep_trailing_newline=True,
    finalize=lambda v: "" if v is None else v,
)
ENV.filters.update(FILTERS)
ENV.filters.update({name: _limited(name, ENV.filters[name]) for name in limits.LIMITED_FILTERS})
ENV.globals.update(range=limits.check_range, lipsum=limits.lipsum)


# --- checks ------------------------------------------------------------------------------------


def _explain(error: TemplateSyntaxError, source: str, *, expression: bool) -> str:
    message = error.message or "syntax error"
    for kind, names in (("filter", ENV.filters), ("test", ENV.tests)):
        prefix = f"No {kind} named '"
        if message.startswith(prefix):
            unknown = message[len(prefix) :].split("'", 1)[0]
            close = difflib.get_close_matches(unknown, list(names), n=1)
            if close:
                hint = f"did you mean '{close[0]}'?"
            elif kind == "filter":
                hint = f"hlb adds {', '.join(FILTERS)} to Jinja's built-in filters"
            else:
                hint = "see Jinja's built-in tests"
            message = f"no {kind} named '{unknown}' ({hint})"
    lines = source.splitlines() or [""]
    lineno = min(max(error.lineno or 1, 1), len(lines))
    snippet = lines[lineno - 1].strip()
    if len(snippet) > 60:
        snippet = snippet[:57] + "..."
    if expression:
        return (
            f"invalid expression `{snippet}`: {message.rstrip('.')}; "
            "write a Jinja expression such as `steps.call.status == 200`"
        )
    return f"line {lineno} of the template (`{snippet}`): {message.rstrip('.')}; fix the Jinja syntax"


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile(source: str) -> Template | str:
    try:
        return ENV.from_string(source)
    except TemplateSyntaxError as error:  # TemplateAssertionError (unknown filter) included
        return _explain(error, source, expression=False)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile_expression(source: str) -> Any:
    if not source:
        return "the expression is empty; write a condition such as `steps.call.status == 200`"
    try:
        compiled = ENV.compile_expression(source)
        over = template_static.limit_error(Parser(ENV, source, state="variable").parse_expression())
    except TemplateSyntaxError as error:
        return _explain(error, source, expression=True)
    return compiled if over is None else f"the expression is {over[1]}"


def _syntax_error(source: str) -> str | None:
    """``None`` when every ``{{ }}`` part is valid on its own; otherwise the whole template decides."""
    if _valid_by_parts(source):
        return None
    return _template_error(source)


def _valid_by_parts(source: str) -> bool:
    """Whether ``source`` is text and ``{{ }}`` tags only, each tag valid when parsed alone.

    Jinja lexes text up to the next ``{{``, ``{%`` or ``{#``, and an output tag
    up to the ``}}`` that closes it; a tag cut at its first ``}}`` that parses
    alone therefore parses the same inside the template. Templates share few
    distinct tags (``{{ user.name }}`` in a thousand messages), so checking tags
    instead of whole templates parses each once. Anything else (blocks,
    comments, a ``}}`` inside a tag, an unclosed ``{{``) takes the full parse.
    """
    if "{%" in source or "{#" in source:
        return False
    if "{{" in _OUTPUT_TAG.sub("", source):
        return False
    return all(_template_error(tag) is None for tag in _OUTPUT_TAG.findall(source))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _template_error(source: str) -> str | None:
    """Parse only (no code generation: about 3x cheaper), then check filter and test names."""
    from jinja2 import nodes

    try:
        tree = ENV.parse(source)
    except TemplateSyntaxError as error:
        return _explain(error, source, expression=False)
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        known = ENV.filters if isinstance(node, nodes.Filter) else ENV.tests
        if node.name not in known:
            what = "filter" if isinstance(node, nodes.Filter) else "test"
            unknown = TemplateSyntaxError(f"No {what} named '{node.name}'.", node.lineno)
            return _explain(unknown, source, expression=False)
    over = template_static.limit_error(tree)
    if over is not None:
        lineno, message = over
        return f"line {lineno} of the template: {message}"
    return None


def check_template(s: str) -> str | None:
    """``None`` if ``s`` is a valid template; otherwise the error, naming the line inside the template."""
    return _syntax_error(s)


def check_expression(s: str) -> str | None:
    """``None`` if ``s`` (optionally wrapped in ``{{ }}``) is a valid expression; otherwise the error."""
    compiled = _compile_expression(unwrap_expression(s))
    return compiled if isinstance(compiled, str) else None


def iter_strings(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, str]]:
    """Every string inside a JSON value, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from iter_strings(item, (*path, key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from iter_strings(item, (*path, i))


def template_errors(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, str]]:
    """(path, message) for every template string inside ``value`` whose syntax is invalid."""
    if not _holds_bad_template(value):  # the common case, without building a path per string
        return
    for where, text in iter_strings(value, path):
        if is_template(text):
            error = check_template(text)
            if error is not None:
                yield where, f"{dotted_path(where)}: {error}"


def _holds_bad_template(value: Any) -> bool:
    """Whether some string inside ``value`` is a template with invalid syntax (plain types first)."""
    kind = type(value)
    if kind is str:
        return is_template(value) and check_template(value) is not None
    if kind is dict:
        items: Iterable[Any] = value.values()
    elif kind is list:
        items = value
    elif kind in _SCALARS:
        return False
    elif isinstance(value, str):
        return is_template(value) and check_template(value) is not None
    elif isinstance(value, Mapping):
        items = value.values()
    elif isinstance(value, list | tuple):
        items = value
    else:
        return False
    for item in items:  # noqa: SIM110 - a plain loop: no generator per container on this hot path
        if _holds_bad_template(item):
            return True
    return False


# --- rendering (the bot) -----------------------------------------------------------------------


def render(s: str, context: Mapping[str, Any], *, limit: int = MAX_OUTPUT) -> str:
    """Render ``s`` with ``context``; literal strings come back unchanged. Raises ``RenderError``.

    The render runs within the limits of ``hlb.templating.limits`` (time, loops, sizes).
    """
    if not is_template(s):
        return s
    compiled = _compile(s)
    if isinstance(compiled, str):
        raise RenderError(compiled)
    out: list[str] = []
    size = 0
    try:
        with limits.budget():
            for chunk in compiled.generate(dict(context)):
                size += len(chunk)
                if size > limit:
                    output = f"the template renders to more than {limit} characters"
                    raise LimitExceeded(f"over the template limit on output: {output}")
                out.append(chunk)
    except LimitExceeded as error:
        raise RenderError(str(error)) from None
    except Exception as error:  # undefined values, sandbox refusals, filter errors: all user data
        raise RenderError(f"{type(error).__name__}: {error}") from error
    return "".join(out)


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """The value of an expression (a step's ``when``); a missing value gives ``None``."""
    compiled = _compile_expression(unwrap_expression(expression))
    if isinstance(compiled, str):
        raise RenderError(compiled)
    try:
        with limits.budget():
            return compiled(**dict(context))
    except LimitExceeded as error:
        raise RenderError(str(error)) from None
    except Exception as error:
        raise RenderError(f"{type(error).__name__}: {error}") from error
