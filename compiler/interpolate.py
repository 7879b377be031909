"""Interpolation: replace ``${VAR}`` from the environment at compile time.

In every string value (never in mapping keys):

- ``${VAR}`` is replaced by the variable's value; ``${VAR:-default}`` uses the
  default (which may be empty and cannot hold ``}``) when VAR is unset.
  A set but empty variable counts as set.
- ``${secret:NAME}`` is kept verbatim: the bot resolves it at run time from
  ``HLB_SECRET_<NAME>`` or ``$HLB_SECRETS_DIR/<NAME>``, so a secret's value
  never passes through here. NAME matches ``[A-Z][A-Z0-9_]*``.
- ``${VAR}`` never reads hlb's own credentials or names that look like
  credentials (``is_credential``): that is E506, pointing to ``${secret:NAME}``.
  ``${secret:DISCORD_TOKEN}`` (or another of hlb's own names) is E506 too.
  Such a variable is not even looked up, so its value cannot reach a plan,
  the database or the compile cache.
- ``$${`` is an escaped, literal ``${``: ``$${X}`` becomes ``${X}``.
- names match ``[A-Za-z_][A-Za-z0-9_]*``. An unset variable without a
  default is E502; an unclosed ``${``, a bad name or ``${secret:}`` is E503.

``hlb.compiler.secret_places`` then checks that each ``${secret:NAME}`` stands
where its value leaves for an HTTP endpoint.

Values inserted from the environment are not scanned again. Strings without
``$`` are returned untouched without scanning, and containers whose content
did not change are returned as the same objects, so this is cheap on large
spec sets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from hlb.compiler.diagnostics import JsonPath

Problem = tuple[JsonPath, str, str]  # (path from the document root, code, message)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SECRET_NAME = re.compile(r"[A-Z][A-Z0-9_]*")  # also a file name in HLB_SECRETS_DIR: no path can hide in it
SECRET_REF = re.compile(r"\$\{secret:([A-Z][A-Z0-9_]*)\}")  # the bot resolves these
SECRET_PREFIX = "secret:"
# hlb's own credentials, and words that make a variable name look like one: never read at compile time
OWN_CREDENTIALS = frozenset({"DATABASE_URL", "HLB_DATABASE_URL", "DISCORD_TOKEN"})
SECRET_ENV_PREFIX = "HLB_SECRET_"
# well-formed references the fast path may leave alone (not one of hlb's own names: those are E506)
_SECRET_BYTES = re.compile(
    rb"\$\{secret:(?!(?:" + b"|".join(n.encode() for n in sorted(OWN_CREDENTIALS)) + rb")\})[A-Z][A-Z0-9_]*\}"
)
_CREDENTIAL_WORDS = ("TOKEN", "PASSWORD", "PASSWD", "SECRET", "API_KEY", "PRIVATE_KEY", "CREDENTIAL")


def is_credential(name: str) -> bool:
    """Whether ``${name}`` would read a credential: hlb's own, an ``HLB_SECRET_*``, or one by its name."""
    upper = name.upper()
    return (
        upper in OWN_CREDENTIALS
        or upper.startswith(SECRET_ENV_PREFIX)
        or any(word in upper for word in _CREDENTIAL_WORDS)
    )


def _own_problem(name: str) -> str:
    return (
        f"${{secret:{name}}} names hlb's own credential, which no spec may send anywhere; "
        f"if an endpoint needs a secret, give it its own name, such as ${{secret:API_TOKEN}} "
        f"with HLB_SECRET_API_TOKEN"
    )


def _credential_problem(name: str) -> str:
    secret = re.sub(r"[^A-Z0-9_]", "_", name.upper().removeprefix(SECRET_ENV_PREFIX)) or "NAME"
    if not secret[0].isalpha():
        secret = "S" + secret
    if secret in OWN_CREDENTIALS:  # ${secret:DISCORD_TOKEN} is refused too: name no way around it
        return (
            f"${{{name}}} would copy hlb's own credential into the compiled specs; no spec may use it. "
            "Compile-time variables are for ids and URLs; if an endpoint needs a secret, give it its "
            "own name, such as ${secret:API_TOKEN} with HLB_SECRET_API_TOKEN"
        )
    return (
        f"${{{name}}} would copy a credential into the compiled specs; compile-time variables are for "
        f"ids and URLs. Use ${{secret:{secret}}} in an http step or source (url, headers, json), "
        f"and give the bot HLB_SECRET_{secret} or the file {secret} in HLB_SECRETS_DIR"
    )


def interpolate(data: Any, env: Mapping[str, str], raw: bytes | None = None) -> tuple[Any, list[Problem]]:
    """``data`` with every ``${...}`` in its string values resolved, and the problems found.

    ``raw``: ``data`` as orjson writes it, when the caller has it (``json_of``): one serialization
    then serves this check, the text checks and the cache.
    """
    if _nothing_to_do(data if raw is None else raw):
        return data, []
    problems: list[Problem] = []
    return _walk(data, env, [], problems), problems


