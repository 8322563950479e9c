"""aiosmtpd sinks on loopback: the SMTP servers of the tests (alert and report mail, and the
recipient MXs of the relay).

A :class:`SmtpSink` listens on ``host`` (any 127.0.0.0/8 address, so several sinks can play
several MX hosts on one port number) and records every transaction it accepts as a
:class:`Received` (with the EHLO name, the connection it came over and the MAIL and RCPT
parameters). Its ``reply`` hook decides the answer to each RCPT and to DATA, so one class
plays a server that accepts, refuses (5xx), defers (4xx, then accepts), hangs (the answer
``HANG``: no reply until the sink stops) or drops the connection (``DROP``). Options make it
offer DSN (RFC 3461, parameters accepted and recorded), refuse SMTPUTF8, or offer a STARTTLS
whose handshake always fails (``broken_tls``).

:class:`ScriptedServer` is a bare TCP server for what aiosmtpd will not do: a greeting that
is not 220, or no greeting at all. :class:`CountingSink` is for benchmarks only: a minimal
SMTP server that accepts everything and keeps only counts, cheap enough (whole buffers, no
per-line parsing) that a benchmark measures its client rather than the sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

__all__ = [
    "DROP",
    "HANG",
    "SLOW",
    "CountingSink",
    "Received",
    "ScriptedServer",
    "SmtpSink",
    "free_port",
    "self_signed_context",
]

#: ``reply`` answers with special meaning: never answer (until the sink stops), close the
#: connection instead of answering, or accept after ``SLOW_SECONDS`` (a busy MX: one
#: connection cannot empty a queue before the relay opens the others it may).
HANG = "HANG"
DROP = "DROP"
SLOW = "SLOW"
SLOW_SECONDS = 0.05
_DSN_PARAMS = ("RET", "ENVID", "NOTIFY", "ORCPT")


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback port nothing listens on (aiosmtpd wants a concrete one)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One accepted transaction."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: str
    tls: bool
    helo: str = ""  # the client's EHLO/HELO name
    connection: int = 0  # the sink's count of connections when this one was made (1, 2...)
    mail_options: tuple[str, ...] = ()  # MAIL FROM parameters, upper-cased by aiosmtpd
    rcpt_options: tuple[tuple[str, ...], ...] = ()  # RCPT TO parameters per accepted recipient
    at: float = 0.0  # time.monotonic() when the end of data was accepted

    @property
    def message(self) -> Message:
        return message_from_bytes(self.content)


#: Decides a reply: (stage "RCPT" or "DATA", the address or None, attempt number) -> the
#: reply ("250 OK", "550 5.1.1 ...") or None for the default. The sink's ``hello`` is one for
#: the stages before a transaction: "CONNECT" (the client's address; the reply replaces the
#: 220 greeting and the sink hangs up, as a provider refusing a sender at the banner) and
#: "EHLO".
Reply = Callable[[str, str | None, int], str | None]


@dataclass
class _Handler:
    sink: SmtpSink
    attempts: dict[str, int] = field(default_factory=dict)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        self._connection(session)
        answer = self._stage("EHLO", None)
        if answer is not None:
            return [answer]
        if self.sink.dsn:
            responses.insert(-1, "250-DSN")
        return responses

    def _stage(self, stage: str, address: str | None) -> str | None:
        if self.sink.hello is None:
            return None
        with self.sink.lock:
            n = self.attempts[stage] = self.attempts.get(stage, 0) + 1
        return self.sink.hello(stage, address, n)

    def _connection(self, session: Any) -> int:
        if not hasattr(session, "sink_connection"):
            with self.sink.lock:
                session.sink_connection = next(self.sink._connections)
        return int(session.sink_connection)

    async def _special(self, server: Any, answer: str | None) -> str | None:
        if answer == HANG:
            await asyncio.Event().wait()  # until the sink stops (its tasks are cancelled)
        if answer == DROP:
            server.transport.abort()
            return "421 4.4.2 dropped"  # never arrives
        if answer == SLOW:
            await asyncio.sleep(SLOW_SECONDS)
            return None
        return answer

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.sink.lock:
            n = self.attempts[address] = self.attempts.get(address, 0) + 1
        answer = self.sink.reply("RCPT", address, n) if self.sink.reply else None
        answer = await self._special(server, answer)
        if answer is None or answer.startswith("2"):
            envelope.rcpt_tos.append(address)
            if not hasattr(envelope, "sink_rcpt_options"):
                envelope.sink_rcpt_options = []
            envelope.sink_rcpt_options.append(tuple(options))
        return answer or "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.sink.lock:
            n = self.attempts["DATA"] = self.attempts.get("DATA", 0) + 1
        answer = self.sink.reply("DATA", None, n) if self.sink.reply else None
        answer = await self._special(server, answer)
        if answer is None or answer.startswith("2"):
            received = Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=bytes(envelope.content),
                peer=str(session.peer[0]) if session.peer else "",
                tls=session.ssl is not None,
                helo=session.host_name or "",
                connection=self._connection(session),
                mail_options=tuple(envelope.mail_options),
                rcpt_options=tuple(getattr(envelope, "sink_rcpt_options", ())),
                at=time.monotonic(),
            )
            with self.sink.lock:
                self.sink.received.append(received)
        return answer or "250 2.0.0 OK queued"


class _Server(SMTP):
    """aiosmtpd's server, taking the DSN parameters (RFC 3461 4) when the sink offers DSN."""

    def __init__(self, *args: Any, dsn: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dsn = dsn
        self._peer_ip = ""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        self._peer_ip = str(peer[0]) if peer else ""
        self.event_handler.sink.opened(self._peer_ip)

    async def _handle_client(self) -> None:
        answer = self.event_handler._stage("CONNECT", self._peer_ip)
        if answer is None:
            await super()._handle_client()
            return
        await self.push(answer)
        assert self.transport is not None
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.event_handler.sink.closed(self._peer_ip)
        super().connection_lost(exc)

    def _getparams(self, params: Any) -> Any:
        found = super()._getparams(params)
        if self.dsn and found is not None:
            for key in _DSN_PARAMS:
                found.pop(key, None)
        return found


class _Controller(Controller):
    def __init__(self, *args: Any, dsn: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dsn = dsn

    def factory(self) -> SMTP:
        return _Server(self.handler, dsn=self.dsn, **self.SMTP_kwargs)


def self_signed_context(name: str = "sink.test") -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for ``name`` (STARTTLS sinks;
    the relay's opportunistic TLS does not check it, RFC 7435)."""
    import datetime
    import tempfile
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pair.pem"
        path.write_bytes(pem)
        context.load_cert_chain(path)
    return context


def _broken_tls() -> ssl.SSLContext:
    """A server context with no certificate: STARTTLS is offered, every handshake fails."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)


class SmtpSink:
    """An aiosmtpd ``Controller`` on ``host:port`` recording every message it accepts."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        reply: Reply | None = None,
        hello: Reply | None = None,
        tls_context: Any = None,
        require_starttls: bool = False,
        dsn: bool = False,
        smtputf8: bool = True,
        broken_tls: bool = False,
    ) -> None:
        self.host, self.port = host, port or free_port(host)
        self.reply = reply
        self.hello = hello
        self.dsn = dsn
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self._connections = itertools.count(1)
        #: Connections open now and the most ever open at once, per client address.
        self.open: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}
        if broken_tls:
            tls_context = _broken_tls()
        if tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=require_starttls)
        self.controller = _Controller(
            _Handler(self),
            hostname=host,
            port=self.port,
            server_hostname="sink.test",
            dsn=dsn,
            **kwargs,
        )

    @property
    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def opened(self, peer: str) -> None:
        with self.lock:
            self.open[peer] = self.open.get(peer, 0) + 1
            self.peak[peer] = max(self.peak.get(peer, 0), self.open[peer])

    def closed(self, peer: str) -> None:
        with self.lock:
            self.open[peer] = max(0, self.open.get(peer, 0) - 1)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        with self.lock:  # the controller's own probe of the greeting is no client's
            self.controller.handler.attempts.pop("CONNECT", None)
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class ScriptedServer:
    """A TCP server on ``host:port`` that sends ``greeting`` (then closes the connection) or,
    with ``greeting=None``, accepts and says nothing at all; counts connections."""

    def __init__(self, host: str, port: int, greeting: bytes | None) -> None:
        self.host, self.port, self.greeting = host, port, greeting
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        if self.greeting is not None:
            writer.write(self.greeting)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()
            return
        with contextlib.suppress(ConnectionError):
            await reader.read()  # until the client gives up

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        start = asyncio.start_server(self._client, self.host, self.port)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for writer in self._writers:
                writer.close()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


