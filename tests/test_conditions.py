"""Conditions are logged once when they start and once when they end, whatever the passes between."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from hlb.bot.reconcile import GuildReport
from hlb.compiler.model import ObjectKey
from hlb.reconciler.state import ERROR, IN_SYNC, Binding
from hlb.runtime.conditions import Conditions

LOGS = ObjectKey("homelab", "Channel", "logs")
HELD = Binding(
    LOGS, 1, status=ERROR, error="update channel: 403", error_kind="permanent",
    next_attempt_at=datetime(2026, 12, 3, 10, tzinfo=UTC),
)  # fmt: skip


def test_a_guild_that_cannot_be_read_does_not_end_its_objects_conditions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hlb.bot")
    seconds = iter(range(0, 1000, 10))
    conditions = Conditions(clock=lambda: float(next(seconds)))
    ok, unreadable = GuildReport("homelab"), GuildReport("homelab", error="GET /guilds/1: 503")
    problem = GuildReport("homelab", problems=("Dashboard/homelab/status: source load: timeout",))
    for report in (ok, ok, unreadable, unreadable, problem, problem, ok):
        conditions.after_pass([report], [HELD])
    conditions.after_pass([ok], [Binding(LOGS, 1, status=IN_SYNC)])
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("WARNING", "event=held subject=Channel/homelab/logs error='update channel: 403 "
         "[permanent: not retried before 2026-12-03 10:00:00 UTC unless the spec changes "
         "or `hlb reconcile --retry-failed`]'"),
        ("WARNING", "event=guild_unavailable subject=homelab error='GET /guilds/1: 503'"),
        ("WARNING", "event=source_failing subject=Dashboard/homelab/status problem='source load: timeout'"),
        ("INFO", "event=healed subject=homelab was=guild_unavailable after=20s"),
        ("INFO", "event=healed subject=Dashboard/homelab/status was=source_failing after=20s"),
        ("INFO", "event=healed subject=Channel/homelab/logs was=held after=70s"),
    ]  # fmt: skip
