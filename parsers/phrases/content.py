"""Reasons about the message itself: spam, viruses, policy, malformed content.

Lower-case phrase fragments, one alternation per reason (see ``parsers.phrases``).
"""

from __future__ import annotations

from parsers.phrases.compile import PhraseSet, alt
from parsers.records import Reason

_R = Reason

PATTERNS: dict[Reason, PhraseSet] = {
    _R.NOT_COMPLIANT_RFC: alt(
        [
            r"this message is not rfc 5322 compliant",
            r"support\.google\.com/mail/\?p=rfcmessagenoncompliant",
        ]
    ),
    _R.SPAM_DETECTED: alt(
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
            r"mail (?:appears to be unsolicited|content denied"
            r"|rejete\. mail rejected\. .{0,30}506)",
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
    _R.POLICY_VIOLATION: alt(
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
    _R.VIRUS_DETECTED: alt(
        [
            r"it has a potentially executable attachment",
            r"the message was rejected because it contains prohibited virus or spam content",
            r"this form of attachment has been used by recent viruses or other malware",
            r"virus detected",
            r"virus phishing/malicious_url detected",
            r"your message was infected with a virus",
        ]
    ),
    _R.CONTENT_ERROR: alt(
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
}
