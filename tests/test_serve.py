"""`hlb serve`: every page and API route over real data, the JSON against the published schemas,
read only, the token, and a database that does not answer.

The data is written the way hlb writes it (``serve_world``): applies, reconcile passes against
the emulator, workflow runs through the engine. The app runs in-process (aiohttp's test server)
or as the real `hlb serve` process.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cli_inprocess
import jsonschema
import psycopg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from database_pool import DatabasePool
from serve_world import GIT_SHA, MESSAGE, Built, build
from test_db import free_port
from test_workflows import SECRET

from hlb.serve.app import ROUTES, URL, make_app
from hlb.serve.config import ServeConfig

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "api"
TOKEN = "t0ken-" + "x" * 30
PAGES = {  # page -> the schema of its API twin
    "revisions": "revisions",
    "revisions/{rev}": "revision",
    "objects/homelab/Channel/logs": "object",
    "guilds": "guilds",
    "guilds/homelab": "guild",
    "runs": "runs",
    "runs?workflow=deploy&outcome=error": "runs",
    "replicas": "replicas",
}


@pytest.fixture(scope="module")
def world(
    database_pool: DatabasePool, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Built]]:
    with database_pool.lease() as url:
        yield url, build(url, tmp_path_factory.mktemp("serve"))


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


async def fetch(
    config: ServeConfig, *requests: tuple[str, str], **headers: str
) -> list[tuple[int, str, Any]]:
    """(status, text, headers) of each (method, path) against the app in-process."""
    out = []
    async with TestClient(TestServer(make_app(config))) as client:
        for method, path in requests:
            response = await client.request(method, path, headers=headers, allow_redirects=False)
            out.append((response.status, await response.text(), response.headers))
    return out


def get(config: ServeConfig, *paths: str, **headers: str) -> list[tuple[int, str, Any]]:
    return asyncio.run(fetch(config, *(("GET", p) for p in paths), **headers))


def test_every_page_and_api_route_answers_and_the_json_matches_its_schema(world: tuple[str, Built]) -> None:
    url, built = world
    paths = [p.format(rev=built.revision) for p in PAGES]
    config = ServeConfig(url)
    api = get(config, *(f"/api/v1/{p}" for p in paths))
    for path, name, (status, text, _headers) in zip(paths, PAGES.values(), api, strict=True):
        assert status == 200, (path, text)
        jsonschema.validate(json.loads(text), schema(name))
    pages = get(config, "/", *(f"/{p}" for p in paths), "/previews/", "/previews/server-status.html")
    for (status, text, headers), path in zip(pages, ["/", *paths, "previews"], strict=False):
        assert status == 200 and headers["Content-Type"].startswith("text/html"), (path, text)
        assert SECRET not in text
    assert {route.schema for route in ROUTES} == set(PAGES.values()), "a route without a test or schema"
    for name in {*PAGES.values(), "error"}:
        jsonschema.Draft202012Validator.check_schema(schema(name))


def test_the_pages_say_what_the_database_holds(world: tuple[str, Built]) -> None:
    url, built = world
    config = ServeConfig(url)
    paths = ["revisions", f"revisions/{built.revision}", "guilds/homelab", "runs", "runs?outcome=error"]
    answers = get(config, *(f"/api/v1/{p}" for p in paths), "/")
    history, revision, guild, runs, failed = (json.loads(text) for _status, text, _headers in answers[:-1])
    home = answers[-1][1]
    last = history["revisions"][0]
    assert (last["id"], last["git_sha"], last["message"], last["author"]) == (
        built.revision,
        GIT_SHA,
        MESSAGE,
        "ops-tester",
    )
    assert "~ spec.topic: " in revision["plan"] and "Quieter machine output" in revision["plan"]
    (change,) = revision["changes"]
    assert (change["name"], change["action"]) == ("logs", "update")
    assert change["permissions"] == ["role admins gains add_reactions in #📜-logs"]
    logs = next(o for o in guild["objects"] if o["name"] == "logs")
    assert logs["discord"] == "drifted" and "topic does not stick" in logs["error"]
    assert logs["last_action"]["fields"] == ["topic"]
    assert [r["status"] for r in runs["runs"]] == ["error", "ok"]  # newest first
    assert [r["error"] for r in failed["runs"]] == [built.failed_run_error]
    assert failed["runs"][0]["steps"][0]["status"] == "error"
    assert "No bot is running" in home


def test_every_session_is_read_only(world: tuple[str, Built]) -> None:
    url, _built = world
    session = make_app(ServeConfig(url))[URL]  # what every page and API route connects with
    with psycopg.connect(session) as conn:
        assert conn.execute("SELECT current_setting('application_name')").fetchone() == ("hlb-serve",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM hlb_config.revisions")
    with (
        psycopg.connect(session, autocommit=True) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("DELETE FROM hlb_runtime.workflow_runs")


def test_writes_get_405_and_a_token_is_needed_on_every_request(world: tuple[str, Built]) -> None:
    url, _built = world
    config = ServeConfig(url, TOKEN)
    writes = [(m, p) for m in ("POST", "PUT", "DELETE", "PATCH") for p in ("/", "/api/v1/revisions", "/runs")]
    for status, _text, headers in asyncio.run(fetch(config, *writes, Authorization=f"Bearer {TOKEN}")):
        assert status == 405 and headers["Allow"] == "GET,HEAD"
    for status, text, _headers in get(config, "/", "/api/v1/revisions", "/events", "/previews/"):
        assert status == 401 and TOKEN not in text
    for status, _text, _headers in get(config, "/", "/api/v1/revisions", Authorization="Bearer wrong"):
        assert status == 401
    (ok,) = get(config, "/api/v1/revisions", Authorization=f"Bearer {TOKEN}")
    assert ok[0] == 200
    ((status, _text, headers),) = get(config, f"/runs?token={TOKEN}&outcome=error")
    assert status == 303 and headers["Location"] == "/runs?outcome=error"
    assert f"hlb_serve_token={TOKEN}" in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]
    ((status, text, _headers),) = get(config, "/runs", Cookie=f"hlb_serve_token={TOKEN}")
    assert status == 200 and TOKEN not in text


def test_an_unreachable_database_gives_a_clear_page_and_json_error() -> None:
    url = f"postgresql://hlb:pa55word@127.0.0.1:{free_port()}/nothing"
    (page, api) = get(ServeConfig(url), "/guilds", "/api/v1/revisions")
    assert page[0] == 503 and "Database unavailable" in page[1] and "cannot connect to Postgres" in page[1]
    assert "Traceback" not in page[1] and "pa55word" not in page[1] + api[1]
    assert api[0] == 503
    jsonschema.validate(json.loads(api[1]), schema("error"))


def hlb(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``hlb ARGS`` in this process: refused options exit before anything is served."""
    return cli_inprocess.hlb(env, Path.cwd(), *args)


