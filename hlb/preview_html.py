"""The preview's HTML: Discord-looking pages of dashboards and commands, from a Jinja template.

Rendering only: ``render_pages`` turns the dashboards rendered by ``hlb.preview.build_previews``
and the guilds' slash commands into ``{file name: html}``. The pages are self-contained (inline
CSS from ``preview_assets``, no fonts, images or scripts from elsewhere; a Content Security Policy
forbids any request) and every text from the specs or the data is escaped: only a small Markdown
subset (bold, italic, underline, strike, code, http(s) links, line breaks) becomes markup. This
module never imports disnake.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from hlb.compiler.enums import BUTTON_STYLE_NAMES, OPTION_TYPE_NAMES
from hlb.compiler.model import Model

if TYPE_CHECKING:
    from hlb.preview import DashboardPreview

BOT_NAME = "hlb"
# Sets the page's height on <html data-height>, read back with --dump-dom to size the screenshot.
MEASURE_SCRIPT = (
    "document.documentElement.dataset.height=String(Math.ceil("
    "document.getElementById('page').getBoundingClientRect().bottom));"
)
_HASH = base64.b64encode(hashlib.sha256(MEASURE_SCRIPT.encode()).digest()).decode()
CSP = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{_HASH}'"


# --- Markdown-lite ------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"```(?:[A-Za-z0-9_+-]*\n)?(?P<block>.*?)```\n?"
    r"|`(?P<code>[^`\n]+)`"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<href>https?://[^\s()<>]+)\)"
    r"|(?P<url>https?://[^\s<>]*[^\s<>.,:;\"'!?)\]])",
    re.S,
)
_INLINE = (
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.S), "strong"),
    (re.compile(r"__(?=\S)(.+?)(?<=\S)__", re.S), "u"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~", re.S), "s"),
    (re.compile(r"\*(?=\S)(.+?)(?<=\S)\*", re.S), "em"),
    (re.compile(r"(?<![A-Za-z0-9_])_(?=\S)(.+?)(?<=\S)_(?![A-Za-z0-9_])", re.S), "em"),
)
_SLOT = re.compile("\x00(\\d+)\x00")


def _link(href: str, label: Markup | str) -> str:
    return f'<a href="{html.escape(href, quote=True)}" rel="noopener noreferrer" target="_blank">{label}</a>'


def markdown(text: str, *, links: bool = True) -> Markup:
    """Discord-flavoured Markdown-lite to safe HTML: everything that is not markup is escaped."""
    slots: list[str] = []

    def slot(markup: str) -> str:
        slots.append(markup)
        return f"\x00{len(slots) - 1}\x00"

    def token(match: re.Match[str]) -> str:
        if match["block"] is not None:
            return slot(f'<pre class="codeblock"><code>{html.escape(match["block"])}</code></pre>')
        if match["code"] is not None:
            return slot(f'<code class="inline">{html.escape(match["code"])}</code>')
        if match["href"] is not None:
            label = _inline(html.escape(match["label"]))
            return slot(_link(match["href"], label) if links else label)
        url = match["url"]
        return slot(_link(url, html.escape(url)) if links else html.escape(url))

    source = _TOKEN.sub(token, text.replace("\x00", ""))
    out = _inline(html.escape(source))
    out = out.replace("\n", "<br>")
    return Markup(_SLOT.sub(lambda m: slots[int(m[1])], out))


def _inline(escaped: str) -> str:
    for pattern, tag in _INLINE:
        escaped = pattern.sub(rf"<{tag}>\1</{tag}>", escaped)
    return escaped


# --- view models for the template ---------------------------------------------------------------


def _layout_fields(fields: Sequence[Mapping[str, Any]], per_row: int) -> list[dict[str, Any]]:
    """Each field with its grid columns: a run of inline fields shares a row, ``per_row`` at most."""
    out: list[dict[str, Any]] = []
    run: list[Mapping[str, Any]] = []

    def flush() -> None:
        for start in range(0, len(run), per_row):
            chunk = run[start : start + per_row]
            span = 12 // len(chunk)
            for i, f in enumerate(chunk):
                out.append({**f, "inline": True, "column": f"{1 + i * span} / {1 + (i + 1) * span}"})
        run.clear()

    for f in fields:
        if f.get("inline"):
            run.append(f)
        else:
            flush()
            out.append({**f, "inline": False, "column": "1 / 13"})
    flush()
    return out


def _time(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _embed_view(embed: Mapping[str, Any]) -> dict[str, Any]:
    color = embed.get("color")
    thumbnail = (embed.get("thumbnail") or {}).get("url")
    return {
        "color": f"#{color:06x}" if isinstance(color, int) else None,
        "author": embed.get("author"),
        "title": embed.get("title"),
        "url": embed.get("url"),
        "description": embed.get("description"),
        "fields": _layout_fields(embed.get("fields") or [], 2 if thumbnail else 3),
        "thumbnail": thumbnail,
        "image": (embed.get("image") or {}).get("url"),
        "footer": embed.get("footer"),
        "timestamp": _time(embed["timestamp"]) if embed.get("timestamp") else None,
    }


def _emoji_text(emoji: Mapping[str, Any] | None) -> str:
    if not emoji:
        return ""
    return f":{emoji['name']}:" if emoji.get("id") else str(emoji.get("name", ""))


def _component_view(comp: Mapping[str, Any]) -> dict[str, Any]:
    if comp.get("type") == 3:
        return {
            "kind": "select",
            "placeholder": comp.get("placeholder") or "Make a selection",
            "options": comp.get("options") or [],
            "min": comp.get("min_values", 1),
            "max": comp.get("max_values", 1),
            "disabled": bool(comp.get("disabled")),
        }
    return {
        "kind": "button",
        "style": BUTTON_STYLE_NAMES.get(int(comp.get("style") or 1), "primary"),
        "label": comp.get("label"),
        "emoji": _emoji_text(comp.get("emoji")),
        "url": comp.get("url"),
        "disabled": bool(comp.get("disabled")),
    }


def message_view(preview: DashboardPreview) -> dict[str, Any]:
    from hlb.compiler.durations import format_duration

    payload = preview.message.payload
    refresh = preview.obj.spec.get("refresh")
    return {
        "name": preview.obj.key.name,
        "guild": preview.obj.key.guild,
        "slug": preview.slug,
        "content": payload.get("content") or "",
        "embeds": [_embed_view(e) for e in payload.get("embeds") or []],
        "rows": [
            [_component_view(c) for c in row.get("components", [])] for row in payload.get("components") or []
        ],
        # a failing source is already shown by the message's "Data unavailable" note
        "problems": [p for p in preview.message.problems if not p.startswith("source ")],
        "refresh": format_duration(refresh) if isinstance(refresh, int | float) else refresh,
    }


def command_views(model: Model) -> dict[str, list[dict[str, Any]]]:
    """The slash commands of each guild, as Discord receives them, with the spec's extras."""
    from hlb.reconciler.commands import command_payload

    out: dict[str, list[dict[str, Any]]] = {}
    for obj in sorted(model.of_kind("Command"), key=lambda o: (o.key.guild, o.key.name)):
        body = command_payload(obj)
        options = [
            {
                "name": o["name"],
                "type": OPTION_TYPE_NAMES.get(o["type"], str(o["type"])),
                "description": o.get("description", ""),
                "required": bool(o.get("required")),
                "choices": [str(c["name"]) for c in o.get("choices") or []],
                "bounds": {k: o[k] for k in ("min_value", "max_value", "min_length", "max_length") if k in o},
            }
            for o in body.get("options") or []
        ]
        spec = obj.spec
        action = f"runs workflow {spec['workflow']}" if spec.get("workflow") else "replies with a template"
        out.setdefault(obj.key.guild, []).append(
            {
                "name": body["name"],
                "description": body["description"],
                "options": options,
                "permissions": list(spec.get("default_member_permissions") or []),
                "action": action,
            }
        )
    return out


