"""Properties over generated spec sets: apply then plan is empty; export then apply plans nothing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from hlb.cli_common import write_export
from hlb.compiler.compile import compile_paths
from hlb.store.apply import apply_model, plan_against, stored_model

NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
TRICKY = st.sampled_from(
    ["no", "yes", "on", "off", "null", "~", "1.0", "0o17", "2020-01-01", "#hash", "a: b", "- x"]
)
TEXT = st.one_of(
    TRICKY,
    st.text(
        st.characters(codec="utf-8", exclude_characters="${}%#\x00", exclude_categories=("Cs", "Cc")),
        max_size=40,
    ),
)
PERMS = st.lists(
    st.sampled_from(["view_channel", "send_messages", "manage_messages", "attach_files", "add_reactions"]),
    unique=True,
    max_size=3,
)


@st.composite
def spec_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "hlb/v1", "kind": "Guild", "name": "g", "spec": {"id": "123456789012345678"}}
    ]
    categories = draw(st.lists(NAMES, unique=True, max_size=3))
    channels = draw(
        st.lists(NAMES.filter(lambda n: n not in categories), unique=True, min_size=1, max_size=6)
    )
    for name in categories:
        docs.append({"apiVersion": "hlb/v1", "kind": "Channel", "name": name, "spec": {"type": "category"}})
    for name in channels:
        spec: dict[str, Any] = {}
        if categories and draw(st.booleans()):
            spec["category"] = draw(st.sampled_from(categories))
        if draw(st.booleans()):
            topic = draw(TEXT).strip()
            if topic:
                spec["topic"] = topic
        if draw(st.booleans()):
            spec["slowmode"] = draw(st.integers(0, 21600))
        if draw(st.booleans()):
            spec["position"] = draw(st.integers(0, 50))
        if draw(st.booleans()):
            spec["permissions"] = [
                {"role": "@everyone", "deny": draw(PERMS)},
                {"role": "admins", "allow": draw(PERMS)},
            ]
        doc: dict[str, Any] = {"apiVersion": "hlb/v1", "kind": "Channel", "name": name, "spec": spec}
        if draw(st.booleans()):
            doc["labels"] = {"team": draw(TRICKY)}
        docs.append(doc)
    for name in draw(st.lists(NAMES, unique=True, max_size=3)):
        docs.append(
            {
                "apiVersion": "hlb/v1",
                "kind": "Command",
                "name": name,
                "spec": {"description": draw(TEXT).strip() or "does things", "reply": "pong"},
            }
        )
    return docs


def write(docs: list[dict[str, Any]], path: Path) -> None:
    buf = io.StringIO()
    YAML().dump_all(docs, buf)
    path.write_text(buf.getvalue(), encoding="utf-8")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=spec_sets())
def test_apply_then_plan_is_empty_and_export_round_trips(
    db_url: str, tmp_path_factory: Any, docs: Any
) -> None:
    work = tmp_path_factory.mktemp("prop")
    write(docs, work / "specs.yaml")
    result = compile_paths([str(work / "specs.yaml")], env={})
    assert result.ok, "\n".join(d.format_text() for d in result.diagnostics)
    assert result.model is not None
    apply_model(db_url, result.model, author="prop", echo=lambda _: None)
    assert not plan_against(db_url, result.model).has_changes

    revision, stored = stored_model(db_url)
    write_export(stored, work / "export", revision)
    again = compile_paths([str(work / "export")], env={})
    assert again.ok, "\n".join(d.format_text() for d in again.diagnostics)
    assert again.model is not None
    assert not plan_against(db_url, again.model).has_changes
