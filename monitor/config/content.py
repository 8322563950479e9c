"""``[relay.content]``: the content check before sending (SpamAssassin ``spamd``, ``clamd``).

Off unless a scanner is named. The semantics follow Postfix with Amavis as a content filter:
a message is not delivered before the scanners have seen it, a verdict that is not clean
keeps it (and here the rest of its campaign) in the queue for the operator, and a scanner
that cannot be reached either lets the mail pass with a note (``on_scanner_error = "open"``,
Amavis' ``$always_bcc``-less "pass through" setups) or keeps it (``"closed"``, Postfix
deferring when the filter is down). Scanning costs seconds per message, so only a sample
is scanned: the first message of each campaign and one in ``sample_every`` after it (a
campaign's messages are all alike; a bulk sender's risk is a campaign, not one message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ContentConfig", "scanner_address"]


def scanner_address(text: str) -> tuple[str, int] | str:
    """``HOST:PORT``, ``[V6]:PORT`` -> (host, port); an absolute path -> a UNIX socket path.
    ValueError otherwise."""
    text = text.strip()
    if text.startswith("/"):
        return text
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: expected HOST:PORT or the absolute path of a UNIX socket")
    return host, int(port)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentConfig:
    """Which scanners judge outgoing mail, and what their verdicts do."""

    #: SpamAssassin's ``spamd`` (SPAMC protocol): ``HOST:PORT`` (it listens on 783) or the
    #: path of its UNIX socket; "": no spam scoring.
    spamd: str = ""
    #: The ``User:`` spamd scores for (its per-user preferences); "": spamd's default.
    spamd_user: str = ""
    #: ClamAV's ``clamd`` (INSTREAM): ``HOST:PORT`` or its UNIX socket (Debian:
    #: ``/run/clamav/clamd.ctl``); "": no virus scanning.
    clamd: str = ""
    #: A SpamAssassin score above this holds the campaign (spamd's own default is 5.0).
    score_limit: float = 5.0
    #: After the first message of a campaign, one in this many is scanned; 1: every message.
    sample_every: int = 100
    #: What a scanner that cannot be reached (or answers nonsense) does: ``open`` lets the
    #: message go with a note, ``closed`` holds its campaign until an operator releases it.
    on_scanner_error: Literal["open", "closed"] = "open"
    #: Seconds one scan may take (connect, send, verdict), per scanner.
    timeout_seconds: float = 30.0
    #: clamd gets at most this much of a message (its ``StreamMaxLength`` defaults to
    #: 25 MB); spamd gets the first 500 KB, as spamc sends.
    max_scan_bytes: int = 10 * 1024 * 1024

    def __post_init__(self) -> None:
        for key, value in (("spamd", self.spamd), ("clamd", self.clamd)):
            if value:
                try:
                    scanner_address(value)
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        if self.sample_every < 1:
            raise ValueError("sample_every must be at least 1 (1: scan every message)")
        if self.timeout_seconds <= 0 or self.max_scan_bytes < 1024:
            raise ValueError("timeout_seconds must be > 0 and max_scan_bytes at least 1024")

    @property
    def enabled(self) -> bool:
        return bool(self.spamd or self.clamd)
