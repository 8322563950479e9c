"""Run the application under uvicorn (``deliverwatch web``), until SIGTERM or SIGINT.

uvicorn's access log is off: request paths carry unsubscribe and tracking tokens, which are
capabilities for one recipient and are not written to logs (CONTRIBUTING.md, Security);
the handlers log what happened without them. Behind a TLS proxy, ``trusted_proxies`` names
the proxies whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed (uvicorn's
proxy-headers support), which the machine-open rules need for the client's address.
"""

from __future__ import annotations

import logging
import signal

import uvicorn

from monitor.web.app import create_app
from monitor.web.settings import WebSettings

__all__ = ["serve", "uvicorn_config"]

log = logging.getLogger(__name__)


def uvicorn_config(
    settings: WebSettings, *, host: str, port: int, trusted_proxies: tuple[str, ...] = ()
) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        access_log=False,
        log_config=None,  # the CLI configured logging (text or JSON); keep it
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) or None,
        server_header=False,
        timeout_graceful_shutdown=10,
    )


def serve(
    settings: WebSettings, *, host: str, port: int, trusted_proxies: tuple[str, ...] = ()
) -> None:
    """Serve on ``host:port`` until SIGTERM or SIGINT, then return (exit status 0).

    uvicorn re-raises the signal that stopped it once it has shut down, under the handler
    that was in place before it started; a no-op handler there turns a clean stop into a
    normal return, as for ``deliverwatch daemon``.
    """
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    log.info("web service listening on %s:%d", host, port)
    uvicorn.Server(
        uvicorn_config(settings, host=host, port=port, trusted_proxies=trusted_proxies)
    ).run()
