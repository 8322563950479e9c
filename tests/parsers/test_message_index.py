"""``IndexedMessage`` answers as the stdlib ``Message`` does, before and after changes."""

from __future__ import annotations

import email
from collections.abc import Callable
from email.message import Message
from email.policy import compat32
from typing import Any

import pytest

from parsers import mime
from parsers.message import IndexedMessage
from parsers.mime import (
    decode_bytes,
    header,
    message_from_bytes,
    names_param,
    part_bytes,
    part_text,
)
from parsers.mimeparse import parse_text

RAW = (
    "From: a@example.org\n"
    "To: b@example.org\n"
    "to: c@example.org\n"
    "Subject: =?utf-8?q?caf=C3=A9?= \xe9t\xe9\n"
    'Content-Type: text/plain; charset="iso-8859-1"; name="r.txt"; CHARSET=utf-8\n'
    "Content-Disposition: attachment; filename*=utf-8''r%C3%A9.txt\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=E9\n"
)


def _answers(msg: Message) -> tuple[Any, ...]:
    return (
        str(msg.get("subject")),
        msg.get("TO"),
        msg.get_all("to"),
        msg.get("missing", "x"),
        msg.get("x-new"),
        msg.get_all("content-type"),
        msg.get_all("missing", []),
        "SUBJECT" in msg,
        "missing" in msg,
        len(msg),
        msg.keys(),
        [str(v) for v in msg.values()],
        list(msg.raw_items()),
        msg.get_content_type(),
        msg.get_content_maintype(),
        msg.get_params(),
        msg.get_param("charset"),
        msg.get_param("CharSet", unquote=False),
        msg.get_param("filename", "none", header="Content-Disposition"),
        msg.get_param("missing", "none"),
        msg.get_param("name", unquote=False),
        msg.get_filename(),
        msg.get_boundary(),
        msg.get_content_charset(),
        msg.get_payload(decode=True),
        header(msg, "Subject"),
        header(msg, "to"),
        header(msg, "X-New"),
    )


def _edit(name: str) -> Callable[[Message], None]:
    def replace(msg: Message) -> None:
        msg.replace_header("Content-Type", "text/html; charset=koi8-r")
        msg.replace_header("Subject", "=?utf-8?q?th=C3=A9?=")

    def delete(msg: Message) -> None:
        del msg["to"]

    def add(msg: Message) -> None:
        msg["X-New"] = "1"
        msg.add_header("Content-Type", "multipart/mixed", boundary="b1")

    def param(msg: Message) -> None:
        msg.set_param("charset", "koi8-r")
        msg.set_boundary("zz")

    def default(msg: Message) -> None:
        del msg["content-type"]
        msg.set_default_type("message/rfc822")

    def payload(msg: Message) -> None:
        msg.set_payload("other=20text")

    return {
        "replace": replace,
        "delete": delete,
        "add": add,
        "param": param,
        "default": default,
        "payload": payload,
    }[name]


@pytest.mark.parametrize("edit", ["replace", "delete", "add", "param", "default", "payload"])
def test_answers_match_the_stdlib_after_each_edit(edit: str) -> None:
    ours = parse_text(RAW)
    theirs = email.message_from_string(RAW, policy=compat32)
    assert isinstance(ours, IndexedMessage)
    assert _answers(ours) == _answers(theirs)
    before = part_text(ours)
    _edit(edit)(ours)
    _edit(edit)(theirs)
    assert _answers(ours) == _answers(theirs)
    if edit in ("replace", "param", "payload"):
        assert part_text(ours) == part_text(theirs) != before


def test_part_text_is_kept_until_the_payload_changes() -> None:
    msg = parse_text(RAW)
    assert part_text(msg) == "caf\xe9\n"
    assert part_text(msg) is part_text(msg)
    msg.set_payload("x=41\n")
    assert part_text(msg) == "xA\n"


@pytest.mark.parametrize(
    "raw",
    [
        b"Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n",  # 8-bit: surrogates
        b"Content-Type: text/plain\n\nplain\n",
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n\nx\n--b--\n',
    ],
)
def test_payloads_as_the_stdlib_gives_them(raw: bytes) -> None:
    ours = message_from_bytes(raw)
    theirs = email.message_from_bytes(raw, policy=compat32)
    assert isinstance(ours, IndexedMessage)
    mine, stdlib = ours.get_payload(), theirs.get_payload()
    if isinstance(stdlib, list):
        assert [p.get_payload() for p in mine] == [p.get_payload() for p in stdlib]
    else:
        assert mine == stdlib
    assert ours.get_payload(decode=True) == theirs.get_payload(decode=True)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Content-Type", "multipart/report; report-type=delivery-status; boundary=b"),
        ("Content-Type", 'multipart/report; REPORT-TYPE="Feedback-Report"'),
        ("Content-Type", "multipart/report; report-type*0=delivery; report-type*1=-status"),
        ("Content-Type", "text/plain; charset*=utf-8''%E2%82%AC"),
        ("Content-Type", "text/plain; CharSet=iso-8859-1; name=r.txt"),
        ("Content-Type", "text/plain"),
        ("Content-Type", "text/plain; format=flowed"),
        ("Content-Type", "text/plain; charset=\udce9"),  # an undecodable byte
        ("Content-Disposition", "attachment; FILENAME=r.xml.gz"),
        ("Content-Disposition", "inline"),
        ("X-Other", "charset=utf-8"),
    ],
)
@pytest.mark.parametrize("name", ["report-type", "charset", "filename", "name", "boundary"])
def test_names_param_is_false_only_where_get_param_finds_nothing(
    field: str, value: str, name: str
) -> None:
    msg = parse_text(f"{field}: {value}\n\nbody\n")
    for header_name in ("content-type", "content-disposition"):
        found = msg.get_param(name, header=header_name)
        if not names_param(msg, name, header_name):
            assert found is None
    assert names_param(msg, name, field.lower()) == (name in value.lower())


def test_names_param_spares_the_parameter_parsing_of_most_parts() -> None:
    msg = parse_text("Content-Type: text/plain; format=flowed\n\nbody\n")
    assert not names_param(msg, "charset")
    assert not names_param(msg, "report-type")
    assert not names_param(msg, "name", "content-disposition")  # no such header
    assert names_param(msg, "format")


@pytest.mark.parametrize(
    "ctype",
    [
        "text/plain",
        "text/plain; charset=us-ascii",
        'text/plain; charset="UTF-16LE"',
        "text/plain; charset*=utf-8''utf-16",  # RFC 2231 encoded
        "text/plain; charset*0=utf-; charset*1=16",  # RFC 2231 sections
        "text/plain; charset=cp500; format=flowed",
        "text/plain; format=flowed; charset=iso-8859-1",
    ],
)
@pytest.mark.parametrize(
    "body", [b"plain ascii text\n", b"a\x00b\x00", b"caf\xc3\xa9\n", b"\x1b$B$3\x1b(B\n"]
)
def test_part_text_reads_the_charset_wherever_it_changes_the_text(ctype: str, body: bytes) -> None:
    part = message_from_bytes(f"Content-Type: {ctype}\n\n".encode() + body)
    assert part_text(part) == decode_bytes(part_bytes(part), mime._charset(part))


def test_an_ascii_body_in_a_wide_charset_is_not_read_as_ascii() -> None:
    part = message_from_bytes(b"Content-Type: text/plain; charset*0=utf-; charset*1=16le\n\nab")
    assert part_text(part) == "\u6261"
