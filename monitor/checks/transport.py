"""DNS over a few long-lived UDP sockets, each response matched to its query by ID and question.

Why not dnspython's resolver for this: it creates, binds and closes one socket per query and
renders and parses every message in pure Python. A blocklist run is tens of thousands of
one-question queries, and that cost held it to ~1,800 checks/s (``bench/bench_dnsbl.py``).
Here a small pool of *connected* datagram sockets carries every query of a run, queries are
encoded directly (RFC 1035 4.1.1-4.1.2, with an EDNS0 OPT record of payload 1232, RFC 6891
6.1.2 and the DNS Flag Day 2020 value), and only responses that carry records are handed to
dnspython (``dns.message.from_wire``) for parsing; the caller reads NXDOMAIN and NODATA off
the header.

What makes a datagram an answer (RFC 5452 4.3 and 9.1; dnspython's ``Message.is_response``):

* it comes from the address and port the query went to — the socket is ``connect()``-ed, so
  the kernel drops datagrams from anyone else;
* its ID is that of a query still outstanding on *that* socket (IDs are random, 16 bits,
  never reused while outstanding);
* QR is set, the opcode is QUERY, and its one question is ours: the same name (compared
  case-insensitively, RFC 4343), type and class.

Anything else — late answers to queries that already timed out, spoofed or garbled
datagrams — is counted in :attr:`UdpPool.ignored` and dropped; the real answer may still
come. Each socket is retired after :data:`MAX_USES` queries, so the source port changes
during a long run (RFC 5452 9.2 asks for port randomisation; one port per query would bring
back the per-query socket cost this module removes).
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
import struct
from typing import Any

from monitor.errors import CheckError

__all__ = [
    "EDNS_PAYLOAD",
    "MAX_USES",
    "TransportError",
    "TransportTimeout",
    "UdpPool",
    "encode_name",
    "encode_query",
    "plain_records",
    "plain_ttl",
]

EDNS_PAYLOAD = 1232  # RFC 6891 6.2.5; DNS Flag Day 2020
MAX_USES = 2000  # queries per socket before its source port is changed
_HEADER = struct.Struct("!HHHHHH")
_RD = 0x0100  # RFC 1035 4.1.1: recursion desired
# Root owner, type OPT (41), class = UDP payload size, TTL = extended rcode/version/flags 0.
_OPT = b"\x00" + struct.pack("!HHIH", 41, EDNS_PAYLOAD, 0, 0)
_CLASS_IN = b"\x00\x01"


class TransportError(CheckError):
    """The server could not be asked (ICMP unreachable, socket closed)."""


class TransportTimeout(TransportError):
    """No matching answer arrived in time."""


def encode_name(name: str) -> bytes:
    """``name`` in wire form (RFC 1035 3.1), lower-cased for matching.

    Plain ASCII names are encoded here (this runs for every query); names with escapes or
    non-ASCII labels go through dnspython's parser, which applies IDNA. Raises ValueError for
    empty or over-long labels or names (RFC 1035 2.3.4).
    """
    text = name.rstrip(".")
    if not text:
        return b"\x00"
    if "\\" in text or not text.isascii():
        import dns.exception
        import dns.name

        try:
            return dns.name.from_text(text + ".").canonicalize().to_wire() or b"\x00"
        except (dns.exception.DNSException, UnicodeError) as exc:
            raise ValueError(str(exc)) from exc
    out = bytearray()
    for label in text.lower().encode("ascii").split(b"."):
        if not 0 < len(label) <= 63:
            raise ValueError(f"empty or over-long label in {name!r}")
        out.append(len(label))
        out += label
    out.append(0)
    if len(out) > 255:
        raise ValueError(f"name longer than 255 octets: {name!r}")
    return bytes(out)


def encode_query(qid: int, qname: bytes, rdtype: int) -> bytes:
    """One-question recursive query with EDNS0 (RFC 1035 4.1, RFC 6891 6.1.1)."""
    return _HEADER.pack(qid, _RD, 1, 0, 0, 1) + qname + rdtype.to_bytes(2, "big") + _CLASS_IN + _OPT


def _strings(rdata: bytes) -> str | None:
    """TXT rdata: one or more <character-string>s (RFC 1035 3.3.14) joined with nothing
    between them (RFC 7208 3.3, RFC 6376 3.6.2.2); None when the lengths do not add up."""
    parts: list[bytes] = []
    pos = 0
    while pos < len(rdata):
        end = pos + 1 + rdata[pos]
        if end > len(rdata):
            return None
        parts.append(rdata[pos + 1 : end])
        pos = end
    return b"".join(parts).decode("utf-8", "replace") if parts else None


_PLAIN = {1: b"\xc0\x0c\x00\x01\x00\x01", 16: b"\xc0\x0c\x00\x10\x00\x01"}


def plain_records(wire: bytes, question_len: int, rdtype: int) -> tuple[str, ...] | None:
    """The A or TXT records of a response whose answer section holds only records of that
    type owned by the question name (compressed to it, RFC 1035 4.1.4), else None.

    Blocklist answers (A, and TXT for the reason) are this shape; reading them here saves
    dnspython's full parse, a third of the client's time in ``bench/bench_dnsbl.py``.
    Anything unusual — a CNAME, another type, an uncompressed owner, a short or malformed
    packet — is left to dnspython. Records are deduplicated by rdata, as in an RRset.
    """
    prefix = _PLAIN.get(rdtype)
    if prefix is None:
        return None
    found: dict[bytes, str] = {}
    pos = 12 + question_len
    for _ in range(int.from_bytes(wire[6:8], "big")):
        size = int.from_bytes(wire[pos + 10 : pos + 12], "big")
        end = pos + 12 + size
        if wire[pos : pos + 6] != prefix or end > len(wire) or (rdtype == 1 and size != 4):
            return None
        rdata = wire[pos + 12 : end]
        text = "%d.%d.%d.%d" % tuple(rdata) if rdtype == 1 else _strings(rdata)  # noqa: UP031
        if text is None:
            return None
        found[rdata] = text
        pos = end
    return tuple(found.values())


def plain_ttl(wire: bytes, question_len: int) -> int:
    """The smallest TTL (RFC 1035 3.2.1) of the answer records of a response that
    :func:`plain_records` accepted (same layout: compressed owner, fixed header per record)."""
    ttl = 2**31 - 1  # RFC 2181 8: TTLs are at most 2^31 - 1
    pos = 12 + question_len
    for _ in range(int.from_bytes(wire[6:8], "big")):
        ttl = min(ttl, int.from_bytes(wire[pos + 6 : pos + 10], "big"))
        pos += 12 + int.from_bytes(wire[pos + 10 : pos + 12], "big")
    return ttl


class _Socket(asyncio.DatagramProtocol):
    """One connected datagram socket and the queries outstanding on it."""

    def __init__(self, pool: UdpPool) -> None:
        self.pool = pool
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, tuple[bytes, asyncio.Future[bytes]]] = {}
        self.uses = 0
        self.retired = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        qid = int.from_bytes(data[:2], "big")
        entry = self.pending.get(qid) if len(data) >= 12 else None
        if entry is None or not _answers(data, entry[0]):
            self.pool.ignored += 1
            return
        del self.pending[qid]
        if not entry[1].done():
            entry[1].set_result(data)

    def error_received(self, exc: Exception) -> None:
        # On a connected socket this is an ICMP error for our server's address and port
        # (usually "port unreachable"): every query outstanding here is to that server.
        self._fail(TransportError(f"{self.pool.where}: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(TransportError(f"{self.pool.where}: socket closed"))

    def _fail(self, error: TransportError) -> None:
        pending, self.pending = self.pending, {}
        for _, future in pending.values():
            if not future.done():
                future.set_exception(error)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


def _answers(data: bytes, question: bytes) -> bool:
    """QR set, opcode QUERY, exactly our one question (name case-insensitively)."""
    if data[2] & 0xF8 != 0x80 or data[4:6] != b"\x00\x01":
        return False
    end = 12 + len(question)
    name_end = end - 4
    return data[12:name_end].lower() == question[:-4] and data[name_end:end] == question[-4:]


def _expire(future: asyncio.Future[bytes]) -> None:
    if not future.done():
        future.set_exception(TransportTimeout("timeout"))


class UdpPool:
    """A few connected UDP sockets to one nameserver, used in turn by all queries."""

    def __init__(self, host: str, port: int, *, size: int = 4, max_uses: int = MAX_USES) -> None:
        self.host, self.port = host, port
        self.family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        self.size = max(1, size)
        self.max_uses = max(1, max_uses)
        self.where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.ignored = 0  # datagrams that matched no outstanding query
        self.opened = 0  # sockets opened over the pool's life
        self._slots: list[_Socket | None] = [None] * self.size
        self._live: set[_Socket] = set()
        self._turn = 0
        self._opening = asyncio.Lock()
        self._outbox: list[tuple[_Socket, bytes, asyncio.Future[bytes]]] = []

    async def _open(self) -> _Socket:
        loop = asyncio.get_running_loop()
        sock = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect((self.host, self.port))
            _, proto = await loop.create_datagram_endpoint(lambda: _Socket(self), sock=sock)
        except OSError as exc:
            sock.close()
            raise TransportError(f"{self.where}: {exc}") from exc
        self.opened += 1
        self._live.add(proto)
        return proto

    async def _socket(self) -> _Socket:
        turn = self._turn = (self._turn + 1) % self.size
        slot = self._slots[turn]
        if slot is None or slot.retired or slot.transport is None:
            async with self._opening:
                slot = self._slots[turn]
                if slot is None or slot.retired or slot.transport is None:
                    slot = self._slots[turn] = await self._open()
        return slot

    async def exchange(self, qname: bytes, rdtype: int, timeout: float) -> bytes:
        """Send one query and return the matching response's wire bytes.

        Raises :class:`TransportTimeout` when nothing matching arrives within ``timeout``
        and :class:`TransportError` when the server cannot be reached.
        """
        slot = await self._socket()
        qid = secrets.randbits(16)
        while qid in slot.pending:
            qid = secrets.randbits(16)
        question = qname + rdtype.to_bytes(2, "big") + _CLASS_IN
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        slot.pending[qid] = (question, future)
        slot.uses += 1
        if slot.uses >= self.max_uses:
            slot.retired = True
        timer = loop.call_later(timeout, _expire, future)
        if not self._outbox:
            loop.call_soon(self._flush)
        self._outbox.append((slot, encode_query(qid, qname, rdtype), future))
        try:
            return await future
        finally:
            timer.cancel()
            if slot.pending.get(qid, (b"", None))[1] is future:
                del slot.pending[qid]
            if slot.retired and not slot.pending:
                self._discard(slot)

    def _flush(self) -> None:
        """Send the queries queued during one turn of the event loop back to back.

        On loopback (and on a busy resolver host) each datagram that finds the server
        asleep costs a wake-up; sent in a burst, all but the first find it awake. Queries
        issued in one loop turn go out in the same turn, so nothing waits longer.
        """
        outbox, self._outbox = self._outbox, []
        for slot, wire, future in outbox:
            if slot.transport is not None:
                slot.transport.sendto(wire)
            elif not future.done():
                future.set_exception(TransportError(f"{self.where}: socket closed"))

    def _discard(self, slot: _Socket) -> None:
        slot.close()
        self._live.discard(slot)

    def close(self) -> None:
        """Close every socket; outstanding queries fail with :class:`TransportError`."""
        for slot in list(self._live):
            self._discard(slot)
        self._slots = [None] * self.size
