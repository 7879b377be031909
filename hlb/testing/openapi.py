"""Request-body validation for the emulator: Discord's OpenAPI spec plus the limits it misses.

The spec is loaded once per process (``load_spec`` is cached). Before use it is loosened
where disnake legitimately differs from it: snowflakes may be integers, and permission
bitfields (``allow``, ``deny``, ``permissions``, ``default_member_permissions``) may be
decimal strings. ``check_limits`` then enforces what Discord checks but the spec does not.
"""

from __future__ import annotations

import copy
import functools
import gzip
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:discord-openapi"
_PERMISSION_KEYS = frozenset({"allow", "deny", "permissions", "default_member_permissions"})
_DIGITS = {"type": "string", "pattern": "^[0-9]+$"}
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")

MAX_CONTENT = 2000
MAX_EMBED_TOTAL = 6000
MAX_ACTION_ROWS = 5
MAX_TOPIC = 1024


@dataclass(frozen=True)
class FieldError:
    """One problem in a request body, at a dotted path (``embeds.0.title``)."""

    path: str
    message: str


BUNDLED = Path(__file__).resolve().parent / "discord_api_spec" / "openapi.json.gz"


def spec_path() -> Path:
    """The spec file: ``HLB_DISCORD_OPENAPI``, else the copy shipped in this package (gzipped).

    The copy is discord/discord-api-spec (MIT, see ``discord_api_spec/LICENSE`` and ``SOURCE.txt``)."""
    given = os.environ.get("HLB_DISCORD_OPENAPI")
    return Path(given) if given else BUNDLED


def _read(path: Path) -> Any:
    data = path.read_bytes()
    return json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)


def _loosen(node: Any) -> Any:
    if isinstance(node, list):
        return [_loosen(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _loosen(v) for k, v in node.items()}
    props = out.get("properties")
    if isinstance(props, dict):
        for key in _PERMISSION_KEYS & props.keys():
            props[key] = {"anyOf": [props[key], _DIGITS]}
    return out


@functools.cache
def load_spec() -> dict[str, Any]:
    """The loosened spec, parsed once per process."""
    raw = _read(spec_path())
    spec: dict[str, Any] = _loosen(raw)
    spec["components"]["schemas"]["SnowflakeType"] = {
        "anyOf": [
            copy.deepcopy(raw["components"]["schemas"]["SnowflakeType"]),
            {"type": "integer", "minimum": 0},
        ]
    }
    return spec


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = DRAFT202012.create_resource(load_spec())
    return Registry().with_resource(SPEC_URI, resource)


def _json_pointer(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@functools.cache
def _validator(path_template: str, method: str) -> Draft202012Validator | None:
    op = load_spec()["paths"].get(path_template, {}).get(method.lower())
    if not isinstance(op, dict) or "requestBody" not in op:
        return None
    content = op["requestBody"]["content"]
    if "application/json" not in content:
        return None
    pointer = "/".join(
        [
            "#/paths",
            _json_pointer(path_template),
            method.lower(),
            "requestBody/content/application~1json/schema",
        ]
    )
    return Draft202012Validator({"$ref": SPEC_URI + pointer}, registry=_registry())


def validate_schema(path_template: str, method: str, body: Any) -> list[FieldError]:
    """Errors of ``body`` against the spec's request schema for this operation."""
    validator = _validator(path_template, method)
    if validator is None:
        return []
    errors = []
    for err in validator.iter_errors(body):
        best = best_match(err.context) if err.context else err  # the most relevant anyOf/oneOf branch
        best = best or err
        errors.append(FieldError(".".join(str(p) for p in err.absolute_path), best.message[:300]))
    return errors


def _embed_length(embed: dict[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for fld in embed.get("fields") or []:
        total += len(fld.get("name") or "") + len(fld.get("value") or "")
    return total


def _custom_ids(components: list[Any]) -> list[str]:
    found: list[str] = []
    for comp in components:
        if isinstance(comp, dict):
            if comp.get("custom_id"):
                found.append(str(comp["custom_id"]))
            found.extend(_custom_ids(comp.get("components") or []))
    return found


def _message_limits(body: dict[str, Any]) -> list[FieldError]:
    errors = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        errors.append(FieldError("content", f"Must be {MAX_CONTENT} or fewer in length."))
    embeds = body.get("embeds") or []
    if sum(_embed_length(e) for e in embeds if isinstance(e, dict)) > MAX_EMBED_TOTAL:
        errors.append(FieldError("embeds", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"))
    components = body.get("components") or []
    if len(components) > MAX_ACTION_ROWS:
        errors.append(FieldError("components", f"Must be {MAX_ACTION_ROWS} or fewer in length."))
    ids = _custom_ids(components)
    if len(ids) != len(set(ids)):
        errors.append(FieldError("components", "Component custom id cannot be duplicated"))
    return errors


def _command_limits(bodies: list[Any]) -> list[FieldError]:
    errors = []
    for index, cmd in enumerate(bodies):
        if not isinstance(cmd, dict):
            continue
        name = str(cmd.get("name", ""))
        if cmd.get("type", 1) == 1 and (name != name.lower() or not _COMMAND_NAME.match(name)):
            errors.append(FieldError(f"{index}.name", "Command name is invalid"))
    return errors


def check_limits(path_template: str, method: str, body: Any) -> list[FieldError]:
    """Discord's limits that the OpenAPI spec does not express."""
    if path_template.startswith(("/channels/{channel_id}/messages", "/webhooks/")) and isinstance(body, dict):
        return _message_limits(body)
    if path_template.endswith("/callback") and isinstance(body, dict) and isinstance(body.get("data"), dict):
        return [FieldError(f"data.{e.path}", e.message) for e in _message_limits(body["data"])]
    if path_template.endswith("/commands") and isinstance(body, list):
        return _command_limits(body)
    if path_template.endswith("/commands") and isinstance(body, dict):
        return _command_limits([body])
    if isinstance(body, dict) and isinstance(body.get("topic"), str) and len(body["topic"]) > MAX_TOPIC:
        return [FieldError("topic", f"Must be {MAX_TOPIC} or fewer in length.")]
    return []


def validate(path_template: str, method: str, body: Any) -> list[FieldError]:
    """All errors for a request body: schema first, then the extra limits."""
    return validate_schema(path_template, method, body) + check_limits(path_template, method, body)


def errors_json(errors: list[FieldError]) -> dict[str, Any]:
    """Discord's nested ``errors`` object: ``{field: {_errors: [{code, message}]}}``."""
    out: dict[str, Any] = {}
    for err in errors:
        node = out
        for part in [p for p in err.path.split(".") if p]:
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": "BASE_TYPE_INVALID", "message": err.message})
    return out
