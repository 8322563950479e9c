"""Apple, Yahoo, Tencent, KDDI, Mimecast, GoDaddy, Cox and Orange/La Poste answers."""

from __future__ import annotations

import re

from parsers.records import Reason
from parsers.rhost.base import rules

_R = Reason

# https://support.apple.com/102322 (iCloud Mail postmaster information)
APPLE = rules(
    {
        _R.AUTH_FAILURE: [r"'s dmarc policy|failing both spf and dkim"],
        _R.BLOCKED: [
            r"domain present in the spamhaus|rejected due to listing in spamhaus",
            r"proofpoint\.com/dnsbl-lookup|not accepting connections",
        ],
        _R.HAS_MOVED: [r"recipient no longer on server"],
        _R.MAILBOX_FULL: [r"user is over quota"],
        _R.NO_RELAYING: [r"relay access denied"],
        _R.NOT_ACCEPT: [r"host/domain does not accept mail"],
        _R.POLICY_VIOLATION: [r"due to local policy"],
        _R.REJECTED: [r"sender address rejected"],
        _R.SPEEDING: [r"due to excessive volume"],
        _R.USER_UNKNOWN: [r"inactive email address|user does not exist|unknown or illegal alias"],
    }
)
# https://senders.yahooinc.com/smtp-error-codes
YAHOO = rules(
    {
        _R.AUTH_FAILURE: [r"requires all senders to authenticate with either spf or dkim"],
        # [TSS04] "temporarily deferred due to unexpected volume or user complaints": Yahoo
        # refuses this sender for now (corpus rhost-yahooinc-02 labels it "rejected")
        _R.REJECTED: [r" will be permanently deferred|deferred due to unexpected volume or user"],
        _R.BLOCKED: [r"because the ip is in spamhaus's list|on spamhaus xbl"],
        _R.NO_RELAYING: [r"relaying denied for "],
        _R.NOT_COMPLIANT_RFC: [r"headers are not rfc compliant"],
        _R.POLICY_VIOLATION: [r"not accepted for policy reasons"],
        _R.SPEEDING: [r"user is receiving mail too quickly"],
        _R.SUSPEND: [r" is no longer valid\.|this mailbox is disabled"],
        _R.SYNTAX_ERROR: [r"syntax error in parameters or arguments"],
        _R.TOO_MANY_CONN: [r"max message per connection reached"],
        _R.USER_UNKNOWN: [r"dd this user doesn't have a |mailbox not found"],
    }
)
# https://service.mail.qq.com/detail/122
TENCENT = rules(
    {
        _R.AUTH_FAILURE: [r"spf check failed|dmarc check failed"],
        _R.BLOCKED: [r"suspected bounce attacks|suspected spam ip|connection denied"],
        _R.MESG_TOO_BIG: [r"message too large"],
        _R.SPAM_DETECTED: [r"spam is embedded in the email|mail content denied"],
        _R.REJECTED: [r"suspected spam|mail is rejected by recipients"],
        _R.SPEEDING: [r"mailbox unavailable or access deni"],
        _R.SUSPEND: [r"is a deactivated mailbox"],
        _R.SYNTAX_ERROR: [r"bad address syntax"],
        _R.TOO_MANY_CONN: [r"(?:ip|domain|sender|connection) frequency limited"],
        _R.USER_UNKNOWN: [r"mailbox not found"],
    }
)
# au (KDDI): "550 : User unknown" is the carrier's refusal by the recipient's filter
# settings; "550 <addr>: User unknown" is a real unknown user.
KDDI = rules({_R.FILTERED: [r"550 : user unknown"], _R.USER_UNKNOWN: [r">: user unknown"]})
# https://community.mimecast.com/s/article/email-security-cloud-gateway-mimecast-smtp-error-codes
MIMECAST = rules(
    {
        _R.AUTH_FAILURE: [r"(?:spf|dkim|dmarc) sender invalid - envelope rejected"],
        _R.BAD_REPUTATION: [r"internal resources are temporarily unavailable|ip reputation"],
        _R.BLOCKED: [
            r"sender address blocked|recipient temporarily unavailable"
            r"|ip temporarily blacklisted"
        ],
        _R.MESG_TOO_BIG: [r"maximum email size exceeded"],
        _R.NETWORK_ERROR: [r"incorrect hostname used for inbounds|mail loop detected"],
        _R.NO_RELAYING: [r"open relay (?:is )?not allowed"],
        _R.NOT_ACCEPT: [r"account inbounds disabled"],
        _R.POLICY_VIOLATION: [
            r"anti-spoofing policy|content examination policy"
            r"|host network,? not allowed"
        ],
        _R.REJECTED: [r"envelope blocked|blocked senders|envelope rejected - block policy"],
        _R.SECURITY_ERROR: [
            r"incorrect authentication data|submitter failed to"
            r"|this route requires|configuration is invalid for this certificate"
        ],
        _R.SYSTEM_ERROR: [r"unable to process|message ended early"],
        _R.TOO_MANY_CONN: [
            r"account service is temporarily unavailable|too many recipients"
            r"|exceeding outbound thread limit"
        ],
        _R.VIRUS_DETECTED: [r"email rejected due to security policies"],
        _R.USER_UNKNOWN: [r"invalid address|user unknown|recipient address rejected"],
    }
)
# https://www.godaddy.com/help/what-does-my-email-bounceback-mean-3568 ("IBnnn" codes)
GODADDY_CODES = {
    "IB401": _R.SECURITY_ERROR,
    "IB501": _R.NOT_COMPLIANT_RFC,
    "IB502": _R.NOT_COMPLIANT_RFC,
    "IB506": _R.REJECTED,
    "IB508": _R.AUTH_FAILURE,
    "IB108": _R.REQUIRE_PTR,
    "IB212": _R.SPAM_DETECTED,
    "IB705": _R.VIRUS_DETECTED,
    "IB605": _R.TOO_MANY_CONN,
    "IB007": _R.TOO_MANY_CONN,
    "IB101": _R.SPEEDING,
    "IB110": _R.BLOCKED,
    "IB111": _R.BLOCKED,
    "IB112": _R.BLOCKED,
    "IB113": _R.BLOCKED,
    "IB504": _R.SPEEDING,
    "IB510": _R.SPEEDING,
    "IB607": _R.SPEEDING,
    "IB103": _R.BAD_REPUTATION,
    "IB104": _R.BLOCKED,
    "IB105": _R.BLOCKED,
    "IB106": _R.BLOCKED,
}
GODADDY = rules(
    {
        _R.BLOCKED: [r"rbl reject|www\.spamhaus\.org/query/bl\?ip="],
        _R.EXPIRED: [r"has been in the queue too long|delivery timeout"],
        _R.MAILBOX_FULL: [r"account storage limit"],
        _R.SPAM_DETECTED: [r"message rejected for spam or virus content"],
        _R.SUSPEND: [r"account disabled"],
        _R.SYSTEM_ERROR: [r"message is looping"],
        _R.USER_UNKNOWN: [r"recipient not found|account does not exist"],
    }
)
# https://www.cox.com/residential/support/email-error-codes.html ("AUP#CXBL" codes)
COX_CODES = {
    "CXBL": _R.BLOCKED,
    "CDRBL": _R.BLOCKED,
    "CXDNS": _R.REQUIRE_PTR,
    "CXSNDR": _R.AUTH_FAILURE,
    "CXSMTP": _R.REJECTED,
    "CXCNCT": _R.TOO_MANY_CONN,
    "CXMXRT": _R.TOO_MANY_CONN,
    "CXTHRT": _R.SECURITY_ERROR,
    "CXMJ": _R.SECURITY_ERROR,
}
COX = rules(
    {
        _R.BLOCKED: [r"too many bad commands from|too many invalid recipients"],
        _R.REQUIRE_PTR: [r"dns check failure - try again later|rejected - no rdns"],
        _R.POLICY_VIOLATION: [r"esmtp no data before greeting|attachment extension is forbidden"],
        _R.REJECTED: [r"sender rejected"],
        _R.SYSTEM_ERROR: [r"esmtp server temporarily not available"],
        _R.TOO_MANY_CONN: [r"too many sessions from|try again later|message threshold exceeded"],
        _R.USER_UNKNOWN: [r"recipient rejected"],
    }
)
# Spectrum (Charter): "AUP#I-1000", "AUP#O-1540"; I = incoming, O = outgoing
# https://www.spectrumbusiness.net/support/internet/understanding-email-error-codes
SPECTRUM_RANGES: tuple[tuple[int, int, Reason], ...] = (
    (1000, 1000, _R.BLOCKED),  # IP blocked for suspicious activity
    (1010, 1080, _R.REJECTED),  # the sending account is blocked or limited
    (1090, 1090, _R.SYSTEM_ERROR),  # cannot be processed now
    (1100, 1150, _R.BLOCKED),  # DNS problems of the connecting IP
    (1160, 1190, _R.POLICY_VIOLATION),  # against the domain's security policy
    (1200, 1250, _R.BLOCKED),  # Cloudmark CSI or Spamhaus listing
    (1260, 1260, _R.NETWORK_ERROR),  # IPv6 not accepted
    (1300, 1490, _R.TOO_MANY_CONN),  # connection and volume limits
    (1500, 1520, _R.REJECTED),  # sender address not the signed-in one
    (1530, 1530, _R.MESG_TOO_BIG),  # over 20 MB
    (1540, 1550, _R.TOO_MANY_CONN),  # too many messages or recipients per session
    (1560, 1560, _R.POLICY_VIOLATION),  # too many invalid recipients
)
_SPECTRUM_CODE = re.compile(r"AUP#[-A-Za-z]*(\d{4})")


