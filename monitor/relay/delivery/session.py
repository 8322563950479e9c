"""One outbound SMTP connection (aiosmtplib); ``pool`` keeps the idle ones.

:func:`open_connection` connects to one MX address (from a bound source address when one is
configured), reads the greeting, says EHLO (HELO when refused) and upgrades with STARTTLS
when offered: opportunistic TLS (RFC 3207, RFC 7435), so no certificate is checked. A failed
handshake raises :class:`TlsFailure`; the caller tries the same MX again in plain text once,
as Postfix's ``may`` level does. A greeting that is not 220 raises :class:`ConnectFailure`
and the caller moves on to the next MX.

:meth:`Connection.deliver` runs one transaction (MAIL, RCPT per recipient, DATA) and
returns one :class:`~monitor.relay.delivery.result.Reply` per recipient: accepted recipients
get the reply to the end of data, refused ones their RCPT reply, and when the connection
drops or times out every recipient not yet decided gets a deferral in Postfix's words. A
connection carries several transactions; RSET is sent only before a transaction that follows
an unfinished one (after the reply to the end of data the server is ready for the next MAIL,
RFC 5321 4.1.1.4 and 3.3), which saves a round trip per message.

Parameters are passed on only where the server announced them: SIZE (RFC 1870, and a message
over the announced limit fails at once, 5.3.4), BODY=8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531;
a message that needs it fails with 5.6.7 when the server lacks it) and the DSN parameters
NOTIFY, ORCPT, RET, ENVID (RFC 3461 4; without DSN support the relay itself reports success
as ``relayed``, RFC 3461 6.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.response import SMTPResponse

from monitor.errors import RelayError
from monitor.relay.delivery.result import Reply

__all__ = [
    "ConnectFailure",
    "Connection",
    "Dial",
    "Envelope",
    "Recipient",
    "TlsFailure",
    "open_connection",
    "opportunistic_tls",
    "prepare_body",
]

_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_NOTIFY = re.compile(r"(?:NEVER|(?:SUCCESS|FAILURE|DELAY)(?:,(?:SUCCESS|FAILURE|DELAY))*)", re.I)
_XTEXT = re.compile(r"[!-~]+")
#: Exceptions that end a connection (dropped, timed out, garbled) rather than a reply.
_TROUBLE = (aiosmtplib.SMTPException, OSError, ssl.SSLError, EOFError)


def prepare_body(body: bytes) -> bytes:
    """CRLF line ends, leading dots doubled (RFC 5321 4.5.2) and the end-of-data line:
    done once per message, whatever number of transactions carries it. A body that already
    has CRLF line ends (what the relay stores) skips the regular expression."""
    crlf = body.count(b"\r\n")
    data = body if body.count(b"\r") == crlf == body.count(b"\n") else _LINE_ENDS.sub(b"\r\n", body)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def opportunistic_tls() -> ssl.SSLContext:
    """A client context that encrypts without authenticating (RFC 7435 opportunistic
    security: any certificate beats plain text)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str
    notify: str | None = None  # RFC 3461 NOTIFY as submitted
    orcpt: str | None = None  # RFC 3461 ORCPT as submitted (``rfc822;addr``, xtext)


@dataclass(frozen=True, slots=True)
class Envelope:
    """One transaction: a sender, its recipients, the prepared body (``prepare_body``)."""

    sender: str  # "" for the null reverse-path
    recipients: tuple[Recipient, ...]
    data: bytes
    size: int  # of the message as stored (SIZE=, RFC 1870)
    smtputf8: bool = False  # the message cannot be delivered without SMTPUTF8
    body_8bit: bool = False
    ret: str | None = None  # RFC 3461 RET
    envid: str | None = None  # RFC 3461 ENVID (xtext)


class ConnectFailure(RelayError):
    """No usable session with this address; ``greeted``: the server answered (counts
    towards ``max_mx_sessions``); ``server``: the server's own refusal of the greeting or
    EHLO, code and text as sent, so traffic shaping can read a "too many connections" or
    "blocked" given before any transaction (``reply`` is the deferral recorded)."""

    def __init__(self, reply: Reply, *, greeted: bool, server: Reply | None = None) -> None:
        super().__init__(str(reply))
        self.reply = reply
        self.greeted = greeted
        self.server = server


