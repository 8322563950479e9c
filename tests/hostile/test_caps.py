"""Each bound of issue 11 at its edge, in process: what is just inside passes, what is just
outside is refused with a reason, and a real report is not mistaken for a bomb.

The full-size inputs run in memory-limited children in ``test_documents.py``.
"""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from parsers import parse_message
from parsers.dmarc import MAX_DEPTH, MAX_REPAIRS, MAX_TEXT, parse_dmarc_aggregate
from parsers.errors import LimitExceeded, ParseError
from parsers.feedback import parse_report_document
from parsers.mime import read_message
from parsers.mimeparse import (
    MAX_HEADER_BYTES,
    MAX_HEADER_FIELDS,
    check_header_section,
    header_message,
    parse_text,
)
from parsers.records import Kind
from parsers.tlsrpt import MAX_CONTAINERS, parse_tls_report
from parsers.unpack import MAX_LAYERS, MAX_RATIO, RATIO_FREE, read_all, unpack
from tests.builders.hostile import (
    MIB,
    deep_xml,
    gzip_bomb,
    gzip_of,
    json_bomb,
    many_fields,
    zip_bomb,
)
from tests.builders.reports import aggregate_head, aggregate_xml, record_xml, tls_json

# --------------------------------------------------------------------------- XML depth


def _report_nesting(levels: int) -> bytes:
    """A report whose <feedback> (level 1) holds ``levels`` nested unknown elements."""
    return (aggregate_head() + "<x>" * levels + "</x>" * levels + "</feedback>").encode()