def spectrum_codes(_status: str, _reply: str, text: str) -> Reason | None:
    """The reason a Spectrum "AUP#" code stands for."""
    match = _SPECTRUM_CODE.search(text)
    if match is None:
        return None
    code = int(match.group(1))
    return next((r for low, high, r in SPECTRUM_RANGES if low <= code <= high), None)


# i.ua (Ukraine): answers link to "https://mail.i.ua/err/<code>/"
IUA_CODES = {
    "1": _R.NO_RELAYING,  # SMTP as a mail gate is forbidden
    "2": _R.USER_UNKNOWN,
    "3": _R.SUSPEND,  # mailbox unused for more than three months
    "4": _R.MAILBOX_FULL,
    "5": _R.TOO_MANY_CONN,  # sending limit exceeded
    "6": _R.NO_RELAYING,  # use your provider's SMTP server
    "7": _R.BLOCKED,  # bad HELO/EHLO argument
    "8": _R.REJECTED,  # sender address could not be verified
    "9": _R.BLOCKED,  # sender IP blacklisted
    "10": _R.FILTERED,  # not in the recipient's address list
}
IUA_ERR = re.compile(r"\.i\.ua/err/(\d{1,2})\b", re.IGNORECASE)


def iua_codes(_status: str, _reply: str, text: str) -> Reason | None:
    """The reason an i.ua error page number stands for."""
    match = IUA_ERR.search(text)
    return IUA_CODES.get(match.group(1).lstrip("0") or "0") if match else None


