"""IMAP adapter: the one module that imports imapclient (STYLE.md 4).

What it guarantees to the ingester, and why:

* Nothing is marked read or changed before its result is stored: messages are read with
  ``BODY.PEEK[]`` (RFC 3501 6.4.5; plain ``BODY[]``/``RFC822`` would set ``\\Seen``).
* Everything is addressed by UID, never by sequence number (RFC 3501 2.3.1.1): sequence
  numbers shift under concurrent expunges, UIDs do not (within one UIDVALIDITY).
* Handled mail leaves the folder with ``UID MOVE`` (RFC 6851). Servers without MOVE get the
  sequence RFC 6851 section 3.3 describes: ``UID COPY``, ``UID STORE +FLAGS.SILENT
  (\\Deleted)``, then ``UID EXPUNGE`` (RFC 4315 UIDPLUS), which removes only our UIDs; plain
  ``EXPUNGE`` (all ``\\Deleted`` mail) is the last resort when UIDPLUS is missing too.
* ``wait_for_mail`` uses IDLE (RFC 2177), re-issued well inside the server's 30-minute
  inactivity limit (RFC 2177 section 3 asks clients to re-issue at least every 29 minutes).
* Every imapclient, socket and ssl exception becomes a ``MailboxError``; the ones that mean
  "the connection is gone, try again" (reset, timeout, EOF, ``BYE`` on a server restart,
  connection refused while it restarts) are the subclass ``ConnectionLost``::

      MonitorError
       └── MailboxError        login refused, TLS not trusted, host unknown, command refused
            └── ConnectionLost  the connection broke or could not be opened: retry later
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from imapclient import DELETED, IMAPClient
from imapclient.exceptions import (
    IMAPClientAbortError,
    IMAPClientError,
    LoginError,
)

from monitor.config import MailboxConfig
from monitor.errors import MailboxError

__all__ = ["ConnectionLost", "FetchedMessage", "FolderState", "Mailbox", "MailboxError"]

log = logging.getLogger(__name__)

#: RFC 2177 section 3: re-issue IDLE at least every 29 minutes.
IDLE_MAX_SECONDS = 29 * 60


class ConnectionLost(MailboxError):
    """The connection broke or could not be opened; the same work may be retried."""


@dataclass(frozen=True, slots=True)
class FolderState:
    """What SELECT told us (RFC 3501 7.3.1 EXISTS, 7.1 UIDVALIDITY)."""

    name: str
    uidvalidity: int
    exists: int


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    uid: int
    raw: bytes
    internal_date: datetime | None  # when the server received it (RFC 3501 2.3.3), aware UTC


def _tls_context(cfg: MailboxConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if not cfg.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _describe_os_error(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


@contextlib.contextmanager
def _translated(where: str, *, connecting: bool = False) -> Iterator[None]:
    """Map library exceptions to MailboxError/ConnectionLost with ``where`` in the message."""
    try:
        yield
    except MailboxError:
        raise
    except LoginError as exc:
        raise MailboxError(f"{where}: login refused: {_text(exc)}") from exc
    except IMAPClientAbortError as exc:
        raise ConnectionLost(f"{where}: connection lost: {_text(exc)}") from exc
    except IMAPClientError as exc:
        raise MailboxError(f"{where}: server refused: {_text(exc)}") from exc
    except socket.gaierror as exc:
        raise MailboxError(f"{where}: cannot resolve host: {_describe_os_error(exc)}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise MailboxError(
            f"{where}: TLS certificate not trusted: {exc.verify_message or exc.reason} "
            "(set ca_file, or verify_tls = false for a test server)"
        ) from exc
    except ssl.SSLError as exc:
        if connecting:
            raise MailboxError(f"{where}: TLS handshake failed: {exc.reason or exc}") from exc
        raise ConnectionLost(f"{where}: TLS connection lost: {exc.reason or exc}") from exc
    except (TimeoutError, ConnectionError, EOFError) as exc:
        raise ConnectionLost(f"{where}: {_describe_os_error(exc)}") from exc
    except OSError as exc:
        raise ConnectionLost(f"{where}: network error: {_describe_os_error(exc)}") from exc


def _text(exc: BaseException) -> str:
    """The server's words: imapclient/imaplib hand them over as bytes or their repr."""
    value = exc.args[0] if exc.args else str(exc)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    if len(text) > 3 and text[:2] in ("b'", 'b"') and text[-1] == text[1]:
        text = text[2:-1]
    return text or type(exc).__name__


