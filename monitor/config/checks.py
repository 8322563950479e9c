"""``[sending]``, ``[checks]`` and ``[alerts]``: what the DNS checks look at and whom they tell."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from monitor.config.ops import AlertRulesConfig
from monitor.config.secret import Secret, mask_url
from monitor.config.smtp import SmtpSettings
from monitor.config.values import ClockTimeOrOff, MailAddress, ReadableFile, nameserver_address

__all__ = [
    "AlertsConfig",
    "ChecksConfig",
    "DkimDomain",
    "SendingConfig",
    "catalogue_zones",
    "nameserver_address",
]


def catalogue_zones() -> frozenset[str]:
    """Zone names of the shipped DNSBL catalogue (``monitor/checks/data/dnsbl_zones.json``),
    read as data so that the config can name a bad zone at load time."""
    import json
    from importlib import resources

    text = (
        resources.files("monitor.checks")
        .joinpath("data/dnsbl_zones.json")
        .read_text(encoding="utf-8")
    )
    return frozenset(str(z["zone"]) for z in json.loads(text)["zones"])


def _domain_ok(name: str) -> bool:
    """A plausible DNS name (the checks reject worse ones precisely)."""
    labels = name.rstrip(".").split(".")
    return len(labels) >= 2 and all(0 < len(x) <= 63 and " " not in x for x in labels)


@dataclass(frozen=True, slots=True, kw_only=True)
class DkimDomain:
    """``[sending.dkim."<domain>"]``: selectors published for one signing domain."""

    #: Selectors to check; the first is the one the relay signs with now (others: rotation).
    selectors: tuple[str, ...] = ()
    #: PEM private key signed with under the first selector; its public half must be the
    #: published key (RFC 6376 3.6.1). Optional.
    key_file: ReadableFile | None = None
    #: A second signature, ed25519-sha256 (RFC 8463), beside the RSA one: its own selector
    #: (published with ``k=ed25519``) and PEM key (``deliverwatch dkim keygen --type ed25519``).
    ed25519_selector: str = ""
    ed25519_key_file: ReadableFile | None = None

    def __post_init__(self) -> None:
        if not self.selectors or "" in self.selectors:
            raise ValueError("selectors: at least one non-empty selector is required")
        if bool(self.ed25519_selector) != (self.ed25519_key_file is not None):
            raise ValueError("ed25519_selector and ed25519_key_file go together")


@dataclass(frozen=True, slots=True, kw_only=True)
class SendingConfig:
    """What we send from and as: the targets of the blocklist and DNS-authentication checks."""

    #: Sending IPs (IPv4/IPv6): blocklists, SPF, PTR/FCrDNS.
    ips: tuple[str, ...] = ()
    #: HELO/EHLO name each IP announces (``"192.0.2.10" = "mta1.example.com"``), checked
    #: against its PTR (forward-confirmed, RFC 8601 2.7.3 / common receiver practice).
    helo: dict[str, str] = field(default_factory=dict)
    #: Envelope (MAIL FROM / bounce) domain: SPF for every IP, DMARC SPF alignment.
    envelope_domain: str = ""
    #: Header From domains: DMARC policy and alignment, MX, MTA-STS, TLS-RPT.
    from_domains: tuple[str, ...] = ()
    #: Domains in links of our mail: domain blocklists (URIBL, DBL...).
    link_domains: tuple[str, ...] = ()
    #: DKIM signing domains and their selectors.
    dkim: dict[str, DkimDomain] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import ipaddress

        for ip in self.ips:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise ValueError(f"ips: {ip!r} is not an IP address") from None
        stray = sorted(set(self.helo) - set(self.ips))
        if stray:
            raise ValueError(f"helo: {stray[0]!r} is not one of ips")
        names = [*self.from_domains, *self.link_domains, *self.dkim]
        if self.envelope_domain:
            names.append(self.envelope_domain)
        for name in [*names, *self.helo.values()]:
            if not _domain_ok(name):
                raise ValueError(f"{name!r} is not a domain name")

    @property
    def domains(self) -> tuple[str, ...]:
        """Every domain we send as, once (envelope, From, DKIM), in that order."""
        both = [self.envelope_domain, *self.from_domains, *self.dkim]
        return tuple(dict.fromkeys(d.lower().rstrip(".") for d in both if d))


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecksConfig:
    """How blocklist and DNS-authentication checks run (daemon and ``deliverwatch check``)."""

    #: Resolvers to ask, ``IP[:PORT]``; empty: the system's (/etc/resolv.conf). Spamhaus and
    #: URIBL refuse queries relayed by big public resolvers: use your own.
    nameservers: tuple[str, ...] = ()
    #: Seconds per DNS lookup, retries included.
    timeout_seconds: float = 5.0
    #: DNS queries in flight at once.
    concurrency: int = 100
    #: Minutes between blocklist runs of the daemon; 0 turns them off.
    blocklist_every_minutes: int = 60
    #: Local time (``[daemon] timezone``) of the daily authentication checks; "" turns off.
    auth_at: ClockTimeOrOff = "04:00"
    #: Catalogue zones to use; empty: every active zone (monitor/checks/data/dnsbl_zones.json).
    zones: tuple[str, ...] = ()
    #: Zones to leave out of that selection.
    exclude_zones: tuple[str, ...] = ()
    #: Spamhaus Data Query Service key (``<key>.zen.dq.spamhaus.net``); never logged.
    dqs_key: Secret | None = None
    #: Keys of other keyed zones, by catalogue zone (``"{key}.combined.mail.abusix.zone"``).
    zone_keys: dict[str, Secret] = field(default_factory=dict)
    #: DMARC reading: ``rfc7489`` or ``rfc9989`` (DMARCbis tree walk and tags).
    dmarc_spec: Literal["rfc7489", "rfc9989"] = "rfc7489"
    #: Extra CA bundle trusted for MTA-STS policy fetches (besides the system store).
    mta_sts_ca_file: ReadableFile | None = None

    def __post_init__(self) -> None:
        for server in self.nameservers:
            try:
                nameserver_address(server)
            except ValueError as exc:
                raise ValueError(f"nameservers: {exc}") from None
        if self.timeout_seconds <= 0 or self.concurrency < 1 or self.blocklist_every_minutes < 0:
            raise ValueError(
                "need timeout_seconds > 0, concurrency >= 1 and blocklist_every_minutes >= 0"
            )
        known = catalogue_zones()
        for key, names in (
            ("zones", self.zones),
            ("exclude_zones", self.exclude_zones),
            ("zone_keys", tuple(self.zone_keys)),
        ):
            unknown = [n for n in names if n not in known]
            if unknown:
                raise ValueError(f"{key}: {unknown[0]!r} is not in the DNSBL catalogue")


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertsConfig(SmtpSettings):
    """Where change alerts (newly listed, delisted, SPF failing...) go; always to the log."""

    #: POST each batch of alerts as JSON here (http or https); "" for none.
    webhook_url: str = ""
    #: Mail alerts to these addresses through the SMTP server (``SmtpSettings``); empty for none.
    email_to: tuple[MailAddress, ...] = ()
    #: Delivery attempts per alert (one per run) before it is given up and logged.
    max_attempts: int = 48
    #: Sign each webhook POST (``Deliverwatch-Signature: t=...,v1=HMAC-SHA256``, as the web
    #: webhooks); unset: unsigned.
    webhook_secret: Secret | None = None
    #: Slack or Mattermost incoming webhook (``{"text": ..., "blocks": [...]}``); "" for none.
    slack_webhook_url: str = ""
    rules: AlertRulesConfig = field(default_factory=AlertRulesConfig)

    def __post_init__(self) -> None:
        SmtpSettings.__post_init__(self)
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError(  # not the URL itself: its path is the credential
                f"webhook_url: expected an http(s) URL, got {mask_url(self.webhook_url)!r}"
            )
        if self.max_attempts < 1:
            raise ValueError("need max_attempts >= 1")
        if self.slack_webhook_url and not self.slack_webhook_url.startswith(
            ("http://", "https://")
        ):
            masked = mask_url(self.slack_webhook_url)
            raise ValueError(f"slack_webhook_url: expected an http(s) URL, got {masked!r}")