# NTT docomo: its MTA says "550 Unknown user" both for unknown mailboxes (at RCPT) and for
# mail the recipient's filter settings refuse (at DATA); the status and the command tell.
_DOCOMO_TEXT: tuple[tuple[re.Pattern[str], Reason], ...] = (
    (re.compile(r"552 too much mail data"), _R.MAILBOX_FULL),
    (re.compile(r"552 too many recipients"), _R.TOO_MANY_CONN),
    (
        re.compile(r"503 bad sequence of commands|504 command parameter not implemented"),
        _R.SYNTAX_ERROR,
    ),
)
# the command as MTAs name it: "(in reply to end of DATA command)", ">>> RCPT To:<...>"
_DOCOMO_AT_DATA = re.compile(r"\bDATA\b")
_DOCOMO_AT_RCPT = re.compile(r"\bRCPT\b")


def docomo_codes(status: str, _reply: str, text: str) -> Reason | None:
    """docomo's reason from the status first, then its wording and the failed command."""
    if status in ("5.1.1", "5.0.911"):
        return _R.USER_UNKNOWN
    if status == "5.2.0":
        return _R.FILTERED
    lowered = text.lower()
    found = next((r for pattern, r in _DOCOMO_TEXT if pattern.search(lowered)), None)
    if found is not None or status != "5.0.0":
        return found
    if _DOCOMO_AT_RCPT.search(text):
        return _R.USER_UNKNOWN
    return _R.REJECTED if _DOCOMO_AT_DATA.search(text) else None


# Orange / La Poste: "OFR_506", "LPN007_426", "OFR004_405 [405]" error references
FRANCE_CODES = {
    "101": _R.BLOCKED,
    "102": _R.BLOCKED,
    "103": _R.BLOCKED,
    "104": _R.TOO_MANY_CONN,
    "305": _R.SECURITY_ERROR,
    "401": _R.BLOCKED,
    "402": _R.SECURITY_ERROR,
    "403": _R.REJECTED,
    "405": _R.REJECTED,
    "415": _R.REJECTED,
    "416": _R.USER_UNKNOWN,
    "417": _R.MAILBOX_FULL,
    "418": _R.USER_UNKNOWN,
    "420": _R.SUSPEND,
    "421": _R.REJECTED,
    "426": _R.SUSPEND,
    "505": _R.SYSTEM_ERROR,
    "506": _R.SPAM_DETECTED,
    "510": _R.BLOCKED,
    "514": _R.MESG_TOO_BIG,
    "517": _R.POLICY_VIOLATION,
    "630": _R.POLICY_VIOLATION,
    "999": _R.BLOCKED,
}
FRANCE_REF = re.compile(r"\b(?:LPN|LPNAAA|OFR|OUK)(?:_[0-9]{3}|[0-9]{3}[-_][0-9]{3})\b", re.I)
IB = re.compile(r"\b(IB\d{3})\b", re.IGNORECASE)
AUP = re.compile(r"AUP#([0-9A-Z]+)")
