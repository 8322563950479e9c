"""``[web]``: the HTTP service (``deliverwatch web``): unsubscribe, tracking, API, webhooks.

Token key: the web tokens get a key of their own (``token_key``) when one is set; otherwise
one derived from ``[suppression] verp_key``. Why allow a separate key: the two have different
lifetimes. A VERP token only has to verify for the days a bounce can take; an unsubscribe or
click link in a message must keep working for months (RFC 8058 asks that the one-click URI
work as long as the message may be read), so rotating the web key is rarer and slower
(``old_token_keys`` keep verifying). Why allow reusing it: one secret less for a small
setup; the per-kind key derivation (``parsers.webtoken.token_key``) keeps the two kinds of
token apart either way.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from monitor.config.relay import parse_listen
from monitor.config.secret import Secret
from monitor.config.values import HostOrUnset

__all__ = [
    "WEBHOOK_TOPICS",
    "ApiToken",
    "CampaignTracking",
    "TrackingConfig",
    "WebConfig",
    "Webhook",
]

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

Topic = Literal[
    "delivered", "bounced", "complained", "unsubscribed", "opened", "clicked", "blocklist"
]
#: What a webhook may subscribe to: event kinds, and ``blocklist`` (newly listed / delisted).
WEBHOOK_TOPICS: tuple[Topic, ...] = (
    "delivered",
    "bounced",
    "complained",
    "unsubscribed",
    "opened",
    "clicked",
    "blocklist",
)


def _http_url(value: str, key: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{key}: expected an http:// or https:// URL, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiToken:
    """``[web.tokens.NAME]``: one bearer token of the API and of ``/reports/``."""

    #: The token itself; keep it out of the file: ``env:NAME`` or ``file:/path``.
    token: Secret
    #: ``read`` (GET the API and the reports) and/or ``write`` (add and delete suppressions;
    #: implies read).
    scopes: tuple[Literal["read", "write"], ...] = ("read",)

    def __post_init__(self) -> None:
        if len(self.token.reveal()) < 16:
            raise ValueError("token: use at least 16 characters (e.g. `openssl rand -hex 32`)")
        if not self.scopes:
            raise ValueError("scopes: give at least one of read, write")


@dataclass(frozen=True, slots=True, kw_only=True)
class Webhook:
    """``[web.webhooks.NAME]``: one receiver of signed event POSTs."""

    url: str
    #: HMAC-SHA256 key of the ``Deliverwatch-Signature`` header (README: webhooks).
    secret: Secret
    #: Topics sent to this URL; empty: all of them.
    events: tuple[Topic, ...] = ()
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        _http_url(self.url, "url")
        if len(self.secret.reveal()) < 16:
            raise ValueError("secret: use at least 16 characters")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be > 0")

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self.events or WEBHOOK_TOPICS)


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignTracking:
    """``[web.tracking.campaigns."NAME"]``: tracking of one campaign."""

    opens: bool = False
    clicks: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackingConfig:
    """``[web.tracking]``: open and click tracking, off unless a campaign asks for it."""

    #: The default for campaigns not listed below (and mail without a campaign).
    opens: bool = False
    clicks: bool = False
    campaigns: dict[str, CampaignTracking] = field(default_factory=dict)
    #: Client networks whose fetches are machines': Apple Mail Privacy Protection fetches
    #: every image of every message from Apple's own network (17.0.0.0/8) at delivery.
    machine_networks: tuple[str, ...] = ("17.0.0.0/8",)
    #: Extra user-agent substrings of machines (a built-in list of scanners is always used).
    machine_user_agents: tuple[str, ...] = ()
    #: A click this soon after delivery is a link scanner's (people take longer).
    machine_click_seconds: float = 10.0
    #: This many different links of one message clicked within ``burst_seconds``: a scanner
    #: following every link.
    burst_links: int = 3
    burst_seconds: float = 5.0

    def __post_init__(self) -> None:
        for net in self.machine_networks:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"machine_networks: {net!r} is not a network") from None
        if self.burst_links < 2:
            raise ValueError("burst_links must be at least 2")
        if self.machine_click_seconds < 0 or self.burst_seconds <= 0:
            raise ValueError("machine_click_seconds must be >= 0 and burst_seconds > 0")

    def of(self, campaign: str | None) -> CampaignTracking:
        """What is tracked for ``campaign``."""
        if campaign is not None and campaign in self.campaigns:
            return self.campaigns[campaign]
        return CampaignTracking(opens=self.opens, clicks=self.clicks)


@dataclass(frozen=True, slots=True, kw_only=True)
class WebConfig:
    """The web service, its links, API tokens and webhooks."""

    #: Where ``deliverwatch web`` listens, ``HOST:PORT`` (put a TLS proxy in front).
    listen: str = "127.0.0.1:8025"
    #: The public base URL of the links in mail, ``https://host[/prefix]``; "": no links
    #: can be made (the relay adds no List-Unsubscribe URL).
    public_url: str = ""
    #: Key of the web tokens; unset: derived from ``[suppression] verp_key`` (module doc).
    token_key: Secret | None = None
    #: Retired keys, still accepted (links in mail sent before a rotation keep working).
    old_token_keys: tuple[Secret, ...] = ()
    #: ``LOCAL+TOKEN@DOMAIN`` of the mailto unsubscribe; domain "": ``[sending]
    #: envelope_domain`` (the bounce mailbox the poller reads).
    unsubscribe_local_part: str = "unsub"
    unsubscribe_domain: HostOrUnset = ""
    #: Proxies whose ``X-Forwarded-For`` is believed (the client IP the machine-open rules
    #: need); empty: none.
    trusted_proxies: tuple[str, ...] = ()
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    tokens: dict[str, ApiToken] = field(default_factory=dict)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    #: The daemon's webhook job: seconds between runs, back-off of failed deliveries
    #: (doubling from the first to the longest wait), and when to give up.
    webhook_every_seconds: float = 5.0
    webhook_retry_initial_seconds: float = 30.0
    webhook_retry_max_seconds: float = 3600.0
    webhook_max_age_hours: float = 72.0

    def __post_init__(self) -> None:
        try:
            parse_listen(self.listen)
        except ValueError as exc:
            raise ValueError(f"listen: {exc}") from None
        if self.public_url:
            _http_url(self.public_url, "public_url")
        if not self.unsubscribe_local_part or set(self.unsubscribe_local_part) & set('+@ "\\'):
            raise ValueError("unsubscribe_local_part must be a plain local part")
        for key, names in (("tokens", self.tokens), ("webhooks", self.webhooks)):
            for name in names:
                if not _NAME.fullmatch(name):
                    raise ValueError(f"{key}.{name}: a name is 1-64 of A-Z a-z 0-9 _ -")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {proxy!r} is not an address") from None
        secrets = [t.token.reveal() for t in self.tokens.values()]
        if len(set(secrets)) != len(secrets):
            raise ValueError("tokens: two tokens have the same value")
        timings = (
            self.webhook_every_seconds,
            self.webhook_retry_initial_seconds,
            self.webhook_retry_max_seconds,
            self.webhook_max_age_hours,
        )
        if min(timings) <= 0:
            raise ValueError("webhook timings must be > 0")
