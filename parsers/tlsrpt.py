"""SMTP TLS reports (RFC 8460 section 4) from JSON, bare or gzip'd.

Reports are small (one object per policy, RFC 8460 4.4), so ``json.loads`` on the whole
payload is right here, under bounds of its own (issue 11): at most ``MAX_TLS_BYTES``
decompressed and ``MAX_CONTAINERS`` objects and arrays, counted before loading (a few MB of
``[],`` would otherwise become millions of Python lists); nesting past the interpreter's
recursion limit is refused by ``json`` itself. RFC 8460 marks many fields optional and
reporters omit even required ones (no ``failure-details`` when nothing failed, a bare string
where the schema has a list), so every field is read with a fallback and only a report
missing ``policies`` *and* ``organization-name``/``report-id`` is refused as not a TLS
report.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from parsers.errors import LimitExceeded, NotAReport, ParseError
from parsers.records import TlsFailureDetail, TlsPolicy, TlsReport
from parsers.unpack import DEFAULT_LIMIT, read_all

__all__ = ["MAX_CONTAINERS", "MAX_TLS_BYTES", "parse_tls_report", "parse_tls_report_json"]

#: Largest decompressed TLS report read. Reports carry one entry per policy and a failure
#: detail per (result type, sending IP, MX): Google's and Microsoft's are a few kB.
MAX_TLS_BYTES = 16 * 1024 * 1024
#: Most JSON objects and arrays loaded (an over-count: brackets inside strings count too).
MAX_CONTAINERS = 200_000


def parse_tls_report(raw: bytes, *, limit: int = DEFAULT_LIMIT) -> TlsReport:
    """Parse ``application/tlsrpt+json`` or ``+gzip`` bytes (RFC 8460 5.3)."""
    data, stream = read_all(raw, limit=min(limit, MAX_TLS_BYTES))
    report = parse_tls_report_json(data)
    if stream.warnings:
        report = replace(report, warnings=tuple(stream.warnings) + report.warnings)
    return report


def parse_tls_report_json(data: bytes | str) -> TlsReport:
    """Parse the JSON text of a TLS report; ``NotAReport`` when it is JSON of another kind."""
    if isinstance(data, bytes):
        data = data.decode("utf-8-sig", "replace")
    containers = data.count("{") + data.count("[")
    if containers > MAX_CONTAINERS:
        raise LimitExceeded(
            f"JSON holds {containers:,} objects and arrays, over {MAX_CONTAINERS:,}: not a TLS "
            "report (RFC 8460 4.4)",
            where="tlsrpt",
        )
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not valid JSON: {exc}", where="tlsrpt") from None
    if not isinstance(doc, dict) or not _looks_like_tlsrpt(doc):
        raise NotAReport("JSON is not an RFC 8460 TLS report", where="tlsrpt")
    warnings: list[str] = []
    dates = _dict(doc.get("date-range"))
    policies = doc.get("policies")
    if not isinstance(policies, list):
        warnings.append("report has no policies list")
        policies = []
    return TlsReport(
        organization_name=_str(doc.get("organization-name")),
        report_id=_str(doc.get("report-id")),
        start_datetime=_datetime(dates.get("start-datetime"), warnings),
        end_datetime=_datetime(dates.get("end-datetime"), warnings),
        contact_info=_str(doc.get("contact-info")),
        policies=tuple(_policy(p, warnings) for p in policies if isinstance(p, dict)),
        warnings=tuple(warnings),
    )


def _looks_like_tlsrpt(doc: dict[str, Any]) -> bool:
    return "policies" in doc or ("organization-name" in doc and "report-id" in doc)


def _policy(item: dict[str, Any], warnings: list[str]) -> TlsPolicy:
    """One entry of ``policies`` (RFC 8460 4.3): policy, summary, optional failure details."""
    policy = _dict(item.get("policy"))
    summary = _dict(item.get("summary"))
    details = item.get("failure-details")
    return TlsPolicy(
        policy_type=_str(policy.get("policy-type")),
        policy_domain=_str(policy.get("policy-domain")),
        policy_strings=_strs(policy.get("policy-string")),
        mx_hosts=_strs(policy.get("mx-host")),
        total_successful_sessions=_count(summary.get("total-successful-session-count"), warnings),
        total_failure_sessions=_count(summary.get("total-failure-session-count"), warnings),
        failure_details=tuple(
            _detail(d, warnings)
            for d in (details if isinstance(details, list) else [])
            if isinstance(d, dict)
        ),
    )


def _detail(d: dict[str, Any], warnings: list[str]) -> TlsFailureDetail:
    """A ``failure-details`` entry (RFC 8460 4.3); ``result-type`` values of 4.3.1-4.3.3."""
    return TlsFailureDetail(
        result_type=_str(d.get("result-type")) or "unknown",
        sending_mta_ip=_str(d.get("sending-mta-ip")),
        receiving_mx_hostname=_str(d.get("receiving-mx-hostname")),
        receiving_mx_helo=_str(d.get("receiving-mx-helo")),
        receiving_ip=_str(d.get("receiving-ip")),
        failed_session_count=_count(d.get("failed-session-count"), warnings),
        additional_information=_str(d.get("additional-information")),
        failure_reason_code=_str(d.get("failure-reason-code")),
    )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _strs(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(s for s in (_str(v) for v in value) if s)
    single = _str(value)
    return (single,) if single else ()


def _count(value: object, warnings: list[str]) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        warnings.append(f"session count is a boolean: {value!r}")
        return 0
    try:
        return int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        warnings.append(f"bad session count {value!r}")
        return 0


def _datetime(value: object, warnings: list[str]) -> datetime | None:
    """RFC 3339 date-time (RFC 8460 4.4) as aware UTC; a naive value is taken as UTC."""
    text = _str(value)
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        warnings.append(f"bad date-time {text!r}")
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
