"""DMARC aggregate reports (RFC 7489 Appendix C, RFC 9990): containers, damage, scale, safety."""

from __future__ import annotations

import gzip
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from parsers.dmarc import iter_dmarc_records, parse_dmarc_aggregate
from parsers.errors import LimitExceeded, NotAReport, ParseError
from parsers.feedback import detect_feedback, parse_report_document
from parsers.mime import message_from_bytes
from parsers.records import Kind
from parsers.unpack import DEFAULT_LIMIT, RATIO_FREE
from tests.builders.reports import (
    NS_2,
    aggregate_head,
    aggregate_xml,
    attachment_mail,
    big_aggregate_total,
    bomb_gzip,
    gz,
    record_xml,
    write_big_aggregate,
    zipped,
)


def test_metadata_policy_and_results_lower_cased() -> None:
    agg = parse_dmarc_aggregate(aggregate_xml(3), with_records=True)
    assert (agg.org_name, agg.report_id, agg.date_begin, agg.date_end) == (
        "ISP Example",
        "r-42",
        1704067200,
        1704153599,
    )
    assert (agg.policy_domain, agg.policy_p, agg.policy_sp, agg.policy_pct) == (
        "sender.example",
        "quarantine",
        "none",
        100,
    )
    assert (agg.n_records, agg.total_messages, agg.well_formed) == (3, 6, True)
    assert agg.records is not None
    rec = agg.records[0]
    assert (rec.source_ip, rec.count, rec.disposition, rec.dkim_evaluated) == (
        "198.51.0.0",
        1,
        "none",
        "pass",
    )
    assert rec.dkim_results == (("sender.example", "s1", "pass"),)
    assert rec.spf_results == (("mail.sender.example", "mfrom", "softfail"),)
    assert rec.envelope_from == "mail.sender.example"


def test_records_only_on_request() -> None:
    assert parse_dmarc_aggregate(aggregate_xml(2)).records is None


def test_rfc9990_namespace_and_fields() -> None:
    agg = parse_dmarc_aggregate(aggregate_xml(1, namespace=NS_2, rfc9990=True))
    assert (agg.version, agg.generator, agg.policy_np, agg.policy_psd, agg.policy_testing) == (
        "1.0",
        "isp-dmarc 2.1",
        "reject",
        "n",
        "n",
    )
    assert agg.n_records == 1


@pytest.mark.parametrize(
    "wrap",
    [
        lambda x: x,
        gz,
        lambda x: gz(gz(x)),
        zipped,
        lambda x: zipped(gz(x), "r.xml.gz"),
        lambda x: gz(x) + b"\r\n-- trailing mailer junk --\r\n",
        lambda x: gz(x) + gz(b""),
    ],
    ids=["bare", "gzip", "gzip-gzip", "zip", "zip-gzip", "gzip-trailing", "gzip-2-members"],
)
def test_containers(wrap) -> None:  # type: ignore[no-untyped-def]
    report = parse_report_document(wrap(aggregate_xml(4)))
    assert report is not None and report.kind is Kind.DMARC_AGGREGATE
    assert report.dmarc is not None and report.dmarc.n_records == 4


def test_trailing_gzip_bytes_are_a_warning() -> None:
    agg = parse_dmarc_aggregate(gz(aggregate_xml(1)) + b"garbage")
    assert agg.well_formed and any("trailing" in w for w in agg.warnings)


@pytest.mark.parametrize(
    ("ctype", "wrap", "name"),
    [
        ("application/zip", zipped, "r.zip"),
        ("application/gzip", gz, "r.xml.gz"),
        ("application/octet-stream", gz, "r.xml.gz"),
        ("text/xml", lambda x: x, "r.xml"),
    ],
)
def test_attached_to_an_email(ctype: str, wrap, name: str) -> None:  # type: ignore[no-untyped-def]
    report = detect_feedback(
        message_from_bytes(attachment_mail(ctype, wrap(aggregate_xml(2)), name))
    )
    assert report is not None and report.kind is Kind.DMARC_AGGREGATE
    assert report.dmarc is not None and report.dmarc.total_messages == 3
    assert report.message_id == "<report-1@isp.example>"


def test_empty_org_name_and_empty_source_ip_flagged() -> None:
    xml = (
        aggregate_head(org="") + record_xml(0) + record_xml(1, source_ip="") + "</feedback>"
    ).encode()
    agg = parse_dmarc_aggregate(xml, with_records=True)
    assert agg.org_name is None
    assert agg.n_records == 2 and agg.records is not None
    assert agg.records[1].source_ip is None and agg.records[1].warnings == ("empty source_ip",)
    assert any("record 2" in w for w in agg.warnings)


