"""A small authoritative nameserver on loopback (UDP and TCP) for tests and benchmarks.

Modelled on dnspython's ``tests/nanonameserver.py``: a context manager that binds a free port
on 127.0.0.1, answers from a :class:`~tests.servers.dnszone.Zone` (see there for the data
shapes and the RFC 1034 answering rules), and lets a subclass override :meth:`handle` to
drop, delay or SERVFAIL queries. Code under test gets a real client pointed at
:attr:`DNSServer.address`, so nothing in our own modules is patched. UDP answers larger than
the client's EDNS buffer (512 without EDNS) are truncated with TC set so the client retries
over TCP, exactly as a real server would.

Speed: parsing and rendering every message with dnspython costs ~140 µs a query, which made
this server, not the code under test, the limit of the blocklist benchmark. A response
depends only on the request's question and "shape" (flags, counts, EDNS record) and on the
zone, so the base server keeps pre-encoded responses (:class:`AnswerCache`) keyed by shape,
transport and question, and answers a repeat by splicing the request's ID and question into
the stored bytes; every name that does not exist shares one NXDOMAIN entry per shape and
type. :meth:`DNSServer.preencode` fills the cache for a whole zone up front. The cache is
dropped whenever the zone changes and is never used by subclasses that override
:meth:`handle` (fault injection must see every query).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from tests.servers.dnszone import MARKERS, Zone

__all__ = ["DROP", "MARKERS", "AnswerCache", "DNSServer", "Zone"]

DROP = None  # what handle() returns to send no answer at all
RCVBUF = 4 << 20  # bursts of hundreds of queries must not overflow the socket buffer


def split_query(wire: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(question name, type+class, shape) of a one-question query, or None.

    The shape is everything but the ID and the question: flags, counts and the additional
    section (EDNS). A name using compression or a malformed query returns None.
    """
    if len(wire) < 17 or wire[4:10] != b"\x00\x01\x00\x00\x00\x00":
        return None
    end = 12
    while end < len(wire) and 0 < wire[end] <= 63:
        end += wire[end] + 1
    if end + 5 > len(wire) or wire[end] != 0:
        return None
    return wire[12 : end + 1], wire[end + 1 : end + 5], wire[2:12] + wire[end + 5 :]


class AnswerCache:
    """Pre-encoded responses for one :class:`Zone` (see the module docstring)."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.hits = 0
        self._version = zone.version
        self._answers: dict[tuple[str, bytes, bytes, bytes | None], tuple[bytes, bytes]] = {}

    def _key(
        self, wire: bytes, via: str
    ) -> tuple[tuple[str, bytes, bytes, bytes | None], int] | None:
        parts = split_query(wire)
        if parts is None:
            return None
        if self.zone.version != self._version:
            self._answers.clear()
            self._version = self.zone.version
        name, qtail, shape = parts
        lower = name.lower()
        # Without wildcards a name that does not exist is NXDOMAIN whatever it is.
        owner = lower if self.zone.wildcards or self.zone.exists(lower) else None
        return (via, shape, qtail, owner), len(name) + 4

    def get(self, wire: bytes, via: str) -> bytes | None:
        """The stored response with this query's ID and question spliced in."""
        found = self._key(wire, via)
        body = self._answers.get(found[0]) if found else None
        if found is None or body is None:
            return None
        self.hits += 1
        return wire[:2] + body[0] + wire[12 : 12 + found[1]] + body[1]

    def put(self, wire: bytes, via: str, response: bytes) -> None:
        """Remember ``response`` (whose question must echo the query's byte for byte)."""
        found = self._key(wire, via)
        if found is not None and response[12 : 12 + found[1]] == wire[12 : 12 + found[1]]:
            self._answers[found[0]] = (response[2:12], response[12 + found[1] :])


