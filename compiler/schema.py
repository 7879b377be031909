"""Schema validation of spec documents: the envelope, then the kind's JSON Schema, as Problems.

The fast path asks a compiled ``jsonschema_rs`` validator whether a document is
valid. Only an invalid document (or ``reference=True``) goes through
python-jsonschema, whose detailed errors are turned into coded, actionable
messages, so both paths report exactly the same problems. Schemas and
validators are loaded on first use and cached per kind.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hlb.compiler.diagnostics import JsonPath, dotted_path
from hlb.compiler.durations import UNITS_HELP
from hlb.compiler.kinds.base import Problem
from hlb.compiler.model import KIND_ORDER
from hlb.compiler.permissions import ALIASES, PERMISSIONS
from hlb.compiler.wording import plural

API_VERSION = "hlb/v1"
COMMON_FILE = "common.schema.json"
SCHEMA_FILES: dict[str, str] = {kind: f"{kind.lower()}.schema.json" for kind in KIND_ORDER}
_DIR = Path(__file__).parent / "schemas"
_TYPES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
          "object": "a mapping", "array": "a list", "null": "null"}


def kind_names() -> tuple[str, ...]:
    """The kinds a document may declare, in create order."""
    return tuple(SCHEMA_FILES)


def schema_texts() -> dict[str, str]:
    """Every schema file, name -> JSON text (common definitions first)."""
    return {name: (_DIR / name).read_text(encoding="utf-8") for name in (COMMON_FILE, *SCHEMA_FILES.values())}


def validate_document(data: dict[str, Any], *, reference: bool = False) -> list[Problem]:
    """Check one document's envelope and its kind's schema; every problem, with its path from the root."""
    if not isinstance(data, dict):
        return [Problem("E110", f"a document must be a mapping of fields, got {_a(data)}")]
    problems = _envelope(data)
    if problems:
        return problems
    kind = data["kind"]
    if not reference:
        try:
            if _fast_validator(kind).is_valid(data):
                return []
        except (ValueError, TypeError, OverflowError):
            pass  # values JSON has no word for (dates, non-string keys): the reference path explains them
    return _reference_problems(kind, data)


# --- loading -------------------------------------------------------------------------------------------


@functools.cache
def _load(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((_DIR / name).read_text(encoding="utf-8"))
    return schema


def _common_defs() -> dict[str, Any]:
    defs: dict[str, Any] = _load(COMMON_FILE)["$defs"]
    return defs


@functools.cache
def _fast_validator(kind: str) -> Any:
    import jsonschema_rs

    common = _load(COMMON_FILE)
    registry = jsonschema_rs.Registry([(common["$id"], common)])
    return jsonschema_rs.validator_for(_load(SCHEMA_FILES[kind]), registry=registry)


@functools.cache
def _reference_validator(kind: str) -> Any:
    import jsonschema
    from referencing import Registry, Resource

    def is_number(_checker: Any, value: Any) -> bool:  # JSON has no NaN or infinity: they match no type
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

    def is_integer(checker: Any, value: Any) -> bool:
        return is_number(checker, value) and (isinstance(value, int) or float(value).is_integer())

    def pattern(validator: Any, regex: str, instance: Any, _schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and not _ecma(regex).search(instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {regex!r}")

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine_many({"number": is_number, "integer": is_integer})
    cls = jsonschema.validators.extend(base, validators={"pattern": pattern}, type_checker=checker)
    common = _load(COMMON_FILE)
    registry = Registry().with_resource(common["$id"], Resource.from_contents(common))
    return cls(_load(SCHEMA_FILES[kind]), registry=registry)


@functools.cache
def _ecma(regex: str) -> re.Pattern[str]:
    """ECMA-262 semantics: without the multiline flag, ``$`` matches only at the very end."""
    if regex.endswith("$") and not regex.endswith("\\$"):
        regex = regex[:-1] + r"\Z"
    return re.compile(regex)


# --- the envelope --------------------------------------------------------------------------------------


def _envelope(data: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    if "apiVersion" not in data:
        problems.append(Problem("E201", f"missing apiVersion: add `apiVersion: {API_VERSION}` to it"))
    elif data["apiVersion"] != API_VERSION:
        message = f"unknown apiVersion {data['apiVersion']!r}: this hlb supports {API_VERSION}"
        problems.append(Problem("E201", message, ("apiVersion",)))
    kinds = ", ".join(SCHEMA_FILES)
    if "kind" not in data:
        problems.append(Problem("E202", f"missing kind: add `kind:` with one of {kinds}"))
    elif not isinstance(data["kind"], str) or data["kind"] not in SCHEMA_FILES:
        kind = data["kind"]
        guess = _suggest(kind, SCHEMA_FILES) if isinstance(kind, str) else None
        hint = f"; did you mean {guess!r}?" if guess else ""
        problems.append(Problem("E202", f"unknown kind {kind!r}{hint} (kinds: {kinds})", ("kind",)))
    return problems


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest choice to a mistyped word, ignoring case, '-' versus '_' and spaces."""

    def fold(text: str) -> str:
        return text.lower().replace("-", "_").replace(" ", "_")

    folded = {fold(c): c for c in choices}
    if fold(word) in folded:
        return folded[fold(word)]
    close = difflib.get_close_matches(fold(word), list(folded), n=1, cutoff=0.6)
    return folded[close[0]] if close else None


