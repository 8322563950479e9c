"""Microsoft (Exchange Online, Outlook.com) answers and enhanced-code ranges."""

from __future__ import annotations

import re

from parsers.records import Reason
from parsers.rhost.base import rules

_R = Reason

# https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/
MICROSOFT = rules(
    {
        _R.AUTH_FAILURE: [
            r"must pass either spf or dkim validation|does not pass dmarc verification",
            r"rejected because of sender policy framework violation",
            r"tlsa-invalid|dnssec-invalid|certificate-host-mismatch|certificate-expired",
        ],
        _R.BAD_REPUTATION: [r"rate limited due to ip reputation"],
        _R.BLOCKED: [
            r"access denied, (?:bad helo|rejected by recipient|banned sender|banned sending ip)",
            r"does not accept email over ipv6|using customer block list",
            r"must have a reverse dns record|part of their network is on our block list",
            r"restrictdomainstoipaddresses|access denied, please try again later",
        ],
        _R.CONTENT_ERROR: [r"invalid characters|too many related errors|invalid message content"],
        _R.EXCEED_LIMIT: [r"message too large for this recipient"],
        _R.MESG_TOO_BIG: [r"message size exceeds fixed maximum|message too big for system"],
        _R.NETWORK_ERROR: [r"routing loop detected|hop count exceeded|nonexistent domain"],
        _R.NO_RELAYING: [r"unable to relay|relay access denied"],
        _R.POLICY_VIOLATION: [r"x-dg-ref header is too long|policy violation detected \(as345\)"],
        _R.REJECTED: [
            r"sender denied|bad outbound sender|spam abuse detected|unknown sender address",
            r"sender (?:was )?not authenticated|not in allowed-senders list",
            r"message must be rfc 5322 section 3\.6\.2 compliant|unregistered domains",
        ],
        _R.SECURITY_ERROR: [
            r"cannot achieve exchange server authentication|client was not authenticated",
            r"starttls is required to send mail|destination mail server must support tls",
        ],
        _R.SPAM_DETECTED: [r"content filter agent quarantined this message"],
        _R.SPEEDING: [
            r"recipient thread limit exceeded|reached your daily limit for message recipients",
            r"submission quota exceeded|per hour message receive limit",
            r"has exceeded permitted limits within|tenant has exceeded threshold",
            r"traffic not accepted from this ip",
        ],
        _R.SUSPEND: [r"access denied, banned recipient|mailbox cannot be accessed"],
        _R.SYSTEM_ERROR: [
            r"system incorrectly configured|server busy\. please try again later",
            r"pfa agent busy|message failed to be replicated|suspiciousremoteservererror",
        ],
        _R.SYSTEM_FULL: [r"insufficient system resources"],
        _R.TOO_MANY_CONN: [r"too many recipients|exceeded their limit for"],
        _R.USER_UNKNOWN: [
            r"resolver\.adr\.(?:exrecipnotfound|recipientnotfound|recipnotfound)",
            r"recipient not found by smtp address lookup|invalid recipient address",
            r"recipient address reserved by rfc 2606",
        ],
    }
)
_MS_CODE = re.compile(r"\b([45])\.([0-9])\.([0-9]{1,3})\b")
# Exchange Online enhanced codes whose detail number alone names the reason
_MS_RANGES: tuple[tuple[str, int, int, Reason], ...] = (
    ("5.7", 501, 503, _R.REJECTED),
    ("5.7", 504, 505, _R.SUSPEND),
    ("5.7", 506, 507, _R.BLOCKED),
    ("5.7", 508, 508, _R.SPEEDING),
    ("5.7", 509, 509, _R.AUTH_FAILURE),
    ("5.7", 510, 511, _R.BLOCKED),
    ("5.7", 512, 512, _R.REJECTED),
    ("5.7", 513, 513, _R.BLOCKED),
    ("5.7", 606, 649, _R.BLOCKED),
    ("5.7", 700, 749, _R.SPEEDING),
    ("5.7", 750, 750, _R.REJECTED),
    ("5.7", 900, 999, _R.POLICY_VIOLATION),
    ("4.7", 500, 699, _R.BLOCKED),
    ("4.7", 850, 899, _R.BLOCKED),
)


def microsoft_codes(status: str, _reply: str, text: str) -> Reason | None:
    for match in _MS_CODE.finditer(f"{status} {text}"):
        prefix, detail = f"{match.group(1)}.{match.group(2)}", int(match.group(3))
        for code_prefix, low, high, reason in _MS_RANGES:
            if prefix == code_prefix and low <= detail <= high:
                return reason
    return None
