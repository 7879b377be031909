"""Secret places: ``${secret:NAME}`` may stand only where its value leaves for an HTTP endpoint.

The bot resolves a secret reference only in the request it sends: a workflow's http step
(``url``, ``headers``, ``json``) and a dashboard's source (``sources.<name>.http`` ``url`` and
``headers``). Anywhere else the text reaches Discord or the database (message content, embeds,
replies, topics, names, template output), so a reference there is E507 at the reference.

Run it on interpolated data: an escaped ``$${secret:X}`` has become ``${secret:X}`` by then,
which the bot would resolve in a request and which cannot be told from a reference once stored.
"""

from __future__ import annotations

from typing import Any

import orjson

from hlb.compiler.diagnostics import JsonPath
from hlb.compiler.interpolate import SECRET_REF, Problem

ANY = None  # a path pattern item that matches any key or index
# Each kind's descriptor (hlb.compiler.kinds) lists the path patterns, from the document root, of
# the strings whose secrets the bot resolves; a pattern ending in "..." covers its prefix and
# everything below it (a JSON body's nested strings).
_MARK = b"${secret:"


def misplaced_secrets(data: Any, raw: bytes | None = None) -> list[Problem]:
    """An E507 problem for every string holding ``${secret:NAME}`` outside the allowed places.

    ``raw``: ``data`` as orjson writes it, when the caller has it; else it is written here.
    """
    if not isinstance(data, dict):
        return []
    try:
        if _MARK not in (orjson.dumps(data) if raw is None else raw):
            return []
    except (orjson.JSONEncodeError, TypeError):
        pass  # data JSON cannot hold: walk it all
    from hlb.compiler.kinds import allowed_secrets  # the kinds load only for text holding a secret

    kind = data.get("kind")
    patterns = allowed_secrets(kind) if isinstance(kind, str) else ()
    problems: list[Problem] = []
    for path, text in _strings(data, ()):
        names = SECRET_REF.findall(text) if "${secret:" in text else []
        if names and not any(_matches(pattern, path) for pattern in patterns):
            problems.append((path, "E507", _message(names[0])))
    return problems


def _strings(value: Any, path: JsonPath) -> list[tuple[JsonPath, str]]:
    found: list[tuple[JsonPath, str]] = []
    stack: list[tuple[JsonPath, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            found.append((where, item))
        elif isinstance(item, dict):
            stack.extend(((*where, key), sub) for key, sub in item.items())
        elif isinstance(item, list):
            stack.extend(((*where, index), sub) for index, sub in enumerate(item))
    return found


def _matches(pattern: tuple[str | None, ...], path: JsonPath) -> bool:
    if pattern and pattern[-1] == "...":
        prefix = pattern[:-1]
        return len(path) >= len(prefix) and _matches(prefix, path[: len(prefix)])
    if len(pattern) != len(path):
        return False
    return all(want is ANY or want == str(got) for want, got in zip(pattern, path, strict=True))


def _message(name: str) -> str:
    return (
        f"${{secret:{name}}} is not allowed here: its value would reach Discord or the database. "
        "Secrets go only where a value leaves for an HTTP endpoint: an http step's url, headers "
        "or json, or a dashboard source's url or headers"
    )
