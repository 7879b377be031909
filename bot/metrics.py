"""The bot's Prometheus metrics: one registry per bot, and what the runner and handlers record into it.

Every bot (``Runner``) owns a ``BotMetrics`` with its own ``CollectorRegistry``, never the
process-wide default one, so two bots in one process (tests) count apart. Label values are
bounded: route templates (``PATCH /channels/{channel_id}``, never ids), guild, kind, workflow
and step names from the specs, action verbs, outcomes, HTTP statuses and Discord error codes.
No member ids, no free text. ``hlb_objects``, ``hlb_leader`` and ``hlb_applied_revision`` are
read from the bot's state at scrape time (``Snapshot``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from hlb.compiler.model import Model, ObjectKey
from hlb.reconciler.state import Binding

if TYPE_CHECKING:
    from hlb.runtime.workflows import RunResult

# Binding states as ``hlb_objects`` names them (``hlb status`` words on the left).
OBJECT_STATUSES = {
    "in_sync": "synced",
    "pending": "pending",
    "pending removal": "pending",
    "drifted": "drifted",
    "error": "error",
}
# Discord wants an answer within 3 s; the goal is under 100 ms.
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
DISCORD_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PASS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_ID = re.compile(r"\d{5,}")  # a snowflake (or any long number) that slipped into a path


@dataclass(frozen=True)
class Snapshot:
    """What the bot is now, read at each scrape: leader or not, the revision it runs, its objects."""

    leader: bool = False
    revision: int | None = None
    model: Model = field(default_factory=Model)
    bindings: Mapping[ObjectKey, Binding] = field(default_factory=dict)


def route_label(method: str, path: str) -> str:
    """``PATCH /channels/{channel_id}``: the route template, any id in it replaced by ``{id}``."""
    return f"{method} {_ID.sub('{id}', path)}"


def object_counts(model: Model, bindings: Mapping[ObjectKey, Binding]) -> dict[tuple[str, str, str], int]:
    """(guild, kind, status) -> objects, as ``hlb status`` judges them from the last pass."""
    from hlb.runtime.status import object_status

    counts: dict[tuple[str, str, str], int] = {}
    for row in object_status(model, bindings):
        status = OBJECT_STATUSES.get(row.discord)
        if status is not None and row.key.kind != "Guild":
            label = (row.key.guild, row.key.kind, status)
            counts[label] = counts.get(label, 0) + 1
    return counts


class _StateCollector:
    """``hlb_objects``, ``hlb_leader`` and ``hlb_applied_revision`` from a ``Snapshot`` at scrape time."""

    def __init__(self, source: Callable[[], Snapshot]) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        now = self.source()
        objects = GaugeMetricFamily(
            "hlb_objects", "Managed objects by guild, kind and status.", labels=["guild", "kind", "status"]
        )
        for (guild, kind, status), count in sorted(object_counts(now.model, now.bindings).items()):
            objects.add_metric([guild, kind, status], count)
        yield objects
        yield GaugeMetricFamily(
            "hlb_leader", "1 on the replica that leads, 0 on the others.", int(now.leader)
        )
        revision = GaugeMetricFamily("hlb_applied_revision", "The applied revision the bot runs.")
        if now.revision is not None:
            revision.add_metric([], now.revision)
        yield revision


@dataclass(frozen=True)
class BotMetrics:
    """The metrics of one bot, in their own registry."""

    registry: CollectorRegistry
    api_errors: Counter
    retries: Counter
    operation_seconds: Histogram
    actions: Counter
    pass_seconds: Histogram
    last_reconcile: Gauge
    ack_seconds: Histogram
    workflow_runs: Counter
    step_seconds: Histogram
    db_reconnects: Counter
    gateway_reconnects: Counter

    @classmethod
    def create(cls, source: Callable[[], Snapshot] = Snapshot) -> BotMetrics:
        """New metrics in a new registry; ``source`` tells the bot's state at each scrape."""
        r = CollectorRegistry()
        made = cls(
            registry=r,
            api_errors=Counter(
                "discord_api_errors",
                "Discord requests that failed, by route template, HTTP status (0: no answer) and code.",
                ["route", "status", "code"],
                registry=r,
            ),
            retries=Counter(
                "discord_operation_retries",
                "Discord requests sent again after a failure.",
                ["route"],
                registry=r,
            ),
            operation_seconds=Histogram(
                "discord_operation_duration_seconds",
                "Time of one Discord request, rate-limit waits included.",
                ["route"],
                buckets=DISCORD_BUCKETS,
                registry=r,
            ),
            actions=Counter(
                "hlb_reconcile_actions",
                "Discord writes of reconcile passes, by guild, kind, action and outcome (ok, error).",
                ["guild", "kind", "action", "outcome"],
                registry=r,
            ),
            pass_seconds=Histogram(
                "hlb_reconcile_pass_seconds", "Time of one reconcile pass.", buckets=PASS_BUCKETS, registry=r
            ),
            last_reconcile=Gauge(
                "hlb_last_reconcile_timestamp_seconds",
                "When a pass last reconciled the guild (Unix time).",
                ["guild"],
                registry=r,
            ),
            ack_seconds=Histogram(
                "hlb_interaction_ack_seconds",
                "From receiving an interaction to its first response.",
                buckets=ACK_BUCKETS,
                registry=r,
            ),
            workflow_runs=Counter(
                "hlb_workflow_runs",
                "Workflow runs by workflow (guild/name) and outcome (ok, error, refused).",
                ["workflow", "outcome"],
                registry=r,
            ),
            step_seconds=Histogram(
                "hlb_workflow_step_seconds",
                "Time of one workflow step that ran, by workflow and step id.",
                ["workflow", "step"],
                buckets=STEP_BUCKETS,
                registry=r,
            ),
            db_reconnects=Counter(
                "hlb_db_reconnects", "Database connections reopened after they were lost.", registry=r
            ),
            gateway_reconnects=Counter(
                "hlb_gateway_reconnects",
                "Gateway sessions resumed or started again after a drop.",
                registry=r,
            ),
        )
        r.register(_StateCollector(source))
        return made

    def api_error(self, route: str, status: int, code: int) -> None:
        self.api_errors.labels(route, str(status), str(code)).inc()

    def acted(self, key: ObjectKey, verb: str, ok: bool) -> None:
        """One action of a pass ended (``verb`` as the plan says it: "create channel", ...)."""
        self.actions.labels(key.guild, key.kind, verb, "ok" if ok else "error").inc()

    def passed(self, seconds: float, guilds: Iterable[str], at: float) -> None:
        """A pass took ``seconds`` and reconciled ``guilds`` at Unix time ``at``."""
        self.pass_seconds.observe(seconds)
        for guild in guilds:
            self.last_reconcile.labels(guild).set(at)

    def workflow_ran(self, workflow: ObjectKey, result: RunResult) -> None:
        """A run ended: its outcome, and the time of each step that ran (skipped ones did not)."""
        name = f"{workflow.guild}/{workflow.name}"
        self.workflow_runs.labels(name, result.status).inc()
        for step in result.steps:
            if step.status != "skipped":
                self.step_seconds.labels(name, step.id).observe(step.duration_ms / 1000)