def json_of(data: Any) -> bytes | None:
    """``data`` as orjson writes it, or None when JSON cannot hold it."""
    try:
        return orjson.dumps(data)
    except (orjson.JSONEncodeError, TypeError):
        return None


def _nothing_to_do(data: Any) -> bool:
    """Whether every ``$`` in ``data`` (or its JSON) is part of a well-formed ``${secret:NAME}`` (in C)."""
    raw = data if type(data) is bytes else json_of(data)
    if raw is None:
        return False
    dollars = raw.count(b"$")
    return dollars == 0 or dollars == len(_SECRET_BYTES.findall(raw))


def _walk(value: Any, env: Mapping[str, str], path: list[str | int], problems: list[Problem]) -> Any:
    if type(value) is str:
        return _string(value, env, path, problems) if "$" in value else value
    items: Iterable[tuple[Any, Any]]
    if type(value) is dict:
        items = value.items()
    elif type(value) is list:
        items = enumerate(value)
    else:
        return value
    changed: Any = None
    for key, item in items:
        kind = type(item)
        if kind is str:
            if "$" not in item:
                continue
            path.append(key)
            new = _string(item, env, path, problems)
        elif kind is dict or kind is list:
            path.append(key)
            new = _walk(item, env, path, problems)
        else:
            continue
        path.pop()
        if new is not item:
            if changed is None:
                changed = value.copy()
            changed[key] = new
    return value if changed is None else changed


def _string(text: str, env: Mapping[str, str], path: list[str | int], problems: list[Problem]) -> str:
    parts: list[str] = []
    for kind, piece in _tokens(text):
        if kind == "text":
            parts.append(piece)
        elif kind == "secret":
            parts.append("${" + piece + "}")
        elif kind == "own":
            problems.append((tuple(path), "E506", _own_problem(piece)))
            parts.append("${secret:" + piece + "}")
        elif kind == "var":
            name, has_default, default = piece.partition(":-")
            if is_credential(name):  # checked before the lookup: the value is never read
                problems.append((tuple(path), "E506", _credential_problem(name)))
                parts.append("${" + piece + "}")
            elif name in env:
                parts.append(env[name])
            elif has_default:
                parts.append(default)
            else:
                problems.append(
                    (
                        tuple(path),
                        "E502",
                        f"environment variable {name} is not set; "
                        f"export it or give a default: ${{{name}:-value}}",
                    )
                )
                parts.append("${" + piece + "}")
        else:
            problems.append((tuple(path), "E503", piece))
            return text
    return "".join(parts)


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """Split a string into ``("text", s)``, ``("var", "NAME[:-default]")``, ``("secret", "secret:NAME")``,
    ``("own", NAME)`` (a secret named like hlb's own credential) and ``("error", message)`` pieces."""
    start = 0
    at = text.find("$")
    while at != -1:
        if text.startswith("$${", at):
            yield "text", text[start:at] + "${"
            start = at + 3
            at = text.find("$", start)
            continue
        if not text.startswith("${", at):
            at = text.find("$", at + 1)
            continue
        close = text.find("}", at + 2)
        inner = text[at + 2 : close] if close != -1 else text[at + 2 :]
        shown = text[at : close + 1] if close != -1 else text[at:]
        if close == -1:
            yield "error", (f"unclosed {_clip(shown)}: close it with '}}', or write $${{ for a literal ${{")
            return
        if "${" in inner:
            yield (
                "error",
                f"nested ${{...}} in {_clip(shown)} is not supported; use one variable per ${{...}}",
            )
            return
        if text[start:at]:
            yield "text", text[start:at]
        if inner.startswith(SECRET_PREFIX):
            name = inner[len(SECRET_PREFIX) :]
            if not SECRET_NAME.fullmatch(name):
                yield (
                    "error",
                    (
                        f"{_clip(shown)} needs a secret name of upper-case letters, digits and _, "
                        "starting with a letter, such as ${secret:WEBHOOK_TOKEN}"
                    ),
                )
                return
            yield ("own", name) if name in OWN_CREDENTIALS else ("secret", inner)
        else:
            name = inner.partition(":-")[0]
            if not _NAME.fullmatch(name):
                yield (
                    "error",
                    (
                        f"{_clip(shown)} has an invalid variable name {name!r}: use letters, digits and _, "
                        "not starting with a digit, as in ${HLB_GUILD_ID} or ${HLB_GUILD_ID:-default}; "
                        "write $${ for a literal ${"
                    ),
                )
                return
            yield "var", inner
        start = at = close + 1
        at = text.find("$", start)
    if start < len(text):
        yield "text", text[start:]


def _clip(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."

