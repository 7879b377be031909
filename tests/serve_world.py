"""Data for the `hlb serve` tests, written the way hlb writes it: applies, reconcile passes, workflow runs.

``build(url, tmp)`` applies the reference specs twice (the second with a commit and a message),
reconciles them against the emulator until the logs channel is drifted (the server will not keep
its topic), and runs the reference ``deploy`` workflow through the real engine, once against a
server that answers 503 (a failed run) and once against one that answers 200.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from reconcile_world import GUILD_ID, World, run_world
from test_workflows import Recorder, invocation, reference_specs, run, serve

from hlb.compiler.compile import compile_paths
from hlb.reconciler.damping import MAX_FLAPS
from hlb.store.apply import apply_model

CHANNEL = "/channels/{channel_id}"
QUIET = ("topic: Noisy machine output", "topic: Quieter machine output")
MORE_RIGHTS = ("allow: [manage_messages]", "allow: [manage_messages, add_reactions]")
GIT_SHA = "0123456789abcdef0123456789abcdef01234567"
MESSAGE = "quieter logs"


@dataclass(frozen=True)
class Built:
    revision: int  # the last apply
    failed_run_error: str


def _apply(w: World, **extra: str | None) -> None:
    result = compile_paths([str(w.specs)], {"HLB_GUILD_ID": str(GUILD_ID)})
    assert result.ok and result.model is not None
    apply_model(w.url, result.model, author="ops-tester", echo=lambda _line: None, **extra)  # type: ignore[arg-type]


def build(url: str, tmp_path: Path) -> Built:
    async def scenario(w: World) -> None:
        w.now = datetime.now(UTC)
        _apply(w)
        await w.reconcile()
        w.emu.ignore_on_write("PATCH", CHANNEL, "topic")  # the server acknowledges but keeps the old topic
        w.edit_spec("channels/infra.yaml", *QUIET)
        w.edit_spec("channels/infra.yaml", *MORE_RIGHTS)
        _apply(w, git_sha=GIT_SHA, message=MESSAGE)
        for _ in range(MAX_FLAPS + 2):
            w.now += timedelta(seconds=1)
            await w.reconcile()
        assert w.binding("Channel", "logs").status == "drifted"

    run_world(url, tmp_path, scenario)
    error = asyncio.run(_runs(url, tmp_path))
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT max(id) FROM hlb_config.revisions").fetchone()
    assert row is not None
    return Built(int(row[0]), error)


async def _runs(url: str, tmp_path: Path) -> str:
    async with serve() as server, await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        objs = reference_specs(tmp_path / "runs", server.base)
        await run(invocation(objs, "deploy", service="web"), Recorder(), server, conn)
        server.status["/api/deploy"] = 503
        failed = await run(invocation(objs, "deploy", service="web"), Recorder(), server, conn)
    assert failed.status == "error" and failed.error
    return failed.error
