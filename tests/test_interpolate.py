"""Interpolation of ${VAR} at compile time; ${secret:NAME} kept for the bot; $${ escapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hlb.compiler.diagnostics import CODES, Diagnostic
from hlb.compiler.interpolate import OWN_CREDENTIALS, interpolate, is_credential
from hlb.compiler.loader import load_fast
from hlb.compiler.positions import resolve
from hlb.compiler.secret_places import misplaced_secrets
from hlb.compiler.sources import SourceFile, read_source

ENV = {"HLB_GUILD_ID": "123456789012345678", "EMPTY": "", "HOST": "nas"}


def one(text: str, env: dict[str, str] | None = None) -> tuple[Any, list[tuple[Any, str, str]]]:
    out, problems = interpolate({"v": text}, ENV if env is None else env)
    return out["v"], problems


@pytest.mark.parametrize(
    ("given_text", "expected"),
    [
        ("${HLB_GUILD_ID}", "123456789012345678"),
        ("id-${HLB_GUILD_ID}-x", "id-123456789012345678-x"),
        ("${HOST}/${HOST}", "nas/nas"),
        ("${UNSET:-fallback}", "fallback"),
        ("${UNSET:-}", ""),
        ("${UNSET:-a:-b c}", "a:-b c"),
        ("${HOST:-other}", "nas"),
        ("${EMPTY:-default}", ""),  # set but empty counts as set
        ("Bearer ${secret:PROM_TOKEN}", "Bearer ${secret:PROM_TOKEN}"),
        ("$${HOST}", "${HOST}"),
        ("$${secret:X} and ${HOST}", "${secret:X} and nas"),
        ("$$${HOST}", "$${HOST}"),
        ("costs $5 or $", "costs $5 or $"),
        ("${HOST}}", "nas}"),
        ("{{ user.name }} ${HOST}", "{{ user.name }} nas"),
        ("no dollars at all", "no dollars at all"),
    ],
)
def test_replacements(given_text: str, expected: str) -> None:
    assert one(given_text) == (expected, [])


def test_unset_variable_is_e502_with_the_fix_in_the_message() -> None:
    value, problems = one("${HLB_X}")
    assert value == "${HLB_X}"
    assert problems == [
        (
            ("v",),
            "E502",
            "environment variable HLB_X is not set; export it or give a default: ${HLB_X:-value}",
        )
    ]


@pytest.mark.parametrize(
    ("given_text", "fragment"),
    [
        ("${HOST", "unclosed"),
        ("a ${", "unclosed"),
        ("${}", "invalid variable name"),
        ("${1ABC}", "invalid variable name"),
        ("${HOST NAME}", "invalid variable name"),
        ("${ HOST }", "invalid variable name"),
        ("${-x}", "invalid variable name"),
        ("${secret:}", "secret name"),
        ("${secret:BAD NAME}", "secret name"),
        ("${secret:lower}", "upper-case"),
        ("${secret:_X}", "upper-case"),
        ("${secret:9X}", "upper-case"),
        ("${secret:../X}", "upper-case"),
        ("${A:-${B}}", "nested"),
    ],
)
def test_malformed_is_e503_and_leaves_the_text(given_text: str, fragment: str) -> None:
    value, problems = one(given_text)
    assert value == given_text
    assert [(p[0], p[1]) for p in problems] == [(("v",), "E503")]
    assert fragment in problems[0][2]
    assert "E503" in CODES


def test_keys_are_not_interpolated_and_paths_point_at_values() -> None:
    data = {"${HOST}": "x", "spec": {"steps": [{"url": "${NOPE}"}, "ok", 3, None, ["${HOST}", "${NOPE2}"]]}}
    out, problems = interpolate(data, ENV)
    assert out == {
        "${HOST}": "x",
        "spec": {"steps": [{"url": "${NOPE}"}, "ok", 3, None, ["nas", "${NOPE2}"]]},
    }
    assert [(p[0], p[1]) for p in problems] == [
        (("spec", "steps", 0, "url"), "E502"),
        (("spec", "steps", 4, 1), "E502"),
    ]


def test_unchanged_data_is_returned_as_is_and_input_is_never_mutated() -> None:
    data = {"a": ["x", {"b": "Bearer ${secret:T}"}], "n": 1, "f": 1.5, "t": True}
    out, problems = interpolate(data, ENV)
    assert out is data and problems == []
    changing = {"keep": {"k": "v"}, "change": {"url": "${HOST}"}}
    out, _ = interpolate(changing, ENV)
    assert changing["change"] == {"url": "${HOST}"}
    assert out["change"] == {"url": "nas"} and out["keep"] is changing["keep"]


def test_env_values_are_not_scanned_again() -> None:
    assert one("${A}", {"A": "${B}"}) == ("${B}", [])


@given(st.text(alphabet="${}:-secrtHOS_ab", max_size=30))
def test_escaping_every_dollar_brace_gives_the_text_back(text: str) -> None:
    escaped = text.replace("${", "$${")
    assert one(escaped, {}) == (text, [])


@given(st.text(max_size=40))
def test_interpolate_never_raises(text: str) -> None:
    value, problems = one(text)
    assert isinstance(value, str)
    assert all(code in ("E502", "E503", "E506") for _, code, _ in problems)


def test_problems_resolve_to_the_line_of_the_value(tmp_path: Path) -> None:
    path = tmp_path / "guild.yaml"
    path.write_text('kind: Guild\nname: home\nspec:\n  id: "${HLB_MISSING}"\n', encoding="utf-8")
    src = read_source(path)
    assert isinstance(src, SourceFile)
    documents, _ = load_fast(src)
    _, problems = interpolate(documents[0].data, {})
    diags = [Diagnostic(src.path, code=code, message=msg, doc=0, path=p) for p, code, msg in problems]
    [placed] = resolve(diags, {src.path: src})
    assert (placed.code, placed.line, placed.col) == ("E502", 4, 3)


class Guarded(dict[str, str]):
    """An environment that fails the test when a credential is looked up."""

    def __contains__(self, name: object) -> bool:
        assert isinstance(name, str) and not is_credential(name), f"{name} was read"
        return super().__contains__(name)

    def __getitem__(self, name: str) -> str:
        assert not is_credential(name), f"{name} was read"
        return super().__getitem__(name)


@pytest.mark.parametrize(
    "name",
    [
        "DATABASE_URL",
        "HLB_DATABASE_URL",
        "DISCORD_TOKEN",
        "HLB_SECRET_X",
        "HLB_SECRETS_DIR",
        "GH_TOKEN",
        "db_password",
        "SMTP_PASSWD",
        "JWT_SECRET",
        "GRAFANA_API_KEY",
        "SSH_PRIVATE_KEY",
        "GOOGLE_CREDENTIALS",
    ],
)
def test_credentials_are_e506_and_never_read(name: str) -> None:
    env = Guarded({name: "the-credential-value", "HOST": "nas"})
    for text in (f"${{{name}}}", f"x ${{{name}:-fallback}} ${{HOST}}"):
        value, problems = one(text, env)
        assert "the-credential-value" not in value and not value.startswith("x fallback")
        assert [(p[0], p[1]) for p in problems] == [(("v",), "E506")]
        assert "${secret:" in problems[0][2] and "HLB_SECRET_" in problems[0][2]
        # never suggests a reference that is itself refused (hlb's own credentials are E506 as secrets too)
        assert f"${{secret:{name.upper()}}}" not in problems[0][2] or name.upper() not in OWN_CREDENTIALS


@pytest.mark.parametrize("name", ["HLB_GUILD_ID", "GRAFANA_URL", "HOST", "KEYCLOAK_URL"])
def test_ordinary_names_are_not_credentials(name: str) -> None:
    assert not is_credential(name)


def test_secret_places_allow_only_request_text() -> None:
    workflow = {
        "kind": "Workflow",
        "spec": {
            "steps": [
                {"http": {"url": "u${secret:A}", "headers": {"H": "${secret:A}"}, "json": "${secret:A}"}},
                {"http": {"url": "u", "json": {"k": ["${secret:A}"]}, "method": "${secret:A}"}},
                {"reply": "${secret:A}"},
            ]
        },
    }
    assert [(p[0], p[1]) for p in misplaced_secrets(workflow)] == [
        (("spec", "steps", 2, "reply"), "E507"),
        (("spec", "steps", 1, "http", "method"), "E507"),
    ]
    dashboard = {"kind": "Dashboard", "spec": {"sources": {"s": {"http": {"url": "${secret:A}"}}}}}
    assert misplaced_secrets(dashboard) == []
    assert [p[0] for p in misplaced_secrets({**dashboard, "kind": "Command"})] == [
        ("spec", "sources", "s", "http", "url")
    ]
    assert misplaced_secrets({"kind": "Workflow", "spec": {"steps": [{"reply": "no refs"}]}}) == []


@pytest.mark.parametrize("name", ["DISCORD_TOKEN", "DATABASE_URL", "HLB_DATABASE_URL"])
def test_a_secret_named_like_hlbs_own_credential_is_e506(name: str) -> None:
    data = {"h": f"Bot ${{secret:{name}}}", "ok": "${secret:API_TOKEN}"}
    out, problems = interpolate(data, {name: "the-credential-value"})
    assert out == data
    assert [(p[0], p[1]) for p in problems] == [(("h",), "E506")]
    assert "HLB_SECRET_API_TOKEN" in problems[0][2]
