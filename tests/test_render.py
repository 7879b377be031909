"""Dashboard rendering (hlb.runtime.render): sources from a real local HTTP server, Discord-valid payloads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_samples import PROM_LOAD, PROM_UP

from hlb.compiler.compile import compile_paths
from hlb.compiler.model import SpecObject
from hlb.reconciler.state import RenderedMessage
from hlb.runtime.render import EMBED_TOTAL, NOTICE_TITLE, custom_id, fetch_sources, render_dashboard
from hlb.runtime.secrets import Secrets
from hlb.testing.openapi import validate

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cr3t-v4lue-never-shown"
NOW = datetime(2024, 5, 17, 12, 30, 15, tzinfo=UTC)
SONARR_QUEUE = {
    "totalRecords": 2,
    "records": [
        {"title": "Some Show S01E01", "status": "downloading"},
        {"title": "Film", "status": "queued"},
    ],
}

BASE_SPECS = """\
apiVersion: hlb/v1
kind: Guild
name: homelab
spec: {id: "123456789012345678"}
---
apiVersion: hlb/v1
kind: Channel
name: status
---
apiVersion: hlb/v1
kind: Workflow
name: restart
spec:
  steps:
    - reply: {content: done}
---
apiVersion: hlb/v1
kind: Workflow
name: pick
spec:
  steps:
    - reply: {content: "{{ inputs.values }}"}
"""


# --- a real HTTP server on 127.0.0.1 --------------------------------------------------------------


@dataclass
class Server:
    base: str
    session: aiohttp.ClientSession
    seen: list[dict[str, str]] = field(default_factory=list)


def _app(seen: list[dict[str, str]]) -> web.Application:
    async def prometheus(request: web.Request) -> web.Response:
        return web.json_response(PROM_LOAD if request.query.get("query") == "node_load5" else PROM_UP)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({"late": True})

    async def routes(request: web.Request) -> web.StreamResponse:
        seen.append({"path": request.path, "url": str(request.url), **request.headers})
        handlers: dict[str, Any] = {
            "/api/v1/query": prometheus,
            "/api/v3/queue": lambda _: web.json_response(SONARR_QUEUE),
            "/json": lambda _: web.json_response({"value": 42, "items": ["a", "b"]}),
            "/slow": slow,
            "/fail": lambda _: web.json_response({"error": "boom"}, status=500),
            "/text": lambda _: web.Response(text="plain words"),
            "/badjson": lambda _: web.Response(text="{nope", content_type="application/json"),
        }
        result = handlers[request.path](request)
        return await result if asyncio.iscoroutine(result) else result

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", routes)
    return app


@contextlib.asynccontextmanager
async def serve() -> AsyncIterator[Server]:
    seen: list[dict[str, str]] = []
    async with TestServer(_app(seen), host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        yield Server(str(server.make_url("")).rstrip("/"), session, seen)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def compile_dashboards(
    tmp: Path, dashboards: str, env: Mapping[str, str] | None = None
) -> dict[str, SpecObject]:
    (tmp / "base.yaml").write_text(BASE_SPECS)
    (tmp / "dashboards.yaml").write_text(dashboards)
    result = compile_paths([tmp], dict(env or {}))
    assert result.model is not None, [str(d) for d in result.diagnostics]
    return {o.key.name: o for o in result.model.of_kind("Dashboard")}


def reference_dashboards() -> dict[str, SpecObject]:
    result = compile_paths([ROOT / "specs"], dict(os.environ))
    assert result.model is not None, [str(d) for d in result.diagnostics]
    return {o.key.name: o for o in result.model.of_kind("Dashboard")}


def pointed_at(obj: SpecObject, base: str) -> SpecObject:
    """``obj`` with its sources' hosts replaced by the test server."""
    sources = {}
    for name, source in obj.spec.get("sources", {}).items():
        url = source["http"]["url"]
        path = url.split("/", 3)[3]
        sources[name] = {"http": {**source["http"], "url": f"{base}/{path}"}}
    return SpecObject.build(obj.key, obj.labels, {**obj.spec, "sources": sources})


def assert_valid(message: RenderedMessage) -> None:
    payload = dict(message.payload)
    assert validate("/channels/{channel_id}/messages", "POST", payload) == []
    assert validate("/channels/{channel_id}/messages/{message_id}", "PATCH", payload) == []
    assert len(payload["content"]) <= 2000
    assert len(payload["embeds"]) <= 10
    for embed in payload["embeds"]:
        assert len(embed.get("fields", [])) <= 25
        for fld in embed.get("fields", []):
            assert 1 <= len(fld["name"]) <= 256 and 1 <= len(fld["value"]) <= 1024
    assert payload["content"] or payload["embeds"] or payload["components"]


