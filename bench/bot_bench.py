"""Benchmark of the running bot: time from an apply's COMMIT to the change being in Discord.

Usage: python bench/bot_bench.py [--changes 20]

Starts an embedded Postgres (or uses a new database on $DATABASE_URL's server), the
Discord emulator, and one bot (``hlb.bot.runner.Runner``, in process, real disnake on the
emulator's gateway). It applies the reference specs, waits for the first reconcile, then
applies ``--changes`` successive topic changes and, for each, measures the time from the
moment ``apply_model`` returned (the transaction committed and NOTIFY was sent) until the
emulator holds the new topic. Prints min, median, p95 and max. Target: under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reconcile_bench import fresh_database

from hlb.bot.runner import BotOptions, Runner
from hlb.compiler.compile import compile_paths
from hlb.settings import Settings
from hlb.store.apply import apply_model
from hlb.testing import Emulator

ROOT = Path(__file__).resolve().parent.parent
GUILD_ID = 100000000000000001
TOPIC = "topic: Noisy machine output"


def apply(specs: Path, url: str) -> None:
    result = compile_paths([str(specs)], {"HLB_GUILD_ID": str(GUILD_ID)})
    assert result.ok, result.diagnostics
    apply_model(url, result.model, author="bench", echo=lambda _line: None)


async def measure(url: str, specs: Path, changes: int) -> list[float]:
    async with Emulator() as emu:
        emu.add_guild("Homelab", guild_id=GUILD_ID)
        for role in ("admins", "on-call"):
            emu.add_role(GUILD_ID, role)
        await asyncio.to_thread(apply, specs, url)
        settings = Settings(discord_token=emu.token, discord_api_base=emu.base_url)
        bot, stop = Runner(settings, url, BotOptions(election=0.2, tick=0.2)), asyncio.Event()
        task = asyncio.create_task(bot.run(stop))
        await asyncio.wait_for(bot.ready.wait(), 30)
        logs = emu.state.guilds[GUILD_ID].channel_named("📜-logs", 0)
        infra = specs / "channels" / "infra.yaml"
        original = infra.read_text()
        latencies = []
        for n in range(changes):
            wanted = f"topic: Change {n} of the machine output"
            infra.write_text(original.replace(TOPIC, wanted))
            await asyncio.to_thread(apply, specs, url)
            committed = time.perf_counter()
            while not (logs.topic or "").startswith(f"Change {n} "):
                await asyncio.sleep(0.002)
            latencies.append(time.perf_counter() - committed)
        stop.set()
        await task
        emu.assert_no_invalid_requests()
        return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        specs = work / "specs"
        shutil.copytree(ROOT / "specs", specs)
        with fresh_database(work) as url:
            latencies = asyncio.run(measure(url, specs, args.changes))
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"apply -> Discord over {len(ms)} applies (one topic change each):")
    median = statistics.median(ms)
    print(f"  min {ms[0]:.0f} ms, median {median:.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms")
    print(f"  target: under 1000 ms -> {'met' if ms[-1] < 1000 else 'NOT met'}")


if __name__ == "__main__":
    main()
