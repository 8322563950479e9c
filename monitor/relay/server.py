"""The submission server (RFC 6409 over aiosmtpd): who may send what, and durably queued.

aiosmtpd does the protocol (line reading, DATA with dot-unstuffing, STARTTLS, SIZE,
8BITMIME, SMTPUTF8, AUTH); :class:`Submission` decides what a bulk relay accepts:

* **No relaying without authentication**: MAIL, RCPT and DATA need AUTH (``530 5.7.0``), and
  AUTH needs TLS (``538 5.7.11``) unless the listener is on loopback and
  ``plain_auth_on_loopback`` allows it. Password checks (argon2, tens of ms) run in a thread.
* **Addresses** are parsed by ``parsers.smtppath`` (RFC 5321): source routes, ``%`` and ``!``
  paths, quoted local parts holding ``@``, address literals and bare host names are refused
  with ``501 5.1.3`` / ``501 5.1.7``. The envelope sender and the header From must be in one
  of the account's ``domains`` (``553 5.7.1`` / ``550 5.7.1``).
* **Suppression at RCPT**: ``550 5.7.1`` with the entry's reason and date, from the in-memory
  index confirmed by the database (``monitor.relay.index``); the allowlist wins.
* **Limits**: ``SIZE`` (``552 5.3.4``), recipients per message (``452 4.5.3``), messages per
  minute per account (``451 4.7.1``).
* **DSN** (RFC 3461): ``RET``/``ENVID`` on MAIL and ``NOTIFY``/``ORCPT`` on RCPT are kept for
  delivery; PIPELINING, ENHANCEDSTATUSCODES (RFC 2034: every reply but the greeting and the
  EHLO/HELO replies carries a code; :meth:`Submission.push` adds the class default where
  aiosmtpd's own text lacks one) and DSN are advertised.
* **250 only when stored**: the DATA reply waits for the group commit (``monitor.relay.intake``);
  a database that is down gives ``451 4.3.0``, never a 250.

The event loop never blocks on the database: index confirmations, password checks and the
commit run in threads.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import hashlib
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from monitor.config import RelayUser
from monitor.errors import MonitorError, RelayError
from monitor.relay.compose.headers import missing_fields
from monitor.relay.data import CHUNK, DataTooBig, read_data, unstuff
from monitor.relay.index import SuppressionIndex
from monitor.relay.intake import Intake
from monitor.relay.passwords import verify_password
from monitor.store.events import bare_message_id
from monitor.store.queue import QueuedMessage, QueuedRecipient
from parsers.address import AddressError, normalize_address
from parsers.smtppath import PathError, parse_params, parse_path, xtext_decode

__all__ = ["Handler", "RateLimiter", "Submission", "SubmissionSettings"]

log = logging.getLogger(__name__)

#: RFC 2034 class defaults for replies whose text has no enhanced code of its own.
_DEFAULT_CODES = {
    "221": "2.0.0", "235": "2.7.0", "250": "2.0.0", "251": "2.1.5", "252": "2.1.5",
    "421": "4.3.2", "450": "4.2.0", "451": "4.3.0", "452": "4.3.1", "454": "4.7.0",
    "500": "5.5.2", "501": "5.5.4", "502": "5.5.1", "503": "5.5.1", "504": "5.5.4",
    "530": "5.7.0", "535": "5.7.8", "538": "5.7.11", "550": "5.0.0", "551": "5.1.6",
    "552": "5.3.4", "553": "5.1.3", "554": "5.0.0", "555": "5.5.4",
}  # fmt: skip
_HAS_CODE = re.compile(r"^[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b")
_NOTIFY = frozenset({"SUCCESS", "FAILURE", "DELAY"})


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmissionSettings:
    """What the submission side needs of ``[relay]`` and ``[suppression]``."""

    hostname: str
    users: Mapping[str, RelayUser]
    max_message_bytes: int = 25 * 1024 * 1024
    max_recipients: int = 1000
    queue_lifetime: timedelta = timedelta(days=5)
    lowercase_local: bool = True
    #: Domains with a DKIM key: mail From any other (or a subdomain of none of them) is
    #: refused at the end of DATA unless the account has ``allow_unsigned``; None: the
    #: relay signs nothing and checks nothing (a relay built without keys, as in tests).
    dkim_domains: frozenset[str] | None = None


class RateLimiter:
    """Messages per minute per account: a sliding one-minute window of accept times."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def allowed(self, user: str, per_minute: int) -> bool:
        if per_minute <= 0:
            return True
        seen = self._seen.setdefault(user, deque())
        cutoff = self.clock() - 60.0
        while seen and seen[0] <= cutoff:
            seen.popleft()
        return len(seen) < per_minute

    def count(self, user: str, per_minute: int) -> None:
        if per_minute > 0:
            self._seen.setdefault(user, deque()).append(self.clock())