def embed_total(payload: Mapping[str, Any]) -> int:
    total = 0
    for embed in payload["embeds"]:
        total += len(embed.get("title", "")) + len(embed.get("description", ""))
        total += len(embed.get("footer", {}).get("text", "")) + len(embed.get("author", {}).get("name", ""))
        total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    return total


# --- reference dashboards -------------------------------------------------------------------------


def test_reference_dashboards_render_valid_payloads_from_live_sources() -> None:
    async def main() -> None:
        async with serve() as server:
            for name, obj in reference_dashboards().items():
                live = pointed_at(obj, server.base)
                env = {"HLB_SECRET_PROM_TOKEN": SECRET, "HLB_SECRET_SONARR_API_KEY": SECRET}
                secrets = Secrets.from_env(env)
                data, problems = await fetch_sources(live.spec, server.session, secrets)
                assert problems == [], name
                message = render_dashboard(live, data, problems, NOW)
                assert message.problems == (), name
                assert_valid(message)
                assert SECRET not in json.dumps(message.payload) + json.dumps(data)
            status = render_dashboard(
                reference_dashboards()["server-status"], {"targets": PROM_UP, "load": PROM_LOAD}, now=NOW
            )
            embed = status.payload["embeds"][0]
            assert embed["description"] == "2 of 3 Prometheus targets are up."
            assert embed["fields"][0]["value"] == "pi:9100"
            assert "`nas:9100` 0.43" in embed["fields"][1]["value"]
            assert status.payload["content"] == "Last updated 2024-05-17 12:30 UTC"
            assert embed["color"] == 0x2ECC71
            # the Authorization header reached the server, with the secret resolved
            assert {s.get("Authorization") for s in server.seen if "query" in s["url"]} == {
                f"Bearer {SECRET}"
            }
            assert {s.get("X-Api-Key") for s in server.seen if "queue" in s["url"]} == {SECRET}

    asyncio.run(main())


def test_reference_dashboards_with_failed_sources_stay_valid() -> None:
    for obj in reference_dashboards().values():
        failed = {name: {"error": "timed out after 5s"} for name in obj.spec.get("sources", {})}
        message = render_dashboard(obj, failed, [f"source {n}: timed out after 5s" for n in failed], NOW)
        assert_valid(message)
        if failed:
            notice = message.payload["embeds"][-1]
            assert notice["title"] == NOTICE_TITLE
            assert all(f"`{name}`" in notice["description"] for name in failed)


# --- sources --------------------------------------------------------------------------------------


SOURCES_DASHBOARD = """\
apiVersion: hlb/v1
kind: Dashboard
name: probes
spec:
  channel: status
  refresh: 1m
  sources:
    ok: {http: {url: "http://127.0.0.1:${PORT}/json", headers: {Authorization: "Bearer ${secret:TOKEN}"}}}
    words: {http: {url: "http://127.0.0.1:${PORT}/text"}}
    slow: {http: {url: "http://127.0.0.1:${PORT}/slow", timeout: 1s}}
    broken: {http: {url: "http://127.0.0.1:${PORT}/fail"}}
    garbled: {http: {url: "http://127.0.0.1:${PORT}/badjson", method: POST}}
    refused: {http: {url: "http://127.0.0.1:${CLOSED}/json?key=${secret:TOKEN}"}}
    unset: {http: {url: "http://127.0.0.1:${PORT}/json", headers: {X-Key: "${secret:NOT_SET}"}}}
    built: {http: {url: "http://127.0.0.1:${PORT}/json", headers: {X-Key: "{{ '$' ~ '{secret:TOKEN}' }}"}}}
  content: "{{ sources.ok.value }} / {{ sources.words }}"
  embeds:
    - title: Probes
      description: "{% if sources.slow.error is defined %}slow is down{% else %}slow is up{% endif %}"
"""


