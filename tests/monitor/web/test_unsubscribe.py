"""One-click unsubscribe (RFC 8058) over real HTTP, and by mail to unsub+TOKEN@."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from monitor.enums import EventKind, ListScope, SuppressionReason, Trust
from monitor.events import EventContext, record
from monitor.ingest.observe import ItemRejected, observations
from monitor.ingest.parse import parse_item
from monitor.store.models import Event, Suppression
from parsers.webtoken import LinkMaker, unsubscribe_token
from tests.monitor.web.conftest import KEY, Web

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _suppressions(web: Web) -> list[tuple[str, str, str]]:
    with web.store.factory() as s:
        return [(r.scope.value, r.value, r.reason.value) for r in s.scalars(select(Suppression))]


def _events(web: Web) -> list[Event]:
    with web.store.factory() as s:
        return list(s.scalars(select(Event).order_by(Event.id)))


def test_one_click_post_suppresses_at_once_and_is_idempotent(web: Web) -> None:
    sent_id = web.sent("Jane.Doe@Example.com")
    header = web.links.list_unsubscribe(sent_id, "jane.doe@example.com")
    url = header["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert header["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with web.client() as http:
        first = http.post(web.path(url), data=ONE_CLICK)
        again = http.post(web.path(url), data=ONE_CLICK)
    for response in (first, again):
        assert response.status_code == 200, response.text
        assert "set-cookie" not in response.headers and "location" not in response.headers
        assert (
            "You are unsubscribed" in response.text and "j***@example.com" in response.text.lower()
        )
    assert _suppressions(web) == [("address", "jane.doe@example.com", "unsubscribe")]
    (event,) = _events(web)
    assert event.kind is EventKind.UNSUBSCRIBED and event.trust is Trust.LOCAL
    assert event.sent_message_id == sent_id and event.source == "web"
    assert event.details and event.details["via"] == "one-click"


def test_multipart_one_click_body_is_accepted(web: Web) -> None:
    sent_id = web.sent()
    with web.client() as http:
        response = http.post(
            web.path(web.links.unsubscribe_url(sent_id, "jane@example.com")),
            files={"List-Unsubscribe": (None, "One-Click")},
        )
    assert response.status_code == 200
    assert _suppressions(web) == [("address", "jane@example.com", "unsubscribe")]


def test_get_shows_a_form_and_changes_nothing(web: Web) -> None:
    sent_id = web.sent()
    with web.client() as http:
        page = http.get(web.path(web.links.unsubscribe_url(sent_id, "jane@example.com")))
        head = http.head(web.path(web.links.unsubscribe_url(sent_id, "jane@example.com")))
    assert page.status_code == 200 and head.status_code == 200
    assert '<form method="post" action="">' in page.text
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert "<script" not in page.text and "set-cookie" not in page.headers
    assert page.headers["cache-control"] == "no-store"
    assert _suppressions(web) == [] and _events(web) == []


def test_bad_tokens_and_bodies_record_nothing(web: Web) -> None:
    sent_id = web.sent()
    good = unsubscribe_token(key=KEY, sent_id=sent_id, recipient="jane@example.com")
    forged = unsubscribe_token(
        key=b"another key entirely", sent_id=sent_id, recipient="jane@example.com"
    )
    other_rcpt = unsubscribe_token(key=KEY, sent_id=sent_id, recipient="bob@example.com")
    unknown = unsubscribe_token(key=KEY, sent_id=sent_id + 999, recipient="jane@example.com")
    altered = good[:-1] + ("a" if good[-1] != "a" else "b")
    with web.client() as http:
        for token, status in [
            (forged, 400),
            (altered, 400),
            (good[:-2], 400),
            (good + "aa", 400),
            ("../../etc/passwd", 404),
            (other_rcpt, 404),
            (unknown, 404),
        ]:
            for method in ("GET", "POST"):
                response = http.request(method, f"/u/{token}", data=ONE_CLICK)
                assert response.status_code == status, (token, method, response.text)
        # a good token without the RFC 8058 body
        assert http.post(f"/u/{good}", data={"x": "y"}).status_code == 400
        assert http.post(f"/u/{good}").status_code == 400
    assert _suppressions(web) == [] and _events(web) == []


def _mail(to: str) -> bytes:
    return (
        f"From: Jane <jane@example.com>\r\nTo: {to}\r\nSubject: unsubscribe\r\n"
        "Message-ID: <req1@example.com>\r\n\r\nplease stop\r\n"
    ).encode()


def test_mail_to_unsub_address_suppresses_through_the_core(web: Web) -> None:
    sent_id = web.sent()
    mailto = LinkMaker(
        key=KEY, base_url="https://x", unsubscribe_domain="b.example"
    ).unsubscribe_mailto(sent_id, "jane@example.com")
    assert mailto is not None
    address = mailto.removeprefix("mailto:")
    item = parse_item(_mail(f"<{address.upper()}>"), ref="INBOX:1:7", received_at=web.clock())
    ctx = EventContext(web_keys=(KEY,))
    obs = observations(
        item, source="imap:bounces", lowercase_local=True, now=web.clock(), token_keys=ctx.web_keys
    )
    assert [(o.kind, o.sent_id, o.trust) for o in obs] == [
        (EventKind.UNSUBSCRIBED, sent_id, Trust.LOCAL)
    ]
    with web.store.factory() as session, session.begin():
        (result,) = record(session, [obs], ctx, now=web.clock())
    assert result.error is None and result.decided[0].suppressed
    assert _suppressions(web) == [("address", "jane@example.com", "unsubscribe")]
    # the same request by POST afterwards is the same fact: no second event
    with web.client() as http:
        url = web.path(web.links.unsubscribe_url(sent_id, "jane@example.com"))
        assert http.post(url, data=ONE_CLICK).status_code == 200
    assert len(_events(web)) == 1


def test_mail_to_unsub_address_with_a_forged_token_is_refused(web: Web) -> None:
    sent_id = web.sent()
    forged = unsubscribe_token(
        key=b"not our key at all", sent_id=sent_id, recipient="jane@example.com"
    )
    item = parse_item(_mail(f"unsub+{forged}@b.example"), ref="INBOX:1:8", received_at=web.clock())
    try:
        observations(
            item, source="imap:x", lowercase_local=True, now=web.clock(), token_keys=(KEY,)
        )
    except ItemRejected as exc:
        assert "signature" in exc.reason
    else:
        raise AssertionError("a forged unsubscribe mail was accepted")


def test_one_click_post_of_an_allowlisted_address_records_but_does_not_suppress(web: Web) -> None:
    from monitor.store.suppressions import add_allow

    sent_id = web.sent()
    with web.store.factory() as session, session.begin():
        add_allow(session, scope=ListScope.ADDRESS, value="jane@example.com", now=datetime.now(UTC))
    with web.client() as http:
        url = web.path(web.links.unsubscribe_url(sent_id, "jane@example.com"))
        assert http.post(url, data=ONE_CLICK).status_code == 200
    with web.store.factory() as s:
        assert s.scalar(select(func.count()).select_from(Suppression)) == 0
        assert s.scalar(select(func.count()).select_from(Event)) == 1
    assert SuppressionReason.UNSUBSCRIBE.value == "unsubscribe"
