"""Dashboard rendering for the bot: fetch a dashboard's sources and turn its spec into Discord message JSON.

A failing source's value is ``{"error": "<reason>"}`` (``sources.x.error is defined``) plus a problem;
``${secret:NAME}`` (only the spec's own, never one a template builds) is resolved only for the request,
so no secret reaches data, problems or exceptions; a source whose secret is not provided fails alone.
A failing template renders as a short "⚠ render error" marker plus a problem. The payload always holds
``content`` ("" when the spec has none), ``embeds`` and ``components`` ([] when empty): it serves POST
and PATCH alike (PATCH clears what the spec dropped). Texts are cut to Discord's limits with "…", and
``allowed_mentions`` is empty so rendered data never pings anyone.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from hlb.compiler.durations import format_duration
from hlb.compiler.enums import BUTTON_STYLES
from hlb.compiler.model import SpecObject
from hlb.reconciler.state import RenderedMessage
from hlb.runtime.secrets import SecretMissing, Secrets, Vault
from hlb.templating.engine import MAX_OUTPUT, JsonPath, RenderError, dotted_path, render
from hlb.templating.limits import abandon_when, budget, message_seconds

if TYPE_CHECKING:  # aiohttp is the bot's (rendering alone, as `hlb preview` does, never fetches)
    import aiohttp

DEFAULT_TIMEOUT = 5  # seconds, when a source names none
MAX_BODY = 1 << 20  # bytes of a source response
MAX_CONTENT, MAX_EMBEDS, MAX_FIELDS, EMBED_TOTAL, MAX_ROWS = 2000, 10, 25, 6000, 5
MAX_MARKER = 200  # characters of a render-error marker
EMPTY = "\u200b"  # zero-width space: Discord's accepted stand-in for a required empty text
NOTICE_TITLE = "⚠ Data unavailable"
NOTICE_COLOR = 0xE74C3C
_CUSTOM_EMOJI = re.compile(r"^<(a?):(\w{2,32}):(\d+)>$")
_URL_SCHEMES = ("http://", "https://", "attachment://", "discord://")
_EMBED_TEXTS = (("title", 256), ("description", 4096))
_EMBED_BODY = ("title", "description", "fields", "footer", "author", "image", "thumbnail")


P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``asyncio.to_thread`` for work that renders templates, so the event loop goes on meanwhile.

    Once the caller stops waiting (a timeout, or its task was cancelled: SIGTERM), the renders stop
    at their next check (within a millisecond) instead of running on unseen: holding the GIL, and
    at exit holding up the process until their own time limit."""
    stop = threading.Event()
    context = contextvars.copy_context()
    context.run(abandon_when, stop)
    try:
        work = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(None, work)
    finally:
        stop.set()


def custom_id(dashboard: str, row: int, col: int, workflow: str) -> str:
    """The custom id of a dashboard component, as the compiler checks it."""
    return f"hlb:{dashboard}:{row}:{col}:{workflow}"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


# --- sources ------------------------------------------------------------------------------------


class SourceError(Exception):
    """A source failed; the message is short and holds no secret value."""


async def fetch_sources(
    spec: Mapping[str, Any], session: aiohttp.ClientSession, secrets: Secrets
) -> tuple[dict[str, Any], list[str]]:
    """Every source fetched concurrently: ``({name: value}, problems)``; url/header templates see ``now``."""
    entries = {name: source["http"] for name, source in (spec.get("sources") or {}).items()}
    base = {"now": datetime.now(UTC)}
    results = await asyncio.gather(*(_fetch(session, http, secrets, base) for http in entries.values()))
    outcomes = dict(zip(entries, results, strict=True))
    data = {name: value if error is None else {"error": error} for name, (value, error) in outcomes.items()}
    return data, [f"source {name}: {error}" for name, (_, error) in outcomes.items() if error is not None]


