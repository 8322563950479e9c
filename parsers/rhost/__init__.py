"""Reasons refined by what a known mailbox provider's servers say.

Large providers answer with their own stable wordings and codes (documented in their
postmaster pages). When the remote MTA belongs to one of them, those wordings decide the
reason before the generic phrase tables do: "550 5.7.1" from Gmail can mean spam, a bad
reputation, missing authentication or an unregistered relay, and only the text tells.
Host suffixes and the reason grouping follow the provider modules of Sisimai 5
(BSD-2-Clause); the patterns are our own, written against the providers' documentation.
"""

from __future__ import annotations

import re

from parsers.records import Reason
from parsers.rhost import others
from parsers.rhost.base import Provider, code_table
from parsers.rhost.google import GOOGLE
from parsers.rhost.microsoft import MICROSOFT, microsoft_codes

__all__ = ["PROVIDERS", "Provider", "provider_for", "provider_reason", "reason_from"]

PROVIDERS: tuple[Provider, ...] = (
    Provider("google", ("aspmx.l.google.com", "gmail-smtp-in.l.google.com"), GOOGLE),
    Provider(
        "microsoft",
        (".prod.outlook.com", ".protection.outlook.com"),
        MICROSOFT,
        decide=microsoft_codes,
        keeps_family_reason=False,
    ),
    Provider("apple", (".mail.icloud.com", ".apple.com", ".me.com"), others.APPLE),
    Provider("yahoo", (".yahoodns.net",), others.YAHOO),
    Provider("tencent", (".qq.com",), others.TENCENT, keeps_family_reason=False),
    Provider("kddi", (".ezweb.ne.jp", "msmx.au.com"), others.KDDI, keeps_family_reason=False),
    Provider("mimecast", (".mimecast.com",), others.MIMECAST, keeps_family_reason=False),
    Provider(
        "godaddy",
        ("smtp.secureserver.net", "mailstore1.secureserver.net"),
        others.GODADDY,
        decide=code_table(others.IB, others.GODADDY_CODES),
        codes_first=True,
    ),
    Provider(
        "cox",
        ("cox.net",),
        others.COX,
        decide=code_table(others.AUP, others.COX_CODES),
        codes_first=True,
        keeps_family_reason=False,
    ),
    Provider(
        "spectrum",
        ("charter.net",),
        (),
        decide=others.spectrum_codes,
        codes_first=True,
        keeps_family_reason=False,
    ),
    Provider("iua", (".email.ua",), (), decide=others.iua_codes, codes_first=True),
    Provider(
        "nttdocomo",
        (".docomo.ne.jp",),
        (),
        decide=others.docomo_codes,
        codes_first=True,
        keeps_family_reason=False,
    ),
    Provider(
        "franceptt",
        (".laposte.net", ".orange.fr", ".wanadoo.fr"),
        (),
        decide=code_table(others.FRANCE_REF, others.FRANCE_CODES, last3=True),
    ),
)
#: Hosts that name themselves inside their answers ("... [XX.prod.protection.outlook.com]").
_HOST_IN_TEXT = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:prod\.)?(?:protection\.)?outlook\.com")


#: (host-name part, provider) in the order of PROVIDERS: the first hit is the same provider
_HOSTS = tuple((h, provider) for provider in PROVIDERS for h in provider.hosts)


def provider_for(host: str, text: str = "") -> Provider | None:
    """The provider whose MTA ``host`` is (by host-name suffix), or that names itself in text."""
    lowered = host.lower()
    if lowered:
        for part, provider in _HOSTS:
            if part in lowered:
                return provider
    lowered_text = text.lower()
    mention = _HOST_IN_TEXT.search(lowered_text) if "outlook.com" in lowered_text else None
    if mention is not None:
        return provider_for(mention.group(0))
    return None


def provider_reason(host: str, status: str, reply: str, text: str) -> Reason | None:
    """The reason a known provider's answer implies, or None (unknown host or wording)."""
    provider = provider_for(host, text)
    return None if provider is None else reason_from(provider, status, reply, text)


def reason_from(provider: Provider, status: str, reply: str, text: str) -> Reason | None:
    """The reason ``provider``'s answer ``text`` implies, or None (``provider_reason`` once
    the provider is known)."""
    if not text:
        return None
    lowered = text.lower()
    if provider.decide is not None and provider.codes_first:
        decided = provider.decide(status, reply, text)
        if decided is not None:
            return decided
    for reason, pattern in provider.rules:
        if pattern.search(lowered):
            return reason
    if provider.decide is not None and not provider.codes_first:
        return provider.decide(status, reply, text)
    return None
