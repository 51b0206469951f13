"""Each service's own payload for an alert: Slack Block Kit, a Teams Adaptive Card in the
envelope Power Automate workflows take, and plain JSON for a generic webhook."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_alerts.events import Alert
    from odibi_core.config.models import AlertConfig

ICON = {
    "on_start": "🚀",
    "on_success": "✅",
    "on_failure": "❌",
    "on_quarantine": "🔶",
    "on_gate_block": "🚫",
    "on_threshold_breach": "⚠️",
}
#: Adaptive Card container styles by event.
_STYLE = {"on_start": "accent", "on_success": "good", "on_failure": "attention"}
#: Failing assertions listed per node before "and N more".
MAX_LISTED = 10


def build(config: AlertConfig, alert: Alert) -> dict[str, Any]:
    """The JSON body to post to ``config.url`` for ``alert``."""
    builder: Callable[[AlertConfig, Alert], dict[str, Any]] = {
        "slack": slack,
        "teams": teams_or_connector,
        "teams_workflow": teams,
        "webhook": webhook,
    }[config.type]
    return builder(config, alert)


def title(alert: Alert) -> str:
    return f"{ICON[alert.event]} ODIBI: {alert.pipeline} - {alert.status}"


def facts(alert: Alert) -> list[tuple[str, str]]:
    """(label, value) pairs every format shows."""
    out = [("Project", alert.project), ("Status", alert.status)]
    if alert.node:
        out.append(("Node", alert.node))
    if alert.environment:
        out.append(("Environment", alert.environment))
    if alert.duration_s is not None:
        out.append(("Duration", f"{alert.duration_s:.2f}s"))
    if alert.rows is not None:
        out.append(("Rows", f"{alert.rows:,}"))
    if alert.dq_score is not None:
        out.append(("DQ score", f"{alert.dq_score:.1f}"))
    gate = alert.details.get("gate_details")
    if gate:
        if gate.get("pass_rate") is not None:
            out.append(("Pass rate", f"{gate['pass_rate']:.1%}"))
        if gate.get("required_rate") is not None:
            out.append(("Required", f"{gate['required_rate']:.1%}"))
        if gate.get("failed_rows") is not None:
            out.append(("Rows failed", f"{gate['failed_rows']:,}"))
    quarantine = alert.details.get("quarantine_details")
    if quarantine:
        out.append(("Rows quarantined", f"{quarantine['rows_quarantined']:,}"))
        if quarantine.get("quarantine_path"):
            out.append(("Quarantine", str(quarantine["quarantine_path"])))
    out.append(("Time", alert.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")))
    out.append(("Run", alert.run_id))
    if alert.story_path:
        out.append(("Story", alert.story_path))
    return out


def quality_lines(alert: Alert) -> list[str]:
    """One line per checked node with failures: its DQ score and failing assertions."""
    lines = []
    for q in alert.quality:
        if not q["failing"]:
            continue
        score = f"DQ score {q['dq_score']:.1f}" if q["dq_score"] is not None else "no DQ score"
        listed = [_assertion(f) for f in q["failing"][:MAX_LISTED]]
        more = len(q["failing"]) - MAX_LISTED
        if more > 0:
            listed.append(f"and {more} more")
        lines.append(f"{q['node']} ({score}): failing " + "; ".join(listed))
    return lines


def _assertion(f: dict[str, Any]) -> str:
    cols = f"({', '.join(f['columns'])})" if f["columns"] else ""
    if f["status"] == "error":
        return f"{f['name']}{cols} could not run"
    if f.get("element_count"):
        return f"{f['name']}{cols} {f['violation_count']} of {f['element_count']}"
    return f"{f['name']}{cols}"


def mentions(config: AlertConfig, alert: Alert) -> list[str]:
    """Users to @mention: ``mention`` always, ``mention_on_failure`` on failure events."""
    users = list(config.metadata.mention)
    if alert.is_failure:
        users += [u for u in config.metadata.mention_on_failure if u not in users]
    return users


def _extra_metadata(config: AlertConfig) -> dict[str, Any]:
    """The user's own metadata keys (those that are no delivery setting)."""
    return dict(config.metadata.model_extra or {})


# ------------------------------------------------------------------ Slack