# --- the reference path: python-jsonschema errors -> Problems -------------------------------------------


def _reference_problems(kind: str, data: dict[str, Any]) -> list[Problem]:
    foreign = list(_foreign(data, ()))
    taken = {p.path for is_value, p in foreign if is_value}  # the schema would only add "wrong type" there
    problems = [p for _, p in foreign]
    for error in _reference_validator(kind).iter_errors(data):
        problems.extend(p for p in _explain(error, kind) if p.path not in taken)
    unique: dict[tuple[str, JsonPath, str], Problem] = {}
    for p in problems:
        unique.setdefault((p.code, p.path, p.message), p)
    return list(unique.values())


def _foreign(value: Any, path: JsonPath) -> Iterator[tuple[bool, Problem]]:
    """Values YAML can produce but JSON cannot hold: non-string keys, dates, binary data, NaN.

    Yields (whether the problem is about the value at its path, the problem)."""
    quote = "quote it so YAML reads it as text"
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield from _foreign(item, (*path, key))
            else:
                message = f"field name {key!r} in {_where(path, '')} is {_a(key)}; {quote}"
                yield False, Problem("E204", message, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _foreign(item, (*path, i))
    elif isinstance(value, float) and not math.isfinite(value):
        message = f"{dotted_path(path)} is {_a(value)}, which JSON cannot hold; use a number"
        yield True, Problem("E204", message, path)
    elif not (value is None or isinstance(value, str | int | float)):
        yield True, Problem("E204", f"{dotted_path(path)} is {_a(value)}; {quote}", path)


def _explain(error: Any, kind: str) -> Iterator[Problem]:
    path: JsonPath = tuple(error.absolute_path)
    rule, value = error.validator, error.instance
    if rule in ("oneOf", "anyOf"):
        yield from _explain_alternatives(error, kind, path)
    elif rule == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        for key in value:
            if key not in allowed:
                yield Problem("E203", _unknown_field(kind, path, str(key), allowed), (*path, key))
    elif rule == "required":
        for key in error.validator_value:
            if isinstance(value, dict) and key not in value:
                yield Problem("E205", f"missing required field {key!r} in {_where(path, kind)}", path)
    else:
        code, message = _explain_value(error, path)
        yield Problem(code, message, path)


def _explain_value(error: Any, path: JsonPath) -> tuple[str, str]:
    """The code and message of an error about one value."""
    rule, expected, value, schema = error.validator, error.validator_value, error.instance, error.schema
    dotted = dotted_path(path)
    if rule == "type":
        return "E204", _type_message(path, [expected] if isinstance(expected, str) else expected, value)
    if rule == "enum" and expected == _common_defs()["permission"]["enum"]:
        guess = (ALIASES.get(value) or _suggest(value, PERMISSIONS)) if isinstance(value, str) else None
        hint = f"did you mean {guess!r}?" if guess else "use Discord's flags in snake_case, e.g. view_channel"
        return "E306", f"unknown permission {value!r} in {dotted}; {hint}"
    if rule == "enum":
        guess = _suggest(value, map(str, expected)) if isinstance(value, str) else None
        hint = f" (did you mean {guess!r}?)" if guess else ""
        allowed = ", ".join(map(str, expected))
        return "E206", f"invalid value {value!r} for {dotted}: use one of {allowed}{hint}"
    if rule == "const":
        return "E206", f"invalid value {value!r} for {dotted}: it must be {expected!r}"
    if rule == "pattern":
        return _pattern_problem(dotted, schema.get("pattern", ""), value, schema)
    if rule == "maxLength":
        return "E401", f"{dotted} is {len(value)} characters; Discord allows at most {expected}"
    if rule == "minLength" and not value:
        most = f" to {schema['maxLength']}" if "maxLength" in schema else " or more"
        return "E206", f"{dotted} is empty; give it {expected}{most} characters"
    if rule == "minLength":
        return "E206", f"{dotted} is {plural(len(value), 'character')}; it needs at least {expected}"
    if rule == "maxItems":
        return "E402", f"{dotted} has {len(value)} items; Discord allows at most {expected}"
    if rule == "minItems" and not value:
        return "E402", f"{dotted} is empty; give it at least {expected} item{'s' * (expected > 1)}"
    if rule == "minItems":
        return "E402", f"{dotted} has {plural(len(value), 'item')}; it needs at least {expected}"
    if rule in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return "E408", f"{dotted} is {value!r}; the allowed range is {low}..{high}"
        bound = f"least {low}" if high is None else f"most {high}"
        return "E408", f"{dotted} is {value!r}; it must be at {bound}"
    return "E206", f"invalid value for {dotted}: {error.message}"


def _explain_alternatives(error: Any, kind: str, path: JsonPath) -> Iterator[Problem]:
    """Show the real problem behind "not valid under any/each of the given schemas"."""
    branches: list[dict[str, Any]] = error.validator_value
    value = error.instance
    if all(set(b) == {"required"} for b in branches):  # one of (oneOf) / at least one of (anyOf) these keys
        keys = [k for b in branches for k in b["required"]]
        present = [k for k in keys if isinstance(value, dict) and k in value]
        choice = _listing(keys, "or")
        if not present:
            yield Problem("E205", f"{_where(path, kind)} needs {'one of ' * (len(keys) > 2)}{choice}", path)
        elif error.validator == "oneOf" and len(present) > 1:
            both = f"{'both ' * (len(present) == 2)}{_listing(present, 'and')}"
            yield Problem("E208", f"{_where(path, kind)} has {both}; keep exactly one of {choice}", path)
        return
    groups: dict[int, list[Any]] = {}
    for sub in error.context:
        groups.setdefault(sub.relative_schema_path[0], []).append(sub)
    roots = [e for errs in groups.values() for e in errs if e.validator == "type" and not e.path]
    fitting = {i: errs for i, errs in groups.items() if not any(e in roots for e in errs)}
    if fitting:  # the branches whose type fits: report the problems of the closest one
        best = min(fitting, key=lambda i: (len(fitting[i]), i))
        for sub in fitting[best]:
            yield from _explain(sub, kind)
    elif branches == _common_defs()["duration"]["anyOf"]:
        yield Problem("E505", f"invalid duration {value!r} for {dotted_path(path)}: {UNITS_HELP}", path)
    elif roots:
        types: list[str] = []
        for e in roots:
            wanted = [e.validator_value] if isinstance(e.validator_value, str) else e.validator_value
            types.extend(t for t in wanted if t not in types)
        yield Problem("E204", _type_message(path, types, value), path)
    else:
        yield Problem("E206", f"invalid value for {dotted_path(path)}: {error.message}", path)


def _pattern_problem(dotted: str, regex: str, value: Any, schema: dict[str, Any]) -> tuple[str, str]:
    defs = _common_defs()
    if regex == defs["name"]["pattern"]:
        field = "" if dotted == "name" else f" for {dotted}"
        return "E207", (f"invalid name {value!r}{field}: use lowercase letters, digits, '-' and '_' "
                        "(max 64), starting with a letter or digit")
    if regex == defs["snowflake"]["pattern"]:
        return "E206", (f"invalid Discord id {value!r} for {dotted}: use the id as a string of 15 to 20 "
                        "digits, not starting with 0, at most 18446744073709551615 (in Discord: right click, "
                        "Copy ID)")
    if regex == defs["color"]["anyOf"][0]["pattern"]:
        return "E206", f'invalid colour {value!r} for {dotted}: use "#rrggbb" or an integer 0..16777215'
    rule = schema.get("description") or f"it must match {regex}"
    return "E206", f"invalid value {value!r} for {dotted}: {rule[:1].lower()}{rule[1:]}"


# --- wording -------------------------------------------------------------------------------------------


def _unknown_field(kind: str, path: JsonPath, key: str, allowed: Sequence[str]) -> str:
    where = _where(path, kind)
    if not path and kind == "Guild" and key == "guild":
        return f"unknown field 'guild' in {where}: a Guild does not belong to a guild; remove it"
    if not path and key in _spec_properties(kind):
        return f"unknown field {key!r} in {where}; it belongs under `spec:`"
    guess = _suggest(key, allowed)
    if guess:
        return f"unknown field {key!r} in {where}; did you mean {guess!r}?"
    return f"unknown field {key!r} in {where}; allowed fields: {', '.join(allowed)}"


def _spec_properties(kind: str) -> dict[str, Any]:
    document = _load(SCHEMA_FILES[kind])
    spec = document["properties"]["spec"]
    if "$ref" in spec:
        spec = document["$defs"][spec["$ref"].rsplit("/", 1)[-1]]
    props: dict[str, Any] = spec.get("properties", {})
    return props


def _type_message(path: JsonPath, types: Sequence[str], value: Any) -> str:
    wanted = _listing([_TYPES.get(t, t) for t in types], "or", quote=False)
    message = f"{dotted_path(path)}: expected {wanted}, got {_a(value)}"
    if value is None and path and path[-1] == "color":
        return message + "; '#' starts a comment in YAML: quote the colour, e.g. \"#2ecc71\""
    if value is None:
        return message + "; give it a value or remove the field"
    if "string" in types and not isinstance(value, dict | list):
        return message + "; quote it so YAML reads it as text"
    return message


def _a(value: Any) -> str:
    """A value's type in the words of a YAML user."""
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "infinity"
    names = [(int, "an integer"), (float, "a number"), (str, "a string"), (dict, "a mapping"),
             (list, "a list"), (datetime, "a timestamp"), (date, "a date"), (bytes, "binary data")]
    return next((name for cls, name in names if isinstance(value, cls)), f"a {type(value).__name__}")


def _where(path: JsonPath, kind: str) -> str:
    if not path:
        return f"{kind} document".strip()
    if path == ("spec",) and kind:
        return f"{kind} spec"
    return dotted_path(path)


def _listing(items: Sequence[str], conjunction: str, *, quote: bool = True) -> str:
    words = [f"'{i}'" if quote else i for i in items]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"
