"""The API over real HTTP: bearer tokens and scopes, suppressions, events, messages, the
OpenAPI document, /healthz and the reports folder."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from monitor.enums import EventKind, Trust
from monitor.events import EventContext, Observation, event_key, record_events
from monitor.web import api
from tests.monitor.web.conftest import NOW, READ, WRITE, Web


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_and_scopes(web: Web) -> None:
    with web.client() as http:
        assert http.get("/api/v1/suppressions").status_code == 401
        r = http.get("/api/v1/suppressions", headers=_auth("wrong-token-0123456789"))
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert (
            http.get("/api/v1/events", headers={"Authorization": f"Basic {READ}"}).status_code
            == 401
        )
        assert http.get("/api/v1/suppressions", headers=_auth(READ)).status_code == 200
        assert (
            http.get("/api/v1/suppressions", headers=_auth(WRITE)).status_code == 200
        )  # write implies read
        r = http.post("/api/v1/suppressions", json={"value": "a@b.example"}, headers=_auth(READ))
        assert r.status_code == 403 and "write" in r.json()["error"]
        assert (
            http.delete("/api/v1/suppressions/a@b.example", headers=_auth(READ)).status_code == 403
        )


def test_suppressions_add_get_list_page_filter_delete(web: Web) -> None:
    w = _auth(WRITE)
    with web.client() as http:
        r = http.post(
            "/api/v1/suppressions", json={"value": "Jane@Example.COM", "note": "asked"}, headers=w
        )
        assert r.status_code == 201 and r.json()["value"] == "jane@example.com"
        assert r.json()["reason"] == "manual" and r.json()["scope"] == "address"
        again = http.post("/api/v1/suppressions", json={"value": "jane@example.com"}, headers=w)
        assert again.status_code == 200
        for i in range(7):
            body = {
                "value": f"user{i}@list.example",
                "reason": "complaint" if i % 2 else "hard-bounce",
            }
            assert http.post("/api/v1/suppressions", json=body, headers=w).status_code == 201
        r = http.post(
            "/api/v1/suppressions",
            json={"value": "spam.example", "expires_at": "2030-01-01T00:00:00Z"},
            headers=w,
        )
        assert (
            r.status_code == 201
            and r.json()["scope"] == "domain"
            and r.json()["expires_at"].startswith("2030")
        )
        for bad in (
            {"value": "not an address@"},
            {"value": "a@b.example", "reason": "because"},
            {"value": "a@b.example", "colour": "red"},
            [1],
            {"note": "no value"},
        ):
            assert http.post("/api/v1/suppressions", json=bad, headers=w).status_code == 400, bad
        assert http.post("/api/v1/suppressions", content=b"{", headers=w).status_code == 400

        got = http.get("/api/v1/suppressions/JANE@example.com", headers=w).json()
        assert got["note"] == "asked"
        assert http.get("/api/v1/suppressions/spam.example", headers=w).json()["scope"] == "domain"
        assert http.get("/api/v1/suppressions/nobody@example.com", headers=w).status_code == 404

        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = http.get("/api/v1/suppressions", params=params, headers=w).json()
            seen += [item["value"] for item in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 4 and len(seen) == len(set(seen)) == 9
        only = http.get("/api/v1/suppressions", params={"reason": "complaint"}, headers=w).json()[
            "items"
        ]
        assert sorted(i["value"] for i in only) == [
            "user1@list.example",
            "user3@list.example",
            "user5@list.example",
        ]
        found = http.get("/api/v1/suppressions", params={"contains": "USER6"}, headers=w).json()[
            "items"
        ]
        assert [i["value"] for i in found] == ["user6@list.example"]
        domains = http.get("/api/v1/suppressions", params={"scope": "domain"}, headers=w).json()[
            "items"
        ]
        assert [i["value"] for i in domains] == ["spam.example"]
        later = http.get("/api/v1/suppressions", params={"since": "2100-01-01"}, headers=w).json()
        assert later == {"items": [], "next_cursor": None}
        for bad in (
            {"limit": 0},
            {"limit": 5000},
            {"cursor": "bm9wZQ"},
            {"reason": "x"},
            {"since": "yesterday"},
        ):
            assert http.get("/api/v1/suppressions", params=bad, headers=w).status_code == 400, bad

        assert http.delete("/api/v1/suppressions/jane@example.com", headers=w).status_code == 204
        assert http.delete("/api/v1/suppressions/jane@example.com", headers=w).status_code == 404
        assert http.get("/api/v1/suppressions/jane@example.com", headers=w).status_code == 404


def _record_events(web: Web, sent_id: int) -> None:
    obs = []
    for i, (kind, rcpt, campaign) in enumerate(
        [
            (EventKind.DELIVERED, "jane@example.com", "spring"),
            (EventKind.BOUNCED, "bob@other.example", "spring"),
            (EventKind.DELIVERED, "ann@other.example", "autumn"),
            (EventKind.COMPLAINED, "zed@example.com", None),
        ]
    ):
        obs.append(
            Observation(
                kind=kind,
                key=event_key("t", i),
                source="test",
                occurred_at=NOW + timedelta(minutes=i),
                recipient=rcpt,
                sent_id=sent_id if i == 0 else None,
                trust=Trust.LOCAL if i < 3 else None,
                campaign=campaign,
                reason="userunknown" if kind is EventKind.BOUNCED else "undefined",
                hard=True if kind is EventKind.BOUNCED else None,
            )
        )
    record_events(web.store.factory, [[o] for o in obs], EventContext(), now=NOW)


def test_events_filters_and_paging(web: Web) -> None:
    sent_id = web.sent()
    _record_events(web, sent_id)
    r = _auth(READ)
    with web.client() as http:

        def items(**params: Any) -> list[str]:
            body = http.get("/api/v1/events", params=params, headers=r)
            assert body.status_code == 200, body.text
            return sorted(e["address"] for e in body.json()["items"])  # any storing order

        assert items() == [
            "ann@other.example",
            "bob@other.example",
            "jane@example.com",
            "zed@example.com",
        ]
        assert items(kind="delivered") == ["ann@other.example", "jane@example.com"]
        assert items(kind="bounced,complained") == ["bob@other.example", "zed@example.com"]
        assert items(campaign="spring") == ["bob@other.example", "jane@example.com"]
        assert items(domain="OTHER.example") == ["ann@other.example", "bob@other.example"]
        assert items(trust="unverified") == ["zed@example.com"]
        assert items(
            since=(NOW + timedelta(minutes=1)).isoformat(),
            until=(NOW + timedelta(minutes=3)).isoformat(),
        ) == ["ann@other.example", "bob@other.example"]
        first = http.get("/api/v1/events", params={"limit": 3}, headers=r).json()
        rest = http.get(
            "/api/v1/events", params={"limit": 3, "cursor": first["next_cursor"]}, headers=r
        ).json()
        addresses = {e["address"] for e in first["items"] + rest["items"]}
        assert len(first["items"]) == 3 and len(rest["items"]) == 1 and len(addresses) == 4
        assert rest["next_cursor"] is None
        assert http.get("/api/v1/events", params={"kind": "exploded"}, headers=r).status_code == 400
        (event,) = [e for e in first["items"] + rest["items"] if e["address"] == "jane@example.com"]
        assert event["sent_message_id"] == sent_id and event["trust"] == "local" and event["key"]

        message = http.get(f"/api/v1/messages/{sent_id}", headers=r).json()
        assert message["type"] == "sent" and message["sent"]["recipient"] == "jane@example.com"
        assert [e["kind"] for e in message["events"]] == ["delivered"]
        assert http.get("/api/v1/messages/999999", headers=r).status_code == 404
        assert http.get("/api/v1/messages/NOQUEUEID", headers=r).status_code == 404


def test_relay_message_by_queue_id(web: Web) -> None:
    from monitor.store.queue import QueuedMessage, QueuedRecipient, enqueue

    with web.store.factory() as session, session.begin():
        enqueue(
            session,
            [
                QueuedMessage(
                    queue_id="Q1TEST",
                    submitted_by="app",
                    envelope_sender="bounce@b.example",
                    header_from="news@b.example",
                    message_id="m1@b.example",
                    campaign="spring",
                    body=b"Subject: x\r\n\r\nhi\r\n",
                    received_at=NOW,
                    expires_at=NOW + timedelta(days=5),
                    recipients=[
                        QueuedRecipient(address="jane@example.com"),
                        QueuedRecipient(address="bob@example.com"),
                    ],
                )
            ],
        )
    with web.client() as http:
        body = http.get("/api/v1/messages/Q1TEST", headers=_auth(READ)).json()
    assert body["type"] == "relay" and body["relay_message"]["campaign"] == "spring"
    assert sorted(r["recipient"] for r in body["recipients"]) == [
        "bob@example.com",
        "jane@example.com",
    ]
    assert "body" not in body["relay_message"]


def test_openapi_document_describes_exactly_the_routes(web: Web) -> None:
    with web.client() as http:
        doc = http.get("/api/v1/openapi.json").json()
    described = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    assert described == {(path, method) for path, method, _scope, _h in api.ENDPOINTS}
    for path, method, scope, _h in api.ENDPOINTS:
        assert doc["paths"][path][method.lower()]["security"] == [{"bearer": [scope]}]
    assert doc["openapi"].startswith("3.1")


def test_healthz_and_reports(web: Web) -> None:
    folder = web.settings.report_dir
    assert folder is not None
    folder.mkdir(parents=True)
    (folder / "index.html").write_text("<h1>reports index</h1>")
    (folder / "report-2026-03-01.html").write_text("<h1>the first of March</h1>")
    (folder.parent / "secret.txt").write_text("outside the folder")
    basic = base64.b64encode(f"anyone:{READ}".encode()).decode()
    with web.client() as http:
        assert http.get("/healthz").json() == {"status": "ok", "database": "ok"}
        r = http.get("/reports/")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
        assert http.get("/reports/", headers=_auth("not-a-valid-token-000")).status_code == 401
        assert "reports index" in http.get("/reports/", headers=_auth(READ)).text
        day = http.get(
            "/reports/report-2026-03-01.html", headers={"Authorization": f"Basic {basic}"}
        )
        assert day.status_code == 200 and "March" in day.text
        assert day.headers["x-content-type-options"] == "nosniff"
        for path in ("/reports/../secret.txt", "/reports/%2e%2e/secret.txt", "/reports/nope.html"):
            assert http.get(path, headers=_auth(READ)).status_code == 404, path


def test_healthz_says_503_when_the_database_is_gone(web: Web) -> None:
    import dataclasses

    from monitor.store.db import make_engine, make_session_factory
    from tests.servers.web import WebServer

    dead = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    settings = dataclasses.replace(web.settings, factory=make_session_factory(dead))
    with WebServer(settings) as server, web.client() as http:
        r = http.get(server.url + "/healthz")
    assert r.status_code == 503 and r.json()["database"] == "unreachable"
