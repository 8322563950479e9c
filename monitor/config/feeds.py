"""``[feeds]``: provider reputation feeds fetched daily by the daemon (issue 17, point 5).

``[feeds.snds]``: Microsoft SNDS automated access; ``key`` is the one the SNDS interface
shows under "Automated Access" (a secret: ``env:``/``file:``). ``[feeds.postmaster]``:
Google Postmaster Tools API v1 with a service account's JSON key file; the account must
be added as a user of each domain in Postmaster Tools. Both base URLs (and Google's token
URL) are settings so that tests, proxies and mirrors can stand in; ``ca_file`` trusts a
private CA in addition to nothing else (the default is the system's trust store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from monitor.config.secret import Secret

__all__ = ["FeedsConfig", "PostmasterFeed", "SndsFeed"]


def _https(value: str, key: str) -> None:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"{key}: expected an https:// URL, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SndsFeed:
    #: The automated-access key; empty: SNDS is not fetched.
    key: Secret | None = None
    url: str = "https://sendersupport.olc.protection.outlook.com/snds/data.aspx"
    ca_file: Path | None = None
    timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        _https(self.url, "url")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be > 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class PostmasterFeed:
    #: The service account's JSON key file; none: Postmaster Tools is not fetched.
    service_account_file: Path | None = None
    #: Domains to fetch (as verified in Postmaster Tools); default: [sending] from_domains.
    domains: tuple[str, ...] = ()
    base_url: str = "https://gmailpostmastertools.googleapis.com/v1"
    #: The OAuth 2.0 token endpoint; "" takes the key file's ``token_uri``.
    token_url: str = ""
    ca_file: Path | None = None
    timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        _https(self.base_url, "base_url")
        if self.token_url:
            _https(self.token_url, "token_url")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be > 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedsConfig:
    #: Local time (``[daemon] timezone``) of the daily fetch of yesterday's data.
    fetch_at: str = "07:15"
    #: Days fetched back each run (the providers publish late and sometimes revise).
    days_back: int = 3
    snds: SndsFeed = field(default_factory=SndsFeed)
    postmaster: PostmasterFeed = field(default_factory=PostmasterFeed)

    def __post_init__(self) -> None:
        if not 1 <= self.days_back <= 120:
            raise ValueError("days_back must be 1..120")
