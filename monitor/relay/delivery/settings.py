"""Everything outbound delivery needs, as plain values (built by ``monitor.daemon.wiring``).

Nothing in ``monitor.relay.delivery`` reads a ``Config`` (STYLE.md 5): the relay process
calls :func:`monitor.daemon.wiring.delivery_settings` once and hands the result to the
engine. Defaults not taken from config follow Postfix (named beside each field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from monitor.relay.delivery.shaping import ShapingSettings

__all__ = ["DeliverySettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverySettings:
    """Outbound delivery: DNS, connections, timeouts, retries, envelope, DSNs, batching."""

    #: Our name: EHLO when no ``helo`` entry names the source IP, ``Reporting-MTA`` of DSNs.
    hostname: str
    #: Port of the recipients' MX hosts (``[relay] outbound_port``).
    port: int = 25
    #: Resolvers for MX/A/AAAA (``[checks] nameservers``); empty: /etc/resolv.conf's.
    nameservers: tuple[str, ...] = ()
    dns_timeout: float = 5.0
    #: Source addresses to bind (``[sending] ips``), used in turn per new connection; empty:
    #: the system picks.
    source_ips: tuple[str, ...] = ()
    #: EHLO name per source IP (``[sending.helo]``).
    helo: Mapping[str, str] = field(default_factory=dict)
    connect_timeout: float = 30.0
    #: Every command reply, the greeting and the end of DATA (RFC 5321 4.5.3.2 asks for
    #: minutes; tests use fractions of a second).
    command_timeout: float = 300.0
    retry_initial: float = 300.0  # Postfix minimal_backoff_time
    retry_max: float = 4000.0  # Postfix maximal_backoff_time
    #: How long a message is retried (``queue_lifetime_hours``); also the lifetime of DSNs.
    queue_lifetime: timedelta = timedelta(days=5)
    max_connections: int = 100
    max_connections_per_domain: int = 20
    messages_per_connection: int = 100
    #: Recipients per transaction (Postfix ``smtp_destination_recipient_limit``); RFC 5321
    #: 4.5.3.1.8 only promises 100, and a server may answer 452 past its own limit.
    recipients_per_transaction: int = 50
    #: Seconds an unused connection stays open for the next message to its MX.
    idle_seconds: float = 5.0
    #: MX addresses tried per attempt (Postfix ``smtp_mx_address_limit``), and sessions
    #: that got a greeting but failed (``smtp_mx_session_limit``).
    max_mx_addresses: int = 5
    max_mx_sessions: int = 2
    #: Signed VERP return paths: ``verp_local_part+TOKEN@envelope_domain`` when both the
    #: key (``[suppression] verp_key``) and the domain (``[sending] envelope_domain``) are set.
    verp_key: bytes | None = None
    envelope_domain: str = ""
    verp_local_part: str = "bounce"
    #: Seconds between looks at the queue when idle (operator retry/release are seen).
    poll_seconds: float = 1.0
    #: Recipients claimed per query; claiming stops while this many times two wait in memory.
    batch_size: int = 500
    #: A claim's lease; renewed while the rows are in memory, so only a dead relay's rows
    #: are claimed again (at least once), after this long.
    lease_seconds: float = 300.0
    #: How long ``run`` waits for in-flight transactions once stopping.
    stop_grace_seconds: float = 30.0
    #: MX answers cached at most this long (their TTL otherwise), and at most this many.
    dns_cache_seconds: float = 3600.0
    dns_cache_entries: int = 10_000
    #: A returned message larger than this is reduced to its headers (Postfix
    #: ``bounce_size_limit``).
    dsn_size_limit: int = 50_000
    #: Traffic shaping (destination groups, their caps, back-off); None: off, every
    #: destination domain is paced by the limits above alone.
    shaping: ShapingSettings | None = None
    #: MTA-STS (RFC 8461): destinations' policies fetched, cached and, in ``enforce`` mode,
    #: applied (listed MX hosts only, TLS with a valid certificate, no plain-text fallback).
    mta_sts: bool = False
    #: Port of the policy hosts (443; tests use their own).
    mta_sts_port: int = 443
    #: Extra CA bundle trusted for policy fetches and MX certificates (besides the system's).
    tls_ca_file: str | None = None
    #: DANE (RFC 7672): the DNSSEC-validating resolver (``HOST:PORT``) whose AD bit says
    #: which MX and TLSA answers are secure; None: DANE is off.
    dane_resolver: str | None = None

    def __post_init__(self) -> None:
        positive = {
            "connect_timeout": self.connect_timeout,
            "command_timeout": self.command_timeout,
            "retry_initial": self.retry_initial,
            "retry_max": self.retry_max,
            "poll_seconds": self.poll_seconds,
            "lease_seconds": self.lease_seconds,
            "dns_timeout": self.dns_timeout,
        }
        for key, value in positive.items():
            if value <= 0:
                raise ValueError(f"{key} must be > 0")
        counts = {
            "max_connections": self.max_connections,
            "max_connections_per_domain": self.max_connections_per_domain,
            "messages_per_connection": self.messages_per_connection,
            "recipients_per_transaction": self.recipients_per_transaction,
            "max_mx_addresses": self.max_mx_addresses,
            "max_mx_sessions": self.max_mx_sessions,
            "batch_size": self.batch_size,
            "dns_cache_entries": self.dns_cache_entries,
        }
        for key, number in counts.items():
            if number < 1:
                raise ValueError(f"{key} must be at least 1")
        if not self.hostname:
            raise ValueError("hostname must not be empty")

    @property
    def verp(self) -> bool:
        """Whether each recipient gets its own signed return path."""
        return bool(self.verp_key and self.envelope_domain)

    def helo_for(self, source_ip: str | None) -> str:
        """The EHLO name for a connection from ``source_ip``."""
        return self.helo.get(source_ip, self.hostname) if source_ip else self.hostname
