"""Alerts: what changed (``model``), how people are told (``channels``), and the outbox that
stores alerts with their cause and delivers them until every channel took them (``outbox``).

Detecting a change is the business of whoever knows what changed: ``monitor.checks.changes``
for blocklists and DNS authentication.
"""

from monitor.alerts.channels import (
    AlertChannels,
    Channel,
    DeliveryError,
    SmtpTarget,
    deliver,
    log_alerts,
    send_mail,
)
from monitor.alerts.model import Alert, AlertKind, Severity
from monitor.alerts.outbox import add_alerts, deliver_pending

__all__ = [
    "Alert",
    "AlertChannels",
    "AlertKind",
    "Channel",
    "DeliveryError",
    "Severity",
    "SmtpTarget",
    "add_alerts",
    "deliver",
    "deliver_pending",
    "log_alerts",
    "send_mail",
]
