"""Per-kind rules on hand-built drafts: check() findings (code, path) and normalize(), with idempotence."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from hlb.compiler import schema
from hlb.compiler.diagnostics import CODES
from hlb.compiler.kinds import KINDS, kind_for, rules_for
from hlb.compiler.kinds.base import Draft, Index, Kind
from hlb.compiler.kinds.command import slash_name_error
from hlb.compiler.kinds.workflow import cron_error
from hlb.compiler.model import KIND_ORDER
from hlb.reconciler.plan import registry

ROOT = Path(__file__).resolve().parent.parent
GUILD = "homelab"
Found = set[tuple[str, tuple[str | int, ...]]]


def y(text: str) -> Any:
    """Test data written as YAML flow text: shorter than Python literals for nested specs."""
    return YAML(typ="safe").load(text)


def draft(kind: str, name: str, spec: Mapping[str, Any] | None = None) -> Draft:
    return Draft("specs.yaml", 0, 1, GUILD, kind, name, {}, spec or {})


WORLD = [
    draft("Guild", GUILD, {"id": "123456789012345678"}),
    draft("Channel", "infra", {"type": "category"}),
    draft("Channel", "status", {"category": "infra"}),
    draft("Channel", "news", {"type": "announcement"}),
    draft("Channel", "lounge", {"type": "voice"}),
    draft("Workflow", "restart-plex", {"steps": [{"reply": "ok"}]}),
    draft("Dashboard", "server-status", {"channel": "status"}),
]


def findings(d: Draft, *extra: Draft) -> Found:
    problems = list(rules_for(d.kind).check(d, Index([*WORLD, *extra, d])))
    for p in problems:
        assert p.code in CODES, p
        assert p.message[:1].islower() or p.message[:1] in "'`", p.message
        assert ";" in p.message, f"a message says what to do after the problem: {p.message}"
    return {(p.code, p.path) for p in problems}


def normalized(d: Draft) -> dict[str, Any]:
    return rules_for(d.kind).normalize(d)


# --- the registry --------------------------------------------------------------------------------


def test_registry_follows_kind_order() -> None:
    assert tuple(k.name for k in KINDS) == KIND_ORDER
    assert rules_for("Channel") is kind_for("Channel").rules
    with pytest.raises(KeyError):
        kind_for("Sticker")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_kind_has_all_its_parts(kind: Kind) -> None:
    """What docs/architecture.md ("One module per kind") says a kind needs, each where it is looked for."""
    from hlb.store.models import CONFIG_SCHEMA, metadata
    from hlb.store.rows import storage_for

    assert (ROOT / "compiler" / "schemas" / schema.SCHEMA_FILES[kind.name]).is_file()
    assert schema.SCHEMA_FILES[kind.name] == f"{kind.slug}.schema.json"
    page = (ROOT / "docs" / "kinds" / f"{kind.slug}.md").read_text(encoding="utf-8")
    assert page.startswith(f"# {kind.name}\n"), kind.name
    assert f"{CONFIG_SCHEMA}.{kind.table}" in metadata.tables
    assert storage_for(kind.name).main.name == kind.table
    planners = dict(registry())
    if kind.reconciler_module is None:
        assert kind.name not in planners  # declared to have no Discord object of its own
    else:
        assert planners[kind.name] is importlib.import_module(kind.reconciler_module).plan
    assert f"[{kind.name}](kinds/{kind.slug}.md)" in (ROOT / "docs" / "architecture.md").read_text()


# --- Guild ---------------------------------------------------------------------------------------


def test_guild() -> None:
    expected = {"id": "123456789012345678", "prune": True, "adopt": "none"}
    assert normalized(draft("Guild", GUILD, {"id": "123456789012345678"})) == expected
    assert findings(draft("Guild", GUILD, {"id": "123456789012345678"})) == set()
    assert findings(draft("Guild", GUILD, {"id": "000000000000000000"})) == {("E206", ("spec", "id"))}


# --- Channel -------------------------------------------------------------------------------------


def test_channel_without_spec_is_a_text_channel() -> None:
    assert findings(draft("Channel", "general")) == set()
    expected = {"type": "text", "display_name": "general", "nsfw": False, "slowmode": 0, "protect": False,
                "permissions": []}
    assert normalized(draft("Channel", "general")) == expected


def test_channel_category_references() -> None:
    path = ("spec", "category")
    assert findings(draft("Channel", "a", {"category": "infra"})) == set()
    assert findings(draft("Channel", "a", {"category": "infr"})) == {("E304", path)}
    assert findings(draft("Channel", "a", {"category": "status"})) == {("E305", path)}
    assert findings(draft("Channel", "a", {"type": "category", "category": "infra"})) == {("E307", path)}


def test_channel_category_messages() -> None:
    d = draft("Channel", "a", {"category": "status"})
    (problem,) = rules_for("Channel").check(d, Index([*WORLD, d]))
    assert problem.message == "category 'status' is a text channel; point it at a Channel of type category"
    d = draft("Channel", "a", {"category": "infr"})
    (problem,) = rules_for("Channel").check(d, Index([*WORLD, d]))
    assert "did you mean 'infra'?" in problem.message


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("{type: voice, bitrate: 64000, user_limit: 99}", set()),
        ("{type: stage, user_limit: 5000}", set()),
        ("{type: voice, user_limit: 100}", {("E408", "user_limit")}),
        ("{type: text, bitrate: 64000}", {("E307", "bitrate")}),
        ("{type: forum, user_limit: 3}", {("E307", "user_limit")}),
        ("{type: voice, topic: x}", {("E307", "topic")}),
        ("{type: category, nsfw: true, slowmode: 5}", {("E307", "nsfw"), ("E307", "slowmode")}),
        ("{type: stage, nsfw: false, slowmode: 0}", set()),  # the defaults are always fine
        ("{type: announcement, topic: x, nsfw: true}", set()),
    ],
)
def test_channel_fields_per_type(spec: str, expected: set[tuple[str, str]]) -> None:
    assert findings(draft("Channel", "c", y(spec))) == {(code, ("spec", key)) for code, key in expected}


def test_channel_permissions() -> None:
    path = ("spec", "permissions")
    spec = y("""
      permissions:
        - {role: "@everyone", deny: [send_messages, view_chanel]}
        - {role: admins, allow: [send_messages], deny: [send_messages]}
        - {role: "@everyone", allow: [view_channel]}
        - {member: "123456789012345678", allow: [view_channel]}
        - {member: "123456789012345678", deny: [view_channel]}
        - {role: x, member: "123456789012345678"}
        - {allow: [view_channel]}
    """)
    assert findings(draft("Channel", "c", spec)) == {
        ("E306", (*path, 0, "deny", 1)),
        ("E206", (*path, 1, "deny", 0)),
        ("E410", (*path, 2, "role")),
        ("E410", (*path, 4, "member")),
        ("E208", (*path, 5, "member")),
        ("E205", (*path, 6)),
    }


def test_channel_unknown_permission_suggests() -> None:
    d = draft("Channel", "c", {"permissions": [{"role": "a", "allow": ["read_messages", "send_mesages"]}]})
    messages = [p.message for p in rules_for("Channel").check(d, Index([d]))]
    assert "did you mean 'view_channel'?" in messages[0]
    assert "did you mean 'send_messages'?" in messages[1]


def test_channel_normalize() -> None:
    spec = y("""
      {display_name: "📊-status", category: infra, topic: t, position: 3, slowmode: 10, permissions: [
        {member: "223456789012345678", allow: [view_channel]},
        {role: admins, allow: [send_messages, manage_messages, send_messages]},
        {role: "@everyone", deny: [send_messages]}]}
    """)
    assert normalized(draft("Channel", "status", spec)) == y("""
      {type: text, display_name: "📊-status", category: infra, topic: t, position: 3,
       nsfw: false, slowmode: 10, protect: false, permissions: [
        {role: "@everyone", allow: [], deny: [send_messages]},
        {role: admins, allow: [manage_messages, send_messages], deny: []},
        {member: "223456789012345678", allow: [view_channel], deny: []}]}
    """)
    voice = normalized(draft("Channel", "v", {"type": "voice", "bitrate": 64000, "user_limit": 4}))
    assert voice["bitrate"] == 64000 and voice["user_limit"] == 4
    assert voice["permissions"] == []  # the complete overwrite set: unset means none


# --- Dashboard -----------------------------------------------------------------------------------


def dashboard(**spec: Any) -> Draft:
    return draft("Dashboard", "board", {"channel": "status", **spec})


def test_dashboard_channel_reference() -> None:
    assert findings(dashboard()) == set()
    assert findings(dashboard(channel="news")) == set()
    assert findings(dashboard(channel="nope")) == {("E304", ("spec", "channel"))}
    assert findings(dashboard(channel="lounge")) == {("E305", ("spec", "channel"))}
    assert findings(dashboard(channel="infra")) == {("E305", ("spec", "channel"))}


def test_dashboard_durations() -> None:
    http = ("spec", "sources", "n", "http")
    assert findings(dashboard(refresh="30s")) == set()
    assert findings(dashboard(refresh=29)) == {("E408", ("spec", "refresh"))}
    assert findings(dashboard(refresh="5 minutes")) == {("E505", ("spec", "refresh"))}
    sources = {"n": {"http": {"url": "http://x", "timeout": "0s"}}}
    assert findings(dashboard(sources=sources)) == {("E408", (*http, "timeout"))}
    sources = {"n": {"http": {"url": "http://x/{{ now }", "timeout": "soon"}}}
    assert findings(dashboard(sources=sources)) == {("E505", (*http, "timeout")), ("E501", (*http, "url"))}


def test_dashboard_templates() -> None:
    embeds = y("""[{title: "{{ x }", fields: [{name: ok, value: "{% if %}"}],
                    footer: {text: "{{ y | nope }}"}}]""")
    assert findings(dashboard(content="{{ now | datetime }", embeds=embeds)) == {
        ("E501", ("spec", "content")),
        ("E501", ("spec", "embeds", 0, "title")),
        ("E501", ("spec", "embeds", 0, "fields", 0, "value")),
        ("E501", ("spec", "embeds", 0, "footer", "text")),
    }


def test_dashboard_embed_total_counts_static_text_only() -> None:
    exact: list[dict[str, Any]] = [{"description": "x" * 4000}]
    exact.append({"description": "y" * 1999, "footer": {"text": "z"}})
    assert findings(dashboard(embeds=exact)) == set()  # exactly 6000
    over = [exact[0], {**exact[1], "title": "!"}]
    assert findings(dashboard(embeds=over)) == {("E403", ("spec", "embeds", 1, "footer", "text"))}
    templated = [{"description": "x" * 4000}, {"description": "{{ y }}" + "y" * 3000}]
    assert findings(dashboard(embeds=templated)) == set()


def test_dashboard_rows() -> None:
    button = {"button": {"label": "go", "workflow": "restart-plex"}}
    select = {"select": {"workflow": "restart-plex", "options": [{"label": "a", "value": "a"}]}}
    assert findings(dashboard(components=[[button] * 5, [select]])) == set()
    assert findings(dashboard(components=[[button, select]])) == {("E404", ("spec", "components", 0, 1))}
    assert findings(dashboard(components=[[button] * 6])) == {("E404", ("spec", "components", 0, 5))}


@pytest.mark.parametrize(
    ("button", "expected"),
    [
        ("{label: a, url: 'https://x'}", set()),
        ("{label: a, url: 'https://x', style: link}", set()),
        ("{label: a, workflow: restart-plex, style: danger}", set()),
        ("{label: a}", {("E409", ())}),
        ("{label: a, workflow: restart-plex, url: 'https://x'}", {("E409", ("url",))}),
        ("{label: a, url: 'https://x', style: danger}", {("E206", ("style",))}),
        ("{label: a, workflow: restart-plex, style: link}", {("E206", ("style",))}),
        ("{label: a, workflow: restart}", {("E304", ("workflow",))}),
        ("{label: '{{ x }', workflow: restart-plex}", {("E501", ("label",))}),
    ],
)
def test_dashboard_buttons(button: str, expected: set[tuple[str, tuple[str, ...]]]) -> None:
    base = ("spec", "components", 0, 0, "button")
    got = findings(dashboard(components=[[{"button": y(button)}]]))
    assert got == {(code, (*base, *rest)) for code, rest in expected}


def test_dashboard_selects() -> None:
    base = ("spec", "components", 0, 0, "select")
    options = [{"label": "a", "value": "a"}, {"label": "b", "value": "a"}]
    select = {"workflow": "nope", "min_values": 2, "max_values": 1, "options": options}
    assert findings(dashboard(components=[[{"select": select}]])) == {
        ("E304", (*base, "workflow")),
        ("E408", (*base, "min_values")),
        ("E410", (*base, "options", 1, "value")),
    }
    select = {"workflow": "restart-plex", "max_values": 3, "options": options[:1]}
    assert findings(dashboard(components=[[{"select": select}]])) == {("E408", (*base, "max_values"))}


def test_dashboard_normalize() -> None:
    spec = y("""
      refresh: 5m
      sources: {nodes: {http: {url: "http://p", timeout: 5s}}, up: {http: {url: "http://u"}}}
      content: "Updated {{ now | datetime }}"
      embeds: [{title: T, color: "#2ECC71", fields: [{name: a, value: b}]}, {color: 255}]
      components:
        - [{button: {label: Go, workflow: restart-plex}},
           {button: {label: Docs, url: "https://x", emoji: "📖"}}]
        - [{select: {workflow: restart-plex, options: [{label: a, value: a, description: d}]}}]
    """)
    assert normalized(dashboard(**spec)) == y("""
      channel: status
      refresh: 300
      sources:
        nodes: {http: {url: "http://p", method: GET, headers: {}, timeout: 5}}
        up: {http: {url: "http://u", method: GET, headers: {}, timeout: 10}}
      content: "Updated {{ now | datetime }}"
      embeds: [{title: T, color: "#2ecc71", fields: [{name: a, value: b, inline: false}]}, {color: "#0000ff"}]
      components:
        - - {button: {label: Go, style: primary, workflow: restart-plex, disabled: false}}
          - {button: {label: Docs, style: link, url: "https://x", emoji: "📖", disabled: false}}
        - - {select: {workflow: restart-plex, min_values: 1, max_values: 1,
                      options: [{label: a, value: a, description: d}]}}
    """)
    assert normalized(dashboard()) == {"channel": "status", "embeds": [], "components": []}


# --- Command -------------------------------------------------------------------------------------


def command(name: str = "uptime", **spec: Any) -> Draft:
    return draft("Command", name, {"description": "d", "reply": "up", **spec})


@pytest.mark.parametrize(
    ("name", "ok"),
    [("uptime", True), ("a", True), ("x" * 32, True), ("x" * 33, False), ("dé-jà_vu", True), ("Up", False),
     ("has space", False), ("ünïcode", True), ("ÜBER", False), ("", False), ("a.b", False)],
)
def test_slash_names(name: str, ok: bool) -> None:
    assert (slash_name_error(name) is None) == ok


def test_command_name_and_options() -> None:
    path = ("spec", "options")
    options = y("""
      - {name: host, type: string, description: h, required: true}
      - {name: Count, type: integer, description: c}
      - {name: host, type: string, description: again}
      - {name: force, type: boolean, description: f, required: true}
    """)
    assert findings(command("x" * 33, options=options)) == {
        ("E406", ("name",)),
        ("E406", (*path, 1, "name")),
        ("E410", (*path, 2, "name")),
        ("E407", (*path, 3, "required")),
    }


def test_command_choices_and_bounds() -> None:
    path = ("spec", "options")
    options = y("""
      - {name: a, type: string, description: d, choices: [x, 1, {name: y, value: x}]}
      - {name: b, type: integer, description: d, choices: [1, 2.5, {name: t, value: "3"}]}
      - {name: c, type: number, description: d, choices: [1, 2.5], min_value: 5, max_value: 1}
      - {name: d, type: boolean, description: d, choices: ["yes"]}
      - {name: e, type: user, description: d, min_length: 3}
    """)
    assert findings(command(options=options)) == {
        ("E206", (*path, 0, "choices", 1)),
        ("E410", (*path, 0, "choices", 2, "value")),
        ("E206", (*path, 1, "choices", 1)),
        ("E206", (*path, 1, "choices", 2, "value")),
        ("E408", (*path, 2, "max_value")),
        ("E206", (*path, 3, "choices")),
        ("E206", (*path, 4, "min_length")),
    }


def test_command_reply_or_workflow() -> None:
    assert findings(command()) == set()
    assert findings(draft("Command", "run", {"description": "d", "workflow": "restart-plex"})) == set()
    d = draft("Command", "run", {"description": "d", "workflow": "restart"})
    assert findings(d) == {("E304", ("spec", "workflow"))}
    assert findings(draft("Command", "run", {"description": "d"})) == {("E205", ("spec",))}
    d = draft("Command", "run", {"description": "d", "reply": "x", "workflow": "restart-plex"})
    assert findings(d) == {("E208", ("spec", "workflow"))}


def test_command_reply_templates_and_permissions() -> None:
    reply = {"content": "{{ options.host }", "embeds": [{"title": "{% endif %}"}], "ephemeral": True}
    assert findings(command(reply=reply, default_member_permissions=["manage_guild", "manage_server"])) == {
        ("E501", ("spec", "reply", "content")),
        ("E501", ("spec", "reply", "embeds", 0, "title")),
        ("E306", ("spec", "default_member_permissions", 1)),
    }
    assert findings(command(reply="{{ x }")) == {("E501", ("spec", "reply"))}


def test_command_normalize() -> None:
    spec = y("""
      description: d
      options:
        - {name: host, type: string, description: h, required: true, choices: [nas, pi]}
        - {name: n, type: integer, description: n, choices: [1, {name: two, value: 2}], min_value: 1}
      default_member_permissions: [manage_roles, kick_members]
      reply: "{{ options.host }} is up"
    """)
    assert normalized(draft("Command", "uptime", spec)) == y("""
      description: d
      options:
        - {name: host, type: string, description: h, required: true,
           choices: [{name: nas, value: nas}, {name: pi, value: pi}]}
        - {name: n, type: integer, description: n, required: false,
           choices: [{name: "1", value: 1}, {name: two, value: 2}], min_value: 1}
      default_member_permissions: [kick_members, manage_roles]
      reply: {content: "{{ options.host }} is up", ephemeral: false}
    """)
    run = normalized(draft("Command", "run", {"description": "d", "workflow": "w"}))
    assert run == {"description": "d", "options": [], "workflow": "w"}


# --- Workflow ------------------------------------------------------------------------------------


def workflow(*steps: Any, **spec: Any) -> Draft:
    return draft("Workflow", "wf", {"steps": list(steps) or [{"reply": "ok"}], **spec})


@pytest.mark.parametrize(
    ("schedule", "ok"),
    [("0 8 * * *", True), ("*/5 * * * MON-FRI", True), ("@daily", True), ("0  8 * * *", True),
     ("0 25 * * *", False), ("0 8 * *", False), ("0 8 * * * *", False), ("@reboot", False),
     ("every day", False), ("*/0 * * * *", False), ("0 8 31 2 *", False), ("0 0 29 2 *", True)],
)
def test_cron(schedule: str, ok: bool) -> None:
    assert (cron_error(schedule) is None) == ok


def test_workflow_triggers_and_inputs() -> None:
    triggers = [{"schedule": "0 8 * * *"}, {"schedule": "0 8 * *"}]
    inputs = [{"name": "svc", "type": "string"}, {"name": "svc", "type": "integer", "choices": ["a"]}]
    assert findings(workflow(triggers=triggers, inputs=inputs)) == {
        ("E504", ("spec", "triggers", 1, "schedule")),
        ("E410", ("spec", "inputs", 1, "name")),
        ("E206", ("spec", "inputs", 1, "choices", 0)),
    }


def test_workflow_steps() -> None:
    steps = y("""
      - {id: call, http: {url: "http://x/{{ inputs.svc }}", timeout: 10 s, json: {a: "{{ b }"}}}
      - {id: call, reply: "{{ steps.call.status }}", when: "steps.call.status = 200"}
      - send: {channel: lounge, content: x}
      - send: {channel: nope, content: x}
      - send: {channel: "{{ inputs.channel }", content: x}
      - send: {channel: news, embeds: [{title: "{{ t }"}]}
      - refresh: {dashboard: server-status}
      - refresh: {dashboard: server}
      - add_role: {role: on-call, member: "{{ user.id }"}
      - http: {url: "http://x", timeout: 0}
    """)
    s = ("spec", "steps")
    assert findings(workflow(*steps)) == {
        ("E501", (*s, 0, "http", "json", "a")),
        ("E410", (*s, 1, "id")),
        ("E501", (*s, 1, "when")),
        ("E305", (*s, 2, "send", "channel")),
        ("E304", (*s, 3, "send", "channel")),
        ("E501", (*s, 4, "send", "channel")),
        ("E501", (*s, 5, "send", "embeds", 0, "title")),
        ("E304", (*s, 7, "refresh", "dashboard")),
        ("E501", (*s, 8, "add_role", "member")),
        ("E408", (*s, 9, "http", "timeout")),
    }


def test_workflow_normalize() -> None:
    spec = y("""
      allowed_roles: [admins, "123456789012345678"]
      inputs: [{name: service, type: string}]
      triggers: [{schedule: " 0  8 * * * "}]
      steps:
        - {id: call, http: {method: POST, url: "http://d/api", json: {s: plex}, timeout: 1m, expect: 200}}
        - {reply: {content: "{{ steps.call.status }}", ephemeral: true}, when: "{{ steps.call.ok }}"}
        - reply: done
        - send: {channel: status, content: hi}
        - add_role: {role: on-call, member: "{{ user.id }}"}
        - refresh: {dashboard: server-status}
        - http: {url: "http://d/ping", expect: [204, 200, 200]}
    """)
    assert normalized(draft("Workflow", "wf", spec)) == y("""
      allowed_roles: [admins, "123456789012345678"]
      inputs: [{name: service, type: string, required: false}]
      triggers: [{schedule: "0 8 * * *"}]
      steps:
        - {id: call, http: {method: POST, url: "http://d/api", headers: {}, json: {s: plex}, timeout: 60,
                            expect: [200]}}
        - {when: steps.call.ok, reply: {content: "{{ steps.call.status }}", ephemeral: true}}
        - reply: {content: done, ephemeral: false}
        - send: {channel: status, content: hi}
        - add_role: {role: on-call, member: "{{ user.id }}"}
        - refresh: {dashboard: server-status}
        - http: {method: GET, url: "http://d/ping", headers: {}, timeout: 10, expect: [200, 204]}
    """)


# --- realistic specs: clean and idempotent -----------------------------------------------------------

REALISTIC = [
    draft(d["kind"], d["name"], d.get("spec"))
    for d in YAML(typ="safe").load_all("""
