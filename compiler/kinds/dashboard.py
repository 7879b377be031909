"""The Dashboard kind: one bot-owned message; and the message helpers (embeds, replies) other kinds share.

Checks: the channel reference, refresh and source timeouts, template syntax,
Discord's 6000-character embed total (on static text), component rows,
buttons, selects and custom ids. ``message_problems``, ``normalize_embeds`` and
``normalize_reply`` are used by Command replies and Workflow steps too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from hlb.compiler.diagnostics import JsonPath, dotted_path
from hlb.compiler.durations import UNITS_HELP, parse_duration
from hlb.compiler.enums import LINK_STYLE, WORKFLOW_STYLES
from hlb.compiler.kinds.base import Draft, Index, Kind, Problem
from hlb.compiler.kinds.channel import MESSAGE_TYPES, a_type, channel_type, reference_problem
from hlb.compiler.secret_places import ANY
from hlb.compiler.wording import plural
from hlb.templating import is_template, template_errors

EMBED_TOTAL = 6000
MIN_REFRESH = 30
TIMEOUT_RANGE = (1, 300)  # seconds an HTTP source or step may wait
DEFAULT_TIMEOUT = 10
MAX_BUTTONS = 5
MAX_CUSTOM_ID = 100  # characters; the bot derives hlb:<dashboard>:<row>:<col>:<workflow>


# --- messages: embeds and replies (shared with Command and Workflow) ---------------------------


def _embed_texts(embed: Mapping[str, Any], path: JsonPath) -> Iterator[tuple[JsonPath, Any]]:
    """The texts Discord counts towards the 6000-character total, with their paths."""
    for key in ("title", "description"):
        if key in embed:
            yield (*path, key), embed[key]
    for i, field in enumerate(embed.get("fields") or []):
        if isinstance(field, Mapping):
            yield (*path, "fields", i, "name"), field.get("name")
            yield (*path, "fields", i, "value"), field.get("value")
    for key, sub in (("footer", "text"), ("author", "name")):
        part = embed.get(key)
        if isinstance(part, Mapping) and sub in part:
            yield (*path, key, sub), part[sub]


def message_problems(message: Mapping[str, Any], path: JsonPath) -> Iterator[Problem]:
    """Template syntax of content and embeds (E501) and the static embed total (E403)."""
    for key in ("content", "embeds"):
        if key in message:
            for where, error in template_errors(message[key], (*path, key)):
                yield Problem("E501", error, where)
    embeds = message.get("embeds")
    if not isinstance(embeds, list):
        return
    texts = [
        (where, text)
        for i, embed in enumerate(embeds)
        if isinstance(embed, Mapping)
        for where, text in _embed_texts(embed, (*path, "embeds", i))
        if isinstance(text, str) and not is_template(text)
    ]
    total = sum(len(text) for _, text in texts)
    if total <= EMBED_TOTAL:
        return
    running = 0
    for where, text in texts:
        running += len(text)
        if running > EMBED_TOTAL:
            message_text = (
                f"the embeds hold {total} characters of fixed text (titles, descriptions, fields, footers, "
                f"authors); Discord allows {EMBED_TOTAL} per message: the total passes the limit at "
                f"{dotted_path(where)}; shorten the texts or split them over two dashboards"
            )
            yield Problem("E403", message_text, where)
            return


def _color(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"#{value:06x}"
    if isinstance(value, str):
        return value.strip().lower()
    return value


def normalize_embeds(embeds: Any) -> list[dict[str, Any]]:
    """Embeds with the keys given, ``color`` as lowercase ``#rrggbb`` and ``inline`` on every field."""
    out: list[dict[str, Any]] = []
    for embed in embeds if isinstance(embeds, list) else []:
        if not isinstance(embed, Mapping):
            continue
        item = dict(embed)
        if "color" in item:
            item["color"] = _color(item["color"])
        if isinstance(item.get("fields"), list):
            item["fields"] = [
                {**f, "inline": bool(f.get("inline", False))} if isinstance(f, Mapping) else f
                for f in item["fields"]
            ]
        for key in ("footer", "author"):
            if isinstance(item.get(key), Mapping):
                item[key] = dict(item[key])
        out.append(item)
    return out


def normalize_message(message: Mapping[str, Any], *, ephemeral: bool) -> dict[str, Any]:
    """``{content, embeds}`` (each only when given), plus ``ephemeral`` (default false) for replies."""
    out: dict[str, Any] = {}
    if "content" in message:
        out["content"] = message["content"]
    if "embeds" in message:
        out["embeds"] = normalize_embeds(message["embeds"])
    if ephemeral:
        out["ephemeral"] = bool(message.get("ephemeral", False))
    return out


def normalize_reply(reply: Any) -> dict[str, Any]:
    """A reply in its ``{content, embeds, ephemeral}`` form; a bare string becomes its content."""
    if isinstance(reply, str):
        return {"content": reply, "ephemeral": False}
    return normalize_message(reply if isinstance(reply, Mapping) else {}, ephemeral=True)


