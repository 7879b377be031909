"""Diagnostics: user mistakes as data, with a stable code and a position.

Every check in the compiler reports a ``Diagnostic`` instead of raising. A
diagnostic found on the fast path may not know its line yet: it carries the
document index and the JSON path inside the document, and
``hlb.compiler.positions`` fills in line and column from the round-trip parse
of that one file before anything is shown to the user.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Literal

from hlb import __version__
from hlb.compiler.wording import PLAIN, Paint

Severity = Literal["error", "warning"]
JsonPath = tuple[str | int, ...]


def dotted_path(path: JsonPath) -> str:
    """A path as people read it: ``spec.embeds[0].title``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the document"


# The stable codes. docs/errors.md documents each one; a test keeps the two in step.
CODES: dict[str, str] = {
    # files and YAML
    "E101": "file could not be read",
    "E102": "file is larger than the 10 MB limit",
    "E103": "file is not valid UTF-8",
    "E104": "file is binary, not YAML text",
    "E105": "file holds no documents",
    "E106": "YAML syntax error",
    "E107": "tab character used for indentation",
    "E108": "duplicate mapping key",
    "E109": "YAML aliases expand beyond the limit",
    "E110": "document is not a mapping",
    "E111": "no spec files found",
    "E112": "YAML tag not allowed",
    "E113": "not a regular file (FIFO, socket or device)",
    "E114": "NUL character in a string",
    # envelope and schema
    "E201": "missing or unknown apiVersion",
    "E202": "missing or unknown kind",
    "E203": "unknown field",
    "E204": "wrong type",
    "E205": "required field missing",
    "E206": "value not allowed",
    "E207": "invalid object name",
    "E208": "fields that exclude each other are used together",
    # names and references
    "E301": "duplicate object",
    "E302": "guild not found",
    "E303": "guild cannot be implied",
    "E304": "reference to an object that does not exist",
    "E305": "reference to an object of the wrong type",
    "E306": "unknown permission name",
    "E307": "field not valid for this channel type",
    "E308": "guild id used twice",
    "E320": "@everyone takes permissions only",
    "E309": "file path leaves the spec file's directory",
    "E310": "file named by a spec is missing or unreadable",
    # Discord limits
    "E401": "text longer than Discord allows",
    "E402": "too many items",
    "E403": "embed text exceeds 6000 characters in total",
    "E404": "select menu must be alone in its row",
    "E405": "duplicate custom id",
    "E406": "invalid command or option name",
    "E407": "required options must come before optional ones",
    "E408": "value out of range",
    "E409": "button must have exactly one of workflow or url",
    "E410": "duplicate name in list",
    "E411": "invisible or bidirectional control character in a name",
    "E412": "name mixes look-alike scripts (warning)",
    "E413": "image larger than Discord allows",
    "E414": "image is not PNG, JPEG, WebP or GIF",
    # templates, interpolation, schedules
    "E501": "template syntax error or template over a limit",
    "E502": "environment variable is not set",
    "E503": "malformed ${...} interpolation",
    "E504": "invalid cron schedule",
    "E505": "invalid duration",
    "E506": "credential named where a spec cannot use it",
    "E507": "${secret:NAME} where its value would reach Discord or the database",
    # plans and database (reported to the user, not faults)
    "E601": "saved plan is stale",
    "E602": "saved plan file is invalid",
    "E603": "database schema does not match this hlb",
    "E604": "revision not found",
    "E605": "database is unreachable",
    "E606": "the bot's database role cannot be set up",
    "E607": "saved plan was changed after it was written",
    "E608": "saved plan was made against another database",
    "E609": "mass delete refused without a yes",
    "E610": "gave up waiting for the apply lock",
    "E611": "no database here yet (a read-only command never creates one)",
    # the bot and Discord
    "E701": "cannot talk to Discord (token or API base)",
    "E702": "the bot's packages are not installed",
    "E703": "the bot cannot serve metrics at the address given",
}


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in the user's input."""

    file: str
    line: int = 0
    col: int = 0
    code: str = "E101"
    message: str = ""
    severity: Severity = "error"
    doc: int | None = field(default=None, compare=False)
    path: JsonPath | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered diagnostic code {self.code}")

    def at(self, line: int, col: int) -> Diagnostic:
        return replace(self, line=line, col=col)

    def format_text(self, paint: Paint = PLAIN) -> str:
        """``file:line:col: CODE message``; with ``paint`` on, the code in red (a warning's in yellow)."""
        label = "" if self.severity == "error" else f"{self.severity}: "
        code = paint.error(self.code) if self.severity == "error" else paint.warning(self.code)
        return f"{self.file}:{max(self.line, 1)}:{max(self.col, 1)}: {code} {label}{self.message}"

    def format_github(self) -> str:
        level = "error" if self.severity == "error" else "warning"
        msg = _github_escape(f"{self.code} {self.message}")
        where = f"file={_github_property(self.file)},line={max(self.line, 1)},col={max(self.col, 1)}"
        return f"::{level} {where}::{msg}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": max(self.line, 1),
            "col": max(self.col, 1),
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }


