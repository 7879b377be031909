"""Benchmark of a reconcile pass: Discord calls and wall time against the emulator's rate-limit floor.

Usage: python bench/reconcile_bench.py [--scale 1.0] [--time-scale 1.0]

At scale 1 it generates the community guild of issue 13 (one guild at
Discord's ceilings): 10 categories and 490 text/voice channels (500 channels,
49 per category; topics, permission overwrites for @everyone and a role), 60
workflows, 50 static dashboards (an embed and a button running a workflow, no
HTTP sources) and 100 commands; applies them to a fresh database (embedded
Postgres in a temporary HLB_HOME, or a new database on the server of
$DATABASE_URL); starts the Discord emulator with Discord-like per-route rate
limits (``LIMITS``) and runs, through the real disnake REST client:

1. the first reconcile (creates everything),
2. a no-op reconcile,
3. a reconcile after changing about 1% of the objects (3 channel topics, 1
   dashboard's text, 1 command's description) and applying them.

For each it prints the wall time of ``run_reconcile``, the Discord reads and
writes (by route), writes per changed object, and the floor: the shortest time
the emulator's rate limits allow for the same requests, given the executor's
phase order (see ``floor``). Per stage it prints the requests, their buckets,
the busiest bucket's share, how many requests the bot had issued at once
(counted by wrapping disnake's ``HTTPClient.request``), the stage's floor and
when its last answer came. Targets: 1 write per changed object (commands: 1
call in total), 0 writes on a no-op run, wall <= 1.1x the floor.

``--scale`` multiplies the object counts; ``--time-scale`` multiplies every
rate-limit window (0.2 runs the benchmark in about 15 s instead of about 65 s).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
import psycopg
from disnake.http import HTTPClient, Route
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import Obj, write

from hlb.bot.session import run_reconcile
from hlb.compiler.compile import compile_paths
from hlb.settings import Settings
from hlb.store import db, embedded
from hlb.store.apply import apply_model
from hlb.testing import Emulator
from hlb.testing.server import Call

GUILD_ID = 200000000000000001
GUILD = "bench"
ROLES = ("admins", "on-call")

# --- the rate-limit model -----------------------------------------------------------------
# Discord does not publish its per-route numbers. The buckets it reports are mostly
# "5 requests per 5 s" per route and major parameter (channel, guild); this model keeps
# that shape with time running 5x faster (5 per 1 s), so a run stays under a minute and a
# half. Buckets are per (method, route template, major parameter), as in the emulator:
# every channel create of a guild shares one bucket, each channel has its own PATCH,
# overwrite and message buckets. The bulk command overwrite is stricter (2 per 1 s).
# Reads and login (not listed) get 50 per 1 s per bucket, Discord's global per-second
# figure; the global limit itself (50 requests/s over all buckets) is not modelled.
WRITE = (5, 1.0)
LIMITS: dict[tuple[str, str], tuple[int, float]] = {
    ("POST", "/guilds/{guild_id}/channels"): WRITE,  # channel create: one bucket per guild
    ("PATCH", "/guilds/{guild_id}/channels"): WRITE,  # positions
    ("PATCH", "/channels/{channel_id}"): WRITE,  # per channel
    ("DELETE", "/channels/{channel_id}"): WRITE,
    ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}"): WRITE,
    ("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}"): WRITE,
    ("POST", "/channels/{channel_id}/messages"): WRITE,  # per channel
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): WRITE,
    ("DELETE", "/channels/{channel_id}/messages/{message_id}"): WRITE,
    ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands"): (2, 1.0),
}
OTHER = (50, 1.0)  # every other route (reads, login)
MAJORS = ("channel_id", "guild_id", "interaction_id", "webhook_token", "application_id")  # as the emulator

# --- the stages of a pass, in order (login, observe, then the executor's phases) ---------
STAGES = (
    "login",
    "application info",
    "observe guild",
    "observe messages",
    "create categories",
    "create channels",
    "update channels",
    "put overwrites",
    "reorder",
    "delete overwrites",
    "messages",
    "commands",
    "delete messages",
    "delete channels",
)
CHANNELS = "/guilds/{guild_id}/channels"
CHANNEL = "/channels/{channel_id}"
OVERWRITE = "/channels/{channel_id}/permissions/{overwrite_id}"
MESSAGES = "/channels/{channel_id}/messages"
MESSAGE = "/channels/{channel_id}/messages/{message_id}"
COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"
_STAGE_OF = {
    ("GET", "/users/@me"): "login",
    ("GET", "/oauth2/applications/@me"): "application info",
    ("GET", "/guilds/{guild_id}"): "observe guild",
    ("GET", CHANNELS): "observe guild",
    ("GET", COMMANDS): "observe guild",
    ("GET", MESSAGE): "observe messages",
    ("PATCH", CHANNEL): "update channels",
    ("PUT", OVERWRITE): "put overwrites",
    ("PATCH", CHANNELS): "reorder",
    ("DELETE", OVERWRITE): "delete overwrites",
    ("POST", MESSAGES): "messages",
    ("PATCH", MESSAGE): "messages",
    ("PUT", COMMANDS): "commands",
    ("DELETE", MESSAGE): "delete messages",
    ("DELETE", CHANNEL): "delete channels",
}


def stage_of(method: str, route: str, body: Any) -> str:
    if (method, route) == ("POST", CHANNELS):
        is_category = isinstance(body, dict) and body.get("type") == 4
        return "create categories" if is_category else "create channels"
    return _STAGE_OF.get((method, route), "other")


def limit_of(method: str, route: str, time_scale: float = 1.0) -> tuple[int, float]:
    limit, window = LIMITS.get((method, route), OTHER)
    return limit, window * time_scale


def bucket_of(call: Call) -> tuple[str, str, str]:
    """The emulator's bucket: method, route template and the first major parameter's value."""
    params = dict(zip(call.route.split("/"), call.path.split("/"), strict=False))
    values = {k[1:-1]: v for k, v in params.items() if k.startswith("{")}
    major = next((values[k] for k in MAJORS if k in values), "")
    return call.method, call.route, major


def floor(stages: list[Counter[tuple[str, str, str]]], time_scale: float, rtt: float) -> list[float]:
    """The shortest time each stage can take under the emulator's limits, for an ideal client.

    The emulator counts fixed windows per bucket: a window opens at the first request after
    the previous one ended and admits L requests. An ideal client sends each request the
    moment its bucket admits it (requests of one window concurrently) and a stage ends one
    round trip after its last admitted request. Stages run one after the other, in the
    executor's order, and a bucket's window carries over from one stage to the next.
    """
    buckets: dict[tuple[str, str, str], tuple[float, int]] = {}
    t = 0.0
    durations = []
    for stage in stages:
        end = t
        for bucket, n in stage.items():
            limit, window = limit_of(bucket[0], bucket[1], time_scale)
            start, used = buckets.get(bucket, (-math.inf, 0))
            now = t
            for _ in range(n):
                if now - start >= window:
                    start, used = now, 0
                if used >= limit:
                    now = start + window
                    start, used = now, 0
                used += 1
            buckets[bucket] = (start, used)
            end = max(end, now + rtt)
        durations.append(end - t if stage else 0.0)
        t = end
    return durations


# --- the spec set -------------------------------------------------------------------------


@dataclass
class Sizes:
    categories: int
    channels: int  # besides the categories
    dashboards: int
    commands: int
    workflows: int = 1  # "ping" and workflows - 1 more

    @classmethod
    def at(cls, scale: float) -> Sizes:
        categories = max(1, round(10 * scale))
        channels = max(1, round(490 * scale))
        if channels > 49 * categories:  # Discord: at most 50 channels in a category
            raise SystemExit(f"--scale {scale}: too many channels per category")
        if categories + channels > 500:  # Discord: 500 channels per guild, categories included
            raise SystemExit(f"--scale {scale}: over Discord's 500 channels per guild")
        dashboards = max(1, round(50 * scale))
        commands = min(100, max(1, round(100 * scale)))  # Discord: 100 chat commands per guild
        workflows = max(1, round(60 * scale))
        return cls(categories, channels, dashboards, commands, workflows)


def build(sizes: Sizes) -> list[Obj]:
    objs = [Obj("Guild", GUILD, GUILD, {"id": str(GUILD_ID), "prune": True})]
    cats = [f"cat-{c:02d}" for c in range(sizes.categories)]
    for c, name in enumerate(cats):
        objs.append(
            Obj("Channel", name, GUILD, {"type": "category", "display_name": f"Area {c}", "position": c})
        )
    text: list[str] = []
    per_category: Counter[str] = Counter()
    for i in range(sizes.channels):
        category = cats[i % len(cats)]
        name = f"ch-{i:04d}"
        spec: dict[str, Any]
        if i % 8 == 7:
            spec = {"type": "voice", "display_name": f"Voice {i}", "bitrate": 64000, "user_limit": i % 20}
        else:
            spec = {"type": "text", "display_name": name, "topic": f"Channel {i}: what goes on in here."}
            text.append(name)
        spec["category"] = category
        spec["position"] = per_category[category]
        per_category[category] += 1
        if i % 2 == 0:
            spec["permissions"] = [{"role": "@everyone", "deny": ["send_messages"]}]
            if i % 4 == 0:
                spec["permissions"].append({"role": ROLES[i // 4 % 2], "allow": ["send_messages"]})
        objs.append(Obj("Channel", name, GUILD, spec))
    objs.append(
        Obj("Workflow", "ping", GUILD, {"steps": [{"reply": {"content": "pong", "ephemeral": True}}]})
    )
    for w in range(1, sizes.workflows):
        steps = [{"reply": {"content": f"Workflow {w} ran for {{{{ user.name }}}}.", "ephemeral": True}}]
        objs.append(Obj("Workflow", f"wf-{w:03d}", GUILD, {"steps": steps}))
    if sizes.dashboards > len(text):
        raise SystemExit(f"{sizes.dashboards} dashboards need as many text channels, there are {len(text)}")
    for d in range(sizes.dashboards):
        embed = {
            "title": f"Dashboard {d}",
            "description": f"Static dashboard number {d}.",
            "color": "#2ecc71",
            "fields": [{"name": "Host", "value": f"host-{d}", "inline": True}],
            "footer": {"text": "managed by hlb"},
        }
        button = {"button": {"label": "Ping", "style": "primary", "workflow": "ping"}}
        spec = {"channel": text[d], "embeds": [embed], "components": [[button]]}
        objs.append(Obj("Dashboard", f"dash-{d:03d}", GUILD, spec))
    for k in range(sizes.commands):
        spec = {"description": f"Command number {k}", "reply": f"Command {k} ran for {{{{ user.name }}}}."}
        objs.append(Obj("Command", f"cmd-{k:03d}", GUILD, spec))
    return objs


@dataclass(frozen=True)
class Changed:
    channels: tuple[str, ...]  # display names (text channels)
    dashboard_channels: tuple[str, ...]  # the channels of the changed dashboards
    commands: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.channels) + len(self.dashboard_channels) + len(self.commands)


def change(objs: list[Obj], scale: float) -> Changed:
    """Change about 1% of the objects: channel topics, a dashboard's text, a command's description."""
    text = [o for o in objs if o.kind == "Channel" and o.spec["type"] == "text"]
    step = max(1, len(text) // 3)
    channels = text[::step][: max(1, round(3 * scale))]
    for o in channels:
        o.spec["topic"] += " (changed)"
    dashboards = [o for o in objs if o.kind == "Dashboard"][: max(1, round(scale))]
    for o in dashboards:
        o.spec["embeds"][0]["description"] += " (changed)"
    commands = [o for o in objs if o.kind == "Command"][: max(1, round(scale))]
    for o in commands:
        o.spec["description"] += " (changed)"
    return Changed(
        tuple(o.spec["display_name"] for o in channels),
        tuple(o.spec["channel"] for o in dashboards),
        tuple(o.name for o in commands),
    )


def compile_and_apply(specs: Path, url: str) -> None:
    result = compile_paths([str(specs)], {})
    if not result.ok:
        raise SystemExit("the generated specs do not compile:\n" + "\n".join(map(str, result.diagnostics)))
    apply_model(url, result.model, author="bench", echo=lambda _line: None)


# --- database -----------------------------------------------------------------------------


@contextmanager
def fresh_database(work: Path) -> Iterator[str]:
    """A new, migrated database on the server of $DATABASE_URL (or $HLB_DATABASE_URL; the user must
    be allowed to create databases), else on an embedded Postgres in a temporary HLB_HOME."""
    given = os.environ.get("DATABASE_URL") or os.environ.get("HLB_DATABASE_URL")
    home = work / ".hlb"
    try:
        admin = given or embedded.ensure_running(home).url("postgres")
        name = f"hlb_reconcile_bench_{os.getpid()}"
        parts = urlsplit(admin)
        url = urlunsplit((parts.scheme, parts.netloc, "/" + quote(name), parts.query, parts.fragment))
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(drop)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            db.ensure_schema(url, echo=lambda _line: None)
            yield url
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(drop)
    finally:
        if not given:
            embedded.stop(home)


# --- measuring ----------------------------------------------------------------------------


class TimedCalls(list[Call]):
    """The emulator's call record, with the monotonic time each response was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, call: Call) -> None:
        self.times.append(time.monotonic())
        super().append(call)


