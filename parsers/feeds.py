"""Provider reputation feeds: Microsoft SNDS data and Google Postmaster Tools traffic stats.

Pure: bytes in, frozen records out. Gmail sends no per-message complaints, so Postmaster
Tools' ``userReportedSpamRatio`` is the only Gmail complaint figure a sender gets; SNDS is
Outlook.com's view of each sending IP (filter verdict, complaint rate, trap hits).

**SNDS** automated access (``data.aspx?key=KEY``) answers CSV without a header, one line per
IP and activity period, in the documented column order: IP address, activity start,
activity end, RCPT commands, DATA commands, message recipients, filter result (GREEN,
YELLOW, RED), complaint rate (``< 0.1%``, ``0.3%``), trap message start, trap message end,
trap hits, sample HELO, sample MAIL FROM (JMR P1 sender), comments. Times are
``M/D/YYYY h:mm AM`` (Pacific time in the interface; kept as written: a day is what
matters). Trailing columns may be missing.

**Postmaster Tools API v1**: ``GET /v1/domains/{domain}/trafficStats/{YYYYMMDD}`` answers a
``TrafficStats`` object: ``userReportedSpamRatio``, ``ipReputations`` (``reputation``,
``ipCount``), ``domainReputation`` (HIGH, MEDIUM, LOW, BAD), ``spfSuccessRatio``,
``dkimSuccessRatio``, ``dmarcSuccessRatio``, ``inboundEncryptionRatio``,
``outboundEncryptionRatio``,
``deliveryErrors``; any of them may be missing when Google has too little data.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime

from parsers.errors import ParseError

__all__ = ["PostmasterDay", "SndsRow", "parse_snds_csv", "parse_traffic_stats"]

_RATE = re.compile(r"^\s*(<)?\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
_FILTERS = frozenset({"GREEN", "YELLOW", "RED"})
_REPUTATIONS = frozenset({"HIGH", "MEDIUM", "LOW", "BAD"})


@dataclass(frozen=True, slots=True)
class SndsRow:
    ip: str
    day: date  # of the activity start
    rcpt_commands: int
    data_commands: int
    recipients: int
    filter_result: str  # GREEN, YELLOW, RED ("" when not given)
    complaint_rate: float | None  # a fraction; "< 0.1%" is read as its bound, 0.001
    complaint_rate_text: str
    trap_hits: int
    sample_helo: str
    sample_mail_from: str


@dataclass(frozen=True, slots=True)
class PostmasterDay:
    domain: str
    day: date
    spam_rate: float | None
    domain_reputation: str | None
    #: reputation -> number of IPs (HIGH, MEDIUM, LOW, BAD)
    ip_reputations: tuple[tuple[str, int], ...]
    spf_rate: float | None
    dkim_rate: float | None
    dmarc_rate: float | None
    inbound_encryption_rate: float | None
    outbound_encryption_rate: float | None
    #: (errorClass, errorType, errorRatio)
    delivery_errors: tuple[tuple[str, str, float], ...]


def _int(text: str) -> int:
    text = text.strip().replace(",", "")
    return int(text) if text.isdigit() else 0


def _day(text: str) -> date | None:
    text = text.strip()
    for fmt in ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _rate(text: str) -> float | None:
    m = _RATE.match(text)
    return float(m.group(2)) / 100 if m else None


def parse_snds_csv(data: bytes) -> tuple[SndsRow, ...]:
    """Every usable line of an SNDS data answer; a line without an IP or a start date is
    skipped (the interface puts notes in the file when there is no data)."""
    text = data.decode("utf-8-sig", errors="replace")
    rows = []
    for fields in csv.reader(io.StringIO(text)):
        if len(fields) < 7:
            continue
        cells = [f.strip() for f in fields] + [""] * max(0, 14 - len(fields))
        day = _day(cells[1])
        if day is None or not re.fullmatch(r"[0-9a-fA-F:.]+", cells[0]):
            continue
        verdict = cells[6].upper()
        rows.append(
            SndsRow(
                ip=cells[0],
                day=day,
                rcpt_commands=_int(cells[3]),
                data_commands=_int(cells[4]),
                recipients=_int(cells[5]),
                filter_result=verdict if verdict in _FILTERS else "",
                complaint_rate=_rate(cells[7]),
                complaint_rate_text=cells[7][:16],
                trap_hits=_int(cells[10]),
                sample_helo=cells[11][:255],
                sample_mail_from=cells[12][:320],
            )
        )
    return tuple(rows)


def _ratio(obj: dict[str, object], key: str) -> float | None:
    value = obj.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return None


def parse_traffic_stats(data: bytes, *, domain: str, day: date) -> PostmasterDay:
    """One ``TrafficStats`` answer; ``ParseError`` when it is not a JSON object."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"trafficStats is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ParseError("trafficStats is not a JSON object")
    reps = []
    for item in obj.get("ipReputations") or []:
        if isinstance(item, dict) and item.get("reputation") in _REPUTATIONS:
            count = item.get("ipCount", 0)
            reps.append((str(item["reputation"]), int(count) if str(count).isdigit() else 0))
    errors = []
    for item in obj.get("deliveryErrors") or []:
        if isinstance(item, dict):
            ratio = _ratio(item, "errorRatio")
            errors.append(
                (str(item.get("errorClass", ""))[:32], str(item.get("errorType", ""))[:64],
                 ratio or 0.0)
            )  # fmt: skip
    reputation = obj.get("domainReputation")
    return PostmasterDay(
        domain=domain,
        day=day,
        spam_rate=_ratio(obj, "userReportedSpamRatio"),
        domain_reputation=reputation if reputation in _REPUTATIONS else None,
        ip_reputations=tuple(reps),
        spf_rate=_ratio(obj, "spfSuccessRatio"),
        dkim_rate=_ratio(obj, "dkimSuccessRatio"),
        dmarc_rate=_ratio(obj, "dmarcSuccessRatio"),
        inbound_encryption_rate=_ratio(obj, "inboundEncryptionRatio"),
        outbound_encryption_rate=_ratio(obj, "outboundEncryptionRatio"),
        delivery_errors=tuple(errors),
    )
