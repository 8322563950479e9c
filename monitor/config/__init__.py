"""Load ``config.toml`` once into frozen dataclasses, failing fast with the key path.

Validation is driven by the dataclass type hints of the section modules (``core``,
``mailbox``, ``report``, ``checks``; the root is ``model.Config``): every section is a
dataclass, every key a field, so adding a feature means adding a field there and a commented
line to the sample ``config.toml`` — nothing else; ``loader`` walks the hints. Unknown keys
are errors (a typo must not silently fall back to a default), and every error names the
dotted key path and what was expected::

    mailboxes.bounces.port: expected int, got "x"

Secrets (``Secret`` fields) may be written as ``env:NAME`` or ``file:/path``; they are
resolved at load time so a missing variable is reported before anything starts, and
``Secret`` never prints its value (``repr``/``str`` are masked).

Relative paths (and a relative SQLite database path) are resolved against the directory of
the config file, so ``deliverwatch --config /etc/deliverwatch/config.toml`` behaves the same
from any working directory.
"""

from __future__ import annotations

from monitor.config.checks import AlertsConfig, ChecksConfig, DkimDomain, SendingConfig
from monitor.config.core import DaemonConfig, DatabaseConfig, LoggingConfig, SuppressionConfig
from monitor.config.loader import (
    ENV_VAR,
    config_from_dict,
    config_to_dict,
    default_config_path,
    load_config,
)
from monitor.config.mailbox import MailboxConfig, is_loopback_host
from monitor.config.model import Config
from monitor.config.relay import RelayConfig, RelayUser, parse_listen
from monitor.config.report import ReportConfig, ReportEmail, ReportThresholds
from monitor.config.secret import Secret
from monitor.config.smtp import SmtpSettings
from monitor.config.web import ApiToken, CampaignTracking, TrackingConfig, WebConfig, Webhook

__all__ = [
    "ENV_VAR",
    "AlertsConfig",
    "ApiToken",
    "CampaignTracking",
    "ChecksConfig",
    "Config",
    "DaemonConfig",
    "DatabaseConfig",
    "DkimDomain",
    "LoggingConfig",
    "MailboxConfig",
    "RelayConfig",
    "RelayUser",
    "ReportConfig",
    "ReportEmail",
    "ReportThresholds",
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
    "parse_listen",
]
