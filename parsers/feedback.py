"""Dispatch for everything providers send back besides bounces (ARF, JMRP, DMARC, TLS-RPT).

``parsers.parse_message`` asks ``detect_feedback`` first and runs the bounce pipeline only
when it answers None; bare files (XML, JSON, gzip, zip) go to ``parse_report_document``.
Detectors run from the most specific format to the loosest, as flufl.bounce's detectors do,
so a loose rule (a subject saying "unsubscribe") never shadows a structured report:

1. ARF / RFC 6591: a ``message/feedback-report`` part (``parsers.arf``);
2. a report document attached to the mail: DMARC aggregate XML (RFC 7489 7.2.1.1: zip or
   gzip) or TLS-RPT JSON (RFC 8460 5.3: ``application/tlsrpt+gzip`` / ``+json``);
3. JMRP, feedback written as plain text, unsubscribe requests (``parsers.jmrp``).

Damaged report documents give ``Report(kind=UNKNOWN, error=...)`` so the ingester can keep
the message with its reason instead of treating it as a bounce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from email.message import Message

from parsers.arf import PROVIDER_RECIPIENT_HEADERS, address_of, parse_arf, report_type, top_parts
from parsers.errors import NotAReport, ParseError
from parsers.jmrp import parse_jmrp, parse_text_feedback, parse_unsubscribe
from parsers.mime import header, message_from_bytes, names_param, part_bytes
from parsers.records import Kind, Report
from parsers.sniff import is_report_document
from parsers.unpack import DEFAULT_LIMIT, is_compressed, unpack

__all__ = [
    "detect_feedback",
    "extract_report_document",
    "parse_report_document",
    "sniff_document",
]

_SKIP_TYPES = {"text/plain", "text/html", "text/enriched"}
_DOC_SUFFIXES = (".xml", ".json", ".gz", ".gzip", ".zip")


def detect_feedback(
    msg: Message,
    *,
    received_at: datetime | None = None,
    with_records: bool = False,
    lowered: bytes | None = None,
) -> Report | None:
    """Return a complaint/auth-failure/dmarc-aggregate/tls-report Report, or None.

    ``lowered``, the bytes ``msg`` was parsed from in lower case (``mime.read_message``
    gives them), lets the ARF and JMRP detectors be skipped when the bytes lack what they
    look for (most mail is neither).
    """
    if lowered is None or _may_be_arf(lowered):
        report = parse_arf(msg, received_at=received_at)
        if report is not None:
            return report
    dsn = _is_dsn(msg)
    if not dsn:
        report = _attached_document(msg, received_at=received_at, with_records=with_records)
        if report is not None:
            return report
    # both answer None for a DSN (a multipart/report of report-type delivery-status)
    detectors: list[Callable[..., Report | None]] = (
        [] if dsn else [parse_text_feedback, parse_unsubscribe]
    )
    if lowered is None or _may_be_jmrp(lowered, deep=getattr(msg, "dw_deep", False)):
        detectors.insert(0, parse_jmrp)
    for detector in detectors:
        report = detector(msg, received_at=received_at)
        if report is not None:
            return report
    return None


def _may_be_arf(lowered: bytes) -> bool:
    # parse_arf needs a part whose Content-Type ends in "/feedback-report"; content types
    # are read verbatim from the bytes
    return b"/feedback-report" in lowered


_PROVIDER_HEADERS = tuple(name.lower().encode() for name in PROVIDER_RECIPIENT_HEADERS)


def _may_be_jmrp(lowered: bytes, *, deep: bool) -> bool:
    # parse_jmrp needs the provider's header in the enclosure: verbatim in the bytes, unless
    # the enclosure is read as text (and so may be transfer-encoded): a text/rfc822-headers
    # part, or a message/* part the MIME reader kept as text for being nested too deep
    return deep or b"rfc822-headers" in lowered or any(h in lowered for h in _PROVIDER_HEADERS)


def parse_report_document(
    raw: bytes,
    *,
    received_at: datetime | None = None,
    with_records: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> Report | None:
    """Parse a bare report file (XML, gzip, zip, JSON); None when ``raw`` is not one."""
    try:
        what = sniff_document(raw, limit=limit)
        if what == "empty":
            return Report(kind=Kind.UNKNOWN, error="empty input", received_at=received_at)
        if what == "xml":
            # imported here: the XML stack is needed only for DMARC aggregate reports, and
            # every process that reads bounces would otherwise load (and compile) it
            from parsers.dmarc import parse_dmarc_aggregate

            agg = parse_dmarc_aggregate(raw, with_records=with_records, limit=limit)
            return Report(
                kind=Kind.DMARC_AGGREGATE,
                dmarc=agg,
                family="dmarc-aggregate",
                warnings=agg.warnings,
                received_at=received_at,
            )
        if what == "json":
            from parsers.tlsrpt import parse_tls_report

            tls = parse_tls_report(raw, limit=limit)
            return Report(
                kind=Kind.TLS_REPORT,
                tls=tls,
                family="tlsrpt",
                warnings=tls.warnings,
                received_at=received_at,
            )
    except NotAReport:
        return None
    except ParseError as exc:
        return Report(kind=Kind.UNKNOWN, error=str(exc), received_at=received_at)
    return None


def sniff_document(raw: bytes, *, limit: int = DEFAULT_LIMIT) -> str | None:
    """``"xml"``, ``"json"``, ``"empty"`` or None, looking through compression layers."""
    if is_compressed(raw):
        head = b""
        for chunk in unpack(raw, limit=limit):
            head += chunk
            if head.strip():
                break
    else:
        head = raw[:4096]
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        return "empty" if not is_compressed(raw) else None
    if text.startswith(b"<"):
        return "xml"
    if text.startswith(b"{"):
        return "json"
    return None


def extract_report_document(raw: bytes) -> bytes | None:
    """The report file itself (still compressed): ``raw`` when it is a bare document, else
    the part ``_attached_document`` would parse. Lets a caller stream an aggregate report's
    rows with ``parsers.dmarc.iter_dmarc_records`` instead of holding them all.
    """
    if is_report_document(raw):
        return raw
    msg = message_from_bytes(raw)
    if _is_dsn(msg):
        return None
    for part in top_parts(msg):
        if not _may_hold_document(part):
            continue
        data = part_bytes(part)
        try:
            if data.strip() and sniff_document(data) in ("xml", "json"):
                return data
        except ParseError:
            continue
    return None


def _is_dsn(msg: Message) -> bool:
    return msg.get_content_type() == "multipart/report" and report_type(msg) == "delivery-status"


def _attached_document(
    msg: Message, *, received_at: datetime | None, with_records: bool
) -> Report | None:
    """The first part that holds a DMARC aggregate or TLS report (RFC 7489 7.2.1.1)."""
    for part in top_parts(msg):
        if not _may_hold_document(part):
            continue
        data = part_bytes(part)
        if not data.strip():
            continue
        report = parse_report_document(data, received_at=received_at, with_records=with_records)
        if report is None:
            continue
        return replace(
            report,
            message_id=_msgid(header(msg, "Message-ID")),
            subject=header(msg, "Subject"),
            from_=address_of(header(msg, "From")),
        )
    return None


def _may_hold_document(part: Message) -> bool:
    ctype = part.get_content_type()
    if ctype.startswith(("multipart/", "message/")):
        return False
    if ctype not in _SKIP_TYPES:
        return True
    # a file name is a "filename" or "name" parameter: most text parts have neither
    if not (names_param(part, "name", "content-disposition") or names_param(part, "name")):
        return False
    return (part.get_filename() or "").lower().endswith(_DOC_SUFFIXES)


def _msgid(value: str | None) -> str | None:
    return "".join(value.split()) if value else None
