"""The compile cache's whole-set entry (``hlb.compiler.set_cache``): when it serves a compile and when not.

A clean set whose every file's entry was read back writes one entry for the
whole set; the next compile of the unchanged set is served by it alone and
gives exactly the result of a compile without any cache. Any change to what
the per-file entries depend on (a file's text, a variable it reads, the set's
files, the code) and any damage make it a miss. A set with errors, or with an
object that reads another file (an Emoji's image), keeps no such entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from test_compile_cache import exact, write_files
from test_compile_cache_keys import CHANNELS, small_set
from test_emoji_validate import GUILD as EMOJI_GUILD
from test_emoji_validate import PNG, emoji

from hlb.compile_cache import CompileCache
from hlb.compiler import cache as cache_module
from hlb.compiler.compile import compile_paths


def compile_with(root: Path, store: Path, env: Mapping[str, str] | None = None) -> CompileCache:
    """Compile ``root`` with the cache in ``store``; assert the result is the one without any cache."""
    cache = CompileCache(store)
    environ = dict(env or {})
    plain = exact(compile_paths([str(root)], environ))
    assert exact(compile_paths([str(root)], environ, cache=cache)) == plain
    return cache


def served_whole(root: Path, store: Path) -> None:
    """Compile twice so that the whole-set entry exists (cold: files' entries; warm: the set's)."""
    assert compile_with(root, store).set_writes == 0
    assert compile_with(root, store).set_writes == 1


def test_an_unchanged_clean_set_is_served_by_its_one_entry(tmp_path: Path) -> None:
    small_set(tmp_path / "s")
    served_whole(tmp_path / "s", tmp_path / "c")
    for entry in (tmp_path / "c").glob("*.json"):  # the files' entries are not read at all
        entry.write_bytes(b"damaged")
    cache = compile_with(tmp_path / "s", tmp_path / "c")
    assert cache.set_hits == 1 and cache.hits == 3 and cache.writes == cache.set_writes == 0


@pytest.mark.parametrize(
    "change",
    ["edit", "variable", "new file", "removed file", "damage", "code"],
)
def test_any_change_to_its_inputs_is_a_miss(
    change: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_set(tmp_path / "s")
    served_whole(tmp_path / "s", tmp_path / "c")
    env: dict[str, str] = {"UNUSED": "changes nothing"}
    assert compile_with(tmp_path / "s", tmp_path / "c", env).set_hits == 1
    if change == "edit":
        (tmp_path / "s" / "channels.yaml").write_text(CHANNELS.replace("ops", "oncall"), encoding="utf-8")
    elif change == "variable":
        env["TOPIC"] = "loud"  # channels.yaml reads it
    elif change == "new file":
        write_files(tmp_path / "s", {"more.yaml": CHANNELS.replace("alerts", "more").split("---\n")[1]})
    elif change == "removed file":
        (tmp_path / "s" / "dashboard.yaml").unlink()
    elif change == "damage":
        (entry,) = (tmp_path / "c").glob("*.set")
        blob = entry.read_bytes()
        entry.write_bytes(blob[:40] + bytes([blob[40] ^ 1]) + blob[41:])
    else:
        monkeypatch.setattr(cache_module, "__version__", "99.0")
        monkeypatch.setattr(cache_module, "_FINGERPRINT", None)
    cache = compile_with(tmp_path / "s", tmp_path / "c", env)
    assert cache.set_hits == 0
    monkeypatch.setattr(cache_module, "_FINGERPRINT", None)


def test_a_variable_the_set_reads_is_served_with_its_own_value(tmp_path: Path) -> None:
    small_set(tmp_path / "s")
    for topic in ("loud", "loud", "loud", "soft"):
        cache = CompileCache(tmp_path / "c")
        result = compile_paths([str(tmp_path / "s")], {"TOPIC": topic}, cache=cache)
        assert result.model is not None
        assert [o.spec.get("topic") for o in result.model if o.key.name == "alerts"] == [topic]
    assert cache.set_hits == 0  # "soft" is not what the entry was made with


def test_a_set_with_errors_or_an_emoji_keeps_no_whole_entry(tmp_path: Path) -> None:
    small_set(tmp_path / "bad")
    (tmp_path / "bad" / "channels.yaml").write_text(CHANNELS.replace("alerts", "alarms"), encoding="utf-8")
    write_files(tmp_path / "emoji", {"guild.yaml": EMOJI_GUILD, "emoji.yaml": emoji("party.png")})
    (tmp_path / "emoji" / "party.png").write_bytes(PNG)
    for root in ("bad", "emoji"):
        for _ in range(3):
            cache = compile_with(tmp_path / root, tmp_path / f"c-{root}")
            assert cache.set_writes == cache.set_hits == 0
        assert list((tmp_path / f"c-{root}").glob("*.set")) == []
    (tmp_path / "emoji" / "party.png").write_bytes(PNG + b"\x00")  # the image changed, the spec did not
    result = compile_paths([str(tmp_path / "emoji")], {}, cache=CompileCache(tmp_path / "c-emoji"))
    assert exact(result) == exact(compile_paths([str(tmp_path / "emoji")], {}))