class InFlight:
    """How many requests the bot had issued at once, per stage (counted in disnake's
    ``HTTPClient.request``, so requests waiting for their bucket count too)."""

    def __init__(self) -> None:
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()

    @contextmanager
    def watching(self) -> Iterator[InFlight]:
        original = HTTPClient.request
        tracker = self

        async def request(client: HTTPClient, route: Route, **kwargs: Any) -> Any:
            stage = stage_of(route.method, route.path, kwargs.get("json"))
            tracker.now[stage] += 1
            tracker.peak[stage] = max(tracker.peak[stage], tracker.now[stage])
            try:
                return await original(client, route, **kwargs)
            finally:
                tracker.now[stage] -= 1

        HTTPClient.request = request  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            HTTPClient.request = original  # type: ignore[method-assign]


@dataclass
class Run:
    name: str
    wall: float
    start: float
    calls: list[tuple[float, Call]]
    in_flight: Counter[str]

    @property
    def reads(self) -> list[Call]:
        return [c for _t, c in self.calls if c.method == "GET" and c.status != 429]

    @property
    def writes(self) -> list[Call]:
        return [c for _t, c in self.calls if c.is_write and c.status < 300]

    @property
    def limited(self) -> int:
        return sum(1 for _t, c in self.calls if c.status == 429)

    def count(self, method: str, route: str) -> int:
        return sum(1 for c in self.writes if (c.method, c.route) == (method, route))

    def stages(self) -> list[Counter[tuple[str, str, str]]]:
        per: dict[str, Counter[tuple[str, str, str]]] = defaultdict(Counter)
        for _t, call in self.calls:
            if call.status != 429:  # a 429 did not take a place in its bucket
                per[stage_of(call.method, call.route, call.body)][bucket_of(call)] += 1
        unknown = set(per) - set(STAGES)
        if unknown:
            raise SystemExit(f"calls outside the known stages: {unknown}")
        return [per.get(s, Counter()) for s in STAGES]

    def stage_ends(self) -> dict[str, float]:
        """When each stage's last response was sent, in seconds since the run started."""
        ends: dict[str, float] = {}
        for t, call in self.calls:
            stage = stage_of(call.method, call.route, call.body)
            ends[stage] = max(ends.get(stage, 0.0), t - self.start)
        return ends


