"""aiosmtpd sinks on loopback: the SMTP servers of the tests (alert and report mail today,
the recipient MXs of the relay).

A :class:`SmtpSink` listens on ``host`` (any 127.0.0.0/8 address, so several sinks can play
several MX hosts on one port number) and records every transaction it accepts as a
:class:`Received`. Its ``reply`` hook decides the answer to each RCPT and to DATA, so one
class plays a server that accepts, refuses (5xx), defers (4xx, then accepts), or hangs.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["Received", "SmtpSink", "free_port"]


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

    @property
    def message(self) -> Message:
        return message_from_bytes(self.content)


#: Decides a reply: (stage "RCPT" or "DATA", the address or None, attempt number) -> the
#: reply ("250 OK", "550 5.1.1 ...") or None for the default.
Reply = Callable[[str, str | None, int], str | None]


@dataclass
class _Handler:
    sink: SmtpSink
    attempts: dict[str, int] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.sink.lock:
            n = self.attempts[address] = self.attempts.get(address, 0) + 1
        answer = self.sink.reply("RCPT", address, n) if self.sink.reply else None
        if answer is None or answer.startswith("2"):
            envelope.rcpt_tos.append(address)
        return answer or "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.sink.lock:
            n = self.attempts["DATA"] = self.attempts.get("DATA", 0) + 1
        answer = self.sink.reply("DATA", None, n) if self.sink.reply else None
        if answer is None or answer.startswith("2"):
            with self.sink.lock:
                self.sink.received.append(
                    Received(
                        mail_from=envelope.mail_from,
                        rcpt_tos=list(envelope.rcpt_tos),
                        content=bytes(envelope.content),
                        peer=str(session.peer[0]) if session.peer else "",
                        tls=session.ssl is not None,
                    )
                )
        return answer or "250 2.0.0 OK queued"


class SmtpSink:
    """An aiosmtpd ``Controller`` on ``host:port`` recording every message it accepts."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        reply: Reply | None = None,
        tls_context: Any = None,
        require_starttls: bool = False,
    ) -> None:
        self.host, self.port = host, port or free_port(host)
        self.reply = reply
        self.received: list[Received] = []
        self.lock = threading.Lock()
        kwargs: dict[str, Any] = {}
        if tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=require_starttls)
        self.controller = Controller(
            _Handler(self), hostname=host, port=self.port, server_hostname="sink.test", **kwargs
        )

    @property
    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