class TlsFailure(ConnectFailure):
    """STARTTLS was offered but the handshake failed: try this MX again in plain text."""


def _abort(transport: asyncio.BaseTransport | None) -> None:
    if isinstance(transport, asyncio.Transport) and not transport.is_closing():
        transport.abort()


def _text(response: SMTPResponse) -> str:
    return _one_line(response.message)


def _one_line(message: str) -> str:
    return " ".join(message.split("\n")).strip()


#: Replies to EHLO that mean "I do not know EHLO" (RFC 5321 4.2.4, 3.2): try HELO instead.
_EHLO_UNKNOWN = frozenset({500, 501, 502, 504})


class Connection:
    """An open session with one MX address, ready for a transaction."""

    def __init__(self, smtp: aiosmtplib.SMTP, *, mx: str, address: str, port: int,
                 source_ip: str | None, timeout: float,
                 raw: asyncio.BaseTransport | None = None) -> None:  # fmt: skip
        self.smtp = smtp
        self.raw = raw  # the TCP transport under TLS, closed with the connection
        self.mx = mx
        self.address = address
        self.port = port
        self.source_ip = source_ip
        self.timeout = timeout
        self.transactions = 0  # finished on this connection
        self.dirty = False  # a transaction was left open: RSET first
        self.broken = False
        #: The destination group it was opened for (traffic shaping; "" when off), and
        #: what to call once when it closes (the group's count of open connections).
        self.group = ""
        self.on_close: Callable[[], None] | None = None

    @property
    def key(self) -> tuple[str, int, str]:
        return self.address, self.port, self.group

    @property
    def where(self) -> str:
        return f"{self.mx}[{self.address}]"

    @property
    def tls(self) -> bool:
        return self.usable and self.smtp.get_transport_info("sslcontext") is not None

    @property
    def usable(self) -> bool:
        return not self.broken and self.smtp.is_connected

    def supports(self, extension: str) -> bool:
        return self.smtp.supports_extension(extension)

    async def deliver(self, envelope: Envelope) -> list[Reply]:
        """One transaction; one reply per recipient, in order (module docstring)."""
        count = len(envelope.recipients)
        refusal = self._refusal(envelope)
        if refusal is not None:
            return [refusal] * count
        replies: list[Reply | None] = [None] * count
        stage = "RSET"
        try:
            if self.dirty:
                reset = await self.smtp.execute_command(b"RSET")
                if reset.code != 250:
                    raise aiosmtplib.SMTPResponseException(reset.code, reset.message)
            self.dirty = True
            stage = "MAIL"
            mail = await self._mail(envelope)
            if mail.code // 100 != 2:
                self.dirty = False  # no transaction was opened
                return [self._reply(mail, stage)] * count
            stage = "RCPT"
            accepted = await self._recipients(envelope, replies)
            if not accepted:  # every recipient refused: each has its RCPT reply
                return [r for r in replies if r is not None]
            stage = "DATA"
            start = await self.smtp.execute_command(b"DATA")
            if start.code != 354:
                return self._fill(replies, accepted, self._reply(start, stage))
            stage = "END-OF-DATA"
            end = await self._data(envelope.data)
            self.dirty = False  # the reply to the end of data closes the transaction
            self.transactions += 1
            return self._fill(replies, accepted, self._reply(end, stage))
        except _TROUBLE as exc:
            self.close()
            lost = self._lost(stage, exc)
            return [r or lost for r in replies]

    def _refusal(self, envelope: Envelope) -> Reply | None:
        """What this server cannot take, decided before a word is sent."""
        if envelope.smtputf8 and not self.supports("smtputf8"):
            text = f"5.6.7 SMTPUTF8 is required, but was not offered by host {self.where}"
            return Reply.bounced(text, command="MAIL", mx=self.mx)
        limit = self.smtp.esmtp_extensions.get("size", "")
        if limit.isdigit() and 0 < int(limit) < envelope.size:
            text = (
                f"5.3.4 message size {envelope.size} exceeds size limit {limit} "
                f"of server {self.where}"
            )
            return Reply.bounced(text, command="MAIL", mx=self.mx)
        return None

    async def _mail(self, envelope: Envelope) -> SMTPResponse:
        options: list[bytes] = []
        if self.supports("size"):
            options.append(b"SIZE=%d" % envelope.size)
        if envelope.body_8bit and self.supports("8bitmime"):
            options.append(b"BODY=8BITMIME")
        if envelope.smtputf8:
            options.append(b"SMTPUTF8")
        if self.supports("dsn"):
            if envelope.ret and envelope.ret.upper() in ("FULL", "HDRS"):
                options.append(b"RET=" + envelope.ret.upper().encode())
            if envelope.envid and _XTEXT.fullmatch(envelope.envid):
                options.append(b"ENVID=" + envelope.envid.encode())
        sender = envelope.sender.encode("utf-8" if envelope.smtputf8 else "ascii")
        return await self.smtp.execute_command(b"MAIL", b"FROM:<" + sender + b">", *options)

    async def _recipients(self, envelope: Envelope, replies: list[Reply | None]) -> list[int]:
        accepted: list[int] = []
        dsn = self.supports("dsn")
        encoding = "utf-8" if envelope.smtputf8 else "ascii"
        for index, rcpt in enumerate(envelope.recipients):
            args = [b"TO:<" + rcpt.address.encode(encoding) + b">"]
            if dsn and rcpt.notify and _NOTIFY.fullmatch(rcpt.notify):
                args.append(b"NOTIFY=" + rcpt.notify.upper().encode())
            if dsn and rcpt.orcpt and _XTEXT.fullmatch(rcpt.orcpt) and ";" in rcpt.orcpt:
                args.append(b"ORCPT=" + rcpt.orcpt.encode())
            response = await self.smtp.execute_command(b"RCPT", *args)
            if response.code // 100 == 2:
                accepted.append(index)
            else:
                replies[index] = self._reply(response, "RCPT")
        return accepted

    async def _data(self, data: bytes) -> SMTPResponse:
        """The prepared message and the reply to its end (aiosmtplib's ``data`` would
        prepare it again for every transaction and hide which command a reply answered)."""
        protocol = self.smtp.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        protocol.write(data)
        try:
            return await protocol.read_response(timeout=self.timeout)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            self.smtp.close()
            raise

    def _reply(self, response: SMTPResponse, command: str) -> Reply:
        return Reply(response.code, _text(response), command, self.mx)

    @staticmethod
    def _fill(replies: list[Reply | None], accepted: list[int], reply: Reply) -> list[Reply]:
        for index in accepted:
            replies[index] = reply
        return [r if r is not None else reply for r in replies]

    def _lost(self, stage: str, exc: object) -> Reply:
        """Postfix's words for a session that ended under a command."""
        sending = {
            "RSET": "RSET",
            "MAIL": "MAIL FROM",
            "RCPT": "RCPT TO",
            "DATA": "DATA",
            "END-OF-DATA": "end of data -- message may be sent more than once",
        }[stage]
        if isinstance(exc, TimeoutError):
            text = f"4.4.2 conversation with {self.where} timed out while sending {sending}"
        else:
            text = f"4.4.2 lost connection with {self.where} while sending {sending} ({exc})"
        return Reply.deferred(text, command=stage, mx=self.mx)

    async def quit(self) -> None:
        """QUIT politely (bounded), then close."""
        if self.usable:
            with contextlib.suppress(*_TROUBLE):
                await self.smtp.execute_command(b"QUIT", timeout=min(self.timeout, 5.0))
        self.close()

    def close(self) -> None:
        """Close now: after STARTTLS the TCP transport is aborted too, rather than left to a
        TLS shutdown that may outlive the event loop."""
        self.broken = True
        self.smtp.close()
        _abort(self.raw)
        done, self.on_close = self.on_close, None
        if done is not None:
            done()


