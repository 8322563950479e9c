"""The DNS client's transport against loopback servers: answers are believed only from the
server asked, with the ID and question of an outstanding query (RFC 5452 4.3); timeouts,
ICMP errors, truncation, SERVFAIL fail-over and socket rotation behave."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from monitor.checks.resolver import DnsClient, DnsStatus, parse_nameserver
from monitor.checks.transport import UdpPool, encode_name, plain_records
from monitor.errors import CheckError
from tests.monitor.checks.helpers import ask
from tests.servers.dns import DNSServer, Zone

Reply = Callable[[dns.message.Message], list[bytes]]


class RawServer:
    """A UDP responder that sends whatever datagrams ``reply`` builds for each query, from
    its own socket and (``spoofer``) from a second socket on another port."""

    def __init__(self, reply: Reply, *, delay: float = 0.0) -> None:
        self.reply, self.delay = reply, delay
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.spoofer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.spoofer.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wire, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            time.sleep(self.delay)
            for out in self.reply(dns.message.from_wire(wire)):
                if out.startswith(b"SPOOF"):
                    self.spoofer.sendto(out[5:], addr)
                else:
                    self.sock.sendto(out, addr)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        self.spoofer.close()


def _answer(query: dns.message.Message, address: str, name: str | None = None) -> bytes:
    response = dns.message.make_response(query)
    owner = dns.name.from_text(name) if name else query.question[0].name
    if name:
        response.question = [dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.A)]
    response.answer.append(dns.rrset.from_text(owner, 60, "IN", "A", address))
    return response.to_wire()


def _run(address: str, name: str, *, timeout: float = 1.0) -> tuple[Any, int]:
    async def go() -> tuple[Any, int]:
        async with DnsClient([address], timeout=timeout) as client:
            answer = await client.query(name, "A")
            await asyncio.sleep(0.05)  # let stragglers arrive
            return answer, client.ignored

    return asyncio.run(go())


def test_only_the_matching_response_is_believed() -> None:
    def reply(query: dns.message.Message) -> list[bytes]:
        good = _answer(query, "127.0.0.2")
        wrong_id = bytes([good[0] ^ 0xFF]) + _answer(query, "127.0.0.66")[1:]
        not_response = bytearray(_answer(query, "127.0.0.67"))
        not_response[2] &= 0x7F  # QR clear
        return [
            b"SPOOF" + _answer(query, "127.0.0.65"),  # right ID and question, wrong port
            wrong_id,
            _answer(query, "127.0.0.68", name="other.example."),  # another question
            bytes(not_response),
            good[:7],  # garbage
            good,
        ]

    with RawServer(reply) as server:
        answer, ignored = _run(server.address, "2.0.0.127.bl.example")
    assert answer.status is DnsStatus.OK
    assert answer.records == ("127.0.0.2",)
    assert ignored == 4  # the spoofed port never reaches us: the socket is connected


def test_question_matches_case_insensitively() -> None:
    def reply(query: dns.message.Message) -> list[bytes]:
        query.question[0].name = dns.name.from_text(query.question[0].name.to_text().upper())
        return [_answer(query, "127.0.0.3")]

    with RawServer(reply) as server:
        answer, _ = _run(server.address, "x.bl.example")
    assert answer.records == ("127.0.0.3",)


def test_late_answer_after_timeout_is_ignored_and_client_recovers() -> None:
    with RawServer(lambda q: [_answer(q, "127.0.0.2")], delay=0.25) as server:

        async def go() -> tuple[Any, Any, int]:
            async with DnsClient([server.address], timeout=0.2) as client:
                first = await client.query("late.example", "A")
                server.delay = 0.0
                await asyncio.sleep(0.4)  # the late answers to both attempts land now
                second = await client.query("late.example", "A")
                return first, second, client.ignored

        first, second, ignored = asyncio.run(go())
    assert first.status is DnsStatus.TIMEOUT
    assert second.status is DnsStatus.OK
    assert ignored >= 1


def test_icmp_port_unreachable_is_an_error_not_a_timeout() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    started = time.monotonic()
    answer, _ = _run(f"127.0.0.1:{port}", "x.example", timeout=2.0)
    assert answer.status is DnsStatus.ERROR
    assert time.monotonic() - started < 1.5


class _Recording(DNSServer):
    """Records which transport each question came over."""

    def __init__(self, zone: Zone) -> None:
        super().__init__(zone)
        self.via: list[str] = []

    async def handle(self, request: dns.message.Message, via: str) -> dns.message.Message | None:
        self.via.append(via)
        return await super().handle(request, via)


def test_truncated_answer_is_asked_again_over_tcp() -> None:
    zone = Zone()
    for i in range(8):  # 8 x 251 octets: more than the 1232-octet EDNS buffer
        zone.add("big.example", "TXT", f"{i}" + "x" * 250)
    with _Recording(zone) as server:
        answer = ask(server, lambda c: c.query("big.example", "TXT"))
    assert answer.status is DnsStatus.OK
    assert sorted(r[0] for r in answer.records) == [str(i) for i in range(8)]
    assert server.via == ["udp", "tcp"]


class _Servfail(DNSServer):
    async def handle(self, request: dns.message.Message, via: str) -> dns.message.Message | None:
        response = dns.message.make_response(request)
        response.set_rcode(dns.rcode.SERVFAIL)
        return response


class _Silent(DNSServer):
    async def handle(self, request: dns.message.Message, via: str) -> dns.message.Message | None:
        return None


@pytest.mark.parametrize("first", [_Servfail, _Silent])
def test_fails_over_to_the_next_nameserver(first: type[DNSServer]) -> None:
    zone = Zone().update({"ok.example": [{"A": "192.0.2.1"}]})
    with first(zone) as bad, DNSServer(zone) as good:

        async def go() -> Any:
            async with DnsClient([bad.address, good.address], timeout=0.6) as client:
                return await client.query("ok.example", "A")

        answer = asyncio.run(go())
    assert answer.status is DnsStatus.OK
    assert bad.queries == 1  # a SERVFAIL server is not asked twice; a silent one once in time


def test_servfail_everywhere_is_servfail() -> None:
    with _Servfail() as server:
        answer = ask(server, lambda c: c.query("x.example", "A"))
    assert answer.status is DnsStatus.SERVFAIL


def test_sockets_rotate_and_stay_correct_under_load() -> None:
    zone = Zone().update({f"h{i}.example": [{"A": f"192.0.2.{i}"}] for i in range(1, 201)})
    with DNSServer(zone) as server:

        async def go() -> tuple[list[Any], int]:
            pool = UdpPool("127.0.0.1", server.port, size=2, max_uses=25)
            try:
                wires = await asyncio.gather(
                    *(pool.exchange(encode_name(f"h{i}.example"), 1, 2.0) for i in range(1, 201))
                )
            finally:
                pool.close()
                await asyncio.sleep(0)
            return list(wires), pool.opened

        wires, opened = asyncio.run(go())
    assert opened >= 200 // 25
    for i, wire in enumerate(wires, start=1):
        assert dns.message.from_wire(wire).answer[0][0].address == f"192.0.2.{i}"


def test_concurrency_limit_holds() -> None:
    zone = Zone().update({f"c{i}.example": [{"A": "192.0.2.1"}] for i in range(50)})
    with DNSServer(zone) as server:

        async def go() -> list[Any]:
            async with DnsClient([server.address], timeout=2, concurrency=3) as client:
                return await asyncio.gather(
                    *(client.query(f"c{i}.example", "A") for i in range(50))
                )

        answers = asyncio.run(go())
    assert all(a.status is DnsStatus.OK for a in answers)


def test_one_client_one_loop() -> None:
    client = DnsClient(["127.0.0.1:9"], timeout=0.1)

    async def use() -> None:
        client._bind()

    asyncio.run(use())
    with pytest.raises(CheckError, match="one event loop"):
        asyncio.run(use())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:53", ("::1", 53)),
        ("::1", ("::1", 53)),
    ],
)
def test_parse_nameserver(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["dns.example", "127.0.0.1:0", "127.0.0.1:x", "[::1]:99999"])
def test_parse_nameserver_rejects(text: str) -> None:
    with pytest.raises(CheckError):
        parse_nameserver(text)


def test_invalid_names_are_errors_not_crashes() -> None:
    with DNSServer() as server:
        answer = ask(server, lambda c: c.query("a..b.example", "A"))
        long = ask(server, lambda c: c.query("x" * 64 + ".example", "A"))
    assert answer.status is DnsStatus.ERROR and long.status is DnsStatus.ERROR


@pytest.mark.parametrize("wildcard", [False, True])
def test_test_server_pre_encoded_answers_equal_rendered_ones(wildcard: bool) -> None:
    """The loopback server's answer cache must change nothing but speed."""
    data: dict[str, list[Any]] = {
        "a.example": [{"A": "192.0.2.1"}, {"TXT": "hello"}],
        "alias.example": [{"CNAME": "a.example"}],
        "sub.deep.example": [{"MX": [10, "mx.example"]}],
        "broken.example": ["SERVFAIL"],
    }
    if wildcard:
        data["*.wild.example"] = [{"A": "192.0.2.9"}]
    server = DNSServer(Zone().update(data))
    asyncio.run(server.preencode())
    names = ["A.Example", "alias.EXAMPLE", "deep.example", "nx.example", "broken.example"]
    names += ["x.wild.example", "Sub.Deep.Example"]
    hits = 0
    for qid, name in enumerate(names):
        for rdtype in ("A", "TXT", "MX"):
            for edns in (0, -1):
                query = dns.message.make_query(name, rdtype, use_edns=edns)
                query.id = 1000 + qid
                wire = query.to_wire()
                hit = server.cache.get(wire, "udp")
                fresh = asyncio.run(server._respond(wire, 512))
                assert fresh is not None
                assert hit in (None, fresh)
                hits += hit is not None
                server.cache.put(wire, "udp", fresh)
                query.id = 2000 + qid
                again = query.to_wire()
                assert server.cache.get(again, "udp") == asyncio.run(server._respond(again, 512))
    assert hits >= 8  # pre-encoded: owners x (A, TXT, own types) with EDNS, and NXDOMAIN
    server.zone.add("nx.example", "A", "192.0.2.7")
    assert server.cache.get(dns.message.make_query("nx.example", "A").to_wire(), "udp") is None