def test_sources_fail_softly_with_reasons_and_never_expose_secrets(tmp_path: Path) -> None:
    async def main() -> None:
        async with serve() as server:
            port = server.base.rsplit(":", 1)[1]
            env = {"PORT": port, "CLOSED": str(closed_port())}
            obj = compile_dashboards(tmp_path, SOURCES_DASHBOARD, env)["probes"]
            folder = tmp_path / "run-secrets"
            folder.mkdir()
            (folder / "TOKEN").write_text(f"{SECRET}\n", encoding="utf-8")  # one newline stripped
            # NOT_SET is in the environment, but not where secrets come from
            secrets = Secrets.from_env({"HLB_SECRETS_DIR": str(folder), "NOT_SET": "plain", "TOKEN": "wrong"})
            data, problems = await fetch_sources(obj.spec, server.session, secrets)
            assert data["ok"] == {"value": 42, "items": ["a", "b"]}
            assert data["words"] == "plain words"
            assert data["slow"] == {"error": "timed out after 1s"}
            assert data["broken"] == {"error": "HTTP 500"}
            assert data["garbled"] == {"error": "the response is not valid JSON"}
            assert data["refused"]["error"].startswith("cannot connect to 127.0.0.1:")
            missing = (
                "secret NOT_SET is not provided: "
                "set HLB_SECRET_NOT_SET or add the file NOT_SET to HLB_SECRETS_DIR"
            )
            assert data["unset"] == {"error": missing}
            assert problems == [
                "source slow: timed out after 1s",
                "source broken: HTTP 500",
                "source garbled: the response is not valid JSON",
                f"source refused: {data['refused']['error']}",
                f"source unset: {missing}",
            ]
            assert [s["path"] for s in server.seen].count("/badjson") == 1  # the POST reached the server
            seen_auth = [s.get("Authorization") for s in server.seen if s["path"] == "/json"]
            assert sorted(map(str, seen_auth)) == ["Bearer " + SECRET, "None"]  # `unset` sent nothing
            # a reference a template builds is text, never resolved
            assert [s.get("X-Key") for s in server.seen if s["path"] == "/json"].count("${secret:TOKEN}") == 1

            message = render_dashboard(obj, data, problems, NOW)
            assert_valid(message)
            assert message.payload["content"] == "42 / plain words"
            embeds = message.payload["embeds"]
            assert embeds[0]["description"] == "slow is down"
            assert embeds[-1]["title"] == NOTICE_TITLE
            assert data["built"] == {"value": 42, "items": ["a", "b"]}
            for name in ("slow", "broken", "garbled", "refused", "unset"):
                assert f"`{name}`" in embeds[-1]["description"]
            assert message.problems[: len(problems)] == tuple(problems)
            everything = json.dumps([data, problems, message.payload, message.problems])
            assert SECRET not in everything and "${secret:TOKEN}" not in json.dumps(message.payload)

    asyncio.run(main())


# --- rendering ------------------------------------------------------------------------------------


COMPONENTS_DASHBOARD = """\
apiVersion: hlb/v1
kind: Dashboard
name: panel
spec:
  channel: status
  content: "Panel for {{ guild.name }}"
  components:
    - - button: {label: Go, style: success, workflow: restart}
      - button: {label: "{{ sources.n }} nodes", workflow: restart, disabled: true}
      - button: {label: Docs, url: "https://example.org/docs"}
      - button: {label: Hidden, url: "{{ 'not a url' }}"}
    - - select:
          placeholder: "Pick one of {{ sources.n }}"
          workflow: pick
          max_values: 2
          options:
            - {label: A, value: a, description: "first"}
            - {label: "{{ sources.n }}", value: b}
"""


def test_components_use_the_compiler_custom_ids(tmp_path: Path) -> None:
    obj = compile_dashboards(tmp_path, COMPONENTS_DASHBOARD)["panel"]
    message = render_dashboard(obj, {"n": 3}, now=NOW, context={"guild": {"name": "homelab"}})
    assert_valid(message)
    assert message.payload["content"] == "Panel for homelab"
    assert message.payload["embeds"] == []
    first, second = message.payload["components"]
    assert first["type"] == 1 and second["type"] == 1
    assert first["components"] == [
        {"type": 2, "style": 3, "label": "Go", "disabled": False, "custom_id": "hlb:panel:0:0:restart"},
        {"type": 2, "style": 1, "label": "3 nodes", "disabled": True, "custom_id": "hlb:panel:0:1:restart"},
        {"type": 2, "style": 5, "label": "Docs", "disabled": False, "url": "https://example.org/docs"},
    ]
    assert message.problems == (
        "components[0][3].button.url: 'not a url' is not an http(s) URL of at most 512 characters; left out",
    )
    assert second["components"] == [
        {
            "type": 3,
            "custom_id": "hlb:panel:1:0:pick",
            "placeholder": "Pick one of 3",
            "min_values": 1,
            "max_values": 2,
            "options": [{"label": "A", "value": "a", "description": "first"}, {"label": "3", "value": "b"}],
        }
    ]
    assert custom_id("panel", 1, 0, "pick") == "hlb:panel:1:0:pick"


