"""``/api/v1/``: suppressions, events and messages as JSON, for holders of a bearer token.

Scopes: ``read`` for every GET, ``write`` (which implies read) to add or delete
suppressions. Lists are keyset pages: ``limit`` (1-1000, default 100) and the opaque
``cursor`` of the previous page's ``next_cursor`` (null on the last page). Times are
ISO 8601 in UTC; a time without an offset is taken as UTC. Errors are
``{"error": "..."}`` with the HTTP status that fits (400, 401, 403, 404, 503). The OpenAPI
document (``monitor.web.openapi``) describes exactly these routes.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.enums import EventKind, ListScope, SuppressionReason, Trust
from monitor.errors import MonitorError, StoreError
from monitor.store.db import session_scope
from monitor.store.events_query import EventFilter
from monitor.store.models import Event, RelayMessage, SentMessage, Suppression
from monitor.store.suppressions import add_suppression, remove_suppression
from monitor.store.web_repo import (
    SuppressionFilter,
    event_page,
    events_of,
    get_suppression,
    relay_message,
    sent_row,
    suppression_page,
)
from monitor.web.auth import authenticate
from monitor.web.settings import WebSettings
from parsers.address import AddressError, normalize_address, normalize_domain

__all__ = ["ENDPOINTS", "ApiError", "scoped"]

log = logging.getLogger(__name__)
MAX_LIMIT = 1000


class ApiError(MonitorError):
    """An answer other than success, raised anywhere in a handler."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Handler = Callable[[Request], Awaitable[Response]]