def reply_problems(reply: Any, path: JsonPath) -> Iterator[Problem]:
    if isinstance(reply, str):
        for where, error in template_errors(reply, path):
            yield Problem("E501", error, where)
    elif isinstance(reply, Mapping):
        yield from message_problems(reply, path)


def duration_problems(value: Any, path: JsonPath, low: int, high: int | None = None) -> Iterator[Problem]:
    """E505 when ``value`` is not a duration, E408 when it lies outside ``low..high`` seconds."""
    seconds = parse_duration(value) if isinstance(value, str | int) else None
    if seconds is None:
        yield Problem("E505", f"invalid duration {value!r} for {dotted_path(path)}; {UNITS_HELP}", path)
    elif seconds < low or (high is not None and seconds > high):
        bounds = f"at least {low}s" if high is None else f"{low}s..{high}s"
        yield Problem("E408", f"{dotted_path(path)} is {seconds}s; it must be {bounds}", path)


def seconds_or_raw(value: Any, default: int | None = None) -> Any:
    """A duration in seconds; what the user wrote if it does not parse (check() reported it)."""
    if value is None:
        return default
    seconds = parse_duration(value) if isinstance(value, str | int) else None
    return value if seconds is None else seconds


# --- components ---------------------------------------------------------------------------------


def _workflow_problem(index: Index, draft: Draft, name: Any, path: JsonPath) -> Iterator[Problem]:
    _, problem = reference_problem(index, draft, "Workflow", name, path)
    if problem is not None:
        yield problem


def _button_problems(
    index: Index, draft: Draft, button: Mapping[str, Any], path: JsonPath
) -> Iterator[Problem]:
    style = button.get("style")
    if "workflow" in button and "url" in button:
        message = f"{dotted_path(path)} has both workflow and url; keep workflow (run it) or url (a link)"
        yield Problem("E409", message, (*path, "url"))
    elif "workflow" not in button and "url" not in button:
        message = f"{dotted_path(path)} has neither workflow nor url; add workflow (to run) or url (a link)"
        yield Problem("E409", message, path)
    elif "url" in button and style not in (None, LINK_STYLE):
        message = f"a url button's style is link, not {style}; set style: link or remove style"
        yield Problem("E206", message, (*path, "style"))
    elif "workflow" in button and style == LINK_STYLE:
        message = f"style link is for url buttons; use one of {', '.join(WORKFLOW_STYLES)} with a workflow"
        yield Problem("E206", message, (*path, "style"))
    if "workflow" in button:
        yield from _workflow_problem(index, draft, button["workflow"], (*path, "workflow"))


def _select_problems(
    index: Index, draft: Draft, select: Mapping[str, Any], path: JsonPath
) -> Iterator[Problem]:
    yield from _workflow_problem(index, draft, select.get("workflow"), (*path, "workflow"))
    raw_options = select.get("options")
    options: list[Any] = raw_options if isinstance(raw_options, list) else []
    low, high = select.get("min_values", 1), select.get("max_values", 1)
    if isinstance(low, int) and isinstance(high, int):
        if low > high:
            where = (*path, "min_values") if "min_values" in select else (*path, "max_values")
            yield Problem("E408", f"min_values {low} is more than max_values {high}; lower min_values "
                          "or raise max_values", where)
        elif high > len(options):
            where = (*path, "max_values") if "max_values" in select else path
            has = plural(len(options), "option")
            yield Problem("E408", f"max_values is {high} but the select has {has}; "
                          "lower max_values or add options", where)
    seen: dict[Any, int] = {}
    for j, option in enumerate(options):
        if not isinstance(option, Mapping) or "value" not in option:
            continue
        value = option["value"]
        if value in seen:
            first = dotted_path((*path, "options", seen[value]))
            yield Problem("E410", f"option value '{value}' is already used by {first}; give each option "
                          "its own value", (*path, "options", j, "value"))
        else:
            seen[value] = j


