"""The Workflow kind: steps run by commands, buttons, selects and schedules.

Checks: cron schedules, typed inputs, unique step ids, template syntax in every
step and ``when`` expression, the Channel a ``send`` posts to, the Dashboard a
``refresh`` renders, and HTTP timeouts. Role names and members are resolved
when a step runs, not here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from hlb.compiler.diagnostics import JsonPath
from hlb.compiler.enums import STEP_TYPES
from hlb.compiler.kinds.base import Draft, Index, Kind, Problem
from hlb.compiler.kinds.channel import MESSAGE_TYPES, a_type, channel_type, reference_problem
from hlb.compiler.kinds.command import normalize_options, option_problems
from hlb.compiler.kinds.dashboard import (
    DEFAULT_TIMEOUT,
    TIMEOUT_RANGE,
    duration_problems,
    message_problems,
    normalize_message,
    normalize_reply,
    reply_problems,
    seconds_or_raw,
)
from hlb.compiler.secret_places import ANY
from hlb.compiler.wording import plural
from hlb.templating import check_expression, is_template, template_errors, unwrap_expression

CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_CRON_HELP = "use five fields (minute hour day-of-month month day-of-week, in UTC), e.g. '0 8 * * *'"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def cron_error(expression: str) -> str | None:
    """Why ``expression`` is not a usable cron schedule, or ``None``."""
    text = " ".join(expression.split())
    if text.startswith("@"):
        macros = ", ".join(sorted(CRON_MACROS))
        return None if text in CRON_MACROS else f"unknown cron macro '{text}'; use one of {macros}"
    fields = text.split(" ")
    if len(fields) != 5:
        return f"'{text}' has {plural(len(fields), 'field')}; {_CRON_HELP}"
    try:
        from croniter import croniter  # imported on first use: most spec sets have few schedules

        croniter(text, _EPOCH).get_next(datetime)
    except Exception as error:  # croniter raises several error types, all meaning "not this"
        reason = str(error).replace(f"[{text}] ", "").replace("is not acceptable, ", "")
        if "failed to find next date" in reason:
            return f"'{text}' never runs: no date matches its day and month (like 31 February); fix them"
        return f"'{text}' is not a valid cron schedule: {reason}; {_CRON_HELP}"
    return None


def _squash(schedule: Any) -> Any:
    return " ".join(schedule.split()) if isinstance(schedule, str) else schedule


def step_type(step: Mapping[str, Any]) -> str | None:
    return next((t for t in STEP_TYPES if t in step), None)


def _name_problem(index: Index, draft: Draft, kind: str, name: Any, path: JsonPath) -> Iterator[Problem]:
    """E304/E305 for a literal reference; a template reference is only checked for syntax."""
    if isinstance(name, str) and is_template(name):
        for where, error in template_errors(name, path):
            yield Problem("E501", error, where)
        return
    target, problem = reference_problem(index, draft, kind, name, path)
    if problem is not None:
        yield problem
    elif target is not None and kind == "Channel" and channel_type(target) not in MESSAGE_TYPES:
        message = (f"channel '{target.name}' is {a_type(channel_type(target))}; send posts to a text or "
                   "announcement Channel")
        yield Problem("E305", message, path)


def _step_problems(index: Index, draft: Draft, stype: str, body: Any, here: JsonPath) -> Iterator[Problem]:
    if stype == "reply":
        yield from reply_problems(body, here)
        return
    if not isinstance(body, Mapping):
        return
    if stype == "send":
        yield from _name_problem(index, draft, "Channel", body.get("channel"), (*here, "channel"))
        yield from message_problems(body, here)
    elif stype == "refresh":
        yield from _name_problem(index, draft, "Dashboard", body.get("dashboard"), (*here, "dashboard"))
    else:  # http, add_role, remove_role: every string may be a template
        if stype == "http" and "timeout" in body:
            yield from duration_problems(body["timeout"], (*here, "timeout"), *TIMEOUT_RANGE)
        for where, error in template_errors({k: v for k, v in body.items() if k != "timeout"}, here):
            yield Problem("E501", error, where)


def _normalize_step(step: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "id" in step:
        out["id"] = step["id"]
    if isinstance(step.get("when"), str):
        out["when"] = unwrap_expression(step["when"])
    stype = step_type(step)
    if stype is None:
        return {**out, **{k: v for k, v in step.items() if k not in ("id", "when")}}
    body = step[stype]
    if stype == "reply":
        out["reply"] = normalize_reply(body)
        return out
    body = body if isinstance(body, Mapping) else {}
    if stype == "send":
        out["send"] = {"channel": body.get("channel"), **normalize_message(body, ephemeral=False)}
    elif stype == "http":
        http: dict[str, Any] = {
            "method": body.get("method", "GET"),
            "url": body.get("url"),
            "headers": dict(body.get("headers") or {}),
        }
        if "json" in body:
            http["json"] = body["json"]
        http["timeout"] = seconds_or_raw(body.get("timeout"), DEFAULT_TIMEOUT)
        if "expect" in body:
            expect = body["expect"]
            http["expect"] = sorted(set(expect)) if isinstance(expect, list) else [expect]
        out["http"] = http
    elif stype == "refresh":
        out["refresh"] = {"dashboard": body.get("dashboard")}
    else:
        out[stype] = {"role": body.get("role"), "member": body.get("member")}
    return out


class WorkflowRules:
    """Rules of the Workflow kind."""


    def check(self, draft: Draft, index: Index) -> Iterator[Problem]:
        spec = draft.spec
        for i, trigger in enumerate(spec.get("triggers") or []):
            schedule = trigger.get("schedule") if isinstance(trigger, Mapping) else None
            if isinstance(schedule, str):
                error = cron_error(schedule)
                if error is not None:
                    yield Problem("E504", error, ("spec", "triggers", i, "schedule"))
        inputs = spec.get("inputs")
        if isinstance(inputs, list):
            yield from option_problems(inputs, ("spec", "inputs"), command=False)
        ids: dict[str, int] = {}
        for i, step in enumerate(spec.get("steps") or []):
            if not isinstance(step, Mapping):
                continue
            here: JsonPath = ("spec", "steps", i)
            step_id = step.get("id")
            if isinstance(step_id, str):
                if step_id in ids:
                    message = (f"step id '{step_id}' is already used by step {ids[step_id] + 1}; "
                               "give each step its own id")
                    yield Problem("E410", message, (*here, "id"))
                else:
                    ids[step_id] = i
            when = step.get("when")
            if isinstance(when, str):
                error = check_expression(when)
                if error is not None:
                    yield Problem("E501", f"spec.steps[{i}].when: {error}", (*here, "when"))
            stype = step_type(step)
            if stype is not None:
                yield from _step_problems(index, draft, stype, step[stype], (*here, stype))

    def normalize(self, draft: Draft) -> dict[str, Any]:
        spec = draft.spec
        out: dict[str, Any] = {}
        if isinstance(spec.get("allowed_roles"), list):
            out["allowed_roles"] = list(spec["allowed_roles"])
        out["inputs"] = normalize_options(spec.get("inputs") or [])
        out["triggers"] = [
            {"schedule": _squash(t.get("schedule"))}
            for t in spec.get("triggers") or []
            if isinstance(t, Mapping)
        ]
        out["steps"] = [_normalize_step(s) for s in spec.get("steps") or [] if isinstance(s, Mapping)]
        return out


KIND = Kind(
    "Workflow",
    WorkflowRules(),
    "workflows",
    reconciled=False,
    secret_places=(
        ("spec", "steps", ANY, "http", "url"),
        ("spec", "steps", ANY, "http", "headers", ANY),
        ("spec", "steps", ANY, "http", "json", "..."),
    ),
)
