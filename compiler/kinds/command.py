"""The Command kind: a guild slash command; and the typed-option helpers Workflow inputs share.

Checks: Discord's name rules for the command and its options, option order and
uniqueness, choices and bounds that fit the option type, reply or workflow,
permission names and reply templates.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from hlb.compiler.diagnostics import JsonPath, dotted_path
from hlb.compiler.kinds.base import Draft, Index, Kind, Problem
from hlb.compiler.kinds.channel import permission_problems, reference_problem
from hlb.compiler.kinds.dashboard import normalize_reply, reply_problems

MAX_NAME = 32
CHOICE_TYPES = frozenset({"string", "integer", "number"})
_BOUNDS = {"min_value": frozenset({"integer", "number"}), "max_value": frozenset({"integer", "number"}),
           "min_length": frozenset({"string"}), "max_length": frozenset({"string"})}
_OPTION_KEYS = ("min_value", "max_value", "min_length", "max_length")


def slash_name_error(name: str) -> str | None:
    """Why ``name`` is not a valid slash command or option name, or ``None``.

    Discord's rule is ``^[-_\\p{L}\\p{N}]{1,32}$`` where letters with a lowercase form are lowercase.
    """
    if not 1 <= len(name) <= MAX_NAME:
        return f"'{name}' is {len(name)} characters; Discord allows 1..{MAX_NAME}: use a shorter name"
    for char in name:
        if char not in "-_" and unicodedata.category(char)[0] not in "LN":
            return f"'{name}' contains {char!r}; use only lowercase letters, digits, '-' and '_'"
    if name != name.lower():
        return f"'{name}' has uppercase letters; Discord requires lowercase: use '{name.lower()}'"
    return None


def _fits(otype: Any, value: Any) -> bool:
    if otype == "string":
        return isinstance(value, str)
    if isinstance(value, bool):
        return False
    if otype == "integer":
        return isinstance(value, int)
    return otype == "number" and isinstance(value, int | float)


def _choice_value(choice: Any) -> Any:
    return choice.get("value") if isinstance(choice, Mapping) else choice


def _choice_problems(option: Mapping[str, Any], here: JsonPath) -> Iterator[Problem]:
    otype = option.get("type")
    choices = option.get("choices")
    if not isinstance(choices, list):
        return
    if otype not in CHOICE_TYPES:
        message = (f"choices are for string, integer and number options, not {otype}; "
                   "remove choices or change the type")
        yield Problem("E206", message, (*here, "choices"))
        return
    seen: dict[Any, int] = {}
    for j, choice in enumerate(choices):
        value = _choice_value(choice)
        where: JsonPath = (*here, "choices", j)
        if isinstance(choice, Mapping):
            where = (*where, "value")
        if not _fits(otype, value):
            article = "an" if otype == "integer" else "a"
            message = f"choice {value!r} is not {article} {otype} as the option's type says; fix the value"
            yield Problem("E206", message, where)
        key = (type(value).__name__, value)
        if key in seen:
            first = dotted_path((*here, "choices", seen[key]))
            yield Problem("E410", f"choice value {value!r} is already used by {first}; remove one", where)
        else:
            seen[key] = j


def _bound_problems(option: Mapping[str, Any], here: JsonPath) -> Iterator[Problem]:
    otype = option.get("type")
    for key, types in _BOUNDS.items():
        if key in option and otype not in types:
            allowed = " and ".join(sorted(types))
            message = f"{key} applies to {allowed} options, not {otype}; remove it or change type"
            yield Problem("E206", message, (*here, key))
    for low, high in (("min_value", "max_value"), ("min_length", "max_length")):
        lo, hi = option.get(low), option.get(high)
        if isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
            message = f"{low} {lo} is more than {high} {hi}; swap them or fix one"
            yield Problem("E408", message, (*here, high))


def option_problems(options: Sequence[Any], path: JsonPath, *, command: bool) -> Iterator[Problem]:
    """Names, uniqueness, choices and bounds of command options (``command=True``) or workflow inputs.

    Command options also follow Discord's name rules (E406) and put required options first (E407).
    """
    names: dict[str, int] = {}
    first_optional: int | None = None
    for i, option in enumerate(options):
        if not isinstance(option, Mapping):
            continue
        here: JsonPath = (*path, i)
        name = option.get("name")
        if isinstance(name, str):
            error = slash_name_error(name) if command else None
            if error is not None:
                yield Problem("E406", f"invalid option name: {error}", (*here, "name"))
            if name in names:
                first = dotted_path((*path, names[name]))
                yield Problem("E410", f"option '{name}' is already declared at {first}; rename one",
                              (*here, "name"))
            else:
                names[name] = i
        required = option.get("required") is True
        if command and required and first_optional is not None:
            other = options[first_optional].get("name")
            message = (f"option '{name}' is required but comes after the optional option '{other}'; "
                       "Discord needs required options first: move it up")
            yield Problem("E407", message, (*here, "required"))
        if not required and first_optional is None:
            first_optional = i
        yield from _choice_problems(option, here)
        yield from _bound_problems(option, here)


def normalize_options(options: Any) -> list[dict[str, Any]]:
    """Options (or inputs) as {name, type, description?, required, choices?, bounds?}."""
    out: list[dict[str, Any]] = []
    for option in options if isinstance(options, list) else []:
        if not isinstance(option, Mapping):
            continue
        item: dict[str, Any] = {"name": option.get("name"), "type": option.get("type")}
        if "description" in option:
            item["description"] = option["description"]
        item["required"] = option.get("required") is True
        if isinstance(option.get("choices"), list):
            item["choices"] = [
                {"name": c.get("name"), "value": c.get("value")} if isinstance(c, Mapping)
                else {"name": str(c), "value": c}
                for c in option["choices"]
            ]
        for key in _OPTION_KEYS:
            if key in option:
                item[key] = option[key]
        out.append(item)
    return out


class CommandRules:
    """Rules of the Command kind."""


    def check(self, draft: Draft, index: Index) -> Iterator[Problem]:
        spec = draft.spec
        error = slash_name_error(draft.name)
        if error is not None:
            message = f"invalid slash command name: {error} (the object name is the command name)"
            yield Problem("E406", message, ("name",))
        options = spec.get("options")
        if isinstance(options, list):
            yield from option_problems(options, ("spec", "options"), command=True)
        yield from permission_problems(spec.get("default_member_permissions"),
                                       ("spec", "default_member_permissions"))
        if "reply" in spec and "workflow" in spec:
            message = "the command has both reply and workflow; keep reply (answer with text) or workflow"
            yield Problem("E208", message, ("spec", "workflow"))
        elif "reply" not in spec and "workflow" not in spec:
            message = ("the command has neither reply nor workflow; add reply (a template to answer with) "
                       "or workflow (a Workflow to run)")
            yield Problem("E205", message, ("spec",))
        if "reply" in spec:
            yield from reply_problems(spec["reply"], ("spec", "reply"))
        if "workflow" in spec:
            _, problem = reference_problem(index, draft, "Workflow", spec["workflow"], ("spec", "workflow"))
            if problem is not None:
                yield problem

    def normalize(self, draft: Draft) -> dict[str, Any]:
        spec = draft.spec
        out: dict[str, Any] = {
            "description": spec.get("description"),
            "options": normalize_options(spec.get("options") or []),
        }
        if isinstance(spec.get("default_member_permissions"), list):
            out["default_member_permissions"] = sorted(set(spec["default_member_permissions"]))
        if "reply" in spec:
            out["reply"] = normalize_reply(spec["reply"])
        if "workflow" in spec:
            out["workflow"] = spec["workflow"]
        return out


KIND = Kind("Command", CommandRules(), "commands")
