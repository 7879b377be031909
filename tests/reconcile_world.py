"""A test world for reconcile tests: the emulator with a guild, a real Postgres, specs applied.

``World.run(scenario)`` starts an emulator (with the reference guild id and the roles the
reference specs name), and gives the scenario helpers to apply specs and run a pass
through the real disnake REST client. Every test ends by checking that the emulator saw
no request that Discord's OpenAPI spec rejects.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from hlb.bot.reconcile import GuildReport
from hlb.bot.session import run_reconcile
from hlb.compiler.compile import compile_paths
from hlb.compiler.model import ObjectKey
from hlb.reconciler.state import Binding
from hlb.settings import Settings
from hlb.store import db
from hlb.store.apply import apply_model
from hlb.store.runtime_tables import load_bindings_sync
from hlb.testing import Call, Emulator

ROOT = Path(__file__).resolve().parent.parent
GUILD_ID = 100000000000000001
FIXED_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HLB = [sys.executable, "-m", "hlb.cli"]  # hlb as a process


@dataclass
class World:
    emu: Emulator
    url: str
    specs: Path
    now: datetime = FIXED_NOW

    def apply(self, env: dict[str, str] | None = None) -> None:
        apply_in_process(self.url, self.specs, {"HLB_GUILD_ID": str(GUILD_ID), **(env or {})})

    def edit_spec(self, file: str, old: str, new: str) -> None:
        path = self.specs / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new, 1))

    def settings(self) -> Settings:
        """Settings that reach this world's emulator (see ``emulator_settings``)."""
        return emulator_settings(self.emu)

    async def reconcile(self, **options: Any) -> list[GuildReport]:
        return await run_reconcile(self.settings(), self.url, clock=lambda: self.now, **options)

    def bindings(self) -> dict[ObjectKey, Binding]:
        with db.connect(self.url) as conn:
            return load_bindings_sync(conn)

    def binding(self, kind: str, name: str) -> Binding:
        return self.bindings()[ObjectKey("homelab", kind, name)]

    def events(self) -> list[tuple[str, str, str]]:
        with psycopg.connect(self.url) as conn:
            rows = conn.execute("SELECT name, action, outcome FROM hlb_runtime.reconcile_events ORDER BY id")
            return [(str(a), str(b), str(c)) for a, b, c in rows]

    def writes(self) -> int:
        return len(self.emu.writes())

    async def writes_after(self, edit: Callable[[], None]) -> list[Call]:
        """Converge, ``edit`` the specs, apply, reconcile again: the writes of that last pass."""
        self.apply()
        only_ok(await self.reconcile())
        edit()
        self.apply()
        before = len(self.emu.calls)
        only_ok(await self.reconcile())
        return [c for c in self.emu.calls[before:] if c.is_write]

    async def assert_quiet_pass(self) -> None:
        """Reconcile once more: nothing left to do, and not one write sent to Discord."""
        before = self.writes()
        report = only_ok(await self.reconcile())
        assert self.writes() == before and report.plan is not None and report.plan.actions == ()


Scenario = Callable[[World], Awaitable[None]]


def emulator_settings(emu: Emulator) -> Settings:
    """Settings that reach ``emu``. A failed call is retried after 10 ms rather than 200 (then 20,
    40, 80): the tries and what they lead to are the point of a test, not the waiting."""
    return Settings(discord_token=emu.token, discord_api_base=emu.base_url, discord_retry_delay=0.01)


def apply_in_process(url: str, specs: Path, env: Mapping[str, str], author: str = "test") -> None:
    """``hlb apply specs`` without a process of its own (about 1 s of imports less), for setups."""
    result = compile_paths([str(specs)], dict(env))
    assert result.ok and result.model is not None, [str(d) for d in result.diagnostics]
    apply_model(url, result.model, author=author, echo=lambda _line: None)


def reconcile_in_process(url: str, emu: Emulator) -> list[GuildReport]:
    """``hlb reconcile`` once without a process of its own, for setups; checks nothing failed."""
    reports = asyncio.run(run_reconcile(emulator_settings(emu), url))
    assert not any(r.failed or r.held for r in reports), reports
    return reports


def seed_homelab(emu: Emulator) -> None:
    """The guild the reference specs describe, with the roles their overwrites name."""
    emu.add_guild("Homelab", guild_id=GUILD_ID)
    for role in ("admins", "on-call"):
        emu.state.add_role(GUILD_ID, role)


def run_world(
    url: str, tmp_path: Path, scenario: Scenario, specs: Path = ROOT / "specs", **emu: Any
) -> World:
    copy = tmp_path / "specs"
    shutil.copytree(specs, copy)

    async def main() -> World:
        async with Emulator(**emu) as emulator:
            seed_homelab(emulator)
            world = World(emulator, url, copy)
            await scenario(world)
            emulator.assert_no_invalid_requests()
            return world

    return asyncio.run(main())


def only_ok(reports: list[GuildReport]) -> GuildReport:
    """The single guild report, after checking nothing failed."""
    assert len(reports) == 1
    report = reports[0]
    assert report.error is None, report.error
    failures = [(o.action.describe(), o.error) for o in report.execution.failed] if report.execution else []
    assert not failures, failures
    assert report.plan is not None and not report.plan.blocked, report.plan and report.plan.blocked
    return report


def applied_specs(
    url: str, emu: Emulator, specs: Path, files: Mapping[str, str] | None = None, **extra_env: str
) -> dict[str, str]:
    """Copy the reference specs (and ``files``: name -> text) to ``specs`` and apply them (in this
    process); the environment ``hlb`` needs against ``url`` and the emulator (plus ``extra_env``)."""
    shutil.copytree(ROOT / "specs", specs)
    for name, text in (files or {}).items():
        (specs / name).write_text(text)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DISCORD_TOKEN": emu.token,
        "HLB_DISCORD_API_BASE": emu.base_url,
        "HLB_GUILD_ID": str(GUILD_ID),
        **extra_env,
    }
    apply_in_process(url, specs, env)
    return env


def bot_process(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``hlb bot run`` as a process (leadership checked every 0.3 s), logging to ``log``."""
    with log.open("w") as out:
        return subprocess.Popen([*HLB, "bot", "run", "--election", "0.3"], env=env, stdout=out, stderr=out)