def component_problems(index: Index, draft: Draft, rows: Sequence[Any], path: JsonPath) -> Iterator[Problem]:
    ids: dict[str, JsonPath] = {}
    for r, row in enumerate(rows):
        if not isinstance(row, list):
            continue
        selects = [c for c, comp in enumerate(row) if isinstance(comp, Mapping) and "select" in comp]
        if selects and len(row) > 1:
            message = (f"row {r + 1} holds a select menu and {plural(len(row) - 1, 'other component')}; "
                       "a select menu must be alone in its row: move the others to another row")
            yield Problem("E404", message, (*path, r, selects[0]))
        elif len(row) > MAX_BUTTONS:
            message = f"row {r + 1} holds {len(row)} buttons; Discord allows {MAX_BUTTONS}: start another row"
            yield Problem("E404", message, (*path, r, MAX_BUTTONS))
        for c, comp in enumerate(row):
            if not isinstance(comp, Mapping):
                continue
            here: JsonPath = (*path, r, c)
            for where, error in template_errors(comp, here):
                yield Problem("E501", error, where)
            if isinstance(comp.get("button"), Mapping):
                yield from _button_problems(index, draft, comp["button"], (*here, "button"))
            if isinstance(comp.get("select"), Mapping):
                yield from _select_problems(index, draft, comp["select"], (*here, "select"))
            body = comp.get("button") or comp.get("select")
            if isinstance(body, Mapping) and isinstance(body.get("workflow"), str):
                custom_id = f"hlb:{draft.name}:{r}:{c}:{body['workflow']}"
                if len(custom_id) > MAX_CUSTOM_ID:
                    kind = "button" if "button" in comp else "select"
                    message = (f"the custom id {custom_id} is {len(custom_id)} characters; Discord allows "
                               f"{MAX_CUSTOM_ID}: shorten the dashboard or workflow name")
                    yield Problem("E401", message, (*here, kind, "workflow"))
                if custom_id in ids:
                    message = (f"custom id {custom_id} is also used by {dotted_path(ids[custom_id])}; "
                               "each component needs its own")
                    yield Problem("E405", message, here)
                ids.setdefault(custom_id, here)


def _normalize_component(comp: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(comp.get("button"), Mapping):
        b = comp["button"]
        button: dict[str, Any] = {"label": b.get("label")} if "label" in b else {}
        button["style"] = "link" if "url" in b else b.get("style", "primary")
        for key in ("workflow", "url", "emoji"):
            if key in b:
                button[key] = b[key]
        button["disabled"] = bool(b.get("disabled", False))
        return {"button": button}
    if isinstance(comp.get("select"), Mapping):
        s = comp["select"]
        select: dict[str, Any] = {k: s[k] for k in ("placeholder", "workflow") if k in s}
        select["min_values"] = s.get("min_values", 1)
        select["max_values"] = s.get("max_values", 1)
        select["options"] = [
            {k: o[k] for k in ("label", "value", "description") if k in o}
            for o in s.get("options") or []
            if isinstance(o, Mapping)
        ]
        return {"select": select}
    return dict(comp)


# --- the kind -----------------------------------------------------------------------------------


class DashboardRules:
    """Rules of the Dashboard kind."""


    def check(self, draft: Draft, index: Index) -> Iterator[Problem]:
        spec = draft.spec
        path: JsonPath = ("spec", "channel")
        target, problem = reference_problem(index, draft, "Channel", spec.get("channel"), path)
        if problem is not None:
            yield problem
        elif target is not None and channel_type(target) not in MESSAGE_TYPES:
            message = (f"channel '{target.name}' is {a_type(channel_type(target))}; "
                       "a dashboard is posted to a text or announcement Channel")
            yield Problem("E305", message, path)
        if "refresh" in spec:
            yield from duration_problems(spec["refresh"], ("spec", "refresh"), MIN_REFRESH)
        sources = spec.get("sources")
        for name, source in (sources.items() if isinstance(sources, Mapping) else ()):
            http = source.get("http") if isinstance(source, Mapping) else None
            if not isinstance(http, Mapping):
                continue
            here: JsonPath = ("spec", "sources", name, "http")
            if "timeout" in http:
                yield from duration_problems(http["timeout"], (*here, "timeout"), *TIMEOUT_RANGE)
            for key in ("url", "headers"):
                for where, error in template_errors(http.get(key), (*here, key)):
                    yield Problem("E501", error, where)
        yield from message_problems(spec, ("spec",))
        rows = spec.get("components")
        if isinstance(rows, list):
            yield from component_problems(index, draft, rows, ("spec", "components"))

    def normalize(self, draft: Draft) -> dict[str, Any]:
        spec = draft.spec
        out: dict[str, Any] = {"channel": spec.get("channel")}
        if "refresh" in spec:
            out["refresh"] = seconds_or_raw(spec["refresh"])
        sources: dict[str, Any] = {}
        raw_sources = spec.get("sources")
        for name, source in (raw_sources.items() if isinstance(raw_sources, Mapping) else ()):
            http = source.get("http") if isinstance(source, Mapping) else None
            if isinstance(http, Mapping):
                sources[name] = {"http": {
                    "url": http.get("url"),
                    "method": http.get("method", "GET"),
                    "headers": dict(http.get("headers") or {}),
                    "timeout": seconds_or_raw(http.get("timeout"), DEFAULT_TIMEOUT),
                }}
        if sources:
            out["sources"] = sources
        if "content" in spec:
            out["content"] = spec["content"]
        out["embeds"] = normalize_embeds(spec.get("embeds") or [])
        out["components"] = [
            [_normalize_component(c) for c in row if isinstance(c, Mapping)]
            for row in spec.get("components") or []
            if isinstance(row, list)
        ]
        return out


KIND = Kind(
    "Dashboard",
    DashboardRules(),
    "dashboards",
    secret_places=(("spec", "sources", ANY, "http", "url"), ("spec", "sources", ANY, "http", "headers", ANY)),
)
