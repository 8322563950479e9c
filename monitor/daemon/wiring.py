"""The one place that turns the config into the plain arguments every room takes.

Below the CLI and the daemon nothing reads a ``Config`` (STYLE.md 5): the events core gets an
``EventContext``, the checks a ``DnsSettings`` and their plans, the alert outbox its
``AlertChannels``, the report mail an ``SmtpTarget``. Secrets are revealed here, when the
thing that uses them is built, and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import AlertChannels, SmtpTarget
from monitor.alerts.rules import RuleLimits
from monitor.checks.auth import AuthPlan
from monitor.checks.dnsbl import DnsblKeys
from monitor.checks.feeds import FeedsPlan, PostmasterPlan, SndsPlan
from monitor.checks.watch import BlocklistPlan, DnsSettings
from monitor.config import Config, SmtpSettings, parse_listen
from monitor.config.relay import ShapingConfig
from monitor.errors import ConfigError
from monitor.events import EventContext
from monitor.store.retention import RetentionPolicy
from monitor.store.webhooks import WebhookRoute
from monitor.suppression.policy import Rules
from parsers.dnsrec.dmarc import DmarcSpec
from parsers.webtoken import LinkMaker

if TYPE_CHECKING:  # the relay's and the web service's settings are imported where built
    # (``deliverwatch status`` and the other commands need none of those stacks)
    from monitor.relay.compose import ComposeSettings, DkimSigner
    from monitor.relay.delivery import DeliverySettings
    from monitor.relay.delivery.shaping import ShapingSettings
    from monitor.relay.server import SubmissionSettings
    from monitor.relay.service import Listener
    from monitor.web.settings import WebSettings
    from monitor.web.webhooks import Endpoint, RetryPolicy

__all__ = [
    "alert_channels",
    "auth_plan",
    "blocklist_plan",
    "compose_settings",
    "delivery_settings",
    "dkim_signer",
    "dns_settings",
    "event_context",
    "feeds_plan",
    "relay_listeners",
    "relay_tls",
    "retention_policy",
    "rule_limits",
    "smtp_target",
    "submission_settings",
    "web_links",
    "web_settings",
    "web_token_keys",
    "webhook_endpoints",
    "webhook_retry",
    "webhook_routes",
]


def event_context(config: Config) -> EventContext:
    """The rules and keys of ``[suppression]``, the same for every source of events."""
    sup = config.suppression
    return EventContext(
        rules=Rules(
            soft_bounce_threshold=sup.soft_bounce_threshold,
            soft_bounce_window_days=sup.soft_bounce_window_days,
            trust_any=sup.trust == "any",
            complaint_types=frozenset(sup.complaint_feedback_types),
        ),
        verp_key=sup.verp_key.reveal().encode("utf-8") if sup.verp_key else None,
        lowercase_local=sup.lowercase_local_part,
        web_keys=web_token_keys(config),
        webhooks=webhook_routes(config),
    )


def webhook_routes(config: Config) -> tuple[WebhookRoute, ...]:
    """``[web.webhooks.NAME]``: which topics go to which endpoint (written to the outbox by
    every source of events, and by the blocklist alerts)."""
    return tuple(WebhookRoute(name, hook.topics) for name, hook in config.web.webhooks.items())


def web_token_keys(config: Config) -> tuple[bytes, ...]:
    """The keys of the web tokens, current first (``monitor.config.web``): ``[web]
    token_key`` and ``old_token_keys``, else one derived from ``[suppression] verp_key``;
    () when neither is set (no link can be made or verified)."""
    web = config.web
    keys: list[bytes] = []
    if web.token_key is not None:
        keys.append(web.token_key.reveal().encode("utf-8"))
    elif config.suppression.verp_key is not None:
        verp = config.suppression.verp_key.reveal().encode("utf-8")
        keys.append(hmac.new(verp, b"deliverwatch web token key", hashlib.sha256).digest())
    keys += [k.reveal().encode("utf-8") for k in web.old_token_keys]
    return tuple(k for k in keys if k)


def web_links(config: Config) -> LinkMaker | None:
    """What the relay calls to put List-Unsubscribe (and tracking) links in a message:
    ``web_links(cfg).list_unsubscribe(sent_id, recipient)``; None when ``[web] public_url``
    or a token key is missing."""
    keys = web_token_keys(config)
    if not keys or not config.web.public_url:
        return None
    domain = config.web.unsubscribe_domain or config.sending.envelope_domain
    return LinkMaker(
        key=keys[0],
        base_url=config.web.public_url,
        unsubscribe_domain=domain.lower().rstrip("."),
        local_part=config.web.unsubscribe_local_part,
    )


def dns_settings(cfg: Config) -> DnsSettings:
    c = cfg.checks
    return DnsSettings(
        nameservers=c.nameservers, timeout=c.timeout_seconds, concurrency=c.concurrency
    )


def blocklist_plan(cfg: Config) -> BlocklistPlan:
    """Sending IPs, then every domain we send as, bounce to or link to (issue 6, point 1)."""
    s, c = cfg.sending, cfg.checks
    targets = [*s.ips, *s.domains, *(d.lower().rstrip(".") for d in s.link_domains)]
    return BlocklistPlan(
        targets=tuple(dict.fromkeys(targets)),
        zones=c.zones,
        exclude_zones=c.exclude_zones,
        keys=DnsblKeys(
            spamhaus_dqs=c.dqs_key.reveal() if c.dqs_key else None,
            zone_keys={zone: key.reveal() for zone, key in c.zone_keys.items()},
        ),
    )


def auth_plan(cfg: Config) -> AuthPlan:
    """SPF for the envelope domain (else the From domains, which then are the envelope)."""
    s = cfg.sending
    envelope = s.envelope_domain.lower().rstrip(".")
    from_domains = tuple(d.lower().rstrip(".") for d in s.from_domains)
    return AuthPlan(
        spf_domains=(envelope,) if envelope else from_domains,
        from_domains=from_domains,
        ips=s.ips,
        helo=dict(s.helo),
        dkim=tuple(
            (d.lower(), sel)
            for d, dk in s.dkim.items()
            for sel in (*dk.selectors, *((dk.ed25519_selector,) if dk.ed25519_selector else ()))
        ),
        signing_key_files={
            (d.lower(), sel): path
            for d, dk in s.dkim.items()
            for sel, path in (
                (dk.selectors[0], dk.key_file),
                (dk.ed25519_selector, dk.ed25519_key_file),
            )
            if path is not None
        },
        dmarc_spec=DmarcSpec(cfg.checks.dmarc_spec),
    )


def smtp_target(settings: SmtpSettings, recipients: tuple[str, ...]) -> SmtpTarget:
    """``[alerts]`` or ``[report.email]``: the one SMTP settings type the code uses."""
    return SmtpTarget(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.sender,
        recipients=recipients,
        starttls=settings.starttls,
        username=settings.username or None,
        password=settings.password.reveal() if settings.password else None,
        timeout=settings.timeout_seconds,
    )


def alert_channels(cfg: Config) -> AlertChannels:
    a = cfg.alerts
    smtp = smtp_target(a, a.email_to) if a.email_to else None
    return AlertChannels(
        webhook_url=a.webhook_url or None,
        smtp=smtp,
        timeout=a.timeout_seconds,
        slack_url=a.slack_webhook_url or None,
        webhook_secret=a.webhook_secret.reveal().encode("utf-8") if a.webhook_secret else None,
    )


def submission_settings(cfg: Config) -> SubmissionSettings:
    from monitor.relay.server import SubmissionSettings

    r = cfg.relay
    return SubmissionSettings(
        hostname=r.hostname or socket.getfqdn(),
        users=dict(r.users),
        max_message_bytes=r.max_message_bytes,
        max_recipients=r.max_recipients,
        queue_lifetime=timedelta(hours=r.queue_lifetime_hours),
        lowercase_local=cfg.suppression.lowercase_local_part,
        dkim_domains=frozenset(
            d.lower().rstrip(".") for d, spec in cfg.sending.dkim.items() if spec.key_file
        ),
    )


def dkim_signer(cfg: Config) -> DkimSigner:
    """The signing keys of ``[sending.dkim]``, read and checked once: the first selector's
    ``key_file`` (RSA) and the optional ``ed25519_key_file``; a domain without a key file
    is only checked, not signed for. An unreadable key stops the relay at start."""
    from monitor.relay.compose import DkimKey, DkimSigner, load_key

    keys: dict[str, list[DkimKey]] = {}
    for domain, spec in cfg.sending.dkim.items():
        pairs = [(spec.selectors[0], spec.key_file, "key_file"),
                 (spec.ed25519_selector, spec.ed25519_key_file, "ed25519_key_file")]  # fmt: skip
        for selector, path, name in pairs:
            if path is None:
                continue
            try:
                key = load_key(path, domain=domain, selector=selector)
            except ValueError as exc:
                raise ConfigError(f'sending.dkim."{domain}".{name}', str(exc)) from None
            keys.setdefault(key.domain, []).append(key)
    return DkimSigner(keys)


def compose_settings(cfg: Config) -> ComposeSettings:
    """What the delivery engine puts in each copy: links, tracking, Feedback-ID, DKIM."""
    from monitor.relay.compose import ComposeSettings

    users = cfg.relay.users
    return ComposeSettings(
        links=web_links(cfg),
        tracking=cfg.web.tracking,
        signer=dkim_signer(cfg),
        unsubscribe_transactional=frozenset(
            n for n, u in users.items() if u.unsubscribe_transactional
        ),
        feedback_sender=cfg.relay.feedback_sender,
    )


def relay_listeners(cfg: Config) -> list[Listener]:
    """``listen`` (STARTTLS) and ``tls_listen`` (implicit TLS) of ``[relay]``."""
    from monitor.relay.service import Listener

    plain = [Listener(*parse_listen(x)) for x in cfg.relay.listen]
    return plain + [Listener(*parse_listen(x), implicit_tls=True) for x in cfg.relay.tls_listen]


def relay_tls(cfg: Config) -> tuple[Path, Path]:
    """The configured certificate and key, or the generated pair's place under data_dir."""
    r = cfg.relay
    if r.tls_cert is not None and r.tls_key is not None:
        return r.tls_cert, r.tls_key
    return r.data_dir / "relay-cert.pem", r.data_dir / "relay-key.pem"


