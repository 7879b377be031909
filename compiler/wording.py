"""How hlb's output reads: counts in words ("1 file", "2 files") and colour only on a terminal.

``plural`` is the one way user-facing output counts things. ``colour_wanted``
makes the decision about colour once per command: a terminal on the stream,
``NO_COLOR`` unset (https://no-color.org), or ``FORCE_COLOR`` set. ``Paint``
holds that decision; renderers take one and ask it to colour a line by its
action sign (``+`` green, ``~`` yellow, ``-`` red) or an error code (red), so
output that is piped or saved never holds escape codes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hlb.compiler.compile import CompileResult

_IRREGULAR = {"entry": "entries", "dependency": "dependencies", "is": "are", "was": "were"}


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 file``, ``0 files``, ``2 errors``; ``many`` for a plural that is not noun + s."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {many or _IRREGULAR.get(noun) or noun + 's'}"


def error_count(errors: int, files: int) -> str:
    """``1 error in 1 file``, ``3 errors in 2 files``."""
    return f"{plural(errors, 'error')} in {plural(files, 'file')}"


def validate_verdict(result: CompileResult) -> str:
    """The last line of `hlb validate`: what is valid, or how many errors in how many files."""
    if result.model is not None:
        return f"ok: {plural(len(result.model), 'object')} in {plural(result.files, 'file')} valid."
    errors = [d for d in result.diagnostics if d.severity == "error"]
    return f"{error_count(len(errors), len({d.file for d in errors}))}."


def colour_wanted(stream: IO[Any], env: Mapping[str, str] | None = None) -> bool:
    """Whether output to ``stream`` gets colour: ``FORCE_COLOR`` set, else a terminal without ``NO_COLOR``."""
    environ = os.environ if env is None else env
    if environ.get("NO_COLOR", ""):
        return False
    if environ.get("FORCE_COLOR", ""):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


_SIGN_COLOUR = {"+": "green", "~": "yellow", "-": "red"}


@dataclass(frozen=True)
class Paint:
    """Colour decided once: ``Paint(False)`` leaves every text as it is."""

    on: bool = False

    def sign(self, line: str) -> str:
        """A plan line coloured by its first non-blank character (``+``, ``~``, ``-``)."""
        colour = _SIGN_COLOUR.get(line.lstrip()[:1])
        return _style(line, fg=colour) if self.on and colour else line

    def error(self, text: str) -> str:
        return _style(text, fg="red", bold=True) if self.on else text

    def warning(self, text: str) -> str:
        return _style(text, fg="yellow", bold=True) if self.on else text

    def strong(self, text: str) -> str:
        return _style(text, bold=True) if self.on else text


def _style(text: str, **how: Any) -> str:
    import click  # only when colouring: the compiler itself never needs click

    return click.style(text, **how)


PLAIN = Paint(False)
