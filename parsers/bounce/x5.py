"""A Japanese corporate gateway ("X5") that wraps the real DSN in a notification message.

The outer message goes to "NotificationRecipients" and encloses the MTA's original
multipart/report; the delivery status part is therefore one level down.
"""

from __future__ import annotations

from parsers.bounce.base import Context, Parsed
from parsers.dsn import parse_fields
from parsers.mime import delivery_status_texts

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:x5"


def parse(ctx: Context) -> Parsed | None:
    """Notifications addressed to NotificationRecipients from a Mail Delivery Subsystem."""
    votes = int("NotificationRecipients" in ctx.header("To"))
    votes += "Mail Delivery Subsystem" in ctx.from_
    votes += "mail delivery subsystem" in ctx.title
    if votes < 2:
        return None
    for text in delivery_status_texts(ctx.msg):
        _per_message, failures = parse_fields(text)
        if failures:
            return Parsed(FAMILY, failures, "")
    return None
