"""The parts of delivery that need no SMTP server: the prepared body, back-off, what an
attempt becomes (outcome, event, DSN block), the DSN message itself, the MX cache."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
import re

from hypothesis import given
from hypothesis import strategies as st

from monitor.checks.resolver import DnsClient
from monitor.enums import EventKind, MessageState
from monitor.relay.delivery.dsn import DsnRecipient, build_dsn
from monitor.relay.delivery.mx import MxResolver
from monitor.relay.delivery.record import Attempt, backoff, prepare, settle
from monitor.relay.delivery.result import Reply, Verdict
from monitor.relay.delivery.session import prepare_body
from monitor.relay.delivery.settings import DeliverySettings
from monitor.store.queue import Due
from parsers import parse_message
from tests.servers.dns import DNSServer

T0 = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC)
SETTINGS = DeliverySettings(hostname="relay.sender.example", retry_initial=300, retry_max=4000)


def due(**kw: object) -> Due:
    values: dict[str, object] = {
        "id": 7, "relay_message_id": 3, "queue_id": "ABC.1", "recipient": "ann@dest.example",
        "domain": "dest.example", "attempts": 0, "notify": None, "orcpt": None,
        "expires_at": T0 + dt.timedelta(days=5), "envelope_sender": "news@sender.example",
        "campaign": "spring", "message_id": "m1@sender.example", "stream": "bulk",
        "submitted_by": "app", "header_from": "news@sender.example", "smtputf8": False,
        "body_8bit": False, "dsn_ret": None, "dsn_envid": None, "received_at": T0,
    }  # fmt: skip
    values.update(kw)
    return Due(**values)  # type: ignore[arg-type]


def _reference(body: bytes) -> bytes:
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", body)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return re.sub(rb"(?m)^\.", b"..", data) + b".\r\n"


@given(st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"..", b" "]), max_size=40))
def test_prepared_body_is_crlf_dot_stuffed_and_terminated(parts: list[bytes]) -> None:
    body = b"".join(parts)
    assert prepare_body(body) == _reference(body)


def test_back_off_doubles_with_jitter_up_to_the_maximum() -> None:
    rng = random.Random(1)
    for attempts, base in ((1, 300), (2, 600), (3, 1200), (4, 2400), (5, 4000), (40, 4000)):
        for _ in range(50):
            assert 0.8 * base <= backoff(attempts, SETTINGS, rng) <= 1.2 * base


def test_a_deferral_past_the_lifetime_expires_and_a_late_retry_is_capped() -> None:
    reply = Reply(451, "4.3.0 later", "RCPT", "mx1.dest.example")
    near_end = due(expires_at=T0 + dt.timedelta(seconds=60))
    capped = settle(Attempt(near_end, reply), now=T0, settings=SETTINGS, rng=random.Random(1))
    assert capped.state is MessageState.DEFERRED
    assert capped.outcome.next_attempt_at == T0 + dt.timedelta(seconds=60)
    gone = settle(Attempt(near_end, reply), now=T0 + dt.timedelta(seconds=60),
                  settings=SETTINGS, rng=random.Random(1))  # fmt: skip
    assert gone.state is MessageState.EXPIRED and gone.observation is not None
    assert gone.observation.kind is EventKind.BOUNCED and gone.observation.reason == "expired"
    assert gone.outcome.reply == "451 4.3.0 later"


def test_held_attempts_make_no_event_and_no_attempt() -> None:
    reply = Reply(None, "internal error: ValueError: boom", local=Verdict.HELD)
    held = settle(Attempt(due(), reply), now=T0, settings=SETTINGS, rng=random.Random(1))
    assert held.state is MessageState.HELD and held.observation is None
    assert held.outcome.attempted is False and held.notice is None


def test_event_keys_differ_per_attempt_and_repeat_for_the_same_attempt() -> None:
    reply = Reply(451, "4.3.0 later", "RCPT", "mx1")
    first = settle(Attempt(due(), reply), now=T0, settings=SETTINGS, rng=random.Random(1))
    again = settle(Attempt(due(), reply), now=T0, settings=SETTINGS, rng=random.Random(2))
    second = settle(Attempt(due(attempts=1), reply), now=T0, settings=SETTINGS,
                    rng=random.Random(1))  # fmt: skip
    assert first.observation and again.observation and second.observation
    assert first.observation.key == again.observation.key != second.observation.key


def test_notices_follow_notify_and_never_go_to_the_null_sender() -> None:
    fail = Reply(550, "5.1.1 no such user", "RCPT", "mx1")
    ok = Reply(250, "2.0.0 queued", "END-OF-DATA", "mx1")
    later = Reply(451, "4.3.0 later", "RCPT", "mx1")
    rng = random.Random(1)

    def notice(d: Due, reply: Reply, remote_dsn: bool = False) -> str | None:
        found = settle(Attempt(d, reply, remote_dsn=remote_dsn), now=T0, settings=SETTINGS,
                       rng=rng).notice  # fmt: skip
        return found.action if found else None

    assert notice(due(notify="FAILURE"), fail) == "failed"
    assert notice(due(notify=None), fail) is None
    assert notice(due(notify="NEVER"), fail) is None
    assert notice(due(notify="FAILURE", envelope_sender=""), fail) is None
    assert notice(due(notify="SUCCESS"), ok) == "relayed"
    assert notice(due(notify="SUCCESS"), ok, remote_dsn=True) is None
    assert notice(due(notify="DELAY"), later) == "delayed"
    assert notice(due(notify="DELAY", attempts=1), later) is None


def test_one_dsn_per_message_parsed_back_by_our_own_parser() -> None:
    body = b"From: news@sender.example\r\nSubject: spring\r\n\r\nHello.\r\n"
    attempts = [
        Attempt(due(id=1, recipient="a@dest.example", notify="FAILURE"),
                Reply(550, "5.1.1 no such user", "RCPT", "mx1.dest.example"), body=body),
        Attempt(due(id=2, recipient="b@dest.example", notify="FAILURE"),
                Reply(552, "5.2.2 mailbox full", "RCPT", "mx1.dest.example"), body=body),
    ]  # fmt: skip
    batch = prepare(attempts, now=T0, settings=SETTINGS, rng=random.Random(1))
    [dsn] = batch.dsns
    assert dsn.envelope_sender == "" and [r.address for r in dsn.recipients] == [
        "news@sender.example"
    ]
    assert b"Hello." in dsn.body  # no RET: a failure returns the whole message
    report = parse_message(dsn.body, received_at=T0)
    assert sorted((r.address, r.status) for r in report.recipients) == [
        ("a@dest.example", "5.1.1"),
        ("b@dest.example", "5.2.2"),
    ]


def test_a_dsn_for_a_utf8_address_is_a_global_one() -> None:
    block = DsnRecipient(address="j\u00fcrgen@dest.example", orcpt=None, action="failed",
                         status="5.1.1", diagnostic="550 5.1.1 unknown")  # fmt: skip
    dsn = build_dsn(due(recipient="j\u00fcrgen@dest.example"), [block], original=None,
                    hostname="relay.example", now=T0, lifetime=dt.timedelta(days=5),
                    size_limit=50_000)  # fmt: skip
    text = dsn.body.decode()
    assert dsn.smtputf8 and "message/global-delivery-status" in text
    assert "Final-Recipient: utf-8; j\u00fcrgen@dest.example" in text


def test_a_reply_cannot_inject_fields_into_a_dsn() -> None:
    hostile = "550 bad\r\nFinal-Recipient: rfc822; victim@x.example"
    block = DsnRecipient(address="a@dest.example", orcpt=None, action="failed", status="5.0.0",
                         diagnostic=hostile)  # fmt: skip
    dsn = build_dsn(due(), [block], original=None, hostname="relay.example", now=T0,
                    lifetime=dt.timedelta(days=5), size_limit=50_000)  # fmt: skip
    fields = re.findall(rb"(?m)^Final-Recipient:.*$", dsn.body)
    assert fields == [b"Final-Recipient: rfc822; a@dest.example\r"]


def test_mx_answers_are_cached_for_their_ttl_and_shared_by_concurrent_lookups() -> None:
    now = [1000.0]
    with DNSServer() as server:
        server.zone.add("dest.example", "MX", [10, "mx1.dest.example"])
        server.zone.add("mx1.dest.example", "A", "127.0.0.2")

        async def go() -> tuple[int, int, int]:
            async with DnsClient([server.address], timeout=2) as client:
                resolver = MxResolver(client, clock=lambda: now[0])
                routes = await asyncio.gather(*(resolver.route("dest.example") for _ in range(20)))
                assert {r.hosts[0].addresses for r in routes} == {("127.0.0.2",)}
                first = server.queries  # MX, A, AAAA: once each
                await resolver.route("dest.example")
                cached = server.queries
                now[0] += 301  # the test zone's TTL is 300 s
                await resolver.route("dest.example")
                return first, cached, server.queries

        first, cached, expired = asyncio.run(go())
    assert first == 3 and cached == 3 and expired == 6


def test_settings_come_from_relay_sending_suppression_and_checks(tmp_path) -> None:
    from monitor.config.loader import config_from_dict
    from monitor.daemon.wiring import delivery_settings

    cfg = config_from_dict(
        {
            "relay": {"hostname": "relay.sender.example", "outbound_port": 2525,
                      "command_timeout_seconds": 7, "queue_lifetime_hours": 2,
                      "max_connections_per_domain": 3, "verp_local_part": "b"},
            "sending": {"ips": ["192.0.2.10"], "helo": {"192.0.2.10": "mta1.sender.example"},
                        "envelope_domain": "Bounces.Sender.Example."},
            "suppression": {"verp_key": "s3cret"},
            "checks": {"nameservers": ["127.0.0.1:5353"], "timeout_seconds": 2},
        },
        base_dir=tmp_path,
    )  # fmt: skip
    s = delivery_settings(cfg)
    assert (s.hostname, s.port, s.command_timeout) == ("relay.sender.example", 2525, 7)
    assert s.queue_lifetime == dt.timedelta(hours=2) and s.max_connections_per_domain == 3
    assert s.source_ips == ("192.0.2.10",) and s.helo_for("192.0.2.10") == "mta1.sender.example"
    assert s.helo_for(None) == "relay.sender.example"
    assert s.verp and s.verp_key == b"s3cret" and s.envelope_domain == "bounces.sender.example"
    assert s.verp_local_part == "b" and s.nameservers == ("127.0.0.1:5353",)
    assert s.dns_timeout == 2
    assert s.dane_resolver is None  # DANE is off unless configured
    on = dataclasses.replace(
        cfg, relay=dataclasses.replace(cfg.relay, dane=True, dane_resolver="127.0.0.1:5300")
    )
    assert delivery_settings(on).dane_resolver == "127.0.0.1:5300"