kind: Guild
name: homelab
spec: {id: "123456789012345678", prune: false, adopt: by-name}
---
kind: Channel
name: general
---
kind: Channel
name: status
spec:
  display_name: "📊-status"
  category: infra
  topic: Live
  slowmode: 30
  permissions:
    - {role: admins, allow: [send_messages]}
    - {role: "@everyone", deny: [send_messages]}
    - {member: "123456789012345678", allow: [view_channel, attach_files]}
---
kind: Channel
name: lounge
spec: {type: voice, bitrate: 96000, user_limit: 8, category: infra}
---
kind: Dashboard
name: server-status
spec:
  channel: status
  refresh: 1h30m
  sources: {nodes: {http: {url: "http://p/q", headers: {Authorization: "Bearer ${secret:T}"}}}}
  embeds:
    - title: Status
      color: "#ABCDEF"
      fields: [{name: CPU, value: "{{ cpu }}"}]
      footer: {text: hlb}
      author: {name: bot}
  components:
    - - button: {label: Restart, style: danger, workflow: restart-plex}
      - button: {label: Grafana, url: "https://g"}
    - - select:
          placeholder: Pick
          workflow: restart-plex
          max_values: 2
          options: [{label: A, value: a}, {label: B, value: b}]
---
kind: Command
name: uptime
spec:
  description: Uptime
  default_member_permissions: [manage_guild]
  options: [{name: host, type: string, description: h, required: true, choices: [nas]}]
  reply: {content: "{{ options.host }} up", embeds: [{title: x, color: 16}]}
