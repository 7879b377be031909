"""The template engine: one sandboxed Jinja environment with hlb's filters, syntax checks and rendering.

Strings holding ``{{``, ``{%`` or ``{#`` are templates. The compiler only checks
their syntax (``check_template``, ``check_expression``); the bot renders them
(``render``, ``evaluate``) with a context of plain data (``user``, ``options``,
``steps``, ``sources``, ``now``...).

Safety: templates run in Jinja's ``ImmutableSandboxedEnvironment`` (no access to
``_``-prefixed attributes or Python internals, no mutation of the context),
``range`` is capped by the sandbox, ``*`` and ``**`` refuse results that would
exhaust memory, and rendered output is capped at ``MAX_OUTPUT`` characters.

Undefined values: ``StrictChainableUndefined``. Looking deeper into a missing
value is allowed (``sources.nodes.data.result`` when ``data`` is missing), so
``| default(...)`` and ``is defined`` work at any depth; printing, iterating,
comparing or testing the truth of a missing value is an error naming it, so a
typo never renders silently as an empty string.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Template, TemplateSyntaxError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from hlb.compiler.durations import format_duration, parse_duration

MAX_OUTPUT = 100_000  # characters a single render may produce
_MAX_POWER = 256  # largest integer exponent allowed in templates
_CACHE_SIZE = 4096
_DISCORD_STYLES = frozenset("tTdDfFR")  # <t:epoch:STYLE> timestamp styles
_SCALARS = frozenset({int, float, bool, type(None)})
_OUTPUT_TAG = re.compile(r"\{\{.*?\}\}", re.DOTALL)  # one {{ ... }}, up to the first }}

JsonPath = tuple[str | int, ...]


class RenderError(Exception):
    """A template could not be rendered or evaluated; the message says why."""


class StrictChainableUndefined(ChainableUndefined, StrictUndefined):
    """Missing values may be chained (``a.b.c``) but not printed, compared or tested."""

    __slots__ = ()


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_OUTPUT
                ):
                    raise SecurityError(f"'*' would build a value longer than {MAX_OUTPUT} items")
        if (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and abs(right) > _MAX_POWER
        ):
            raise SecurityError(f"'**' exponents above {_MAX_POWER} are not allowed")
        return super().call_binop(context, operator, left, right)


# --- filters -----------------------------------------------------------------------------------


def _number(value: Any, filter_name: str) -> float:
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{filter_name}: {value!r} is not a number")


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            try:
                return _to_datetime(datetime.fromisoformat(text))
            except ValueError:
                pass
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        seconds = value / 1000 if abs(value) > 1e11 else value  # JavaScript-style milliseconds
        return datetime.fromtimestamp(seconds, UTC)
    raise ValueError(f"datetime: cannot read {value!r} as a time; pass a datetime, epoch seconds or ISO 8601")


def filter_datetime(value: Any, format: str = "%Y-%m-%d %H:%M UTC") -> str:
    """A time in UTC with ``strftime`` ``format``; a single Discord style letter
    (``t T d D f F R``) gives Discord's ``<t:epoch:R>`` markup, shown in each reader's zone."""
    moment = _to_datetime(value)
    if format in _DISCORD_STYLES:
        return f"<t:{int(moment.timestamp())}:{format}>"
    return moment.strftime(format)


def filter_duration(value: Any) -> str:
    """Seconds (or a duration string) as '1h30m'."""
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        seconds = parse_duration(value)
        if seconds is None:
            raise ValueError(f"duration: {value!r} is not a duration")
        return format_duration(seconds)
    return format_duration(_number(value, "duration"))


def filter_bytes(value: Any, binary: bool = True, digits: int = 1) -> str:
    """A size in bytes for people: 1536 -> '1.5 KiB' (``binary=false``: 1500 -> '1.5 kB')."""
    size = _number(value, "bytes")
    base = 1024.0 if binary else 1000.0
    units = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB") if binary else ("kB", "MB", "GB", "TB", "PB", "EB")
    if abs(size) < base:
        return f"{int(size)} B" if size.is_integer() else f"{size:.{digits}f} B"
    rank = 0
    size /= base
    while abs(size) >= base and rank < len(units) - 1:
        size /= base
        rank += 1
    return f"{size:.{digits}f} {units[rank]}"


def filter_percent(value: Any, total: Any = None, digits: int = 1) -> str:
    """A ratio as a percentage: 0.423 -> '42.3%'; with ``total``, ``value / total``."""
    ratio = _number(value, "percent")
    if total is not None:
        whole = _number(total, "percent")
        if whole == 0:
            raise ValueError("percent: total is 0")
        ratio /= whole
    return f"{ratio * 100:.{digits}f}%"


ENV = _Environment(
    autoescape=False,
    undefined=StrictChainableUndefined,
    keep_trailing_newline=True,
    finalize=lambda v: "" if v is None else v,
)
FILTERS = {
    "datetime": filter_datetime,
    "duration": filter_duration,
    "bytes": filter_bytes,
    "percent": filter_percent,
}
ENV.filters.update(FILTERS)


# --- checks ------------------------------------------------------------------------------------


def is_template(s: str) -> bool:
    """Whether ``s`` is a template (holds ``{{``, ``{%`` or ``{#``) rather than literal text."""
    return "{{" in s or "{%" in s or "{#" in s


def unwrap_expression(s: str) -> str:
    """A ``when`` expression without the ``{{ }}`` people tend to wrap it in."""
    text = s.strip()
    if text.startswith("{{") and text.endswith("}}") and "{{" not in text[2:-2] and "}}" not in text[2:-2]:
        return text[2:-2].strip()
    return text


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
        return ENV.compile_expression(source)
    except TemplateSyntaxError as error:
        return _explain(error, source, expression=True)


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


def dotted_path(path: JsonPath) -> str:
    """A path as people read it: ``spec.embeds[0].title``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the document"


# --- rendering (the bot) -----------------------------------------------------------------------


def render(s: str, context: Mapping[str, Any], *, limit: int = MAX_OUTPUT) -> str:
    """Render ``s`` with ``context``; literal strings come back unchanged. Raises ``RenderError``."""
    if not is_template(s):
        return s
    compiled = _compile(s)
    if isinstance(compiled, str):
        raise RenderError(compiled)
    out: list[str] = []
    size = 0
    try:
        for chunk in compiled.generate(dict(context)):
            size += len(chunk)
            if size > limit:
                raise RenderError(f"the template renders to more than {limit} characters")
            out.append(chunk)
    except RenderError:
        raise
    except Exception as error:  # undefined values, sandbox refusals, filter errors: all user data
        raise RenderError(f"{type(error).__name__}: {error}") from error
    return "".join(out)


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """The value of an expression (a step's ``when``); a missing value gives ``None``."""
    compiled = _compile_expression(unwrap_expression(expression))
    if isinstance(compiled, str):
        raise RenderError(compiled)
    try:
        return compiled(**dict(context))
    except Exception as error:
        raise RenderError(f"{type(error).__name__}: {error}") from error
