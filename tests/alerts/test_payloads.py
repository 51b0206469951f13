"""The payload each channel type gets for one alert, built as ``odibi run`` builds it; the
format a classic Teams connector takes, which no local receiver can stand in for."""

from __future__ import annotations

from odibi_alerts.events import Alert
from odibi_alerts.payloads import build
from odibi_core.config.models import AlertConfig


def failing_alert() -> Alert:
    return Alert(
        "on_failure",
        "shop",
        "sales",
        "6f1c2a7e-0000-4000-8000-000000000000",
        "pipeline sales failed: node orders: quality checks failed",
        node=None,
        duration_s=1.5,
        quality=[
            {
                "node": "orders",
                "dq_score": 80.0,
                "failing": [
                    {
                        "name": "not_null_1",
                        "type": "not_null",
                        "columns": ["amount"],
                        "severity": "error",
                        "status": "failed",
                        "violation_count": 1,
                        "element_count": 5,
                        "message": None,
                    }
                ],
            }
        ],
    )


def test_a_classic_teams_connector_gets_a_message_card():
    config = AlertConfig(
        type="teams",
        url="https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def/ghi",
        metadata={"mention_on_failure": "oncall@example.com"},
    )
    card = build(config, failing_alert())
    assert card["@type"] == "MessageCard" and card["themeColor"] == "D13438"
    first, failing, attention = card["sections"]
    assert {"name": "Duration", "value": "1.50s"} in first["facts"]
    assert failing["text"] == "orders (DQ score 80.0): failing not_null_1(amount) 1 of 5"
    assert attention["text"] == "Attention: oncall@example.com"


def test_a_workflow_url_gets_the_adaptive_card_under_either_teams_name():
    url = "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke"
    for kind in ("teams", "teams_workflow"):
        body = build(AlertConfig(type=kind, url=url), failing_alert())
        assert body["type"] == "message"
        assert body["attachments"][0]["content"]["type"] == "AdaptiveCard"
