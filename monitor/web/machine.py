"""Was an open or a click a person's, or a machine's? (pure: the caller gathers the facts)

Open and click rates are only worth reading when machines are left out, and since 2021
machines make most of them:

* Apple Mail Privacy Protection fetches every remote image of every message through Apple's
  proxies when the message arrives, opened or not: from Apple's own network (17.0.0.0/8)
  with a bare ``Mozilla/5.0`` user agent.
* Mail security gateways (Proofpoint, Mimecast, Barracuda, Microsoft Defender Safe Links...)
  fetch or follow every link of a message before it is delivered or shown, often within
  seconds of delivery, several links at once, often with ``HEAD`` requests, and with user
  agents of HTTP libraries or their own.

Gmail's and Yahoo's image proxies (``GoogleImageProxy``, ``YahooMailProxy``) fetch the
pixel when the person opens the message: those opens are people's.

A machine's open or click is still recorded (a delivery happened; a scanner that follows a
link may block the mail), with ``reason = "machine"`` and ``details["why"]``; the daily
report counts them apart from people's opens and clicks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SCANNER_AGENTS", "Request", "classify"]

#: Lower-case user-agent substrings of link scanners, crawlers and HTTP libraries.
SCANNER_AGENTS = (
    "barracuda",
    "mimecast",
    "proofpoint",
    "messagelabs",
    "symantec",
    "trendmicro",
    "forcepoint",
    "fireeye",
    "ironport",
    "sophos",
    "zscaler",
    "safelinks",
    "bitdefender",
    "virustotal",
    "bot",
    "spider",
    "crawler",
    "scanner",
    "headlesschrome",
    "phantomjs",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "curl/",
    "wget/",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww-perl",
    "apache-httpclient",
)
#: What Apple's Mail Privacy Protection proxy sends as its user agent, and nothing more.
_APPLE_PROXY_AGENT = "mozilla/5.0"


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """The facts of one pixel fetch or click."""

    method: str
    client_ip: str | None
    user_agent: str | None
    #: Seconds between the delivery of the message and this request (None: unknown).
    since_delivery: float | None = None
    #: Other links of the same message clicked within the burst window (clicks only).
    other_links_recently: int = 0


def _in(ip: str | None, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in net for net in networks)


def classify(
    req: Request,
    *,
    click: bool,
    networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
    extra_agents: Sequence[str] = (),
    click_seconds: float = 10.0,
    burst_links: int = 3,
) -> str | None:
    """Why the request is a machine's, or None for a person's (module docstring)."""
    agent = (req.user_agent or "").strip().lower()
    if req.method.upper() == "HEAD":
        return "HEAD request (link checkers and scanners, never a mail client)"
    if _in(req.client_ip, networks):
        return f"client {req.client_ip} is in a machine network (Apple Mail Privacy Protection)"
    if agent == _APPLE_PROXY_AGENT:
        return "bare Mozilla/5.0 user agent (Apple Mail Privacy Protection)"
    if not agent:
        return "no user agent"
    for needle in (*SCANNER_AGENTS, *(a.lower() for a in extra_agents if a)):
        if needle in agent:
            return f"user agent of a scanner or HTTP library ({needle})"
    if click and req.since_delivery is not None and 0 <= req.since_delivery < click_seconds:
        return f"clicked {req.since_delivery:.1f} s after delivery"
    if click and req.other_links_recently + 1 >= burst_links:
        return f"{req.other_links_recently + 1} links of one message clicked at once"
    return None
