"""Outgoing webhooks: POST each outbox row to its endpoint, signed; retry with back-off.

The daemon runs :func:`deliver_webhooks` every ``[web] webhook_every_seconds`` (a
``JobSpec`` in ``monitor.daemon.jobs``). Why the daemon and not the web process: webhooks
announce the relay's deliveries and the mailbox's bounces whether or not anybody runs the
web service; the daemon is one process per database (its lock), so no two deliverers race
for the same rows; and its scheduler already runs every other periodic job.

Each POST (``Content-Type: application/json``)::

    Deliverwatch-Webhook-Id: 1234            # the same on every retry: dedupe on it
    Deliverwatch-Signature: t=1767225600,v1=<hex HMAC-SHA256(secret, t + "." + body)>
    {"id": "1234", "type": "event.bounced", "created_at": "...", "data": {...}}

(``parsers.webhooksig`` signs and verifies). A 2xx answer delivers the row; anything else,
or no answer, is a failed attempt retried after ``initial * 2**(attempts-1)`` seconds (up to
``max_seconds``, with 10 % jitter so that a recovering receiver is not hit by every retry at
once) until ``max_age_hours`` after the fact, when the row is given up (state ``failed``).
At least once: a POST whose 2xx was lost is sent again. An endpoint that cannot be reached
is left alone for the rest of the run after its first failure, so one dead receiver costs
one timeout per run, not one per pending row.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from monitor.jobresult import JobResult
from monitor.store.db import session_scope
from monitor.store.webhooks import DueItem, due, mark_delivered, mark_failed
from parsers.webhooksig import HEADER, signature_header

__all__ = ["Endpoint", "RetryPolicy", "deliver_webhooks", "webhook_body"]

log = logging.getLogger(__name__)
USER_AGENT = "deliverwatch-webhooks/1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    name: str
    url: str
    secret: bytes = field(repr=False)
    timeout: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    initial_seconds: float = 30.0
    max_seconds: float = 3600.0
    max_age_hours: float = 72.0

    def next_attempt(self, attempts: int, created_at: datetime, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failed attempts, or None to give up."""
        delay = min(self.initial_seconds * 2 ** max(attempts - 1, 0), self.max_seconds)
        delay *= random.uniform(0.9, 1.1)
        when = now + timedelta(seconds=delay)
        if when > created_at + timedelta(hours=self.max_age_hours):
            return None
        return when


def webhook_body(item: DueItem) -> bytes:
    """The JSON body of one delivery (compact, keys sorted: the bytes that are signed)."""
    document = {
        "id": str(item.id),
        "type": item.payload.get("type", item.topic),
        "created_at": item.created_at.isoformat(),
        "data": item.payload.get("data", {}),
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")


@dataclass
class _Outcome:
    delivered: list[int] = field(default_factory=list)
    failed: list[tuple[DueItem, str]] = field(default_factory=list)
    down: bool = False


def _post_all(
    endpoint: Endpoint, items: Sequence[DueItem], now: Callable[[], datetime]
) -> _Outcome:
    """POST ``items`` to one endpoint over one keep-alive connection, in order."""
    out = _Outcome()
    with httpx.Client(timeout=endpoint.timeout, follow_redirects=False) as client:
        for item in items:
            body = webhook_body(item)
            stamp = int(now().timestamp())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Deliverwatch-Webhook-Id": str(item.id),
                HEADER: signature_header(endpoint.secret, stamp, body),
            }
            try:
                response = client.post(endpoint.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                out.failed.append((item, f"{type(exc).__name__}: {exc}"[:500]))
                out.down = True  # no answer: leave its other rows for the next run
                return out
            if 200 <= response.status_code < 300:
                out.delivered.append(item.id)
            else:
                out.failed.append((item, f"HTTP {response.status_code}: {response.text[:200]}"))
    return out


def _settle(
    factory: sessionmaker[Session],
    outcomes: Sequence[_Outcome],
    retry: RetryPolicy,
    now: datetime,
) -> tuple[int, int]:
    delivered = [i for o in outcomes for i in o.delivered]
    failed = [f for o in outcomes for f in o.failed]
    given_up = 0
    with session_scope(factory, "recording webhook deliveries") as session:
        mark_delivered(session, delivered, now=now)
        for item, error in failed:
            retry_at = retry.next_attempt(item.attempts + 1, item.created_at, now)
            given_up += retry_at is None
            mark_failed(session, item.id, error=error, retry_at=retry_at)
    for item, error in failed:
        log.warning(
            "webhook %d to %s failed (attempt %d): %s",
            item.id,
            item.endpoint,
            item.attempts + 1,
            error,
        )
    return len(delivered), given_up


def deliver_webhooks(
    *,
    factory: sessionmaker[Session],
    now: Callable[[], datetime],
    endpoints: Mapping[str, Endpoint],
    retry: RetryPolicy,
    batch: int = 500,
    budget_seconds: float = 30.0,
) -> JobResult:
    """Deliver every due outbox row of the configured ``endpoints`` (the daemon's job).

    Runs until nothing is due, every endpoint with rows is unreachable, or
    ``budget_seconds`` have passed (a backlog drains over a few runs, the scheduler's other
    jobs are not held up for long). Endpoints are served in parallel, rows of one endpoint
    in order over one connection.
    """
    if not endpoints:
        return JobResult("no webhooks configured", {"delivered": 0})
    deadline = time.monotonic() + budget_seconds
    down: set[str] = set()
    sent = failed = given_up = 0
    with ThreadPoolExecutor(
        max_workers=min(8, len(endpoints)), thread_name_prefix="webhook"
    ) as pool:
        while time.monotonic() < deadline:
            live = [name for name in endpoints if name not in down]
            with session_scope(factory, "reading the webhook outbox") as session:
                items = due(session, now=now(), endpoints=live, limit=batch)
            if not items:
                break
            groups: dict[str, list[DueItem]] = defaultdict(list)
            for item in items:
                groups[item.endpoint].append(item)
            futures = [
                pool.submit(_post_all, endpoints[name], rows, now) for name, rows in groups.items()
            ]
            outcomes = [f.result() for f in futures]
            for name, outcome in zip(groups, outcomes, strict=True):
                if outcome.down:
                    down.add(name)
            ok, dropped = _settle(factory, outcomes, retry, now())
            sent += ok
            given_up += dropped
            failed += sum(len(o.failed) for o in outcomes)
            if len(items) < batch and not any(o.down for o in outcomes):
                break
    parts = [f"{sent} webhook(s) delivered"]
    if failed:
        parts.append(f"{failed} failed attempt(s), {given_up} given up")
    if down:
        parts.append(f"unreachable: {', '.join(sorted(down))}")
    counts = {"delivered": sent, "failed": failed, "given_up": given_up, "unreachable": len(down)}
    return JobResult("; ".join(parts), counts)
