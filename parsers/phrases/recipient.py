"""Reasons about the recipient's mailbox or domain: unknown, full, disabled, moved.

Lower-case phrase fragments, one alternation per reason (see ``parsers.phrases``).
"""

from __future__ import annotations

from parsers.phrases.compile import PhraseSet, alt
from parsers.records import Reason

_R = Reason

PATTERNS: dict[Reason, PhraseSet] = {
    _R.USER_UNKNOWN: alt(
        [
            r"#5\.1\.1 bad address",
            r"550 address invalid",
            r"5\.1\.0 address rejected",
            r"address (?:does not exist|unknown|not present in directory)",
            r"can't accept user",
            r"does not exist\.",
            r"destination addresses were unknown",
            r"destination server rejected recipients",
            r"email address (?:does not exist|could not be found)",
            r"invalid (?:address|mailbox|recipient)",
            r"is not (?:a known user|a valid mailbox|an active address at this host)",
            r"mailbox (?:does not exist|invalid|is inactive|is unavailable|not present|not found"
            r"|unavaiable)",
            r"nessun utente simile in questo indirizzo",  # Italian webmail
            r"no (?:account by that name here|existe (?:dicha persona|ese usuario))",
            r"no mail ?box (?:available for this user|by that name is currently available"
            r"|found|here by that name)",
            r"no such (?:address here|mailbox|person at this address|recipient|user)",
            r"no thank you rejected: account unavailable",
            r"no valid recipients, bye",
            r"not a (?:valid recipient|valid user here|local address)",
            r"not email addresses",
            r"recipient address rejected(?:\. \(in reply to rcpt to command\)"
            r"|: (?:access denied|invalid[- ]?(?:user|recipient)|unknown user|userunknown"
            r"|user .{1,80}does not exist|user unknown in .{1,40}table))",
            r"recipient (?:does not exist|is not accepted|is not local|not exist|not found"
            r"|not ok|refuses to accept your mail|unknown)",
            r"requested action not taken: mailbox unavailable",
            r"resolver\.adr\.recipient ?notfound",  # Exchange
            r"sorry, (?:user unknown|badrcptto|no mailbox here by that name"
            r"|your envelope recipient has been denied)",  # qmail
            r"that domain or user isn't in my list of allowed rcpthosts",
            r"the email account that you tried to reach does not exist",  # Gmail
            r"the following recipients was undeliverable",
            r"the user's email name is not found",
            r"there is no one at this address",
            r"this email address is wrong or no longer valid",
            r"this recipient is (?:in my badrecipientto list|not in my validrcptto list)",
            r"this spectator does not exist",
            r"unknown (?:mailbox|recipient|user|e-?mail address|local-? ?part)",
            r"user (?:does not exist|missing home directory|not active|not exist|not found"
            r"|not known|unknown)",
            r"utilisateur inconnu",  # French
            r"vdeliver: invalid or unknown virtual user",  # vmailmgr
            r"your envelope recipient is in my badrcptto list",
            r"<[^>]+> not found",
            r"<[^>]+>\.\.\. blocked by ",
            r"account .{1,80} does not exist at the organization",  # Exchange Online
            r"(?:this|the|that|recipient|user|mail|e-?mail|destination) account"
            r" (?:does not exist|doesn't exist|is unknown|was not found)",
            r"(?:address|mailbox|account|user) (?:no longer exists|is no longer (?:valid|in use))",
            r"adresse d au moins un destinataire invalide",  # Orange
            r"bad.{0,20}recipient",
            r"mailbox .{0,80}(?:does not exist|unavailable or access denied)",
            r"no .{1,60} in name directory",
            r"non-? ?existent user",
            r"rcpt [<(].{1,80}(?:does not exist|t exist )",
            r"recipient .{1,80} was not found in",
            r"said: 550[- ]5\.1\.1 .{1,80} user unknown ",
            r"this user doesn't have a .{1,40} account",  # Yahoo
            r"user .{1,80} (?:was not found|does not exist)",
            r"user \(.{1,80}\) unknown",
        ]
    ),
    _R.HOST_UNKNOWN: alt(
        [
            r"domain (?:does not exist|is not reachable|must exist)",
            r"host or domain name not found",
            r"host unknown",
            r"host unreachable",
            r"mail domain mentioned in email address is unknown",
            r"name or service not known",
            r"no such domain",
            r"recipient address rejected: unknown domain name",
            r"recipient domain must exist",
            r"the account or domain may not exist",
            r"unknown host",
            r"unrout(?:e)?able address",
            r"553 .{1,80} does not exist",
        ]
    ),
    _R.MAILBOX_FULL: alt(
        [
            r"account disabled temporarly for exceeding receiving limits",
            r"account is (?:exceeding their quota|(?:temporarily )?over quota)",
            r"boite du destinataire pleine",  # Orange / La Poste
            r"delivery failed: over quota",
            r"dis[ck] quota exceeded",
            r"diskspace quota",
            r"does not have enough space",
            r"exceeded storage allocation",
            r"exceeding its mailbox quota",
            r"full mailbox",
            r"is over (?:disk )?quota",
            r"mail file size exceeds the maximum size allowed for mail delivery",
            r"mail quota exceeded",
            r"mailbox (?:exceeded the local limit|full|has exceeded its disk space limit|is full"
            r"|over quota|quota usage exceeded|size limit exceeded)",
            r"maildir (?:over quota|delivery failed: (?:user|domain)disk quota )",
            r"mailfolder is full",
            r"not enough storage space in",
            r"over the allowed quota",
            r"quota (?:exceeded|violation for)",
            r"recipient reached disk quota",
            r"mailbox would exceed maximum allowed storage",
            r"the user's space has been used up",
            r"over quota",
            r"too much mail data",  # NTT docomo
            r"user has (?:exceeded quota|too many messages on the server)",
            r"inbox is out of storage space",  # Gmail
        ]
    ),
    _R.MESG_TOO_BIG: alt(
        [
            r"exceeded maximum inbound message size",
            r"line limit exceeded",
            r"max(?:imum)? message size exceeded",
            r"message file too big",
            r"message length exceeds administrative limit",
            r"message size exceeds (?:fixed limit|fixed maximum message size|maximum value)",
            r"message too big",
            r"message too large for this ",
            r"size limit",
            r"taille limite du message atteinte",  # French
            r"exceeded google's message size limits",
        ]
    ),
    _R.EXCEED_LIMIT: alt([r"message header size exceeds limit", r"message too large"]),
    _R.SUSPEND: alt(
        [
            r" is currently suspended",
            r" temporary locked",
            r"archived recipient",
            r"boite du destinataire archivee",  # Orange / La Poste
            r"email account that you tried to reach is (?:disabled|inactive)",  # Gmail
            r"has been suspended",
            r"inactive account",
            r"invalid/inactive user",
            r"is a deactivated mailbox",  # Tencent QQ
            r"is unavailable: user is terminated",
            r"mailbox (?:currently suspended|disabled|is frozen|unavailable or access denied)",
            r"recipient rejected: temporarily inactive",
            r"recipient suspend the service",
            r"this account has been (?:disabled or discontinued|temporarily suspended)",
            r"this address no longer accepts mail",
            r"this mailbox is disabled",
            r"user or domain is disabled",
            r"user suspended",  # NetEase 163
            r"account is locked email bounced",  # vpopmail
        ]
    ),
    _R.HAS_MOVED: alt([r" has been replaced by "]),
    _R.FILTERED: alt(
        [
            r"because the recipient is only accepting mail from specific email addresses",  # AOL
            r"bounced address",  # SendGrid
            r"due to extended inactivity new mail is not currently being accepted",
            r"has restricted sms e-mail",  # AT&T
            r"is not accepting any mail",
            r"message rejected due to user rules",
            r"refused due to recipient preferences",  # Facebook
            r"resolver\.rst\.notauthorized",  # Exchange
            r"this account is protected by",
            r"user not found",  # mail.ru filter
            r"user reject",
            r"address recipient id refuse to receive mail",  # Willcom
            r"you have been blocked by the recipient",
        ]
    ),
}
