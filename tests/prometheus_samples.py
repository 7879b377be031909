"""Prometheus answers the reference dashboards' sources expect, shared by the render and preview tests."""

from __future__ import annotations

from typing import Any

PROM_UP: dict[str, Any] = {
    "status": "success",
    "data": {
        "result": [
            {"metric": {"instance": "nas:9100"}, "value": [1715949015, "1"]},
            {"metric": {"instance": "pi:9100"}, "value": [1715949015, "0"]},
            {"metric": {"instance": "router:9100"}, "value": [1715949015, "1"]},
        ]
    },
}
PROM_LOAD: dict[str, Any] = {
    "status": "success",
    "data": {"result": [{"metric": {"instance": "nas:9100"}, "value": [1715949015, "0.4321"]}]},
}
