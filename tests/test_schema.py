"""Tests of the JSON Schemas and the schema-validation layer (hlb.compiler.schema)."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from hlb.compiler import enums, schema
from hlb.compiler.diagnostics import CODES
from hlb.compiler.model import KIND_ORDER
from hlb.compiler.permissions import (
    ALIASES,
    PERMISSIONS,
    SCHEMA_FILE,
    permission_names,
    to_bits,
    write_schema_enum,
)
from hlb.compiler.schema import kind_names, schema_texts, validate_document

# The examples of the spec-format contract, each made a whole document (${HLB_GUILD_ID} interpolated).
SPEC_EXAMPLES = """
apiVersion: hlb/v1
kind: Guild
name: homelab
spec:
  id: "123456789012345678"
  prune: true
  adopt: by-name
---
apiVersion: hlb/v1
kind: Channel
name: status
guild: homelab
labels: {team: infra}
spec:
  type: text
  display_name: "📊-status"
  category: infra
  topic: Live homelab status
  position: 10
  nsfw: false
  slowmode: 0
  bitrate: 64000
  user_limit: 0
  protect: false
  permissions:
    - role: "@everyone"
      deny: [send_messages]
    - role: admins
      allow: [send_messages, manage_messages]
    - member: "123456789012345678"
      allow: [view_channel]