async def reconcile(emu: Emulator, url: str, name: str) -> Run:
    calls = emu.calls
    assert isinstance(calls, TimedCalls)
    first = len(calls)
    settings = Settings(discord_token=emu.token, discord_api_base=emu.base_url)
    with InFlight().watching() as in_flight:
        start = time.monotonic()
        reports = await run_reconcile(settings, url)
        wall = time.monotonic() - start
    for report in reports:
        failures = (
            [(o.action.describe(), o.error) for o in report.execution.failed] if report.execution else []
        )
        blocked = dict(report.plan.blocked) if report.plan else {}
        if report.error or failures or blocked:
            raise SystemExit(f"{name}: the pass failed: {report.error or failures or blocked}")
    timed = list(zip(calls.times[first:], calls[first:], strict=True))
    return Run(name, wall, start, timed, in_flight.peak)


async def round_trip() -> float:
    """The median round trip of a small authorised request to an unlimited emulator (aiohttp)."""
    async with Emulator(rate_limit=10**9) as emu, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bot {emu.token}"}
        samples = []
        for _ in range(40):
            start = time.perf_counter()
            async with http.get(f"{emu.base_url}/users/@me", headers=headers) as response:
                await response.read()
            samples.append(time.perf_counter() - start)
    return statistics.median(samples[5:])