def test_depth_up_to_the_cap_is_read_and_one_more_is_refused() -> None:
    agg = parse_dmarc_aggregate(_report_nesting(MAX_DEPTH - 1))  # the cap exactly
    assert agg.report_id == "r-42" and agg.well_formed
    with pytest.raises(LimitExceeded, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse_dmarc_aggregate(_report_nesting(MAX_DEPTH))


def test_depth_is_refused_in_the_lenient_pass_too() -> None:
    # a stray "&" sends the report to the repairing re-read, which has the same handlers
    raw = deep_xml(MAX_DEPTH + 5).replace(b"<feedback>", b"<feedback>&")
    with pytest.raises(LimitExceeded, match="nested deeper"):
        parse_dmarc_aggregate(raw)


def test_the_schema_depth_and_a_wrapper_are_well_inside_the_cap() -> None:
    wrapped = aggregate_xml(3).replace(b"<feedback>", b"<xs:schema xmlns:xs='x'><feedback>")
    wrapped = wrapped.replace(b"</feedback>", b"</feedback></xs:schema>")
    agg = parse_dmarc_aggregate(wrapped, with_records=True)
    assert agg.n_records == 3 and agg.records is not None
    assert agg.records[0].dkim_results == (("sender.example", "s1", "pass"),)


def test_text_kept_per_element_is_capped() -> None:
    xml = aggregate_head(org="O" * (4 * MAX_TEXT)) + "</feedback>"
    agg = parse_dmarc_aggregate(xml.encode())
    assert agg.org_name is not None and MAX_TEXT <= len(agg.org_name) < 2 * MAX_TEXT


# --------------------------------------------------------------------------- junk


def test_a_few_bad_characters_are_repaired_but_junk_is_refused() -> None:
    # one Latin-1 byte per record is a damaged report: every record is kept
    body = "".join(
        record_xml(i).replace("sender.example<", "s\xe9nder.example<", 1) for i in range(3000)
    )
    raw = (aggregate_head() + body + "</feedback>").encode("latin-1")
    agg = parse_dmarc_aggregate(raw)
    assert agg.n_records == 3000 and not agg.well_formed
    # the same number of NUL bytes with nothing else around them is junk
    junk = aggregate_head().encode() + b"\0" * (MAX_REPAIRS + 100)
    with pytest.raises(ParseError, match="too many characters that are not XML"):
        parse_dmarc_aggregate(junk)


# --------------------------------------------------------------------------- compression


def test_sizes_known_before_inflating_are_checked_first() -> None:
    limit = 1 * MIB
    honest = gzip_bomb(b" ", 8 * MIB, lie=False)
    with pytest.raises(LimitExceeded, match="its trailer says"):
        read_all(honest, limit=limit)
    with pytest.raises(LimitExceeded, match="the archive says"):
        read_all(zip_bomb(b" ", 8 * MIB), limit=limit)
    bare = b"<feedback>" + b" " * limit
    with pytest.raises(LimitExceeded, match="report exceeds the 1,048,576-byte limit"):
        read_all(bare, limit=limit)


def test_a_trailer_that_is_not_credible_is_not_trusted() -> None:
    # bytes after the member (mimecast-weird-gzip.eml: "\r\n") make the last four bytes junk
    doc = gzip.compress(aggregate_xml(2), mtime=0) + b"\r\n"
    report = parse_report_document(doc)
    assert report is not None and report.kind is Kind.DMARC_AGGREGATE
    assert "ignored trailing bytes after the gzip data" in report.warnings


@pytest.mark.parametrize(
    "bomb",
    [
        lambda: gzip_bomb(b"<a/>", 512 * MIB),  # its trailer claims 52 bytes
        lambda: zip_bomb(b"<a/>", 190 * MIB),  # honest, under the limit
        lambda: gzip_of(gzip_bomb(b"\0", 512 * MIB)),  # the inner layer expands
    ],
    ids=["gzip", "zip", "gzip-in-gzip"],
)
def test_a_bomb_is_stopped_by_its_ratio_soon_after_the_allowance(bomb) -> None:
    out = 0
    with pytest.raises(LimitExceeded, match=f"expands more than {MAX_RATIO}-fold"):
        for chunk in unpack(bomb()):
            out += len(chunk)
    assert out < 2 * RATIO_FREE


@pytest.mark.parametrize("identical", [False, True], ids=["sequential", "identical"])
def test_the_most_compressible_reports_pass_the_ratio(identical: bool) -> None:
    # 20,000 generated records, gzip -9: sequential addresses expand 135-fold, one record
    # repeated (no real report repeats a row) 226-fold; both are read whole
    body = "".join(record_xml(0 if identical else i) for i in range(20_000))
    raw = gzip.compress((aggregate_head() + body + "</feedback>").encode(), 9, mtime=0)
    size = len(gzip.decompress(raw))
    assert size > RATIO_FREE and size / len(raw) > (200 if identical else 100)
    assert parse_dmarc_aggregate(raw).n_records == 20_000


def test_whitespace_padding_under_the_allowance_is_still_a_report() -> None:
    padded = aggregate_head().encode() + b" " * (RATIO_FREE // 2) + b"</feedback>"
    report = parse_report_document(gzip_of(gzip_of(padded)))
    assert report is not None and report.kind is Kind.DMARC_AGGREGATE


def test_nested_layers_are_capped() -> None:
    doc = aggregate_xml(1)
    for _ in range(MAX_LAYERS - 1):
        doc = gzip_of(doc)
    assert parse_dmarc_aggregate(doc).n_records == 1
    with pytest.raises(LimitExceeded, match="nested compression layers"):
        parse_dmarc_aggregate(gzip_of(doc))


def test_a_zip_member_longer_than_the_archive_says_is_damaged() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("r.xml", aggregate_xml(2))
    data = bytearray(buf.getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (info.file_size - 10).to_bytes(4, "little")
    with pytest.raises(ParseError, match="damaged zip member"):
        read_all(bytes(data))


# --------------------------------------------------------------------------- TLS-RPT


def test_tls_report_objects_are_counted_before_loading() -> None:
    assert parse_tls_report(tls_json()).organization_name
    with pytest.raises(LimitExceeded, match=f"over {MAX_CONTAINERS:,}"):
        parse_tls_report(json_bomb(3 * (MAX_CONTAINERS + 10)))


# --------------------------------------------------------------------------- headers


def _section(size: int) -> str:
    head = "Subject: x\nX-Fold: y\n"
    return head + "\tz\n" * ((size - len(head)) // 3)


def test_header_section_size_cap() -> None:
    inside = _section(MAX_HEADER_BYTES - 10)
    assert parse_text(inside + "\nbody\n")["Subject"] == "x"
    with pytest.raises(LimitExceeded, match="header section of"):
        parse_text(_section(MAX_HEADER_BYTES + 10) + "\nbody\n")


def test_header_field_count_cap() -> None:
    fields = "".join(f"X-{i}: v\n" for i in range(MAX_HEADER_FIELDS))
    assert len(parse_text(fields + "\nbody\n")) == MAX_HEADER_FIELDS
    with pytest.raises(LimitExceeded, match=f"over {MAX_HEADER_FIELDS:,}"):
        read_message(many_fields(MAX_HEADER_FIELDS + 1, field=b"a:\n"))


def test_caps_hold_on_the_stdlib_paths_too() -> None:
    # CR line endings go to the stdlib header parser; a closing envelope line, to the stdlib
    # message parser: both only after the caps were checked
    with pytest.raises(LimitExceeded):
        header_message(_section(MAX_HEADER_BYTES + 10).replace("\n", "\r\n"))
    with pytest.raises(LimitExceeded):
        check_header_section("a: b\r" * (MAX_HEADER_FIELDS + 1))
    odd = (
        "Content-Type: multipart/mixed; boundary=b\nFrom x Mon Jan  1 00:00:00 2024\n\n"
        "--b\nContent-Type: message/rfc822\n\n" + _section(MAX_HEADER_BYTES + 10) + "\n--b--\n"
    )
    with pytest.raises(LimitExceeded):
        read_message(odd.encode())
    report = parse_message(odd.encode())
    assert report.kind is Kind.UNKNOWN and report.error and "header section" in report.error


# --------------------------------------------------------------------------- recipients


def test_the_oversized_dsn_warning_names_every_recipient() -> None:
    groups = "".join(
        f"\nFinal-Recipient: rfc822; u{i}@isp.example\nAction: failed\nStatus: 5.1.1\n"
        for i in range(20_000)  # more than the 512 KiB of status text the families read
    )
    raw = (
        "From: MAILER-DAEMON@mx.isp.example\nTo: b@sender.example\nSubject: failed\n"
        "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
        'boundary="b"\n\n--b\nContent-Type: text/plain\n\nfailed\n--b\n'
        "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.isp.example\n"
        + groups
        + "--b--\n"
    ).encode()
    report = parse_message(raw)
    assert len(report.recipients) == 1000
    assert report.warnings == ("20000 recipients; only the first 1000 kept",)
