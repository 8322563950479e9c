"""Normalise email addresses and domains so that one mailbox has exactly one spelling.

The suppression list is only as good as its keys: ``" Bob@Example.COM "`` and
``bob@example.com`` must collide, and so must ``user@bücher.example`` and
``user@xn--bcher-kva.example``. Rules:

* trim whitespace and one pair of angle brackets (``<a@b>`` from headers and DSN fields);
* the domain is lower-cased and IDNA-encoded (UTS #46 / IDNA 2008 via the ``idna`` package,
  because the stdlib codec implements the obsolete IDNA 2003);
* the local part is lower-cased unless the caller opts out. RFC 5321 2.4 lets a host treat
  local parts case-sensitively, but no large mailbox provider does, and a list that keeps
  ``Bob`` and ``bob`` apart sends to people who asked not to be mailed;
* length limits of RFC 5321 4.5.3.1: local part <= 64 octets, domain <= 255, path <= 254.
"""

from __future__ import annotations

import re

import idna

from parsers.errors import ParseError

__all__ = ["AddressError", "normalize_address", "normalize_domain", "split_address"]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Atext of RFC 5322 3.2.3 plus dots, and UTF-8 (RFC 6531 SMTPUTF8 local parts); quoted local
# parts are accepted verbatim below.
_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\u0080-\U0010ffff-]+$")
_ASCII_DOMAIN = re.compile(r"^[A-Za-z0-9.-]+$")
# The shape of nearly every real address, already lower-cased: checked in one regex so that a
# million-row import does not pay for the general path (which gives the same answer). The
# domain is a label then dot-labels: written as (label dot)+ label, the last label was matched
# twice (once as a would-be "label." and again after backtracking), 40 % of the regex's time.
_LDH = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_COMMON = re.compile(
    rf"[a-z0-9!#$%&'*+/=?^_`{{|}}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{{|}}~-]+)*@{_LDH}(?:\.{_LDH})+"
)


# NUL is not text in any mail path (RFC 5321 4.1.2 qtextSMTP) and a lone surrogate is a byte
# that was not UTF-8 (read with ``surrogateescape``): neither can be stored or printed.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class AddressError(ParseError):
    """Not a usable email address or domain."""


def normalize_domain(domain: str) -> str:
    """Lower-case and IDNA-encode ``domain``; raise ``AddressError`` when it is not one."""
    d = domain.strip().rstrip(".")
    if d.startswith("@"):
        d = d[1:]
    if not d:
        raise AddressError("empty domain")
    if d.startswith("[") and d.endswith("]"):  # address literal, RFC 5321 4.1.3
        return d.lower()
    if _ASCII_DOMAIN.match(d):
        d = d.lower()
    else:
        try:
            d = idna.encode(d, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise AddressError(f"invalid internationalised domain {domain!r}: {exc}") from exc
    labels = d.split(".")
    if len(d) > 253 or len(labels) < 2 or not all(_LABEL.match(lb) for lb in labels):
        raise AddressError(f"invalid domain {domain!r}")
    return d


def split_address(address: str) -> tuple[str, str]:
    """Split at the last ``@`` after trimming; raise ``AddressError`` if there is none."""
    a = address.strip()
    if a.startswith("<") and a.endswith(">"):
        a = a[1:-1].strip()
    if a.lower().startswith("mailto:"):
        a = a[7:]
    at = a.rfind("@")
    if at <= 0 or at == len(a) - 1:
        raise AddressError(f"not an email address: {address!r}")
    return a[:at], a[at + 1 :]


def normalize_address(address: str, *, lowercase_local: bool = True) -> str:
    """The canonical form of ``address`` used as a key everywhere in deliverwatch."""
    if lowercase_local:
        fast = address.strip().lower()
        if len(fast) <= 254 and _COMMON.fullmatch(fast) and fast.find("@") <= 64:
            return fast
    if _UNSTORABLE.search(address):
        raise AddressError(f"NUL or a byte that is not UTF-8 in {address!r}")
    local, domain = split_address(address)
    quoted = len(local) >= 2 and local.startswith('"') and local.endswith('"')
    if not quoted and (
        not _DOT_ATOM.match(local) or local.startswith(".") or local.endswith(".") or ".." in local
    ):
        raise AddressError(f"invalid local part in {address!r}")
    if quoted and any(c in local for c in "\r\n"):
        raise AddressError(f"invalid quoted local part in {address!r}")
    if len(local.encode("utf-8")) > 64:
        raise AddressError(f"local part longer than 64 octets in {address!r}")
    if lowercase_local:
        local = local.lower()
    result = f"{local}@{normalize_domain(domain)}"
    if len(result) > 254:
        raise AddressError(f"address longer than 254 octets: {address!r}")
    return result
