"""The step kinds of a workflow: what each does with its rendered body, the template context and ``Effects``.

Every step renders its templates with the run's context and either acts through ``Effects``
(reply, send, add_role, remove_role, refresh) or calls HTTP. Templates render in a worker thread
(``hlb.runtime.render.in_thread``), so a slow one (within the template limits) never holds up the
event loop: other interactions, passes and SIGTERM go on meanwhile, and one nobody waits for any more
stops. A step reports failure by raising ``StepFailed`` or ``RenderError`` with a one-line message;
the engine (``workflows``) names the step.

Secrets: ``${secret:NAME}`` in an http step's url, headers and json is swapped for a per-run
sentinel before rendering (``hlb.runtime.secrets.Vault``), so only the spec's own references resolve
(text a user types into an input stays literal), and the sentinel becomes the secret's value only
in the outgoing request. Every secret is looked up before anything is sent: a missing one fails the
step with no request made. Messages show ``${secret:NAME}`` or ``***`` instead, never the value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp

from hlb.compiler.durations import format_duration
from hlb.runtime.invocation import Effects, Message, StepFailed
from hlb.runtime.render import MAX_CONTENT, clip, in_thread, read_text, render_embeds
from hlb.runtime.secrets import SecretMissing, Vault
from hlb.templating.engine import RenderError, render

DEFAULT_TIMEOUT = 10.0  # seconds, when an http step names none (the compiler always sets one)
_SNOWFLAKE = re.compile(r"^\d{1,20}$")


@dataclass(frozen=True)
class StepTools:
    """What steps act with: Discord effects, the HTTP session and the secrets vault of the run."""

    effects: Effects
    http: aiohttp.ClientSession
    vault: Vault


# --- message steps ------------------------------------------------------------------------------


def _text(value: Any, context: Mapping[str, Any], what: str) -> str:
    """A rendered template; a render error names ``what`` it was rendering."""
    try:
        return render("" if value is None else str(value), context)
    except RenderError as error:
        raise RenderError(f"{what}: {error}") from error


def build_message(body: Mapping[str, Any], context: Mapping[str, Any]) -> Message:
    """The message of a reply or send step: content and embeds rendered to Discord's JSON."""
    content = clip(_text(body["content"], context, "content"), MAX_CONTENT) if "content" in body else ""
    embeds = render_embeds(body.get("embeds"), context)
    if not content.strip() and not embeds:
        raise StepFailed("the message renders empty (no content, no embeds); guard the step with `when`")
    return Message(content or None, tuple(embeds), bool(body.get("ephemeral", False)))


def _name(body: Mapping[str, Any], key: str, context: Mapping[str, Any]) -> str:
    name = _text(body.get(key), context, key).strip()
    if not name:
        raise StepFailed(f"{key} renders to an empty name")
    return name


def _member(body: Mapping[str, Any], context: Mapping[str, Any]) -> int:
    text = _text(body.get("member"), context, "member").strip()
    if not _SNOWFLAKE.match(text):
        raise StepFailed(f"member {clip(text, 60)!r} is not a member id (a Discord snowflake)")
    return int(text)


def _role_and_member(body: Mapping[str, Any], context: Mapping[str, Any]) -> tuple[str, int]:
    return _name(body, "role", context), _member(body, context)


async def reply_step(body: Mapping[str, Any], context: Mapping[str, Any], tools: StepTools) -> None:
    """Answer the interaction that started the run."""
    await tools.effects.reply(await in_thread(build_message, body, context))


async def send_step(body: Mapping[str, Any], context: Mapping[str, Any], tools: StepTools) -> None:
    """Post to a managed channel."""
    channel = await in_thread(_name, body, "channel", context)
    await tools.effects.send(channel, await in_thread(build_message, body, context))


async def add_role_step(body: Mapping[str, Any], context: Mapping[str, Any], tools: StepTools) -> None:
    """Give a role to a member."""
    role, member = await in_thread(_role_and_member, body, context)
    await tools.effects.add_role(role, member)


async def remove_role_step(body: Mapping[str, Any], context: Mapping[str, Any], tools: StepTools) -> None:
    """Take a role from a member."""
    role, member = await in_thread(_role_and_member, body, context)
    await tools.effects.remove_role(role, member)


