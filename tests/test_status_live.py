"""``hlb status --live`` and ``hlb reconcile`` for scripts: field-level drift, JSON, exit codes, progress.

Every test runs the CLI against the emulator (served from a thread) and a real embedded
Postgres: specs are applied, reconciled, then changed by hand in "Discord". The CLI runs in this
process (``cli_inprocess``: exit codes and output are the point) but where the point is the
terminal it draws progress on: there it is a process whose stderr is a pseudo terminal.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_inprocess import hlb
from reconcile_world import GUILD_ID, apply_in_process, reconcile_in_process, seed_homelab
from terminal import read_terminal

from hlb.compiler.permissions import to_bits
from hlb.testing import Emulator
from hlb.testing.pytest_plugin import emulator_in_thread

GUILD = f"""apiVersion: hlb/v1
kind: Guild
name: homelab
spec:
  id: "{GUILD_ID}"
---
apiVersion: hlb/v1
kind: Channel
name: alerts
spec:
  topic: Pages go here
  permissions:
    - role: admins
      allow: [view_channel, send_messages]
    - role: "@everyone"
      deny: [send_messages]
---
apiVersion: hlb/v1
kind: Channel
name: general
spec:
  topic: Say hello.
"""


def more_channels(n: int) -> str:
    return "".join(
        f"---\napiVersion: hlb/v1\nkind: Channel\nname: room-{i}\nspec:\n  topic: Room {i}\n"
        for i in range(n)
    )


def cli_env(db_url: str, emu: Emulator, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "DISCORD_TOKEN": emu.token,
        "HLB_DISCORD_API_BASE": emu.base_url,
        "HLB_HOME": str(home / ".hlb"),
        "HLB_AUTHOR": "scripts-tester",
    }


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with emulator_in_thread() as emulator:
        seed_homelab(emulator)
        yield emulator
        emulator.assert_no_invalid_requests()


@pytest.fixture
def synced(db_url: str, emu: Emulator, tmp_path: Path) -> dict[str, str]:
    """The specs applied and reconciled once: Discord matches, nothing drifted.

    In this process: the CLI runs that follow are what the tests are about."""
    (tmp_path / "specs.yaml").write_text(GUILD)
    env = cli_env(db_url, emu, tmp_path)
    apply_in_process(db_url, tmp_path / "specs.yaml", env, author="scripts-tester")
    reconcile_in_process(db_url, emu)
    return env


def channel_id(emu: Emulator, name: str) -> int:
    guild = emu.state.guilds[GUILD_ID]
    return next(c.id for c in guild.channels.values() if c.name == name)


def edit_by_hand(emu: Emulator) -> None:
    """Someone edits #alerts in Discord: another topic, and admins can no longer send messages."""
    admins = next(r.id for r in emu.state.guilds[GUILD_ID].roles.values() if r.name == "admins")
    overwrites = [
        {"id": str(admins), "type": 0, "allow": str(to_bits(["view_channel"])), "deny": "0"},
        {"id": str(GUILD_ID), "type": 0, "allow": "0", "deny": str(to_bits(["send_messages"]))},
    ]
    emu.human_edit_channel(channel_id(emu, "alerts"), topic="Hand edited", permission_overwrites=overwrites)


