"""``hlb preview``: dashboards and slash commands as HTML pages that look like Discord, and PNGs.

Each dashboard is rendered exactly as the bot renders it (``hlb.bot.render.render_dashboard``), with
sample data for its sources instead of live requests: a ``--data`` file maps dashboard names to
``{source: data}``; a source without sample data renders as ``{"error": "no sample data"}``, which
shows the "Data unavailable" note. Nothing is fetched unless ``live`` is asked for.

The pages are self-contained (inline CSS, no fonts, images or scripts from elsewhere; a Content
Security Policy forbids any request) and every text from the specs or the data is escaped: only a
small Markdown subset (bold, italic, underline, strike, code, http(s) links, line breaks) becomes
markup. A PNG of each dashboard page is taken with headless Chromium when one is installed.

This module never imports disnake; aiohttp is needed (and imported) only for ``--live``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from markupsafe import Markup

from hlb.compiler.model import Model, SpecObject
from hlb.reconciler.state import RenderedMessage

T = TypeVar("T")
BOT_NAME = "hlb"
NO_SAMPLE = "no sample data"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_MISSING = "PNG skipped: Chromium not found (apt-get install chromium)"
PNG_WIDTH = 900  # pixels; the message column of a desktop Discord window
SHOT_TIMEOUT = 30.0  # seconds for one Chromium run (it takes about one)
SHOT_ATTEMPTS = 2
BUTTON_STYLE_NAMES = {1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link"}
OPTION_TYPE_NAMES = {
    3: "string",
    4: "integer",
    5: "boolean",
    6: "user",
    7: "channel",
    8: "role",
    9: "mentionable",
    10: "number",
}
# Sets the page's height on <html data-height>, read back with --dump-dom to size the screenshot.
MEASURE_SCRIPT = (
    "document.documentElement.dataset.height=String(Math.ceil("
    "document.getElementById('page').getBoundingClientRect().bottom));"
)
_HASH = base64.b64encode(hashlib.sha256(MEASURE_SCRIPT.encode()).digest()).decode()
CSP = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{_HASH}'"


class PreviewError(Exception):
    """The user's input to the preview (a --data file) is unusable; the message says why."""


class ScreenshotError(Exception):
    """Chromium ran but gave no screenshot."""


# --- sample data --------------------------------------------------------------------------------


def load_sample_data(path: str | Path) -> dict[str, dict[str, Any]]:
    """A --data file (YAML or JSON): ``{<dashboard name>: {<source name>: <data>}}``.

    A key may also be ``<guild>/<dashboard>`` when several guilds declare the same dashboard name.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PreviewError(f"cannot read {file}: {error}") from None
    try:
        if file.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            from ruamel.yaml import YAML
            from ruamel.yaml.error import YAMLError

            try:
                data = YAML(typ="safe", pure=True).load(text)
            except YAMLError as error:
                raise ValueError(str(error).strip().splitlines()[-1]) from None
    except ValueError as error:
        raise PreviewError(
            f"{file} is not valid {'JSON' if file.suffix == '.json' else 'YAML'}: {error}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise PreviewError(f"{file}: expected a mapping of dashboard names to {{source: data}}")
    out: dict[str, dict[str, Any]] = {}
    for name, sources in data.items():
        if not isinstance(sources, Mapping):
            raise PreviewError(f"{file}: '{name}' must map source names to their data")
        out[str(name)] = {str(k): v for k, v in sources.items()}
    return out


def _given(obj: SpecObject, data: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    return data.get(f"{obj.key.guild}/{obj.key.name}") or data.get(obj.key.name) or {}


def sample_sources(
    obj: SpecObject, data: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """The dashboard's sources from the sample data; a missing one is ``{"error": "no sample data"}``."""
    given = _given(obj, data)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in obj.spec.get("sources") or {}:
        if name in given:
            values[name] = given[name]
        else:
            values[name] = {"error": NO_SAMPLE}
            problems.append(f"source {name}: {NO_SAMPLE}")
    return values, problems