async def _fetch(
    session: aiohttp.ClientSession, http: Mapping[str, Any], secrets: Secrets, context: Any
) -> tuple[Any, str | None]:
    """``(value, None)`` or ``(None, reason)``; reasons are built from the spec, never from secrets."""
    import aiohttp

    given = http.get("timeout")
    timeout = float(given) if isinstance(given, int | float) and given > 0 else float(DEFAULT_TIMEOUT)
    url, method = str(http.get("url") or ""), str(http.get("method") or "GET")
    vault = Vault(secrets)
    try:
        target = render(vault.protect(url), context)
        url = vault.show(target)  # what messages may show: references, never values
        given_headers = (http.get("headers") or {}).items()
        headers = {str(k): render(vault.protect(str(v)), context) for k, v in given_headers}
        resolved = {k: vault.resolve(v) for k, v in headers.items()}
        return await _request(session, method, vault.resolve(target), resolved, timeout), None
    except (SourceError, SecretMissing) as error:
        return None, str(error)
    except RenderError as error:  # before any secret is resolved
        return None, clip(f"render error: {error}", MAX_MARKER)
    except TimeoutError:
        return None, f"timed out after {format_duration(timeout)}"
    except aiohttp.ClientConnectorError:
        return None, f"cannot connect to {urlsplit(url).netloc or 'the host'}"  # the unresolved url
    except Exception as error:  # its type only: the text may quote the resolved request
        return None, f"request failed ({type(error).__name__})"


async def _request(
    session: aiohttp.ClientSession, method: str, url: str, headers: Mapping[str, str], timeout: float
) -> Any:
    import aiohttp

    limit = aiohttp.ClientTimeout(total=timeout)
    async with session.request(
        method, url, headers=headers, timeout=limit, allow_redirects=False
    ) as response:
        if not 200 <= response.status < 300:
            raise SourceError(f"HTTP {response.status}")
        text = await read_text(response, SourceError)
        try:
            return json.loads(text)
        except ValueError:
            if "json" in response.content_type:
                raise SourceError("the response is not valid JSON") from None
            return text


async def read_text(response: aiohttp.ClientResponse, too_large: type[Exception]) -> str:
    """A response body as text, read up to ``MAX_BODY`` bytes (``too_large`` raised beyond)."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > MAX_BODY:
            raise too_large(f"the response is larger than {MAX_BODY} bytes")
    return bytes(body).decode(response.charset or "utf-8", errors="replace")


# --- rendering ----------------------------------------------------------------------------------


class _Renderer:
    """Renders the texts of one message, collecting problems (or raising ``RenderError`` when strict)."""

    def __init__(self, context: Mapping[str, Any], *, strict: bool = False) -> None:
        self.context = context
        self.strict = strict  # raise RenderError (naming the field) instead of rendering a marker
        self.problems: list[str] = []

    def text(self, value: Any, path: JsonPath, limit: int) -> str:
        try:
            out = render(value if isinstance(value, str) else "", self.context)
        except RenderError as error:
            problem = clip(f"{dotted_path(path)}: {error}", 2 * MAX_MARKER)
            if self.strict:
                raise RenderError(problem) from error
            self.problems.append(problem)
            out = clip(f"⚠ render error: {error}", MAX_MARKER)
        return clip(out, limit)

    def checked(self, value: Any, path: JsonPath, kind: str = "url", limit: int = 2048) -> str | None:
        """A rendered URL (or ISO 8601 time); ``None`` when absent, empty or invalid (then a problem)."""
        before = len(self.problems)
        text = "" if value is None else self.text(value, path, MAX_OUTPUT).strip()
        if len(self.problems) > before or not text:
            return None
        if _is_time(text) if kind == "time" else text.startswith(_URL_SCHEMES) and len(text) <= limit:
            return text
        what = "an ISO 8601 time" if kind == "time" else f"an http(s) URL of at most {limit} characters"
        self.problems.append(clip(f"{dotted_path(path)}: {text!r} is not {what}; left out", 300))
        return None


def _is_time(text: str) -> bool:
    try:
        return bool(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return False


def _color(value: Any) -> int | None:
    if isinstance(value, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", value.strip()):
        return int(value.strip()[1:], 16)
    return value if type(value) is int else None


def _compact(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


def _embed(r: _Renderer, embed: Mapping[str, Any], path: JsonPath) -> dict[str, Any]:
    out: dict[str, Any] = {k: r.text(embed[k], (*path, k), n) or None for k, n in _EMBED_TEXTS if k in embed}
    out["url"] = r.checked(embed.get("url"), (*path, "url"))
    out["color"] = _color(embed.get("color"))
    out["timestamp"] = r.checked(embed.get("timestamp"), (*path, "timestamp"), "time")
    fields = [f for f in embed.get("fields") or [] if isinstance(f, Mapping)][:MAX_FIELDS]
    out["fields"] = [
        {
            "name": r.text(f.get("name"), (*path, "fields", i, "name"), 256) or EMPTY,
            "value": r.text(f.get("value"), (*path, "fields", i, "value"), 1024) or EMPTY,
            "inline": bool(f.get("inline", False)),
        }
        for i, f in enumerate(fields)
    ] or None
    for key, tk, limit in (("footer", "text", 2048), ("author", "name", 256)):
        part = embed.get(key)
        if isinstance(part, Mapping):
            sub: dict[str, Any] = {tk: r.text(part.get(tk), (*path, key, tk), limit) or EMPTY}
            sub |= {link: r.checked(part.get(link), (*path, key, link)) for link in ("url", "icon_url")}
            out[key] = _compact(sub)
    for key in ("thumbnail", "image"):
        link = r.checked(embed.get(key), (*path, key))
        out[key] = {"url": link} if link else None
    out = _compact(out)
    return out if any(k in out for k in _EMBED_BODY) else {**out, "description": EMPTY}


def render_embeds(embeds: Any, context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Message embeds (a workflow step's) as Discord JSON; a template error raises ``RenderError``.

    As on dashboards, colors become integers, texts are cut to Discord's limits and invalid URLs
    or times are left out; the error names the failing field (``embeds[0].title: ...``).
    """
    r = _Renderer(context, strict=True)
    items = [e for e in embeds if isinstance(e, Mapping)] if isinstance(embeds, list) else []
    out = [_embed(r, e, ("embeds", i)) for i, e in enumerate(items)][:MAX_EMBEDS]
    _fit_total(out, EMBED_TOTAL)
    return out


