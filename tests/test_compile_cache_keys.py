"""When a compile cache entry is stale, and how the cache stores, guards and trims its entries.

Invalidation: an edit (and the checks of what refers to the edited file),
environment variables the file uses (and not those it does not), damaged
entries, another hlb version or library version, another working directory.
Storage: where the cache lives, HLB_NO_CACHE, file modes, an unwritable
directory, values JSON cannot hold, eviction, and the CLI end to end.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import zlib
from collections.abc import Mapping
from pathlib import Path

import orjson
import pytest
from test_bad_input import GUILD
from test_compile_cache import exact, write_files

from hlb import compile_cache
from hlb.compile_cache import CompileCache, default_cache
from hlb.compiler import cache as cache_module
from hlb.compiler.compile import CompileResult, compile_paths
from hlb.compiler.loader import Document
from hlb.compiler.sources import SourceFile
from hlb.compiler.units import Checked, compile_file, to_plain

_SCRIPT = Path(sys.executable).parent / "hlb"
HLB = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from hlb.cli import main; main()"]

CHANNELS = """\
apiVersion: hlb/v1
kind: Channel
name: ops
spec: {type: category}
---
apiVersion: hlb/v1
kind: Channel
name: alerts
spec: {category: ops, topic: "${TOPIC:-quiet}"}
"""
DASHBOARD = """\
apiVersion: hlb/v1
kind: Dashboard
name: status
spec:
  channel: alerts
  embeds: [{title: "Status {{ now }}"}]
