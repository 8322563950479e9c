"""``parsers.mimeparse`` builds the same compat32 tree as ``email.message_from_bytes``.

Checked on every message of the corpora and of our samples, and on generated MIME texts
full of the damage real bounces carry: unterminated and repeated boundaries, boundaries
reused by nested parts, missing separators, stray envelope lines, folded and nameless
header fields, digests, enclosed messages and missing final newlines.
"""

from __future__ import annotations

import email
import re
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.mime import message_from_bytes, normalize_newlines
from parsers.mimeparse import (
    MAX_NESTING,
    Unsupported,
    header_message,
    parse_headers,
    parse_text,
)
from tests.shared_paths import eml_samples

SAMPLES = eml_samples()


_STATUS = re.compile(rb"message/(?:global-)?delivery-status", re.IGNORECASE)


def _shape(msg: Message) -> tuple[Any, ...]:
    payload = getattr(msg, "_payload", None)  # the raw payload: what both parsers store
    inner = tuple(_shape(p) for p in payload) if isinstance(payload, list) else ("str", payload)
    return (
        tuple(getattr(msg, "_headers", ())),
        msg.get_unixfrom(),
        tuple(type(d).__name__ for d in msg.defects),
        msg.preamble,
        msg.epilogue,
        msg.get_content_type(),
        inner,
    )


def _same_as_stdlib(raw: bytes) -> None:
    raw = normalize_newlines(raw)
    expected = email.message_from_bytes(raw, policy=compat32)
    try:
        got = parse_text(raw.decode("ascii", "surrogateescape"))
    except Unsupported:
        return
    assert _shape(got) == _shape(expected)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_samples_parse_as_the_stdlib_does(path: Path) -> None:
    # the one documented difference: status parts stay text
    _same_as_stdlib(_STATUS.sub(b"text/plain", path.read_bytes()))


_NAMES = st.sampled_from(["Subject", "X-A", "From", "To", "Content-Type", ":", "Bad Name"])
_VALUES = st.sampled_from(["v", "", " folded", "a: b", "=?utf-8?q?x?="])
_BODY_LINES = st.sampled_from(
    ["text", "", "--", "-- sig", "From me", " indented", "--b", "--b--", "--c", "--c--  ", "\xe9"]
)


def _header_lines(draw: st.DrawFn) -> list[str]:
    lines = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.integers(0, 6))
        if kind == 0:
            lines.append("\tcontinued")
        elif kind == 1:
            lines.append("From someone Mon Jan  1 00:00:00 2024")
        else:
            lines.append(f"{draw(_NAMES)}: {draw(_VALUES)}")
    return lines


@st.composite
def _entity(draw: st.DrawFn, depth: int = 0) -> list[str]:
    """The lines of a MIME entity with some damage drawn into it."""
    kind = draw(
        st.sampled_from(["leaf", "multipart", "message", "digest"] if depth < 3 else ["leaf"])
    )
    lines = _header_lines(draw)
    boundary = draw(st.sampled_from(["b", "c", "b"]))
    if kind == "leaf":
        lines.append(draw(st.sampled_from(["Content-Type: text/plain", "X-Leaf: 1"])))
    elif kind == "message":
        lines.append("Content-Type: message/rfc822")
    else:
        sub = "digest" if kind == "digest" else draw(st.sampled_from(["mixed", "report"]))
        quote = draw(st.sampled_from(['"', ""]))
        lines.append(f"Content-Type: multipart/{sub}; boundary={quote}{boundary}{quote}")
    if draw(st.booleans()):
        lines.append("")  # the separator; sometimes missing
    if kind == "leaf":
        lines += draw(st.lists(_BODY_LINES, max_size=4))
    elif kind == "message":
        lines += draw(_entity(depth + 1))
    else:
        lines += draw(st.lists(_BODY_LINES, max_size=2))  # preamble
        for _ in range(draw(st.integers(0, 3))):
            lines.append(f"--{boundary}{draw(st.sampled_from(['', ' ', '--']))}")
            lines += draw(_entity(depth + 1))
        if draw(st.booleans()):
            lines.append(f"--{boundary}--")
            lines += draw(st.lists(_BODY_LINES, max_size=2))  # epilogue
    return lines


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_entity(), st.sampled_from(["\n", ""]))
def test_generated_trees_parse_as_the_stdlib_does(lines: list[str], last: str) -> None:
    _same_as_stdlib(("\n".join(lines) + last).encode("utf-8"))


@given(st.binary(max_size=2000))
def test_random_bytes_parse_as_the_stdlib_does(raw: bytes) -> None:
    _same_as_stdlib(raw)


def test_deep_nesting_is_cut_to_text_instead_of_recursing() -> None:
    head = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(500))
    msg = parse_text(head + "\nbottom\n")
    depth = 0
    payload: Any = msg.get_payload()
    while isinstance(payload, list):
        payload = payload[0].get_payload()
        depth += 1
    assert depth == MAX_NESTING
    assert "bottom" in payload


def test_delivery_status_stays_one_text_payload() -> None:
    raw = b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; a\n\nAction: failed\n"
    msg = parse_text(raw.decode())
    assert msg.get_payload() == "Reporting-MTA: dns; a\n\nAction: failed\n"


def test_envelope_line_closing_the_headers_falls_back_to_the_stdlib() -> None:
    raw = b"Subject: x\nFrom someone Mon Jan  1 00:00:00 2024\n\nbody\n"
    with pytest.raises(Unsupported):
        parse_text(raw.decode())
    assert message_from_bytes(raw).get_payload() == email.message_from_bytes(raw).get_payload()


@given(st.lists(_BODY_LINES | st.builds(lambda n, v: f"{n}: {v}", _NAMES, _VALUES), max_size=8))
def test_header_sections_parse_as_the_stdlib_header_parser_does(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    expected = HeaderParser(policy=compat32).parsestr(text)
    assert _shape(header_message(text)) == _shape(expected)
    crlf = text.replace("\n", "\r\n")  # not the fast reader's input: the stdlib reads it
    assert _shape(header_message(crlf)) == _shape(HeaderParser(policy=compat32).parsestr(crlf))
    try:
        got = parse_headers(text)
    except Unsupported:
        return
    assert _shape(got) == _shape(expected)