def test_status_live_shows_each_drifted_field_desired_vs_seen(
    synced: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    edit_by_hand(emu)
    writes_before = len(emu.writes())
    result = hlb(synced, tmp_path, "status", "--live")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Channel/homelab/alerts (drifted):" in out, out
    assert 'topic: desired "Pages go here", seen "Hand edited"' in out
    assert (
        'permissions of role admins: desired "allow view_channel, send_messages; deny none", '
        'seen "allow view_channel; deny none"'
    ) in out
    assert "Channel/homelab/general" not in out.split("Differences in Discord")[1]
    assert len(emu.writes()) == writes_before  # --live only reads


def test_status_json_is_the_text_report_as_data(
    synced: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    edit_by_hand(emu)
    text = hlb(synced, tmp_path, "status", "--live").stdout
    data = json.loads(hlb(synced, tmp_path, "status", "--live", "--format", "json").stdout)
    alerts = next(o for o in data["objects"] if (o["kind"], o["name"]) == ("Channel", "alerts"))
    assert alerts["guild"] == "homelab" and alerts["discord"] == "drifted" and alerts["error"] is None
    assert alerts["database"] == "applied" and alerts["files"] is None
    assert {"field": "topic", "desired": "Pages go here", "seen": "Hand edited"} in alerts["fields"]
    # every object and every field of the JSON is in the text, with the same state; same counts
    for obj in data["objects"]:
        row = next(
            line for line in text.splitlines() if line.startswith(f"{obj['kind']}/homelab/{obj['name']} ")
        )
        assert obj["discord"] in row.split()
        for f in obj["fields"]:
            desired, seen = (json.dumps(v, ensure_ascii=False) for v in (f["desired"], f["seen"]))
            assert f"    {f['field']}: desired {desired}, seen {seen}" in text
    counts = ", ".join(f"{n} {state}" for state, n in data["summary"]["discord"].items())
    assert f"Summary: {counts}." in text
    assert data["summary"]["objects"] == len(data["objects"]) and data["summary"]["differ"] == 1


def test_status_detailed_exitcode_is_2_only_when_something_drifted(
    synced: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    clean = hlb(synced, tmp_path, "status", "--live", "--detailed-exitcode")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    emu.human_edit_channel(channel_id(emu, "general"), topic="Say goodbye.")
    drifted = hlb(synced, tmp_path, "status", "--live", "--detailed-exitcode", "--format", "json")
    assert drifted.returncode == 2, drifted.stdout + drifted.stderr
    general = next(o for o in json.loads(drifted.stdout)["objects"] if o["name"] == "general")
    assert general["fields"] == [{"field": "topic", "desired": "Say hello.", "seen": "Say goodbye."}]
    assert hlb(synced, tmp_path, "status", "--live").returncode == 0  # without the flag: 0 as before


def test_status_detailed_exitcode_is_1_when_discord_cannot_be_read(
    synced: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    emu.forbid("GET", "/guilds/{guild_id}/channels")
    result = hlb(synced, tmp_path, "status", "--live", "--detailed-exitcode", "--format", "json")
    emu.allow_all()
    assert result.returncode == 1, result.stdout + result.stderr
    guild = next(o for o in json.loads(result.stdout)["objects"] if o["kind"] == "Guild")
    assert guild["discord"] == "error" and guild["error"].startswith("Discord not read")
    assert "Traceback" not in result.stderr


def test_reconcile_dry_run_detailed_exitcode_is_2_when_it_would_write(
    synced: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    assert hlb(synced, tmp_path, "reconcile", "--dry-run", "--detailed-exitcode").returncode == 0
    edit_by_hand(emu)
    writes_before = len(emu.writes())
    would = hlb(synced, tmp_path, "reconcile", "--dry-run", "--detailed-exitcode")
    assert would.returncode == 2, would.stdout + would.stderr
    assert "would make" in would.stdout and len(emu.writes()) == writes_before
    assert hlb(synced, tmp_path, "reconcile", "--dry-run").returncode == 0  # the flag is what asks for 2
    assert hlb(synced, tmp_path, "reconcile").returncode == 0
    assert hlb(synced, tmp_path, "reconcile", "--dry-run", "--detailed-exitcode").returncode == 0


@pytest.fixture
def slow_world(db_url: str, tmp_path: Path) -> Iterator[tuple[Emulator, dict[str, str]]]:
    """Twelve channels to create while Discord lets two through every 0.6 s: a pass of ~3.5 s.

    Longer than the progress line's 2 s delay, by enough windows that the count it draws moves."""
    limits = {("POST", "/guilds/{guild_id}/channels"): (2, 0.6)}
    with emulator_in_thread(route_limits=limits) as emulator:
        seed_homelab(emulator)
        (tmp_path / "specs.yaml").write_text(GUILD + more_channels(10))
        env = cli_env(db_url, emulator, tmp_path)
        applied = hlb(env, tmp_path, "apply", "specs.yaml")
        assert applied.returncode == 0, applied.stderr
        yield emulator, env


def reconcile_on_terminal(env: dict[str, str], cwd: Path) -> tuple[int, float, str, str]:
    """``hlb reconcile`` with stderr on a pseudo terminal: (exit code, seconds, stdout, terminal)."""
    controller, terminal = pty.openpty()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hlb.cli", "reconcile"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
    )
    os.close(terminal)
    seen = read_terminal(controller, 60)
    stdout = proc.communicate(timeout=60)[0]
    os.close(controller)
    return proc.returncode, time.monotonic() - started, stdout, seen.decode()


def test_a_slow_reconcile_shows_progress_on_a_terminal(
    slow_world: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    _emu, env = slow_world
    code, seconds, stdout, drawn = reconcile_on_terminal(env, tmp_path)
    assert code == 0 and seconds > 2.5, stdout + drawn
    assert "reconciling homelab: " in drawn and "/13 objects" in drawn, drawn
    counts = [int(part.split("/")[0]) for part in drawn.split("reconciling homelab: ")[1:]]
    assert counts == sorted(counts) and len(set(counts)) > 1  # it moves forward while the pass runs
    assert drawn.endswith("\r\x1b[K")  # erased before the report
    assert "reconciling" not in stdout and "made " in stdout


def test_a_quick_reconcile_draws_nothing_even_on_a_terminal(
    synced: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    edit_by_hand(emu)
    code, seconds, stdout, drawn = reconcile_on_terminal(synced, tmp_path)
    assert code == 0 and "made 2 Discord writes" in stdout, stdout + drawn
    if "reconciling" in drawn or "\x1b" in drawn:  # only a pass longer than the 2 s delay draws
        assert seconds > 2, drawn


def test_piped_reconcile_output_has_no_progress(
    slow_world: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    _emu, env = slow_world
    started = time.monotonic()
    result = hlb(env, tmp_path, "reconcile")
    assert result.returncode == 0 and time.monotonic() - started > 2.5, result.stdout + result.stderr
    assert "reconciling" not in result.stderr + result.stdout and "\x1b" not in result.stderr


def test_status_live_names_deleted_channels_extra_overwrites_and_pending_changes(
    synced: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    spec = tmp_path / "specs.yaml"
    spec.write_text(GUILD.replace("  topic: Say hello.\n", "  topic: Say hi.\n  position: 7\n"))
    assert hlb(synced, tmp_path, "apply", "specs.yaml").returncode == 0  # applied, not reconciled
    on_call = next(r.id for r in emu.state.guilds[GUILD_ID].roles.values() if r.name == "on-call")
    extra = {"id": str(on_call), "type": 0, "allow": str(to_bits(["view_channel"])), "deny": "0"}
    general = emu.state.guilds[GUILD_ID].channels[channel_id(emu, "general")]
    emu.human_edit_channel(
        general.id, permission_overwrites=[*(o.to_json() for o in general.permission_overwrites), extra]
    )
    emu.human_delete_channel(channel_id(emu, "alerts"))
    result = hlb(synced, tmp_path, "status", "--live", "--format", "json", "--detailed-exitcode")
    assert result.returncode == 2, result.stdout + result.stderr
    fields = {o["name"]: o["fields"] for o in json.loads(result.stdout)["objects"] if o["kind"] == "Channel"}
    states = {o["name"]: o["discord"] for o in json.loads(result.stdout)["objects"]}
    assert states["alerts"] == "drifted" and states["general"] == "pending"
    assert fields["alerts"] == [{"field": "channel", "desired": "exists", "seen": "missing"}]
    assert {"field": "topic", "desired": "Say hi.", "seen": "Say hello."} in fields["general"]
    assert {"field": "position", "desired": 7, "seen": general.position} in fields["general"]
    assert {
        "field": "permissions of role on-call",
        "desired": "no overwrite",
        "seen": "allow view_channel; deny none",
    } in fields["general"]


CLOCK_DASHBOARD = """---
apiVersion: hlb/v1
kind: Dashboard
name: clock
spec:
  channel: general
  content: "Rendered at {{ now }}"
"""


def test_a_dashboard_whose_data_changed_is_not_drift_but_a_write(
    db_url: str, emu: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "specs.yaml").write_text(GUILD + CLOCK_DASHBOARD)
    env = cli_env(db_url, emu, tmp_path)
    for args in (["apply", "specs.yaml"], ["reconcile"]):
        done = hlb(env, tmp_path, *args)
        assert done.returncode == 0, done.stdout + done.stderr
    status = hlb(env, tmp_path, "status", "--live", "--detailed-exitcode", "--format", "json")
    assert status.returncode == 0, status.stdout + status.stderr
    clock = next(o for o in json.loads(status.stdout)["objects"] if o["kind"] == "Dashboard")
    assert (clock["discord"], clock["fields"]) == ("in_sync", [])
    would = hlb(env, tmp_path, "reconcile", "--dry-run", "--detailed-exitcode")
    assert would.returncode == 2 and "edit dashboard Dashboard/homelab/clock (render changed)" in would.stdout
    general = channel_id(emu, "general")
    message = next(m for m in emu.state.messages.values() if m.channel_id == general)
    emu.human_delete_message(general, message.id)  # this one is drift: the message is gone
    deleted = hlb(env, tmp_path, "status", "--live", "--detailed-exitcode", "--format", "json")
    assert deleted.returncode == 2, deleted.stdout + deleted.stderr
    clock = next(o for o in json.loads(deleted.stdout)["objects"] if o["kind"] == "Dashboard")
    assert clock["discord"] == "drifted"
    assert clock["fields"] == [{"field": "message", "desired": "exists", "seen": "missing"}]