# --- output -------------------------------------------------------------------------------


def by_route(calls: list[Call]) -> str:
    counts = Counter(f"{c.method} {c.route}" for c in calls)
    return ", ".join(f"{n} {route}" for route, n in counts.most_common()) or "none"


def report(run: Run, time_scale: float, rtt: float, per_object: list[tuple[str, int, int]]) -> None:
    stages = run.stages()
    floors = floor(stages, time_scale, rtt)
    total = sum(floors)
    ends = run.stage_ends()
    print(f"\n{run.name}")
    print(f"  wall time              {run.wall:8.3f} s")
    print(f"  floor (rate limits)    {total:8.3f} s   wall / floor = {run.wall / total:.2f}x")
    if total < 0.05:
        print("  (no bucket had to wait in this run: the floor is round trips, the wall time local work)")
    print(f"  reads                  {len(run.reads):8d}     ({by_route(run.reads)})")
    print(f"  writes                 {len(run.writes):8d}     ({by_route(run.writes)})")
    print(f"  429 answers            {run.limited:8d}")
    first_answer, last_answer = run.calls[0][0] - run.start, run.calls[-1][0] - run.start
    print(
        f"  local work             {first_answer:8.3f} s before the first answer, "
        f"{run.wall - last_answer:.3f} s after the last"
    )
    for what, writes, objects in per_object:
        ratio = f"{writes / objects:.2f}" if objects else "-"
        print(f"  writes per {what:<22s} {ratio:>5s}   ({writes} for {objects})")
    head = f"{'requests':>8s} {'buckets':>7s} {'busiest':>7s} {'at once':>7s} {'floor':>8s} {'done at':>8s}"
    print(f"  {'stage':<20s} {head}")
    for stage, counter, fl in zip(STAGES, stages, floors, strict=True):
        if counter:
            busiest = max(counter.values())
            done = ends.get(stage, 0.0)
            at_once = run.in_flight[stage]
            counts = f"{sum(counter.values()):8d} {len(counter):7d} {busiest:7d} {at_once:7d}"
            print(f"  {stage:<20s} {counts} {fl:7.3f}s {done:7.3f}s")
    print(f"  {'(end of the pass)':<20s} {'':8s} {'':7s} {'':7s} {'':7s} {total:7.3f}s {run.wall:7.3f}s")


