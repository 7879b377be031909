"""The workflow engine (hlb.runtime.workflows): reference workflows against a real local HTTP server,
a recording ``Effects``, and run rows in a real Postgres. Nothing is mocked."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from bounded import bounded
from psycopg.rows import dict_row

from hlb.compiler.compile import compile_paths
from hlb.compiler.model import SpecObject
from hlb.runtime.invocation import Actor, Invocation, Message, StepFailed
from hlb.runtime.secrets import Secrets
from hlb.runtime.workflows import RunResult, StepResult, run_workflow

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2024, 5, 17, 12, 30, 15, tzinfo=UTC)
SECRET = "s3cr3t-v4lue-never-stored"
SECRETS = Secrets.from_env(
    {f"HLB_SECRET_{name}": SECRET for name in ("DEPLOY_TOKEN", "HOMELAB_API_TOKEN", "PROM_TOKEN", "API")}
)
ADMIN = Actor(id=111111111111111111, name="alice", roles=(900,), role_names=("admins",))
GUEST = Actor(id=222222222222222222, name="bob", roles=(901,), role_names=("members",))
REFERENCE_HOSTS = ("http://ci.lan:8080", "http://homelab-api.lan:5000", "http://prometheus.lan:9090")

BASE_SPECS = """\
apiVersion: hlb/v1
kind: Guild
name: homelab
spec: {id: "123456789012345678"}
---
apiVersion: hlb/v1
kind: Channel
name: ops
"""


# --- a real HTTP server on 127.0.0.1 --------------------------------------------------------------


@dataclass
class Server:
    base: str
    session: aiohttp.ClientSession
    seen: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)  # path -> forced status
    hook: Callable[[], Awaitable[None]] | None = None


def _app(server: Server) -> web.Application:
    async def routes(request: web.Request) -> web.StreamResponse:
        body = await request.text()
        server.seen.append(
            {
                "method": request.method,
                "path": request.path,
                "url": str(request.url),
                "headers": dict(request.headers),
                "body": body,
            }
        )
        if server.hook is not None:
            await server.hook()
        if request.path == "/slow":
            await asyncio.sleep(2)
        status = server.status.get(request.path, 200)
        return web.json_response({"id": 7, "queued": True, "path": request.path}, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", routes)
    return app


@contextlib.asynccontextmanager
async def serve() -> AsyncIterator[Server]:
    async with aiohttp.ClientSession() as session:
        server = Server("", session)
        async with TestServer(_app(server), host="127.0.0.1") as test_server:
            server.base = str(test_server.make_url("")).rstrip("/")
            yield server


# --- a recording Effects --------------------------------------------------------------------------


@dataclass
class Recorder:
    """Our ``Effects`` protocol, recording each call; ``fail`` maps a method name to a StepFailed text."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    fail: dict[str, str] = field(default_factory=dict)
    crash: bool = False

    def _act(self, *call: Any) -> None:
        if self.crash:
            raise RuntimeError("a bug in the effects")
        if call[0] in self.fail:
            raise StepFailed(self.fail[call[0]])
        self.calls.append(call)

    async def reply(self, message: Message) -> None:
        self._act("reply", message)

    async def send(self, channel: str, message: Message) -> None:
        self._act("send", channel, message)

    async def add_role(self, role: str, member_id: int) -> None:
        self._act("add_role", role, member_id)

    async def remove_role(self, role: str, member_id: int) -> None:
        self._act("remove_role", role, member_id)

    async def refresh(self, dashboard: str) -> None:
        self._act("refresh", dashboard)


# --- spec sets ------------------------------------------------------------------------------------


def compile_dir(path: Path) -> dict[str, SpecObject]:
    result = compile_paths([path], {})
    assert result.model is not None, [str(d) for d in result.diagnostics]
    return {o.key.name: o for o in result.model if o.key.kind in ("Workflow", "Guild")}


def reference_specs(tmp: Path, base: str) -> dict[str, SpecObject]:
    """The reference ``specs/``, with the hosts of their workflows pointing at the test server."""
    copy = tmp / "specs"
    shutil.copytree(ROOT / "specs", copy)
    for path in copy.rglob("*.yaml"):
        text = path.read_text()
        for host in REFERENCE_HOSTS:
            text = text.replace(host, base)
        path.write_text(text)
    return compile_dir(copy)