def test_a_network_address_without_a_token_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://localhost/none"}
    env.pop("HLB_SERVE_TOKEN", None)
    done = hlb("serve", "--addr", "0.0.0.0:8080", env=env)
    assert done.returncode == 2 and "give a token with HLB_SERVE_TOKEN" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    done = hlb("serve", "--addr", "nonsense", env=env)
    assert done.returncode == 2 and "is not HOST:PORT" in done.stderr
    done = hlb("serve", "--addr", "127.0.0.1:0", "--token", " ", env=env)
    assert done.returncode == 2 and "the token is empty" in done.stderr


def test_without_aiohttp_serve_says_which_extra_to_install(db_url: str) -> None:
    hide = "import sys; sys.modules['aiohttp'] = None; from hlb.cli import main; main()"
    env = {**os.environ, "DATABASE_URL": db_url}
    done = subprocess.run([sys.executable, "-c", hide, "serve"], env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "E702 `hlb serve` needs aiohttp: pip install 'hlb[serve]'" in done.stderr


@pytest.fixture(scope="module")
def served(world: tuple[str, Built], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`hlb serve` as a process on a free port with a token: its base URL and its log file."""
    url, _built = world
    port = free_port()
    log = tmp_path_factory.mktemp("served") / "serve.log"
    env = {**os.environ, "DATABASE_URL": url, "HLB_SERVE_TOKEN": TOKEN}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hlb.cli", "serve", "--addr", f"127.0.0.1:{port}"],
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        for _ in range(200):
            if "serving read-only status pages on" in log.read_text():
                break
            assert process.poll() is None, log.read_text()
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0, log.read_text()


def logged(log: Path, line: str) -> str:
    for _ in range(100):
        text = log.read_text()
        if line in text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{line!r} not in the log:\n{text}")


def test_the_served_process_answers_and_never_logs_the_token(served: tuple[str, Path]) -> None:
    import urllib.error
    import urllib.request

    base, log = served
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}/api/v1/guilds", timeout=10)
    assert refused.value.code == 401
    request = urllib.request.Request(f"{base}/api/v1/guilds", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        jsonschema.validate(json.loads(answer.read()), schema("guilds"))
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())  # keeps the cookie
    assert "Guilds" in browser.open(f"{base}/?token={TOKEN}", timeout=10).read().decode()
    text = logged(log, "GET / 200")  # the access log line is written once the answer is sent
    assert re.search(r"GET /api/v1/guilds 200", text), text
    assert TOKEN not in text


def chromium() -> str:
    from hlb.preview import find_chromium

    found = find_chromium()
    if found is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): the status pages are not driven")
    return found


def test_the_pages_in_headless_chromium(served: tuple[str, Path], world: tuple[str, Built]) -> None:
    from playwright.sync_api import sync_playwright

    binary = chromium()
    base, log = served
    _url, built = world
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            assert page.goto(f"{base}/revisions") is not None
            assert "Token required" in page.content()  # no cookie yet
            page.goto(f"{base}/revisions?token={TOKEN}")  # sets the cookie, then drops the token from the URL
            assert page.url == f"{base}/revisions"
            first = page.locator("table.revisions tr").nth(1)
            for shown in (str(built.revision), GIT_SHA[:7], MESSAGE, "ops-tester", "+0 ~1 -0"):
                assert shown in first.inner_text(), first.inner_text()
            first.get_by_role("link", name=str(built.revision)).click()
            assert "role admins gains add_reactions in #📜-logs" in page.locator("table.changes").inner_text()
            page.get_by_role("link", name="Channel logs").click()
            assert page.url.endswith("/objects/homelab/Channel/logs")
            assert "updated" in page.locator("table").inner_text()

            page.goto(f"{base}/guilds/homelab")
            logs = page.locator("tr#Channel-logs")
            assert logs.locator("td.drifted").inner_text() == "drifted"
            assert logs.locator("td.fields").inner_text().strip() == "topic"
            assert "topic does not stick" in logs.inner_text()

            page.goto(f"{base}/runs")
            page.select_option("select[name=outcome]", "error")
            page.get_by_role("button", name="Filter").click()
            assert page.url.endswith("/runs?workflow=&outcome=error")
            rows = page.locator("table.runs tr")
            assert rows.count() == 2  # the header and the failed run
            assert rows.nth(1).locator("td.run-error").inner_text() == built.failed_run_error
            assert "deploy (http): error" in rows.nth(1).inner_text()
            assert TOKEN not in page.content()
        finally:
            browser.close()
    assert TOKEN not in log.read_text()


def test_an_apply_reaches_open_pages_as_a_server_sent_event(db_url: str) -> None:
    from hlb.compiler.compile import compile_paths
    from hlb.store.apply import apply_model

    model = compile_paths([str(ROOT / "specs")], {"HLB_GUILD_ID": "100000000000000001"}).model
    assert model is not None

    async def main() -> str:
        async with TestClient(TestServer(make_app(ServeConfig(db_url)))) as client:
            response = await client.get("/events")
            assert response.headers["Content-Type"] == "text/event-stream"
            assert await response.content.readline() == b": listening\n"
            await asyncio.to_thread(apply_model, db_url, model, author="t", echo=lambda _line: None)
            lines: list[str] = []
            while not lines or not lines[-1].startswith("data:"):
                line = (await asyncio.wait_for(response.content.readline(), 10)).decode().strip()
                lines += [line] if line else []
            return "\n".join(lines)

    assert asyncio.run(main()) == "event: applied\ndata: 1"


def test_unknown_names_are_404_with_a_reason(world: tuple[str, Built]) -> None:
    url, _built = world
    paths = ["/api/v1/revisions/999", "/api/v1/guilds/nowhere", "/api/v1/objects/homelab/Channel/nothing"]
    paths += ["/api/v1/objects/homelab/Widget/logs", "/revisions/999", "/previews/nothing.html"]
    answers = get(ServeConfig(url), *paths)
    for path, (status, text, _headers) in zip(paths, answers, strict=True):
        assert status == 404, (path, text)
        if path.startswith("/api/"):
            jsonschema.validate(json.loads(text), schema("error"))
    assert "revision 999 does not exist" in answers[0][1] and "'Widget' is not a kind" in answers[3][1]


def test_the_bot_page_shows_which_replica_leads_and_when_none_runs(db_url: str, tmp_path: Path) -> None:
    from reconcile_world import World, run_world
    from test_bot import FAST, eventually

    from hlb.bot.runner import Runner

    async def replicas(client: TestClient) -> dict[str, Any]:
        response = await client.get("/api/v1/replicas")
        body = await response.json()
        jsonschema.validate(body, schema("replicas"))
        return dict(body)

    async def scenario(w: World) -> None:
        w.apply()
        settings = w.settings()
        bots = [Runner(settings, w.url, FAST) for _ in range(2)]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(bot.run(stop)) for bot in bots]
        async with TestClient(TestServer(make_app(ServeConfig(w.url)))) as client:
            await eventually(lambda: any(bot.ready.is_set() for bot in bots))  # the leader made a pass
            for _ in range(100):  # the standby's election session may still be opening
                if len((seen := await replicas(client))["replicas"]) == 2:
                    break
                await asyncio.sleep(0.05)
            assert seen["running"] and len(seen["replicas"]) == 2
            assert sorted(r["leader"] for r in seen["replicas"]) == [False, True]
            assert all(r["last_heartbeat"] for r in seen["replicas"])
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 15)  # a bot that does not stop fails here
            for _ in range(100):
                if not (seen := await replicas(client))["running"]:
                    break
                await asyncio.sleep(0.05)
            assert seen["replicas"] == [] and [p["guild"] for p in seen["last_passes"]] == ["homelab"]
            page = await (await client.get("/replicas")).text()
            assert "No bot is running" in page

    run_world(db_url, tmp_path, scenario)
