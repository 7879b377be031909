"""Finding spec files and reading them: order, skipping, limits, encodings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hlb.compiler.diagnostics import Diagnostic
from hlb.compiler.sources import MAX_FILE_BYTES, SourceFile, discover, display_path, read_source


def write(path: Path, text: str = "a: 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def names(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_directory_is_read_recursively_in_sorted_path_order(tmp_path: Path) -> None:
    for rel in ["b.yaml", "a/z.yml", "a-c.yaml", "a/b/c.yaml", "A.yaml", "notes.txt", "x.yaml.bak"]:
        write(tmp_path / rel)
    files, diags = discover([tmp_path])
    assert diags == []
    # sorted by path components: "a/..." comes before "a-c.yaml" although "-" < "/"
    assert names(files, tmp_path) == ["A.yaml", "a/b/c.yaml", "a/z.yml", "a-c.yaml", "b.yaml"]


def test_dot_files_and_dot_directories_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / ".hidden.yaml")
    write(tmp_path / ".git" / "x.yaml")
    write(tmp_path / "ok" / ".cache" / "y.yaml")
    write(tmp_path / "ok" / "spec.yaml")
    files, diags = discover([tmp_path])
    assert diags == []
    assert names(files, tmp_path) == ["ok/spec.yaml"]


def test_named_file_is_taken_whatever_its_extension(tmp_path: Path) -> None:
    spec = write(tmp_path / "guild.conf")
    hidden = write(tmp_path / ".named.yaml")
    files, diags = discover([spec, hidden])
    assert (files, diags) == ([spec, hidden], [])


def test_same_file_named_twice_is_loaded_once(tmp_path: Path) -> None:
    spec = write(tmp_path / "d" / "a.yaml")
    files, _ = discover([tmp_path / "d", spec, str(spec)])
    assert files == [spec]


def test_missing_path_is_e101_and_other_paths_still_load(tmp_path: Path) -> None:
    spec = write(tmp_path / "a.yaml")
    files, diags = discover([tmp_path / "nope", spec])
    assert files == [spec]
    assert [d.code for d in diags] == ["E101"]
    assert diags[0].file.endswith("nope")
    assert "check the path" in diags[0].message


def test_nothing_found_is_e111_naming_the_first_path(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    write(tmp_path / "empty" / "readme.md")
    files, diags = discover([tmp_path / "empty"])
    assert files == []
    assert [d.code for d in diags] == ["E111"]
    assert diags[0].file == display_path(tmp_path / "empty")


def test_display_path_is_relative_inside_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write(tmp_path / "specs" / "a.yaml")
    monkeypatch.chdir(tmp_path)
    assert display_path(spec) == "specs/a.yaml"
    assert display_path(Path("specs") / "a.yaml") == "specs/a.yaml"
    monkeypatch.chdir(tmp_path / "specs")
    outside = tmp_path / "other.yaml"
    assert display_path(outside) == outside.as_posix()


def test_read_source_returns_text_without_bom_and_with_unix_newlines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "a.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\r\nb: 2\rc: 3\n")
    assert read_source(path) == SourceFile("a.yaml", "a: 1\nb: 2\nc: 3\n")


def test_file_over_10_mb_is_e102_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: full of NUL bytes, so a read would say E104
    result = read_source(path)
    assert isinstance(result, Diagnostic)
    assert result.code == "E102"
    assert "10 MB" in result.message and "split" in result.message


def test_file_of_exactly_10_mb_is_read(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES - 1) + b"\n")
    assert isinstance(read_source(path), SourceFile)


def test_binary_file_is_e104_at_the_first_nul(tmp_path: Path) -> None:
    path = tmp_path / "logo.yaml"
    path.write_bytes(b"a: 1\nb: \x89PNG\x00\x00\n")
    result = read_source(path)
    assert isinstance(result, Diagnostic)
    assert (result.code, result.line, result.col) == ("E104", 2, 8)


def test_invalid_utf8_is_e103_with_line_and_column_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: ok\ntopic: café\n".encode() + "bad: é\n".encode("latin-1"))
    result = read_source(path)
    assert isinstance(result, Diagnostic)
    assert (result.code, result.line, result.col) == ("E103", 3, 6)
    assert "0xe9" in result.message and "UTF-8" in result.message


def test_invalid_utf8_column_counts_characters_not_bytes(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes("k: ééé".encode() + b"\xff\n")
    result = read_source(path)
    assert isinstance(result, Diagnostic)
    assert (result.code, result.line, result.col) == ("E103", 1, 7)


def test_utf16_file_is_e103_not_binary(tmp_path: Path) -> None:
    path = tmp_path / "u16.yaml"
    path.write_bytes("a: 1\n".encode("utf-16"))
    result = read_source(path)
    assert isinstance(result, Diagnostic)
    assert (result.code, result.line) == ("E103", 1)
    assert "UTF-16" in result.message


def test_unreadable_paths_are_e101(tmp_path: Path) -> None:
    missing = read_source(tmp_path / "gone.yaml")
    directory = read_source(tmp_path)
    assert isinstance(missing, Diagnostic) and missing.code == "E101"
    assert isinstance(directory, Diagnostic) and directory.code == "E101"
    if hasattr(os, "symlink"):
        link = tmp_path / "dangling.yaml"
        link.symlink_to(tmp_path / "nowhere.yaml")
        dangling = read_source(link)
        assert isinstance(dangling, Diagnostic) and dangling.code == "E101"