class _Counting(asyncio.Protocol):
    """One session of :class:`CountingSink`: commands answered from whole buffers (PIPELINING
    is honoured as RFC 2920 asks: replies in order), DATA read up to ``CRLF.CRLF``."""

    def __init__(self, sink: CountingSink) -> None:
        self.sink = sink
        self.buffer = b""
        self.in_data = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.sink.connections += 1
        self.transport.write(b"220 sink.test ESMTP counting sink\r\n")  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out: list[bytes] = []
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    break
                self.buffer = self.buffer[end + 5 :]
                self.in_data = False
                self.sink.messages += 1
                out.append(b"250 2.0.0 OK counted")
                continue
            line, sep, rest = self.buffer.partition(b"\r\n")
            if not sep:
                break
            self.buffer = rest
            out.append(self._command(line[:4].upper()))
        if out and self.transport is not None:
            self.transport.write(b"\r\n".join(out) + b"\r\n")
            if out[-1].startswith(b"221"):
                self.transport.close()

    def _command(self, verb: bytes) -> bytes:
        if verb == b"EHLO":
            return b"250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 52428800"
        if verb == b"DATA":
            self.in_data = True
            return b"354 End data with <CR><LF>.<CR><LF>"
        if verb == b"QUIT":
            return b"221 2.0.0 Bye"
        if verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP", b"HELO"):
            return b"250 2.0.0 OK"
        return b"502 5.5.2 not implemented"


class CountingSink:
    """A benchmark's MX on ``host:port`` in its own thread: accepts every message, counts."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.messages = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> CountingSink:
        self._thread.start()
        start = self._loop.create_server(lambda: _Counting(self), self.host, self.port)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
