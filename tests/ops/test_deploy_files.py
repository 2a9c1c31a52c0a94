"""The shipped Grafana dashboard and alert rules only use metrics /metrics really exposes, and README.md
documents every one of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot import telemetry

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NAME = re.compile(r"\b(threaddesk_[a-z_]+)")


def exposed() -> set[str]:
    stats = telemetry.DeskStats(
        opened={("slack", "high"): 1},
        resolved={("slack", "high"): 1},
        open_now={"new": 1},
        sla_alerts={("breach", "resolution"): 1},
        kb_feedback={"accepted": 1},
        outbox_depth={"slack": 1},
        outbox_oldest_seconds={"slack": 1.0},
        outbox_failed={"slack": 1},
    )
    telemetry.delivery("slack", "ok")
    telemetry.rate_limited("slack")
    telemetry.COMMAND_SECONDS.labels(command="ticket claim").observe(0.01)
    telemetry.KB_SUGGEST_SECONDS.observe(0.01)
    names = set()
    for family in text_string_to_metric_families(telemetry.render(stats).decode()):
        names.update(s.name for s in family.samples)
    return names


def used(text: str) -> set[str]:
    return set(NAME.findall(text))


def test_dashboard_and_alerts_use_real_metrics_and_readme_documents_them() -> None:
    names = exposed()
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = yaml.safe_load((DEPLOY / "prometheus-alerts.yml").read_text(encoding="utf-8"))
    alerts = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    assert {r["alert"] for g in rules["groups"] for r in g["rules"]} >= {
        "ThreadDeskOutboxStuck",
        "ThreadDeskSlaBreachRate",
        "ThreadDeskDeliveryFailures",
    }
    for expr in exprs + alerts:
        assert used(expr) <= names, f"{expr}: unknown metric {used(expr) - names}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    families = {
        n.removesuffix("_total").removesuffix("_bucket").removesuffix("_count").removesuffix("_sum") for n in names
    }
    families = {n for n in families if n.startswith("threaddesk_") and not n.endswith("_created")}
    missing = sorted(n for n in families if f"`{n}" not in readme)
    assert not missing, f"README.md does not document {missing}"
