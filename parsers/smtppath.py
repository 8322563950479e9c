"""SMTP paths and parameters of MAIL FROM / RCPT TO (RFC 5321 4.1.2, RFC 3461, RFC 6531).

The submission relay decides from this what it will accept. A bulk relay has no business with
the address forms that exist for routing tricks, and every one of them is refused with a
reason (the relay answers ``501 5.1.3``): source routes (``<@a,@b:user@c>``, RFC 5321 4.1.2
says they SHOULD be ignored; here they are refused), the ``%`` hack and ``!`` (UUCP bang)
paths in the local part, a quoted local part holding ``@``, address literals
(``user@[192.0.2.1]``, which bypass MX routing), bare host names, and non-ASCII without
SMTPUTF8 (RFC 6531 3.4). Plain quoted local parts (``"a..b"@example.org``) are valid mail
and accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsers.errors import ParseError

__all__ = ["PathError", "SmtpPath", "parse_params", "parse_path", "xtext_decode"]

_ATOM = re.compile(r"[A-Za-z0-9!#$&'*+/=?^_`{|}~%-]+")  # RFC 5321 atext; % and ! refused below
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_QUOTED = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*)"')
_PARAM = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*)(?:=([\x21-\x3c\x3e-\x7e]+))?")


class PathError(ParseError):
    """An address the relay will not accept; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class SmtpPath:
    """A mailbox from an SMTP command: the local part as sent, the domain lower-cased."""

    local: str
    domain: str

    @property
    def address(self) -> str:
        return f"{self.local}@{self.domain}"


def _local_part(text: str, smtputf8: bool) -> str:
    if text.startswith('"'):
        m = _QUOTED.fullmatch(text) if text.isascii() else None
        if m is None and smtputf8:
            m = re.fullmatch(r'"((?:[^"\\\r\n]|\\.)*)"', text)
        if m is None:
            raise PathError("malformed quoted local part")
        inner = re.sub(r"\\(.)", r"\1", m.group(1))
        if set(inner) & set("@%!"):
            raise PathError("a quoted local part may not contain '@', '%' or '!'")
        return text
    atoms = text.split(".")
    if not all(atoms):
        raise PathError("empty label in the local part")
    for atom in atoms:
        if not (_ATOM.fullmatch(atom) or (smtputf8 and not atom.isascii() and atom.isprintable())):
            if not atom.isascii() and not smtputf8:
                raise PathError("non-ASCII local part without SMTPUTF8")
            raise PathError(f"invalid character in the local part {text!r}")
    if set(text) & set("%!"):
        raise PathError("'%' and '!' routing in the local part is not accepted")
    return text


def _domain(text: str, smtputf8: bool) -> str:
    if text.startswith("["):
        raise PathError("address literals are not accepted: give a domain")
    domain = text.rstrip(".").lower()
    if not domain.isascii():
        if not smtputf8:
            raise PathError("non-ASCII domain without SMTPUTF8")
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise PathError(f"invalid internationalised domain: {exc}") from None
    labels = domain.split(".")
    if len(labels) < 2:
        raise PathError(f"{text!r} is not a fully qualified domain")
    if len(domain) > 253 or not all(_LABEL.fullmatch(x) for x in labels):
        raise PathError(f"{text!r} is not a valid domain")
    return domain


def parse_path(text: str, *, smtputf8: bool = False) -> SmtpPath | None:
    """The mailbox of an SMTP path ``<local@domain>``; None for the null path ``<>``.

    Raises ``PathError`` for what the relay refuses (module docstring).
    """
    text = text.strip()
    if not text.startswith("<") and text and not any(c.isspace() for c in text):
        text = f"<{text}>"  # RFC 5321 requires the brackets; like Postfix, take it anyway
    if not (text.startswith("<") and text.endswith(">")):
        raise PathError("the address must be in angle brackets: <user@example.org>")
    inner = text[1:-1]
    if not inner:
        return None
    if inner.startswith("@"):
        raise PathError("source routes are not accepted")
    if len(inner.encode("utf-8")) > 254:
        raise PathError("path longer than RFC 5321 allows")
    at = inner.rfind("@")
    if at <= 0:
        raise PathError("an address needs a local part and a domain")
    local, domain = inner[:at], inner[at + 1 :]
    if len(local.encode("utf-8")) > 64:
        raise PathError("local part longer than 64 octets")
    return SmtpPath(_local_part(local, smtputf8), _domain(domain, smtputf8))


_XTEXT = re.compile(r"(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*")


def xtext_decode(text: str) -> str:
    """RFC 3461 4: ``+HH`` stands for the octet HH (ENVID and ORCPT values)."""
    if not _XTEXT.fullmatch(text):
        raise PathError("malformed xtext")
    return re.sub(r"\+([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), text)


def parse_params(text: str) -> dict[str, str | None]:
    """ESMTP parameters after the path (``SIZE=1000 BODY=8BITMIME NOTIFY=FAILURE``): upper-
    cased keyword -> value as sent (None for a keyword without one)."""
    params: dict[str, str | None] = {}
    for word in text.split():
        m = _PARAM.fullmatch(word)
        if m is None:
            raise PathError(f"malformed parameter {word[:40]!r}")
        key = m.group(1).upper()
        if key in params:
            raise PathError(f"parameter {key} given twice")
        params[key] = m.group(2)
    return params