@pytest.mark.parametrize(
    ("rdtype", "answers"),
    [
        ("A", [("q.example.", "A", "127.0.0.2"), ("q.example.", "A", "127.0.0.10")]),
        (
            "TXT",
            [("q.example.", "TXT", '"v=spf1 " "-all"'), ("q.example.", "TXT", '"v=spf1 -all"')],
        ),
        ("TXT", [("q.example.", "TXT", '"caf\\195\\169 " ""')]),
        ("A", [("q.example.", "CNAME", "t.example."), ("t.example.", "A", "192.0.2.1")]),
        ("TXT", [("q.example.", "A", "127.0.0.2")]),  # another type: NODATA via dnspython
    ],
)
def test_wire_shortcut_reads_what_dnspython_reads(
    rdtype: str, answers: list[tuple[str, str, str]]
) -> None:
    """Plain A/TXT answers are read off the wire; the result must equal dnspython's."""
    from monitor.checks.resolver import read_message, read_wire

    query = dns.message.make_query("q.example.", rdtype)
    response = dns.message.make_response(query)
    for owner, kind, text in answers:
        response.find_rrset(
            response.answer,
            dns.name.from_text(owner),
            1,
            dns.rdatatype.from_text(kind),
            create=True,
        ).add(dns.rdata.from_text(1, dns.rdatatype.from_text(kind), text), 300)
    wire = response.to_wire()
    question_len = len(dns.name.from_text("q.example.").to_wire() or b"") + 4
    shortcut = plain_records(wire, question_len, dns.rdatatype.from_text(rdtype))
    assert (shortcut is not None) == (answers[0][1] == rdtype)
    fast = read_wire("q.example", rdtype, wire, question_len)
    slow = read_message("q.example", rdtype, dns.message.from_wire(wire))
    assert fast == slow