# --- HTML ---------------------------------------------------------------------------------------


def _asset(name: str) -> str:
    return resources.files("hlb").joinpath("preview_assets", name).read_text(encoding="utf-8")


def _environment() -> Any:
    from jinja2 import Environment

    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = markdown
    env.filters["md_plain"] = lambda text: markdown(text, links=False)
    return env


def render_pages(
    previews: Sequence[DashboardPreview], commands: Mapping[str, list[dict[str, Any]]], now: datetime
) -> dict[str, str]:
    """``{file name: html}``: ``index.html`` and one ``<slug>.html`` per dashboard."""
    env = _environment()
    template = env.from_string(_asset("page.html.j2"))
    common = {
        "css": Markup(_asset("discord.css")),
        "script": Markup(MEASURE_SCRIPT),
        "csp": CSP,
        "bot": BOT_NAME,
        "stamp": now.astimezone(UTC).strftime("Today at %H:%M"),
        "generated": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for p in sorted(previews, key=lambda p: (p.obj.key.guild, p.channel.order, p.obj.key.name)):
        by_channel = groups.setdefault(p.obj.key.guild, {})
        entry = by_channel.setdefault(p.channel.name, {"channel": p.channel, "messages": []})
        entry["messages"].append(message_view(p))
    guilds = sorted(set(groups) | set(commands))
    pages = {
        "index.html": template.render(
            common,
            page="index",
            title="hlb preview",
            guilds=[
                {"name": g, "channels": list(groups.get(g, {}).values()), "commands": commands.get(g, [])}
                for g in guilds
            ],
        )
    }
    for p in previews:
        pages[f"{p.slug}.html"] = template.render(
            common,
            page="dashboard",
            title=f"{p.obj.key.name} — hlb preview",
            guilds=[
                {
                    "name": p.obj.key.guild,
                    "channels": [{"channel": p.channel, "messages": [message_view(p)]}],
                    "commands": [],
                }
            ],
        )
    return pages