def test_invalid_utf8_and_stray_markup_repaired() -> None:
    bad = record_xml(1).replace("sender.example</header_from>", "bad\xff<x.example</header_from>")
    xml = (
        aggregate_head().encode() + record_xml(0).encode() + bad.encode("latin-1") + b"</feedback>"
    )
    agg = parse_dmarc_aggregate(xml, with_records=True)
    assert not agg.well_formed and agg.n_records == 2
    assert agg.records is not None and agg.records[1].header_from == "bad\ufffd<x.example"
    assert any("not well-formed" in w for w in agg.warnings)
    assert [r.source_ip for r in iter_dmarc_records(xml)] == ["198.51.0.0", "198.51.0.1"]


def test_truncated_xml_keeps_whole_records() -> None:
    xml = aggregate_xml(3)
    cut = xml[: xml.rindex(b"<record>") + 40]
    agg = parse_dmarc_aggregate(cut)
    assert (agg.n_records, agg.total_messages, agg.well_formed) == (2, 3, False)
    assert any("truncated" in w for w in agg.warnings)


def test_not_a_dmarc_report() -> None:
    with pytest.raises(NotAReport):
        parse_dmarc_aggregate(b"<?xml version='1.0'?><rss><channel/></rss>")
    assert parse_report_document(b"<html><body>hi</body></html>") is None


def test_empty_and_garbage_documents_are_unknown_with_error() -> None:
    for raw in (b"", b"   \n", b"\x1f\x8b\x08\x00garbage"):
        report = parse_report_document(raw)
        assert report is not None and report.kind is Kind.UNKNOWN and report.error


def _audit(events: list[tuple[str, str]]) -> None:
    def hook(event: str, args: tuple[object, ...]) -> None:
        if event in ("open", "socket.connect", "socket.getaddrinfo", "urllib.Request"):
            events.append((event, repr(args[:1])))

    sys.addaudithook(hook)


def test_xxe_refused_without_touching_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<feedback><report_metadata><org_name>&x;</org_name></report_metadata></feedback>"
    )
    events: list[tuple[str, str]] = []
    _audit(events)
    start = len(events)
    report = parse_report_document(xml.encode())
    touched = [e for e in events[start:] if str(secret) in e[1] or e[0] != "open"]
    assert report is not None and report.kind is Kind.UNKNOWN
    assert report.error is not None and "refused unsafe XML" in report.error
    assert touched == []


def test_external_dtd_and_parameter_entities_refused() -> None:
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY % p SYSTEM '
        b'"http://192.0.2.1/evil.dtd"> %p;]><feedback/>'
    )
    with pytest.raises(ParseError, match="refused unsafe XML"):
        parse_dmarc_aggregate(xml)


def test_billion_laughs_refused() -> None:
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY l0 "lol">{lol}]>'
        "<feedback><report_metadata><org_name>&l9;</org_name></report_metadata></feedback>"
    )
    with pytest.raises(ParseError, match="EntitiesForbidden"):
        parse_dmarc_aggregate(xml.encode())


def test_gzip_bomb_refused_at_the_limit() -> None:
    bomb = gz(aggregate_head().encode() + b" " * (3 << 20))
    with pytest.raises(LimitExceeded, match="exceeds the 1,048,576-byte limit"):
        parse_dmarc_aggregate(bomb, limit=1 << 20)
    # under the default limit, 3 MB of padding still expands 1000-fold: a bomb, not a report
    report = parse_report_document(zipped(gz(aggregate_head().encode() + b" " * (3 << 20))))
    assert report is not None and report.kind is Kind.UNKNOWN
    assert report.error is not None and "expands more than 300-fold" in report.error
    padded = aggregate_head().encode() + b" " * (RATIO_FREE // 2) + b"</feedback>"
    report = parse_report_document(zipped(gz(padded)))
    assert report is not None and report.kind is Kind.DMARC_AGGREGATE  # small: not judged


def test_default_limit_refuses_a_201_mb_zip_bomb() -> None:
    bomb = bomb_gzip(DEFAULT_LIMIT + (1 << 20))
    assert len(bomb) < 1 << 20
    report = parse_report_document(zipped(bomb, "report.xml.gz"))
    assert report is not None and report.kind is Kind.UNKNOWN
    assert report.error is not None and "limit" in report.error


@pytest.fixture(scope="module")
def million() -> Iterator[bytes]:
    with tempfile.TemporaryFile() as fh:
        write_big_aggregate(fh, 1_000_000, small=True)
        fh.seek(0)
        yield fh.read()


@pytest.mark.slow
def test_one_million_records_stream(million: bytes) -> None:
    agg = parse_dmarc_aggregate(million, limit=2 << 30)
    assert agg.n_records == 1_000_000
    assert agg.total_messages == big_aggregate_total(1_000_000)
    assert agg.records is None and agg.well_formed


def test_iter_records_is_lazy() -> None:
    raw = gzip.compress(aggregate_xml(5000), mtime=0)
    stream = iter_dmarc_records(raw)
    first = next(stream)
    assert first.source_ip == "198.51.0.0"
    assert sum(1 for _ in stream) == 4999