@dataclass(frozen=True, slots=True, kw_only=True)
class Dial:
    """How to reach one MX address."""

    mx: str
    address: str
    port: int
    source_ip: str | None
    helo: str
    connect_timeout: float
    command_timeout: float
    tls: ssl.SSLContext | None  # None: plain text only
    server_name: str = ""  # sent as SNI; empty: ``mx`` (DANE: the TLSA base domain)


async def open_connection(dial: Dial) -> Connection:
    """Connect, read the greeting, EHLO, STARTTLS when offered (module docstring)."""
    where = f"{dial.mx}[{dial.address}]"
    smtp = await _connect(dial, where)
    raw = smtp.transport
    try:
        await _hello(smtp, dial, where)
        if dial.tls is not None and smtp.supports_extension("starttls"):
            await _starttls(smtp, dial, where)
    except BaseException:
        smtp.close()
        _abort(raw)
        raise
    return Connection(smtp, mx=dial.mx, address=dial.address, port=dial.port,
                      source_ip=dial.source_ip, timeout=dial.command_timeout,
                      raw=raw if raw is not smtp.transport else None)  # fmt: skip


async def _connect(dial: Dial, where: str) -> aiosmtplib.SMTP:
    family = socket.AF_INET6 if ":" in dial.address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        if dial.source_ip:
            sock.bind((dial.source_ip, 0))
        await asyncio.wait_for(
            asyncio.get_running_loop().sock_connect(sock, (dial.address, dial.port)),
            dial.connect_timeout,
        )
    except (OSError, TimeoutError) as exc:
        sock.close()
        why = "Connection timed out" if isinstance(exc, TimeoutError) else exc.strerror or exc
        text = f"4.4.1 connect to {where}:{dial.port}: {why}"
        reply = Reply.deferred(text, command="CONNECT", mx=dial.mx)
        raise ConnectFailure(reply, greeted=False) from None
    smtp = aiosmtplib.SMTP(sock=sock, timeout=dial.command_timeout, local_hostname=dial.helo,
                           start_tls=False, tls_context=dial.tls)  # fmt: skip
    try:
        await smtp.connect()  # reads the greeting within the command timeout
    except aiosmtplib.SMTPConnectResponseError as exc:
        text = f"4.4.2 host {where} refused to talk to me: {exc.code} {exc.message}"
        reply = Reply.deferred(text, command="CONNECT", mx=dial.mx)
        server = Reply(exc.code, _one_line(exc.message), "CONNECT", dial.mx)
        raise ConnectFailure(reply, greeted=True, server=server) from None
    except _TROUBLE as exc:
        smtp.close()
        text = f"4.4.2 lost connection with {where} while receiving the initial server greeting"
        if isinstance(exc, TimeoutError):
            text = f"4.4.2 conversation with {where} timed out while receiving the greeting"
        reply = Reply.deferred(text, command="CONNECT", mx=dial.mx)
        raise ConnectFailure(reply, greeted=False) from None
    return smtp


