"""``/o/TOKEN.gif`` (open pixel) and ``/c/TOKEN`` (click redirect).

Tracking is off unless ``[web.tracking]`` turns it on, per campaign. The pixel is always
answered with a 1x1 transparent GIF and the click always with a 302 to the URL inside the
signed token (a link in mail must keep working whatever the switches say): only the
recording depends on them. The redirect target is never read from the query string or
anything else the client controls, so ``/c/`` cannot be used as an open redirect; a token
that does not verify gets a 400 page and no redirect.

Each open or click becomes an ``opened`` / ``clicked`` observation (``trust=LOCAL``: the
token is the proof). One event per message for opens and per (message, link) for clicks,
people's and machines' apart (``monitor.web.machine``), so the report counts unique opens
and clicks.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from monitor.enums import EventKind, Trust
from monitor.errors import StoreError
from monitor.events import Observation, event_key
from monitor.store.db import session_scope
from monitor.store.events import MACHINE_REASON
from monitor.store.web_repo import SentFacts, recent_clicks, sent_facts
from monitor.web.machine import Request as Seen
from monitor.web.machine import classify
from monitor.web.pages import error_page
from monitor.web.settings import WebSettings
from monitor.web.writer import EventWriter
from parsers.webtoken import BadToken, TokenKind, WebToken, decode_token

__all__ = ["PIXEL", "click", "pixel"]

log = logging.getLogger(__name__)

#: A 1x1 transparent GIF89a (two-colour palette, transparency extension), 42 bytes.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_CACHE = {"Cache-Control": "no-store, no-cache, must-revalidate, private"}


def _seen(request: Request, facts: SentFacts, now_s: float, others: int) -> Seen:
    since = now_s - facts.delivered_at.timestamp() if facts.delivered_at else None
    return Seen(
        method=request.method,
        client_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        since_delivery=since,
        other_links_recently=others,
    )


def _observe(settings: WebSettings, request: Request, proof: WebToken) -> Observation | None:
    """The open or click to record, None when its campaign is not tracked (runs in a
    worker thread: it reads the database)."""
    is_click = proof.kind is TokenKind.CLICK
    now = settings.now()
    cfg = settings.tracking
    with session_scope(settings.factory, "reading a sent message") as session:
        facts = sent_facts(session, proof.sent_id)
        if facts is None or not proof.matches(facts.recipient):
            return None
        wanted = cfg.of(facts.campaign)
        if not (wanted.clicks if is_click else wanted.opens):
            return None
        others = 0
        if is_click:
            since = now - timedelta(seconds=cfg.burst_seconds)
            urls = {d.get("url") for d in recent_clicks(session, facts.id, since)}
            others = len(urls - {proof.url})
    why = classify(
        _seen(request, facts, now.timestamp(), others),
        click=is_click,
        networks=settings.machine_networks,
        extra_agents=cfg.machine_user_agents,
        click_seconds=cfg.machine_click_seconds,
        burst_links=cfg.burst_links,
    )
    kind = EventKind.CLICKED if is_click else EventKind.OPENED
    link = hashlib.sha256((proof.url or "").encode()).hexdigest()[:16] if is_click else None
    details: dict[str, object] = {"machine": why is not None}
    if why is not None:
        details["why"] = why
    if is_click:
        details["url"] = proof.url
    agent = request.headers.get("user-agent")
    if agent:
        details["user_agent"] = agent[:300]
    return Observation(
        kind=kind,
        key=event_key("web", kind.value, facts.id, link, why is not None),
        source="web",
        occurred_at=now,
        recipient=facts.recipient,
        sent_id=facts.id,
        trust=Trust.LOCAL,
        reason=MACHINE_REASON if why is not None else "undefined",
        campaign=facts.campaign,
        source_ip=request.client.host if request.client else None,
        details=details,
    )


async def _try_record(settings: WebSettings, request: Request, proof: WebToken) -> None:
    """Record, but never let the database keep an image from showing or a link from
    opening: a failure is logged and the answer goes out anyway."""
    writer: EventWriter = request.app.state.writer
    try:
        obs = await run_in_threadpool(_observe, settings, request, proof)
        if obs is None:
            return
        result = await writer.record([obs])
    except StoreError as exc:
        log.error("%s not recorded: %s", proof.kind.value, exc)
        return
    if result.error is not None:
        log.error(
            "%s of sent message %d not recorded: %s", obs.kind.value, proof.sent_id, result.error
        )


async def pixel(request: Request) -> Response:
    settings: WebSettings = request.app.state.settings
    try:
        proof = decode_token(TokenKind.OPEN, request.path_params["token"], keys=settings.token_keys)
    except BadToken:
        return Response(status_code=404, headers=_NO_CACHE)
    await _try_record(settings, request, proof)
    return Response(PIXEL, media_type="image/gif", headers=_NO_CACHE)


async def click(request: Request) -> Response:
    settings: WebSettings = request.app.state.settings
    try:
        proof = decode_token(
            TokenKind.CLICK, request.path_params["token"], keys=settings.token_keys
        )
    except BadToken:
        page = error_page("Invalid link", "This link is not valid.")
        return HTMLResponse(page, status_code=400, headers=_NO_CACHE)
    await _try_record(settings, request, proof)
    if proof.url is None:  # pragma: no cover - decode_token always sets it for a click
        return Response(status_code=400)
    return RedirectResponse(proof.url, status_code=302, headers=_NO_CACHE)