class RelayEnvelope(Envelope):
    """aiosmtpd's envelope plus what DSN and the queue need."""

    def __init__(self) -> None:
        super().__init__()
        self.user: str | None = None
        self.body_8bit = False
        self.dsn_ret: str | None = None
        self.dsn_envid: str | None = None
        self.recipients: list[QueuedRecipient] = []


def _split_path(arg: str) -> tuple[str, str]:
    """``<path> params`` -> (path, params); a path without brackets ends at a space."""
    arg = arg.strip()
    if arg.startswith("<"):
        end = arg.find(">")
        if end < 0:
            return arg, ""
        return arg[: end + 1], arg[end + 1 :]
    path, _, rest = arg.partition(" ")
    return path, rest


def _in_domains(domain: str, allowed: tuple[str, ...]) -> bool:
    domain = domain.lower().rstrip(".")
    return any(domain == d or domain.endswith("." + d) for d in (a.lower() for a in allowed))


class Submission(SMTP):
    """One submission session (aiosmtpd makes one per connection)."""

    #: The stream buffer (and longest line) aiosmtpd allows: see ``monitor.relay.data``.
    line_length_limit = CHUNK

    def __init__(self, handler: Handler, *, implicit_tls: bool = False, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.relay = handler
        self.implicit_tls = implicit_tls  # a listener with TLS from the first byte (RFC 8314)
        self._exempt = False  # EHLO/HELO replies carry no enhanced code (RFC 2034 3)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.implicit_tls and self._tls_protocol is None:
            # aiosmtpd knows TLS only from STARTTLS: on an implicit-TLS listener (RFC 8314)
            # the connection is encrypted from the first byte, so AUTH is allowed at once.
            self._tls_protocol = transport  # type: ignore[assignment]

    def _create_envelope(self) -> RelayEnvelope:
        return RelayEnvelope()

    def _relay_envelope(self) -> RelayEnvelope:
        envelope = self.envelope
        if not isinstance(envelope, RelayEnvelope):  # pragma: no cover - set by aiosmtpd
            raise RelayError("session has no relay envelope")
        return envelope

    # ------------------------------------------------------------------ replies

    async def push(self, status: AnyStr) -> None:
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)
        code = text[:3]
        if (
            not self._exempt
            and code in _DEFAULT_CODES
            and text[3:4] in (" ", "-")
            and not _HAS_CODE.match(text)
        ):
            text = f"{code}{text[3]}{_DEFAULT_CODES[code]} {text[4:]}"
        await super().push(text)

    async def smtp_EHLO(self, hostname: str) -> None:
        self._exempt = True
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._exempt = False

    async def smtp_HELO(self, hostname: str) -> None:
        self._exempt = True
        try:
            await super().smtp_HELO(hostname)
        finally:
            self._exempt = False

    # ------------------------------------------------------------------ AUTH

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        if len(args) == 1:
            blob = await self.challenge_auth("")
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)
        else:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except binascii.Error:
                await self.push("501 5.5.2 Cannot decode the base64 answer")
                return AuthResult(success=False, handled=True)
        parts = blob.split(b"\x00")
        if len(parts) != 3:
            await self.push("501 5.5.2 Expected authzid NUL authcid NUL password")
            return AuthResult(success=False, handled=True)
        return await self._check(parts[1], parts[2])

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        if len(args) == 1:
            login = await self.challenge_auth("Username:")
        else:
            try:
                login = base64.b64decode(args[1].encode(), validate=True)
            except binascii.Error:
                await self.push("501 5.5.2 Cannot decode the base64 answer")
                return AuthResult(success=False, handled=True)
        if not isinstance(login, bytes):
            return AuthResult(success=False, handled=True)
        password = await self.challenge_auth("Password:")
        if not isinstance(password, bytes):
            return AuthResult(success=False, handled=True)
        return await self._check(login, password)

    async def _check(self, login: bytes, password: bytes) -> AuthResult:
        user = login.decode("utf-8", "replace")
        ok = await self.relay.authenticate(user, password.decode("utf-8", "replace"))
        if not ok:
            log.warning("relay: failed AUTH for user %r from %s", user[:100], self._peer())
            return AuthResult(
                success=False, handled=False, message="535 5.7.8 Authentication failed"
            )
        return AuthResult(success=True, auth_data=user)

    def _peer(self) -> str:
        peer = self.session.peer if self.session is not None else None
        return str(peer[0]) if isinstance(peer, tuple) else "?"

    # ------------------------------------------------------------------ MAIL

    async def smtp_MAIL(self, arg: str | None) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("MAIL"):
            return
        env = self._relay_envelope()
        stripped = self._strip_command_keyword("FROM:", arg or "")
        if not stripped:
            await self.push("501 5.5.4 Syntax: MAIL FROM:<address> [parameters]")
            return
        if env.mail_from is not None:
            await self.push("503 5.5.1 Nested MAIL command")
            return
        path_text, params_text = _split_path(stripped)
        try:
            params = parse_params(params_text)
            path = parse_path(path_text, smtputf8="SMTPUTF8" in params)
            problem = self._mail_params(env, params)
        except PathError as exc:
            await self.push(f"501 5.1.7 Bad sender address syntax: {exc}")
            return
        if problem:
            await self.push(problem)
            return
        reply = self.relay.check_sender(self.session, path.address if path else None)
        if reply is not None:
            await self.push(reply)
            return
        assert path is not None
        env.mail_from, env.user = path.address, self._user()
        env.smtp_utf8 = "SMTPUTF8" in params
        await self.push(f"250 2.1.0 Sender <{path.address}> OK")

    def _user(self) -> str:
        session = self.session
        return str(session.auth_data) if session is not None and session.auth_data else ""

    def _mail_params(self, env: RelayEnvelope, params: dict[str, str | None]) -> str | None:
        """Take the MAIL parameters (RFC 1870, 6152, 6531, 3461); a refusal reply or None."""
        for key, value in params.items():
            take = _MAIL_PARAMETERS.get(key)
            if take is None:
                return f"555 5.5.4 MAIL parameter {key} is not supported"
            problem = take(self, env, value)
            if problem:
                return problem
        return None

    def _size(self, env: RelayEnvelope, value: str | None) -> str | None:
        if value is None or not value.isdigit():
            return "501 5.5.4 SIZE takes a number"
        if int(value) > self.relay.settings.max_message_bytes:
            return "552 5.3.4 Message size exceeds the fixed maximum message size"
        return None

    def _body(self, env: RelayEnvelope, value: str | None) -> str | None:
        body = (value or "").upper()
        if body not in ("7BIT", "8BITMIME"):
            return "501 5.5.4 BODY is 7BIT or 8BITMIME"
        env.body_8bit = body == "8BITMIME"
        return None

    def _smtputf8(self, env: RelayEnvelope, value: str | None) -> str | None:
        return "501 5.5.4 SMTPUTF8 takes no value" if value is not None else None

    def _ret(self, env: RelayEnvelope, value: str | None) -> str | None:
        ret = (value or "").upper()
        if ret not in ("FULL", "HDRS"):
            return "501 5.5.4 RET is FULL or HDRS"
        env.dsn_ret = ret
        return None

    def _envid(self, env: RelayEnvelope, value: str | None) -> str | None:
        if value is None or len(value) > 100:
            return "501 5.5.4 ENVID takes a value of at most 100 characters"
        env.dsn_envid = xtext_decode(value)
        return None

    # ------------------------------------------------------------------ DATA

    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA, with the section read in large pieces (``monitor.relay.data``)."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        env = self._relay_envelope()
        if not env.rcpt_tos:
            await self.push("503 5.5.1 Need RCPT before DATA")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            raw = await read_data(self._reader, self.relay.settings.max_message_bytes)
        except DataTooBig:
            self.envelope = self._create_envelope()
            await self.push("552 5.3.4 Message size exceeds the fixed maximum message size")
            return
        except asyncio.CancelledError:
            self._writer.close()
            raise
        env.content = env.original_content = unstuff(raw)
        status = await self._call_handler_hook("DATA")
        self.envelope = self._create_envelope()
        await self.push(status)

    # ------------------------------------------------------------------ RCPT

    async def smtp_RCPT(self, arg: str | None) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("RCPT"):
            return
        env = self._relay_envelope()
        if env.mail_from is None:
            await self.push("503 5.5.1 Need MAIL before RCPT")
            return
        stripped = self._strip_command_keyword("TO:", arg or "")
        if not stripped:
            await self.push("501 5.5.4 Syntax: RCPT TO:<address> [parameters]")
            return
        path_text, params_text = _split_path(stripped)
        try:
            params = parse_params(params_text)
            path = parse_path(path_text, smtputf8=env.smtp_utf8)
            rcpt = self._rcpt(path, params)
        except PathError as exc:
            await self.push(f"501 5.1.3 Bad recipient address syntax: {exc}")
            return
        if isinstance(rcpt, str):
            await self.push(rcpt)
            return
        if any(r.address == rcpt.address for r in env.recipients):
            await self.push(f"250 2.1.5 Recipient <{rcpt.address}> OK (duplicate)")
            return
        if len(env.recipients) >= self.relay.settings.max_recipients:
            await self.push("452 4.5.3 Too many recipients")
            return
        refusal = await self.relay.check_recipient(rcpt.address)
        if refusal is not None:
            await self.push(refusal)
            return
        env.recipients.append(rcpt)
        env.rcpt_tos.append(rcpt.address)
        await self.push(f"250 2.1.5 Recipient <{rcpt.address}> OK")

    def _rcpt(self, path: Any, params: dict[str, str | None]) -> QueuedRecipient | str:
        if path is None:
            return "501 5.1.3 The null path is not a recipient"
        try:
            address = normalize_address(
                path.address, lowercase_local=self.relay.settings.lowercase_local
            )
        except AddressError as exc:
            return f"501 5.1.3 Bad recipient address syntax: {exc}"
        notify = orcpt = None
        for key, value in params.items():
            if key == "NOTIFY":
                words = (value or "").upper().split(",")
                if words != ["NEVER"] and not (words and set(words) <= _NOTIFY):
                    return "501 5.5.4 NOTIFY is NEVER or a list of SUCCESS, FAILURE, DELAY"
                notify = ",".join(words)
            elif key == "ORCPT":
                if value is None or ";" not in value:
                    return "501 5.5.4 ORCPT is addr-type;xtext"
                orcpt = xtext_decode(value)[:320]
            else:
                return f"555 5.5.4 RCPT parameter {key} is not supported"
        return QueuedRecipient(address=address, notify=notify, orcpt=orcpt)


