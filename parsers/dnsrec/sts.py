"""MTA-STS (RFC 8461) TXT records and policy files, and TLS-RPT (RFC 8460) TXT records.

Pure text readers; the monitor fetches the TXT records and the HTTPS policy and passes the
text in. Findings are codes, so a report can say what to publish instead of a stack trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsers.dnsrec.tags import parse_tags
from parsers.errors import ParseError

__all__ = [
    "StsPolicy",
    "StsRecord",
    "TlsRptRecord",
    "parse_sts_policy",
    "parse_sts_record",
    "parse_tlsrpt",
]

_STS_ID = re.compile(r"[A-Za-z0-9]{1,32}\Z")  # RFC 8461 3.1 sts-id
_MX_PATTERN = re.compile(
    r"(\*\.)?([A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+"
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.?\Z"
)
MAX_AGE_LIMIT = 31557600  # RFC 8461 3.2
MAX_AGE_SHORT = 86400  # a policy that expires within a day protects little (RFC 8461 10)


@dataclass(frozen=True, slots=True, kw_only=True)
class StsRecord:
    """``_mta-sts.<domain>`` TXT (RFC 8461 3.1)."""

    text: str
    id: str | None = None
    errors: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True, kw_only=True)
class StsPolicy:
    """``https://mta-sts.<domain>/.well-known/mta-sts.txt`` (RFC 8461 3.2)."""

    mode: str | None = None
    max_age: int | None = None
    mx: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors

    def matches(self, host: str) -> bool:
        """RFC 8461 4.1: exact match, or ``*.`` matching exactly one left-most label."""
        host = host.lower().rstrip(".")
        for pattern in (p.lower().rstrip(".") for p in self.mx):
            if pattern.startswith("*."):
                if (
                    host.split(".", 1)[-1] == pattern[2:]
                    and host.count(".") > pattern.count(".") - 1
                ):
                    return True
            elif host == pattern:
                return True
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsRptRecord:
    """``_smtp._tls.<domain>`` TXT (RFC 8460 3)."""

    text: str
    rua: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors


def parse_sts_record(text: str) -> StsRecord:
    """Read a ``v=STSv1; id=...`` record; never raises."""
    try:
        pairs = parse_tags(text, where="mta-sts")
    except ParseError as exc:
        return StsRecord(text=text, errors=(exc.message,))
    if not pairs or pairs[0] != ("v", "STSv1"):
        return StsRecord(text=text, errors=("not_sts_record",))
    tags = dict(pairs)
    if "id" not in tags:
        return StsRecord(text=text, errors=("missing_id",))
    if not _STS_ID.match(tags["id"]):
        return StsRecord(text=text, id=tags["id"], errors=("invalid_id",))
    return StsRecord(text=text, id=tags["id"])


def _policy_fields(text: str) -> tuple[dict[str, str], list[str], list[str]]:
    fields: dict[str, str] = {}
    mx: list[str] = []
    errors: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon:
            errors.append("malformed_line")
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "mx":
            mx.append(value)
        elif key in fields:
            errors.append(f"duplicate_{key}")
        else:
            fields[key] = value
    return fields, mx, errors


def parse_sts_policy(text: str) -> StsPolicy:
    """Read a policy file; unknown keys are ignored as RFC 8461 3.2 requires."""
    fields, mx, errors = _policy_fields(text)
    warnings: list[str] = []
    if fields.get("version") != "STSv1":
        errors.append("bad_version")
    mode = fields.get("mode")
    if mode not in ("enforce", "testing", "none"):
        errors.append("bad_mode")
    elif mode == "testing":
        warnings.append("testing_mode")
    elif mode == "none":
        warnings.append("policy_mode_none")
    raw_age = fields.get("max_age", "")
    max_age = int(raw_age) if raw_age.isdigit() and len(raw_age) <= 10 else None
    if max_age is None or max_age > MAX_AGE_LIMIT:
        errors.append("bad_max_age")
    elif max_age < MAX_AGE_SHORT:
        warnings.append("max_age_short")
    if mode in ("enforce", "testing") and not mx:
        errors.append("missing_mx")
    if any(not _MX_PATTERN.match(p) for p in mx):
        errors.append("bad_mx_pattern")
    return StsPolicy(
        mode=mode, max_age=max_age, mx=tuple(mx), errors=tuple(errors), warnings=tuple(warnings)
    )


def parse_tlsrpt(text: str) -> TlsRptRecord:
    """Read a ``v=TLSRPTv1; rua=...`` record; rua URIs must be mailto: or https:."""
    try:
        pairs = parse_tags(text, where="tls-rpt")
    except ParseError as exc:
        return TlsRptRecord(text=text, errors=(exc.message,))
    if not pairs or pairs[0] != ("v", "TLSRPTv1"):
        return TlsRptRecord(text=text, errors=("not_tlsrpt_record",))
    tags = {k.lower(): v for k, v in pairs}
    if "rua" not in tags:
        return TlsRptRecord(text=text, errors=("missing_rua",))
    uris = tuple(u.strip() for u in tags["rua"].split(","))
    bad = [u for u in uris if not re.match(r"(mailto:[^@\s]+@[^@\s]+|https://\S+)\Z", u, re.I)]
    return TlsRptRecord(text=text, rua=uris, errors=("invalid_rua",) if bad else ())