def custom_specs(tmp: Path, workflows: str, base: str = "") -> dict[str, SpecObject]:
    folder = tmp / "custom"
    folder.mkdir(exist_ok=True)
    (folder / "base.yaml").write_text(BASE_SPECS)
    (folder / "workflows.yaml").write_text(workflows.replace("BASE", base))
    return compile_dir(folder)


def invocation(
    objs: Mapping[str, SpecObject],
    workflow: str,
    actor: Actor | None = ADMIN,
    trigger: str = "command",
    **inputs: Any,
) -> Invocation:
    extra = {"channel": {"id": "42", "name": "ops"}}
    return Invocation(objs["homelab"], objs[workflow], trigger, actor, 42, inputs, extra)


async def run(inv: Invocation, effects: Recorder, server: Server, conn: Any = None) -> RunResult:
    return await run_workflow(inv, effects, http=server.session, secrets=SECRETS, conn=conn, now=NOW)


def rows(db_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT *, t::text AS whole FROM hlb_runtime.workflow_runs t ORDER BY id"
        ).fetchall()


def statuses(result: RunResult) -> list[tuple[str, str, str]]:
    return [(s.id, s.kind, s.status) for s in result.steps]


def assert_no_secret(result: RunResult, db_url: str | None = None) -> None:
    assert SECRET not in repr(result)
    if db_url is not None:
        assert all(SECRET not in row["whole"] for row in rows(db_url))


# --- reference workflows --------------------------------------------------------------------------


