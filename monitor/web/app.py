"""The ASGI application: every route of ``deliverwatch web`` in one table.

==========================  =======================================================
``GET|POST /u/TOKEN``       one-click unsubscribe (``monitor.web.unsubscribe``)
``GET /o/TOKEN.gif``        open pixel (``monitor.web.tracking``)
``GET /c/TOKEN``            click redirect (``monitor.web.tracking``)
``GET /healthz``            200 when the database answers, else 503
``/api/v1/...``             the API (``monitor.web.api``), ``/api/v1/openapi.json``
``GET /reports/...``        the daily reports folder, for holders of a read token
==========================  =======================================================

No sessions, no cookies, no CORS: every request carries what it needs (a signed token in
the path, or a bearer token). Every response says ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from monitor.errors import StoreError
from monitor.store.db import session_scope
from monitor.store.web_repo import database_ok
from monitor.web import api
from monitor.web.auth import authenticate
from monitor.web.openapi import openapi_document
from monitor.web.settings import WebSettings
from monitor.web.tracking import click, pixel
from monitor.web.unsubscribe import unsubscribe_get, unsubscribe_post
from monitor.web.writer import EventWriter

__all__ = ["create_app"]

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    settings: WebSettings = request.app.state.settings

    def ping() -> None:
        with session_scope(settings.factory, "health check") as session:
            database_ok(session)

    try:
        await run_in_threadpool(ping)
    except StoreError as exc:
        log.error("health check: %s", exc)
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def openapi(request: Request) -> Response:
    settings: WebSettings = request.app.state.settings
    return JSONResponse(openapi_document(settings.public_url))


class _ReadTokenOnly:
    """Serve ``app`` (the reports folder) to requests with a read token; a browser gets
    a Basic login prompt (the token is the password)."""

    def __init__(self, app: ASGIApp, settings: WebSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # pragma: no cover - lifespan is not routed here
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        key = authenticate(request.headers, self.settings.api_keys)
        if key is None or not key.allows("read"):
            status = 401 if key is None else 403
            headers = {"WWW-Authenticate": 'Basic realm="deliverwatch reports"'}
            response: Response = PlainTextResponse(
                "a read token is required", status_code=status, headers=headers
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _reports(settings: WebSettings) -> ASGIApp:
    if settings.report_dir is None:
        return PlainTextResponse("no reports folder configured", status_code=404)
    files = StaticFiles(directory=settings.report_dir, html=True, check_dir=False)
    return _ReadTokenOnly(files, settings)


class _Headers:
    """``X-Content-Type-Options: nosniff`` and no framing, on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                ]
            await send(message)

        await self.app(scope, receive, sending)


def routes(settings: WebSettings) -> list[BaseRoute]:
    table: list[BaseRoute] = [
        Route("/u/{token}", unsubscribe_get, methods=["GET"]),
        Route("/u/{token}", unsubscribe_post, methods=["POST"]),
        Route("/o/{token}.gif", pixel, methods=["GET", "HEAD"]),
        Route("/c/{token}", click, methods=["GET", "HEAD"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
    ]
    for path, method, scope, handler in api.ENDPOINTS:
        table.append(Route(path, api.scoped(scope, handler), methods=[method]))
    table.append(Mount("/reports", app=_reports(settings), name="reports"))
    return table


def create_app(settings: WebSettings) -> ASGIApp:
    """The application for ``settings`` (``monitor.daemon.wiring.web_settings``)."""
    writer = EventWriter(settings.factory, settings.ctx, settings.now)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        writer.stop()  # the last group commit finishes before the process ends

    app = Starlette(routes=routes(settings), lifespan=lifespan)
    app.state.settings = settings
    app.state.writer = writer
    return _Headers(app)
