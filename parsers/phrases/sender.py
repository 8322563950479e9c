"""Reasons about the sending side: its IP, domain, authentication, rate and relay rights.

Lower-case phrase fragments, one alternation per reason (see ``parsers.phrases``).
"""

from __future__ import annotations

from parsers.phrases.compile import PhraseSet, alt
from parsers.records import Reason

_R = Reason

PATTERNS: dict[Reason, PhraseSet] = {
    _R.NO_RELAYING: alt(
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
    _R.AUTH_FAILURE: alt(
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
    _R.REQUIRE_PTR: alt(
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
    _R.REJECTED: alt(
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
    _R.SPEEDING: alt(
        [
            r"mail sent from your ip address has been temporarily rate limited",
            r"please try again slower",
            r"receiving mail at a rate that prevents additional messages from being delivered",
            r"is receiving mail too quickly",  # Gmail
        ]
    ),
    _R.TOO_MANY_CONN: alt(
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
    _R.BLOCKED: alt(
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
    _R.BAD_REPUTATION: alt(
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
    _R.SECURITY_ERROR: alt(
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
}
