"""The workflow engine: admit an ``Invocation`` (roles, inputs), run its steps in order, record the run.

``run_workflow`` never raises for a user's mistake: a refused run (role, inputs) or a failing step
(``StepFailed``, ``RenderError``, HTTP) comes back as a ``RunResult`` whose ``error`` is one line
naming the step. Steps after a failing one do not run and are not recorded. With a connection, the
run is a row of ``hlb_runtime.workflow_runs``: inserted as 'running', closed with the per-step
results. The engine opens no transaction (runs share the bot's autocommit connection concurrently):
on an autocommit connection each write is visible at once, otherwise the caller commits. Inputs are
stored redacted; secret values never reach the row, the results or the errors.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import psycopg

from hlb.compiler.kinds.workflow import step_type
from hlb.runtime.invocation import Effects, Invocation, StepFailed
from hlb.runtime.render import clip, in_thread
from hlb.runtime.secrets import Secrets, Vault
from hlb.runtime.steps import (
    StepTools,
    add_role_step,
    http_step,
    refresh_step,
    remove_role_step,
    reply_step,
    send_step,
)
from hlb.store import runtime_tables as runtime
from hlb.templating.engine import RenderError, evaluate

StepFn = Callable[[Mapping[str, Any], Mapping[str, Any], StepTools], Awaitable[Any]]
STEPS: dict[str, StepFn] = {
    "reply": reply_step,
    "send": send_step,
    "http": http_step,
    "add_role": add_role_step,
    "remove_role": remove_role_step,
    "refresh": refresh_step,
}
MAX_ERROR = 1000  # characters of a step's error
SELECT_VALUES = "values"  # the input a select menu's chosen options arrive in
_SECRET_KEY = re.compile(r"token|password|passwd|secret|api[_-]?key|credential|authorization", re.IGNORECASE)
_MENTION = re.compile(r"^<(?:@[!&]?|#)(\d{1,20})>$")
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@dataclass(frozen=True)
class StepResult:
    """How one step went: 'ok', 'skipped' (its ``when`` was false) or 'error', and how long it took."""

    id: str
    kind: str
    status: str
    duration_ms: float
    error: str | None = None


@dataclass(frozen=True)
class RunResult:
    """How a run went: 'ok', 'error' or 'refused', the one-line error, and the steps that ran."""

    run_id: int | None
    status: str
    error: str | None
    steps: tuple[StepResult, ...]


class TemplateInputs(dict[str, Any]):
    """Inputs as templates see them: ``inputs.values`` and ``inputs['values']`` both give the item.

    Attribute access looks at the items first, so an input named like a dict method (``values``,
    ``items``) wins over the method. Templates cannot mutate it (the sandbox is immutable).
    """

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        return super().__getattribute__(name)


# --- admission: roles and inputs ----------------------------------------------------------------


def allowed(inv: Invocation) -> bool:
    """Whether the actor may run the workflow: no ``allowed_roles``, no actor (a schedule), or a match."""
    roles = inv.workflow.spec.get("allowed_roles")
    if not roles or inv.actor is None:
        return True
    held = {str(r) for r in inv.actor.roles} | set(inv.actor.role_names)
    return any(str(role) in held for role in roles)


def _snowflake(value: Any) -> Any:
    if isinstance(value, Mapping) and "id" in value:
        return {**value, "id": _snowflake(value["id"])}
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    match = _MENTION.match(text)
    text = match[1] if match else text
    if not text.isdigit():
        raise ValueError("a Discord id")
    return text


def _integer(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
        return int(value)
    raise ValueError("an integer")


def _number(value: Any) -> int | float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    try:
        number = float(value) if isinstance(value, str) else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError("a number")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    key = str(value).strip().lower() if isinstance(value, int | str) else ""
    if key not in _BOOLEANS:
        raise ValueError("true or false")
    return _BOOLEANS[key]


def _string(value: Any) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError("a string")


COERCE: dict[str, Callable[[Any], Any]] = {
    "string": _string,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "user": _snowflake,
    "channel": _snowflake,
    "role": _snowflake,
    "mentionable": _snowflake,
}


def _bounds_error(option: Mapping[str, Any], value: Any) -> str | None:
    """Why ``value`` breaks the option's choices or bounds, or ``None``."""
    choices = [c.get("value") for c in option.get("choices") or [] if isinstance(c, Mapping)]
    if choices and value not in choices:
        return f"must be one of {', '.join(map(str, choices))}"
    measure: int | float
    if isinstance(value, str):
        measure, keys, unit = len(value), ("min_length", "max_length"), " characters"
    elif isinstance(value, int | float) and not isinstance(value, bool):
        measure, keys, unit = value, ("min_value", "max_value"), ""
    else:
        return None
    low, high = (option.get(key) for key in keys)
    if isinstance(low, int | float) and measure < low:
        return f"must be at least {low}{unit}"
    if isinstance(high, int | float) and measure > high:
        return f"must be at most {high}{unit}"
    return None


