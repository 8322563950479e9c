"""The web service (``deliverwatch web``): one-click unsubscribe, tracking, the API, reports.

An ASGI application (Starlette) served by uvicorn. A click on an unsubscribe link, an open
pixel fetched and a tracked link followed are facts like a bounce: each becomes an
``Observation`` recorded through ``monitor.events``. The outgoing webhooks are delivered by
the daemon (``monitor.web.webhooks``), from the outbox the events core writes.
"""
