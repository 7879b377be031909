"""``hlb preview``: dashboards and slash commands as HTML pages that look like Discord, and PNGs.

This module loads the sample data, renders the dashboards and writes the preview; the HTML is made
in ``hlb.preview_html`` and the PNGs in ``hlb.preview_png`` (whose public names it re-exports).

Each dashboard is rendered exactly as the bot renders it (``hlb.runtime.render.render_dashboard``), with
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

import json
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hlb.compiler.model import Model, SpecObject
from hlb.compiler.wording import plural
from hlb.preview_html import (
    BOT_NAME,
    BUTTON_STYLE_NAMES,
    CSP,
    MEASURE_SCRIPT,
    OPTION_TYPE_NAMES,
    command_views,
    markdown,
    message_view,
    render_pages,
)
from hlb.preview_png import (
    CHROMIUM_MISSING,
    CHROMIUM_NAMES,
    PNG_WIDTH,
    SHOT_ATTEMPTS,
    SHOT_TIMEOUT,
    SHOTS_AT_ONCE,
    ScreenshotError,
    find_chromium,
    page_height,
    screenshot,
)
from hlb.reconciler.state import RenderedMessage

if TYPE_CHECKING:
    from hlb.runtime.secrets import Secrets

__all__ = [
    "BOT_NAME",
    "BUTTON_STYLE_NAMES",
    "CHROMIUM_MISSING",
    "CHROMIUM_NAMES",
    "CSP",
    "MEASURE_SCRIPT",
    "NO_SAMPLE",
    "OPTION_TYPE_NAMES",
    "PNG_WIDTH",
    "SHOT_ATTEMPTS",
    "SHOT_TIMEOUT",
    "Channel",
    "DashboardPreview",
    "PreviewError",
    "PreviewResult",
    "ScreenshotError",
    "build_previews",
    "command_views",
    "find_chromium",
    "load_sample_data",
    "markdown",
    "message_view",
    "page_height",
    "render_pages",
    "sample_sources",
    "screenshot",
    "summary",
    "unused_data",
    "write_preview",
]

NO_SAMPLE = "no sample data"


class PreviewError(Exception):
    """The user's input to the preview (a --data file) is unusable; the message says why."""


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
    dashboards: Sequence[SpecObject], known: Sequence[Mapping[str, Any]], secrets: Secrets
) -> list[tuple[dict[str, Any], list[str]]]:
    import asyncio

    import aiohttp

    from hlb.runtime.render import fetch_sources

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
    secrets: Secrets | None = None,
) -> list[DashboardPreview]:
    """Every dashboard rendered with its sample data (and, when ``live``, the other sources fetched)."""
    from hlb.runtime.render import render_dashboard

    data = data or {}
    now = now or datetime.now(UTC)
    dashboards = model.of_kind("Dashboard")
    samples = [sample_sources(o, data) for o in dashboards]
    if live and dashboards:
        import asyncio

        known = [_given(o, data) for o in dashboards]
        from hlb.runtime.secrets import Secrets

        fetched = asyncio.run(_fetch_live(dashboards, known, secrets or Secrets({})))
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
    secrets: Secrets | None = None,
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
    shown = result.pages.items()
    with ThreadPoolExecutor(SHOTS_AT_ONCE, thread_name_prefix="hlb-png") as pool:  # threads wait on processes
        shots = {slug: pool.submit(screenshot, binary, html, out / f"{slug}.png") for slug, html in shown}
    for slug, shot in shots.items():  # the notes in page order, whichever finished first
        try:
            result.pngs[slug] = shot.result()
        except (ScreenshotError, OSError) as error:
            result.png_notes.append(f"PNG of {slug} failed: {error}")
    return result


def summary(result: PreviewResult) -> Iterable[str]:
    """What ``hlb preview`` prints."""
    yield f"wrote {result.index} and {plural(len(result.pages), 'dashboard page')}"
    for note in result.notes:
        yield f"note: {note}"
    for path in result.pngs.values():
        yield f"wrote {path}"
    yield from result.png_notes
