"""The Document: one non-empty document of a spec file as plain data, whichever loader read it.

It lives apart from the loaders so that code that only passes documents on
(the compile cache) does not import a YAML parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Document:
    """One non-empty document of a spec file, as plain data."""

    file: str
    index: int  # index of the document within its file, counting empty documents too
    line: int  # 1-based line of the document's first key
    data: dict[str, Any]