_MAIL_PARAMETERS: dict[str, Callable[[Submission, RelayEnvelope, str | None], str | None]] = {
    "SIZE": Submission._size,
    "BODY": Submission._body,
    "SMTPUTF8": Submission._smtputf8,
    "RET": Submission._ret,
    "ENVID": Submission._envid,
}


#: Password checks run at once. Each argon2id check holds its memory cost (64 MiB with
#: argon2-cffi's defaults, RFC 9106's second recommendation): 20 clients logging in together
#: took the relay from 105 to 490 MiB (``make bench``), and a flood of AUTH attempts could
#: take far more. Two checks at a time keep both cores usable and memory bounded.
AUTH_CHECKS_AT_ONCE = 2


@dataclass
class Handler:
    """The policy and the queue behind every session (one per relay process)."""

    settings: SubmissionSettings
    intake: Intake
    index: SuppressionIndex
    clock: Callable[[], datetime]
    on_queued: Callable[[], None] = lambda: None
    limiter: RateLimiter = field(default_factory=RateLimiter)
    _auth_cache: dict[tuple[str, bytes], float] = field(default_factory=dict)
    _auth_slots: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(AUTH_CHECKS_AT_ONCE)
    )

    # ------------------------------------------------------------------ aiosmtpd hooks

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
        responses: list[str],
    ) -> list[str]:  # fmt: skip
        session.host_name = hostname
        extra = ["250-PIPELINING", "250-ENHANCEDSTATUSCODES", "250-DSN"]
        return [*responses[:-1], *extra, responses[-1]]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope, RelayEnvelope)
        content = envelope.original_content or b""
        user = self.settings.users.get(envelope.user or "")
        if user is None:  # pragma: no cover - MAIL refuses without an account
            return "530 5.7.0 Authentication required"
        head = BytesHeaderParser(policy=compat32).parsebytes(_header_section(content))
        from_header = head.get("From")
        if not from_header:
            return "550 5.6.0 The message has no From header"
        header_from = self._header_from(str(from_header), user)
        if header_from is None:
            return f"550 5.7.1 The header From {str(from_header)[:100]!r} is not yours to use"
        domain = header_from.rsplit("@", 1)[1]
        keys = self.settings.dkim_domains
        if keys is not None and not user.allow_unsigned and not _in_domains(domain, tuple(keys)):
            return (f"550 5.7.0 No DKIM key for {domain[:100]}: the relay would send this "
                    "message unsigned; add [sending.dkim] keys for it")  # fmt: skip
        now = self.clock()
        queue_id = _queue_id()
        content, added_id = missing_fields(content, queue_id=queue_id, domain=domain, now=now)
        tls = session.ssl is not None or getattr(server, "implicit_tls", False)
        body = self._trace(session, queue_id, now, tls=tls) + content
        message = QueuedMessage(
            queue_id=queue_id,
            submitted_by=envelope.user or "",
            envelope_sender=envelope.mail_from or "",
            body=body,
            received_at=now,
            expires_at=now + self.settings.queue_lifetime,
            recipients=tuple(envelope.recipients),
            header_from=header_from,
            message_id=bare_message_id(str(head.get("Message-ID") or "")) or added_id,
            campaign=(str(head.get("X-Campaign") or head.get("X-Campaign-ID") or "").strip()
                      or None),
            stream=user.stream,
            smtputf8=envelope.smtp_utf8,
            body_8bit=envelope.body_8bit or not content.isascii(),
            dsn_ret=envelope.dsn_ret,
            dsn_envid=envelope.dsn_envid,
            client_ip=_peer_ip(session),
        )  # fmt: skip
        try:
            await self.intake.submit(message)
        except RelayError:
            return "451 4.3.0 The queue could not store the message; try again later"
        self.limiter.count(envelope.user or "", user.messages_per_minute)
        self.on_queued()
        # DEBUG: the queue (``deliverwatch queue show``) is the per-message record; a line
        # per message cost 4 % of the submission process at 200 msg/s (py-spy, make bench)
        log.debug("queued %s from %s: %d recipient(s), %d bytes", queue_id,
                  envelope.user, len(envelope.recipients), len(body))  # fmt: skip
        return f"250 2.0.0 Ok: queued as {queue_id}"

    # ------------------------------------------------------------------ decisions

    async def authenticate(self, user: str, password: str) -> bool:
        account = self.settings.users.get(user)
        if account is None:
            await asyncio.sleep(0.05)  # as slow as a wrong password
            return False
        key = (user, hashlib.sha256(password.encode("utf-8", "surrogateescape")).digest())
        if self._auth_cache.get(key, 0.0) > time.monotonic():
            return True
        async with self._auth_slots:  # argon2 takes 64 MiB a check: bound them
            if self._auth_cache.get(key, 0.0) > time.monotonic():
                return True  # checked while this one waited for a slot
            loop = asyncio.get_running_loop()
            ok = await loop.run_in_executor(None, verify_password, account.password_hash, password)
        if ok:  # a client connecting 20 times must not cost 20 argon2 runs
            if len(self._auth_cache) > 1000:
                self._auth_cache.clear()
            self._auth_cache[key] = time.monotonic() + 300.0
        return ok

    def check_sender(self, session: Session | None, address: str | None) -> str | None:
        """A refusal of the envelope sender, or None."""
        user_name = str(session.auth_data) if session is not None and session.auth_data else ""
        account = self.settings.users.get(user_name)
        if account is None:
            return "530 5.7.0 Authentication required"
        if address is None:
            return "553 5.7.1 The null sender is for bounces; send from one of your domains"
        domain = address.rsplit("@", 1)[-1]
        if not _in_domains(domain, account.domains):
            return f"553 5.7.1 Sender <{address}> is not one of the domains of {user_name}"
        if not self.limiter.allowed(user_name, account.messages_per_minute):
            return (
                f"451 4.7.1 {user_name} may send {account.messages_per_minute} messages a "
                "minute; try again later"
            )
        return None

    async def check_recipient(self, address: str) -> str | None:
        """``550 5.7.1`` for a suppressed recipient (the allowlist wins), or None."""
        if not self.index.maybe(address):
            return None
        loop = asyncio.get_running_loop()
        try:
            verdict = await loop.run_in_executor(None, self.index.confirm, address, self.clock())
        except MonitorError:
            return "451 4.3.0 The suppression list cannot be read now; try again later"
        if not verdict.suppressed or verdict.entry is None:
            return None
        entry = verdict.entry
        what = "address" if entry.value == address else f"domain {entry.value}"
        reason = entry.reason.value if entry.reason else "suppressed"
        since = f" since {entry.created_at:%Y-%m-%d}" if entry.created_at else ""
        return f"550 5.7.1 <{address}>: {what} is suppressed ({reason}){since}"

    def _header_from(self, value: str, account: RelayUser) -> str | None:
        """The header From address if every address in it is in the account's domains."""
        found = [a for _name, a in email.utils.getaddresses([value]) if "@" in a]
        if not found or not all(_in_domains(a.rsplit("@", 1)[1], account.domains) for a in found):
            return None
        return found[0].lower()[:320]

    def _trace(self, session: Session, queue_id: str, now: datetime, *, tls: bool) -> bytes:
        """The Received: field every relay adds (RFC 5321 4.4), with ESMTPSA (RFC 3848)."""
        proto = "ESMTPSA" if tls else "ESMTPA"
        helo = (session.host_name or "unknown")[:100]
        line = (
            f"Received: from {helo} ([{_peer_ip(session) or 'unknown'}])\r\n"
            f"\tby {self.settings.hostname} (deliverwatch) with {proto} id {queue_id};\r\n"
            f"\t{email.utils.format_datetime(now)}\r\n"
        )
        return line.encode("utf-8", "replace")


def _header_section(content: bytes) -> bytes:
    """The header fields of a message (the parser need not walk a 10 MB body to find them;
    feeding it the whole message cost 16 % of the submission process's time)."""
    end = content.find(b"\r\n\r\n")
    if end < 0:
        end = content.find(b"\n\n")
        return content if end < 0 else content[: end + 2]
    return content[: end + 4]


def _peer_ip(session: Session) -> str | None:
    peer = session.peer
    return str(peer[0])[:45] if isinstance(peer, tuple) and peer else None


def _queue_id() -> str:
    """12 characters of base32: short to quote, 60 random bits (no clash in practice)."""
    return base64.b32encode(secrets.token_bytes(8)).decode("ascii")[:12]