def _coerce(option: Mapping[str, Any], value: Any) -> Any:
    """``value`` as the option's type; ``ValueError`` saying what was expected."""
    name, otype = option.get("name"), str(option.get("type") or "string")
    try:
        out = COERCE.get(otype, _string)(value)
    except ValueError as error:
        raise ValueError(f"input '{name}' must be {error}, not {_short(value)}") from None
    problem = _bounds_error(option, out)
    if problem is not None:
        raise ValueError(f"input '{name}' {problem}, not {_short(value)}")
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _select_values(value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    return [str(v) for v in items if v is not None]


def check_inputs(
    declared: Sequence[Mapping[str, Any]], given: Mapping[str, Any], workflow: str
) -> dict[str, Any]:
    """The given inputs checked and coerced against the declared ones; ``ValueError`` with the reason."""
    options = {str(o.get("name")): o for o in declared}
    out: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        if name in options:
            out[name] = _coerce(options[name], value)
        elif name == SELECT_VALUES:
            out[name] = _select_values(value)
        else:
            takes = ", ".join(options) or "no inputs"
            raise ValueError(f"unknown input '{name}' for {workflow} (it takes: {takes})")
    for name, option in options.items():
        if option.get("required") and name not in out:
            raise ValueError(f"missing required input '{name}' for {workflow}")
    return out


def _admit(inv: Invocation) -> tuple[dict[str, Any], str | None]:
    """``(inputs, None)`` when the run may go ahead, else ``(raw inputs, why it is refused)``."""
    name = inv.workflow.key.name
    if not allowed(inv):
        return dict(inv.inputs), f"you are not allowed to run {name}"
    try:
        return check_inputs(inv.workflow.spec.get("inputs") or [], inv.inputs, name), None
    except ValueError as error:
        return dict(inv.inputs), str(error)


def redact(inputs: Mapping[str, Any], vault: Vault) -> dict[str, Any]:
    """Inputs fit to store: secret-looking keys and values holding a secret value become ``***``."""
    return {
        str(k): "***" if _SECRET_KEY.search(str(k)) else _redact_value(v, vault) for k, v in inputs.items()
    }


def _redact_value(value: Any, vault: Vault) -> Any:
    if isinstance(value, Mapping):
        return redact(value, vault)
    if isinstance(value, list | tuple):
        return [_redact_value(v, vault) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if vault.is_secret(str(value)):
        return "***"
    return value if isinstance(value, int | float) else str(value)


# --- running ------------------------------------------------------------------------------------


def build_context(inv: Invocation, inputs: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """What templates see: user/member, guild, channel, inputs/options, steps (filled as steps run), now."""
    context: dict[str, Any] = dict(inv.extra_context)
    if inv.actor is not None:
        context["user"] = context["member"] = inv.actor.context()
    if inv.channel_id is not None:
        context.setdefault("channel", {"id": str(inv.channel_id)})
    context["guild"] = {"id": str(inv.guild.spec.get("id", "")), "name": inv.guild.key.name}
    view = TemplateInputs(inputs)
    return {**context, "inputs": view, "options": view, "steps": {}, "now": now}


def _label(step_id: str, kind: str, index: int, named: bool) -> str:
    return f"step '{step_id}'" if named else f"step {index + 1} ({kind})"


async def _run_step(step: Mapping[str, Any], context: dict[str, Any], tools: StepTools) -> str:
    """Run one step; 'ok' or 'skipped'. Raises ``StepFailed``/``RenderError`` for the step's failure."""
    kind = step_type(step)
    if kind is None:
        raise StepFailed("the step has no known type (reply, send, http, add_role, remove_role, refresh)")
    when = step.get("when")
    if isinstance(when, str):
        try:
            go = bool(await in_thread(evaluate, when, context))  # off the event loop
        except RenderError as error:
            raise RenderError(f"when: {error}") from error
        if not go:
            return "skipped"
    outcome = await STEPS[kind](step[kind], context, tools)
    if "id" in step:
        context["steps"][str(step["id"])] = outcome if isinstance(outcome, dict) else {"status": "ok"}
    return "ok"


async def _run_steps(
    steps: Sequence[Mapping[str, Any]], context: dict[str, Any], tools: StepTools, done: list[StepResult]
) -> str | None:
    """Run steps in order, appending to ``done``; the run's error (naming the step) or ``None``."""
    for index, step in enumerate(steps):
        kind, named = step_type(step) or "unknown", "id" in step
        step_id = str(step["id"]) if named else str(index + 1)
        started = time.perf_counter()
        try:
            status = await _run_step(step, context, tools)
        except (StepFailed, RenderError) as failure:
            error = one_line(tools.vault.scrub(str(failure))) or type(failure).__name__
            done.append(StepResult(step_id, kind, "error", _elapsed(started), error))
            return f"{_label(step_id, kind, index, named)} failed: {error}"
        if status == "skipped" and named:
            context["steps"][step_id] = {"status": "skipped"}
        done.append(StepResult(step_id, kind, status, _elapsed(started)))
    return None


def one_line(text: str) -> str:
    """``text`` on one line (whitespace runs become one space), cut to ``MAX_ERROR`` characters."""
    return clip(" ".join(text.split()), MAX_ERROR)


def _elapsed(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


async def _record_start(
    conn: psycopg.AsyncConnection[Any] | None, inv: Invocation, inputs: Mapping[str, Any], vault: Vault
) -> int | None:
    if conn is None:
        return None
    return await runtime.start_run(
        conn,
        guild=inv.workflow.key.guild,
        workflow=inv.workflow.key.name,
        trigger=inv.trigger,
        user_id=inv.actor.id if inv.actor is not None else None,
        inputs=redact(inputs, vault),
    )


async def _record_finish(conn: psycopg.AsyncConnection[Any] | None, result: RunResult) -> None:
    if conn is None or result.run_id is None:
        return
    steps = [asdict(s) for s in result.steps]
    await runtime.finish_run(conn, result.run_id, status=result.status, error=result.error, steps=steps)


async def run_workflow(
    inv: Invocation,
    effects: Effects,
    *,
    http: aiohttp.ClientSession,
    secrets: Secrets,
    conn: psycopg.AsyncConnection[Any] | None,
    now: datetime | None = None,
) -> RunResult:
    """Run one invocation: check roles and inputs, run the steps in order, record the run."""
    vault = Vault(secrets)
    inputs, refusal = _admit(inv)
    run_id = await _record_start(conn, inv, inputs, vault)
    if refusal is not None:
        result = RunResult(run_id, "refused", one_line(vault.scrub(refusal)), ())
        await _record_finish(conn, result)
        return result
    context = build_context(inv, inputs, now or datetime.now(UTC))
    tools = StepTools(effects, http, vault)
    done: list[StepResult] = []
    try:
        error = await _run_steps(inv.workflow.spec.get("steps") or [], context, tools, done)
    except (Exception, asyncio.CancelledError) as fault:  # a programming fault: record it, then raise
        reason = "the run was cancelled" if isinstance(fault, asyncio.CancelledError) else "internal error"
        await _record_finish(
            conn, RunResult(run_id, "error", f"{reason} ({type(fault).__name__})", tuple(done))
        )
        raise
    result = RunResult(run_id, "error" if error else "ok", error, tuple(done))
    await _record_finish(conn, result)
    return result