def test_static_dashboard_hash_is_stable_and_now_changes_it_by_the_minute() -> None:
    dashboards = reference_dashboards()
    welcome = dashboards["welcome"]
    one = render_dashboard(welcome, {}, now=NOW)
    two = render_dashboard(welcome, {}, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert one == two and one.hash == two.hash
    assert one.payload["content"] == ""  # PATCH clears content the spec does not have
    status = dashboards["server-status"]
    data = {"targets": PROM_UP, "load": PROM_LOAD}
    same_minute = render_dashboard(status, data, now=NOW.replace(second=59))
    assert render_dashboard(status, data, now=NOW).hash == same_minute.hash
    assert render_dashboard(status, data, now=NOW.replace(minute=31)).hash != same_minute.hash


def test_render_errors_become_markers_and_problems(tmp_path: Path) -> None:
    spec = """\
apiVersion: hlb/v1
kind: Dashboard
name: broken
spec:
  channel: status
  embeds:
    - title: "{{ sources.missing.value }}"
      description: "{{ 1 / 0 }}"
      url: "{{ sources.missing.url | default('') }}"
      timestamp: "{{ now.isoformat() }}"
      fields:
        - {name: ok, value: "{{ sources.x | default('fine') }}"}
        - {name: "{{ '' }}", value: "{{ '' }}"}
      footer: {text: "{{ now | datetime('%H:%M') }}", icon_url: "https://example.org/i.png"}
      author: {name: "{{ nope }}", url: "ftp://example.org"}
      thumbnail: "https://example.org/t.png"
"""
    obj = compile_dashboards(tmp_path, spec)["broken"]
    message = render_dashboard(obj, {}, now=NOW)
    assert_valid(message)
    embed = message.payload["embeds"][0]
    assert embed["title"].startswith("⚠ render error: ")
    assert embed["description"].startswith("⚠ render error: ")
    assert "url" not in embed  # rendered empty: left out silently
    assert embed["timestamp"] == NOW.isoformat()
    assert embed["fields"][0]["value"] == "fine"
    assert embed["fields"][1] == {"name": "\u200b", "value": "\u200b", "inline": False}
    assert embed["footer"] == {"text": "12:30", "icon_url": "https://example.org/i.png"}
    assert embed["author"]["name"].startswith("⚠ render error") and "url" not in embed["author"]
    assert embed["thumbnail"] == {"url": "https://example.org/t.png"}
    where = [p.split(":", 1)[0] for p in message.problems]
    assert where == [
        "embeds[0].title",
        "embeds[0].description",
        "embeds[0].author.name",
        "embeds[0].author.url",
    ]


def test_text_beyond_discord_limits_is_cut_and_stays_valid(tmp_path: Path) -> None:
    fields = "\n".join(f"        - {{name: f{i}, value: \"{{{{ 'y' * 3000 }}}}\"}}" for i in range(25))
    embed = "    - title: \"{{ 't' * 999 }}\"\n      description: \"{{ 'd' * 9000 }}\"\n      fields:\n"
    embeds = "\n".join(embed + fields for _ in range(10))
    spec = f"""\
apiVersion: hlb/v1
kind: Dashboard
name: huge
spec:
  channel: status
  content: "{{{{ 'c' * 5000 }}}}"
  embeds:
{embeds}
"""
    obj = compile_dashboards(tmp_path, spec)["huge"]
    message = render_dashboard(obj, {"feed": {"error": "HTTP 503"}}, ["source feed: HTTP 503"], NOW)
    assert_valid(message)
    payload = message.payload
    assert len(payload["content"]) == 2000 and payload["content"].endswith("…")
    assert len(payload["embeds"]) == 10
    assert embed_total(payload) <= EMBED_TOTAL
    assert all(len(f["value"]) <= 1024 for e in payload["embeds"] for f in e["fields"])
    last = payload["embeds"][-1]["fields"]
    assert len(last) == 25 and last[-1]["name"] == NOTICE_TITLE and "`feed`: HTTP 503" in last[-1]["value"]
    assert message.problems == ("source feed: HTTP 503",)
    assert render_dashboard(obj, {"feed": {"error": "HTTP 503"}}, (), NOW).hash == message.hash
