"""The YAML 1.2 core schema's scalars, as the reference loader (``hlb.compiler.roundtrip``) reads them.

Plain scalars resolve by the core schema's rules (nulls, bools, ints in base 10, 8 and 16,
floats and their ``.inf``/``.nan`` spellings; anything else is a string), the core tags
``!!str !!int !!float !!bool !!null`` check their value, ``\\u`` escapes of a surrogate pair
join into one character, and a mapping key that is not a string gets the message of E204.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

CORE = "tag:yaml.org,2002:"
_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
CORE_SCALAR_TAGS = frozenset(CORE + kind for kind in ("str", "int", "float", "bool", "null"))


def resolve_plain(text: str) -> Any:
    """The YAML 1.2 core-schema value of an untagged plain scalar."""
    if text in _NULLS:
        return None
    first = text[0]
    if first.isalpha():
        return _BOOLS.get(text, text)
    if _INT10.fullmatch(text):
        return int(text) if len(text) < 4000 else int(Decimal(text))  # no str-digits limit
    if first == "0" and len(text) > 2:
        if _INT8.fullmatch(text):
            return int(text[2:], 8)
        if _INT16.fullmatch(text):
            return int(text[2:], 16)  # powers of two: int() has no digit limit here
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if first == "-" else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return text


def resolve_tagged(text: str, tag: str) -> tuple[Any, str | None]:
    """Value of a scalar with a core tag, or an error message."""
    kind = tag[len(CORE) :]
    if kind == "str":
        return text, None
    value = resolve_plain(text)
    if kind == "null":
        ok = value is None
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:
            value = math.inf if value > 0 else -math.inf
        ok = True
    else:
        ok = isinstance(value, float)
    if ok:
        return value, None
    return text, f"{text!r} is not a valid !!{kind}; remove the tag or write a {kind} value"


def key_problem(key: Any) -> str:
    """The E204 message for a mapping key that is not a string."""
    if isinstance(key, dict | list):
        what = "a mapping" if isinstance(key, dict) else "a list"
        return f"mapping key is {what}, not a string; keys must be plain names"
    if key is None:
        return "mapping key is null (empty or ~), not a string; write a key name"
    shown, what = (str(key).lower(), "a boolean") if isinstance(key, bool) else (repr(key), "a number")
    return f"mapping key {shown} is {what}, not a string; quote it to use it as a string key"


SURROGATE = re.compile("[\ud800-\udfff]")
LONE_SURROGATE = (
    "a \\u escape gives half of a surrogate pair without the other half, which is not text; "
    "write the character itself, or its \\U escape (\\U0001F6A8), and fix the YAML syntax here"
)


def join_surrogates(text: str) -> str | None:
    """``text`` with each ``\\ud83d\\udea8``-style pair joined into its character (as JSON and the
    fast loader read it); None when a surrogate has no partner."""
    try:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        return None