class Mailbox:
    """One logged-in IMAP session. Use ``Mailbox.connect`` and close it (context manager)."""

    def __init__(self, client: IMAPClient, *, label: str) -> None:
        self._client = client
        self.label = label
        self.selected: FolderState | None = None

    # ------------------------------------------------------------------ session

    @classmethod
    def connect(cls, cfg: MailboxConfig, *, label: str) -> Mailbox:
        """Open, secure and log in; never sends the password before TLS unless ``tls=none``."""
        where = f"{label} ({cfg.host}:{cfg.effective_port})"
        password = cfg.password.reveal()  # an unset env: secret fails here, before the network
        ctx = _tls_context(cfg) if cfg.tls != "none" else None
        with _translated(where, connecting=True):
            client = IMAPClient(
                cfg.host,
                port=cfg.effective_port,
                ssl=cfg.tls == "implicit",
                ssl_context=ctx,
                timeout=float(cfg.timeout_seconds),
            )
        box = cls(client, label=where)
        try:
            with _translated(where, connecting=True):
                if cfg.tls == "starttls":
                    if not client.has_capability("STARTTLS"):
                        raise MailboxError(f"{where}: server does not offer STARTTLS")
                    client.starttls(ctx)
                client.normalise_times = False
                client.login(cfg.username, password)
        except BaseException:
            box.close()
            raise
        log.debug("%s: logged in as %s", where, cfg.username)
        return box

    def close(self) -> None:
        """LOGOUT, or just drop the socket when the connection is already broken."""
        try:
            self._client.logout()
        except Exception:  # the session may be dead; closing must not raise
            with contextlib.suppress(Exception):
                self._client.shutdown()

    def __enter__(self) -> Mailbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def has(self, capability: str) -> bool:
        with _translated(self.label):
            return bool(self._client.has_capability(capability))

    # ------------------------------------------------------------------ folders

    def ensure_folder(self, name: str) -> bool:
        """Create ``name`` when it does not exist; True when it was created."""
        with _translated(f"{self.label} folder {name!r}"):
            if self._client.folder_exists(name):
                return False
            self._client.create_folder(name)
        log.info("%s: created folder %s", self.label, name)
        return True

    def select(self, name: str, *, readonly: bool = False) -> FolderState:
        """SELECT read-write (moves and flags need it), or EXAMINE with ``readonly`` (a dry
        run: not even ``\\Recent`` changes), and return its UIDVALIDITY."""
        with _translated(f"{self.label} folder {name!r}"):
            info = self._client.select_folder(name, readonly=readonly)
        state = FolderState(
            name=name, uidvalidity=int(info[b"UIDVALIDITY"]), exists=int(info.get(b"EXISTS", 0))
        )
        self.selected = state
        return state

    # ------------------------------------------------------------------ reading

    def pending_uids(self) -> list[int]:
        """``UID SEARCH UNDELETED``: every message still waiting in the folder, UID order."""
        with _translated(f"{self.label} search"):
            return sorted(int(u) for u in self._client.search(["UNDELETED"]))

    def deleted_uids(self) -> list[int]:
        """``UID SEARCH DELETED``: messages flagged for removal but not yet expunged."""
        with _translated(f"{self.label} search"):
            return sorted(int(u) for u in self._client.search(["DELETED"]))

    def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        """``RFC822.SIZE`` per UID: checked before a body is ever downloaded."""
        if not uids:
            return {}
        with _translated(f"{self.label} fetch sizes"):
            got = self._client.fetch(list(uids), ["RFC822.SIZE"])
        return {int(uid): int(data.get(b"RFC822.SIZE", 0)) for uid, data in got.items()}

    def fetch(self, uids: Sequence[int]) -> list[FetchedMessage]:
        """Bodies with ``BODY.PEEK[]`` (no ``\\Seen``) and INTERNALDATE, in UID order.

        A UID that vanished meanwhile (expunged by another client) is simply absent.
        """
        if not uids:
            return []
        with _translated(f"{self.label} fetch"):
            got = self._client.fetch(list(uids), ["BODY.PEEK[]", "INTERNALDATE"])
        out = []
        for uid in sorted(got):
            data = got[uid]
            raw = data.get(b"BODY[]")
            if raw is None:
                continue
            out.append(FetchedMessage(int(uid), bytes(raw), _utc(data.get(b"INTERNALDATE"))))
        return out

    def header(self, uid: int) -> bytes:
        """The header section only (``BODY.PEEK[HEADER]``), for a message too big to fetch."""
        with _translated(f"{self.label} fetch header"):
            got = self._client.fetch([uid], ["BODY.PEEK[HEADER]"])
        data = got.get(uid, {})
        return bytes(data.get(b"BODY[HEADER]", b""))

    # ------------------------------------------------------------------ changing

    def move(self, uids: Sequence[int], folder: str) -> None:
        """Move ``uids`` of the selected folder to ``folder`` (RFC 6851, with fallback)."""
        if not uids:
            return
        where = f"{self.label} move to {folder!r}"
        with _translated(where):
            if self._client.has_capability("MOVE"):
                self._client.move(list(uids), folder)
                return
            self._client.copy(list(uids), folder)
        self.delete(uids)

    def delete(self, uids: Sequence[int]) -> None:
        """Flag ``\\Deleted`` and expunge exactly those UIDs (RFC 4315 UID EXPUNGE)."""
        if not uids:
            return
        with _translated(f"{self.label} delete"):
            self._client.add_flags(list(uids), [DELETED], silent=True)
        self.expunge(uids)

    def expunge(self, uids: Sequence[int]) -> None:
        """Remove ``uids`` already flagged ``\\Deleted``."""
        if not uids:
            return
        with _translated(f"{self.label} expunge"):
            if self._client.has_capability("UIDPLUS"):
                self._client.uid_expunge(list(uids))
            else:
                log.warning(
                    "%s: server lacks UIDPLUS (RFC 4315); EXPUNGE removes every \\Deleted "
                    "message of the folder",
                    self.label,
                )
                self._client.expunge()

    # ------------------------------------------------------------------ waiting

    def wait_for_mail(
        self,
        seconds: float,
        *,
        stopping: Callable[[], bool] = lambda: False,
        tick: float = 1.0,
    ) -> bool:
        """IDLE (RFC 2177) up to ``seconds``; True as soon as the server reports new mail.

        Returns False on timeout or when ``stopping()`` turns true (checked every ``tick``).
        A server that hangs up (``* BYE``, EOF) raises ``ConnectionLost``.
        """
        deadline = time.monotonic() + min(seconds, IDLE_MAX_SECONDS)
        with _translated(f"{self.label} idle"):
            if not self._client.has_capability("IDLE"):
                time.sleep(max(0.0, min(seconds, tick)))
                return False
            self._client.idle()
            try:
                return self._idle_loop(deadline, stopping, tick)
            finally:
                self._client.idle_done()

    def _idle_loop(self, deadline: float, stopping: Callable[[], bool], tick: float) -> bool:
        while not stopping():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            wait = min(tick, remaining)
            started = time.monotonic()
            if self._buffered():
                # what the poll below cannot see: DONE reads it, then IDLE again
                _text, responses = self._client.idle_done()
                self._client.idle()
            else:
                responses = self._client.idle_check(timeout=wait)
            if any(_is_bye(r) for r in responses):
                raise ConnectionLost(f"{self.label}: server closed the connection during IDLE")
            if any(len(r) > 1 and r[1] == b"EXISTS" for r in responses):
                return True
            if not responses and time.monotonic() - started < wait * 0.5:
                # imapclient returns at once with nothing when the socket hit EOF.
                raise ConnectionLost(f"{self.label}: connection closed during IDLE")
        return False

    def _buffered(self) -> bool:
        """True when a server line already sits in imaplib's read buffer.

        imapclient's ``idle_check`` polls the socket, but a line that came in the same TLS
        record as one already read is in imaplib's buffer, not the socket: Dovecot announces
        mail delivered between SELECT and IDLE together with IDLE's "+ idling", so the poll
        would not see that mail until the server wrote again (its keep-alive, minutes
        later). imaplib keeps the buffer in ``IMAP4.file`` (a ``BufferedReader``) and
        imapclient offers no way to ask it, hence the private attribute; ``peek`` with the
        socket non-blocking reads nothing new that is not already there to read.
        """
        reader = getattr(getattr(self._client, "_imap", None), "file", None)
        peek = getattr(reader, "peek", None)
        if peek is None:
            return False
        sock = self._client.socket()
        timeout = sock.gettimeout()
        sock.settimeout(0)
        try:
            return bool(peek(1))
        except (OSError, ValueError):  # nothing there without waiting (SSLWantReadError...)
            return False
        finally:
            sock.settimeout(timeout)


def _is_bye(response: tuple[object, ...]) -> bool:
    return bool(response) and response[0] == b"BYE"


def _utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
