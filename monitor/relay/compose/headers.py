"""Header fields of a stored message, edited as bytes (the relay never re-serialises what it
does not change: a submitter's folding, encoded words and 8-bit text travel untouched).

``missing_fields`` is the submission side (RFC 6409 8.2/8.3: the MSA adds Message-ID and
Date when the client left them out); the rest is used by ``composer`` at delivery.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable, Mapping
from datetime import datetime

__all__ = [
    "CONTROL",
    "add_fields",
    "feedback_id",
    "field_value",
    "missing_fields",
    "remove_fields",
    "split_message",
]

#: Fields that tell the relay what to do and never leave it.
CONTROL = frozenset({"x-campaign", "x-campaign-id", "x-deliverwatch-type",
                     "x-deliverwatch-unsubscribe"})  # fmt: skip
_NAME = re.compile(rb"([!-9;-~]+)[ \t]*:")
_FIELD_ID = re.compile(r"[^A-Za-z0-9._-]+")


def split_message(message: bytes) -> tuple[bytes, bytes]:
    """(header section without its blank line, body); CRLF line ends expected."""
    end = message.find(b"\r\n\r\n")
    if end < 0:
        return (message if message.endswith(b"\r\n") else message + b"\r\n"), b""
    return message[: end + 2], message[end + 4 :]


def _fields(head: bytes) -> list[bytes]:
    """The header section as whole fields, continuation lines included."""
    out: list[bytes] = []
    for line in head.split(b"\r\n")[:-1]:
        if line[:1] in (b" ", b"\t") and out:
            out[-1] += b"\r\n" + line
        else:
            out.append(line)
    return out


def _name(field: bytes) -> str:
    match = _NAME.match(field)
    return match.group(1).decode("ascii").lower() if match else ""


def field_value(head: bytes, name: str) -> str | None:
    """The unfolded value of the first ``name`` field, or None."""
    name = name.lower()
    for field in _fields(head):
        if _name(field) == name:
            value = field.split(b":", 1)[1]
            return re.sub(r"\r\n[ \t]", " ", value.decode("utf-8", "replace")).strip()
    return None


def remove_fields(head: bytes, names: Iterable[str]) -> bytes:
    drop = frozenset(n.lower() for n in names)
    kept = [f for f in _fields(head) if _name(f) not in drop]
    return b"".join(f + b"\r\n" for f in kept)


def add_fields(head: bytes, fields: Mapping[str, str]) -> bytes:
    """``head`` with ``fields`` appended (values must be ASCII and need no folding)."""
    extra = b"".join(f"{k}: {v}\r\n".encode("ascii") for k, v in fields.items())
    return head + extra


def feedback_id(*parts: str) -> str:
    """Gmail's ``Feedback-ID: a:b:c:SenderId``: each part made of safe characters (a colon
    inside one would shift the others)."""
    return ":".join(_FIELD_ID.sub("-", p).strip("-")[:64] or "none" for p in parts)


def missing_fields(
    content: bytes, *, queue_id: str, domain: str, now: datetime
) -> tuple[bytes, str | None]:
    """``content`` with a Message-ID and a Date added where missing (RFC 6409 8.2, 8.3),
    and the Message-ID added (bare), if one was. The new Message-ID's right side is the
    From domain: a receiver sees the sender's own domain there."""
    end = content.find(b"\r\n\r\n")
    head = content if end < 0 else content[: end + 2]
    names = {_name(f) for f in _fields(head)}
    added: dict[str, str] = {}
    message_id = None
    if "message-id" not in names:
        message_id = f"{queue_id}.{int(now.timestamp())}@{domain}"
        added["Message-ID"] = f"<{message_id}>"
    if "date" not in names:
        added["Date"] = email.utils.format_datetime(now)
    if not added:
        return content, None
    extra = b"".join(f"{k}: {v}\r\n".encode("ascii", "replace") for k, v in added.items())
    return extra + content, message_id