def test_reference_deploy_calls_ci_replies_and_posts(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        async with serve() as server, await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            objs = reference_specs(tmp_path, server.base)
            seen_status: list[str] = []

            async def peek() -> None:  # while the http step runs, the row is visible as 'running'
                seen_status.extend(r["status"] for r in rows(db_url))

            server.hook = peek
            effects = Recorder()
            result = await run(invocation(objs, "deploy", service="web"), effects, server, conn)
            assert result.status == "ok", result.error
            assert result.error is None and isinstance(result.run_id, int)
            assert statuses(result) == [("deploy", "http", "ok"), ("2", "reply", "ok"), ("3", "send", "ok")]
            assert seen_status == ["running"]
            (request,) = server.seen
            assert (request["method"], request["path"]) == ("POST", "/api/deploy")
            assert request["headers"]["Authorization"] == f"Bearer {SECRET}"
            assert json.loads(request["body"]) == {"service": "web", "ref": "main", "requested_by": "alice"}
            (_, reply), (_, channel, sent) = effects.calls
            assert reply == Message("Deploy of `web` at `main`: HTTP 200", (), ephemeral=True)
            assert (channel, sent.content) == ("ops", "🚀 alice deployed `web` at `main` (HTTP 200).")
            assert_no_secret(result, db_url)
            (row,) = rows(db_url)
            assert (row["guild"], row["workflow"], row["trigger"]) == ("homelab", "deploy", "command")
            assert (row["user_id"], row["inputs"], row["status"], row["error"]) == (
                ADMIN.id,
                {"service": "web"},
                "ok",
                None,
            )
            assert [(s["id"], s["kind"], s["status"]) for s in row["steps"]] == statuses(result)
            assert all(s["duration_ms"] >= 0 and s["error"] is None for s in row["steps"])
            assert row["finished_at"] >= row["started_at"]

    asyncio.run(main())


def test_reference_oncall_when_guards_pick_the_role_step(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        async with serve() as server, await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            objs = reference_specs(tmp_path, server.base)
            start, stop = Recorder(), Recorder()
            started = await run(invocation(objs, "oncall", action="start"), start, server, conn)
            stopped = await run(invocation(objs, "oncall", action="stop"), stop, server, conn)
            assert [s.status for s in started.steps] == ["ok", "skipped", "ok", "ok"]
            assert [s.status for s in stopped.steps] == ["skipped", "ok", "ok", "ok"]
            assert start.calls[0] == ("add_role", "on-call", ADMIN.id)
            assert stop.calls[0] == ("remove_role", "on-call", ADMIN.id)
            assert start.calls[1][1].content == "You are now on call."
            assert stop.calls[2][2].content == "📟 alice is off call."
            assert [r["steps"][0]["status"] for r in rows(db_url)] == ["ok", "skipped"]
            assert server.seen == []
            # concurrent runs share one autocommit connection, as in the bot
            both = [
                run(invocation(objs, "oncall", action=a), Recorder(), server, conn) for a in ("start", "stop")
            ]
            assert [r.status for r in await asyncio.gather(*both)] == ["ok", "ok"]
            assert [r["status"] for r in rows(db_url)] == ["ok"] * 4

    asyncio.run(main())


def test_reference_restart_service_from_the_select_and_the_command(tmp_path: Path) -> None:
    async def main() -> None:
        async with serve() as server:
            objs = reference_specs(tmp_path, server.base)
            picked = Recorder()
            inv = invocation(objs, "restart-service", trigger="select", values=["sonarr"])
            result = await run(inv, picked, server)
            assert result == RunResult(None, "ok", None, result.steps)
            assert server.seen[0]["path"] == "/api/services/sonarr/restart"
            assert picked.calls[0][1].content == "sonarr is restarting."
            assert picked.calls[1][1:] == ("ops", Message("🔁 alice restarted sonarr."))
            assert picked.calls[2] == ("refresh", "media")
            typed = Recorder()
            await run(invocation(objs, "restart-service", service="plex"), typed, server)
            assert server.seen[1]["path"] == "/api/services/plex/restart"
            assert typed.calls[0][1].content == "plex is restarting."

    asyncio.run(main())


def test_inputs_values_work_as_attribute_and_item(tmp_path: Path) -> None:
    workflows = """\
apiVersion: hlb/v1
kind: Workflow
name: pick
spec:
  inputs: [{name: note, type: string}]
  steps:
    - reply: "{{ inputs.values | join('+') }} {{ inputs['values'] | first }} {{ options.values | length }}"
    - reply: "{{ inputs.items() | list | length }} {{ inputs.note | default('none') }} {{ channel.name }}"
"""

    async def main() -> None:
        async with serve() as server:
            objs = custom_specs(tmp_path, workflows)
            effects = Recorder()
            await run(invocation(objs, "pick", trigger="select", values=["a", "b"]), effects, server)
            assert [c[1].content for c in effects.calls] == ["a+b a 2", "1 none ops"]

    asyncio.run(main())


# --- refusals -------------------------------------------------------------------------------------


def test_allowed_roles_refuse_before_any_step(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        async with serve() as server, await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            objs = reference_specs(tmp_path, server.base)
            effects = Recorder()
            result = await run(invocation(objs, "deploy", GUEST, service="web"), effects, server, conn)
            assert (result.status, result.error, result.steps) == (
                "refused",
                "you are not allowed to run deploy",
                (),
            )
            assert effects.calls == [] and server.seen == []
            (row,) = rows(db_url)
            assert (row["status"], row["error"], row["steps"], row["user_id"]) == (
                "refused",
                "you are not allowed to run deploy",
                [],
                GUEST.id,
            )
            assert row["finished_at"] is not None
            # a schedule (no actor) is allowed
            refresh = invocation(objs, "refresh-status", None, trigger="schedule")
            assert (await run(refresh, Recorder(), server)).status == "ok"

    asyncio.run(main())


def test_role_ids_in_allowed_roles(tmp_path: Path) -> None:
    workflows = """\
apiVersion: hlb/v1
kind: Workflow
name: guarded
spec:
  allowed_roles: ["900"]
  steps: [{reply: ok}]
"""

    async def main() -> None:
        async with serve() as server:
            objs = custom_specs(tmp_path, workflows)
            assert (await run(invocation(objs, "guarded", ADMIN), Recorder(), server)).status == "ok"
            assert (await run(invocation(objs, "guarded", GUEST), Recorder(), server)).status == "refused"

    asyncio.run(main())


def test_inputs_are_checked_and_coerced(tmp_path: Path, db_url: str) -> None:
    workflows = """\
apiVersion: hlb/v1
kind: Workflow
name: typed
spec:
  inputs:
    - {name: count, type: integer, required: true, min_value: 1, max_value: 5}
    - {name: ratio, type: number}
    - {name: loud, type: boolean}
    - {name: who, type: user}
    - {name: size, type: string, choices: [s, m, l]}
  steps:
    - reply: >-
        {{ inputs.count + 1 }} {{ inputs.ratio * 2 }} {{ inputs.loud }}
        {{ inputs.who }} {{ inputs.size }}
"""

    async def main() -> None:
        async with serve() as server, await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            objs = reference_specs(tmp_path, server.base) | custom_specs(tmp_path, workflows)
            effects = Recorder()
            good = invocation(objs, "typed", count="3", ratio="0.25", loud="yes", who="<@!123>", size="m")
            assert (await run(good, effects, server)).status == "ok"
            assert effects.calls[0][1].content == "4 0.5 True 123 m"
            cases = {
                "missing required input 'service' for deploy": invocation(objs, "deploy"),
                "unknown input 'colour' for deploy (it takes: service, ref)": invocation(
                    objs, "deploy", service="web", colour="red"
                ),
                "input 'count' must be an integer, not 'many'": invocation(objs, "typed", count="many"),
                "input 'count' must be at most 5, not 9": invocation(objs, "typed", count=9),
                "input 'size' must be one of s, m, l, not 'xl'": invocation(
                    objs, "typed", count=1, size="xl"
                ),
                "input 'who' must be a Discord id, not 'bob'": invocation(objs, "typed", count=1, who="bob"),
            }
            for message, inv in cases.items():
                refused = Recorder()
                result = await run(inv, refused, server, conn)
                assert (result.status, result.error, result.steps) == ("refused", message, ())
                assert refused.calls == []
            assert server.seen == []
            assert [(r["status"], r["error"]) for r in rows(db_url)] == [("refused", m) for m in cases]

    asyncio.run(main())


# --- failures -------------------------------------------------------------------------------------


def test_failing_http_step_stops_the_run(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        async with serve() as server, await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            objs = reference_specs(tmp_path, server.base)
            server.status["/api/deploy"] = 503
            effects = Recorder()
            result = await run(invocation(objs, "deploy", service="web"), effects, server, conn)
            expected = f"step 'deploy' failed: HTTP 503 from {server.base}/api/deploy"
            assert (result.status, result.error) == ("error", expected)
            assert result.steps == (
                StepResult(
                    "deploy",
                    "http",
                    "error",
                    result.steps[0].duration_ms,
                    f"HTTP 503 from {server.base}/api/deploy",
                ),
            )
            assert effects.calls == []
            (row,) = rows(db_url)
            assert (row["status"], row["error"]) == ("error", expected)
            assert [(s["id"], s["status"], s["error"]) for s in row["steps"]] == [
                ("deploy", "error", f"HTTP 503 from {server.base}/api/deploy")
            ]
            assert_no_secret(result, db_url)

    asyncio.run(main())


UNDEFINED = "UndefinedError: 'dict object' has no attribute "
FAILURES = """\
apiVersion: hlb/v1
kind: Workflow
name: expects
spec:
  steps:
    - id: call
      http: {url: "BASE/created", expect: [201]}
    - reply: never
---
apiVersion: hlb/v1
kind: Workflow
name: slow
spec:
  steps:
    - id: wait
      http: {url: "BASE/slow", timeout: 1s}
---
apiVersion: hlb/v1
kind: Workflow
name: nosecret
spec:
  steps:
    - id: call
      http: {url: "BASE/x", headers: {X-Key: "${secret:MISSING}"}}
---
apiVersion: hlb/v1
kind: Workflow
name: typo
spec:
  steps:
    - send: {channel: ops, content: first}
    - reply: "{{ user.nmae | upper }}"
    - reply: never
---
apiVersion: hlb/v1
kind: Workflow
name: badwhen
spec:
  steps:
    - {id: check, when: "steps.nothing.status > 1", reply: never}
---
apiVersion: hlb/v1
kind: Workflow
name: chain
spec:
  steps:
    - id: call
      http: {method: POST, url: "BASE/api/thing", json: {n: 1}}
    - when: "steps.call.ok and steps.call.json.queued"
      reply:
        content: "{{ steps.call.status }} {{ steps.call.json.id }} {{ steps.call.text | length > 10 }}"
        embeds: [{title: "Run {{ steps.call.json.id }}", color: "#3498db"}]
    - id: never
      when: "false"
      reply: never
    - reply: "{{ steps.never.status }}"
    - send: {channel: ops, content: posted}
"""


def test_step_failures_name_the_step_and_stop(tmp_path: Path) -> None:
    async def main() -> None:
        async with serve() as server:
            objs = custom_specs(tmp_path, FAILURES, server.base)
            cases = {
                "expects": f"step 'call' failed: HTTP 200 from {server.base}/created",
                "nosecret": "step 'call' failed: secret MISSING is not provided: "
                "set HLB_SECRET_MISSING or add the file MISSING to HLB_SECRETS_DIR",
                "typo": f"step 2 (reply) failed: content: {UNDEFINED}'nmae'",
                "badwhen": f"step 'check' failed: when: {UNDEFINED}'nothing'",
            }
            for name, message in cases.items():
                effects = Recorder()
                result = await run(invocation(objs, name), effects, server)
                assert (result.status, result.error) == ("error", message), name
                last = result.steps[-1]
                assert last.status == "error" and last.error is not None and last.error in message
                assert not any(c[0] == "reply" for c in effects.calls), name
            assert [s["path"] for s in server.seen] == ["/created"]  # no request without its secret

    asyncio.run(main())


def test_http_timeout_fails_the_step(tmp_path: Path) -> None:
    async def main() -> None:
        async with serve() as server:
            objs = custom_specs(tmp_path, FAILURES, server.base)
            result = await run(invocation(objs, "slow"), Recorder(), server)
            assert result.error == "step 'wait' failed: timed out after 1s"
            assert 900 < result.steps[0].duration_ms < 1900

    asyncio.run(main())


def test_effects_failure_and_unreachable_host(tmp_path: Path) -> None:
    async def main() -> None:
        async with serve() as server:
            objs = reference_specs(tmp_path, server.base)
            effects = Recorder(fail={"send": "channel ops is not bound yet"})
            result = await run(invocation(objs, "oncall", action="start"), effects, server)
            assert result.error == "step 4 (send) failed: channel ops is not bound yet"
            assert [s.status for s in result.steps] == ["ok", "skipped", "ok", "error"]
            offline = reference_specs(tmp_path / "x", "http://127.0.0.1:9")
            result = await run(invocation(offline, "deploy", service="web"), Recorder(), server)
            assert result.error == "step 'deploy' failed: cannot connect to 127.0.0.1:9"

    asyncio.run(main())


def test_step_results_feed_later_steps(tmp_path: Path) -> None:
    async def main() -> None:
        async with serve() as server:
            objs = custom_specs(tmp_path, FAILURES, server.base)
            effects = Recorder()
            result = await run(invocation(objs, "chain"), effects, server)
            assert result.status == "ok", result.error
            assert statuses(result) == [
                ("call", "http", "ok"),
                ("2", "reply", "ok"),
                ("never", "reply", "skipped"),
                ("4", "reply", "ok"),
                ("5", "send", "ok"),
            ]
            first, second, sent = effects.calls
            assert first[1].content == "200 7 True"
            assert first[1].embeds == ({"title": "Run 7", "color": 0x3498DB},)
            assert second[1].content == "skipped"
            assert sent[1:] == ("ops", Message("posted"))
            assert json.loads(server.seen[0]["body"]) == {"n": 1}

    asyncio.run(main())


def test_a_programming_fault_is_recorded_then_raised(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        async with serve() as server, await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            objs = reference_specs(tmp_path, server.base)
            with pytest.raises(RuntimeError):
                await run(invocation(objs, "deploy", service="web"), Recorder(crash=True), server, conn)
            (row,) = rows(db_url)
            assert (row["status"], row["error"]) == ("error", "internal error (RuntimeError)")
            assert [s["status"] for s in row["steps"]] == ["ok"]

    asyncio.run(main())


# --- secrets --------------------------------------------------------------------------------------

SECRETIVE = """\
apiVersion: hlb/v1
kind: Workflow
name: leaky
spec:
  inputs:
    - {name: note, type: string}
    - {name: password, type: string}
    - {name: pasted, type: string}
  steps:
    - id: call
      http:
        method: POST
        url: "BASE/hook?token=${secret:API}&who={{ user.name }}"
        headers: {Authorization: "Bearer ${secret:API}"}
        json: {key: "${secret:API}", note: "{{ inputs.note }}"}
    - reply: "sent {{ steps.call.status }}"
    - id: fail
      http: {url: "BASE/down?token=${secret:API}&q=1", expect: [200]}
"""


def test_secrets_reach_the_server_only(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        async with serve() as server, await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            objs = custom_specs(tmp_path, SECRETIVE, server.base)
            server.status["/down"] = 503
            effects = Recorder()
            inv = invocation(objs, "leaky", note="${secret:API}", password="hunter2", pasted=f"x{SECRET}x")
            result = await run(inv, effects, server, conn)
            hook, down = server.seen
            assert hook["headers"]["Authorization"] == f"Bearer {SECRET}"
            assert f"token={SECRET}" in hook["url"] and "who=alice" in hook["url"]
            # the spec's reference resolves; the same text typed into an input stays literal
            assert json.loads(hook["body"]) == {"key": SECRET, "note": "${secret:API}"}
            assert SECRET in down["url"]
            assert effects.calls[0][1].content == "sent 200"
            assert result.error == f"step 'fail' failed: HTTP 503 from {server.base}/down?token=***&q=1"
            assert_no_secret(result, db_url)
            (row,) = rows(db_url)
            assert row["inputs"] == {"note": "${secret:API}", "password": "***", "pasted": "***"}

    asyncio.run(main())


# --- template limits ------------------------------------------------------------------------------

BOMBS = "".join(
    f"""\
---
apiVersion: hlb/v1
kind: Workflow
name: {name}
spec:
  inputs: [{{name: n, type: integer}}]
  steps:
    - send: {{channel: ops, content: first}}
    - {step}
    - reply: never
"""
    for name, step in (
        ("bigtext", "reply: \"{{ 'x' * inputs.n }}\""),
        ("lorem", "send: {channel: ops, content: '{{ lipsum(inputs.n) }}'}"),
        ("loops", "reply: {embeds: [{title: '{% for a in range(inputs.n) %}{% for b in range(inputs.n) %}"
         "{% endfor %}{% endfor %}'}]}"),
        ("guard", "{id: check, when: \"('x' * inputs.n) | length > 0\", reply: never}"),
    )
)


@pytest.mark.timeout(60)
def test_a_step_over_a_template_limit_fails_alone_and_is_recorded(tmp_path: Path, db_url: str) -> None:
    expected = {
        ("bigtext", 10**9): "step 2 (reply) failed: content: over the template limit on value size: ",
        ("lorem", 10**6): "step 2 (send) failed: content: over the template limit on lipsum: ",
        ("loops", 10_000): "step 2 (reply) failed: embeds[0].title: over the template limit on loop iter",
        ("guard", 10**9): "step 'check' failed: when: over the template limit on value size: ",
    }

    async def main() -> None:
        async with serve() as server, await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            objs = custom_specs(tmp_path, BOMBS)
            for (name, n), message in expected.items():
                effects = Recorder()
                with bounded(seconds=5, mib=60):
                    result = await run(invocation(objs, name, n=n), effects, server, conn)
                assert result.status == "error" and (result.error or "").startswith(message), result.error
                assert [c[0] for c in effects.calls] == ["send"], name  # the first step ran, nothing after
                assert [s.status for s in result.steps] == ["ok", "error"]
            recorded = rows(db_url)
            assert [(r["workflow"], r["status"]) for r in recorded] == [(n, "error") for n, _ in expected]
            assert all("over the template limit" in r["error"] for r in recorded)

    asyncio.run(main())
