"""DMARC policy records (``_dmarc.<domain>`` TXT) -> :class:`DmarcPolicy`, under two specs.

RFC 7489 6.3 is strict: an invalid value of a known tag makes the record unusable. RFC 9989
(DMARCbis) removes ``pct``, ``rf`` and ``ri`` (ignored, reported as ``tag_removed_in_rfc9989``),
drops the ``!size`` suffix of report URIs, adds ``np``, ``psd`` and ``t``, and tells receivers
to use the default for an invalid ``adkim``/``aspf`` instead of discarding the record. ``np``
(RFC 9091) and ``t`` are read under both specs: receivers that implement them apply them
whatever spec the record was written for. Findings use the codes of dns_auth_vectors.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from parsers.dnsrec.tags import parse_tags
from parsers.errors import ParseError

__all__ = ["DmarcPolicy", "DmarcSpec", "ReportUri", "parse_dmarc", "policy_rank"]


class DmarcSpec(StrEnum):
    """Which reading of the record."""

    RFC7489 = "rfc7489"
    RFC9989 = "rfc9989"


POLICIES = ("none", "quarantine", "reject")
REMOVED_IN_9989 = ("pct", "rf", "ri")
KNOWN = frozenset(
    {"v", "p", "sp", "np", "adkim", "aspf", "pct", "fo", "rf", "ri", "rua", "ruf", "psd", "t"}
)
_URI = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):([^!]+)(?:!(\d+[kmgt]?))?\Z", re.IGNORECASE)


def policy_rank(policy: str | None) -> int:
    """none < quarantine < reject, for "DMARC weakened" comparisons."""
    return POLICIES.index(policy) if policy in POLICIES else -1


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportUri:
    """One rua/ruf destination (RFC 7489 6.2)."""

    uri: str
    scheme: str
    address: str
    size: str | None = None

    @property
    def domain(self) -> str | None:
        """Domain of a mailto: address, lower-cased."""
        if self.scheme != "mailto" or "@" not in self.address:
            return None
        return self.address.rsplit("@", 1)[1].lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcPolicy:
    """A DMARC record read under ``spec``; ``errors`` non-empty means not usable as is."""

    text: str
    spec: DmarcSpec
    p: str | None = None
    sp: str | None = None
    np: str | None = None
    adkim: str = "r"
    aspf: str = "r"
    pct: int = 100
    fo: tuple[str, ...] = ("0",)
    rua: tuple[ReportUri, ...] = ()
    ruf: tuple[ReportUri, ...] = ()
    psd: str | None = None
    testing: bool = False
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def error(self) -> str | None:
        return self.errors[0] if self.errors else None


def _uris(value: str, spec: DmarcSpec, warnings: list[str]) -> tuple[ReportUri, ...]:
    out: list[ReportUri] = []
    for item in (u.strip() for u in value.split(",")):
        match = _URI.match(item)
        if not item or match is None:
            raise ParseError("invalid_report_uri", where=f"dmarc: {item!r}")
        if match.group(3) and spec is DmarcSpec.RFC9989:
            warnings.append("rua_size_limit_obsolete")
        out.append(
            ReportUri(
                uri=item, scheme=match.group(1).lower(), address=match.group(2), size=match.group(3)
            )
        )
    return tuple(out)


class _Reader:
    """Collects typed values and findings tag by tag."""

    def __init__(self, spec: DmarcSpec) -> None:
        self.spec = spec
        self.values: dict[str, Any] = {}  # DmarcPolicy field -> typed value
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def invalid(self, *, lenient: bool = False) -> None:
        """RFC 9989 falls back to the default for some tags; RFC 7489 rejects the record."""
        if lenient and self.spec is DmarcSpec.RFC9989:
            self.warnings.append("invalid_value_default_used")
        else:
            self.errors.append("invalid_tag_value")

    def read(self, tag: str, value: str) -> None:
        if self.spec is DmarcSpec.RFC9989 and tag in REMOVED_IN_9989:
            self.warnings.append("tag_removed_in_rfc9989")
            return
        handler = getattr(self, f"_tag_{tag}", None)
        if handler is None:
            self.warnings.append("unknown_tag")
            return
        handler(value)

    def _choice(self, tag: str, value: str, allowed: tuple[str, ...], *, lenient: bool) -> None:
        if value.lower() in allowed:
            self.values[tag] = value.lower()
        else:
            self.invalid(lenient=lenient)

    def _tag_p(self, value: str) -> None:
        self._choice("p", value, POLICIES, lenient=False)

    def _tag_sp(self, value: str) -> None:
        self._choice("sp", value, POLICIES, lenient=False)

    def _tag_np(self, value: str) -> None:
        self._choice("np", value, POLICIES, lenient=False)

    def _tag_adkim(self, value: str) -> None:
        self._choice("adkim", value, ("r", "s"), lenient=True)

    def _tag_aspf(self, value: str) -> None:
        self._choice("aspf", value, ("r", "s"), lenient=True)

    def _tag_psd(self, value: str) -> None:
        self._choice("psd", value, ("y", "n", "u"), lenient=True)

    def _tag_t(self, value: str) -> None:
        if value.lower() in ("y", "n"):
            self.values["testing"] = value.lower() == "y"
        else:
            self.invalid(lenient=True)

    def _tag_pct(self, value: str) -> None:
        if value.isdigit() and 0 <= int(value) <= 100:
            self.values["pct"] = int(value)
        else:
            self.invalid()

    def _tag_fo(self, value: str) -> None:
        opts = tuple(o.strip().lower() for o in value.split(":"))
        if all(o in ("0", "1", "d", "s") for o in opts):
            self.values["fo"] = opts
        else:
            self.invalid()

    def _tag_rf(self, value: str) -> None:
        if any(f.strip().lower() != "afrf" for f in value.split(":")):
            self.invalid()

    def _tag_ri(self, value: str) -> None:
        if not value.isdigit():
            self.invalid()

    def _tag_rua(self, value: str) -> None:
        self.values["rua"] = _uris(value, self.spec, self.warnings)

    def _tag_ruf(self, value: str) -> None:
        self.values["ruf"] = _uris(value, self.spec, self.warnings)


def _advice(policy: DmarcPolicy) -> list[str]:
    """Warnings about strength and reporting, read off a valid record."""
    found: list[str] = []
    if policy.p == "none":
        found.append("p_none_unenforced")
    if policy.sp == "none" and policy.p in ("quarantine", "reject"):
        found.append("sp_none_unenforced")
    if policy.pct < 100 and policy.spec is DmarcSpec.RFC7489:
        found.append("pct_partial_enforcement")
    if policy.testing:
        found.append("testing_mode")
    if not policy.rua:
        found.append("no_rua")
    if len(policy.rua) > 2 or len(policy.ruf) > 2:
        found.append("more_than_two_report_uris")
    return found


def parse_dmarc(text: str, spec: DmarcSpec = DmarcSpec.RFC7489) -> DmarcPolicy:
    """Read one TXT string found at ``_dmarc.<domain>``; never raises.

    The first tag must be ``v=DMARC1`` (RFC 7489 6.4, RFC 9989 4.7); anything else is
    ``not_a_dmarc_record`` — or ``spf_record_at_dmarc_location`` when someone published
    their SPF record there, a common mistake worth naming.
    """
    if text.lower().startswith("v=spf1"):
        return DmarcPolicy(text=text, spec=spec, errors=("spf_record_at_dmarc_location",))
    try:
        pairs = parse_tags(text, where="dmarc")
    except ParseError as exc:
        return DmarcPolicy(text=text, spec=spec, errors=(exc.message,))
    if not pairs or pairs[0][0].lower() != "v" or pairs[0][1] != "DMARC1":
        return DmarcPolicy(text=text, spec=spec, errors=("not_a_dmarc_record",))
    reader = _Reader(spec)
    for tag, value in pairs[1:]:
        try:
            reader.read(tag.lower(), value)
        except ParseError as exc:
            reader.errors.append(exc.message)
    if "p" not in reader.values and not reader.errors:
        reader.errors.append("missing_p")
    policy = DmarcPolicy(text=text, spec=spec, errors=tuple(reader.errors), **reader.values)
    warnings = [*reader.warnings, *(_advice(policy) if policy.valid else [])]
    return replace(policy, warnings=tuple(dict.fromkeys(warnings)))
