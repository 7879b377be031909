"""The shipped Grafana dashboard and Prometheus config use only metrics and labels the bot exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from reconcile_world import GUILD_ID, ROOT
from ruamel.yaml import YAML

from hlb.bot.health import DEFAULT_ADDR, parse_address
from hlb.bot.metrics import BotMetrics, Snapshot
from hlb.compiler.compile import compile_paths
from hlb.compiler.model import ObjectKey
from hlb.runtime.workflows import RunResult, StepResult

EXAMPLES = ROOT / "examples"
NAME = re.compile(r"\b(?:hlb|discord)_[a-z0-9_]+\b")
BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
SELECTOR = re.compile(r"\{([^}]*)\}")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
PROMETHEUS_LABELS = {"le", "instance", "job"}  # added by histograms and by the scrape


def exported() -> tuple[set[str], set[str]]:
    """Sample names and label names of a bot that did one of everything it counts."""
    model = compile_paths([str(ROOT / "specs")], {"HLB_GUILD_ID": str(GUILD_ID)}).model
    metrics = BotMetrics.create(lambda: Snapshot(True, 3, model, {}))
    channel = ObjectKey("homelab", "Channel", "chat")
    metrics.api_error("PATCH /channels/{channel_id}", 503, 0)
    metrics.retries.labels("PATCH /channels/{channel_id}").inc()
    metrics.operation_seconds.labels("PATCH /channels/{channel_id}").observe(0.1)
    metrics.acted(channel, "update channel", ok=True)
    metrics.passed(0.5, ["homelab"], 1_700_000_000.0)
    metrics.ack_seconds.observe(0.05)
    steps = (StepResult("1", "refresh", "ok", 12.0), StepResult("2", "reply", "skipped", 0.0))
    metrics.workflow_ran(ObjectKey("homelab", "Workflow", "refresh-status"), RunResult(1, "ok", None, steps))
    metrics.db_reconnects.inc()
    metrics.gateway_reconnects.inc()
    text = generate_latest(metrics.registry).decode()
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    return {s.name for s in samples}, {label for s in samples for label in s.labels}


def expressions(node: Any) -> list[str]:
    """Every PromQL text of a dashboard: targets' ``expr`` and variables' queries."""
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        if isinstance(node.get("definition"), str):
            found.append(node["definition"])
        return found + [e for value in node.values() for e in expressions(value)]
    if isinstance(node, list):
        return [e for value in node for e in expressions(value)]
    return []


def labels_used(expr: str) -> set[str]:
    used = {label.strip() for group in BY.findall(expr) for label in group.split(",") if label.strip()}
    return used | {m for selector in SELECTOR.findall(expr) for m in MATCHER.findall(selector)}


def test_every_metric_the_examples_use_is_one_the_bot_exports() -> None:
    names, labels = exported()
    dashboard = json.loads((EXAMPLES / "grafana" / "hlb.json").read_text(encoding="utf-8"))
    exprs = expressions(dashboard["panels"]) + expressions(dashboard["templating"])
    assert exprs
    used = {name for expr in exprs for name in NAME.findall(expr)}
    used |= set(NAME.findall((EXAMPLES / "prometheus.yml").read_text(encoding="utf-8")))
    assert used - names == set(), f"not exported: {sorted(used - names)}"
    unknown = {label for expr in exprs for label in labels_used(expr)} - labels - PROMETHEUS_LABELS
    assert unknown == set(), f"labels the bot does not export: {sorted(unknown)}"
    wanted = {
        "hlb_reconcile_actions_total",  # by outcome
        "hlb_reconcile_pass_seconds_bucket",
        "hlb_objects",
        "discord_api_errors_total",
        "hlb_interaction_ack_seconds_bucket",
        "hlb_workflow_runs_total",
        "hlb_leader",
        "hlb_db_reconnects_total",
        "hlb_gateway_reconnects_total",
    }
    assert wanted <= used, f"the dashboard lacks {sorted(wanted - used)}"


def test_the_grafana_dashboard_is_one_grafana_imports() -> None:
    dashboard = json.loads((EXAMPLES / "grafana" / "hlb.json").read_text(encoding="utf-8"))
    assert dashboard["title"] and dashboard["uid"] and isinstance(dashboard["schemaVersion"], int)
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in panels:
        assert panel["type"] in {"timeseries", "stat"} and panel["title"]
        place = panel["gridPos"]
        assert set(place) == {"x", "y", "w", "h"} and place["x"] + place["w"] <= 24
        assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}"
        for target in panel["targets"]:
            assert set(re.findall(r"\$(\w+)", target["expr"])) <= variables


def test_the_prometheus_config_scrapes_the_default_address() -> None:
    config = YAML(typ="safe").load(Path(EXAMPLES / "prometheus.yml").read_text(encoding="utf-8"))
    [job] = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    [targets] = job["static_configs"]
    assert str(parse_address(DEFAULT_ADDR)) in targets["targets"]