def slack(config: AlertConfig, alert: Alert) -> dict[str, Any]:
    fields = [{"type": "mrkdwn", "text": f"*{k}:*\n{v}"} for k, v in facts(alert)]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title(alert)[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": alert.message[:3000]}},
    ]
    # A section holds at most 10 fields.
    for i in range(0, len(fields), 10):
        blocks.append({"type": "section", "fields": fields[i : i + 10]})
    lines = quality_lines(alert)
    if lines:
        text = "*Failing assertions*\n" + "\n".join(f"• {line}" for line in lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    payload: dict[str, Any] = {"text": f"{title(alert)}: {alert.message}", "blocks": blocks}
    if config.metadata.channel:
        payload["channel"] = config.metadata.channel
    return payload


# ------------------------------------------------------------------ Teams

#: Hosts of Teams' classic incoming webhooks (Office 365 connectors), which take MessageCards.
_CONNECTOR_HOSTS = ("webhook.office.com", "outlook.office.com")
_THEME = {"on_start": "0078D7", "on_success": "2EB886", "on_failure": "D13438"}


def teams_or_connector(config: AlertConfig, alert: Alert) -> dict[str, Any]:
    """``type: teams``: a MessageCard for a classic connector URL, else the workflow card."""
    from urllib.parse import urlsplit

    host = (urlsplit(config.url).hostname or "").lower()
    if any(host == h or host.endswith("." + h) for h in _CONNECTOR_HOSTS):
        return message_card(config, alert)
    return teams(config, alert)


def message_card(config: AlertConfig, alert: Alert) -> dict[str, Any]:
    """The legacy connector format: a MessageCard with a theme colour and a fact list."""
    users = mentions(config, alert)
    sections: list[dict[str, Any]] = [
        {
            "activityTitle": title(alert),
            "activitySubtitle": f"Project: {alert.project} | Status: {alert.status}",
            "text": alert.message,
            "facts": [{"name": k, "value": v} for k, v in facts(alert)],
        }
    ]
    lines = quality_lines(alert)
    if lines:
        sections.append({"title": "Failing assertions", "text": "<br>".join(lines)})
    if users:
        sections.append({"text": "Attention: " + ", ".join(users)})
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title(alert),
        "themeColor": _THEME.get(alert.event, "FF8C00"),
        "title": title(alert),
        "sections": sections,
    }


def teams(config: AlertConfig, alert: Alert) -> dict[str, Any]:
    style = _STYLE.get(alert.event, "warning")
    body: list[dict[str, Any]] = [
        {
            "type": "Container",
            "style": style,
            "items": [
                {
                    "type": "TextBlock",
                    "text": title(alert),
                    "weight": "Bolder",
                    "size": "Medium",
                    "wrap": True,
                },
                {
                    "type": "TextBlock",
                    "text": f"Project: {alert.project} | Status: {alert.status}",
                    "isSubtle": True,
                    "spacing": "None",
                    "wrap": True,
                },
            ],
        },
        {"type": "TextBlock", "text": alert.message, "wrap": True},
        {
            "type": "FactSet",
            "facts": [{"title": k, "value": v} for k, v in facts(alert)],
        },
    ]
    for line in quality_lines(alert):
        body.append({"type": "TextBlock", "text": line, "wrap": True, "color": "Attention"})
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    users = mentions(config, alert)
    if users:
        body.append(
            {"type": "TextBlock", "text": " ".join(f"<at>{u}</at>" for u in users), "wrap": True}
        )
        content["msteams"]["entities"] = [
            {"type": "mention", "text": f"<at>{u}</at>", "mentioned": {"id": u, "name": u}}
            for u in users
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": content,
            }
        ],
    }


# ------------------------------------------------------------------ webhook


def webhook(config: AlertConfig, alert: Alert) -> dict[str, Any]:
    return {
        "event_type": alert.event,
        "project": alert.project,
        "pipeline": alert.pipeline,
        "node": alert.node,
        "status": alert.status,
        "message": alert.message,
        "timestamp": alert.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "run_id": alert.run_id,
        "environment": alert.environment,
        "duration": alert.duration_s,
        "rows": alert.rows,
        "dq_score": alert.dq_score,
        "story_path": alert.story_path,
        "quality": alert.quality,
        "errors": alert.errors,
        **alert.details,
        "metadata": _extra_metadata(config),
    }
