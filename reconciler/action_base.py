"""What every reconcile action is: its phase in the pass, its key and reason, its line for people.

The phases say the order the executor runs actions in; ``Ref`` is how an action names an
object created earlier in the same pass. The actions themselves, and ``Action``, their closed
union, are in ``hlb.reconciler.actions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

from hlb.compiler.model import ObjectKey

Ref: TypeAlias = int | ObjectKey  # a Discord id, or the key of an object created earlier in this pass

# Phases, in execution order. Roles come first: channel overwrites may name a role created now.
CREATE_ROLES = 2
UPDATE_ROLES = 4
REORDER_ROLES = 6
CREATE_CATEGORIES = 10
CREATE_CHANNELS = 20
UPDATE_CHANNELS = 30
PUT_OVERWRITES = 40
REORDER = 50
UPDATE_GUILD = 55  # after channels exist: its channel settings name them
DELETE_OVERWRITES = 60
DELETE_EMOJIS = 62  # before creates: a replaced image frees its slot first
EMOJIS = 65
MESSAGES = 70
COMMANDS = 80
DELETE_MESSAGES = 90
DELETE_CHANNELS = 100
DELETE_CATEGORIES = 110
DELETE_ROLES = 120


@dataclass(frozen=True)
class Change:
    """One field an update changes, for people: the Discord field, old and new value."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ActionBase:
    """What every action has; ``Action`` (below) is the closed union of the actions there are."""

    key: ObjectKey
    reason: str

    verb: ClassVar[str] = "?"
    symbol: ClassVar[str] = "~"
    writes: ClassVar[bool] = True  # False: touches only the bindings, never Discord

    @property
    def phase(self) -> int:
        raise NotImplementedError

    def describe(self) -> str:
        """One line for people: what this does to which object."""
        return f"{self.symbol} {self.verb} {self.key} ({self.reason})"