---
apiVersion: hlb/v1
kind: Dashboard
name: server-status
spec:
  channel: status
  refresh: 5m
  sources:
    nodes:
      http:
        url: http://prometheus:9090/api/v1/query?query=up
        headers: {Authorization: "Bearer ${secret:PROM_TOKEN}"}
        timeout: 5s
  content: "Updated {{ now | datetime }}"
  embeds:
    - title: Homelab status
      description: "{{ sources.nodes.data.result | length }} targets up"
      color: "#2ecc71"
      url: https://grafana.example/d/home
      fields:
        - {name: CPU, value: "{{ sources.nodes.cpu }}", inline: true}
      footer: {text: managed by hlb}
      thumbnail: https://example/icon.png
  components:
    - - button: {label: Restart Plex, style: danger, workflow: restart-plex}
      - button: {label: Grafana, url: https://grafana.example}
    - - select:
          placeholder: Pick a service
          workflow: restart-service
          min_values: 1
          max_values: 1
          options:
            - {label: Plex, value: plex, description: Media server}
            - {label: Grafana, value: grafana}
---
apiVersion: hlb/v1
kind: Command
name: uptime
spec:
  description: Show host uptime
  options:
    - name: host
      type: string
      description: Which host
      required: true
      choices: [nas, pi, router]
  default_member_permissions: [manage_guild]
  reply: "{{ options.host }} is up"
---
apiVersion: hlb/v1
kind: Command
name: show-uptime
spec:
  description: Show host uptime
  workflow: show-uptime
---
apiVersion: hlb/v1
kind: Workflow
name: restart-plex
spec:
  allowed_roles: [admins]
  inputs:
    - {name: service, type: string, required: false}
  triggers:
    - schedule: "0 8 * * *"
  steps:
    - id: call
      http:
        method: POST
        url: http://dashboard:5000/api/deploy
        json: {service: plex}
        headers: {Authorization: "Bearer ${secret:DASH_TOKEN}"}
        timeout: 10s
    - reply: {content: "Restarted: {{ steps.call.status }}", ephemeral: true}
    - send: {channel: status, content: "{{ user.name }} restarted Plex"}
    - add_role: {role: on-call, member: "{{ user.id }}"}
    - remove_role: {role: on-call, member: "{{ user.id }}"}
    - refresh: {dashboard: server-status}
      when: "{{ steps.call.status == 200 }}"
"""

# What the kind modules make of them (docs/model.md); exports write these, so they must validate too.
NORMALIZED = """
{apiVersion: hlb/v1, kind: Guild, name: homelab, spec: {id: "123456789012345678", prune: true, adopt: none}}
---
apiVersion: hlb/v1
kind: Channel
name: status
guild: homelab
labels: {}
spec:
  type: voice
  display_name: status
  nsfw: false
  slowmode: 0
  bitrate: 64000
  user_limit: 10
  protect: false
  permissions:
    - {role: "@everyone", allow: [], deny: [send_messages]}
    - {member: "123456789012345678", allow: [view_channel], deny: []}
---
apiVersion: hlb/v1
kind: Dashboard
name: server-status
guild: homelab
spec:
  channel: status
  refresh: 300
  sources: {nodes: {http: {url: "http://p/q", method: GET, headers: {}, timeout: 10}}}
  embeds: [{title: T, color: "#2ecc71", fields: [{name: a, value: b, inline: false}]}]
  components:
    - [{button: {label: Go, style: primary, workflow: w, disabled: false}},
       {button: {label: Docs, style: link, url: "https://x"}}]
    - [{select: {workflow: w, min_values: 1, max_values: 1, options: [{label: A, value: a}]}}]
---
apiVersion: hlb/v1
kind: Command
name: uptime
guild: homelab
spec:
  description: Show host uptime
  options:
    - {name: host, type: string, description: Which host, required: true,
       choices: [{name: nas, value: nas}, {name: "2", value: 2}]}
  default_member_permissions: [manage_guild]
  reply: {content: "{{ options.host }} is up", embeds: [], ephemeral: false}
---
apiVersion: hlb/v1
kind: Workflow
name: restart-plex
guild: homelab
spec:
  inputs: [{name: service, type: string, required: false}]
  triggers: []
  steps:
    - {id: call, http: {method: GET, url: "http://x", headers: {}, timeout: 10, expect: [200, 204]}}
    - {reply: {content: done, ephemeral: false}}
    - {when: "{{ true }}", refresh: {dashboard: server-status}}
"""


def _load_all(text: str) -> list[dict[str, Any]]:
    return [d for d in YAML(typ="safe", pure=True).load_all(text) if d is not None]


VALID = _load_all(SPEC_EXAMPLES) + _load_all(NORMALIZED)


def doc(kind: str, spec: Any = None, **envelope: Any) -> dict[str, Any]:
    """A document of `kind` with the given spec (None: no spec) and envelope overrides."""
    data: dict[str, Any] = {"apiVersion": "hlb/v1", "kind": kind, "name": "x", **envelope}
    if spec is not None:
        data["spec"] = spec
    return data


GUILD = {"id": "123456789012345678"}
BUTTON = {"button": {"label": "b"}}
D = {"channel": "s"}  # the smallest Dashboard spec
C = {"description": "d", "reply": "r"}  # the smallest Command spec
OPT = {"name": "o", "type": "string", "description": "d"}
STEP = {"reply": "hi"}
DAY = date(2024, 1, 1)


def case(data: dict[str, Any], code: str, path: str) -> tuple[dict[str, Any], str, tuple[str | int, ...]]:
    """An invalid document with its one expected problem; `path` is dotted, list indexes as numbers."""
    return data, code, tuple(int(p) if p.isdigit() else p for p in path.split(".") if p)


INVALID = [
    case({"kind": "Guild", "name": "x", "spec": GUILD}, "E201", ""),
    case(doc("Guild", GUILD, apiVersion="hlb/v2"), "E201", "apiVersion"),
    case({"apiVersion": "hlb/v1", "name": "x"}, "E202", ""),
    case(doc("Chanel"), "E202", "kind"),
    case(doc("Channel", name="My Channel"), "E207", "name"),
    case(doc("Channel", name="status\n"), "E207", "name"),
    case(doc("Channel", {}, guild="Home Lab"), "E207", "guild"),
    case(doc("Channel", {"topc": "x"}), "E203", "spec.topc"),
    case(doc("Channel", {}, lables={}), "E203", "lables"),
    case(doc("Guild", GUILD, guild="homelab"), "E203", "guild"),
    case(doc("Channel", {"topic": 5}), "E204", "spec.topic"),
    case(doc("Channel", ["text"]), "E204", "spec"),
    case(doc("Channel", {}, labels={"team": 1}), "E204", "labels.team"),
    case(doc("Guild", {"id": 123456789012345678}), "E204", "spec.id"),
    case(doc("Guild", {}), "E205", "spec"),
    case(doc("Guild"), "E205", ""),
    case(doc("Channel", {"type": "txt"}), "E206", "spec.type"),
    case(doc("Guild", {"id": "12345"}), "E206", "spec.id"),
    case(doc("Guild", {**GUILD, "adopt": "all"}), "E206", "spec.adopt"),
    case(doc("Channel", {"permissions": [{"role": "a", "allow": ["send_message"]}]}), "E306",
         "spec.permissions.0.allow.0"),
    case(doc("Channel", {"permissions": [{"allow": []}]}), "E205", "spec.permissions.0"),
    case(doc("Channel", {"permissions": [{"role": "a", "member": GUILD["id"]}]}), "E208",
         "spec.permissions.0"),
    case(doc("Channel", {"topic": "t" * 1025}), "E401", "spec.topic"),
    case(doc("Channel", {"display_name": ""}), "E206", "spec.display_name"),
    case(doc("Channel", {"slowmode": 21601}), "E408", "spec.slowmode"),
    case(doc("Channel", {"bitrate": 1000}), "E408", "spec.bitrate"),
    case(doc("Channel", {"user_limit": 10001}), "E408", "spec.user_limit"),
    case(doc("Dashboard", {**D, "embeds": [{"title": "t" * 300}]}), "E401", "spec.embeds.0.title"),
    case(doc("Dashboard", {**D, "embeds": [{}] * 11}), "E402", "spec.embeds"),
    case(doc("Dashboard", {**D, "embeds": [{"fields": [{"name": "a", "value": "b"}] * 26}]}), "E402",
         "spec.embeds.0.fields"),
    case(doc("Dashboard", {**D, "embeds": [{"color": None}]}), "E204", "spec.embeds.0.color"),
    case(doc("Dashboard", {**D, "embeds": [{"color": "#2ecc7"}]}), "E206", "spec.embeds.0.color"),
    case(doc("Dashboard", {**D, "embeds": [{"color": 16777216}]}), "E408", "spec.embeds.0.color"),
    case(doc("Dashboard", {**D, "refresh": True}), "E505", "spec.refresh"),
    case(doc("Dashboard", {**D, "refresh": 1.5}), "E505", "spec.refresh"),
    case(doc("Dashboard", {**D, "refresh": -1}), "E408", "spec.refresh"),
    case(doc("Dashboard", {**D, "components": [[BUTTON]] * 6}), "E402", "spec.components"),
    case(doc("Dashboard", {**D, "components": [[BUTTON] * 6]}), "E402", "spec.components.0"),
    case(doc("Dashboard", {**D, "components": [[{"button": {"label": "b", "style": "red"}}]]}), "E206",
         "spec.components.0.0.button.style"),
    case(doc("Dashboard", {**D, "components": [[{"select": {"workflow": "w", "options": []}}]]}), "E402",
         "spec.components.0.0.select.options"),
    case(doc("Dashboard", {**D, "components": [[{"button": {"label": "b" * 81}}]]}), "E401",
         "spec.components.0.0.button.label"),
    case(doc("Dashboard", {**D, "components": [[{"select": {"workflow": "w", "max_values": 26,
                                                            "options": [{"label": "a", "value": "a"}]}}]]}),
         "E408", "spec.components.0.0.select.max_values"),
    case(doc("Dashboard", {**D, "sources": {"n": {"http": {"url": "u", "timout": 5}}}}), "E203",
         "spec.sources.n.http.timout"),
    case(doc("Command", {"description": "d"}), "E205", "spec"),
    case(doc("Command", {**C, "workflow": "w"}), "E208", "spec"),
    case(doc("Command", {**C, "description": "d" * 101}), "E401", "spec.description"),
    case(doc("Command", {**C, "reply": {"ephemeral": True}}), "E205", "spec.reply"),
    case(doc("Command", {**C, "reply": {"content": "c", "ephemral": True}}), "E203", "spec.reply.ephemral"),
    case(doc("Command", {**C, "reply": ["r"]}), "E204", "spec.reply"),
    case(doc("Command", {**C, "options": [{**OPT, "type": "str"}]}), "E206", "spec.options.0.type"),
    case(doc("Command", {**C, "options": [{"name": "o", "type": "string"}]}), "E205", "spec.options.0"),
    case(doc("Command", {**C, "options": [{**OPT, "choices": [True]}]}), "E204", "spec.options.0.choices.0"),
    case(doc("Command", {**C, "options": [{**OPT, "choices": ["c"] * 26}]}), "E402",
         "spec.options.0.choices"),
    case(doc("Command", {**C, "options": [OPT] * 26}), "E402", "spec.options"),
    case(doc("Workflow", {}), "E205", "spec"),
    case(doc("Workflow", {"steps": []}), "E402", "spec.steps"),
    case(doc("Workflow", {"steps": [{"id": "a"}]}), "E205", "spec.steps.0"),
    case(doc("Workflow", {"steps": [{"reply": "a", "send": {"channel": "c", "content": "x"}}]}), "E208",
         "spec.steps.0"),
    case(doc("Workflow", {"steps": [{**STEP, "id": "Bad-Id"}]}), "E206", "spec.steps.0.id"),
    case(doc("Workflow", {"steps": [{"http": {"url": "u", "method": "post"}}]}), "E206",
         "spec.steps.0.http.method"),
    case(doc("Workflow", {"steps": [{"http": {"url": "u", "expect": [700]}}]}), "E408",
         "spec.steps.0.http.expect.0"),
    case(doc("Workflow", {"steps": [{"http": {"url": "u", "timeout": ["10s"]}}]}), "E505",
         "spec.steps.0.http.timeout"),
    case(doc("Workflow", {"steps": [{"send": {"channel": "c"}}]}), "E205", "spec.steps.0.send"),
    case(doc("Workflow", {"steps": [{"add_role": {"role": "r"}}]}), "E205", "spec.steps.0.add_role"),
    case(doc("Workflow", {"steps": [STEP], "triggers": [{"schedule": "* * * * *", "tz": "UTC"}]}), "E203",
         "spec.triggers.0.tz"),
    case(doc("Workflow", {"steps": [STEP], "triggers": [{}]}), "E205", "spec.triggers.0"),
    case(doc("Workflow", {"steps": [STEP]}, labels={1: "a"}), "E204", "labels"),
    case(doc("Workflow", {"steps": [STEP]}, labels={"when": DAY}), "E204", "labels.when"),
    case(doc("Workflow", {"steps": [{"http": {"url": "u", "json": {"d": DAY}}}]}), "E204",
         "spec.steps.0.http.json.d"),
    case(doc("Workflow", {"steps": [{"http": {"url": "u", "json": [float("nan")]}}]}), "E204",
         "spec.steps.0.http.json.0"),
]


@pytest.mark.parametrize("data", VALID, ids=lambda d: f"{d['kind']}-{d['name']}")
@pytest.mark.parametrize("reference", [False, True])
def test_valid_documents(data: dict[str, Any], reference: bool) -> None:
    assert validate_document(data, reference=reference) == []


@pytest.mark.parametrize(
    ("data", "code", "path"), INVALID, ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(INVALID)]
)
def test_invalid_documents(data: dict[str, Any], code: str, path: tuple[str | int, ...]) -> None:
    problems = validate_document(data)
    assert [(p.code, p.path) for p in problems] == [(code, path)], problems
    assert problems == validate_document(data, reference=True)
    assert all(p.code in CODES for p in problems)


def test_messages_say_what_is_wrong_and_what_to_do() -> None:
    def message(data: dict[str, Any]) -> str:
        (problem,) = validate_document(data)
        return problem.message

    assert (
        message(doc("Channel", {"topc": "x"}))
        == "unknown field 'topc' in Channel spec; did you mean 'topic'?"
    )
    assert "belongs under `spec:`" in message(doc("Channel", {}, topic="x"))
    assert message(doc("Chanel")).startswith("unknown kind 'Chanel'; did you mean 'Channel'?")
    assert "hlb/v1" in message(doc("Guild", GUILD, apiVersion="v1"))
    assert message(doc("Guild", {})) == "missing required field 'id' in Guild spec"
    assert message(doc("Channel", {"topic": 5})) == (
        "spec.topic: expected a string, got an integer; quote it so YAML reads it as text"
    )
    assert message(doc("Channel", name="My Channel")) == (
        "invalid name 'My Channel': use lowercase letters, digits, '-' and '_' (max 64), "
        "starting with a letter or digit"
    )
    assert message(doc("Dashboard", {"channel": "s", "embeds": [{"title": "t" * 300}]})) == (
        "spec.embeds[0].title is 300 characters; Discord allows at most 256"
    )
    assert "did you mean 'view_channel'?" in message(
        doc("Channel", {"permissions": [{"role": "a", "allow": ["read_messages"]}]})
    )
    text = message(doc("Channel", {"type": "txt"}))
    assert "text, voice, category, announcement, forum, stage" in text and "did you mean 'text'?" in text
    assert message(doc("Workflow", {"steps": [{"reply": "a", "refresh": {"dashboard": "d"}}]})) == (
        "spec.steps[0] has both 'reply' and 'refresh'; keep exactly one of 'reply', 'send', 'http', "
        "'add_role', 'remove_role' or 'refresh'"
    )
    assert "not valid under" not in message(
        doc("Workflow", {"steps": [{"http": {"url": "u", "expect": "200"}}]})
    )


def test_duration_syntax_is_left_to_the_kinds() -> None:
    # hlb.compiler.durations.parse_duration decides (E505) together with the kind's range check (E408),
    # so a document with a bad duration still gets all its other checks in the same run.
    for value in ("30s", "1h30m", "250ms", "2d", "1.5h", "30", "ten seconds", 0, 300):
        assert validate_document(doc("Dashboard", {**D, "refresh": value})) == []


def test_every_problem_is_reported() -> None:
    data = doc(
        "Channel",
        {"topc": "x", "type": "txt", "slowmode": -1, "permissions": [{"allow": ["nope"]}]},
        name="Bad Name",
        extra=1,
    )
    codes = sorted(p.code for p in validate_document(data))
    assert codes == ["E203", "E203", "E205", "E206", "E207", "E306", "E408"]
    assert validate_document(data) == validate_document(data, reference=True)


def _verdicts(data: dict[str, Any]) -> tuple[bool | None, bool]:
    kind = data["kind"]
    try:
        fast: bool | None = schema._fast_validator(kind).is_valid(data)
    except (ValueError, TypeError, OverflowError):
        fast = None  # not JSON (dates, non-string keys): the reference path decides
    return fast, schema._reference_validator(kind).is_valid(data) and not list(schema._foreign(data, ()))


@pytest.mark.parametrize("data", VALID + [d for d, _, _ in INVALID])
def test_fast_and_reference_validators_agree(data: dict[str, Any]) -> None:
    if data.get("apiVersion") == "hlb/v1" and data.get("kind") in kind_names():
        fast, slow = _verdicts(data)
        assert fast in (None, slow)
    assert validate_document(data) == validate_document(data, reference=True)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(
        ["", "x" * 300, "5m", "1h30m", "#2ecc71", "#zz", "123456789012345678", "status\n", "GET"]
    ),
)
VALUES = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=4), SCALARS, max_size=2)
)


def _containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    found = [(path, node)] if isinstance(node, dict | list) and node else []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in items:
        found.extend(_containers(child, (*path, key)))
    return found


@st.composite
def mutations(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with one key dropped, one unknown key added, or one value's type changed."""
    data = copy.deepcopy(draw(st.sampled_from(VALID)))
    _, node = draw(st.sampled_from(_containers(data)))
    operation = draw(st.sampled_from(["drop", "add", "retype"]))
    if isinstance(node, dict):
        key = draw(st.sampled_from(sorted(node)))
        if operation == "drop":
            del node[key]
        elif operation == "add":
            node[draw(st.sampled_from(["extra", "titel", "topc", "x"]))] = draw(VALUES)
        else:
            node[key] = draw(VALUES)
    else:
        index = draw(st.integers(0, len(node) - 1))
        if operation == "drop":
            del node[index]
        elif operation == "add":
            node.append(draw(VALUES))
        else:
            node[index] = draw(VALUES)
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_mutations_get_the_same_verdict_on_both_paths(data: dict[str, Any]) -> None:
    problems = validate_document(data)
    assert problems == validate_document(data, reference=True)
    assert all(p.code in CODES and p.message for p in problems)
    if data.get("apiVersion") == "hlb/v1" and data.get("kind") in kind_names():
        fast, slow = _verdicts(data)
        assert fast in (None, slow)
        assert (problems == []) == slow


def test_permission_enum_agrees_with_permissions() -> None:
    common = json.loads(schema_texts()["common.schema.json"])
    assert common["$defs"]["permission"]["enum"] == permission_names()
    assert write_schema_enum(Path(SCHEMA_FILE)) is False  # regenerating changes nothing
    assert len(set(PERMISSIONS.values())) == len(PERMISSIONS)
    assert to_bits(["view_channel", "send_messages"]) == (1 << 10) | (1 << 11)


def test_schema_enums_are_the_enumerations_of_hlb_compiler_enums() -> None:
    """Each closed vocabulary is defined once (hlb.compiler.enums); the schemas list the same names."""
    texts = {name: json.loads(text).get("$defs", {}) for name, text in schema_texts().items()}
    guild = json.loads(schema_texts()["guild.schema.json"])["properties"]["spec"]["properties"]
    assert texts["channel.schema.json"]["spec"]["properties"]["type"]["enum"] == list(enums.CHANNEL_TYPES)
    button = texts["dashboard.schema.json"]["button"]
    assert button["properties"]["style"]["enum"] == list(enums.BUTTON_STYLES)
    assert texts["common.schema.json"]["option_type"]["enum"] == list(enums.OPTION_TYPES)
    assert guild["adopt"]["enum"] == list(enums.ADOPT_MODES)
    assert guild["verification_level"]["enum"] == list(enums.VERIFICATION_LEVELS)
    assert guild["default_notifications"]["enum"] == list(enums.DEFAULT_NOTIFICATIONS)
    assert guild["explicit_content_filter"]["enum"] == list(enums.EXPLICIT_CONTENT_FILTERS)
    assert guild["afk_timeout"]["enum"] == list(enums.AFK_TIMEOUTS)
    component = texts["dashboard.schema.json"]["component"]
    assert [one["required"] for one in component["oneOf"]] == [[t] for t in enums.COMPONENT_TYPES]
    step = texts["workflow.schema.json"]["step"]
    assert [k for k in step["properties"] if k not in ("id", "when")] == list(enums.STEP_TYPES)


def test_enumerations_match_disnake() -> None:
    """The API numbers of hlb.compiler.enums are Discord's, as disnake knows them."""
    import disnake  # a test extra: missing, the test fails rather than skips
    renamed = {"announcement": "news", "stage": "stage_voice"}
    for name, number in enums.CHANNEL_TYPES.items():
        assert disnake.ChannelType[renamed.get(name, name)].value == number, name
    for name, number in enums.BUTTON_STYLES.items():
        assert disnake.ButtonStyle[name].value == number, name
    for name, number in enums.OPTION_TYPES.items():
        assert disnake.OptionType[name].value == number, name
    for name, number in enums.VERIFICATION_LEVELS.items():
        assert disnake.VerificationLevel[{"very_high": "highest"}.get(name, name)].value == number, name
    for name, number in enums.DEFAULT_NOTIFICATIONS.items():
        assert disnake.NotificationLevel[name].value == number, name
    for name, number in enums.EXPLICIT_CONTENT_FILTERS.items():
        assert disnake.ContentFilter[{"members_without_roles": "no_role"}.get(name, name)].value == number


def test_permissions_match_disnake() -> None:
    import disnake  # a test extra: missing, the test fails rather than skips
    flags = disnake.Permissions.VALID_FLAGS
    for name, bit in PERMISSIONS.items():
        names = [name] + [alias for alias, target in ALIASES.items() if target == name]
        assert 1 << bit in {flags.get(n) for n in names}, name
    assert {v.bit_length() - 1 for v in flags.values()} == set(PERMISSIONS.values())


def test_schema_files() -> None:
    texts = schema_texts()
    assert set(texts) == {"common.schema.json"} | {f"{k.lower()}.schema.json" for k in kind_names()}
    for name, text in texts.items():
        loaded = json.loads(text)
        jsonschema.Draft202012Validator.check_schema(loaded)
        assert loaded["$id"] == f"https://hlb.dev/schemas/v1/{name}"
        assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert kind_names() == KIND_ORDER


def test_every_object_schema_rejects_unknown_keys() -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, node.get("title")
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    for text in schema_texts().values():
        walk(json.loads(text))
