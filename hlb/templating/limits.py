"""Template limits: what one render may cost (output, time, integer size, loops), checked as it runs.

The limits are plain numbers, documented in docs/templates.md. A template that goes over one
raises ``LimitExceeded`` naming the limit; the renderer turns it into that object's render error.

Time is checked cooperatively, never with signals: a render's ``Budget`` (held in a context
variable for the duration of one render) counts the CPU time of the thread that renders, not the
wall clock (a busy machine slows a render down without the template costing more), with a
wall-clock cap ``WALL_GRACE_SECONDS`` later so nothing waits long for a starved render. It is
consulted by the sandbox hooks (calls, attribute and item access, operators), by every loop
iteration and by every piece of text written. The code generator here routes loops and text
through those checks; ``guard_loops`` marks the loops.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.utils import generate_lorem_ipsum

MAX_OUTPUT = 100_000  # characters one render may produce; also the longest value it may build
MAX_WRITTEN = 10 * MAX_OUTPUT  # characters written or built in all: `set` blocks, macros, `*`, `~`...
MAX_RENDER_SECONDS = 1.0  # CPU time one render (or one `when` expression) may take
MESSAGE_RENDERS = 3  # all the templates of one dashboard message together: this many renders' time
MAX_MESSAGE_SECONDS = MESSAGE_RENDERS * MAX_RENDER_SECONDS  # 3 s: CPU time of one message's templates
MAX_INTEGER_BITS = 4096  # size of an integer a template may compute (about 1,230 decimal digits)
MAX_RANGE = 10_000  # items of one range(...)
MAX_LOOP_ITERATIONS = 100_000  # loop iterations in one render, all loops together
MAX_LIPSUM_WORDS = 10_000  # words lipsum(n, html, min, max) may write (n * max)
# A render also stops this long after its CPU time would be up on the wall clock: on a machine so
# busy that the render gets a small share of a core, the bot (and SIGTERM) does not wait for it.
WALL_GRACE_SECONDS = 2.0
BREATH_SECONDS = 0.001  # a render in a worker thread lets other threads run this often (see Budget)
# The CPU time one render may take, per task (``limit_time``): a bot may be stricter than the default.
_RENDER_SECONDS: ContextVar[float] = ContextVar("hlb_render_seconds", default=MAX_RENDER_SECONDS)
# Set once nothing waits for the renders of this context any more (``abandon_when``).
_ABANDONED: ContextVar[threading.Event | None] = ContextVar("hlb_render_abandoned", default=None)

_COUNTED = f"{__name__}.counted"  # the function every `for` loop's iterable goes through
_WRITTEN = f"{__name__}.written"  # ... every printed value
_JOINED = f"{__name__}.joined"  # ... every `~`
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_FIELD = re.compile(r"\{[^{}]*\}")
_TEXT_METHODS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "indent", "replace", "join", "translate"}
)


class LimitExceeded(Exception):
    """A template went over one of the limits; the message names it."""


def _over(limit: str, what: str) -> LimitExceeded:
    return LimitExceeded(f"over the template limit on {limit}: {what}")


class Budget:
    """What one render has spent so far, against its limits.

    Every check of the deadline is also a chance for other threads to run: a render holds
    Python's GIL, and a thread waiting for it (the bot's event loop, while a dashboard renders
    in a worker thread) would otherwise wait 5 ms each time. So, in a worker thread, every
    ``BREATH_SECONDS`` the render lets go of the GIL for a moment (``time.sleep(0)``).

    Reading the thread's CPU clock costs a system call (about 1 us, ten times the wall clock),
    and a render checks its budget at every loop iteration and call. A thread's CPU time never
    runs ahead of the wall clock, so the CPU clock is read only once the wall clock says the
    budget could be spent (``cpu_check``), and then again no sooner than it could be."""

    __slots__ = (
        "abandoned", "breath", "cpu_check", "deadline", "iterations", "late", "thread", "wall_deadline",
        "written",
    )

    def __init__(self, seconds: float | None = None, late: str = "") -> None:
        seconds = render_seconds() if seconds is None else seconds
        self.thread = threading.get_ident()  # the deadline is on this thread's CPU clock
        self.deadline = time.thread_time() + seconds
        wall = time.monotonic()
        self.cpu_check = wall + seconds  # the earliest wall time the CPU budget can be spent
        self.wall_deadline = wall + seconds + WALL_GRACE_SECONDS
        self.late = late or f"the render took longer than {seconds:g} s"  # why the deadline is there
        self.iterations = 0
        self.written = 0
        # when to let other threads run next; never on the main thread (preview, validate), where
        # no event loop waits and letting go would only slow the render down
        self.breath = math.inf if threading.current_thread() is threading.main_thread() else 0.0
        self.abandoned = _ABANDONED.get()  # looked at when letting go of the GIL: worker threads only

    def tick(self) -> None:
        now = time.monotonic()
        if now > self.wall_deadline:
            raise _over("time", self.late)
        if now >= self.cpu_check:
            left = self.deadline - time.thread_time()
            if left < 0:
                raise _over("time", self.late)
            self.cpu_check = now + left
        if now >= self.breath:
            if self.abandoned is not None and self.abandoned.is_set():
                raise _over("time", "nothing waits for the render any more")
            time.sleep(0)  # lets go of the GIL: a waiting thread gets it now, not in 5 ms
            self.breath = now + BREATH_SECONDS


_BUDGET: ContextVar[Budget | None] = ContextVar("hlb_template_budget", default=None)


def limit_time(seconds: float) -> None:
    """Let each render of this task, and of the tasks and threads it starts from now on, take
    ``seconds`` of CPU time (``MAX_RENDER_SECONDS`` unless set), a dashboard message three times that."""
    _RENDER_SECONDS.set(seconds)


def abandon_when(event: threading.Event) -> None:
    """Let each render of this context stop at its next check in a worker thread once ``event`` is set."""
    _ABANDONED.set(event)


def render_seconds() -> float:
    """The CPU time one render may take here (see ``limit_time``)."""
    return _RENDER_SECONDS.get()


def message_seconds() -> float:
    """The CPU time all the templates of one dashboard message may take together here."""
    return MESSAGE_RENDERS * _RENDER_SECONDS.get()


@contextmanager
def budget(seconds: float | None = None, late: str = "") -> Iterator[Budget]:
    """A fresh budget for the renders that run inside this block; within an outer budget (a whole
    dashboard message) it also ends no later than the outer one. ``late`` says what took too long."""
    spent, outer = Budget(seconds, late), _BUDGET.get()
    if outer is not None and outer.thread == spent.thread and outer.deadline < spent.deadline:
        spent.deadline, spent.late = outer.deadline, outer.late
        spent.cpu_check = min(spent.cpu_check, outer.cpu_check)
    if outer is not None:
        spent.wall_deadline = min(spent.wall_deadline, outer.wall_deadline)
    token = _BUDGET.set(spent)
    try:
        yield spent
    finally:
        _BUDGET.reset(token)


def tick() -> None:
    """Raise ``LimitExceeded`` when the current render is past its deadline."""
    spent = _BUDGET.get()
    if spent is not None:
        spent.tick()


# --- checks the sandbox hooks make ---------------------------------------------------------------


def _spend(size: int) -> None:
    """Count ``size`` characters the render writes or builds against ``MAX_WRITTEN``."""
    spent = _BUDGET.get()
    if spent is not None:
        spent.written += size
        if spent.written > MAX_WRITTEN:
            raise _over("output", f"the template writes or builds more than {MAX_WRITTEN} characters in all")


def _bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``*``, ``**``, ``+`` and ``%`` whose result would go over a limit, before computing it."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if (
                isinstance(seq, str | list | tuple)
                and isinstance(times, int)
                and len(seq) * times > MAX_OUTPUT
            ):
                raise _over("value size", f"'*' would build a value longer than {MAX_OUTPUT} items")
            if isinstance(seq, str) and isinstance(times, int):
                _spend(len(seq) * times)
        if isinstance(left, int) and isinstance(right, int) and _bits(left) + _bits(right) > MAX_INTEGER_BITS:
            raise _over("integer size", f"'*' would make an integer larger than {MAX_INTEGER_BITS} bits")
    elif operator == "**":
        powers = isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0
        if powers and (right > MAX_INTEGER_BITS or math.log2(abs(left)) * right > MAX_INTEGER_BITS):
            raise _over("integer size", f"'**' would make an integer larger than {MAX_INTEGER_BITS} bits")
    elif operator == "+":
        if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            if len(left) + len(right) > MAX_OUTPUT:
                raise _over("value size", f"'+' would build a value longer than {MAX_OUTPUT} items")
            if isinstance(left, str):
                _spend(len(left) + len(right))
        elif max(_bits(left), _bits(right)) >= MAX_INTEGER_BITS:
            raise _over("integer size", f"'+' would make an integer larger than {MAX_INTEGER_BITS} bits")
    elif operator == "%" and isinstance(left, str):
        check_percent_format(left, right)


def _wide(value: Any) -> bool:
    return isinstance(value, int) and abs(value) > MAX_OUTPUT


def check_percent_format(spec: str, args: Any) -> None:
    """Refuse ``'%999999999d' % x`` (and ``'%*d'`` with such a width): a width is a size; the widths
    used count toward ``MAX_WRITTEN``."""
    values = args if isinstance(args, tuple) else (args,)
    widths = 0
    for width, precision in _PERCENT_SPEC.findall(spec):
        for part in (width, precision):
            if (part.isdigit() and int(part) > MAX_OUTPUT) or (part == "*" and any(map(_wide, values))):
                raise _over("value size", f"a '%' format width above {MAX_OUTPUT}")
            widths += int(part) if part.isdigit() else 0
    _spend(widths)


def check_brace_format(spec: str) -> None:
    """Refuse ``'{:>999999999}'.format(x)`` and widths taken from arguments (``'{:{}}'``); the widths
    used count toward ``MAX_WRITTEN``."""
    widths = 0
    for field in _BRACE_FIELD.findall(spec):
        numbers = [int(n) for n in re.findall(r"\d+", field.partition(":")[2])]
        if any(n > MAX_OUTPUT for n in numbers):
            raise _over("value size", f"a format width above {MAX_OUTPUT}")
        widths += sum(numbers)
    if re.search(r"\{[^{}]*\{", spec.replace("{{", "")):
        raise _over("value size", "a format width taken from an argument ('{:{}}')")
    _spend(widths)


def _as_text(value: Any) -> Any:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def check_text_call(name: str, text: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Refuse a text method or filter (``center``, ``replace``, ``join``...) whose result would grow past
    ``MAX_OUTPUT``; returns ``args`` with ``join``'s items made a list, so they are measured once."""
    if name not in _TEXT_METHODS or not isinstance(text, str | bytes):
        return args
    text, given = _as_text(text), tuple(map(_as_text, (*args, *kwargs.values())))
    size = len(text)
    if name in ("center", "ljust", "rjust", "zfill"):
        size = max([size, *(a for a in given if isinstance(a, int))])
    elif name == "expandtabs" and given and isinstance(given[0], int):
        size += text.count("\t") * given[0]
    elif name == "indent" and given and isinstance(given[0], int | str):
        unit = given[0] if isinstance(given[0], int) else len(given[0])
        size += (text.count("\n") + 1) * unit
    elif name == "replace" and len(given) >= 2 and isinstance(given[0], str) and isinstance(given[1], str):
        old, new = given[0], given[1]
        size += (text.count(old) if old else size + 1) * max(len(new) - len(old), 0)
    elif name == "join" and given:
        items = list(given[0])
        args = (items, *args[1:]) if args else args
        size = size * len(items) + sum(len(i) if isinstance(i, str | bytes) else 20 for i in items)
    elif name == "translate" and given and isinstance(given[0], dict):
        size *= max((len(v) for v in given[0].values() if isinstance(v, str)), default=1)
    if size > max(MAX_OUTPUT, len(text)):
        raise _over("value size", f"{name} would build a text longer than {MAX_OUTPUT} characters")
    if size > len(text):
        _spend(size)
    return args


