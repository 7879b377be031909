"""The compiler serializes each document once: the checks fed its JSON answer as without it."""

from __future__ import annotations

from typing import Any

import pytest

from hlb.compiler.interpolate import interpolate, json_of
from hlb.compiler.secret_places import misplaced_secrets
from hlb.compiler.text import text_problems

DOCUMENTS: list[dict[str, Any]] = [
    {"kind": "Channel", "name": "plain", "spec": {"topic": "all ascii", "permissions": [{"allow": ["a"]}]}},
    {"kind": "Channel", "name": "nul", "spec": {"topic": "a\x00b"}},
    {"kind": "Channel", "name": "nul-key", "spec": {"ke\x00y": 1}},
    {"kind": "Channel", "name": "bidi", "spec": {"display_name": "ab\u202ecd"}},
    {"kind": "Channel", "name": "zwj", "spec": {"display_name": "x\u200by"}},
    {"kind": "Channel", "name": "mixed", "spec": {"display_name": "p\u0430ypal"}},
    {
        "kind": "Command",
        "name": "c",
        "spec": {"description": "d\u200be", "options": [{"choices": ["\u202ex"]}]},
    },
    {"kind": "Channel", "name": "accents", "spec": {"display_name": "caf\u00e9 \u2014 ok"}},
    {"kind": "Channel", "name": "escaped", "spec": {"topic": "a literal \\u0000 is no NUL"}},
    {"kind": "Workflow", "name": "w", "spec": {"steps": [{"reply": "${secret:API_TOKEN}"}]}},
    {"kind": "Workflow", "name": "v", "spec": {"steps": [{"reply": "${HOME} and $${X}"}]}},
]


@pytest.mark.parametrize("data", DOCUMENTS, ids=[d["name"] for d in DOCUMENTS])
def test_checks_fed_the_json_answer_as_without_it(data: dict[str, Any]) -> None:
    raw = json_of(data)
    assert raw is not None
    assert text_problems(data, raw) == text_problems(data)
    assert misplaced_secrets(data, raw) == misplaced_secrets(data)
    assert interpolate(data, {"HOME": "/h"}, raw) == interpolate(data, {"HOME": "/h"})


def test_the_checks_still_find_what_they_find() -> None:
    by_name = {d["name"]: d for d in DOCUMENTS}
    codes = {name: [p[1] for p in text_problems(d, json_of(d))] for name, d in by_name.items()}
    assert codes["nul"] == ["E114"] and codes["nul-key"] == ["E114"]
    assert codes["bidi"] == ["E411"] and codes["zwj"] == ["E411"] and codes["mixed"] == ["E412"]
    assert codes["c"] == ["E411", "E411"]
    assert codes["plain"] == codes["accents"] == codes["escaped"] == []
    assert [p[1] for p in misplaced_secrets(by_name["w"], json_of(by_name["w"]))] == ["E507"]


def test_data_json_cannot_hold_has_no_json() -> None:
    assert json_of({1: {2}}) is None
