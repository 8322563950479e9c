"""Fetch the providers' reputation feeds and store them per day (issue 17, point 5).

* **Microsoft SNDS**: ``GET {url}?key=KEY&date=MMDDYY`` over HTTPS, the CSV of that day
  (``parsers.feeds.parse_snds_csv``), one row per sending IP;
* **Google Postmaster Tools** API v1: an OAuth 2.0 access token for the service account
  (RFC 7523 JWT bearer grant, signed RS256 with the key file's private key; done by hand
  with ``cryptography``, which deliverwatch already depends on, rather than pulling in
  google-auth for one POST), then ``GET {base}/domains/{domain}/trafficStats/{YYYYMMDD}``
  per domain and day (``parsers.feeds.parse_traffic_stats``). A 404 means Google has no
  data for that day (too little mail): nothing is stored.

The SNDS key is part of a URL: it is never logged, and errors are reported without the
query string (httpx's own request log is kept at WARNING for that reason).
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import MonitorError
from monitor.jobresult import JobResult
from monitor.store.db import session_scope
from monitor.store.feeds_repo import FeedDay, store_feed_days
from parsers.errors import ParseError
from parsers.feeds import parse_snds_csv, parse_traffic_stats

__all__ = ["FeedError", "FeedsPlan", "PostmasterPlan", "SndsPlan", "feeds_job", "google_token"]

log = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO line has the URL (SNDS key)

SCOPE = "https://www.googleapis.com/auth/postmaster.readonly"


class FeedError(MonitorError):
    """A feed could not be fetched or read."""


@dataclass(frozen=True, slots=True)
class SndsPlan:
    key: str
    url: str
    ca_file: Path | None = None
    timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class PostmasterPlan:
    service_account_file: Path
    domains: tuple[str, ...]
    base_url: str
    token_url: str = ""  # "" -> the key file's token_uri
    ca_file: Path | None = None
    timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class FeedsPlan:
    snds: SndsPlan | None
    postmaster: PostmasterPlan | None
    days_back: int = 3


def _client(ca_file: Path | None, timeout: float) -> httpx.Client:
    verify: ssl.SSLContext | bool = True
    if ca_file is not None:
        verify = ssl.create_default_context(cafile=str(ca_file))
    return httpx.Client(verify=verify, timeout=timeout, follow_redirects=False)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def google_token(plan: PostmasterPlan, client: httpx.Client, now: float | None = None) -> str:
    """An access token for the service account (RFC 7523 section 2.1)."""
    try:
        account = json.loads(plan.service_account_file.read_text(encoding="utf-8"))
        email, pem = account["client_email"], account["private_key"].encode("ascii")
        key = serialization.load_pem_private_key(pem, password=None)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FeedError(
            f"postmaster: cannot use the service account file {plan.service_account_file}: "
            f"{type(exc).__name__}"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise FeedError("postmaster: the service account key is not an RSA key")
    token_url = plan.token_url or str(account.get("token_uri", ""))
    if not token_url.startswith("https://"):
        raise FeedError("postmaster: no https token URL (token_url or the file's token_uri)")
    issued = int(now if now is not None else time.time())
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = {"iss": email, "scope": SCOPE, "aud": token_url, "iat": issued,
              "exp": issued + 3600}  # fmt: skip
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}".encode("ascii")
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    assertion = f"{signing_input.decode()}.{_b64(signature)}"
    try:
        response = client.post(
            token_url,
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                  "assertion": assertion},
        )  # fmt: skip
    except httpx.HTTPError as exc:
        raise FeedError(f"postmaster: token request failed: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise FeedError(f"postmaster: token endpoint answered {response.status_code}")
    try:
        token = response.json()["access_token"]
    except (ValueError, KeyError, TypeError):
        raise FeedError("postmaster: the token endpoint's answer has no access_token") from None
    return str(token)


def fetch_snds(plan: SndsPlan, client: httpx.Client, day: date) -> list[FeedDay]:
    try:
        response = client.get(plan.url, params={"key": plan.key, "date": day.strftime("%m%d%y")})
    except httpx.HTTPError as exc:
        raise FeedError(f"snds: request failed: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise FeedError(f"snds: {plan.url} answered {response.status_code}")
    rows = parse_snds_csv(response.content)
    return [("snds", r.ip, r.day, _json(asdict(r))) for r in rows]


def fetch_postmaster(
    plan: PostmasterPlan, client: httpx.Client, token: str, domain: str, day: date
) -> list[FeedDay]:
    url = f"{plan.base_url.rstrip('/')}/domains/{domain}/trafficStats/{day:%Y%m%d}"
    try:
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise FeedError(f"postmaster: {domain}: request failed: {type(exc).__name__}") from None
    if response.status_code == 404:
        return []  # no data for that day
    if response.status_code != 200:
        raise FeedError(f"postmaster: {domain} {day}: answered {response.status_code}")
    try:
        stats = parse_traffic_stats(response.content, domain=domain, day=day)
    except ParseError as exc:
        raise FeedError(f"postmaster: {domain} {day}: {exc}") from None
    return [("postmaster", domain, day, _json(asdict(stats)))]


def _json(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(record, default=str))  # type: ignore[no-any-return]


def feeds_job(
    *, factory: sessionmaker[Session], now: Callable[[], datetime], plan: FeedsPlan
) -> JobResult:
    """Fetch the last ``days_back`` days of each configured feed and store them; a feed
    that fails is logged at ERROR and the other goes on; raises when every one failed."""
    today = now().date()
    days = [today - timedelta(days=n) for n in range(plan.days_back, 0, -1)]
    got: list[FeedDay] = []
    failures: list[str] = []
    if plan.snds is not None:
        with _client(plan.snds.ca_file, plan.snds.timeout) as client:
            for day in days:
                try:
                    got += fetch_snds(plan.snds, client, day)
                except FeedError as exc:
                    failures.append(str(exc))
                    break
    if plan.postmaster is not None:
        pm = plan.postmaster
        with _client(pm.ca_file, pm.timeout) as client:
            try:
                token = google_token(pm, client)
                for domain in pm.domains:
                    for day in days:
                        got += fetch_postmaster(pm, client, token, domain, day)
            except FeedError as exc:
                failures.append(str(exc))
    with session_scope(factory, "storing reputation feeds") as session:
        stored = store_feed_days(session, got, now=now())
    for failure in failures:
        log.error("reputation feed: %s", failure)
    feeds = int(plan.snds is not None) + int(plan.postmaster is not None)
    if failures and len(failures) >= feeds:
        raise FeedError("; ".join(failures))
    line = f"{stored} feed day(s) stored" + (f", {len(failures)} failed" if failures else "")
    return JobResult(line, {"stored": stored, "failed_feeds": len(failures)})
