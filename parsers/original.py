"""Recover the headers of the message that bounced.

They come back as a ``message/rfc822`` or ``text/rfc822-headers`` part, or inline after a
line such as "--- Below this line is a copy of the message." (qmail) or "------ This is a
copy of the message, including all the headers. ------" (Exim). Family parsers hand us that
text; we read it as a header block, tolerating the leading blank lines and indentation some
MTAs add. The VERP token is looked for in the original's return path and in the envelope
recipient of the bounce itself (our return path, as the bounce was addressed to it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from typing import Any

from parsers.mime import HeaderIndex, decode_header_value
from parsers.mimeparse import Unsupported, parse_headers
from parsers.records import Original
from parsers.verp import find_verp_token

__all__ = ["CAMPAIGN_HEADER", "list_fields", "parse_date", "recover_original"]

#: Our own campaign header, set by the relay on every message it sends.
CAMPAIGN_HEADER = "X-Campaign-ID"
_HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:")
# the first line that is a header field once its indentation is removed
_FIRST_HEADER_LINE = re.compile(r"^[ \t]*[A-Za-z][A-Za-z0-9-]*:", re.MULTILINE)
# a line holding nothing but blanks: the end of a header section
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*(?:\n|$)")
_NON_BLANK = re.compile(r"\S")
# an indented line that is a header field once str.lstrip has removed its indentation
# (regex \s and str.lstrip agree on what white space is)
# (the first line is tested with match; a literal "\n" first lets the engine skip ahead)
_INDENTED_FIELD = re.compile(r"[^\S\n]+[A-Za-z][A-Za-z0-9-]*:")
_INDENTED_FIELD_LINE = re.compile(r"\n[^\S\n]+[A-Za-z][A-Za-z0-9-]*:")
_ENVELOPE_HEADERS = ("X-Original-To", "Delivered-To", "Envelope-To", "X-Envelope-To", "To")
_MAX_HEADER_TEXT = 64 * 1024


def parse_date(value: str | None) -> datetime | None:
    """An RFC 5322 date as aware UTC, or None when it cannot be read.

    The stdlib's reader alone: a regex fast path for the canonical form saved 0.2 % of
    bench_parse's CPU instructions (callgrind, ``bench/instructions.py``, measured
    2026-12-03), too little to keep a second date parser (issue 12: 10 % or none).
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _header_block(text: str) -> tuple[str, bool]:
    """The header section at the start of ``text``, skipping blank and indented noise.

    Also says whether a body follows it: without one the enclosure is headers only. Only
    the header lines are split and copied; the body can be long.
    """
    head = text[:_MAX_HEADER_TEXT]
    first = _FIRST_HEADER_LINE.search(head)
    if first is None or head.count("\n", 0, first.start()) > 20:
        return "", False
    end = _BLANK_LINE.search(head, first.start())
    stop = end.start() if end is not None else len(head)
    chunk = head[first.start() : stop]
    if _INDENTED_FIELD.match(chunk) or _INDENTED_FIELD_LINE.search(chunk):  # lines to change
        chunk = "\n".join(
            line.lstrip() if _HEADER_LINE.match(line.lstrip()) else line
            for line in chunk.split("\n")
        )
    has_body = len(text) > _MAX_HEADER_TEXT or (
        end is not None and _NON_BLANK.search(head, end.end()) is not None
    )
    return chunk + "\n\n", has_body


def _parse_headers(block: str) -> Message:
    try:
        return parse_headers(block)
    except Unsupported:  # the stdlib reader handles the odd layouts the fast one does not
        return HeaderParser(policy=compat32).parsestr(block)


_ANGLE = re.compile(r"<([^<>\s]+)>")


def _angle(value: str | None) -> str | None:
    if not value:
        return None
    match = _ANGLE.search(value)
    return match.group(1) if match else value.strip() or None


def _get(headers: HeaderIndex, name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    text = decode_header_value(value)
    return text or None


# the h= tag of a DKIM-Signature (RFC 6376 3.5): colon-separated names, folding allowed
_DKIM_H_TAG = re.compile(r"(?:^|;)\s*h\s*=([^;]*)", re.IGNORECASE)


def _dkim_signed(headers: HeaderIndex) -> tuple[str, ...]:
    """Each DKIM-Signature's signed header names, normalised to ``"from:to:subject"``."""
    signed = []
    for value in headers.get_all("DKIM-Signature"):
        match = _DKIM_H_TAG.search(str(value))
        if match:
            names = (n.strip().lower() for n in match.group(1).split(":"))
            signed.append(":".join(n for n in names if n))
    return tuple(signed)


def list_fields(headers: HeaderIndex) -> dict[str, Any]:
    """The ``Original`` fields that show how a list message offered unsubscription."""
    return {
        "list_unsubscribe": _get(headers, "List-Unsubscribe"),
        "list_unsubscribe_post": _get(headers, "List-Unsubscribe-Post"),
        "precedence": _get(headers, "Precedence"),
        "dkim_signed": _dkim_signed(headers),
    }


def _token(headers: HeaderIndex | None, bounce: Message | None) -> str | None:
    candidates: list[str] = []
    if headers is not None:
        candidates += [str(headers.get(n) or "") for n in ("Return-Path", "Sender", "Errors-To")]
    if bounce is not None:
        envelope = HeaderIndex(bounce)
        for name in _ENVELOPE_HEADERS:
            candidates += [str(v) for v in envelope.get_all(name)]
    # the first token of the first candidate that has one: a token cannot run across the
    # newlines between them, so one search of them all gives it
    return find_verp_token("\n".join(candidates))


def recover_original(text: str, bounce: Message | None = None) -> Original | None:
    """Headers of the returned message found at the start of ``text``; None if there are none."""
    block, has_body = _header_block(text) if text else ("", False)
    parsed = _parse_headers(block) if block.strip() else None
    headers = HeaderIndex(parsed) if parsed is not None and parsed.keys() else None
    token = _token(headers, bounce)
    if headers is None:
        return Original(verp_token=token, headers_only=True) if token else None
    return Original(
        message_id=_angle(_get(headers, "Message-ID")),
        from_=_get(headers, "From"),
        to=_get(headers, "To"),
        subject=_get(headers, "Subject"),
        date=parse_date(_get(headers, "Date")),
        list_id=_angle(_get(headers, "List-Id")),
        feedback_id=_get(headers, "Feedback-ID"),
        campaign=_get(headers, CAMPAIGN_HEADER),
        verp_token=token,
        return_path=_angle(_get(headers, "Return-Path")),
        headers_only=not has_body,
        **list_fields(headers),
    )