def targets(run: Run, guild: Any, changed: Changed, commands: int) -> str:
    """Whether the writes of a run went to exactly the changed objects, with only the changed fields."""
    ids = {str(guild.channel_named(name, 0).id) for name in changed.channels}
    patched = {c.path.split("/")[2]: c.body for c in run.writes if c.route == CHANNEL}
    homes = {str(guild.channel_named(name, 0).id) for name in changed.dashboard_channels}
    edited = {c.path.split("/")[2] for c in run.writes if c.route == MESSAGE}
    put = [len(c.body) for c in run.writes if c.route == COMMANDS]
    fields = sorted({f for body in patched.values() for f in body})
    ok = set(patched) == ids and edited == homes and put == [commands]
    return (
        f"{'exactly' if ok else 'NOT exactly'} the changed objects: channel PATCH bodies carry {fields}; "
        f"dashboard edits in their channels; PUTs of the command set: {put} commands each"
    )


# --- main ---------------------------------------------------------------------------------


async def bench(work: Path, url: str, sizes: Sizes, scale: float, time_scale: float) -> list[Run]:
    specs = work / "specs"
    objs = build(sizes)
    write(specs, objs)
    compile_and_apply(specs, url)
    rtt = await round_trip()
    limits = {k: limit_of(*k, time_scale) for k in LIMITS}
    emu = Emulator(
        rate_limit=OTHER[0],
        rate_window=OTHER[1] * time_scale,
        route_limits=limits,
        max_channels=max(500, sizes.categories + sizes.channels + 10),
    )
    emu.calls = TimedCalls()
    async with emu:
        emu.add_guild("Bench", guild_id=GUILD_ID)
        for role in ROLES:
            emu.state.add_role(GUILD_ID, role)
        first = await reconcile(emu, url, "1. first reconcile (creates everything)")
        noop = await reconcile(emu, url, "2. no-op reconcile")
        changed = change(objs, scale)
        write(specs, objs)
        compile_and_apply(specs, url)
        percent = 100 * changed.total / len(objs)
        one = await reconcile(
            emu, url, f"3. reconcile after {changed.total} objects changed ({percent:.1f}%)"
        )
        emu.assert_no_invalid_requests()
        guild = emu.state.guilds[GUILD_ID]
        created = (len(guild.channels), len(emu.state.messages), len(guild.commands))
        targeted = targets(one, guild, changed, sizes.commands)

    print(
        f"objects: 1 guild, {sizes.categories} categories, {sizes.channels} channels, 1 workflow, "
        f"{sizes.dashboards} dashboards, {sizes.commands} commands; CPUs: {os.cpu_count()}"
    )
    print(
        f"in Discord after the first pass: {created[0]} channels, {created[1]} messages, "
        f"{created[2]} commands"
    )
    print(f"round trip of one request: {rtt * 1000:.2f} ms (the floor adds one per stage)")
    print("rate limits per bucket (method, route, major id):")
    for (method, route), (limit, window) in LIMITS.items():
        print(f"  {limit} per {window * time_scale:g} s  {method} {route}")
    print(f"  {OTHER[0]} per {OTHER[1] * time_scale:g} s  every other route (reads, login)")

    channels = sizes.categories + sizes.channels
    report(
        first,
        time_scale,
        rtt,
        [
            ("created channel", first.count("POST", CHANNELS), channels),
            ("created dashboard", first.count("POST", MESSAGES), sizes.dashboards),
            ("command set (PUT)", first.count("PUT", COMMANDS), 1),
            ("object, all writes", len(first.writes), channels + sizes.dashboards + 1),
        ],
    )
    report(noop, time_scale, rtt, [])
    report(
        one,
        time_scale,
        rtt,
        [
            ("changed channel", one.count("PATCH", CHANNEL), len(changed.channels)),
            ("changed dashboard", one.count("PATCH", MESSAGE), len(changed.dashboard_channels)),
            ("command set (PUT)", one.count("PUT", COMMANDS), 1),
            ("changed object", len(one.writes), changed.total),
        ],
    )
    print(f"  {targeted}")
    return [first, noop, one]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the object counts (default 1)")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="multiply every rate-limit window (default 1)"
    )
    args = parser.parse_args()
    if args.scale <= 0 or args.time_scale <= 0:
        parser.error("--scale and --time-scale must be positive")
    sizes = Sizes.at(args.scale)
    work = Path(tempfile.mkdtemp(prefix="hlb-reconcile-bench-"))
    started = time.monotonic()
    try:
        with fresh_database(work) as url:
            asyncio.run(bench(work, url, sizes, args.scale, args.time_scale))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nbenchmark total: {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