async def _hello(smtp: aiosmtplib.SMTP, dial: Dial, where: str) -> None:
    try:
        try:
            await smtp.ehlo()
        except aiosmtplib.SMTPHeloError as exc:
            if exc.code not in _EHLO_UNKNOWN:
                raise  # a refusal of us (421 too many connections, 554 blocked), not of EHLO
            await smtp.helo()  # RFC 5321 3.2: a server that does not know EHLO
    except aiosmtplib.SMTPResponseException as exc:
        text = f"4.4.2 host {where} refused to talk to me: {exc.code} {exc.message}"
        reply = Reply.deferred(text, command="EHLO", mx=dial.mx)
        server = Reply(exc.code, _one_line(exc.message), "EHLO", dial.mx)
        raise ConnectFailure(reply, greeted=True, server=server) from None
    except _TROUBLE as exc:
        text = f"4.4.2 lost connection with {where} while sending EHLO ({exc})"
        reply = Reply.deferred(text, command="EHLO", mx=dial.mx)
        raise ConnectFailure(reply, greeted=True) from None


async def _starttls(smtp: aiosmtplib.SMTP, dial: Dial, where: str) -> None:
    try:
        await smtp.starttls(server_hostname=dial.server_name or dial.mx)
    except aiosmtplib.SMTPResponseException:
        return  # refused (454): RFC 3207 4 lets the client go on in plain text
    except _TROUBLE as exc:
        text = f"4.7.5 TLS handshake with {where} failed: {exc}"
        reply = Reply.deferred(text, command="STARTTLS", mx=dial.mx)
        raise TlsFailure(reply, greeted=True) from None
    await _hello(smtp, dial, where)  # RFC 3207 4.2: forget what was said before TLS
