"""What remote servers write when they refuse mail, grouped by bounce reason.

Each reason has one compiled alternation over lower-cased, whitespace-collapsed diagnostic
text. The phrases are the recurring wordings of real MTAs and mailbox providers (Postfix,
Sendmail, Exim, qmail, Exchange, Courier, Dovecot, the large webmail providers); the grouping
follows the reason taxonomy of Sisimai 5 (BSD-2-Clause), which our labelled corpus uses.
Patterns are deliberately phrase-level, never a whole sample's sentence, so that they carry
over to messages we have not seen. A comment names the MTA or provider a phrase comes from
where that is not obvious.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from parsers.records import Reason

__all__ = ["PHRASES", "matches"]


def _alt(parts: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))


_R = Reason

PHRASES: dict[Reason, re.Pattern[str]] = {
    _R.USER_UNKNOWN: _alt(
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
    _R.HOST_UNKNOWN: _alt(
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
    _R.MAILBOX_FULL: _alt(
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
    _R.MESG_TOO_BIG: _alt(
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
    _R.EXCEED_LIMIT: _alt([r"message header size exceeds limit", r"message too large"]),
    _R.SUSPEND: _alt(
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
    _R.HAS_MOVED: _alt([r" has been replaced by "]),
    _R.NO_RELAYING: _alt(
        [
            r"as a relay",
            r"email address is not verified\.",  # Amazon SES sandbox
            r"insecure mail relay",
            r"is not permitted to relay through this server without authentication",
            r"mail server requires authentication when attempting to send to a non-local",
            r"not a gateway",
            r"not allowed to relay through this machine",
            r"not an open relay, so get lost",
            r"not local host",
            r"relay (?:access denied|denied|not permitted)",
            r"relaying (?:denied|mail to )",
            r"that domain isn't in my list of allowed rcpthost",  # qmail
            r"this system is not configured to relay mail",
            r"unable to relay for",
            r"we don't handle mail for",
        ]
    ),
    _R.AUTH_FAILURE: _alt(
        [
            r"//spf\.pobox\.com",
            r"bad spf records for",
            r"dmarc policy",
            r"please inspect your spf settings",
            r"sender policy framework (?:\(spf\) fail|violation)",
            r"spf \(sender policy framework\) domain authentication fail",
            r"spf check: fail",
            r"is not allowed to send mail\..{0,80}_401",  # Orange
            r"is not allowed to send from <.{1,80} per it's spf record",
            r"multiple authentication checks failed",
            r"fails to pass (?:spf|authentication) checks",  # Gmail
            r"requires all senders to authenticate with either spf or dkim",
            r"has an spf record with a hard fail policy",
        ]
    ),
    _R.FILTERED: _alt(
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
    _R.REQUIRE_PTR: _alt(
        [
            r"access denied\. ip name lookup failed",
            r"all mail servers must have a ptr record with a valid reverse dns entry",
            r"bad dns ptr resource record",
            r"cannot find your hostname",
            r"fix reverse dns for ",
            r"ips with missing ptr records",
            r"no ptr record found\.",
            r"please get a custom reverse dns name from your isp for your host",
            r"ptr record setup",
            r"reverse dns (?:failed|required)",
            r"sender ip reverse lookup rejected",
            r"does not have a ptr record",  # Gmail
            r"forward dns entry does not point to the sending ip",  # Gmail
            r"will not accept messages from servers/devices with no reverse dns",
            r"unresolvable relay host name",
            r"hosts with dynamic ip or generic dns ptr-records",
            r"domain .{1,80} mismatches client ip",
            r"dns lookup failure: .{1,80} try again later",
            r"reverse dns lookup for host .{1,80} failed permanently",
            r"forbidden by invalid rdns record of your mail server",
            r"service permits .{1,40} unverifyable sending ips",
        ]
    ),
    _R.NOT_COMPLIANT_RFC: _alt(
        [
            r"this message is not rfc 5322 compliant",
            r"support\.google\.com/mail/\?p=rfcmessagenoncompliant",
        ]
    ),
    _R.REJECTED: _alt(
        [
            r"access denied \((?:in reply to mail from command|sender blacklisted)\)",
            r"address rejected",
            r"administrative prohibition",
            r"batv (?:failed to verify|validation failure)",  # SonicWall
            r"but sender was rejected",  # qmail-remote.c: MAIL FROM refused
            r"backscatter protection detected an invalid or expired email address",  # MDaemon
            r"because the sender isn't on the recipient's list of senders",
            r"bogus mail from",  # IMail
            r"can't determine purported responsible address",
            r"connections not accepted from servers without a valid sender domain",
            r"denied \[bouncedeny\]",  # McAfee
            r"denied by secumail valid-address-filter",
            r"delivery not authorized, message refused",
            r"does not exist e2110",
            r"domain of sender address ",
            r"email address is on senderfilterconfig list",
            r"emetteur invalide",  # French
            r"empty envelope senders not allowed",
            r"envelope blocked",
            r"error: no third-party dsns",  # SpamWall
            r"from: domain is invalid\. please provide a valid from:",
            r"fully qualified email address required",  # McAfee
            r"invalid domain, see <url:",
            r"invalid sender",
            r"is not a registered gateway user",
            r"mail from not owned by user",
            r"message rejected: email address is not verified",  # Amazon SES
            r"mx records for ",
            r"null sender is not allowed",
            r"recipient addresses rejected : access denied",
            r"recipient not accepted\. \(batv: no tag",
            r"returned mail not accepted here",
            r"rfc 1035 violation: recursive cname records for",
            r"rule imposed mailbox access for",  # MailMarshal
            r"sending this from a different address or alias using the ",
            r"sender (?:address has been blacklisted|email address rejected|is in my black list"
            r"|is spammer|not pre-approved|rejected|domain is empty|verify failed)",
            r"spam reporting address",  # SendGrid
            r"syntax error: empty email address",
            r"the message has been rejected by batv defense",
            r"this server does not accept mail from",
            r"transaction failed unsigned dsn for",
            r"unroutable sender address",
            r"you are not allowed to post to this mailing list",
            r"you are sending to/from an address that has been blacklisted",
            r"your access to submit messages to this e-mail system has been rejected",
            r"your email address has been blacklisted",  # MessageLabs
        ]
    ),
    _R.SPAM_DETECTED: _alt(
        [
            r"the mail server detected your message as spam and has prevented delivery",
            r"(?:\d\.\d\.\d|\d{3}) spam$",
            r"554 5\.7\.0 reject, id=\d+",
            r"appears to be unsolicited",
            r"blacklisted url in message",
            r"block for spam",
            r"blocked by (?:policy: no spam please|spamassassin)",
            r"blocked for abuse\. see http://att\.net/blocks",  # AT&T
            r"bulk email",
            r"considered unsolicited bulk e-mail \(spam\) by our mail filters",
            r"content filter rejection",
            r"denied due to spam list",
            r"greylisted.?. please try again in",
            r"high probability of spam",
            r"https?://(?:www\.spamhaus\.org|dsbl\.org)",
            r"mail (?:appears to be unsolicited|content denied|rejete\. mail rejected\. .{0,30}506)",
            r"may consider spam",
            r"message (?:considered as spam or virus|content rejected|filtered|looks like spam"
            r"|refused by (?:mailmarshal|trustwave seg) spamprofiler"
            r"|rejected (?:as spam|because of unacceptable content|due to suspected spam content"
            r"|for policy reasons))",
            r"our (?:email server thinks this email is spam"
            r"|filters rate at and above \d+ percent probability of being spam"
            r"|system has detected that this message is)",
            r"probable spam",
            r"reject bulk\.advertising",
            r"rejected(?:: spamassassin score |[ ]by [^ ]+ \(spam\)"
            r"| due to spam (?:url in )?(?:classification|content))",
            r"rejecting (?:banned|mail) content",
            r"related to content with spam-like characteristics",
            r"rule imposed as [^ ]+ is blacklisted on",
            r"sender domain listed at [^ ]+",
            r"sending address not accepted due to spam filter",
            r"spam (?:[^ ]+ exceeded|blocked|check|content matched|detected|email"
            r"|message rejected\.|not accepted|refused|rejection|reporting address|score )",
            r"spambouncer identified spam",
            r"spamming not allowed",
            r"too much spam\.",  # EarthLink
            r"the message (?:has been rejected by spam filtering engine"
            r"|was rejected due to classification as bulk mail)",
            r"the content of this message looked like spam",  # SendGrid
            r"this (?:e-mail|mail) (?:cannot be forwarded because it was detected as spam"
            r"|is classified as spam and is rejected)",
            r"this message (?:appears to be spam|has been identified as spam"
            r"|has been scored as spam with a probability|scored [^ ]+ spam points"
            r"|was classified as spam|was rejected by recurrent pattern detection system)",
            r"transaction failed spam message not queued",  # SendGrid
            r"we dont accept spam",
            r"you're using a mass mailer",
            r"your email (?:appears similar to spam we have received before"
            r"|breaches local uribl policy|had spam-like |is (?:considered|probably) spam"
            r"|was detected as spam)",
            r"your message (?:as spam and has prevented delivery"
            r"|has been temporarily blocked by our filter"
            r"|has been rejected because it appears to be spam|has triggered a spam block"
            r"|may contain the spam contents|failed several antispam checks)",
            r"this message is likely unsolicited mail",  # Gmail
        ]
    ),
    _R.SPEEDING: _alt(
        [
            r"mail sent from your ip address has been temporarily rate limited",
            r"please try again slower",
            r"receiving mail at a rate that prevents additional messages from being delivered",
            r"is receiving mail too quickly",  # Gmail
        ]
    ),
    _R.TOO_MANY_CONN: _alt(
        [
            r"all available ips are at maximum connection limit",  # SendGrid
            r"connection rate limit exceeded",
            r"exceeds per-domain connection limit for",
            r"has exceeded the max emails per hour ",
            r"throttling failure: (?:daily message quota|maximum sending rate) exceeded",
            r"too many (?:connections|concurrent smtp connections|errors from your ip"
            r"|recipients|smtp sessions for this host)",
            r"trop de connexions, ",  # French
            r"we have already made numerous attempts to deliver this message",
        ]
    ),
    _R.BLOCKED: _alt(
        [
            r" said: 550 blocked",
            r"//www\.spamcop\.net/bl\.",
            r"bad sender ip address",
            r"banned sending ip",  # Office 365
            r"blacklisted by",
            r"blocked using ",
            r"blocked - see http",
            r"dnsbl:attrbl",
            r"client host rejected: (?:abus detecte gu_eib_0[24]|may not be mail exchanger"
            r"|was not authenticated)",
            r"confirm this mail server",
            r"connection (?:dropped|refused by|reset by peer|was dropped by remote host)",
            r"connections not accepted from ip addresses on spamhaus xbl",
            r"currently sending spam see: ",
            r"domain does not exist:",
            r"dynamic/zombied/spam ips blocked",
            r"error: no valid recipients from ",
            r"esmtp not accepting connections",  # iCloud
            r"extreme bad ip profile",
            r"go away",
            r"helo command rejected:",
            r"host network not allowed",
            r"hosts with dynamic ip",
            r"invalid ip for sending mail of domain",
            r"is in a black list",
            r"is not allowed to send mail from",
            r"no access from mail server",
            r"no matches to nameserver query",
            r"not currently accepting mail from your ip",  # Microsoft
            r"part of their network is on our block list",
            r"please use the smtp server of your isp",
            r"refused - see http",
            r"rejected - multi-blacklist",
            r"rejected because the sending mta or the sender has not passed validation",
            r"rejecting open proxy",  # Sendmail
            r"sender ip address rejected",
            r"server access forbidden by your ip ",
            r"service not available, closing transmission channel",
            r"smtp error from remote mail server after initial connection:",  # Exim
            r"sorry, that domain isn't in my list of allowed rcpthosts",
            r"sorry, your remotehost looks suspiciously like spammer",
            r"to submit messages to this e-mail system has been rejected",
            r"too many spams from your ip",  # Free.fr
            r"too many unwanted messages have been sent from the following ip address",
            r"was blocked by ",
            r"we do not accept mail from dynamic ips",  # mail.ru
            r"you are not allowed to connect",
            r"you are sending spam",
            r"your ip address is listed in the rbl",
            r"your network is temporary blacklisted",
            r"your server requires confirmation",
            r"\(.{0,60}@.{0,60}:blocked\)",
            r"access from ip address .{1,60} blocked",
            r"client host .{1,80} blocked using",
            r"connections will not be accepted from .{1,60} because the ip is in spamhaus's list",
            r"dnsbl:rbl .{1,60}>_is_blocked",
            r"email blocked by .{0,60}(?:\.barracudacentral\.org|spamhaus)",
            r"host .{1,80} refused to talk to me: .{0,80} blocked",
            r"ip .{1,40} is blocked by earthlink",
            r"is in an .{0,40}rbl on ",
            r"mail server at .{1,60} is blocked",
            r"mail from .{1,80} refused:",
            r"message from .{1,80} rejected based on blacklist",
            r"messages from .{1,80} temporarily deferred due to user complaints",  # Yahoo
            r"server ip .{1,40} listed as abusive",
            r"sorry! your ip address.{1,40} is blocked by rbl",
            r"the (?:domain|email|ip).{1,80} is blacklisted",
            r"service refused, please try later\. .{0,20}(?:103|510)",  # Orange
            r"your sender's ip address is listed at .{1,40}\.abuseat\.org",
        ]
    ),
    _R.POLICY_VIOLATION: _alt(
        [
            r"an illegal attachment on your message",
            r"because the recipient is not accepting mail with ",  # AOL
            r"by non-member to a members-only list",
            r"closed mailing list",
            r"denied by policy",
            r"email not accepted for policy reasons",
            r"email rejected due to security policies",  # Mimecast
            r"header are not accepted",
            r"header error",
            r"local policy violation",
            r"message bounced due to organizational settings",
            r"message given low priority",
            r"message not accepted for policy reasons",
            r"messages with multiple addresses",
            r"rejected for policy reasons",
            r"protocol violation",
            r"the email address used to send your message is not subscribed to this group",
            r"this message was blocked because its content presents a potential",
            r"we do not accept messages containing images or other attachments",
            r"you have exceeded the (?:the )?allowable number of posts without solving a captcha",
        ]
    ),
    _R.VIRUS_DETECTED: _alt(
        [
            r"it has a potentially executable attachment",
            r"the message was rejected because it contains prohibited virus or spam content",
            r"this form of attachment has been used by recent viruses or other malware",
            r"virus detected",
            r"virus phishing/malicious_url detected",
            r"your message was infected with a virus",
        ]
    ),
    _R.BAD_REPUTATION: _alt(
        [
            r"a poor email reputation score",
            r"has been temporarily rate limited due to ip reputation",
            r"ip/domain reputation problems",
            r"likely suspicious due to the very low reputation",  # Gmail
            r"suspicious due to the very low reputation of the sending",  # Gmail
            r"the sending mta's poor reputation",
            # Yahoo [TSS04]: deferral for the sender's volume/complaint reputation
            r"temporarily deferred due to unexpected volume or user complaints",
        ]
    ),
    _R.SECURITY_ERROR: _alt(
        [
            r"account not subscribed to ses",
            r"authentication (?:credentials invalid|failure|required|turned on in your email"
            r" client)",
            r"executable files are not allowed in compressed files",
            r"insecure mail relay",
            r"recipient address rejected: access denied",
            r"sorry, you don't authenticate or the domain isn't in my list of allowed rcpthosts",
            r"starttls is required to send mail",
            r"tls required but not supported",  # SendGrid
            r"unauthenticated senders not allowed",
            r"verification failure",
            r"you are not authorized to send mail, authentication is required",
            r"authentication failed; server .{1,80} said: ",  # Postfix SMTP AUTH
            r"authentification (?:invalide.{0,40}305|requise.{0,40}402)",  # Orange
            r"domain .{1,80} is a dead domain",
            r"user .{1,80} is not authorized to perform ses:sendrawemail on resource",
        ]
    ),
    _R.SYSTEM_ERROR: _alt(
        [
            r"aliasing/forwarding loop broken",
            r"can't create user output file",
            r"could not load drd for domain",
            r"internal error reading data",  # Microsoft
            r"internal server error: operation now in progress",  # Microsoft
            r"interrupted system call",
            r"it encountered an error while being processed",
            r"it would create a mail loop",
            r"local configuration error",
            r"local error in processing",
            r"loop was found in the mail exchanger",
            r"loops back to myself",
            r"mail system configuration error",
            r"queue file write error",
            r"recipient deferred because there is no mdb",
            r"remote server is misconfigured",
            r"server configuration error",
            r"service currently unavailable",
            r"system config error",
            r"temporary local problem",
            r"timeout waiting for input",
            r"transaction failed ",
        ]
    ),
    _R.NETWORK_ERROR: _alt(
        [
            r"could not connect and send the mail to",
            r"dns records for the destination computer could not be found",
            r"hop count exceeded - possible mail loop",
            r"host is unreachable",
            r"host name lookup failure",
            r"host not found, try again",
            r"mail forwarding loop for ",
            r"malformed (?:or unexpected )?name server reply",
            r"maximum forwarding loop count exceeded",
            r"message looping",
            r"message probably in a routing loop",
            r"no route to host",
            r"too many hops",
            r"unable to resolve route ",
            r"unrouteable mail domain",
            r"may indicate a mail loop",  # Gmail
        ]
    ),
    _R.EXPIRED: _alt(
        [
            r"connection timed out",
            r"could not find a gateway for",
            r"delivery attempts will continue to be",
            r"delivery time expired",
            r"failed to deliver to domain ",
            r"giving up on",
            r"have been failing for a long time",
            r"has been delayed",
            r"it has not been collected after",
            r"message expired(?: after sitting in queue for|, cannot connect to remote server"
            r"|, connection refulsed)",
            r"message timed out",
            r"retry time not reached for any host after a long failure period",  # Exim
            r"server did not respond",
            r"this message has been in the queue too long",  # qmail
            r"unable to deliver message after multiple retries",
            r"was not reachable within the allowed queue period",
            r"your message could not be delivered for more than",
            r"could not deliver for the last .{1,20} seconds",  # DragonFly
        ]
    ),
    _R.CONTENT_ERROR: _alt(
        [
            r"duplicate header",
            r"header size exceeds maximum permitted",
            r"improper use of 8-bit data in message header",
            r"message header size, or recipient list, exceeds policy limit",
            r"message mime complexity exceeds the policy maximum",
            r"routing loop detected -- too many received: headers",
            r"this message contain (?:invalid mime headers|improperly-formatted binary content"
            r"|text that uses unnecessary base64 encoding)",
        ]
    ),
    _R.SYSTEM_FULL: _alt(
        [r"mail system full", r"requested mail action aborted: exceeded storage allocation"]
    ),
    _R.NOT_ACCEPT: _alt(
        [
            r"host/domain does not accept mail",  # iCloud
            r"host does not accept mail",  # Sendmail null MX
            r"name server: \.: host not found",  # Sendmail
            r"no mx record found for domain=",  # Yahoo
            r"no route for current request",
            r"smtp protocol returned a permanent error",
        ]
    ),
    _R.MAILER_ERROR: _alt(
        [
            r" \|\| exit ",
            r"procmail: ",
            r"bin/procmail",
            r"bin/maidrop",
            r"command failed: ",
            r"command died with status ",
            r"command output:",
            r"mailer error",
            r"pipe to \|/",
            r"x-unix; ",
        ]
    ),
    _R.VACATION: _alt(
        [
            r"i am away on vacation",
            r"i am away until",
            r"i am out of the office",
            r"i will be traveling for work on",
        ]
    ),
}

#: Texts that look like a rejected sender but are about the recipient or the client IP.
_NOT_REJECTED = _alt(
    [r"5\.1\.0 address rejected", r"recipient address rejected", r"sender ip address rejected"]
)


def matches(reason: Reason, text: str) -> bool:
    """True if lower-cased ``text`` contains a phrase that signals ``reason``."""
    if reason is _R.REJECTED and _NOT_REJECTED.search(text):
        return False
    pattern = PHRASES.get(reason)
    return pattern is not None and pattern.search(text) is not None
