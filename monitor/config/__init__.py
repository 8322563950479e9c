"""Load ``config.toml`` once into frozen dataclasses, failing fast with the key path.

Validation is driven by the dataclass type hints of the section modules (``core``,
``mailbox``, ``report``, ``checks``; the root is ``model.Config``): every section is a
dataclass, every key a field, so adding a feature means adding a field there and a commented
line to the sample ``config.toml`` — nothing else; ``loader`` walks the hints. Unknown keys
are errors (a typo must not silently fall back to a default), and every error names the
dotted key path and what was expected::

    mailboxes.bounces.port: expected int, got "x"

Strings with a form (times of day, time zones, hosts, mail addresses, the database URL) are
typed with the checked kinds of ``values`` (``daily_at: ClockTime``): the loader runs the
kind's check on the value, so every value is validated here, at load, once, and
``config check`` refuses what a command or the daemon would reject later (issue 14).

Secrets (``Secret`` fields) may be written as ``env:NAME`` or ``file:/path``; they are read
where they are used, so a missing mailbox password stops ``poll`` (one line naming the key)
but not ``events list``; the daemon checks them all at start (``unavailable_secrets``), and
``config check`` warns of each. ``database.url`` is read at load (every command needs it).
``Secret`` never prints its value (``repr``/``str`` are masked), and ``config check`` shows
a webhook URL without its path, which is the webhook's credential.

Relative paths (and a relative SQLite database path) are resolved against the directory of
the config file, so ``deliverwatch --config /etc/deliverwatch/config.toml`` behaves the same
from any working directory.
"""

from __future__ import annotations

from monitor.config.checks import AlertsConfig, ChecksConfig, DkimDomain, SendingConfig
from monitor.config.content import ContentConfig
from monitor.config.core import DaemonConfig, DatabaseConfig, LoggingConfig, SuppressionConfig
from monitor.config.loader import (
    ENV_VAR,
    config_from_dict,
    config_to_dict,
    default_config_path,
    load_config,
    mask_database_url,
    unavailable_inputs,
    unavailable_secrets,
)
from monitor.config.mailbox import MailboxConfig, is_loopback_host
from monitor.config.model import Config
from monitor.config.ops import AlertRulesConfig, MetricsConfig, RetentionConfig
from monitor.config.relay import RelayConfig, RelayUser, parse_listen
from monitor.config.report import ReportConfig, ReportEmail, ReportThresholds
from monitor.config.secret import Secret, mask_url
from monitor.config.smtp import SmtpSettings
from monitor.config.web import ApiToken, CampaignTracking, TrackingConfig, WebConfig, Webhook

__all__ = [
    "ENV_VAR",
    "AlertRulesConfig",
    "AlertsConfig",
    "ApiToken",
    "CampaignTracking",
    "ChecksConfig",
    "Config",
    "ContentConfig",
    "DaemonConfig",
    "DatabaseConfig",
    "DkimDomain",
    "LoggingConfig",
    "MailboxConfig",
    "MetricsConfig",
    "RelayConfig",
    "RelayUser",
    "ReportConfig",
    "ReportEmail",
    "ReportThresholds",
    "RetentionConfig",
    "Secret",
    "SendingConfig",
    "SmtpSettings",
    "SuppressionConfig",
    "TrackingConfig",
    "WebConfig",
    "Webhook",
    "config_from_dict",
    "config_to_dict",
    "default_config_path",
    "is_loopback_host",
    "load_config",
    "mask_database_url",
    "mask_url",
    "parse_listen",
    "unavailable_inputs",
    "unavailable_secrets",
]
