"""Run a check against a loopback :class:`~tests.servers.dns.DNSServer` with a real client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from monitor.checks.resolver import DnsClient
from tests.servers.dns import DNSServer

T = TypeVar("T")


def ask(
    server: DNSServer,
    check: Callable[..., Awaitable[T]],
    *args: Any,
    timeout: float = 0.3,
    **kwargs: Any,
) -> T:
    """``check(client, *args, **kwargs)`` in a fresh event loop, the client closed after."""

    async def run() -> T:
        async with DnsClient([server.address], timeout=timeout) as client:
            return await check(client, *args, **kwargs)

    return asyncio.run(run())
