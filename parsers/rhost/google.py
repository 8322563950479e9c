"""Google (Gmail and Workspace) answers, from Google's SMTP error reference."""

from __future__ import annotations

from parsers.records import Reason
from parsers.rhost.base import rules

_R = Reason

# https://support.google.com/a/answer/3726730 (SMTP error reference)
GOOGLE = rules(
    {
        _R.AUTH_FAILURE: [
            r"spf record of the sending domain has one or more suspicious entries",
            r"requires all (?:senders|large senders|bulk email senders) to authenticate",
            r"fails to pass spf checks|has an spf record with a hard fail policy",
            r"is not accepted due to domain's dmarc policy",
            r"fails to pass authentication checks",
        ],
        _R.BAD_REPUTATION: [r"suspicious due to the very low reputation of the sending"],
        _R.BLOCKED: [
            r"ip not in whitelist for rcpt domain",
            r"try again later, closing connection",
            r"helo/ehlo argument is invalid|empty helo/ehlo argument",
            r"an unusual rate of unsolicited mail",
        ],
        _R.EXCEED_LIMIT: [r"exceeds google's limit of", r"message header size limit"],
        _R.MESG_TOO_BIG: [r"exceeded google's message size limits|google's message size limit"],
        _R.EXPIRED: [r"connection expired|timeout - closing connection"],
        _R.MAILBOX_FULL: [
            r"inbox is out of storage space|account that you tried to reach is over quota",
            r"email quota exceeded",
        ],
        _R.NETWORK_ERROR: [r"exceeded \d+ hops, this may indicate a mail loop"],
        _R.NO_RELAYING: [
            r"mail relay denied|invalid credentials for relay",
            r"not authorized to send email directly to our servers",
        ],
        _R.NOT_COMPLIANT_RFC: [
            r"not rfc 5322 compliant|missing a valid (?:address in the from|message-id)",
            r"multiple addresses in from:|unicode character in a disallowed header",
            r"encoded-word syntax is not permitted|mail message is malformed",
        ],
        _R.POLICY_VIOLATION: [
            r"illegal attachment|content presents a potential security issue",
            r"has a policy that prohibited the mail",
            r"quota for sending messages with the same message-id",
        ],
        _R.REJECTED: [r"mail sending denied|unauthenticated email is not accepted from this"],
        _R.REQUIRE_PTR: [
            r"ipv6 sending guidelines regarding ptr|does not have a ptr record",
            r"have a ptr record, or the ptr record",
            r"sending ip does not match the ip address of the hostname",
        ],
        _R.SECURITY_ERROR: [
            r"tls required for rcpt domain|too many login attempts",
            r"no identity changes permitted|application-specific password required",
            r"log in (?:with|through) your web browser|username and password not accepted",
            r"requires all large senders to use tls",
        ],
        _R.SPAM_DETECTED: [
            r"suspicious due to the nature of the content",
            r"this message is likely unsolicited mail",
        ],
        _R.SPEEDING: [
            r"receiving mail too quickly|receiving mail at a rate that prevents",
            r"relay limit exceeded|daily (?:user )?sending (?:quota|limit) exceeded",
            r"this mail has been rate limited",
        ],
        _R.SUSPEND: [r"account that you tried to reach is (?:disabled|inactive)"],
        _R.SYNTAX_ERROR: [
            r"smtp protocol violation|bad sequence of commands|unrecognized command",
            r"unimplemented command|must issue a starttls command first",
        ],
        _R.SYSTEM_ERROR: [
            r"temporary system problem|server busy",
            r"multiple destination domains per transaction",
            r"mail server (?:has )?temporarily rejected",
        ],
        _R.TOO_MANY_CONN: [r"too many recipients"],
        _R.USER_UNKNOWN: [
            r"account that you tried to reach does not exist",
            r"weren't able to find the recipient domain",
            r"recipient address .{0,80}is not a valid rfc 5321 address",
        ],
    }
)
