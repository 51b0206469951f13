"""Alerts: the project's ``alerts:`` channels (Slack, Teams, plain webhooks) told about a
pipeline run's start and outcome and about what quality checks did to a node.

Joined to core like any third-party plugin, through its entry point (``alerts``) and the run's
lifecycle hooks; blocked with ``ODIBI_BLOCK_PLUGINS=alerts``. Delivery happens on background
threads, with a timeout per request and one retry, and the run waits for it only a short,
fixed time at its end: an alert never fails a run nor holds it up for long.
"""
