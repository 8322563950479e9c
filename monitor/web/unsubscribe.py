"""``/u/TOKEN``: one-click unsubscribe (RFC 8058) and its confirmation page.

* ``POST /u/TOKEN`` with ``List-Unsubscribe=One-Click`` (what Gmail, Yahoo and Apple Mail
  send when the recipient presses their Unsubscribe button, RFC 8058 3.2) unsubscribes at
  once: no login, no redirect, no cookie, no second step, 200 when done. Repeating it is
  harmless (the event's key is the sent message's: stored once, suppressed once).
* ``GET /u/TOKEN`` (the List-Unsubscribe link opened in a browser) only shows a page with
  one button that makes the same POST: a GET must never unsubscribe, since mail scanners
  and link previews fetch every URL of a message (RFC 8058 1).

A token that does not verify, or that names no message we sent, gets an error page and
nothing is recorded. The request becomes an ``unsubscribed`` observation with
``trust=LOCAL`` (the token is the proof) recorded through the events core, whose policy
suppresses the address with reason ``unsubscribe``.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from monitor.enums import EventKind, Trust
from monitor.errors import StoreError
from monitor.events import Observation, unsubscribe_key
from monitor.store.db import session_scope
from monitor.store.web_repo import SentFacts, sent_facts
from monitor.web.pages import confirm_page, done_page, error_page
from monitor.web.settings import WebSettings
from monitor.web.writer import EventWriter
from parsers.webtoken import BadToken, TokenKind, decode_token

__all__ = ["unsubscribe_get", "unsubscribe_post"]

log = logging.getLogger(__name__)

_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_MAX_BODY = 16 * 1024
_MULTIPART_FIELD = re.compile(
    rb'name="?List-Unsubscribe"?\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n', re.IGNORECASE
)


def _page(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=_NO_STORE)


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def _lookup(settings: WebSettings, token: str) -> SentFacts | HTMLResponse:
    """The sent row the token names, or the error page to answer with."""
    try:
        proof = decode_token(TokenKind.UNSUBSCRIBE, token, keys=settings.token_keys)
    except BadToken:
        return _page(
            error_page(
                "Invalid link",
                "This unsubscribe link is not valid. Use the link "
                "from the message itself, complete.",
            ),
            400,
        )
    with session_scope(settings.factory, "reading a sent message") as session:
        facts = sent_facts(session, proof.sent_id)
    if facts is None or not proof.matches(facts.recipient):
        return _page(error_page("Unknown link", "This link names no message we sent."), 404)
    return facts


async def unsubscribe_get(request: Request) -> Response:
    settings = _settings(request)
    try:
        found = await run_in_threadpool(_lookup, settings, request.path_params["token"])
    except StoreError as exc:
        log.error("unsubscribe page: %s", exc)
        return _page(error_page("Try again later", "The service is busy."), 503)
    if isinstance(found, HTMLResponse):
        return found
    return _page(confirm_page(found.recipient, found.campaign))


def _one_click(content_type: str, body: bytes) -> bool:
    """The body carries ``List-Unsubscribe=One-Click`` (RFC 8058 3.1): form-urlencoded, as
    RFC 8058 shows, or multipart/form-data, which some clients send."""
    if "multipart/form-data" in content_type:
        return bool(_MULTIPART_FIELD.search(body))
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return False
    return "One-Click" in fields.get("List-Unsubscribe", [])


async def _unsubscribe(settings: WebSettings, writer: EventWriter, token: str) -> HTMLResponse:
    found = await run_in_threadpool(_lookup, settings, token)
    if isinstance(found, HTMLResponse):
        return found
    now = settings.now()
    obs = Observation(
        kind=EventKind.UNSUBSCRIBED,
        key=unsubscribe_key(found.id),
        source="web",
        occurred_at=now,
        recipient=found.recipient,
        sent_id=found.id,
        trust=Trust.LOCAL,
        reason="unsubscribe",
        campaign=found.campaign,
        details={"via": "one-click"},
    )
    result = await writer.record([obs])
    if result.error is not None:
        log.error("unsubscribe of sent message %d not recorded: %s", found.id, result.error)
        return _page(error_page("Try again later", "Your request could not be saved."), 503)
    log.info("one-click unsubscribe of sent message %d recorded", found.id)
    return _page(done_page(found.recipient))


async def unsubscribe_post(request: Request) -> Response:
    settings = _settings(request)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_BODY:
            return _page(error_page("Bad request", "The request is too large."), 413)
    if not _one_click(request.headers.get("content-type", ""), body):
        return _page(
            error_page("Bad request", "Expected List-Unsubscribe=One-Click (RFC 8058)."), 400
        )
    try:
        writer: EventWriter = request.app.state.writer
        return await _unsubscribe(settings, writer, request.path_params["token"])
    except StoreError as exc:
        log.error("one-click unsubscribe not recorded: %s", exc)
        return _page(error_page("Try again later", "Your request could not be saved."), 503)
