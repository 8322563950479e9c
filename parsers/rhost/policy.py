"""Policy codes that mailbox providers publish for senders, with the source of each.

Large providers answer with their own codes and wordings ("[TSS04]", "RL000001",
"AUP#CXBL", "OFR_506", "LPN007_416", "(S3150)", "HL:IFC") and document them for senders.
A code names the provider and its meaning wherever the answer is quoted, so the bounce
means the same whether it came from the provider's MX, a relay, or an MTA nobody has
sampled that kept only the text (issue 18, point 3). ``CODES`` is that documentation as
data: each entry names the provider, the code, the reason and side it stands for, the page
that documents it, and a reply in the provider's documented wording (the tests parse each
one and check the reason, and that the side is never the other one).

``find`` is consulted after a known provider's host-based rules (``parsers.rhost``) and
before the generic phrase tables. A pattern is a lower-case regex over the reply; each is
specific to its provider (a code, the provider's own sentence, or its help URL), never a
wording other MTAs also use.

Sources: the providers' postmaster and help pages named in each entry. Where a provider
publishes no list of its own (La Poste), the entry names the page that collects its codes.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from parsers.phrases.lang import filed_as, tokens
from parsers.records import Reason, Side
from parsers.sides import side_of

__all__ = ["CODES", "PolicyCode", "find"]

_R = Reason
_S = Side.SENDER
_T = Side.RECIPIENT  # "to" side


@dataclass(frozen=True, slots=True)
class PolicyCode:
    """One documented provider code: what it means and who must act on it."""

    provider: str
    code: str
    reason: Reason
    side: Side
    source: str
    example: str
    #: lower-case regex over the reply; the escaped ``code`` when empty
    pattern: str = ""
    #: words (``parsers.phrases.lang.tokens``) one of which every match holds; from the
    #: pattern's plain words when empty
    keys: tuple[str, ...] = ()
    _regex: list[re.Pattern[str]] = field(default_factory=list, compare=False, repr=False)

    @property
    def regex(self) -> re.Pattern[str]:
        if not self._regex:
            self._regex.append(re.compile(self.pattern or re.escape(self.code.lower())))
        return self._regex[0]


GOOGLE = "https://support.google.com/a/answer/3726730"
MS_NDR = (
    "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/"
    "non-delivery-reports-in-exchange-online/non-delivery-reports-in-exchange-online"
)
OUTLOOK = "https://mail.live.com/mail/troubleshooting.aspx#errors"
YAHOO = "https://senders.yahooinc.com/smtp-error-codes/"
YAHOO_5_7_9 = "https://help.yahoo.com/kb/SLN7253.html"
AOL = "http://postmaster.aol.com/errors/"
APPLE = "https://support.apple.com/en-us/102322"
COMCAST = "http://postmaster.comcast.net/mail-error-codes.aspx"
XFINITY = "https://www.xfinity.com/support/articles/email-errors"
SPECTRUM = "https://www.spectrumbusiness.net/support/internet/understanding-email-error-codes"
COX = "https://www.cox.com/residential/support/email-error-codes.html"
ORANGE = "https://postmaster.orange.fr"
LAPOSTE = "https://www.postmastery.com/laposte-net-postmaster-smtp-error-codes-lpn/"
GMX = "https://postmaster.gmx.net/en/error-messages"
WEBDE = "https://postmaster.web.de/de/fehlermeldungen"
TONLINE = "https://postmaster.t-online.de/index.en.html"
MAILRU = "https://help.mail.ru/mail/"
YANDEX_SPAM = (
    "https://yandex.com/support/mail/bounces/yandex/message-rejected-under-suspicion-of-spam.html"
)
QQ = "https://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022"
NETEASE = "http://mail.163.com/help/help_spam_16.htm"


def _c(
    provider: str,
    code: str,
    reason: Reason,
    source: str,
    example: str,
    pattern: str = "",
    keys: tuple[str, ...] = (),
) -> PolicyCode:
    side = side_of(reason)
    if side is None:  # the data file only holds codes with a side; see parsers.sides
        raise ValueError(f"{provider} {code}: {reason} is on no side")
    return PolicyCode(provider, code, reason, side, source, example, pattern, keys)


CODES: tuple[PolicyCode, ...] = (
    # --- Google (Gmail, Workspace) --------------------------------------------------------
    _c("google", "421 4.7.28", _R.BLOCKED, GOOGLE,
       "421 4.7.28 Our system has detected an unusual rate of unsolicited mail originating "
       "from your IP address. To protect our users from spam, mail sent from your IP address "
       "has been temporarily rate limited. - gsmtp",
       r"unusual rate of unsolicited mail originating from your ip"),
    _c("google", "550 5.7.26 DMARC", _R.AUTH_FAILURE, GOOGLE,
       "550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's "
       "DMARC policy. Please contact the administrator of example.com domain. - gsmtp",
       r"is not accepted due to domain's dmarc policy"),
    _c("google", "550 5.7.26 SPF/DKIM", _R.AUTH_FAILURE, GOOGLE,
       "550 5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail "
       "requires all senders to authenticate with either SPF or DKIM. - gsmtp",
       r"gmail requires all senders to authenticate"),
    _c("google", "550 5.7.1 reputation", _R.BAD_REPUTATION, GOOGLE,
       "550 5.7.1 Our system has detected that this message is likely suspicious due to the "
       "very low reputation of the sending IP address. - gsmtp",
       r"suspicious due to the very low reputation of the sending"),
    _c("google", "550 5.7.1 unsolicited", _R.SPAM_DETECTED, GOOGLE,
       "550 5.7.1 Our system has detected that this message is likely unsolicited mail. To "
       "reduce the amount of spam sent to Gmail, this message has been blocked. - gsmtp",
       r"this message is likely unsolicited mail"),
    _c("google", "550 5.7.25", _R.REQUIRE_PTR, GOOGLE,
       "550 5.7.25 The IP address sending this message does not have a PTR record setup, or "
       "the corresponding forward DNS entry does not point to the sending IP. - gsmtp",
       r"does not have a ptr record setup"),
    _c("google", "550 5.7.1 From: header", _R.NOT_COMPLIANT_RFC, GOOGLE,
       "550 5.7.1 Messages with multiple addresses in From: header are not accepted. - gsmtp",
       r"multiple addresses in from: header are not accepted"),
    _c("google", "421 4.7.0 TLS", _R.SECURITY_ERROR, GOOGLE,
       "421 4.7.0 TLS required for RCPT domain, closing connection. - gsmtp",
       r"tls required for rcpt domain"),
    _c("google", "552 5.3.4", _R.MESG_TOO_BIG, GOOGLE,
       "552 5.3.4 Your message exceeded Google's message size limits. - gsmtp",
       r"exceeded google's message size limits"),
    _c("google", "550 5.1.1", _R.USER_UNKNOWN, GOOGLE,
       "550 5.1.1 The email account that you tried to reach does not exist. Please try "
       "double-checking the recipient's email address for typos. - gsmtp",
       r"5\.1\.1 the email account that you tried to reach does not exist"),
    _c("google", "550 5.2.1", _R.SUSPEND, GOOGLE,
       "550 5.2.1 The email account that you tried to reach is disabled. - gsmtp",
       r"5\.2\.1 the email account that you tried to reach is (?:disabled|inactive)"),
    _c("google", "452 4.2.2", _R.MAILBOX_FULL, GOOGLE,
       "452 4.2.2 The email account that you tried to reach is over quota. - gsmtp",
       r"[45]\.2\.2 the email account that you tried to reach is over quota"),
    # --- Microsoft (Exchange Online, Outlook.com) --------------------------------------------
    _c("microsoft", "5.7.606-649", _R.BLOCKED, MS_NDR,
       "550 5.7.606 Access denied, banned sending IP [192.0.2.1]. To request removal from "
       "this list please visit https://sender.office.com/ and follow the directions.",
       r"5\.7\.6(?:0[6-9]|[1-4]\d) access denied, banned sending ip",
       keys=tuple(f"5.7.{n}" for n in range(606, 650))),
    _c("microsoft", "5.7.509", _R.AUTH_FAILURE, MS_NDR,
       "550 5.7.509 Access denied, sending domain [EXAMPLE.COM] does not pass DMARC "
       "verification and has a DMARC policy of reject.",
       r"5\.7\.509 access denied, sending domain",
       keys=("5.7.509",)),
    _c("microsoft", "5.7.511", _R.BLOCKED, MS_NDR,
       "550 5.7.511 Access denied, banned sender[192.0.2.1]. To request removal from this "
       "list, forward this message to delist@microsoft.com.",
       r"5\.7\.511 access denied, banned sender",
       keys=("5.7.511",)),
    _c("microsoft", "5.7.708", _R.BLOCKED, MS_NDR,
       "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.",
       r"5\.7\.708 .{0,40}traffic not accepted from this ip",
       keys=("5.7.708",)),
    _c("microsoft", "5.7.750", _R.REJECTED, MS_NDR,
       "550 5.7.750 Service unavailable. Client blocked from sending from unregistered "
       "domains.",
       r"5\.7\.750 .{0,40}client blocked from sending from unregistered domains",
       keys=("5.7.750",)),
    _c("microsoft", "4.7.650", _R.BAD_REPUTATION, MS_NDR,
       "451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP "
       "reputation.",
       r"4\.7\.6[5-9]\d the mail server .{1,60} rate limited due to ip reputation",
       keys=tuple(f"4.7.{n}" for n in range(650, 700))),
    _c("microsoft", "5.1.10", _R.USER_UNKNOWN, MS_NDR,
       "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
       r"resolver\.adr\.recipientnotfound",
       keys=("resolver.adr.recipientnotfound",)),
    _c("microsoft", "5.4.1 DBEB", _R.USER_UNKNOWN, MS_NDR,
       "550 5.4.1 Recipient address rejected: Access denied. "
       "[AM5EUR02FT008.eop-EUR02.prod.protection.outlook.com]",
       r"5\.4\.1 .{0,80}recipient address rejected: access denied"),
    _c("microsoft", "S3140", _R.BLOCKED, OUTLOOK,
       "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your "
       "Internet service provider since part of their network is on our block list (S3140).",
       r"\(a?s3140\)",
       keys=("s3140", "as3140")),
    _c("microsoft", "S3150", _R.BLOCKED, OUTLOOK,
       "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your "
       "Internet service provider since part of their network is on our block list (S3150).",
       r"\(a?s3150\)",
       keys=("s3150", "as3150")),
    _c("microsoft", "SC-001", _R.BLOCKED, OUTLOOK,
       "550 SC-001 (BAY004-MC1F8) Unfortunately, messages from 192.0.2.1 weren't sent. "
       "Please contact your Internet service provider since part of their network is on our "
       "block list.",
       r"\bsc-00[1-3]\b",
       keys=("001", "002", "003")),
    _c("microsoft", "SC-004", _R.BLOCKED, OUTLOOK,
       "550 SC-004 (COL0-MC1-F1) Unfortunately, messages from 192.0.2.1 weren't sent. We "
       "recommend that you contact your Internet service provider.",
       r"\bsc-004\b",
       keys=("004",)),
    _c("microsoft", "DY-001", _R.BLOCKED, OUTLOOK,
       "550 DY-001 (SNT004-MC1F43) Unfortunately, messages from 192.0.2.1 weren't sent. We "
       "generally do not accept email from dynamic IP's.",
       r"\bdy-00[12]\b",
       keys=("001", "002")),
    _c("microsoft", "OU-002", _R.BLOCKED, OUTLOOK,
       "550 OU-002 (SNT004-MC4F15) Unfortunately, messages from 192.0.2.1 weren't sent. "
       "Please contact your Internet service provider.",
       r"\bou-00[12]\b",
       keys=("001", "002")),
    _c("microsoft", "RP-001", _R.SPEEDING, OUTLOOK,
       "421 RP-001 (BAY004-MC1F22) Unfortunately, some messages from 192.0.2.1 weren't sent. "
       "Please try again. We have limits for how many messages can be sent per hour and per "
       "day.",
       r"\brp-00[1-3] \(",
       keys=("001", "002", "003")),
    # --- Yahoo --------------------------------------------------------------------------------
    _c("yahoo", "TSS04", _R.BAD_REPUTATION, YAHOO,
       "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected "
       "volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
       r"\[tss04\]",
       keys=("tss04",)),
    _c("yahoo", "TS01", _R.BAD_REPUTATION, YAHOO,
       "421 4.7.0 [TS01] Messages from 192.0.2.1 temporarily deferred due to user complaints "
       "- 4.16.55.1",
       r"\[tss?01\]",
       keys=("ts01", "tss01")),
    _c("yahoo", "TSS09", _R.REJECTED, YAHOO,
       "421 4.7.0 [TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying "
       "will NOT succeed. See https://postmaster.yahooinc.com/error-codes",
       r"\[tss?0[39]\]",
       keys=("ts03", "tss03", "ts09", "tss09")),
    _c("yahoo", "BL21", _R.BLOCKED, YAHOO,
       "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is "
       "in Spamhaus's list; see http://postmaster.yahoo.com/550-bl23.html",
       r"\[bl2[1-3]\]",
       keys=("bl21", "bl22", "bl23")),
    _c("yahoo", "5.7.9 policy", _R.POLICY_VIOLATION, YAHOO_5_7_9,
       "554 5.7.9 Message not accepted for policy reasons.  See "
       "https://postmaster.yahooinc.com/error-codes",
       r"5\.7\.9 message not accepted for policy reasons"),
    _c("yahoo", "5.7.9 auth", _R.AUTH_FAILURE, YAHOO,
       "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo "
       "requires all senders to authenticate with either SPF or DKIM.",
       r"yahoo requires all senders to authenticate"),
    _c("yahoo", "dd no account", _R.USER_UNKNOWN, YAHOO,
       "554 delivery error: dd This user doesn't have a yahoo.com account "
       "(nobody@yahoo.com) [0] - mta1082.mail.bf1.yahoo.com",
       r"dd this user doesn't have a [^ ]+ account",
       keys=("dd",)),
    _c("yahoo", "554.30", _R.SUSPEND, YAHOO,
       "554 delivery error: dd Sorry your message to nobody@yahoo.com cannot be delivered. "
       "This mailbox is disabled (554.30). - mta1082.mail.bf1.yahoo.com",
       r"this mailbox is disabled \(554\.30\)"),
    # --- AOL (now on Yahoo's platform; its codes still circulate) ------------------------------
    _c("aol", "RLY:B1", _R.BLOCKED, AOL,
       "554 RLY:B1 http://postmaster.info.aol.com/errors/554rlyb1.html",
       r"\brly:b[1-3]\b",
       keys=("rly:b1", "rly:b2", "rly:b3")),
    _c("aol", "DYN:T1", _R.BLOCKED, AOL,
       "421 DYN:T1 http://postmaster.info.aol.com/errors/421dynt1.html",
       r"\bdyn:t[12]\b",
       keys=("dyn:t1", "dyn:t2")),
    _c("aol", "RTR:DU", _R.BLOCKED, AOL,
       "554 RTR:DU http://postmaster.info.aol.com/errors/554rtrdu.html",
       r"\brtr:(?:du|bb|ch|bg|rd)\b",
       keys=("rtr:du", "rtr:bb", "rtr:ch", "rtr:bg", "rtr:rd")),
    _c("aol", "HVU:B1", _R.BLOCKED, AOL,
       "554 HVU:B1 http://postmaster.info.aol.com/errors/554hvub1.html",
       r"\bhvu:b[12]\b",
       keys=("hvu:b1", "hvu:b2")),
    _c("aol", "CON:B1", _R.TOO_MANY_CONN, AOL,
       "421 CON:B1 http://postmaster.info.aol.com/errors/421conb1.html",
       r"\bcon:b1\b",
       keys=("con:b1",)),
    _c("aol", "RLY:SN", _R.REJECTED, AOL,
       "554 RLY:SN http://postmaster.info.aol.com/errors/554rlysn.html",
       r"\brly:sn\b",
       keys=("rly:sn",)),
    # --- Apple iCloud Mail ------------------------------------------------------------------------
    _c("apple", "CS01", _R.POLICY_VIOLATION, APPLE,
       "550 5.7.1 [CS01] Message rejected due to local policy. Please visit "
       "https://support.apple.com/en-us/HT204137",
       r"\[cs0[1-9]\] message rejected due to local policy"),
    _c("apple", "HM08", _R.POLICY_VIOLATION, APPLE,
       "554 5.7.1 [HM08] Message rejected due to local policy. Please visit "
       "https://support.apple.com/en-us/HT204137",
       r"\[hm0[1-9]\] message rejected due to local policy"),
    _c("apple", "5.7.1 DMARC", _R.AUTH_FAILURE, APPLE,
       "550 5.7.1 Your message was rejected due to example.com's DMARC policy. See "
       "https://support.apple.com/en-us/HT204137",
       r"your message was rejected due to .{1,100}'s dmarc policy"),
    _c("apple", "5.7.1 Spamhaus DBL", _R.BLOCKED, APPLE,
       "550 5.7.1 Your email was rejected due to having a domain present in the Spamhaus DBL "
       "-- see https://www.spamhaus.org/dbl/",
       r"rejected due to having a domain present in the spamhaus"),
    _c("apple", "4.7.1 volume", _R.SPEEDING, APPLE,
       "421 4.7.1 Messages to nobody@icloud.com deferred due to excessive volume. Try again "
       "later - https://support.apple.com/en-us/HT204137",
       r"messages to \S+ deferred due to excessive volume"),
    _c("apple", "5.2.2 quota", _R.MAILBOX_FULL, APPLE,
       "552 5.2.2 <nobody@icloud.com>: user is over quota (in reply to RCPT TO command)",
       r"@(?:icloud|me|mac)\.com>?: user is over quota",
       keys=("quota",)),
    _c("apple", "5.1.1 unknown", _R.USER_UNKNOWN, APPLE,
       "550 5.1.1 <nobody@icloud.com>: user does not exist",
       r"@(?:icloud|me|mac)\.com>?: user does not exist",
       keys=("exist",)),
    # --- Comcast (Xfinity) ------------------------------------------------------------------------
    _c("comcast", "ES000001", _R.BLOCKED, COMCAST,
       "554 5.7.1 resimta-po-01v.sys.comcast.net resimta ESMTP 192.0.2.1 rejected - see "
       "https://postmaster.comcast.net/smtp-error-codes.php#ES000001",
       r"\bes0000(?:01|10)\b",
       keys=("es000001", "es000010")),
    _c("comcast", "BL000000", _R.BLOCKED, COMCAST,
       "554 resimta-ch2-01v.sys.comcast.net resimta comcast 192.0.2.1 Comcast block for "
       "spam. Please see http://postmaster.comcast.net/smtp-error-codes.php#BL000000",
       r"\bbl000000\b",
       keys=("bl000000",)),
    _c("comcast", "BL000001", _R.BLOCKED, COMCAST,
       "554 resimta-ch2-01v.sys.comcast.net resimta comcast 192.0.2.1 found on one or more "
       "DNSBLs, see http://postmaster.comcast.net/smtp-error-codes.php#BL000001",
       r"\bbl000(?:0(?:01|10|11)|1[01][01])\b",
       keys=("bl000001", "bl000010", "bl000011", "bl000100", "bl000101", "bl000110", "bl000111")),
    _c("comcast", "RL000001", _R.SPEEDING, XFINITY,
       "452 4.2.0 resimta-ch2-01v.sys.comcast.net resimta comcast 192.0.2.1 rate limited "
       "- see http://postmaster.comcast.net/smtp-error-codes.php#RL000001",
       r"\brl0000(?:0[1-9]|10)\b",
       keys=tuple(f"rl0000{n:02d}" for n in range(1, 11))),
    _c("comcast", "421 too many sessions", _R.TOO_MANY_CONN, COMCAST,
       "421 resimta-ch2-01v.sys.comcast.net comcast Too many sessions opened",
       r"comcast .{0,40}too many sessions opened"),
    # --- Spectrum / Charter ---------------------------------------------------------------------
    _c("spectrum", "AUP#I-1000", _R.BLOCKED, SPECTRUM,
       "554 5.7.1 IP address blocked for suspicious activity AUP#I-1000",
       r"aup#i-1000\b",
       keys=("aup",)),
    _c("spectrum", "AUP#I-1010", _R.REJECTED, SPECTRUM,
       "550 5.1.0 sender rejected AUP#I-1010",
       r"aup#[io]-10[1-8]0\b",
       keys=("aup",)),
    _c("spectrum", "AUP#I-1310", _R.TOO_MANY_CONN, SPECTRUM,
       "550 5.1.0 sender rejected AUP#I-1310",
       r"aup#[io]-1[34]\d0\b",
       keys=("aup",)),
    _c("spectrum", "AUP#I-1530", _R.MESG_TOO_BIG, SPECTRUM,
       "552 5.3.4 Message size exceeds maximum permitted AUP#I-1530",
       r"aup#[io]-1530\b",
       keys=("aup",)),
    _c("spectrum", "AUP#O-1540", _R.TOO_MANY_CONN, SPECTRUM,
       "550 5.7.1 Too many messages or recipients per session AUP#O-1540",
       r"aup#[io]-15[45]0\b",
       keys=("aup",)),
    # --- Cox ------------------------------------------------------------------------------------
    _c("cox", "AUP#CXBL", _R.BLOCKED, COX,
       "554 cxr.mx.east.cox.net cox 192.0.2.1 rejected. IB401 AUP#CXBL",
       r"aup#(?:cxbl|cdrbl)\b",
       keys=("aup",)),
    _c("cox", "AUP#CXDNS", _R.REQUIRE_PTR, COX,
       "554 cxr.mx.east.cox.net cox connection refused. AUP#CXDNS",
       r"aup#cxdns\b",
       keys=("aup",)),
    _c("cox", "AUP#CXSNDR", _R.AUTH_FAILURE, COX,
       "550 <nobody@example.com> message rejected. Refer to Error Codes section at "
       "https://www.cox.com/residential/support/email-error-codes.html for more information. "
       "AUP#CXSNDR",
       r"aup#cxsndr\b",
       keys=("aup",)),
    _c("cox", "AUP#CXSMTP", _R.REJECTED, COX,
       "550 message rejected. AUP#CXSMTP",
       r"aup#cxsmtp\b",
       keys=("aup",)),
    _c("cox", "AUP#CXCNCT", _R.TOO_MANY_CONN, COX,
       "421 cxr.mx.east.cox.net too many connections from your ip. AUP#CXCNCT",
       r"aup#cx(?:cnct|mxrt)\b",
       keys=("aup",)),
    _c("cox", "AUP#CXTHRT", _R.SECURITY_ERROR, COX,
       "550 email sending limited due to suspicious account activity. AUP#CXTHRT",
       r"aup#cx(?:thrt|mj)\b",
       keys=("aup",)),
    # --- Orange --------------------------------------------------------------------------------
    _c("orange", "OFR_416", _R.USER_UNKNOWN, ORANGE,
       "550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 "
       "[416]",
       r"\bofr(?:\d{3})?_41[68]\b",
       keys=("416", "418")),
    _c("orange", "OFR_417", _R.MAILBOX_FULL, ORANGE,
       "552 5.1.1 Boite du destinataire pleine. Recipient overquota. OFR_417 [417]",
       r"\bofr(?:\d{3})?_417\b",
       keys=("417",)),
    _c("orange", "OFR_420", _R.SUSPEND, ORANGE,
       "550 5.1.1 Boite du destinataire archivee. Archived recipient. OFR_420 [420]",
       r"\bofr(?:\d{3})?_42[06]\b",
       keys=("420", "426")),
    _c("orange", "OFR_506", _R.SPAM_DETECTED, ORANGE,
       "550 5.2.0 Mail rejete. Mail rejected. OFR_506 [506]",
       r"\bofr(?:\d{3})?_506\b",
       keys=("506",)),
    _c("orange", "OFR004_104", _R.TOO_MANY_CONN, ORANGE,
       "421 mwinf5c10 ME Trop de connexions, veuillez verifier votre configuration. Too many "
       "connections, slow down. OFR004_104 [104]",
       r"\bofr(?:\d{3})?_104\b",
       keys=("104",)),
    _c("orange", "OFR004_102", _R.BLOCKED, ORANGE,
       "421 mwinf5c10 ME Service refuse. Veuillez essayer plus tard. Service refused, please "
       "try later. OFR004_102 [102]",
       r"\bofr(?:\d{3})?_10[1-3]\b",
       keys=("101", "102", "103")),
    # --- La Poste ------------------------------------------------------------------------------
    _c("laposte", "LPN007_416", _R.USER_UNKNOWN, LAPOSTE,
       "550 5.5.0 Adresse destinataire invalide. Invalid recipient. LPN007_416",
       r"\blpn\d{3}_41[68]\b",
       keys=("416", "418")),
    _c("laposte", "LPN007_426", _R.SUSPEND, LAPOSTE,
       "550 5.5.0 Le compte du destinataire est bloque. The recipient account is blocked. "
       "LPN007_426",
       r"\blpn\d{3}_42[06]\b",
       keys=("420", "426")),
    _c("laposte", "LPN007_405", _R.REJECTED, LAPOSTE,
       "450 4.1.8 Emetteur invalide. Invalid Sender. LPN007_405",
       r"\blpn\d{3}_40[35]\b",
       keys=("403", "405")),
    _c("laposte", "LPN000_630", _R.POLICY_VIOLATION, LAPOSTE,
       "554 5.7.1 <mx.example.com[192.0.2.1]:49309>: Client host rejected: #216 lpn "
       "LPN000_630",
       r"\blpn\d{3}_630\b",
       keys=("630",)),
    _c("laposte", "LPN027_503", _R.BLOCKED, LAPOSTE,
       "450 4.7.1 Client host rejected: Service refuse. Veuillez essayer plus tard. Service "
       "refused, please try later. LPN027_503",
       r"\blpn\d{3}_503\b",
       keys=("503",)),
    _c("laposte", "LPN007_517", _R.AUTH_FAILURE, LAPOSTE,
       "550 5.7.1 Message refuse par la politique DMARC. DMARC policy rejection. LPN007_517",
       r"\blpn\d{3}_517\b",
       keys=("517",)),
    # --- GMX and Web.de (United Internet) ---------------------------------------------------------
    _c("gmx", "IP block listed", _R.BLOCKED, GMX,
       "554-gmx.net (mxgmx104) Nemesis ESMTP Service not available 554-No SMTP service "
       "554-IP address is block listed. 554 For explanation visit "
       "https://postmaster.gmx.net/en/case?c=r0201&i=ip&v=192.0.2.1",
       r"ip address is block ?listed",
       keys=("block", "blocklisted")),
    _c("gmx", "Bad DNS PTR", _R.REQUIRE_PTR, GMX,
       "554-gmx.net (mxgmx016) Nemesis ESMTP Service not available 554-No SMTP service "
       "554-Bad DNS PTR resource record. 554 For explanation visit "
       "https://postmaster.gmx.net/en/case?c=r0301",
       r"nemesis esmtp .{0,120}bad dns ptr resource record"),
    _c("web.de", "SPF policy", _R.AUTH_FAILURE, WEBDE,
       "550 <nobody@web.de>: Reject due to SPF policy. The originating IP of the message is "
       "not permitted by the domain owner.",
       r"reject due to spf policy"),
    # --- T-Online (Deutsche Telekom) --------------------------------------------------------------
    _c("t-online", "(BL)", _R.BLOCKED, TONLINE,
       "554 IP=192.0.2.1 - A problem occurred. (Ask your postmaster for help or to contact "
       "tosa@rx.t-online.de to clarify.) (BL)",
       r"a problem occurred\. \(ask your postmaster .{1,80}\) \(bl\)"),
    _c("t-online", "(NOWL)", _R.BAD_REPUTATION, TONLINE,
       "554 IP=192.0.2.1 - None/bad reputation. Ask your postmaster for help or to contact "
       "postmaster@rx.t-online.de for reset. (NOWL)",
       r"\(nowl\)",
       keys=("nowl",)),
    # --- Mail.ru ---------------------------------------------------------------------------------
    _c("mail.ru", "spam rejected", _R.SPAM_DETECTED, MAILRU,
       "550 spam message rejected. Please visit https://help.mail.ru/notspam-support/id?c="
       "AbCdEf or report details to abuse@corp.mail.ru. Error code: 0123456789.",
       r"help\.mail\.ru/notspam",
       keys=("notspam",)),
    _c("mail.ru", "user not found", _R.USER_UNKNOWN, MAILRU,
       "550 Message was not accepted -- invalid mailbox. Local mailbox nobody@mail.ru is "
       "unavailable: user not found",
       r"local mailbox \S+ is unavailable: user not found"),
    _c("mail.ru", "DMARC", _R.AUTH_FAILURE, MAILRU,
       "550 5.7.1 This message was not accepted due to domain (example.com) owner DMARC "
       "policy (RFC 7489) https://help.mail.ru/mail/postmaster/dmarc",
       r"not accepted due to domain \(.{1,100}\) owner dmarc policy"),
    # --- Yandex ----------------------------------------------------------------------------------
    _c("yandex", "suspicion of spam", _R.SPAM_DETECTED, YANDEX_SPAM,
       "550 5.7.1 Message rejected under suspicion of SPAM; https://ya.cc/1IrBc "
       "1234567890-AbCdEfGhIj",
       r"rejected under suspicion of spam"),
    _c("yandex", "spam statistics", _R.BLOCKED, YANDEX_SPAM,
       "554 5.7.1 [2] Blocked by spam statistics - see http://feedback.yandex.ru/?from=mail-"
       "rejects&subject=192.0.2.1",
       r"blocked by spam statistics"),
    # --- Tencent QQ Mail -------------------------------------------------------------------------
    _c("qq", "Mail content denied", _R.SPAM_DETECTED, f"{QQ}&&no=1000726",
       "550 Mail content denied. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&"
       "no=1000726",
       r"mail content denied\. http://service\.(?:ex)?mail\.qq\.com"),
    _c("qq", "Ip frequency limited", _R.TOO_MANY_CONN, f"{QQ}&&no=1000725",
       "550 Ip frequency limited. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&"
       "no=1000725",
       r"\b(?:ip|connection|domain|sender) frequency limited"),
    _c("qq", "Mailbox not found", _R.USER_UNKNOWN, f"{QQ}&&no=1000728",
       "550 Mailbox not found. http://service.exmail.qq.com/cgi-bin/help?subtype=1&&id=20022&&"
       "no=1000728",
       r"mailbox not found\. http://service\.(?:ex)?mail\.qq\.com"),
    _c("qq", "DMARC check failed", _R.AUTH_FAILURE, f"{QQ}&&no=1001508",
       "550 DMARC check failed. http://service.mail.qq.com/cgi-bin/help?subtype=1&&"
       "no=1001508&&id=16.",
       r"dmarc check failed\. http://service\.(?:ex)?mail\.qq\.com"),
    _c("qq", "rejected by recipients", _R.FILTERED, QQ,
       "550 Mail is rejected by recipients http://service.mail.qq.com/cgi-bin/help?subtype=1"
       "&&id=20022&&no=1000729",
       r"mail is rejected by recipients"),
    # --- NetEase (163.com, 126.com) ---------------------------------------------------------------
    _c("netease", "DT:SPM", _R.SPAM_DETECTED, NETEASE,
       "554 DT:SPM 163 mx14,QMCowEDZvhOxxxxx 1234567890, please see "
       "http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1",
       r"\bdt:spm\b",
       keys=("dt:spm",)),
    _c("netease", "DT:RBL", _R.BLOCKED, NETEASE,
       "450 DT:RBL 163 mx14 http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1",
       r"\bdt:rbl\b",
       keys=("dt:rbl",)),
    _c("netease", "HL:IHU", _R.BLOCKED, NETEASE,
       "554 HL:IHU 163 mx14 http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1",
       r"\bhl:(?:ihu|ipb|rep|mep)\b",
       keys=("hl:ihu", "hl:ipb", "hl:rep", "hl:mep")),
    _c("netease", "HL:ICC", _R.TOO_MANY_CONN, NETEASE,
       "421 HL:ICC 163 mx14 http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1",
       r"\bhl:icc\b",
       keys=("hl:icc",)),
    _c("netease", "HL:IFC", _R.SPEEDING, NETEASE,
       "421 HL:IFC 163 mx14 http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1",
       r"\bhl:if[cq]\b",
       keys=("hl:ifc", "hl:ifq")),
    _c("netease", "MI:DMC", _R.TOO_MANY_CONN, NETEASE,
       "450 MI:DMC 163 mx14 http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1",
       r"\bmi:dmc\b",
       keys=("mi:dmc",)),
    _c("netease", "RP:DRC", _R.TOO_MANY_CONN, NETEASE,
       "450 RP:DRC 163 mx14 http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1",
       r"\brp:drc\b",
       keys=("rp:drc",)),
    _c("netease", "MI:SFQ", _R.SPEEDING, NETEASE,
       "451 MI:SFQ 163 mx14 http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1",
       r"\bmi:sfq\b",
       keys=("mi:sfq",)),
)  # fmt: skip


# Words too common to file a code under when the pattern has another
_COMMON = frozenset(
    {"the", "to", "of", "is", "a", "an", "and", "for", "from", "by", "on", "in", "at", "has"}
    | {"been", "be", "this", "that", "your", "you", "message", "mail", "email", "address"}
)


def _keys(code: PolicyCode) -> tuple[str, ...]:
    """The words a code is filed under: its own ``keys``, else the rarest-looking inner word
    of its pattern's plain run (a word with a space on each side in every match)."""
    if code.keys:
        return code.keys
    from parsers.phrases.compile import literal_run

    words = literal_run(code.pattern).split(" ")[1:-1]
    words = [w for w in words if "'" not in w and "-" not in w]
    words = [w.strip(_STRIP) for w in words if w.strip(_STRIP)]
    if not words:
        raise ValueError(f"{code.provider} {code.code}: no word to file it under; give keys")
    return (max(words, key=lambda w: (w not in _COMMON, len(w))),)


_STRIP = "()[]<>{}.,;:!?\"'`*"
_BY_KEY: dict[str, list[PolicyCode]] = {}
for _code in CODES:
    for _key in _keys(_code):
        for _token in filed_as(_key):
            _BY_KEY.setdefault(_token, []).append(_code)
_KEYS = frozenset(_BY_KEY)
_ORDER = {id(c): n for n, c in enumerate(CODES)}
del _code, _key, _token


def find(text: str, keys: Collection[str] | None = None) -> PolicyCode | None:
    """The first documented provider code ``text`` (a remote server's reply) carries.

    ``keys`` is ``parsers.phrases.lang.tokens`` of the lower-cased text when the caller has
    it: a code is looked for only when one of its words is there.
    """
    if not text:
        return None
    lowered = text.lower()
    if keys is None:
        keys = tokens(lowered)
    found = [
        code
        for key in _KEYS.intersection(keys)
        for code in _BY_KEY[key]
        if code.regex.search(lowered)
    ]
    return min(found, key=lambda c: _ORDER[id(c)]) if found else None