class DNSServer:
    """Context manager running :class:`Zone` answers on 127.0.0.1 (UDP and TCP, same port).

    Override :meth:`handle` (an async method) to inject faults: return ``DROP`` to stay
    silent, ``await asyncio.sleep()`` to delay, or build a SERVFAIL with ``make_response``.
    The server runs its own event loop in a daemon thread so synchronous and asynchronous
    tests can both use it.
    """

    def __init__(self, zone: Zone | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.zone = zone if zone is not None else Zone()
        self.host = host
        self.port = port  # 0: a free one (53 for clients that only know /etc/resolv.conf)
        self.queries = 0
        self.cache = AnswerCache(self.zone)
        self._cached = type(self).handle is DNSServer.handle
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    # -- fault-injection hook ------------------------------------------------------------

    async def handle(self, request: dns.message.Message, via: str) -> dns.message.Message | None:
        """Build the response to ``request`` (``via`` is "udp" or "tcp")."""
        response = dns.message.make_response(request)
        response.flags |= dns.flags.AA
        if len(request.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = request.question[0]
        try:
            outcome, answers = self.zone.lookup(question.name, question.rdtype)
        except Exception:  # a bug in this test server must show as SERVFAIL, not silence
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        if outcome == "TIMEOUT":
            return DROP
        if outcome in ("SERVFAIL", "REFUSED"):
            response.set_rcode(dns.rcode.from_text(str(outcome)))
            return response
        response.set_rcode(dns.rcode.Rcode(int(outcome)))
        response.answer.extend(answers)
        return response

    # -- plumbing ------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``HOST:PORT`` as the CLI's ``--nameserver`` takes it."""
        return f"{self.host}:{self.port}"

    async def preencode(self, rdtypes: Sequence[str] = ("A", "TXT"), payload: int = 1232) -> int:
        """Encode, up front, the answers an RD + EDNS0 stub (``payload``) would get over UDP
        for every owner name (its own types and ``rdtypes``) and for a missing name."""
        if not self._cached:
            return 0
        extra = {dns.rdatatype.RdataType.make(t) for t in rdtypes}
        owners = [*self.zone.owners(), (dns.name.from_text("nx.preencode.invalid."), set())]
        for name, types in owners:
            for rdtype in {dns.rdatatype.RdataType.make(t) for t in types} | extra:
                wire = dns.message.make_query(name, rdtype, use_edns=0, payload=payload).to_wire()
                out = await self._respond(wire, 512)
                if out is not None:
                    self.cache.put(wire, "udp", out)
        return len(self.cache._answers)

    def _fast(self, wire: bytes, via: str) -> bytes | None:
        """A pre-encoded answer, counted as a query, or None."""
        out = self.cache.get(wire, via) if self._cached else None
        if out is not None:
            self.queries += 1
        return out

    async def _answer(self, wire: bytes, via: str, limit: int | None) -> bytes | None:
        out = self._fast(wire, via)
        if out is not None:
            return out
        self.queries += 1
        out = await self._respond(wire, limit)
        if out is not None and self._cached:
            self.cache.put(wire, via, out)
        return out

    async def _respond(self, wire: bytes, limit: int | None) -> bytes | None:
        try:
            request = dns.message.from_wire(wire)
        except Exception:  # garbage from the client: answer nothing, as servers do
            return None
        response = await self.handle(request, "udp" if limit else "tcp")
        if response is None:
            return None
        if limit is None:
            return response.to_wire()
        size = max(512, request.payload if request.edns >= 0 else 512)
        try:
            return response.to_wire(max_size=size)
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    async def _serve(self, on_ready: Callable[[int], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        udp_sock, tcp_sock = _bind_pair(self.host, self.port)
        self.port = udp_sock.getsockname()[1]
        server = self
        pending: set[asyncio.Task[None]] = set()

        class _Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                out = server._fast(data, "udp")
                if out is not None:
                    self.transport.sendto(out, addr)  # type: ignore[attr-defined]
                    return
                task = loop.create_task(self._reply(data, addr))
                pending.add(task)
                task.add_done_callback(pending.discard)

            async def _reply(self, data: bytes, addr: tuple[str, int]) -> None:
                out = await server._answer(data, "udp", 512)
                if out is not None:
                    self.transport.sendto(out, addr)  # type: ignore[attr-defined]

        async def tcp_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                while True:
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                    out = await server._answer(await reader.readexactly(length), "tcp", None)
                    if out is not None:
                        writer.write(struct.pack("!H", len(out)) + out)
                        await writer.drain()
            writer.close()

        transport, _ = await loop.create_datagram_endpoint(_Udp, sock=udp_sock)
        tcp = await asyncio.start_server(tcp_client, sock=tcp_sock)
        self._ready.set()
        if on_ready is not None:
            on_ready(self.port)
        await self._stop.wait()
        transport.close()
        tcp.close()
        await tcp.wait_closed()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # surface bind errors to __enter__
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="test-dns", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError("test DNS server failed to start") from self._error
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def serve_forever(self, on_ready: Callable[[int], None] | None = None) -> None:
        """Run in the current thread (a server process in benchmarks); ``on_ready`` gets
        the port once both sockets listen."""
        asyncio.run(self._serve(on_ready))


def _bind_pair(host: str, fixed: int = 0) -> tuple[socket.socket, socket.socket]:
    """Bind UDP and TCP on the same free port (retrying if TCP's is taken), or on ``fixed``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        with contextlib.suppress(OSError):
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        udp.bind((host, fixed))
        port = udp.getsockname()[1]
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((host, port))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(128)
        udp.setblocking(False)
        tcp.setblocking(False)
        return udp, tcp
    raise OSError("no free port pair on loopback")
