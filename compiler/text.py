"""Text checks of a loaded document: NUL characters anywhere, invisible and look-alike characters in names.

``text_problems`` walks one interpolated document before its schema check
and reports, by JSON path:

- E114, a NUL character (U+0000, written ``"\\0"`` or ``"\\x00"`` in YAML)
  in any key or string: PostgreSQL cannot store it, so such a spec would
  fail at apply;
- E411, a bidirectional control (U+202A..U+202E, U+2066..U+2069, U+200E,
  U+200F, U+061C) or a zero-width character (U+200B..U+200D, U+2060,
  U+FEFF) in a name Discord shows (a zero-width joiner between two emoji,
  which builds one emoji, is fine);
- E412 (a warning), a word of such a name mixing Latin, Cyrillic and Greek
  letters: a Cyrillic a (U+0430) among Latin letters looks the same and is not.

Names Discord shows: every ``display_name``, ``name``, ``label``, ``title``
and ``placeholder`` under ``spec`` (HTTP headers and JSON bodies of
workflow steps are not shown by Discord and are skipped), and a Command's
descriptions, which Discord shows next to the command and option names, and
a bare string choice (its own name).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from hlb.compiler.diagnostics import JsonPath, Severity, dotted_path

TextProblem = tuple[JsonPath, str, str, Severity]  # path, code, message, severity

NAME_KEYS = frozenset({"display_name", "name", "label", "title", "placeholder"})
COMMAND_NAME_KEYS = NAME_KEYS | {"description"}
NOT_SHOWN = frozenset({"headers", "json"})  # free-form data a workflow sends elsewhere
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
ZWJ = "\u200d"
LOOK_ALIKE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK"})
_SUSPECT = BIDI | ZERO_WIDTH


def text_problems(data: Any, raw: bytes | None = None) -> list[TextProblem]:
    """The NUL, invisible-character and mixed-script problems of one document.

    ``raw``: ``data`` as orjson writes it, when the caller has it. orjson
    writes a NUL as ``\\u0000`` and every other character but the escaped
    ones as itself, so JSON without ``\\u0000`` holds no NUL and pure ASCII
    JSON no invisible or look-alike letter: the walks run only when needed.
    """
    if raw is not None and b"\\u0000" not in raw and raw.isascii():
        return []
    problems = list(_nul_problems(data, ()) if raw is None or b"\\u0000" in raw else ())
    spec = data.get("spec") if isinstance(data, dict) else None
    if isinstance(spec, dict | list):
        keys = COMMAND_NAME_KEYS if data.get("kind") == "Command" else NAME_KEYS
        problems.extend(_name_problems(spec, ("spec",), keys))
    return problems


def _nul_problems(value: Any, path: JsonPath) -> Iterator[TextProblem]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path, "E114", _nul_message(path, "value"), "error"
    elif isinstance(value, dict):
        for key, item in value.items():
            here = (*path, key)
            if isinstance(key, str) and "\x00" in key:
                yield here, "E114", _nul_message(path, f"key {key!r}"), "error"
            yield from _nul_problems(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nul_problems(item, (*path, i))


def _nul_message(path: JsonPath, what: str) -> str:
    return (
        f"{what} in {dotted_path(path)} holds a NUL character (\\0), which Discord and the database "
        "cannot store; remove it"
    )


def _name_problems(value: Any, path: JsonPath, keys: frozenset[str]) -> Iterator[TextProblem]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in NOT_SHOWN:
                continue
            here = (*path, key)
            if key in keys and isinstance(item, str):
                yield from _one_name(item, here)
            elif key == "choices" and isinstance(item, list):  # a bare string choice is its own name
                for i, choice in enumerate(item):
                    if isinstance(choice, str):
                        yield from _one_name(choice, (*here, i))
                yield from _name_problems(item, here, keys)
            else:
                yield from _name_problems(item, here, keys)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _name_problems(item, (*path, i), keys)


def _one_name(text: str, path: JsonPath) -> Iterator[TextProblem]:
    if not text.isascii():
        hidden = _hidden_character(text)
        if hidden is not None:
            kind = "a bidirectional control" if hidden in BIDI else "a zero-width character"
            message = (
                f"{dotted_path(path)} holds U+{ord(hidden):04X} {unicodedata.name(hidden, '')}, "
                f"{kind}: invisible, it can make the name read as something else; remove it"
            )
            yield path, "E411", message, "error"
        mixed = _mixed_word(text)
        if mixed is not None:
            word, scripts = mixed
            message = (
                f"{dotted_path(path)}: the word {word!r} mixes {' and '.join(scripts)} letters, which "
                "look alike but differ (Cyrillic U+0430 looks like Latin 'a'); write it in one script"
            )
            yield path, "E412", message, "warning"


def _hidden_character(text: str) -> str | None:
    """The first bidi control or zero-width character of ``text``; a ZWJ between emoji does not count."""
    for i, ch in enumerate(text):
        if ch not in _SUSPECT:
            continue
        if ch == ZWJ and 0 < i < len(text) - 1 and _emoji(text[i - 1]) and _emoji(text[i + 1]):
            continue
        return ch
    return None


def _emoji(ch: str) -> bool:
    """Symbols, emoji modifiers and variation selectors: what a zero-width joiner joins in an emoji."""
    return unicodedata.category(ch) in ("So", "Sk") or "\ufe00" <= ch <= "\ufe0f"


def _mixed_word(text: str) -> tuple[str, list[str]] | None:
    """The first word (a run of letters) with letters of two or more of Latin, Cyrillic and Greek."""
    word: list[str] = []
    for ch in (*text, " "):
        if ch.isalpha():
            word.append(ch)
            continue
        if len(word) > 1:
            scripts = {_script(c) for c in word} & LOOK_ALIKE_SCRIPTS
            if len(scripts) > 1:
                return "".join(word), sorted(scripts, key=lambda s: s.capitalize())
        word = []
    return None


def _script(ch: str) -> str:
    """The script of a letter as the first word of its Unicode name (LATIN, CYRILLIC, GREEK ...)."""
    return unicodedata.name(ch, "").partition(" ")[0]