def delivery_settings(cfg: Config) -> DeliverySettings:
    """``[relay]`` outbound part, ``[sending]`` (source IPs, HELO names, envelope domain),
    ``[suppression] verp_key`` and ``[checks]`` DNS: what the relay's delivery engine needs.

    The EHLO name falls back to ``[relay] hostname`` and then to this host's FQDN (RFC 5321
    4.1.1.1 wants a name the world can resolve; ``[sending.helo]`` is the place for it).
    """
    from monitor.relay.delivery import DeliverySettings

    r, s = cfg.relay, cfg.sending
    key = cfg.suppression.verp_key
    return DeliverySettings(
        hostname=r.hostname or socket.getfqdn(),
        port=r.outbound_port,
        nameservers=cfg.checks.nameservers,
        dns_timeout=cfg.checks.timeout_seconds,
        source_ips=s.ips,
        helo=dict(s.helo),
        connect_timeout=r.connect_timeout_seconds,
        command_timeout=r.command_timeout_seconds,
        retry_initial=r.retry_initial_seconds,
        retry_max=r.retry_max_seconds,
        queue_lifetime=timedelta(hours=r.queue_lifetime_hours),
        max_connections=r.max_connections,
        max_connections_per_domain=r.max_connections_per_domain,
        messages_per_connection=r.messages_per_connection,
        verp_key=key.reveal().encode("utf-8") if key else None,
        envelope_domain=s.envelope_domain.lower().rstrip("."),
        verp_local_part=r.verp_local_part,
        shaping=shaping_settings(r.shaping),
        lease_seconds=r.lease_seconds,
        mta_sts=r.mta_sts,
        dane_resolver=r.dane_resolver if r.dane and r.dane_resolver else None,
        tls_ca_file=str(cfg.checks.mta_sts_ca_file) if cfg.checks.mta_sts_ca_file else None,
    )


