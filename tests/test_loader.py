"""Loading spec files: documents and their lines, every bad input as a positioned diagnostic."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hlb.compiler import roundtrip
from hlb.compiler.diagnostics import Diagnostic
from hlb.compiler.loader import Document, load_fast
from hlb.compiler.positions import locate, resolve
from hlb.compiler.roundtrip import load_roundtrip
from hlb.compiler.sources import SourceFile, read_source

CHANNEL = """\
# the status channel
apiVersion: hlb/v1
kind: Channel
name: status
spec:
  type: text
  topic: Live homelab status
  permissions:
    - role: "@everyone"
      deny: [send_messages]
    - role: admins
      allow: [send_messages, manage_messages]
"""


def source(tmp_path: Path, text: str, name: str = "spec.yaml") -> SourceFile:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    src = read_source(path)
    assert isinstance(src, SourceFile), src
    return src


def load_both(src: SourceFile) -> tuple[list[Document], list[Diagnostic]]:
    """``load_fast``, checked to agree with the reference path."""
    fast = load_fast(src)
    assert fast == load_roundtrip(src)
    return fast


def codes(diags: list[Diagnostic]) -> list[tuple[str, int]]:
    return [(d.code, d.line) for d in diags]


def test_valid_specs_never_need_the_reference_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = source(tmp_path, f"{CHANNEL}---\n{CHANNEL.replace('status', 'alerts')}")

    def refuse(_: SourceFile) -> None:
        raise AssertionError("fell back to the reference path")

    monkeypatch.setattr(roundtrip, "load_roundtrip", refuse)
    documents, diags = load_fast(src)
    assert diags == []
    assert [(d.index, d.line, d.data["name"]) for d in documents] == [(0, 2, "status"), (1, 15, "alerts")]
    assert documents[0].data["spec"]["permissions"][1] == {
        "role": "admins",
        "allow": ["send_messages", "manage_messages"],
    }


def test_documents_count_empty_ones_and_start_at_their_first_key(tmp_path: Path) -> None:
    text = "# header\n---\n---\n# comment\n\na: 1\n---   # trailing comment\n  \nb: 2\n--- ~\n---\nc: 3\n"
    documents, diags = load_both(source(tmp_path, text))
    assert diags == []
    assert [(d.index, d.line, d.data) for d in documents] == [
        (1, 6, {"a": 1}),
        (2, 9, {"b": 2}),
        (4, 12, {"c": 3}),
    ]
    assert all(d.file == "spec.yaml" or d.file.endswith("/spec.yaml") for d in documents)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: a\n  bad: [1, 2\n", [("E106", 2)]),
        ("a: 1\nb: c: d\n", [("E106", 2)]),
        ("a: {x: 1\nb: 2\n", [("E106", 2)]),
        ("spec:\n  a: 1\n\tb: 2\n", [("E107", 3)]),
        ("spec:\n\ttype: text\n", [("E107", 2)]),
        ("kind: Channel\nname: a\nname: b\n", [("E108", 3)]),
        ("spec:\n  topic: x\n  nsfw: false\n  topic: y\n", [("E108", 4)]),
        ("", [("E105", 1)]),
        ("# only a comment\n\n   # and another\n", [("E105", 1)]),
        ("---\n---\n", [("E105", 1)]),
        ("- a\n- b\n", [("E110", 1)]),
        ("a: 1\n---\n# list\n- a\n", [("E110", 4)]),
        ("just a string\n", [("E110", 1)]),
        ("---\n42\n", [("E110", 2)]),
        ("a: !custom x\n", [("E112", 1)]),
        ("a: 1\nb: !!python/object:os.system echo\n", [("E112", 2)]),
        ("a: !!binary aGVsbG8=\n", [("E112", 1)]),
        ("!!set {a: null}\n", [("E112", 1)]),
        ("a: !!int x\n", [("E204", 1)]),
        ("1: x\nname: y\n", [("E204", 1)]),
        ("a: 1\n? [x, y]\n: 2\n", [("E204", 2)]),
        ("a: *missing\n", [("E106", 1)]),
        ("a: 1\nposition: 99999999999999999999999\n", [("E408", 2)]),
        ("a: \x07\n", [("E106", 1)]),
        ("a: " + "[" * 150 + "]" * 150 + "\n", [("E106", 1)]),
    ],
)
def test_bad_yaml_is_a_positioned_diagnostic(
    tmp_path: Path, text: str, expected: list[tuple[str, int]]
) -> None:
    _, diags = load_both(source(tmp_path, text))
    assert codes(diags) == expected
    assert all(d.file.endswith("spec.yaml") and d.col >= 1 and d.message for d in diags)


def test_duplicate_key_message_names_the_key_and_the_first_line(tmp_path: Path) -> None:
    documents, diags = load_both(source(tmp_path, "kind: Channel\nname: a\nname: b\n"))
    assert "'name'" in diags[0].message and "line 2" in diags[0].message
    assert documents[0].data["name"] == "a"  # the first value is kept so other checks still run


def test_tab_message_says_to_indent_with_spaces(tmp_path: Path) -> None:
    _, diags = load_both(source(tmp_path, "spec:\n\ttype: text\n"))
    assert "spaces" in diags[0].message and "tab" in diags[0].message


def test_syntax_error_keeps_the_documents_before_it(tmp_path: Path) -> None:
    documents, diags = load_both(source(tmp_path, "a: 1\n---\nb: 2\n---\nc: [\n"))
    assert [d.data for d in documents] == [{"a": 1}, {"b": 2}]
    assert [d.code for d in diags] == ["E106"]


def test_list_and_scalar_documents_beside_good_ones(tmp_path: Path) -> None:
    documents, diags = load_both(source(tmp_path, "a: 1\n---\n- x\n---\nplain\n---\nb: 2\n"))
    assert [d.index for d in documents] == [0, 3]
    assert codes(diags) == [("E110", 3), ("E110", 5)]
    assert "document 2 is a list" in diags[0].message


def billion_laughs() -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("loader", [load_fast, load_roundtrip])
def test_alias_bomb_stops_fast_with_e109(tmp_path: Path, loader: object) -> None:
    src = source(tmp_path, billion_laughs())
    roundtrip.parse_roundtrip.cache_clear()
    start = time.thread_time()  # the CPU of this thread, which loads: a busy machine changes nothing
    documents, diags = loader(src)  # type: ignore[operator]
    assert time.thread_time() - start < 1.0
    assert documents == []
    assert codes(diags) == [("E109", 6)]
    assert "*a4" in diags[0].message


def test_aliases_within_the_budget_are_expanded_as_copies(tmp_path: Path) -> None:
    documents, diags = load_both(source(tmp_path, "base: &b {x: 1}\none: *b\ntwo: *b\n"))
    assert diags == []
    data = documents[0].data
    assert data == {"base": {"x": 1}, "one": {"x": 1}, "two": {"x": 1}}
    assert data["one"] is not data["two"]


def test_merge_key_is_an_ordinary_key_in_yaml_12(tmp_path: Path) -> None:
    documents, _ = load_both(source(tmp_path, "base: &b {x: 1}\nspec:\n  <<: *b\n"))
    assert documents[0].data["spec"] == {"<<": {"x": 1}}


def test_unicode_line_separators_are_content_in_yaml_12(tmp_path: Path) -> None:
    text = "a: x\u2028y\nb: 'p\x85q'\nc: 2\n"
    documents, diags = load_both(source(tmp_path, text))
    assert diags == []
    assert documents[0].data == {"a": "x\u2028y", "b": "p\x85q", "c": 2}


def test_folded_and_literal_block_scalars(tmp_path: Path) -> None:
    text = "a: >\n  one\n  two\n\n  three\nb: |-\n  x\n   y\nc: |\n"
    documents, _ = load_both(source(tmp_path, text))
    assert documents[0].data == {"a": "one two\nthree\n", "b": "x\n y", "c": ""}


LOCATE_TEXT = """\
apiVersion: hlb/v1
kind: Dashboard
name: board
spec:
  channel: status
  embeds:
    - title: Homelab
      fields:
        - {name: CPU, value: "{{ cpu }}"}
  empty:
---
kind: Channel
name: other
"""


def test_locate_values_keys_and_missing_paths(tmp_path: Path) -> None:
    src = source(tmp_path, LOCATE_TEXT)
    assert locate(src, 0, ()) == (1, 1)
    assert locate(src, 0, ("spec", "channel")) == (5, 12)
    assert locate(src, 0, ("spec", "channel"), key=True) == (5, 3)
    assert locate(src, 0, ("spec", "embeds", 0)) == (7, 7)
    assert locate(src, 0, ("spec", "embeds", 0, "fields", 0, "value")) == (9, 30)
    assert locate(src, 0, ("spec", "embeds", 0, "fields", 0, "value"), key=True) == (9, 23)
    assert locate(src, 0, ("spec", "empty")) == (10, 3)  # an empty value sits at its key
    # missing: the nearest existing ancestor, at its key when reached through one
    assert locate(src, 0, ("spec", "refresh")) == (4, 1)
    assert locate(src, 0, ("spec", "embeds", 5, "title")) == (6, 3)
    assert locate(src, 0, ("spec", "channel", "deeper")) == (5, 3)
    assert locate(src, 1, ("name",), key=True) == (13, 1)
    assert locate(src, 7, ("name",)) == (1, 1)


def test_resolve_fills_in_only_unpositioned_diagnostics(tmp_path: Path) -> None:
    src = source(tmp_path, LOCATE_TEXT)
    unknown_field = Diagnostic(src.path, code="E203", message="unknown", doc=0, path=("spec", "channel"))
    in_list = Diagnostic(src.path, code="E401", message="long", doc=0, path=("spec", "embeds", 0))
    placed = Diagnostic(src.path, 3, 4, "E207", "name")
    other_file = Diagnostic("elsewhere.yaml", code="E203", message="x", doc=0, path=("a",))
    no_path = Diagnostic(src.path, code="E105", message="none")
    resolved = resolve([unknown_field, in_list, placed, other_file, no_path], {src.path: src})
    assert [(d.line, d.col) for d in resolved] == [(5, 3), (7, 7), (3, 4), (0, 0), (0, 0)]
    assert resolved[0].path == ("spec", "channel") and resolved[0].doc == 0


def test_round_trip_parse_is_cached_per_file(tmp_path: Path) -> None:
    src = source(tmp_path, LOCATE_TEXT)
    assert roundtrip.parse_roundtrip(src) is roundtrip.parse_roundtrip(SourceFile(src.path, src.text))


TOKENS = [
    "a", "k: ", ": ", ":", "- ", "? ", "[", "]", "{", "}", ", ", "#", " #c", "&x ", "*x", '"', "'",
    "\n", "\n  ", "\n    ", " ", "|", ">", "|-", "1", "0x1", "1_0", ".", "---\n", "...", "\\", "~",
    "true", "!", "!!str ", "%YAML 1.2\n", "\t", "\x85", "é", "\n \n", "\n- ", "\nk2: ",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14))
def test_any_text_loads_the_same_on_both_paths_without_raising(tokens: list[str]) -> None:
    src = SourceFile("fuzz.yaml", "".join(tokens) + "\n")
    roundtrip.parse_roundtrip.cache_clear()
    fast = load_fast(src)
    ref = load_roundtrip(src)
    assert [(d.index, d.line) for d in fast[0]] == [(d.index, d.line) for d in ref[0]]
    assert repr([d.data for d in fast[0]]) == repr([d.data for d in ref[0]])
    assert fast[1] == ref[1]
    assert all(d.line >= 1 and d.col >= 1 for d in ref[1])
