"""``detect_feedback`` gives the same answer with the lower-cased bytes (which let it skip
the ARF and JMRP readers) as without them."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from parsers.feedback import detect_feedback
from parsers.mime import message_from_bytes, read_message

REPO = Path(__file__).parents[2]
CORPUS = REPO / "../shared/corpus"
SAMPLES = sorted((REPO / "tests" / "data").rglob("*.eml"))
if CORPUS.is_dir():
    SAMPLES += sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix == ".eml")

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