def scoped(scope: str, handler: Handler) -> Handler:
    """``handler`` for holders of a token with ``scope``; the error answers otherwise."""

    async def guarded(request: Request) -> Response:
        settings: WebSettings = request.app.state.settings
        key = authenticate(request.headers, settings.api_keys)
        if key is None:
            return JSONResponse(
                {"error": "a valid bearer token is required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="deliverwatch"'},
            )
        if not key.allows(scope):
            return JSONResponse({"error": f"this token lacks the {scope} scope"}, 403)
        try:
            return await handler(request)
        except ApiError as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        except StoreError as exc:
            log.error("API %s %s: %s", request.method, request.url.path, exc)
            return JSONResponse({"error": "the database is unavailable"}, status_code=503)

    return guarded


# --------------------------------------------------------------------------- parameters


def _time(value: str | None, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{name}: expected an ISO 8601 time, got {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, f"limit: expected 1 to {MAX_LIMIT}")
    return int(raw)


def _cursor(request: Request) -> int:
    raw = request.query_params.get("cursor")
    if not raw:
        return 0
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
        kind, _, value = text.partition(":")
        if kind != "after" or not value.isdigit():
            raise ValueError(text)
        return int(value)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ApiError(400, "cursor: not a cursor this API returned") from None


def _next_cursor(rows: Sequence[Any], limit: int) -> str | None:
    if len(rows) < limit:
        return None
    return base64.urlsafe_b64encode(f"after:{rows[-1].id}".encode()).decode().rstrip("=")


def _enum(cls: Any, value: str, name: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise ApiError(400, f"{name}: expected one of {allowed}, got {value!r}") from None


def _many(request: Request, name: str, cls: Any) -> list[Any]:
    values = [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]
    return [_enum(cls, v.strip(), name) for v in values]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --------------------------------------------------------------------------- JSON shapes


def suppression_json(row: Suppression) -> dict[str, Any]:
    return {
        "id": row.id,
        "scope": row.scope.value,
        "value": row.value,
        "reason": row.reason.value,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "expires_at": _iso(row.expires_at),
        "note": row.note,
        "source_event_id": row.source_event_id,
    }


def event_json(row: Event) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.dedupe_key,
        "kind": row.kind.value,
        "address": row.address,
        "recipient_domain": row.recipient_domain,
        "reason": row.reason,
        "status": row.status,
        "reply_code": row.reply_code,
        "hard": row.hard,
        "diagnostic": row.diagnostic,
        "remote_mta": row.remote_mta,
        "feedback_type": row.feedback_type,
        "campaign": row.campaign,
        "source_ip": row.source_ip,
        "message_id": row.message_id,
        "sent_message_id": row.sent_message_id,
        "trust": row.trust.value,
        "source": row.source,
        "source_ref": row.source_ref,
        "occurred_at": _iso(row.occurred_at),
        "ingested_at": _iso(row.ingested_at),
        "details": row.details or {},
    }


def sent_json(row: SentMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "queue_id": row.queue_id,
        "message_id": row.message_id,
        "campaign": row.campaign,
        "envelope_sender": row.envelope_sender,
        "recipient": row.recipient,
        "state": row.state.value,
        "attempts": row.attempts,
        "next_attempt_at": _iso(row.next_attempt_at),
        "last_reply": row.last_reply,
        "remote_mx": row.remote_mx,
        "source_ip": row.source_ip,
        "created_at": _iso(row.created_at),
        "sent_at": _iso(row.sent_at),
        "final_at": _iso(row.final_at),
        "relay_message_id": row.relay_message_id,
    }


def relay_json(row: RelayMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "queue_id": row.queue_id,
        "submitted_by": row.submitted_by,
        "envelope_sender": row.envelope_sender,
        "header_from": row.header_from,
        "message_id": row.message_id,
        "campaign": row.campaign,
        "stream": row.stream,
        "size": row.size,
        "hold_reason": row.hold_reason,
        "received_at": _iso(row.received_at),
    }


# --------------------------------------------------------------------------- suppressions


def _target(value: str, scope: str | None, lowercase: bool) -> tuple[ListScope, str]:
    chosen = (
        _enum(ListScope, scope, "scope")
        if scope
        else (ListScope.ADDRESS if "@" in value else ListScope.DOMAIN)
    )
    try:
        if chosen is ListScope.DOMAIN:
            return chosen, normalize_domain(value)
        return chosen, normalize_address(value, lowercase_local=lowercase)
    except AddressError as exc:
        raise ApiError(400, f"value: {exc}") from None


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


async def list_suppressions(request: Request) -> Response:
    settings, q = _settings(request), request.query_params
    flt = SuppressionFilter(
        reason=_enum(SuppressionReason, q["reason"], "reason") if q.get("reason") else None,
        scope=_enum(ListScope, q["scope"], "scope") if q.get("scope") else None,
        contains=q.get("contains") or None,
        since=_time(q.get("since"), "since"),
    )
    limit, after = _limit(request), _cursor(request)

    def read() -> dict[str, Any]:
        with session_scope(settings.factory, "listing suppressions") as session:
            rows = suppression_page(session, flt, after=after, limit=limit)
            return {
                "items": [suppression_json(r) for r in rows],
                "next_cursor": _next_cursor(rows, limit),
            }

    return JSONResponse(await run_in_threadpool(read))


async def get_one_suppression(request: Request) -> Response:
    settings = _settings(request)
    scope, value = _target(
        request.path_params["value"],
        request.query_params.get("scope"),
        settings.ctx.lowercase_local,
    )

    def read() -> dict[str, Any] | None:
        with session_scope(settings.factory, "reading a suppression") as session:
            row = get_suppression(session, scope, value)
            return suppression_json(row) if row is not None else None

    found = await run_in_threadpool(read)
    if found is None:
        raise ApiError(404, f"{value} is not suppressed")
    return JSONResponse(found)


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > 64 * 1024:
        raise ApiError(413, "body too large")
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


def _text(data: dict[str, Any], name: str, limit: int) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError(400, f"{name}: expected a string of at most {limit} characters")
    return value


async def add_one_suppression(request: Request) -> Response:
    settings = _settings(request)
    data = await _json_body(request)
    unknown = set(data) - {"value", "scope", "reason", "note", "expires_at"}
    if unknown:
        raise ApiError(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    raw = _text(data, "value", 320)
    if not raw:
        raise ApiError(400, "value: required (an address or a domain)")
    scope, value = _target(raw, _text(data, "scope", 16), settings.ctx.lowercase_local)
    reason = _enum(SuppressionReason, _text(data, "reason", 32) or "manual", "reason")
    note = _text(data, "note", 500)
    expires = _time(_text(data, "expires_at", 64), "expires_at")

    def write() -> tuple[dict[str, Any], bool]:
        with session_scope(settings.factory, "adding a suppression") as session:
            row, new = add_suppression(
                session,
                scope=scope,
                value=value,
                reason=reason,
                now=settings.now(),
                expires_at=expires,
                note=note,
            )
            session.flush()
            return suppression_json(row), new

    body, new = await run_in_threadpool(write)
    return JSONResponse(body, status_code=201 if new else 200)


async def delete_one_suppression(request: Request) -> Response:
    settings = _settings(request)
    scope, value = _target(
        request.path_params["value"],
        request.query_params.get("scope"),
        settings.ctx.lowercase_local,
    )

    def write() -> bool:
        with session_scope(settings.factory, "removing a suppression") as session:
            return remove_suppression(session, scope=scope, value=value)

    if not await run_in_threadpool(write):
        raise ApiError(404, f"{value} is not suppressed")
    return Response(status_code=204)


# --------------------------------------------------------------------------- events


async def list_events(request: Request) -> Response:
    settings, q = _settings(request), request.query_params
    flt = EventFilter(
        since=_time(q.get("since"), "since"),
        until=_time(q.get("until"), "until"),
        kinds=tuple(_many(request, "kind", EventKind)),
        campaign=q.get("campaign") or None,
        domain=q.get("domain") or None,
        trust=tuple(_many(request, "trust", Trust)),
    )
    limit, after = _limit(request), _cursor(request)

    def read() -> dict[str, Any]:
        with session_scope(settings.factory, "listing events") as session:
            rows = event_page(session, flt, after=after, limit=limit)
            return {
                "items": [event_json(r) for r in rows],
                "next_cursor": _next_cursor(rows, limit),
            }

    return JSONResponse(await run_in_threadpool(read))


# --------------------------------------------------------------------------- messages


async def get_message(request: Request) -> Response:
    """A sent row by its numeric id, or a relay message by its queue id, with events."""
    settings = _settings(request)
    key = request.path_params["id"]

    def read() -> dict[str, Any] | None:
        with session_scope(settings.factory, "reading a message") as session:
            if key.isdigit() and int(key) < 2**63:
                row = sent_row(session, int(key))
                if row is None:
                    return None
                relay = (
                    session.get(RelayMessage, row.relay_message_id)
                    if row.relay_message_id
                    else None
                )
                return {
                    "type": "sent",
                    "sent": sent_json(row),
                    "relay_message": relay_json(relay) if relay else None,
                    "events": [event_json(e) for e in events_of(session, [row.id])],
                }
            found = relay_message(session, key)
            if found is None:
                return None
            message, rows = found
            events = events_of(session, [r.id for r in rows])
            return {
                "type": "relay",
                "relay_message": relay_json(message),
                "recipients": [
                    {
                        **sent_json(r),
                        "events": [event_json(e) for e in events if e.sent_message_id == r.id],
                    }
                    for r in rows
                ],
            }

    found = await run_in_threadpool(read)
    if found is None:
        raise ApiError(404, f"no message {key}")
    return JSONResponse(found)


#: (path, method, scope, handler): the API's routes (``monitor.web.app`` mounts them; the
#: OpenAPI document is checked against this list).
ENDPOINTS: tuple[tuple[str, str, str, Handler], ...] = (
    ("/api/v1/suppressions", "GET", "read", list_suppressions),
    ("/api/v1/suppressions", "POST", "write", add_one_suppression),
    ("/api/v1/suppressions/{value}", "GET", "read", get_one_suppression),
    ("/api/v1/suppressions/{value}", "DELETE", "write", delete_one_suppression),
    ("/api/v1/events", "GET", "read", list_events),
    ("/api/v1/messages/{id}", "GET", "read", get_message),
)