---
kind: Command
name: deploy
spec: {description: Deploy, workflow: restart-plex}
---
kind: Workflow
name: restart-plex
spec:
  allowed_roles: [admins]
  inputs: [{name: values, type: string}]
  triggers: [{schedule: "@daily"}]
  steps:
    - {id: call, http: {url: "http://d", timeout: 5, expect: 202}}
    - {reply: ok, when: "{{ steps.call.status == 202 }}"}
    - send: {channel: status, embeds: [{description: x, fields: [{name: a, value: b}]}]}
    - remove_role: {role: on-call, member: "{{ user.id }}"}
""")
]


@pytest.mark.parametrize("d", REALISTIC, ids=lambda d: f"{d.kind}/{d.name}")
def test_normalize_is_idempotent(d: Draft) -> None:
    once = normalized(d)
    twice = normalized(Draft(d.file, d.doc, d.line, d.guild, d.kind, d.name, d.labels, once))
    assert twice == once
    assert not any(v is None for v in once.values())  # unset optional fields are omitted, never null


@pytest.mark.parametrize("d", REALISTIC, ids=lambda d: f"{d.kind}/{d.name}")
def test_realistic_specs_are_clean(d: Draft) -> None:
    assert findings(d, *REALISTIC) == set()


REJECTED = [  # specs the schema accepts but check() rejects: normalize must still work
    draft("Channel", "c", y("{bitrate: 64000, category: nowhere, permissions: [{role: a}, {role: a}]}")),
    draft("Dashboard", "d", y("""
      channel: lounge
      refresh: 5
      sources: {s: {http: {url: "http://x/{{ y }", timeout: 0}}}
      components:
        - - button: {label: both, workflow: w, url: "https://x", style: danger}
          - button: {label: neither}
          - select: {workflow: w, min_values: 3, max_values: 2, options: [{label: a, value: a}]}
    """)),
    draft("Command", "Up-Time", y("""
      description: d
      options: [{name: b, type: boolean, description: d, choices: [1.5]},
                {name: b, type: string, description: d, required: true, min_value: 3}]
      reply: {content: "{{ x }"}
      workflow: nowhere
    """)),
    draft("Workflow", "w", y("""
      triggers: [{schedule: "0 8 31 2 *"}]
      steps:
        - {id: a, when: "x = 1", http: {url: "http://x", timeout: 0, expect: [500, 200]}}
        - {id: a, send: {channel: "{{ c }", content: "{% if %}"}}
    """)),
]


@pytest.mark.parametrize("d", REJECTED, ids=lambda d: f"{d.kind}/{d.name}")
def test_normalize_survives_specs_check_rejects(d: Draft) -> None:
    assert findings(d)
    once = normalized(d)
    assert normalized(Draft(d.file, d.doc, d.line, d.guild, d.kind, d.name, d.labels, once)) == once


def test_dashboard_custom_ids_fit_discord() -> None:
    long_name = "w" * 64
    flow = draft("Workflow", long_name, {"steps": [{"reply": "ok"}]})
    board = draft("Dashboard", "d" * 40, {"channel": "status", "components": [
        [{"button": {"label": "a", "workflow": long_name}}]]})
    assert findings(board, flow) == {("E401", ("spec", "components", 0, 0, "button", "workflow"))}
    board = draft("Dashboard", "d" * 20, {"channel": "status", "components": [
        [{"button": {"label": "a", "workflow": long_name}}]]})
    assert findings(board, flow) == set()  # 4 + 20 + 6 + 64 = 94 characters
