"""The recording Index: what each kind check looks up, so its result can be reused while that holds.

One ``RecordingIndex`` serves every check of a compile (the closest-name hints
of ``hlb.compiler.kinds.channel`` keep one budget per Index, as without the
cache). Before each check ``start`` clears the log; afterwards ``lookups``
lists ``[guild, kind, name, fingerprint]`` of every ``get`` and ``clean``
says whether the result depends on nothing else: a ``get`` that found
nothing (its hint weighs every name of the kind) or an ``of_kind`` listing
makes the check's result unfit for reuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from hlb.compiler.kinds.base import Draft, Index


class RecordingIndex(Index):
    """The Index of a compile, noting what the current kind check looks up."""

    def __init__(
        self,
        drafts: Iterable[Draft],
        fingerprints: Mapping[tuple[str, int], str],
        broken: Iterable[tuple[str, str, str]] = (),
    ) -> None:
        super().__init__(drafts, broken)
        self._fingerprints = fingerprints  # (file, document index) -> fingerprint
        self.lookups: list[list[Any]] = []
        self.clean = True

    def start(self) -> None:
        self.lookups = []
        self.clean = True

    def get(self, guild: str, kind: str, name: str) -> Draft | None:
        found = super().get(guild, kind, name)
        seen = None if found is None else self._fingerprints.get((found.file, found.doc))
        if seen is None:
            self.clean = False
        else:
            self.lookups.append([guild, kind, name, seen])
        return found

    def of_kind(self, guild: str, kind: str) -> Iterator[Draft]:
        self.clean = False
        return super().of_kind(guild, kind)
