"""Role specs offline and through the CLI: the 250-role ceiling, the hierarchy's rank, plans in words, export.

The CLI runs (in this process, tests/cli_inprocess.py) against a real (embedded) Postgres: a plan tells a
role's permission changes in words and marks any ``administrator`` change loudly
in text, Markdown and JSON; ``hlb plan -o`` and ``hlb apply plan.json`` accept
roles; ``hlb export`` writes roles in their hierarchy so the export compiles to
the same objects.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cli_inprocess
from test_apply_trust import cli_env

from hlb.compiler.compile import compile_paths

GUILD = 'apiVersion: hlb/v1\nkind: Guild\nname: homelab\nspec: {id: "123456789012345678"}\n'


def role(name: str, permissions: str = "[]", extra: str = "") -> str:
    return f"apiVersion: hlb/v1\nkind: Role\nname: {name}\nspec:\n  permissions: {permissions}\n{extra}"


def write(root: Path, files: dict[str, str]) -> Path:
    specs = root / "specs"
    specs.mkdir(exist_ok=True)
    for name, text in files.items():
        (specs / name).write_text(text, encoding="utf-8")
    return specs


def hlb(db_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli_inprocess.hlb(cli_env(db_url, cwd), cwd, *args)


def test_the_251st_role_of_a_guild_is_named(tmp_path: Path) -> None:
    roles = "---\n".join(role(f"r{i}") for i in range(251))
    specs = write(tmp_path, {"guild.yaml": GUILD, "roles.yaml": roles})
    result = compile_paths([str(specs)], {})
    assert [(d.code, d.line) for d in result.diagnostics] == [("E402", 5 * 250 + 250 + 3)]
    assert "Role 'r250' is role 251" in result.diagnostics[0].message
    (specs / "roles.yaml").write_text("---\n".join(role(f"r{i}") for i in range(250)))
    assert compile_paths([str(specs)], {}).ok


def test_the_hierarchy_is_the_document_order_across_files(tmp_path: Path) -> None:
    specs = write(tmp_path, {
        "guild.yaml": GUILD,
        "a-staff.yaml": role("zeta") + "---\n" + role("alpha"),
        "b-members.yaml": role("members") + "---\n" + role('"@everyone"', "[view_channel]"),
    })
    result = compile_paths([str(specs)], {})
    assert result.model is not None
    roles = result.model.of_kind("Role")
    assert [(o.key.name, o.spec.get("rank")) for o in roles] == [
        ("@everyone", None), ("zeta", 0), ("alpha", 1), ("members", 2)
    ]
    assert roles[0].spec == {"permissions": ["view_channel"]}
    assert "rank" not in roles[1].to_document()["spec"]


def test_a_plan_tells_role_permissions_in_words_and_marks_administrator(db_url: str, tmp_path: Path) -> None:
    specs = write(tmp_path, {
        "guild.yaml": GUILD,
        "roles.yaml": role("moderators", "[kick_members]") + "---\n" + role("ops", "[administrator]")
        + "---\n" + role('"@everyone"', "[view_channel, mention_everyone]"),
    })
    assert hlb(db_url, tmp_path, "apply", "--auto-approve", str(specs)).returncode == 0, "first apply"
    (specs / "roles.yaml").write_text(
        role("moderators", "[kick_members, manage_messages, administrator]") + "---\n" + role("ops", "[]")
        + "---\n" + role('"@everyone"', "[view_channel]")
    )
    text = hlb(db_url, tmp_path, "plan", str(specs))
    assert text.returncode == 0, text.stderr
    assert "+ permissions: role moderators gains administrator, manage_messages" in text.stdout
    assert "- permissions: @everyone loses mention_everyone" in text.stdout
    assert "- permissions: role ops loses administrator" in text.stdout
    assert "WARNING: administrator: role moderators gains administrator" in text.stdout
    assert "role ops loses administrator (if the bot depends on this role" in text.stdout
    markdown = hlb(db_url, tmp_path, "plan", "--format", "markdown", str(specs)).stdout
    assert "> [!WARNING]" in markdown and "role `moderators` **gains** `administrator`" in markdown
    assert "role `moderators` **gains** `administrator`, `manage_messages`" in markdown
    plan = json.loads(hlb(db_url, tmp_path, "plan", "--format", "json", str(specs)).stdout)
    assert plan["administrator"] == [
        {"guild": "homelab", "role": "moderators", "change": "gains"},
        {"guild": "homelab", "role": "ops", "change": "loses"},
    ]


def test_saved_plans_and_exports_keep_roles_and_their_order(db_url: str, tmp_path: Path) -> None:
    specs = write(tmp_path, {
        "guild.yaml": GUILD,
        "roles.yaml": role("zeta", "[kick_members]", '  color: "#AABBCC"\n') + "---\n" + role("alpha")
        + "---\n" + role('"@everyone"', "[view_channel]"),
    })
    saved = tmp_path / "plan.json"
    planned = hlb(db_url, tmp_path, "plan", str(specs), "-o", str(saved))
    assert planned.returncode == 0, planned.stderr
    applied = hlb(db_url, tmp_path, "apply", "--auto-approve", str(saved))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    exported = hlb(db_url, tmp_path, "export", "--out", str(tmp_path / "export"))
    assert exported.returncode == 0, exported.stderr
    text = (tmp_path / "export" / "roles.yaml").read_text()
    assert text.index("name: '@everyone'") < text.index("name: zeta") < text.index("name: alpha")
    again = compile_paths([str(tmp_path / "export")], {"HLB_GUILD_ID": "123456789012345678"})
    original = compile_paths([str(specs)], {})
    assert again.model is not None and original.model is not None
    assert [(o.key, o.hash) for o in again.model] == [(o.key, o.hash) for o in original.model]
