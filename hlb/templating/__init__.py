"""Templating shared by the compiler, the preview and the bot: a sandboxed Jinja engine with hlb's limits.

The package itself holds the two text tests that need no Jinja (``is_template``,
``unwrap_expression``) and the compiler's lazy doors to the engine
(``template_errors``, ``check_expression``): a compile whose kind checks all
come from the cache never imports Jinja (about 80 ms of a fleet no-op apply).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hlb.compiler.diagnostics import JsonPath


def is_template(s: str) -> bool:
    """Whether ``s`` is a template (holds ``{{``, ``{%`` or ``{#``) rather than literal text."""
    return "{{" in s or "{%" in s or "{#" in s


def unwrap_expression(s: str) -> str:
    """A ``when`` expression without the ``{{ }}`` people tend to wrap it in."""
    text = s.strip()
    if text.startswith("{{") and text.endswith("}}") and "{{" not in text[2:-2] and "}}" not in text[2:-2]:
        return text[2:-2].strip()
    return text


def template_errors(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, str]]:
    """``hlb.templating.engine.template_errors``, importing the engine (and Jinja) on first use."""
    from hlb.templating.engine import template_errors as errors

    return errors(value, path)


def check_expression(s: str) -> str | None:
    """``hlb.templating.engine.check_expression``, importing the engine (and Jinja) on first use."""
    from hlb.templating.engine import check_expression as check

    return check(s)