def shaping_settings(cfg: ShapingConfig) -> ShapingSettings | None:
    """``[relay.shaping]`` over the shipped groups: a configured group of a shipped id
    overrides its limits and adds its patterns; a new id is a new group, matched before the
    shipped ones (an operator's pattern is the more specific)."""
    from monitor.relay.delivery.shaping import (
        WARMUP_SCHEDULE,
        GroupRule,
        Limits,
        Pool,
        ShapingSettings,
        shipped_groups,
    )

    if not cfg.enabled:
        return None
    shipped = {g.id: g for g in shipped_groups()} if cfg.shipped_groups else {}
    added: list[GroupRule] = []
    for gid, g in cfg.groups.items():
        domains = frozenset(d.lower().rstrip(".") for d in g.domains)
        patterns = tuple(p.lower().rstrip(".") for p in g.mx)
        base = shipped.get(gid)
        if base is not None:
            shipped[gid] = GroupRule(id=gid, domains=base.domains | domains,
                                     mx_patterns=patterns + base.mx_patterns,
                                     limits=base.limits.merged(g.limits()))  # fmt: skip
        else:
            added.append(GroupRule(id=gid, domains=domains, mx_patterns=patterns,
                                   limits=Limits().merged(g.limits())))  # fmt: skip
    return ShapingSettings(
        groups=(*added, *shipped.values()),
        default=Limits().merged(cfg.default.limits()),
        max_wait=cfg.max_wait_seconds,
        backoff_seconds=cfg.backoff_seconds,
        ramp_seconds=cfg.ramp_seconds,
        pools=tuple(
            Pool(
                name=name,
                ips=p.ips,
                campaigns=frozenset(p.campaigns),
                users=frozenset(p.users),
                domains=tuple(d.lower().rstrip(".") for d in p.domains),
            )
            for name, p in cfg.pools.items()
        ),
        exclude_ips=frozenset(cfg.exclude_ips),
        warmup_start={ip: date.fromisoformat(day) for ip, day in cfg.warmup.ips.items()},
        warmup_schedule=cfg.warmup.schedule or WARMUP_SCHEDULE,
        warmup_groups=dict(cfg.warmup.groups),
    )