def _emoji(text: str) -> dict[str, Any]:
    match = _CUSTOM_EMOJI.match(text.strip())
    return {"id": match[3], "name": match[2], "animated": bool(match[1])} if match else {"name": text.strip()}


def _button(r: _Renderer, b: Mapping[str, Any], cid: str, path: JsonPath) -> dict[str, Any] | None:
    emoji = _emoji(b["emoji"]) if isinstance(b.get("emoji"), str) and b["emoji"].strip() else None
    label = r.text(b.get("label"), (*path, "label"), 80) or (None if emoji else EMPTY)
    style = BUTTON_STYLES.get(b.get("style", "primary"), 1)
    out = {"type": 2, "style": style, "label": label, "emoji": emoji, "disabled": bool(b.get("disabled"))}
    if "url" not in b:
        return _compact({**out, "custom_id": cid})
    link = r.checked(b["url"], (*path, "url"), limit=512)  # a link button without a usable url is left out
    return _compact({**out, "style": BUTTON_STYLES["link"], "url": link}) if link else None


def _select(r: _Renderer, s: Mapping[str, Any], cid: str, path: JsonPath) -> dict[str, Any]:
    out: dict[str, Any] = {"type": 3, "custom_id": cid, "options": []}
    out["placeholder"] = r.text(s.get("placeholder"), (*path, "placeholder"), 150) or None
    out["min_values"], out["max_values"] = s.get("min_values", 1), s.get("max_values", 1)
    for j, o in enumerate([o for o in s.get("options") or [] if isinstance(o, Mapping)][:MAX_FIELDS]):
        label = r.text(o.get("label"), (*path, "options", j, "label"), 100) or EMPTY
        value = clip(str(o.get("value", "")), 100) or EMPTY  # an identifier, not a template
        about = r.text(o.get("description"), (*path, "options", j, "description"), 100) or None
        out["options"].append(_compact({"label": label, "value": value, "description": about}))
    return _compact(out)


