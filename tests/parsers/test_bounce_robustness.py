"""parse_message never raises: random bytes, truncation, garbling, huge and hostile MIME.

Issue 3 requires that any input, however damaged, comes back as a ``Report`` (``unknown``
with an error when nothing can be read). These are behaviour tests only; speed is measured
by bench/bench_parse.py, not asserted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import parse_message
from parsers.records import Kind, Report
from tests.shared_paths import SHARED

DATA = Path(__file__).parents[1] / "data" / "bounces"
CORPUS = SHARED / "corpus" / "bounces"
SEEDS = [p.read_bytes() for p in sorted(DATA.glob("*.eml"))]
if CORPUS.is_dir():
    SEEDS += [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))[::7]]

FAST = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])


def _ok(report: Report) -> None:
    assert isinstance(report, Report)
    assert report.kind in Kind
    if report.kind is Kind.UNKNOWN and not report.recipients:
        assert report.error


@FAST
@given(st.binary(max_size=8192))
def test_random_bytes(raw: bytes) -> None:
    _ok(parse_message(raw))


@FAST
@given(st.sampled_from(SEEDS), st.floats(min_value=0.0, max_value=1.0))
def test_truncated_messages(seed: bytes, fraction: float) -> None:
    _ok(parse_message(seed[: int(len(seed) * fraction)]))


@FAST
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), min_size=1, max_size=40),
)
def test_garbled_messages(seed: bytes, edits: list[tuple[float, int]]) -> None:
    data = bytearray(seed)
    for where, value in edits:
        if data:
            data[min(int(where * len(data)), len(data) - 1)] = value
    _ok(parse_message(bytes(data)))


@FAST
@given(st.text(max_size=2000))
def test_arbitrary_text_as_a_message(text: str) -> None:
    _ok(parse_message(text.encode("utf-8", "surrogatepass")))


def test_empty_input_is_an_error() -> None:
    report = parse_message(b"")
    assert report.kind is Kind.UNKNOWN
    assert report.error == "empty input"


def test_twenty_megabyte_body() -> None:
    body = b"x" * 76 + b"\n"
    raw = (
        b"From: MAILER-DAEMON@example.net\nSubject: Undelivered Mail Returned to Sender\n"
        b"Content-Type: text/plain\n\n" + body * (20 * 1024 * 1024 // len(body))
    )
    _ok(parse_message(raw))


def test_twenty_megabyte_enclosure_keeps_the_recipient() -> None:
    seed = (DATA / "dsn-postfix-three-recipients.eml").read_bytes()
    filler = b"QUJD" * (5 * 1024 * 1024)  # 20 MiB of base64 in the enclosed message
    raw = seed.replace(b"Hello!\n", b"Hello!\n" + filler + b"\n")
    report = parse_message(raw)
    assert [r.address for r in report.recipients] == [
        "alice@example.org",
        "bob@example.net",
        "carol@example.info",
    ]


def test_ten_thousand_mime_parts() -> None:
    parts = b"".join(b"--B\nContent-Type: text/plain\n\npart %d\n" % i for i in range(10_000))
    raw = (
        b"From: MAILER-DAEMON@example.net\nSubject: failure notice\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n' + parts + b"--B--\n"
    )
    _ok(parse_message(raw))


@pytest.mark.parametrize("depth", [50, 2000])
def test_deeply_nested_multiparts(depth: int) -> None:
    head = b"".join(
        b'--b%d\nContent-Type: multipart/mixed; boundary="b%d"\n\n' % (i, i + 1)
        for i in range(depth)
    )
    raw = (
        b"From: MAILER-DAEMON@example.net\nMIME-Version: 1.0\nContent-Type: multipart/mixed; "
        b'boundary="b0"\n\n' + head + b"--b%d\nContent-Type: text/plain\n\nx\n" % depth
    )
    _ok(parse_message(raw))


def test_nested_multiparts_full_of_dash_lines() -> None:
    """Every part boundary is looked up, not scanned for: 64 levels over 20,000 "--" lines."""
    head = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(64)
    )
    raw = b"From: MAILER-DAEMON@example.net\nSubject: x\n" + head + b"\n" + b"--zz\n" * 20_000
    _ok(parse_message(raw))


def test_headers_of_two_hundred_thousand_encoded_words() -> None:
    raw = b"From: MAILER-DAEMON@example.net\nSubject: " + b"=?utf-8?q?a?= " * 200_000 + b"\n\nx\n"
    _ok(parse_message(raw))


def test_a_hundred_thousand_received_headers() -> None:
    received = b"".join(b"Received: from h%d.example by mx\n" % i for i in range(100_000))
    _ok(parse_message(received + b"From: MAILER-DAEMON@x\nSubject: failure notice\n\nx\n"))


def test_report_documents_that_are_not_reports() -> None:
    for raw in (b"<?xml version='1.0'?><nope/>", b"\x1f\x8b\x08garbage", b"PK\x03\x04zz", b"{}"):
        _ok(parse_message(raw))
