"""Open pixel and click redirect over real HTTP: recorded when tracked, machines apart, never
an open redirect."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config.web import CampaignTracking, TrackingConfig
from monitor.enums import EventKind
from monitor.store.models import Event
from parsers.webtoken import click_token, open_token
from tests.conftest import Store
from tests.monitor.web.conftest import KEY, Clock, Web, make_settings
from tests.servers.web import WebServer

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}


def _events(web: Web) -> list[tuple[str, str | None, bool, str | None]]:
    with web.store.factory() as s:
        return [
            (
                e.kind.value,
                e.reason,
                bool((e.details or {}).get("machine")),
                (e.details or {}).get("url"),
            )
            for e in s.scalars(select(Event).order_by(Event.id))
        ]


def test_pixel_records_one_human_open_per_message(web: Web) -> None:
    sent_id = web.sent(delivered=web.clock() - timedelta(hours=2))
    url = web.path(web.links.open_url(sent_id, "jane@example.com"))
    with web.client(headers=BROWSER) as http:
        first, second = http.get(url), http.get(url)
    for r in (first, second):
        assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
        assert r.content.startswith(b"GIF89a") and len(r.content) == 42
        assert "no-store" in r.headers["cache-control"]
    assert _events(web) == [("opened", "undefined", False, None)]


def test_machine_opens_are_recorded_apart(web: Web) -> None:
    sent_id = web.sent(delivered=web.clock() - timedelta(hours=2))
    url = web.path(web.links.open_url(sent_id, "jane@example.com"))
    with web.client() as http:
        assert http.head(url).status_code == 200  # HEAD: a link checker
        assert http.get(url, headers={"User-Agent": "Mozilla/5.0"}).status_code == 200
    with web.store.factory() as s:
        (event,) = s.scalars(select(Event)).all()
    assert event.kind is EventKind.OPENED and event.reason == "machine"
    assert event.details is not None and "HEAD" in event.details["why"]


def test_apple_privacy_proxy_network_is_a_machine(store: Store, tmp_path: Path) -> None:
    clock = Clock()
    tracking = TrackingConfig(opens=True, machine_networks=("127.0.0.0/8",))
    with WebServer(make_settings(store, clock, tracking)) as server:
        web = Web(store, server, make_settings(store, clock, tracking), clock)
        sent_id = web.sent()
        with web.client(headers=BROWSER) as http:
            assert (
                http.get(web.path(web.links.open_url(sent_id, "jane@example.com"))).status_code
                == 200
            )
        assert _events(web) == [("opened", "machine", True, None)]


def test_click_redirects_to_the_signed_url_and_records(web: Web) -> None:
    sent_id = web.sent(delivered=web.clock() - timedelta(hours=2))
    target = "https://shop.example.com/spring?utm_source=mail&x=%C3%A9"
    link = web.path(web.links.click_url(sent_id, "jane@example.com", target))
    with web.client(headers=BROWSER) as http:
        response = http.get(link + "?url=https://evil.example/")
    assert response.status_code == 302 and response.headers["location"] == target
    assert _events(web) == [("clicked", "undefined", False, target)]


def test_scanner_clicks_are_machine_clicks(web: Web) -> None:
    sent_id = web.sent(delivered=web.clock() - timedelta(hours=2))
    with web.client() as http:
        link = web.path(web.links.click_url(sent_id, "jane@example.com", "https://a.example/"))
        r = http.get(link, headers={"User-Agent": "Mozilla/5.0 (compatible; Barracuda Sentinel)"})
        assert r.status_code == 302
    assert _events(web) == [("clicked", "machine", True, "https://a.example/")]


def test_a_click_seconds_after_delivery_is_a_machine(web: Web) -> None:
    sent_id = web.sent(delivered=web.clock() - timedelta(seconds=3))
    with web.client(headers=BROWSER) as http:
        http.get(web.path(web.links.click_url(sent_id, "jane@example.com", "https://a.example/")))
    with web.store.factory() as s:
        (event,) = s.scalars(select(Event)).all()
    assert event.reason == "machine" and "after delivery" in (event.details or {})["why"]


def test_many_links_at_once_are_a_machine(web: Web) -> None:
    sent_id = web.sent(delivered=web.clock() - timedelta(hours=2))
    with web.client(headers=BROWSER) as http:
        for i in range(4):
            link = web.links.click_url(sent_id, "jane@example.com", f"https://a.example/{i}")
            assert http.get(web.path(link)).status_code == 302
    machine = [m for _k, _r, m, _u in _events(web)]
    assert machine == [False, False, True, True]


def test_open_redirect_and_forgery_attempts_fail(web: Web) -> None:
    sent_id = web.sent()
    evil = "https://evil.example/phish"
    forged = click_token(
        key=b"attacker's own key", sent_id=sent_id, recipient="jane@example.com", url=evil
    )
    good = click_token(
        key=KEY, sent_id=sent_id, recipient="jane@example.com", url="https://a.example/"
    )
    raw = bytearray(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))
    spliced = bytes(raw[:13]) + evil.encode() + bytes(raw[-12:])  # our MAC, their URL
    spliced_token = base64.urlsafe_b64encode(spliced).decode().rstrip("=")
    pixel = open_token(key=KEY, sent_id=sent_id, recipient="jane@example.com")
    with web.client(headers=BROWSER) as http:
        for path in [
            f"/c/{forged}",
            f"/c/{spliced_token}",
            f"/c/{good[:-3]}",
            f"/c/{good}x",
            f"/c/{pixel}",  # an open token is not a click token
            "/c/https://evil.example/",
            "/c/%2F%2Fevil.example",
            "/c/?url=https://evil.example",
        ]:
            response = http.get(path)
            assert response.status_code in (400, 404), (path, response.status_code)
            assert "location" not in response.headers, path
        assert http.get(f"/o/{forged}.gif").status_code == 404
        assert http.get(f"/o/{good}.gif").status_code == 404
    assert _events(web) == []


@pytest.mark.parametrize("tracked", [False, True])
def test_tracking_is_per_campaign_and_links_work_either_way(
    store: Store, tmp_path: Path, tracked: bool
) -> None:
    clock = Clock()
    tracking = TrackingConfig(campaigns={"spring": CampaignTracking(opens=tracked, clicks=tracked)})
    settings = make_settings(store, clock, tracking)
    with WebServer(settings) as server:
        web = Web(store, server, settings, clock)
        spring, other = web.sent(campaign="spring"), web.sent("bob@example.com", campaign="autumn")
        with web.client(headers=BROWSER) as http:
            for sent_id, rcpt in ((spring, "jane@example.com"), (other, "bob@example.com")):
                assert http.get(web.path(web.links.open_url(sent_id, rcpt))).status_code == 200
                click = web.path(web.links.click_url(sent_id, rcpt, "https://a.example/"))
                assert http.get(click).headers["location"] == "https://a.example/"
        kinds = sorted(k for k, *_ in _events(web))
    assert kinds == (["clicked", "opened"] if tracked else [])
