"""Table-driven checks over the shared report corpus and the ARF files of the bounce corpus.

The corpus is read in place (``../shared/corpus``); tests skip only when that folder is absent.
Comparisons normalise as ``shared/tools/eval_reports.py`` documents (addresses lower-cased,
``<>`` stripped, instants compared in UTC).
"""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from parsers.feedback import detect_feedback, parse_report_document
from parsers.mime import message_from_bytes
from parsers.records import Kind, Report
from tests.shared_paths import REQUIRE_SHARED, SHARED

CORPUS = SHARED / "corpus"
REPORTS = CORPUS / "reports"
BOUNCES = CORPUS / "bounces"
KINDS = {
    "arf": Kind.COMPLAINT,
    "dmarc_failure": Kind.AUTH_FAILURE,
    "dmarc_aggregate": Kind.DMARC_AGGREGATE,
    "smtp_tls": Kind.TLS_REPORT,
}


def _labels(folder: Path) -> list[dict[str, Any]]:
    if not (folder / "labels.jsonl").exists():
        return []
    return [json.loads(line) for line in (folder / "labels.jsonl").read_text().splitlines() if line]


def parse_file(path: Path) -> Report | None:
    raw = path.read_bytes()
    head = raw.lstrip()
    if not head or head[:1] in (b"<", b"{") or head[:2] == b"\x1f\x8b" or head[:4] == b"PK\x03\x04":
        return parse_report_document(raw)
    return detect_feedback(message_from_bytes(raw))


def _addr(value: str) -> str:
    return value.strip().rsplit("<", 1)[-1].strip("<> ").lower()


def _instant(value: Any) -> int:
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def _feedback_checks(report: Report, want: dict[str, Any]) -> None:
    fb = report.feedback
    assert fb is not None
    ftype = want.get("feedback_type") or want.get("feedback_type_peer")
    assert fb.feedback_type is not None and fb.feedback_type.value == ftype
    for key in ("user_agent", "version"):
        if key in want:
            assert getattr(fb, key) == want[key]
    if "original_mail_from" in want:
        assert fb.original_mail_from == _addr(want["original_mail_from"])
    if "original_rcpt_to" in want:
        assert set(fb.original_rcpt_to) == {_addr(a) for a in want["original_rcpt_to"]}
    if "source_ip" in want:
        try:
            assert ipaddress.ip_address(fb.source_ip or "") == ipaddress.ip_address(
                want["source_ip"]
            )
        except ValueError:
            assert fb.source_ip == want["source_ip"]
    if "arrival_date_utc" in want:
        assert fb.arrival_date is not None
        assert int(fb.arrival_date.timestamp()) == _instant(want["arrival_date_utc"])
    if "reported_domain" in want:
        assert set(fb.reported_domain) == {d.lower() for d in want["reported_domain"]}
    if "auth_failure" in want:
        assert fb.auth_failure == want["auth_failure"]
    if "original_message_id" in want:
        assert (fb.original_message_id or "").strip("<>") == "".join(
            want["original_message_id"].split()
        ).strip("<>")
    got = {r.address for r in report.recipients if r.address}
    assert got == {_addr(a) for a in want.get("recipient", [])}


def _dmarc_checks(report: Report, want: dict[str, Any]) -> None:
    agg = report.dmarc
    assert agg is not None
    for key in (
        "org_name",
        "report_id",
        "date_begin",
        "date_end",
        "policy_domain",
        "policy_p",
        "policy_sp",
        "n_records",
        "total_messages",
    ):
        if want.get(key) is not None:
            assert getattr(agg, key) == want[key], key
    if want.get("policy_pct") is not None:
        assert agg.policy_pct == int(want["policy_pct"])
    assert agg.well_formed is want["xml_well_formed"]


def _tls_checks(report: Report, want: dict[str, Any]) -> None:
    tls = report.tls
    assert tls is not None
    assert (tls.organization_name, tls.report_id) == (want["organization_name"], want["report_id"])
    assert tls.start_datetime is not None and tls.end_datetime is not None
    assert int(tls.start_datetime.timestamp()) == _instant(want["start_datetime"])
    assert int(tls.end_datetime.timestamp()) == _instant(want["end_datetime"])
    assert len(tls.policies) == want["n_policies"]
    assert [p.policy_type for p in tls.policies] == want["policy_types"]
    assert tls.total_successful_sessions == want["total_successful_sessions"]
    assert tls.total_failure_sessions == want["total_failure_sessions"]


@pytest.mark.skipif(
    not REPORTS.is_dir() and not REQUIRE_SHARED, reason="shared report corpus absent"
)
@pytest.mark.parametrize("label", _labels(REPORTS), ids=lambda lab: lab["file"])
def test_report_corpus(label: dict[str, Any]) -> None:
    report = parse_file(REPORTS / label["file"])
    kind, want = label["kind"], label["labels"]
    if kind == "invalid":
        assert report is not None and report.kind is Kind.UNKNOWN and report.error
        return
    if kind == "not_report":
        assert report is None or report.kind not in KINDS.values()
        return
    assert report is not None and report.kind is KINDS[kind]
    if kind in ("arf", "dmarc_failure"):
        _feedback_checks(report, want)
    elif kind == "dmarc_aggregate":
        _dmarc_checks(report, want)
    else:
        _tls_checks(report, want)


ARF_BOUNCES = [lab for lab in _labels(BOUNCES) if lab["file"].startswith("arf-")]


@pytest.mark.skipif(
    not BOUNCES.is_dir() and not REQUIRE_SHARED, reason="shared bounce corpus absent"
)
@pytest.mark.parametrize("label", ARF_BOUNCES, ids=lambda lab: lab["file"])
def test_bounce_corpus_arf_complainer(label: dict[str, Any]) -> None:
    report = detect_feedback(message_from_bytes((BOUNCES / label["file"]).read_bytes()))
    assert report is not None
    assert [r.address for r in report.recipients] == [r["address"] for r in label["recipients"]]
    assert all(r.reason.value == "feedback" for r in report.recipients)


@pytest.mark.skipif(
    not BOUNCES.is_dir() and not REQUIRE_SHARED, reason="shared bounce corpus absent"
)
def test_no_bounce_is_taken_for_feedback() -> None:
    wrong = []
    for label in _labels(BOUNCES):
        feedback = any(r.get("reason") == "feedback" for r in label["recipients"])
        report = detect_feedback(message_from_bytes((BOUNCES / label["file"]).read_bytes()))
        if report is not None and not feedback:
            wrong.append(label["file"])
    assert wrong == []
