"""What one delivery attempt learnt about one recipient: a remote reply or a local verdict.

Every path through delivery (DNS, connection, each SMTP command, the engine's own refusals)
ends in a :class:`Reply` per recipient; the writer turns it into the queue's ``Outcome`` and
the events core's ``Observation`` (``monitor.relay.delivery.record``). Text produced here
follows Postfix's wording, so an operator reading the queue or the report sees familiar
sentences, and starts with an RFC 3463 enhanced status code where no server gave one, so
``parsers.reply.classify_reply`` reads local verdicts exactly like remote replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Reply", "Verdict"]


class Verdict(StrEnum):
    """What a reply means for the recipient."""

    DELIVERED = "delivered"
    DEFERRED = "deferred"  # try again later (4xx, timeouts, connections, DNS trouble)
    BOUNCED = "bounced"  # final (5xx, null MX, NXDOMAIN, our own refusals)
    HELD = "held"  # the engine could not handle the message: kept for the operator
    #: Not attempted: traffic shaping sends it back to the queue for a while (a cap, a
    #: back-off); no attempt is counted and no event is recorded.
    WAITING = "waiting"


@dataclass(frozen=True, slots=True)
class Reply:
    """An SMTP reply (``code`` set) or a local verdict (``code`` None, ``verdict`` set).

    ``command`` names the stage it answered (``CONNECT``, ``MAIL``, ``RCPT``, ``DATA``,
    ``END-OF-DATA``...; RFC 3464 2.3.6 wants it kept with the diagnostic) and ``mx`` the host
    that gave it (``Remote-MTA``).
    """

    code: int | None
    text: str
    command: str = ""
    mx: str | None = None
    local: Verdict | None = None  # a verdict that no SMTP code carries
    after: float = 0.0  # WAITING: seconds until the recipient is due again

    @property
    def verdict(self) -> Verdict:
        if self.local is not None:
            return self.local
        if self.code is not None and 200 <= self.code < 300:
            return Verdict.DELIVERED
        if self.code is not None and 500 <= self.code < 600:
            return Verdict.BOUNCED
        return Verdict.DEFERRED  # 4xx, and anything odd a server says (RFC 5321 4.2.1)

    def __str__(self) -> str:
        return f"{self.code} {self.text}" if self.code is not None else self.text

    @classmethod
    def deferred(cls, text: str, *, command: str = "", mx: str | None = None) -> Reply:
        return cls(None, text, command, mx, Verdict.DEFERRED)

    @classmethod
    def bounced(cls, text: str, *, command: str = "", mx: str | None = None) -> Reply:
        return cls(None, text, command, mx, Verdict.BOUNCED)

    @classmethod
    def waiting(cls, text: str, *, after: float) -> Reply:
        return cls(None, text, "", None, Verdict.WAITING, max(after, 0.0))
