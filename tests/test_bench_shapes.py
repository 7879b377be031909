"""The benchmark shapes (bench/generate.py) are what issue 13 asks for and what Discord allows.

homelab, community and fleet must compile clean (validate refuses a set over
Discord's ceilings: 500 channels per guild, 50 per category, 100 commands),
with the object counts the benchmark figures are quoted for.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from hlb.compiler.compile import compile_paths

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import SHAPES, build_shape, generate_shape  # noqa: E402

EXPECTED = {  # kind -> count per guild, and the number of guilds
    "homelab": (1, {"Guild": 1, "Channel": 60, "Workflow": 10, "Dashboard": 10, "Command": 15}),
    "community": (1, {"Guild": 1, "Channel": 500, "Workflow": 60, "Dashboard": 50, "Command": 100}),
    "fleet": (25, {"Guild": 1, "Channel": 250, "Workflow": 45, "Dashboard": 40, "Command": 64}),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_has_its_counts_within_discords_ceilings(shape: str) -> None:
    guilds, per_guild = EXPECTED[shape]
    objects = build_shape(shape, seed=1)
    by_guild: dict[str, Counter[str]] = {}
    for o in objects:
        by_guild.setdefault(o.guild, Counter())[o.kind] += 1
    assert len(by_guild) == guilds
    assert all(counts == per_guild for counts in by_guild.values())
    assert len(objects) == SHAPES[shape].objects()
    for guild in by_guild:
        channels = [o for o in objects if o.guild == guild and o.kind == "Channel"]
        assert len(channels) <= 500
        children = Counter(o.spec["category"] for o in channels if "category" in o.spec)
        assert max(children.values()) <= 50
    if shape == "homelab":
        assert sum(1 for o in objects if o.spec.get("type") == "category") == 6
    if shape == "fleet":
        assert len(objects) == 10_000


@pytest.mark.parametrize("shape", ["homelab", "community"])
def test_the_single_guild_shapes_compile_clean(tmp_path: Path, shape: str) -> None:
    count = generate_shape(tmp_path, shape, seed=1)
    result = compile_paths([str(tmp_path)], env={})
    assert result.ok, [str(d) for d in result.diagnostics]
    assert result.documents == count
    changed = tmp_path.parent / f"{shape}-changed"
    generate_shape(changed, shape, seed=1, change_percent=1.0)
    again = compile_paths([str(changed)], env={})
    assert again.ok and again.model is not None and result.model is not None
    assert again.model != result.model
