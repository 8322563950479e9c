"""``deliverwatch relay``: the relay's own process, from the config to a clean exit.

One relay per SQLite database (an flock beside it); on PostgreSQL several relays may share
the queue (claims are leased rows, ``FOR UPDATE SKIP LOCKED``). SIGTERM or SIGINT closes the
listeners, lets sessions in a transaction and delivery attempts in flight finish, writes what
is waiting, and exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from typing import TYPE_CHECKING

from monitor.app import App
from monitor.daemon import wiring
from monitor.daemon.delivery_procs import DeliveryProcesses, run_delivery_child
from monitor.daemon.instance import instance_lock, pid_file
from monitor.relay.compose import Composer
from monitor.relay.delivery import DeliveryEngine
from monitor.relay.service import Deliverer, RelayService
from monitor.relay.tlsconf import ensure_self_signed, server_context
from monitor.store.db import make_engine, make_session_factory

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["run_delivery", "run_relay"]

log = logging.getLogger(__name__)


def _quiet_protocol_logs() -> None:
    """aiosmtpd logs every command at INFO, addresses included: keep it to warnings."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)


def run_relay(app: App, deliverer: Deliverer | None = None) -> int:
    """Run the relay until SIGTERM/SIGINT; the exit status. ``deliverer`` defaults to the
    delivery engine built from the config."""
    cfg = app.config
    app.sessions()  # refuses a database whose schema is not at head
    url = cfg.database.url.reveal()
    work_engine = make_engine(url)
    factory = make_session_factory(work_engine)
    _quiet_protocol_logs()
    cert, key = wiring.relay_tls(cfg)
    settings = wiring.submission_settings(cfg)  # before the loop: getfqdn() may block
    if deliverer is None and cfg.relay.delivery_processes > 0:
        deliverer = DeliveryProcesses(cfg.source, cfg.relay.delivery_processes)
    elif deliverer is None:
        deliverer = _engine(app, factory)
    if cfg.relay.tls_cert is None:
        ensure_self_signed(cert, key, settings.hostname)
    context = server_context(cert, key)
    intake_engine = make_engine(url, durable=True)
    try:
        with (
            instance_lock(app.engine, "relay", postgresql=False),
            pid_file(cfg.relay.data_dir / "relay.pid"),
        ):
            metrics_server = _start_metrics(app, factory)
            service = RelayService(
                factory=factory,
                intake_factory=make_session_factory(intake_engine),
                settings=settings,
                listeners=wiring.relay_listeners(cfg),
                tls_context=context,
                plain_auth_on_loopback=cfg.relay.plain_auth_on_loopback,
                clock=app.now,
                deliverer=deliverer,
                content=cfg.relay.content,
            )
            try:
                asyncio.run(_serve(service))
            finally:
                if metrics_server is not None:
                    metrics_server.shutdown()
                    metrics_server.server_close()
    finally:
        intake_engine.dispose()
        work_engine.dispose()
    log.info("deliverwatch relay stopped")
    return 0


def _start_metrics(app: App, factory: sessionmaker[Session]) -> WSGIServer | None:
    """``[metrics] relay_listen``: the relay's ``/metrics`` (queue, deliveries, events)."""
    listen = app.config.metrics.relay_listen
    if not listen:
        return None
    from monitor.config import parse_listen
    from monitor.daemon.metrics import StoreCollector, serve

    host, port = parse_listen(listen)
    server, _registry = serve(
        host, port, [StoreCollector(factory, app.now, ttl=app.config.metrics.cache_seconds)]
    )
    return server


def _engine(app: App, factory: sessionmaker[Session]) -> DeliveryEngine:
    cfg = app.config
    compose = wiring.compose_settings(cfg)
    if compose.links is None:  # Gmail and Yahoo require one-click unsubscribe on bulk mail
        log.warning("relay: no [web] public_url or token key: bulk mail goes out without "
                    "List-Unsubscribe")  # fmt: skip
    return DeliveryEngine(
        factory=factory,
        settings=wiring.delivery_settings(cfg),
        ctx=wiring.event_context(cfg),
        clock=app.now,
        owner=f"{socket.gethostname()}:{os.getpid()}",
        composer=Composer(compose),
    )


def run_delivery(app: App) -> int:
    """``deliverwatch relay --deliver``: one supervised delivery process of a relay."""
    app.sessions()
    engine = make_engine(app.config.database.url.reveal())
    try:
        asyncio.run(run_delivery_child(_engine(app, make_session_factory(engine))))
    finally:
        engine.dispose()
    log.info("relay: delivery process %d stopped", os.getpid())
    return 0


async def _serve(service: RelayService) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await service.start()
    log.info("deliverwatch relay started (pid %d on %s)", os.getpid(), socket.gethostname())
    await stopping.wait()
    log.info("relay: stopping; finishing transactions in flight")
    await service.stop()