def check_method(target: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Refuse a method call on a text (``center``, ``join``...) or ``int.to_bytes`` that would build too
    large a value; returns the arguments to call it with (see ``check_text_call``)."""
    if isinstance(target, str | bytes):
        return check_text_call(name, target, args, kwargs)
    if isinstance(target, int) and name == "to_bytes" and any(map(_wide, (*args, *kwargs.values()))):
        raise _over("value size", f"to_bytes with a length above {MAX_OUTPUT}")
    return args


LIMITED_FILTERS = frozenset({"center", "indent", "replace", "format", "join", "batch", "slice", "tojson"})


def check_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Refuse a built-in filter call whose result would go over a limit; returns the value to filter
    (``join``'s items made a list, so they are measured once). ``batch``, ``slice`` and ``tojson``
    take a count or an indent: one above ``MAX_OUTPUT`` is refused."""
    if name == "format":
        check_percent_format(str(value), kwargs or args)
    elif name == "join":
        value = list(value)
        check_text_call("join", str(args[0] if args else kwargs.get("d", "")), (value,), {})
    elif name in ("batch", "slice", "tojson"):
        if any(map(_wide, (*args, *kwargs.values()))):
            raise _over("value size", f"{name} with a size above {MAX_OUTPUT}")
    elif name in LIMITED_FILTERS:
        check_text_call(name, str(value), args, kwargs)
    return value


def check_range(*args: Any) -> range:
    """``range`` with at most ``MAX_RANGE`` items."""
    made = range(*args)
    if len(made) > MAX_RANGE:
        raise _over("range", f"range(...) of {len(made)} items; at most {MAX_RANGE}")
    return made


def check_lipsum(n: Any = 5, min: Any = 20, max: Any = 100) -> None:
    """Refuse ``lipsum`` arguments that may write more than ``MAX_LIPSUM_WORDS`` words."""
    if not all(isinstance(v, int) for v in (n, min, max)) or n * max > MAX_LIPSUM_WORDS:
        raise _over("lipsum", f"lipsum(n={n}, max={max}) may write n * max words; at most {MAX_LIPSUM_WORDS}")


def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """Jinja's ``lipsum`` with at most ``MAX_LIPSUM_WORDS`` words."""
    check_lipsum(n, min, max)
    text = generate_lorem_ipsum(n, html, min, max)
    _spend(len(text))
    return text


# --- loops and written text ----------------------------------------------------------------------


def counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """``iterable`` item by item, each one counted against ``MAX_LOOP_ITERATIONS`` and the deadline."""
    spent = _BUDGET.get()
    for item in iterable:
        if spent is not None:
            spent.iterations += 1
            if spent.iterations > MAX_LOOP_ITERATIONS:
                raise _over(
                    "loop iterations", f"more than {MAX_LOOP_ITERATIONS} loop iterations in one render"
                )
            spent.tick()
        yield item


def written(text: str) -> str:
    """``text`` (one printed ``{{ }}``), counted against ``MAX_WRITTEN`` and the deadline."""
    _spend(len(text))
    tick()
    return text


def joined(text: str) -> str:
    """The result of ``~``, refused past ``MAX_OUTPUT`` characters."""
    if len(text) > MAX_OUTPUT:
        raise _over("value size", f"'~' built a text longer than {MAX_OUTPUT} characters")
    _spend(len(text))
    return text


def guard_loops(tree: nodes.Template) -> nodes.Template:
    """Every ``for`` loop's iterable wrapped in ``counted`` (which the sandbox's ``call`` also sees)."""
    for loop in tree.find_all(nodes.For):
        guard = nodes.ImportedName(_COUNTED, lineno=loop.lineno)
        loop.iter = nodes.Call(guard, [loop.iter], [], None, None, lineno=loop.lineno)
    return tree


class LimitedCodeGenerator(CodeGenerator):
    """Jinja's code generator with every printed value passed to ``written`` and every ``~`` to ``joined``."""

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write(f"{self.import_aliases[_WRITTEN]}(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write(f"{self.import_aliases[_JOINED]}(")
        super().visit_Concat(node, frame)
        self.write(")")

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        # import the two helpers the way Jinja imports ImportedName nodes, before any code uses them
        for name in (_WRITTEN, _JOINED):
            self.import_aliases[name] = alias = self.temporary_identifier()
            module, obj = name.rsplit(".", 1)
            self.writeline(f"from {module} import {obj} as {alias}")
        super().visit_Template(node, frame)
