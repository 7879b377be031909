"""Conditions an operator should know about, logged once when they start and once when they end.

A pass runs every few seconds to minutes; an object held after an error, a channel whose
values do not stick, a dashboard source that keeps failing or a guild the bot cannot read
would otherwise repeat a warning on every pass. ``Conditions.update`` is given what is true
after a pass (per guild) and returns only the changes: a warning for each condition that
started, an info line for each that ended.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from hlb.reconciler.state import DRIFTED, ERROR, Binding
from hlb.runtime.status import GuildReport, failure_text

log = logging.getLogger("hlb.bot")

HELD = "held"  # an object failed and waits for its retry time
DRIFTED_EVENT = "drifted"  # an object whose values do not stick
SOURCE = "source_failing"  # a dashboard's data source or template fails
UNAVAILABLE = "guild_unavailable"  # the guild could not be read

Subject = tuple[str, str]  # (condition, what it is about: an object key or a guild name)


@dataclass(frozen=True)
class Change:
    """A condition that started (with what the operator needs to know) or ended."""

    condition: str
    subject: str
    started: bool
    detail: str = ""
    lasted: float = 0.0  # seconds, for an end

    def line(self) -> str:
        """The log message, ``key=value`` like every bot line."""
        if self.started:
            return f"event={self.condition} subject={self.subject} {self.detail}".rstrip()
        return f"event=healed subject={self.subject} was={self.condition} after={self.lasted:.0f}s"


@dataclass
class Conditions:
    """The conditions in force, per guild, and since when (monotonic seconds)."""

    clock: Callable[[], float] = time.monotonic
    _since: dict[str, dict[Subject, float]] = field(default_factory=dict)

    def update(self, guild: str, now_true: Mapping[Subject, str]) -> list[Change]:
        """Record what is true in ``guild`` after a pass; the conditions that started or ended."""
        now = self.clock()
        before = self._since.setdefault(guild, {})
        changes = [Change(c, s, True, detail) for (c, s), detail in now_true.items() if (c, s) not in before]
        changes += [
            Change(c, s, False, lasted=now - since)
            for (c, s), since in sorted(before.items())
            if (c, s) not in now_true
        ]
        self._since[guild] = {subject: before.get(subject, now) for subject in now_true}
        return changes

    def after_pass(self, reports: Iterable[GuildReport], bindings: Iterable[Binding]) -> None:
        """Log the conditions that started or ended in the guilds a pass covered."""
        bindings = list(bindings)
        for report in reports:
            now_true = {**of_problems(report.problems), **of_bindings(report.guild, bindings)}
            if report.error:  # not reconciled: its objects' states stay as they were
                now_true[(UNAVAILABLE, report.guild)] = f"error={report.error!r}"
            for change in self.update(report.guild, now_true):
                log.log(logging.WARNING if change.started else logging.INFO, "%s", change.line())


def of_bindings(guild: str, bindings: Iterable[Binding]) -> dict[Subject, str]:
    """Held and drifted objects of ``guild``, with their reason."""
    found: dict[Subject, str] = {}
    for binding in bindings:
        if binding.key.guild != guild or binding.status not in (ERROR, DRIFTED):
            continue
        condition = HELD if binding.status == ERROR else DRIFTED_EVENT
        found[(condition, str(binding.key))] = f"error={failure_text(binding)!r}"
    return found


def of_problems(problems: Iterable[str]) -> dict[Subject, str]:
    """Rendering problems (``Dashboard/g/name: problem``), one condition per dashboard."""
    found: dict[Subject, str] = {}
    for problem in problems:
        subject, _, text = problem.partition(": ")
        found.setdefault((SOURCE, subject), f"problem={text!r}")
    return found
