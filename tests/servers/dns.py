"""A small authoritative nameserver on loopback (UDP and TCP) for tests and benchmarks.

Modelled on dnspython's ``tests/nanonameserver.py``: a context manager that binds a free port
on 127.0.0.1, answers from in-memory data, and lets a subclass override :meth:`handle` to
drop, delay or SERVFAIL queries. Code under test gets a real ``dns.asyncresolver.Resolver``
pointed at it (see :meth:`DNSServer.resolver`), so nothing in our own modules is patched.

Data comes from three shapes, all turned into one :class:`Zone`:

* ``Zone.from_testsuite(zonedata)`` — the RFC 7208 suite / ``dns_auth_vectors.json`` form
  ``{name: [{TYPE: value} | "TIMEOUT"]}``. As the suite's own drivers do, ``SPF`` (type 99)
  entries are also served as ``TXT`` unless the name has an explicit ``TXT`` (``TXT: NONE``
  suppresses it), and ``TIMEOUT`` makes every query type not listed before it time out.
* ``Zone.from_file(path, origin)`` — a master file (RFC 1035 section 5) such as
  ``tests/data/dns/*.zone``, read with ``dns.zone``.
* ``Zone.from_json(path)`` — ``{name: [{TYPE: value}]}`` JSON files in ``tests/data/dns/``.

Besides records an entry may be the marker ``TIMEOUT`` (no answer), ``SERVFAIL`` or
``REFUSED`` (that rcode for every type at the name). Names are answered with RFC 1034
semantics: CNAME chains are followed inside the zone, a name that exists without the type
gets NOERROR/NODATA (empty non-terminals included), wildcards ``*.x`` apply only when no closer
name exists (RFC 4592 section 2.2), and anything else is NXDOMAIN. UDP answers larger than the
client's EDNS buffer (512 without EDNS) are truncated with TC set so the client retries over
TCP, exactly as a real server would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SPF
import dns.rdtypes.ANY.TXT
import dns.rrset
import dns.zone

__all__ = ["DROP", "DNSServer", "Zone"]

DROP = None  # what handle() returns to send no answer at all

MARKERS = frozenset({"TIMEOUT", "SERVFAIL", "REFUSED"})
MAX_CNAME_CHAIN = 16


def _name(text: str) -> dns.name.Name:
    return dns.name.from_text(text.rstrip(".") + ".") if text not in ("", ".") else dns.name.root


def _txt_rdata(value: str | Sequence[str] | bytes) -> dns.rdtypes.ANY.TXT.TXT:
    """Build TXT rdata from text; strings longer than 255 octets are split (RFC 7208 3.3)."""
    parts = [value] if isinstance(value, str | bytes) else list(value or ())
    chunks: list[bytes] = []
    for part in parts:
        raw = part.encode("utf-8") if isinstance(part, str) else part
        chunks.extend(raw[i : i + 255] for i in range(0, len(raw), 255))
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks or [b""])


def _rdata(rdtype: str, value: Any, origin: dns.name.Name) -> dns.rdata.Rdata:
    """Turn one JSON/YAML value into rdata; MX values are ``[preference, exchange]``."""
    if rdtype in ("TXT", "SPF"):
        txt = _txt_rdata(value)
        if rdtype == "SPF":
            return dns.rdtypes.ANY.SPF.SPF(dns.rdataclass.IN, dns.rdatatype.SPF, txt.strings)
        return txt
    if rdtype == "MX":
        pref, exchange = value
        text = f"{int(pref)} {str(exchange).rstrip('.')}."
        return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.MX, text)
    text = str(value)
    if rdtype in ("CNAME", "PTR", "NS") and not text.endswith("."):
        text += "."
    return dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), text, origin, relativize=False
    )


@dataclass(slots=True)
class _Node:
    entries: list[tuple[int, dns.rdata.Rdata] | str] = field(default_factory=list)


class Zone:
    """Authoritative data: owner name -> ordered entries (records or fault markers)."""

    def __init__(self) -> None:
        self._nodes: dict[dns.name.Name, _Node] = {}
        self._ancestors: set[dns.name.Name] = set()

    # -- building ------------------------------------------------------------------------

    def add(self, owner: str | dns.name.Name, rdtype: str, value: Any) -> None:
        """Add one record; ``value`` is presentation text or the JSON shapes above."""
        name = owner if isinstance(owner, dns.name.Name) else _name(owner)
        rd = _rdata(rdtype.upper(), value, name)
        self._node(name).entries.append((rd.rdtype, rd))

    def add_marker(self, owner: str | dns.name.Name, marker: str) -> None:
        """Add ``TIMEOUT``, ``SERVFAIL`` or ``REFUSED`` at ``owner``."""
        if marker not in MARKERS:
            raise ValueError(f"unknown marker {marker!r}")
        name = owner if isinstance(owner, dns.name.Name) else _name(owner)
        self._node(name).entries.append(marker)

    def _node(self, name: dns.name.Name) -> _Node:
        node = self._nodes.get(name)
        if node is None:
            node = self._nodes[name] = _Node()
            parent = name
            while parent != dns.name.root:
                parent = parent.parent()
                self._ancestors.add(parent)
        return node

    def update(self, data: Mapping[str, Sequence[Any]]) -> Zone:
        """Merge ``{name: [{TYPE: value} | MARKER]}`` verbatim (no SPF->TXT copying)."""
        for owner, entries in data.items():
            for entry in entries:
                if isinstance(entry, str):
                    self.add_marker(owner, entry)
                else:
                    for rdtype, value in entry.items():
                        self.add(owner, rdtype, value)
        return self

    @classmethod
    def from_testsuite(cls, zonedata: Mapping[str, Sequence[Any]]) -> Zone:
        """Load RFC 7208 suite zonedata the way its reference driver does (see module doc)."""
        zone = cls()
        for owner, entries in zonedata.items():
            explicit_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
            spf_copies: list[Any] = []
            for entry in entries:
                if isinstance(entry, str):
                    zone.add_marker(owner, entry)
                    continue
                for rdtype, value in entry.items():
                    if value == "NONE":
                        continue
                    zone.add(owner, rdtype, value)
                    if rdtype == "SPF" and not explicit_txt:
                        spf_copies.append(value)
            for value in spf_copies:
                zone.add(owner, "TXT", value)
            zone._node(_name(owner))
        return zone

    @staticmethod
    def load_json(path: str | Path) -> dict[str, list[Any]]:
        """Read a ``{name: [{TYPE: value} | MARKER]}`` JSON file (for :meth:`update`)."""
        data: dict[str, list[Any]] = json.loads(Path(path).read_text(encoding="utf-8"))
        return data

    @classmethod
    def from_json(cls, path: str | Path) -> Zone:
        """Load a ``{name: [{TYPE: value} | MARKER]}`` JSON file."""
        return cls().update(cls.load_json(path))

    @classmethod
    def from_file(cls, path: str | Path, origin: str) -> Zone:
        """Load an RFC 1035 master file with dnspython."""
        parsed = dns.zone.from_file(str(path), origin=origin, relativize=False)
        zone = cls()
        for owner, node in parsed.nodes.items():
            for rdataset in node.rdatasets:
                for rd in rdataset:
                    zone._node(owner).entries.append((rd.rdtype, rd))
        return zone

    # -- answering -----------------------------------------------------------------------

    def lookup(self, qname: dns.name.Name, rdtype: int) -> tuple[str | int, list[dns.rrset.RRset]]:
        """Answer (rcode or marker, answer RRsets) for one question.

        CNAMEs are chased inside the zone; a loop ends the chain with NOERROR and the CNAMEs
        seen so far, which is what BIND and NSD send (RFC 1034 3.6.2 leaves loops to the
        resolver to detect).
        """
        answers: list[dns.rrset.RRset] = []
        seen: set[dns.name.Name] = set()
        name = qname
        while name not in seen and len(seen) < MAX_CNAME_CHAIN:
            seen.add(name)
            node = self._find(name)
            if node is None:
                return (dns.rcode.NXDOMAIN if not answers else dns.rcode.NOERROR), answers
            outcome = self._records(node, rdtype)
            if isinstance(outcome, str):
                return outcome, answers
            if outcome:
                answers.append(self._rrset(name, outcome))
                return dns.rcode.NOERROR, answers
            cnames = [rd for t, rd in self._typed(node) if t == dns.rdatatype.CNAME]
            if not cnames or rdtype == dns.rdatatype.CNAME:
                return dns.rcode.NOERROR, answers
            answers.append(self._rrset(name, cnames[:1]))
            name = cnames[0].target  # type: ignore[attr-defined]
        return dns.rcode.NOERROR, answers

    def _find(self, name: dns.name.Name) -> _Node | None:
        node = self._nodes.get(name)
        if node is not None:
            return node
        if name in self._ancestors:
            return _Node()  # empty non-terminal: exists, no data (RFC 8020)
        closest = name
        while len(closest.labels) > 1:
            closest = closest.parent()
            if closest in self._nodes or closest in self._ancestors:
                return self._nodes.get(dns.name.Name((b"*", *closest.labels)))
        return None

    @staticmethod
    def _typed(node: _Node) -> Iterator[tuple[int, dns.rdata.Rdata]]:
        return (e for e in node.entries if not isinstance(e, str))

    @staticmethod
    def _records(node: _Node, rdtype: int) -> str | list[dns.rdata.Rdata]:
        found: list[dns.rdata.Rdata] = []
        for entry in node.entries:
            if isinstance(entry, str):
                if entry != "TIMEOUT" or not found:
                    return entry
                continue
            if entry[0] == rdtype:
                found.append(entry[1])
        return found

    @staticmethod
    def _rrset(name: dns.name.Name, rdatas: list[dns.rdata.Rdata]) -> dns.rrset.RRset:
        rrset = dns.rrset.RRset(name, dns.rdataclass.IN, rdatas[0].rdtype)
        rrset.update_ttl(300)
        for rd in rdatas:
            rrset.add(rd)
        return rrset


class DNSServer:
    """Context manager running :class:`Zone` answers on 127.0.0.1 (UDP and TCP, same port).

    Override :meth:`handle` (an async method) to inject faults: return ``DROP`` to stay
    silent, ``await asyncio.sleep()`` to delay, or build a SERVFAIL with ``make_response``.
    The server runs its own event loop in a daemon thread so synchronous and asynchronous
    tests can both use it.
    """

    def __init__(self, zone: Zone | None = None, host: str = "127.0.0.1") -> None:
        self.zone = zone if zone is not None else Zone()
        self.host = host
        self.port = 0
        self.queries = 0
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

    def resolver(self, timeout: float = 2.0) -> dns.asyncresolver.Resolver:
        """A resolver that asks only this server, with no cache and no search list."""
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(self.host, self.port)]
        resolver.timeout = timeout
        resolver.lifetime = timeout
        resolver.retry_servfail = False
        return resolver

    @property
    def address(self) -> str:
        """``HOST:PORT`` as the CLI's ``--nameserver`` takes it."""
        return f"{self.host}:{self.port}"

    async def _answer(self, wire: bytes, via: str, limit: int | None) -> bytes | None:
        self.queries += 1
        try:
            request = dns.message.from_wire(wire)
        except Exception:  # garbage from the client: answer nothing, as servers do
            return None
        response = await self.handle(request, via)
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

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        udp_sock, tcp_sock = _bind_pair(self.host)
        self.port = udp_sock.getsockname()[1]
        server = self
        pending: set[asyncio.Task[None]] = set()

        class _Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
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

    def __enter__(self) -> DNSServer:
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

    def serve_forever(self) -> None:
        """Run in the current thread (for a server process in benchmarks)."""
        asyncio.run(self._serve())


def _bind_pair(host: str) -> tuple[socket.socket, socket.socket]:
    """Bind UDP and TCP on the same free port (retrying if TCP's is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        udp.bind((host, 0))
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