async def refresh_step(body: Mapping[str, Any], context: Mapping[str, Any], tools: StepTools) -> None:
    """Re-render a dashboard now."""
    await tools.effects.refresh(await in_thread(_name, body, "dashboard", context))


# --- http ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """An http step rendered, with secret references still as sentinels."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: Any
    timeout: float
    expect: frozenset[int] | None  # None: any 2xx


def _render_json(value: Any, context: Mapping[str, Any], vault: Vault, path: str) -> Any:
    """A JSON body with every string rendered (keys stay as written)."""
    if isinstance(value, str):
        return _text(vault.protect(value), context, path)
    if isinstance(value, Mapping):
        return {k: _render_json(v, context, vault, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_render_json(v, context, vault, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _map_strings(value: Any, apply: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return apply(value)
    if isinstance(value, Mapping):
        return {k: _map_strings(v, apply) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, apply) for v in value]
    return value


def _timeout(value: Any) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    return float(value) if ok else DEFAULT_TIMEOUT


def _expect(value: Any) -> frozenset[int] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return frozenset(int(v) for v in items if isinstance(v, int | str) and str(v).isdigit())


def build_request(body: Mapping[str, Any], context: Mapping[str, Any], vault: Vault) -> Request:
    """Render an http step's method, url, headers and json (secrets not resolved yet)."""
    url = _text(vault.protect(str(body.get("url") or "")), context, "url").strip()
    headers = {
        str(k): _text(vault.protect(str(v)), context, f"headers.{k}")
        for k, v in (body.get("headers") or {}).items()
    }
    payload = _render_json(body["json"], context, vault, "json") if "json" in body else None
    method = str(body.get("method") or "GET").upper()
    return Request(method, url, headers, payload, _timeout(body.get("timeout")), _expect(body.get("expect")))


def shown_url(url: str, vault: Vault) -> str:
    """The url as errors show it: no user info, query values that hold a secret as ``***``."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    query = [(k, "***" if vault.holds_ref(k + v) else v) for k, v in parse_qsl(parts.query, True)]
    shown = urlunsplit((parts.scheme, host, parts.path, urlencode(query, safe="*"), ""))
    return vault.show(shown)


def _seconds(timeout: float) -> str:
    return format_duration(timeout) if timeout.is_integer() else f"{timeout:g}s"


async def http_step(body: Mapping[str, Any], context: Mapping[str, Any], tools: StepTools) -> dict[str, Any]:
    """Call HTTP; the response as later steps see it: ``{status, ok, json, text}``."""
    request = await in_thread(build_request, body, context, tools.vault)
    shown = shown_url(request.url, tools.vault)
    if not request.url.lower().startswith(("http://", "https://")):
        raise StepFailed(f"url {clip(shown, 200)!r} is not an http(s) URL")
    try:
        status, text = await _send(tools.http, request, tools.vault)
    except TimeoutError:
        raise StepFailed(f"timed out after {_seconds(request.timeout)}") from None
    except aiohttp.ClientConnectorError:
        raise StepFailed(f"cannot connect to {urlsplit(shown).netloc or 'the host'}") from None
    except (aiohttp.ClientError, ValueError) as error:  # its type only: the text may quote the request
        raise StepFailed(f"request to {shown} failed ({type(error).__name__})") from None
    ok = status in request.expect if request.expect is not None else 200 <= status < 300
    if not ok:
        raise StepFailed(f"HTTP {status} from {shown}")
    return {"status": status, "ok": ok, "json": _json(text), "text": text}


async def _send(session: aiohttp.ClientSession, request: Request, vault: Vault) -> tuple[int, str]:
    """The status and body text of the request, with secrets resolved only here (all before sending)."""
    try:
        url = vault.resolve(request.url)
        headers = {k: vault.resolve(v) for k, v in request.headers.items()}
        body = _map_strings(request.body, vault.resolve)
    except SecretMissing as missing:
        raise StepFailed(str(missing)) from None
    options: dict[str, Any] = {} if request.body is None else {"json": body}
    limit = aiohttp.ClientTimeout(total=request.timeout)
    async with session.request(
        request.method,
        url,
        headers=headers,
        timeout=limit,
        allow_redirects=False,
        **options,
    ) as response:
        return response.status, await read_text(response, StepFailed)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
