"""Export the stored state as spec YAML, one file per kind, that validates and re-applies unchanged."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from hlb.compiler.kinds import KINDS
from hlb.compiler.model import Model

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


def export_model(model: Model, out_dir: Path, revision: int | None) -> list[Path]:
    """Write one YAML file per kind that has objects; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for kind in KINDS:
        if not model.of_kind(kind.name):
            continue
        path = out_dir / kind.export_file
        path.write_text(HEADER.format(revision=revision) + render_kind(model, kind.name), encoding="utf-8")
        written.append(path)
    return written
