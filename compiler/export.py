"""Spec YAML again from model objects: `hlb export`'s files, and documents to re-check a saved plan.

``export_files`` renders the stored state as one YAML text per kind, with
ruamel.yaml, that validates and re-applies unchanged; the CLI writes them.

``sources_of`` serves ``hlb apply plan.json``, which runs validate's checks on
the plan's desired objects by compiling them again as the spec documents they
stand for. ruamel.yaml takes minutes for 10,000 objects and its flow style
sends them to the slow reference loader, so here every document is block YAML
with JSON-quoted keys and strings (one scalar per line, so no line grows long),
``${`` escaped as export escapes it (``escape_literals``), and the documents go
``CHUNK`` to a source file, so anything unusual sends one small file, not all,
to the reference loader.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from collections.abc import Sequence
from json.encoder import encode_basestring
from typing import Any

from ruamel.yaml import YAML

from hlb.compiler.kinds import KINDS
from hlb.compiler.model import Model, SpecObject
from hlb.compiler.sources import SourceFile

HEADER = "# Exported by `hlb export` from revision {revision}. Edit and apply like any spec file.\n"


def escape_literals(value: Any) -> Any:
    """Re-escape ``${`` so stored text is not interpolated again; ``${secret:...}`` stays a reference."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        parts = value.split("${")
        return parts[0] + "".join(("${" if p.startswith("secret:") else "$${") + p for p in parts[1:])
    if isinstance(value, dict):
        return {k: escape_literals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_literals(v) for v in value]
    return value


def render_kind(model: Model, kind: str) -> str:
    yaml = YAML()  # round-trip dumper: keeps key order, YAML 1.2
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 120
    yaml.allow_unicode = True
    buf = io.StringIO()
    yaml.dump_all([escape_literals(o.to_document()) for o in model.of_kind(kind)], buf)
    return buf.getvalue()


def export_files(model: Model, revision: int | None) -> dict[str, str]:
    """One YAML text per kind that has objects, by file name (``channels.yaml``...)."""
    header = HEADER.format(revision=revision)
    return {k.export_file: header + render_kind(model, k.name) for k in KINDS if model.of_kind(k.name)}


def export_images(model: Model) -> dict[str, bytes]:
    """The emoji images ``hlb export`` writes beside the YAML: each Emoji's ``image`` path -> its bytes
    (from the stored data URI). The paths are the specs' own, which stay inside the spec directory."""
    return {
        str(o.spec["image"]): base64.b64decode(str(o.spec["image_data"]).split(",", 1)[1])
        for o in model.of_kind("Emoji")
    }


# --- documents for re-checking a saved plan --------------------------------------------------------
CHUNK = 20  # documents per source file
# Characters YAML text may not hold raw (or that YAML 1.1 reads as line breaks): escaped as \\uXXXX.
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def sources_of(objects: Sequence[SpecObject]) -> list[SourceFile]:
    """Files named ``"0"``, ``"1"`` ...: object ``i`` is document ``i % CHUNK`` of file ``i // CHUNK``."""
    out: list[SourceFile] = []
    for start in range(0, len(objects), CHUNK):
        docs = []
        for obj in objects[start : start + CHUNK]:
            lines: list[str] = []
            _block(escape_literals(obj.to_document()), "", lines)
            docs.append("\n".join(lines))
        out.append(SourceFile(str(start // CHUNK), "---\n" + "\n---\n".join(docs) + "\n"))
    return out


def object_index(file: str, doc: int | None) -> int:
    """The index of the object a diagnostic in ``sources_of``'s file ``file`` is about."""
    return int(file) * CHUNK + (doc or 0) if file.isdigit() else 0


def _block(value: dict[str, Any] | list[Any], pad: str, out: list[str]) -> None:
    items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
    for key, item in items:
        head = f"{pad}{_quoted(key)}:" if key is not None else f"{pad}-"
        if isinstance(item, dict | list) and item:
            out.append(head)
            _block(item, pad + "  ", out)
        else:
            out.append(f"{head} {_scalar(item)}")


def _quoted(text: str) -> str:
    """``text`` as a JSON string (control characters escaped), also a YAML double-quoted scalar."""
    quoted = encode_basestring(text)  # escapes everything below U+0020
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _scalar(value: Any) -> str:
    if type(value) is str:
        return _quoted(value)
    if value is None or isinstance(value, bool):
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(value)  # int or float, as JSON writes it (a YAML 1.2 number too)


__all__ = ["CHUNK", "export_files", "export_images", "object_index", "sources_of"]
