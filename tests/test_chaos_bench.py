"""The chaos bench, small: the running bot converges every object without a fault, writes stay bounded.

Runs ``bench/chaos_bench.py``'s core (``chaos``) on a tiny guild, so the bench cannot rot:
random 503s on one request in ten, a channel whose PATCH always answers 403, a channel
whose server keeps no topic, a dashboard post answered without an id.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from chaos_bench import Sizes, chaos

pytestmark = pytest.mark.timeout(120)


def test_the_bot_converges_a_small_guild_through_every_fault(db_url: str, tmp_path: Path) -> None:
    # the random 503s are retried after 10 ms, not the bot's 200: the retries are the point, not their waits
    result = asyncio.run(chaos(db_url, tmp_path, Sizes(2, 10, 2, 3), seed=7, limit=40, retry_delay=0.01))
    assert result.survived
    first, second = result.phases
    assert first.done and first.converged == first.total, first
    assert second.done, second  # every object without a fault converged
    assert second.converged == second.total - 3
    states = sorted(state.split(":")[0] for state in second.faulted.values())
    assert states == ["drifted", "error", "error"], second.faulted
    # bounded: each object written about once, plus disnake's retries of the random 503s
    assert first.writes <= 2 * first.total and second.writes <= 2 * second.total, (first, second)
    held = [w for w in second.warnings if w.startswith(("event=held", "event=drifted"))]
    assert len(held) == 3, second.warnings  # one warning per faulted object, not one per pass
