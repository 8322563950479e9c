"""What the web service is built from: plain values (``monitor.daemon.wiring.web_settings``
makes them from the config; nothing here reads a ``Config``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from monitor.config.web import TrackingConfig
from monitor.events import EventContext
from monitor.web.auth import ApiKey

__all__ = ["WebSettings"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSettings:
    factory: sessionmaker[Session]
    ctx: EventContext
    #: Keys of the web tokens, current first (``monitor.daemon.wiring.web_token_keys``).
    token_keys: tuple[bytes, ...]
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    api_keys: tuple[ApiKey, ...] = ()
    #: ``[report] output_dir``, served under ``/reports/`` to holders of a read token.
    report_dir: Path | None = None
    #: ``[web] public_url`` (the OpenAPI document's server).
    public_url: str = ""
    now: Callable[[], datetime] = _utcnow

    @property
    def machine_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.tracking.machine_networks)