def _github_escape(text: str) -> str:
    """A workflow command's data (the message): ``%``, CR and LF percent-encoded, so it stays one line."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    """A workflow command's property value (``file=``): as data, plus ``:`` and ``,``, which end a value."""
    return _github_escape(text).replace(":", "%3A").replace(",", "%2C")


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    unique = {(d.file, d.line, d.col, d.code, d.message): d for d in diagnostics}
    return sorted(unique.values(), key=lambda d: (d.file, d.line, d.col, d.code, d.message))


def render_diagnostics(diagnostics: Sequence[Diagnostic], fmt: str, *, paint: Paint = PLAIN) -> str:
    """Render diagnostics as ``text``, ``json``, ``github`` annotations or ``sarif`` (SARIF 2.1.0).

    ``paint`` colours the codes of the text form (``hlb.compiler.wording``)."""
    if fmt == "sarif":
        return json.dumps(to_sarif(diagnostics), indent=2, ensure_ascii=False)
    if fmt == "json":
        errors = sum(1 for d in diagnostics if d.severity == "error")
        payload = {
            "diagnostics": [d.to_json() for d in diagnostics],
            "errors": errors,
            "warnings": len(diagnostics) - errors,
        }
        return json.dumps(payload, indent=2, ensure_ascii=False)
    if fmt == "github":
        return "\n".join(d.format_github() for d in diagnostics)
    return "\n".join(d.format_text(paint) for d in diagnostics)


# --- SARIF 2.1.0 (GitHub code scanning: github/codeql-action/upload-sarif) ----------------------------

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
HOME_URL = "https://hlb.dev"
ERRORS_URL = f"{HOME_URL}/docs/errors.md"
# The sections of docs/errors.md, as the anchors GitHub gives their headings (a test keeps them in step).
ERROR_SECTIONS: dict[str, str] = {
    "E1": "files-and-yaml-e1xx",
    "E2": "envelope-and-schema-e2xx",
    "E3": "names-and-references-e3xx",
    "E4": "discord-limits-e4xx",
    "E5": "templates-interpolation-schedules-e5xx",
    "E6": "plans-and-the-database-e6xx",
    "E7": "the-bot-and-discord-e7xx",
}


def help_uri(code: str) -> str:
    """Where a code is documented: its section of docs/errors.md."""
    anchor = ERROR_SECTIONS.get(code[:2])
    return f"{ERRORS_URL}#{anchor}" if anchor else ERRORS_URL


def artifact_uri(file: str) -> dict[str, str]:
    """A SARIF artifactLocation: relative paths stay relative (to the checkout), absolute become file:."""
    from urllib.parse import quote

    if PureWindowsPath(file).drive or file.startswith("/"):
        path = PureWindowsPath(file) if PureWindowsPath(file).drive else PurePosixPath(file)
        return {"uri": path.as_uri()}
    return {"uri": quote(file.replace("\\", "/"), safe="/"), "uriBaseId": "%SRCROOT%"}


def to_sarif(diagnostics: Sequence[Diagnostic]) -> dict[str, Any]:
    """One SARIF 2.1.0 log with one run: a rule for every code used, a result for every diagnostic."""
    codes = sorted({d.code for d in diagnostics})
    index = {code: i for i, code in enumerate(codes)}
    rules = []
    for code in codes:
        level = "error" if any(d.code == code and d.severity == "error" for d in diagnostics) else "warning"
        rules.append(
            {
                "id": code,
                "name": code,
                "shortDescription": {"text": CODES[code]},
                "helpUri": help_uri(code),
                "help": {"text": f"{code}: {CODES[code]}. See {help_uri(code)}"},
                "defaultConfiguration": {"level": level},
            }
        )
    results = []
    for d in diagnostics:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": "error" if d.severity == "error" else "warning",
            "message": {"text": d.message or CODES[d.code]},
        }
        if d.file:
            region = {"startLine": max(d.line, 1), "startColumn": max(d.col, 1)}
            result["locations"] = [
                {"physicalLocation": {"artifactLocation": artifact_uri(d.file), "region": region}}
            ]
        results.append(result)
    driver = {
        "name": "hlb",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": HOME_URL,
        "rules": rules,
    }
    run = {"tool": {"driver": driver}, "columnKind": "unicodeCodePoints", "results": results}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