def _component(r: _Renderer, dashboard: str, ri: int, ci: int, comp: Any) -> dict[str, Any] | None:
    kind = next((k for k in ("button", "select") if isinstance(comp, Mapping) and k in comp), None)
    if kind is None or not isinstance(comp[kind], Mapping):
        return None
    cid = custom_id(dashboard, ri, ci, str(comp[kind].get("workflow", "")))
    build = _button if kind == "button" else _select
    return build(r, comp[kind], cid, ("components", ri, ci, kind))


def _components(r: _Renderer, dashboard: str, rows: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for ri, row in enumerate(rows if isinstance(rows, list) else []):
        cells = row if isinstance(row, list) else []
        items = [x for x in (_component(r, dashboard, ri, ci, c) for ci, c in enumerate(cells)) if x][:5]
        if items:
            out.append({"type": 1, "components": items})
    return out[:MAX_ROWS]


def _failures(sources: Mapping[str, Any]) -> str:
    """One line per failed source (a value ``{"error": ...}``); "" when none failed."""
    failed = {k: v["error"] for k, v in sources.items() if isinstance(v, Mapping) and set(v) == {"error"}}
    return clip("\n".join(f"`{name}`: {error}" for name, error in failed.items()), 1024)


def _add_notice(embeds: list[dict[str, Any]], lines: str) -> None:
    """The failures in an extra embed, or in the last field of the last embed when 10 are used."""
    if len(embeds) < MAX_EMBEDS:
        embeds.append({"title": NOTICE_TITLE, "description": lines, "color": NOTICE_COLOR})
    else:
        notice = {"name": NOTICE_TITLE, "value": lines, "inline": False}
        embeds[-1]["fields"] = [*embeds[-1].get("fields", [])[: MAX_FIELDS - 1], notice]


def _fit_total(embeds: list[dict[str, Any]], budget: int) -> None:
    """Cut every text to one common length, the largest that keeps the embeds' total within ``budget``."""
    slots: list[tuple[dict[str, Any], str]] = []
    for embed in embeds:
        slots += [(embed, k) for k in ("title", "description") if k in embed]
        slots += [(f, k) for f in embed.get("fields", []) for k in ("name", "value")]
        slots += [(embed[k], t) for k, t in (("footer", "text"), ("author", "name")) if k in embed]
    lengths = [len(c[k]) for c, k in slots]
    low, high = 1, max(lengths, default=1)
    while low < high:  # binary search for the cap
        mid = (low + high + 1) // 2
        low, high = (mid, high) if sum(min(n, mid) for n in lengths) <= budget else (low, mid - 1)
    for container, key in slots:
        container[key] = clip(container[key], low)


def render_dashboard(
    obj: SpecObject,
    sources: Mapping[str, Any],
    problems: Sequence[str] = (),
    now: datetime | None = None,
    *,
    context: Mapping[str, Any] | None = None,
) -> RenderedMessage:
    """The Discord message (POST and PATCH body); templates see ``context`` (``guild``...), sources, now."""
    seconds = message_seconds()
    late = f"the dashboard's templates took longer than {seconds:g} s together"
    with budget(seconds, late):  # each template has its own second, all of them these
        return _render_dashboard(obj, sources, problems, now, context)


def _render_dashboard(
    obj: SpecObject,
    sources: Mapping[str, Any],
    problems: Sequence[str],
    now: datetime | None,
    context: Mapping[str, Any] | None,
) -> RenderedMessage:
    spec = obj.spec
    r = _Renderer({**(context or {}), "sources": dict(sources), "now": now or datetime.now(UTC)})
    content = r.text(spec["content"], ("content",), MAX_CONTENT) if "content" in spec else ""
    embeds = [_embed(r, e, ("embeds", i)) for i, e in enumerate(spec.get("embeds") or [])][:MAX_EMBEDS]
    failures = _failures(sources)
    _fit_total(embeds, EMBED_TOTAL - (len(NOTICE_TITLE) + len(failures) if failures else 0))
    if failures:
        _add_notice(embeds, failures)
    components = _components(r, obj.key.name, spec.get("components"))
    if not (content or embeds or components):
        content = "*(this dashboard is empty)*"
    payload = dict(content=content, embeds=embeds, components=components, allowed_mentions={"parse": []})
    return RenderedMessage.of(payload, (*problems, *r.problems))