def web_settings(
    config: Config, factory: sessionmaker[Session], now: Callable[[], datetime]
) -> WebSettings:
    """Everything ``deliverwatch web`` serves with; the API tokens as digests only."""
    from monitor.web.auth import make_key
    from monitor.web.settings import WebSettings

    web = config.web
    return WebSettings(
        factory=factory,
        ctx=event_context(config),
        token_keys=web_token_keys(config),
        tracking=web.tracking,
        api_keys=tuple(
            make_key(name, t.token.reveal(), t.scopes) for name, t in web.tokens.items()
        ),
        report_dir=config.report.output_dir,
        public_url=web.public_url,
        now=now,
    )


def webhook_endpoints(config: Config) -> dict[str, Endpoint]:
    """``[web.webhooks.NAME]`` as the daemon's webhook job takes them (secrets revealed)."""
    from monitor.web.webhooks import Endpoint

    return {
        name: Endpoint(
            name=name,
            url=hook.url,
            secret=hook.secret.reveal().encode("utf-8"),
            timeout=hook.timeout_seconds,
        )
        for name, hook in config.web.webhooks.items()
    }


def feeds_plan(cfg: Config) -> FeedsPlan | None:
    """``[feeds]``: SNDS when a key is set, Postmaster Tools when a service account file is
    (its domains default to ``[sending] from_domains``); None when neither is."""
    f = cfg.feeds
    snds = None
    if f.snds.key is not None and f.snds.key.reveal():
        snds = SndsPlan(f.snds.key.reveal(), f.snds.url, f.snds.ca_file, f.snds.timeout_seconds)
    postmaster = None
    pm = f.postmaster
    if pm.service_account_file is not None:
        domains = pm.domains or cfg.sending.from_domains
        postmaster = PostmasterPlan(
            service_account_file=pm.service_account_file,
            domains=tuple(dict.fromkeys(d.lower().rstrip(".") for d in domains)),
            base_url=pm.base_url,
            token_url=pm.token_url,
            ca_file=pm.ca_file,
            timeout=pm.timeout_seconds,
        )
    if snds is None and postmaster is None:
        return None
    return FeedsPlan(snds=snds, postmaster=postmaster, days_back=f.days_back)


def webhook_retry(config: Config) -> RetryPolicy:
    from monitor.web.webhooks import RetryPolicy

    web = config.web
    return RetryPolicy(
        initial_seconds=web.webhook_retry_initial_seconds,
        max_seconds=web.webhook_retry_max_seconds,
        max_age_hours=web.webhook_max_age_hours,
    )


def rule_limits(cfg: Config) -> RuleLimits:
    """``[report.thresholds]`` and ``[alerts.rules]``: the limits of the alert rules."""
    r = cfg.alerts.rules
    return RuleLimits(
        thresholds=cfg.report.thresholds,
        sender_block_critical=r.sender_block_critical,
        deferral_warn=r.deferral_warn,
        deferral_critical=r.deferral_critical,
        mailbox_failures=r.mailbox_failures,
        job_failures=r.job_failures,
        queue_backlog=r.queue_backlog,
        queue_age_minutes=r.queue_age_minutes,
        window_hours=r.window_hours,
        max_per_hour=r.max_per_hour,
    )


def retention_policy(cfg: Config) -> RetentionPolicy:
    r = cfg.retention
    return RetentionPolicy(
        events_days=r.events_days,
        processed_days=r.processed_days,
        dmarc_days=r.dmarc_days,
        checks_days=r.checks_days,
        queue_days=r.queue_days,
        job_runs_days=r.job_runs_days,
        batch_size=r.batch_size,
    )