"""


def small_set(root: Path) -> None:
    write_files(root, {"a-guild.yaml": GUILD, "channels.yaml": CHANNELS, "dashboard.yaml": DASHBOARD})


def compile_both(root: Path, store: Path, env: Mapping[str, str]) -> tuple[CompileResult, CompileCache]:
    cache = CompileCache(store)
    result = compile_paths([str(root)], dict(env), cache=cache)
    assert exact(result) == exact(compile_paths([str(root)], dict(env)))
    return result, cache


def test_an_edit_is_a_miss_for_that_file_and_rechecks_what_refers_to_it(tmp_path: Path) -> None:
    small_set(tmp_path / "s")
    compile_both(tmp_path / "s", tmp_path / "c", {})
    (tmp_path / "s" / "channels.yaml").write_text(CHANNELS.replace("alerts", "alarms"), encoding="utf-8")
    result, cache = compile_both(tmp_path / "s", tmp_path / "c", {})
    assert cache.hits == 2
    assert [(d.file.rsplit("/", 1)[-1], d.line, d.code) for d in result.diagnostics] == [
        ("dashboard.yaml", 5, "E304")
    ]
    (tmp_path / "s" / "channels.yaml").write_text(CHANNELS, encoding="utf-8")  # back: the record holds again
    result, cache = compile_both(tmp_path / "s", tmp_path / "c", {})
    assert result.ok and cache.hits == 2


def test_variables_the_file_uses_are_part_of_the_key_and_others_are_not(tmp_path: Path) -> None:
    small_set(tmp_path / "s")
    first, _ = compile_both(tmp_path / "s", tmp_path / "c", {"OTHER": "1"})
    _, cache = compile_both(tmp_path / "s", tmp_path / "c", {"OTHER": "2", "MORE": "x"})
    assert cache.hits == 3 and cache.writes == 0
    result, cache = compile_both(tmp_path / "s", tmp_path / "c", {"TOPIC": "loud"})
    # channels.yaml reads TOPIC: compiled again; the dashboard refers to its channel: checked again
    assert cache.hits == 2 and cache.writes == 2
    assert result.model is not None and first.model is not None
    assert [o.spec.get("topic") for o in first.model if o.key.name == "alerts"] == ["quiet"]
    assert [o.spec.get("topic") for o in result.model if o.key.name == "alerts"] == ["loud"]
    _, cache = compile_both(tmp_path / "s", tmp_path / "c", {"TOPIC": ""})  # set but empty is not unset
    assert cache.hits == 2


def test_damaged_entries_are_ignored_and_replaced(tmp_path: Path) -> None:
    small_set(tmp_path / "s")
    compile_both(tmp_path / "s", tmp_path / "c", {})
    entries = sorted((tmp_path / "c").glob("*.json"))
    assert len(entries) == 3
    good = entries[0].read_bytes()
    damages = [
        b"",
        b"garbage",
        good[: len(good) // 2],
        good[:20] + bytes([good[20] ^ 1]) + good[21:],  # one flipped bit
        b"00000000{}\n",
        b"%08x" % zlib.crc32(b'{"code": 1}\n') + b'{"code": 1}\n',
    ]
    for damage in damages:
        entries[0].write_bytes(damage)
        result, cache = compile_both(tmp_path / "s", tmp_path / "c", {})
        assert result.ok and cache.hits == 2 and cache.writes == 1
    entries[1].unlink()
    entries[2].write_bytes(b"\x00" * 100)
    result, cache = compile_both(tmp_path / "s", tmp_path / "c", {})
    assert result.ok and cache.writes == 2


def test_another_hlb_version_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small_set(tmp_path / "s")
    compile_both(tmp_path / "s", tmp_path / "c", {})
    monkeypatch.setattr(cache_module, "__version__", "99.0")
    monkeypatch.setattr(cache_module, "_FINGERPRINT", None)
    _, cache = compile_both(tmp_path / "s", tmp_path / "c", {})
    assert cache.hits == 0 and cache.writes == 3
    monkeypatch.setattr(cache_module, "_FINGERPRINT", None)


def test_another_library_version_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small_set(tmp_path / "s")
    installed = cache_module._library_versions()
    assert any("jinja2" in name.lower() for name in installed)
    compile_both(tmp_path / "s", tmp_path / "c", {})
    monkeypatch.setattr(cache_module, "_library_versions", lambda: {*installed, "site/Jinja2-9.9.dist-info"})
    monkeypatch.setattr(cache_module, "_FINGERPRINT", None)
    _, cache = compile_both(tmp_path / "s", tmp_path / "c", {})
    assert cache.hits == 0
    monkeypatch.setattr(cache_module, "_FINGERPRINT", None)


def test_another_working_directory_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small_set(tmp_path / "s")
    monkeypatch.chdir(tmp_path)
    compile_both(Path("s"), tmp_path / "c", {})
    monkeypatch.chdir(tmp_path / "s")
    result, cache = compile_both(Path("."), tmp_path / "c", {})  # paths shown differ: "a-guild.yaml"
    assert result.ok and cache.hits == 0


def test_values_json_cannot_hold_are_reported_the_same_and_never_stored(tmp_path: Path) -> None:
    workflow = (
        "apiVersion: hlb/v1\nkind: Workflow\nname: w\nspec:\n  steps:\n"
        "    - http: {url: 'http://x', method: POST, json: {a: .nan, b: .inf, c: [1, 2.0, true]}}\n"
    )
    write_files(tmp_path / "s", {"a-guild.yaml": GUILD, "w.yaml": workflow})
    result, _ = compile_both(tmp_path / "s", tmp_path / "c", {})
    assert [d.code for d in result.diagnostics] == ["E204", "E204"]  # the schema stops NaN and infinity
    _, cache = compile_both(tmp_path / "s", tmp_path / "c", {})
    assert cache.hits == 2
    # were such a value to pass the schema, the unit would not be stored: NaN comes back from JSON as null
    src = SourceFile("w.yaml", workflow)
    unit = compile_file(src, {}, reference=False, record=True)
    odd = {"kind": "Channel", "x": math.nan}
    unit.checked.append(Checked(Document("w.yaml", 5, 9, odd), odd))
    unit.blobs[5], unit.fingerprints[5] = orjson.dumps(odd), "f"
    with pytest.raises(ValueError):
        to_plain(unit)
    store = CompileCache(tmp_path / "c2")
    store.save([unit])
    assert store.writes == 0 and not (tmp_path / "c2").exists()


def test_the_default_cache_lives_in_the_home_and_hlb_no_cache_turns_it_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_set(tmp_path / "s")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HLB_HOME", raising=False)
    monkeypatch.delenv("HLB_NO_CACHE", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/db")  # an external database: still ./.hlb
    store = default_cache()
    assert store is not None and store.directory == tmp_path / ".hlb" / "cache"
    monkeypatch.setenv("HLB_HOME", str(tmp_path / "home"))
    store = default_cache()
    assert store is not None and store.directory == tmp_path / "home" / "cache"
    compile_paths(["s"], cache=store)
    assert len(list((tmp_path / "home" / "cache").glob("*.json"))) == 3
    assert oct(os.stat(tmp_path / "home" / "cache").st_mode & 0o777) == "0o700"
    assert all(p.stat().st_mode & 0o077 == 0 for p in (tmp_path / "home" / "cache").glob("*.json"))
    monkeypatch.setenv("HLB_NO_CACHE", "1")
    assert default_cache() is None
    # with an explicit environment, compile_paths does not use the cache unless asked to
    monkeypatch.setenv("HLB_HOME", str(tmp_path / "other"))
    monkeypatch.delenv("HLB_NO_CACHE")
    compile_paths(["s"], {})
    assert not (tmp_path / "other").exists()


def test_an_unwritable_cache_directory_changes_nothing(tmp_path: Path) -> None:
    small_set(tmp_path / "s")
    (tmp_path / "c").write_text("a file where the directory should be", encoding="utf-8")
    result, cache = compile_both(tmp_path / "s", tmp_path / "c", {})
    assert result.ok and cache.writes == 0 and cache.hits == 0


def test_trim_keeps_this_runs_entries_and_drops_the_oldest_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "c"
    store.mkdir()
    for i in range(10):
        old = store / f"{i:032x}.json"
        old.write_bytes(b"x")
        os.utime(old, (1_000_000 + i, 2_000_000_000 + i))
    stale = store / f"{99:032x}.json"
    stale.write_bytes(b"x")
    os.utime(stale, (1, 1))
    dead_tmp = store / ".tmp-1-1-x.json"
    dead_tmp.write_bytes(b"x")
    os.utime(dead_tmp, (1, 1))
    monkeypatch.setattr(compile_cache, "MAX_ENTRIES", 7)
    small_set(tmp_path / "s")
    cache = CompileCache(store)
    compile_paths([str(tmp_path / "s")], {}, cache=cache)
    left = sorted(p.name for p in store.iterdir())
    assert len(left) == 7 and not stale.exists() and not dead_tmp.exists()
    assert set(cache.used) <= set(left)
    assert f"{9:032x}.json" in left and f"{0:032x}.json" not in left  # the newest others stay


def test_the_cli_uses_the_cache_and_says_the_same(tmp_path: Path) -> None:
    small_set(tmp_path / "s")
    drop = ("HLB_NO_CACHE", "DATABASE_URL", "HLB_DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["HLB_HOME"] = str(tmp_path / "home")
    (tmp_path / "s" / "dashboard.yaml").write_text(DASHBOARD.replace("alerts", "alert"), encoding="utf-8")

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*HLB, "validate", "s"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def entries() -> dict[str, int]:
        return {p.name: p.stat().st_mtime_ns for p in (tmp_path / "home" / "cache").glob("*.json")}

    first = run()
    written = entries()  # the CLI writes its entries before the command returns
    second = run()
    assert first.returncode == second.returncode == 1
    assert first.stdout == second.stdout and "s/dashboard.yaml:5:" in first.stdout
    assert len(written) == 3 and entries() == written  # read back, not rewritten: every entry was whole
    env["HLB_NO_CACHE"] = "1"
    assert run().stdout == first.stdout
