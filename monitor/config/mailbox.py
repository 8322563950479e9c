"""``[mailboxes.<name>]``: IMAP mailboxes to poll."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from monitor.config.secret import Secret
from monitor.config.values import HostOrUnset, ReadableFile

__all__ = ["MAILBOX_NAME", "MailboxConfig", "is_loopback_host"]

MAILBOX_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and 127.0.0.0/8 / ::1 literals (where plain IMAP is acceptable)."""
    import ipaddress

    name = host.strip().strip("[]").lower().rstrip(".")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxConfig:
    """One IMAP mailbox to poll (``[mailboxes.<name>]``)."""

    host: HostOrUnset = ""
    #: 0 picks the standard port: 993 for ``implicit`` TLS (RFC 8314), 143 otherwise.
    port: int = 0
    #: ``implicit`` (TLS from the first byte), ``starttls`` (RFC 3501 6.2.1) or ``none``
    #: (plain text; loopback hosts only, so a password never crosses a network in clear).
    tls: Literal["implicit", "starttls", "none"] = "implicit"
    verify_tls: bool = True
    #: PEM file of the CA (or self-signed certificate) to trust instead of the system store.
    ca_file: ReadableFile | None = None
    username: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))
    folder: str = "INBOX"
    #: Where handled mail is moved (created when missing).
    processed_folder: str = "deliverwatch-processed"
    #: Where mail that could not be handled is moved, its reason stored (created when missing).
    failed_folder: str = "deliverwatch-failed"
    #: What the mailbox is expected to hold; everything is parsed whatever the role.
    role: Literal["bounces", "fbl", "dmarc", "any"] = "any"
    #: Messages per fetch-store-move cycle: one database transaction, one MOVE per folder.
    batch_size: int = 200
    #: Bigger messages are not downloaded; they go to the failed folder.
    max_message_bytes: int = 16 * 1024 * 1024
    #: After the result is committed: ``move`` to processed_folder, or ``delete``.
    action_after: Literal["move", "delete"] = "move"
    #: Wait with IMAP IDLE (RFC 2177) between polls instead of sleeping.
    idle: bool = False
    #: Seconds between polls (without IDLE), and the longest IDLE before reconnecting.
    poll_every_seconds: int = 300
    #: Socket timeout for every IMAP command.
    timeout_seconds: int = 60
    #: Worker processes that parse big backlogs while the poller stores (-1: CPUs - 1).
    parse_workers: int = -1
    #: First pause after a failure; it doubles after each further failure...
    retry_initial_seconds: int = 5
    #: ...up to this.
    retry_max_seconds: int = 3600

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("host is required")
        if not self.username:
            raise ValueError("username is required")
        if self.tls == "none" and not is_loopback_host(self.host):
            raise ValueError(
                f'tls = "none" is only allowed for loopback hosts, not {self.host!r} '
                '(use "implicit" or "starttls")'
            )
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        for key in ("batch_size", "max_message_bytes", "poll_every_seconds", "timeout_seconds"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1")
        if self.retry_initial_seconds < 1 or self.retry_max_seconds < self.retry_initial_seconds:
            raise ValueError("need 1 <= retry_initial_seconds <= retry_max_seconds")
        folders = {self.folder, self.processed_folder, self.failed_folder}
        if len(folders) != 3 or "" in folders:
            raise ValueError("folder, processed_folder and failed_folder must be distinct names")

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        return 993 if self.tls == "implicit" else 143
