"""SPF record text -> :class:`SpfRecord` (RFC 7208 sections 4.5, 4.6, 5, 6, 7).

Parsing is separated from evaluation because RFC 7208 4.6 makes a syntax error *anywhere* in
the record a permerror before any term is evaluated, and because a record checker wants the
same parse to count lookups and flag risky terms without asking DNS anything. Macro strings
are validated here (7.1 ABNF, including ``domain-end``: a domain-spec must end in a macro or a
valid top label, checked *before* expansion) and expanded by :func:`expand_macros`, which is
pure: the caller supplies the already-resolved ``%{p}`` value.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass
from enum import StrEnum

from parsers.errors import ParseError

__all__ = [
    "MacroContext",
    "Mechanism",
    "MechanismKind",
    "Qualifier",
    "SpfRecord",
    "expand_macros",
    "is_spf_record",
    "parse_spf",
    "validate_macro_string",
]


class Qualifier(StrEnum):
    """RFC 7208 4.6.2 qualifiers; the value is the result a match produces."""

    PASS = "pass"  # noqa: S105 - an SPF result, not a password
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"


QUALIFIERS = {
    "+": Qualifier.PASS,
    "-": Qualifier.FAIL,
    "~": Qualifier.SOFTFAIL,
    "?": Qualifier.NEUTRAL,
}


class MechanismKind(StrEnum):
    """RFC 7208 section 5 mechanisms."""

    ALL = "all"
    INCLUDE = "include"
    A = "a"
    MX = "mx"
    PTR = "ptr"
    IP4 = "ip4"
    IP6 = "ip6"
    EXISTS = "exists"


# Terms that cost a DNS lookup against the limit of 10 (RFC 7208 4.6.4).
LOOKUP_KINDS = frozenset(
    {
        MechanismKind.INCLUDE,
        MechanismKind.A,
        MechanismKind.MX,
        MechanismKind.PTR,
        MechanismKind.EXISTS,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Mechanism:
    """One directive: qualifier, mechanism and its arguments (macro text is kept unexpanded)."""

    qualifier: Qualifier
    kind: MechanismKind
    domain_spec: str | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    cidr4: int = 32
    cidr6: int = 128
    text: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SpfRecord:
    """A syntactically valid SPF record."""

    text: str
    mechanisms: tuple[Mechanism, ...]
    redirect: str | None = None
    exp: str | None = None
    unknown_modifiers: tuple[tuple[str, str], ...] = ()

    @property
    def lookup_terms(self) -> int:
        """Terms in this record alone that query DNS (nested records not included)."""
        own = sum(1 for m in self.mechanisms if m.kind in LOOKUP_KINDS)
        return own + (1 if self.redirect is not None else 0)


_VERSION = re.compile(r"v=spf1(?: |$)", re.IGNORECASE)
_MECH = re.compile(r"([+\-~?]?)([A-Za-z][A-Za-z0-9_.\-]*)(.*)\Z", re.DOTALL)
_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9_.\-]*)=(.*)\Z", re.DOTALL)
_MACRO = re.compile(r"%(?:\{([A-Za-z])([0-9]*)(r?)([.\-+,/_=]*)\}|[%_\-])", re.IGNORECASE)
_TOPLABEL = re.compile(
    r"(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9\-]*[A-Za-z0-9])\Z"
)
_CIDR4 = r"/(0|[1-9][0-9]?)"
_CIDR6 = r"/(0|[1-9][0-9]{0,2})"
_SPLIT = re.compile(rf"(.*?)(?:{_CIDR4})?(?:/{_CIDR6})?", re.DOTALL)
_MACRO_LETTERS = "slodipvh"
_EXP_ONLY_LETTERS = "crt"


def is_spf_record(text: str) -> bool:
    """True when a TXT string starts with the version section ``v=spf1`` (RFC 7208 4.5)."""
    return _VERSION.match(text) is not None


def validate_macro_string(text: str, *, exp: bool = False) -> None:
    """Raise :class:`ParseError` unless ``text`` is a macro-string (RFC 7208 7.1 ABNF).

    ``exp`` allows the letters c, r, t, which are valid only in explanation text, and any
    printable character including space (7.1 ``explain-string``).
    """
    letters = _MACRO_LETTERS + (_EXP_ONLY_LETTERS if exp else "")
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "%":
            match = _MACRO.match(text, pos)
            if match is None:
                raise ParseError(f"invalid macro at {text[pos : pos + 6]!r}", where="spf")
            letter = match.group(1)
            if letter is not None and letter.lower() not in letters:
                raise ParseError(f"macro letter {letter!r} not allowed here", where="spf")
            if match.group(2) and int(match.group(2)) == 0:
                raise ParseError("macro transformer digit 0", where="spf")
            pos = match.end()
            continue
        if not (0x21 <= ord(char) <= 0x7E or (exp and char == " ")):
            raise ParseError(f"invalid character {char!r} in macro string", where="spf")
        pos += 1


def _validate_domain_spec(spec: str) -> str:
    """``domain-spec = macro-string domain-end`` (RFC 7208 7.1), checked before expansion."""
    if not spec:
        raise ParseError("empty domain-spec", where="spf")
    validate_macro_string(spec)
    body = spec[:-1] if spec.endswith(".") and not spec.endswith("%.") else spec
    if body.endswith("}") and _ends_with_macro(body):
        return spec
    if spec.endswith(("%%", "%_", "%-")) and _ends_with_macro(spec):
        return spec
    label = body.rsplit(".", 1)
    if len(label) != 2 or not _TOPLABEL.match(label[1]):
        raise ParseError(f"domain-spec {spec!r} does not end in a macro or top label", where="spf")
    return spec


def _ends_with_macro(text: str) -> bool:
    end = 0
    for match in _MACRO.finditer(text):
        end = match.end()
    return end == len(text)


def _split_cidr(arg: str, kind: MechanismKind) -> tuple[str, int, int]:
    """Split ``domain-spec[/n][//m]`` (RFC 7208 5.3, 5.4 dual-cidr-length).

    The lengths are the shortest suffix that parses as dual-cidr-length, so a domain-spec
    that itself contains ``/`` or ``:`` (suite ``a-colon-domain``) keeps them.
    """
    match = _SPLIT.fullmatch(arg)
    if match is None:  # pragma: no cover - the empty suffix always matches
        raise ParseError(f"bad CIDR length in {kind}:{arg}", where="spf")
    cidr4 = int(match.group(2)) if match.group(2) is not None else 32
    cidr6 = int(match.group(3)) if match.group(3) is not None else 128
    if cidr4 > 32 or cidr6 > 128:
        raise ParseError(f"CIDR length out of range in {kind}:{arg}", where="spf")
    return match.group(1), cidr4, cidr6


def _ip_network(kind: MechanismKind, arg: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """ip4/ip6 arguments (RFC 7208 5.6): literal address, optional canonical-form prefix."""
    addr, _, prefix = arg.partition("/")
    limit, pattern = (32, _CIDR4) if kind is MechanismKind.IP4 else (128, _CIDR6)
    if prefix and not re.fullmatch(pattern, "/" + prefix):
        raise ParseError(f"bad prefix in {kind}:{arg}", where="spf")
    try:
        ip = (
            ipaddress.IPv4Address(addr)
            if kind is MechanismKind.IP4
            else ipaddress.IPv6Address(addr)
        )
    except ValueError as exc:
        raise ParseError(f"bad address in {kind}:{arg}", where="spf") from exc
    length = int(prefix) if prefix else limit
    if length > limit:
        raise ParseError(f"prefix out of range in {kind}:{arg}", where="spf")
    return ipaddress.ip_network(f"{ip}/{length}", strict=False)


def _domain_args(kind: MechanismKind, rest: str, term: str) -> tuple[str | None, int, int]:
    """Arguments of a/mx (``[:domain-spec][dual-cidr]``), ptr (``[:domain-spec]``) and
    include/exists (``:domain-spec``), RFC 7208 5.2-5.7."""
    if kind in (MechanismKind.A, MechanismKind.MX):
        if rest.startswith(":"):
            arg, cidr4, cidr6 = _split_cidr(rest[1:], kind)
            return _validate_domain_spec(arg), cidr4, cidr6
        if rest.startswith("/"):
            leftover, cidr4, cidr6 = _split_cidr(rest, kind)
            if not leftover:
                return None, cidr4, cidr6
        if not rest:
            return None, 32, 128
        raise ParseError(f"bad argument in {term!r}", where="spf")
    if rest.startswith(":"):
        return _validate_domain_spec(rest[1:]), 32, 128
    if rest or kind is not MechanismKind.PTR:
        raise ParseError(f"{kind} needs ':domain': {term!r}", where="spf")
    return None, 32, 128


def _parse_mechanism(term: str) -> Mechanism:
    match = _MECH.match(term)
    if match is None:
        raise ParseError(f"unknown term {term!r}", where="spf")
    qual, name, rest = match.groups()
    try:
        kind = MechanismKind(name.lower())
    except ValueError as exc:
        raise ParseError(f"unknown mechanism {name!r}", where="spf") from exc
    qualifier = QUALIFIERS[qual or "+"]
    if kind is MechanismKind.ALL:
        if rest:
            raise ParseError(f"'all' takes no argument: {term!r}", where="spf")
        return Mechanism(qualifier=qualifier, kind=kind, text=term)
    if kind in (MechanismKind.IP4, MechanismKind.IP6):
        if not rest.startswith(":"):
            raise ParseError(f"{kind} needs an address: {term!r}", where="spf")
        network = _ip_network(kind, rest[1:])
        return Mechanism(qualifier=qualifier, kind=kind, network=network, text=term)
    spec, cidr4, cidr6 = _domain_args(kind, rest, term)
    return Mechanism(
        qualifier=qualifier, kind=kind, domain_spec=spec, cidr4=cidr4, cidr6=cidr6, text=term
    )


def parse_spf(text: str) -> SpfRecord:
    """Parse one selected SPF record; any syntax error raises :class:`ParseError` (permerror).

    RFC 7208 3.1 restricts records to 7-bit ASCII; 4.6.1 separates terms by one or more
    spaces; 6 allows ``redirect`` and ``exp`` once each (a second one is a syntax error).
    """
    if not is_spf_record(text):
        raise ParseError("not an SPF record (no v=spf1)", where="spf")
    if not text.isascii():
        raise ParseError("SPF records are 7-bit ASCII (RFC 7208 3.1)", where="spf")
    mechanisms: list[Mechanism] = []
    modifiers: dict[str, str] = {}
    unknown: list[tuple[str, str]] = []
    for term in text[6:].split(" "):
        if not term:
            continue
        modifier = _MODIFIER.match(term)
        if modifier is not None and _looks_like_modifier(term):
            name, value = modifier.group(1).lower(), modifier.group(2)
            if name in ("redirect", "exp"):
                if name in modifiers:
                    raise ParseError(f"duplicate {name} modifier", where="spf")
                modifiers[name] = _validate_domain_spec(value)
            else:
                validate_macro_string(value)
                unknown.append((name, value))
            continue
        mechanisms.append(_parse_mechanism(term))
    return SpfRecord(
        text=text,
        mechanisms=tuple(mechanisms),
        redirect=modifiers.get("redirect"),
        exp=modifiers.get("exp"),
        unknown_modifiers=tuple(unknown),
    )


def _looks_like_modifier(term: str) -> bool:
    """A term is a modifier when a name is followed by ``=`` before any ``:`` or ``/``."""
    eq = term.find("=")
    cut = [i for i in (term.find(":"), term.find("/")) if i >= 0]
    return eq > 0 and (not cut or eq < min(cut))


@dataclass(frozen=True, slots=True, kw_only=True)
class MacroContext:
    """Values the macro letters expand to (RFC 7208 7.3); ``validated`` is ``%{p}``."""

    sender: str
    domain: str
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    helo: str
    validated: str = "unknown"
    receiver: str = "unknown"
    timestamp: int = 0


def _letter_value(letter: str, ctx: MacroContext) -> str:
    local, _, sender_domain = ctx.sender.rpartition("@")
    if letter == "i":
        if ctx.ip.version == 4:
            return str(ctx.ip)
        return ".".join(ctx.ip.exploded.replace(":", ""))
    values = {
        "s": ctx.sender,
        "l": local or "postmaster",
        "o": sender_domain,
        "d": ctx.domain,
        "p": ctx.validated,
        "v": "in-addr" if ctx.ip.version == 4 else "ip6",
        "h": ctx.helo,
        "c": str(ctx.ip),
        "r": ctx.receiver,
        "t": str(ctx.timestamp),
    }
    return values[letter]


def _transform(value: str, digits: str, reverse: str, delimiters: str) -> str:
    parts = re.split("[" + re.escape(delimiters or ".") + "]", value)
    if reverse:
        parts.reverse()
    if digits:
        parts = parts[-int(digits) :]
    return ".".join(parts)


def expand_macros(text: str, ctx: MacroContext, *, exp: bool = False) -> str:
    """Expand a validated macro-string (RFC 7208 7.3); upper-case letters are URL-escaped.

    For domain names (``exp=False``) the result is truncated from the left to 253 octets by
    whole labels and a trailing dot is dropped (7.3, suite ``domain-name-truncation``).
    """
    validate_macro_string(text, exp=exp)

    def one(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "%%":
            return "%"
        if whole == "%_":
            return " "
        if whole == "%-":
            return "%20"
        letter = match.group(1)
        value = _transform(
            _letter_value(letter.lower(), ctx), match.group(2), match.group(3), match.group(4)
        )
        return urllib.parse.quote(value, safe="-._~") if letter.isupper() else value

    out = _MACRO.sub(one, text)
    if exp:
        return out
    out = out.removesuffix(".")
    while len(out) > 253 and "." in out:
        out = out.split(".", 1)[1]
    return out
