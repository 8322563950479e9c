"""``detect_feedback`` gives the same answer with the lower-cased bytes (which let it skip
the ARF and JMRP readers) as without them."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from parsers.feedback import detect_feedback
from parsers.mime import message_from_bytes, read_message
from parsers.mimeparse import MAX_NESTING
from tests.shared_paths import eml_samples

SAMPLES = eml_samples()

_ENCLOSURE = (
    b"From: staff@hotmail.example\r\n"
    b"X-HmXmrOriginalRecipient: <victim@hotmail.example>\r\n"
    b"Subject: buy now\r\n\r\n"
)


def _jmrp(part: bytes) -> bytes:
    return (
        b"From: staff@microsoft.example\r\nSubject: complaint\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nA junk report.\r\n"
        b"--b\r\n" + part + b"\r\n--b--\r\n"
    )


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_same_answer_with_and_without_the_bytes(path: Path) -> None:
    msg, lowered = read_message(path.read_bytes())
    assert detect_feedback(msg, lowered=lowered) == detect_feedback(msg)


@pytest.mark.parametrize(
    "part",
    [
        b"Content-Type: message/rfc822\r\n\r\n" + _ENCLOSURE,
        # the provider's header hidden by a transfer encoding of a text enclosure
        b"Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(_ENCLOSURE),
    ],
)
def test_jmrp_found_through_the_precheck(part: bytes) -> None:
    raw = _jmrp(part)
    msg, lowered = read_message(raw)
    report = detect_feedback(msg, lowered=lowered)
    assert report is not None and report.family == "jmrp"
    assert report == detect_feedback(message_from_bytes(raw))


def test_jmrp_enclosure_nested_too_deep_to_be_parsed() -> None:
    # below MAX_NESTING levels the MIME reader keeps a message/rfc822 part as text, which
    # is then transfer-decoded: the provider's header is not in the bytes
    depth = MAX_NESTING - 1  # multiparts b0..b63: the enclosure sits at MAX_NESTING
    head = b"".join(
        b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i, i + 1)
        for i in range(depth)
    )
    tail = b"".join(b"\r\n--b%d--" % i for i in reversed(range(depth + 1)))
    enclosure = (
        b"--b%d\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        % depth
        + base64.encodebytes(_ENCLOSURE)
    )
    raw = (
        b"From: staff@microsoft.example\r\nSubject: complaint\r\n"
        b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n' + head + enclosure + tail
    )
    msg, lowered = read_message(raw)
    assert b"x-hmxmroriginalrecipient" not in lowered
    report = detect_feedback(msg, lowered=lowered)
    assert report == detect_feedback(message_from_bytes(raw))
    assert report is not None and report.family == "jmrp"