def unused_data(model: Model, data: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Notes on --data entries that no dashboard or source of the specs uses (likely typos)."""
    dashboards = model.of_kind("Dashboard")
    names = {o.key.name for o in dashboards} | {f"{o.key.guild}/{o.key.name}" for o in dashboards}
    notes = [f"--data: no dashboard is named '{key}'" for key in data if key not in names]
    for obj in dashboards:
        declared = obj.spec.get("sources") or {}
        notes += [
            f"--data: dashboard '{obj.key.name}' has no source named '{source}'"
            for source in _given(obj, data)
            if source not in declared
        ]
    return notes


async def _fetch_live(
    dashboards: Sequence[SpecObject], known: Sequence[Mapping[str, Any]], secrets: Mapping[str, str]
) -> list[tuple[dict[str, Any], list[str]]]:
    import asyncio

    import aiohttp

    from hlb.bot.render import fetch_sources

    async with aiohttp.ClientSession() as session:
        jobs = []
        for obj, have in zip(dashboards, known, strict=True):
            missing = {k: v for k, v in (obj.spec.get("sources") or {}).items() if k not in have}
            jobs.append(fetch_sources({"sources": missing}, session, secrets))
        return list(await asyncio.gather(*jobs))


# --- the model of the pages ---------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """Where a dashboard is posted, as the sidebar would show it."""

    name: str
    display: str
    topic: str
    category: str
    order: tuple[int, str, int, str]


@dataclass(frozen=True)
class DashboardPreview:
    obj: SpecObject
    slug: str  # the page's file name without extension
    channel: Channel
    message: RenderedMessage


@dataclass(frozen=True)
class PreviewResult:
    index: Path
    pages: dict[str, Path]  # slug -> page
    pngs: dict[str, Path] = field(default_factory=dict)
    png_notes: list[str] = field(default_factory=list)  # why PNGs are missing, one line each
    notes: list[str] = field(default_factory=list)  # render problems and unused --data entries


def _channels(model: Model) -> dict[tuple[str, str], Channel]:
    objs = {(o.key.guild, o.key.name): o for o in model.of_kind("Channel")}
    out: dict[tuple[str, str], Channel] = {}
    for (guild, name), obj in objs.items():
        spec = obj.spec
        parent = objs.get((guild, str(spec.get("category")))) if spec.get("category") else None
        category = str(parent.spec.get("display_name") or parent.key.name) if parent else ""
        ppos = int(parent.spec.get("position") or 0) if parent else -1
        order = (ppos, category, int(spec.get("position") or 0), name)
        display = str(spec.get("display_name") or name)
        out[(guild, name)] = Channel(name, display, str(spec.get("topic") or ""), category, order)
    return out


def _slugs(dashboards: Sequence[SpecObject]) -> list[str]:
    """Page names: the dashboard's name, prefixed with its guild's where two guilds share it."""
    counts: dict[str, int] = {}
    for obj in dashboards:
        counts[obj.key.name] = counts.get(obj.key.name, 0) + 1
    return [o.key.name if counts[o.key.name] == 1 else f"{o.key.guild}.{o.key.name}" for o in dashboards]


def build_previews(
    model: Model,
    data: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    now: datetime | None = None,
    live: bool = False,
    secrets: Mapping[str, str] | None = None,
) -> list[DashboardPreview]:
    """Every dashboard rendered with its sample data (and, when ``live``, the other sources fetched)."""
    from hlb.bot.render import render_dashboard

    data = data or {}
    now = now or datetime.now(UTC)
    dashboards = model.of_kind("Dashboard")
    samples = [sample_sources(o, data) for o in dashboards]
    if live and dashboards:
        import asyncio

        known = [_given(o, data) for o in dashboards]
        fetched = asyncio.run(_fetch_live(dashboards, known, os.environ if secrets is None else secrets))
        merged = []
        for (values, _), have, (got, problems) in zip(samples, known, fetched, strict=True):
            merged.append(({k: have[k] if k in have else got[k] for k in values}, problems))
        samples = merged
    channels = _channels(model)
    slugs = _slugs(dashboards)
    out = []
    for obj, slug, (values, problems) in zip(dashboards, slugs, samples, strict=True):
        where = str(obj.spec.get("channel", ""))
        channel = channels.get((obj.key.guild, where)) or Channel(where, where, "", "", (0, "", 0, where))
        message = render_dashboard(obj, values, problems, now=now)
        out.append(DashboardPreview(obj, slug, channel, message))
    return out


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


# --- PNG ----------------------------------------------------------------------------------------


def find_chromium(env: Mapping[str, str] | None = None) -> str | None:
    """``$HLB_CHROMIUM``, else the first of chromium, chromium-browser, google-chrome on PATH."""
    environ = os.environ if env is None else env
    given = environ.get("HLB_CHROMIUM", "").strip()
    if given:
        return shutil.which(given, path=environ.get("PATH"))
    for name in CHROMIUM_NAMES:
        found = shutil.which(name, path=environ.get("PATH"))
        if found:
            return found
    return None


def _chromium(binary: str, profile: str, width: int, height: int, *extra: str) -> list[str]:
    return [
        binary,
        "--headless=new",
        "--disable-gpu",
        "--no-sandbox",
        "--hide-scrollbars",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--disable-extensions",
        "--mute-audio",
        "--force-device-scale-factor=1",
        "--run-all-compositor-stages-before-draw",  # a complete frame, not the first paint
        "--virtual-time-budget=2000",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        *extra,
    ]


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run Chromium in its own process group and end whatever of it is left once it exits.

    Its output goes to files, not pipes: a helper that outlives the browser would hold a pipe open.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if code is None:
            raise ScreenshotError(f"Chromium did not finish within {timeout:g}s")
        texts = []
        for file in (out, err):
            file.seek(0)
            texts.append(file.read().decode("utf-8", errors="replace"))
        return subprocess.CompletedProcess(argv, code, texts[0], texts[1])


def _retried(attempts: int, action: Callable[[], T]) -> T:
    """``action()``, tried again after a ``ScreenshotError`` (a rare hang or crash of Chromium)."""
    for _ in range(attempts - 1):
        with contextlib.suppress(ScreenshotError):
            return action()
    return action()


_HEIGHT = re.compile(r'<html[^>]*\bdata-height="(\d+)"')


def _profile() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="hlb-chromium-", ignore_cleanup_errors=True)


def page_height(binary: str, page: Path, width: int = PNG_WIDTH, timeout: float = SHOT_TIMEOUT) -> int:
    """The rendered height of a page in pixels, read back from Chromium's DOM dump."""
    with _profile() as profile:
        done = _run(_chromium(binary, profile, width, 600, "--dump-dom", page.resolve().as_uri()), timeout)
    match = _HEIGHT.search(done.stdout)
    if match is None:
        raise ScreenshotError(f"Chromium exited with {done.returncode} and gave no page height{_tail(done)}")
    return int(match[1])


def _tail(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (done.stderr or "").strip().splitlines() if line.strip()]
    return f": {' '.join(lines[-2:])}" if lines else ""


def _shoot(binary: str, page: Path, png: Path, width: int, height: int, timeout: float) -> Path:
    png.unlink(missing_ok=True)
    with _profile() as profile:
        argv = _chromium(
            binary, profile, width, height, f"--screenshot={png.resolve()}", page.resolve().as_uri()
        )
        done = _run(argv, timeout)
    if not png.is_file() or png.stat().st_size == 0:
        raise ScreenshotError(f"Chromium exited with {done.returncode} and wrote no PNG{_tail(done)}")
    return png


def screenshot(
    binary: str,
    page: Path,
    png: Path,
    *,
    width: int = PNG_WIDTH,
    timeout: float = SHOT_TIMEOUT,
    attempts: int = SHOT_ATTEMPTS,
) -> Path:
    """A PNG of ``page`` as tall as its content (clamped to 120..8000 pixels)."""
    height = _retried(attempts, lambda: page_height(binary, page, width, timeout))
    height = min(max(height, 120), 8000)
    return _retried(attempts, lambda: _shoot(binary, page, png, width, height, timeout))


# --- all of it ----------------------------------------------------------------------------------


def write_preview(
    model: Model,
    out_dir: str | Path,
    data: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    now: datetime | None = None,
    live: bool = False,
    png: bool = True,
    chromium: str | None = None,
    secrets: Mapping[str, str] | None = None,
) -> PreviewResult:
    """Write ``index.html``, ``<dashboard>.html`` per dashboard and, with Chromium, ``<dashboard>.png``."""
    now = now or datetime.now(UTC)
    data = data or {}
    previews = build_previews(model, data, now=now, live=live, secrets=secrets)
    pages = render_pages(previews, command_views(model), now)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        (out / name).write_text(text, encoding="utf-8")
    notes = unused_data(model, data)
    notes += [f"dashboard {p.slug}: {problem}" for p in previews for problem in p.message.problems]
    result = PreviewResult(
        out / "index.html", {p.slug: out / f"{p.slug}.html" for p in previews}, notes=notes
    )
    if not png or not previews:
        return result
    binary = chromium or find_chromium()
    if binary is None:
        result.png_notes.append(CHROMIUM_MISSING)
        return result
    for slug, page in result.pages.items():
        try:
            result.pngs[slug] = screenshot(binary, page, out / f"{slug}.png")
        except (ScreenshotError, OSError) as error:
            result.png_notes.append(f"PNG of {slug} failed: {error}")
    return result


def summary(result: PreviewResult) -> Iterable[str]:
    """What ``hlb preview`` prints."""
    yield f"wrote {result.index} and {len(result.pages)} dashboard page(s)"
    for note in result.notes:
        yield f"note: {note}"
    for path in result.pngs.values():
        yield f"wrote {path}"
    yield from result.png_notes
