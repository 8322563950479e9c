"""What MTAs say in their own name, not quoting a remote server: their verdict.

When no remote server answered (the domain had no MX, the queue ran out, the local
directory has no such user), the reporting MTA writes its own sentence, from its source:
Exim (route.c, retry.c, transports), qmail (qmail-remote.c, qmail-send.c), OpenSMTPD
(mta.c, queue.c), DragonFly Mail Agent, Courier, Lotus Domino and Notes, Ipswitch IMail,
Gmail's outbound notices, MMSC gateways. Those sentences are as definite as a status code,
so ``parsers.classify`` takes a match as the verdict a family module would have given
(``Failure.reason``) when no family gave one: a bounce keeps its meaning when the layout
that told the family module which MTA wrote it is gone.

Lower-case phrase fragments by reason, for ``fold``-ed text (see ``parsers.phrases``).
"""

from __future__ import annotations

from parsers.records import Reason

_R = Reason

#: Reasons in the order they are tried; the first with a phrase in the text wins.
PATTERNS: dict[Reason, list[str]] = {
    _R.USER_UNKNOWN: [
        r"not listed in (?:the )?domino directory",  # Domino
        r"not listed in public name & address book",  # Notes
        r"non repertorie dans l'annuaire domino",
        r"domino ディレクトリには見つかりません",
        r"ディレクトリのリストにありません",  # Notes (Japanese)
        r"invalid final delivery userid",  # IMail
        r"no valid recipients for this mm",  # MMSC
        r"the recipient name is not recognized",  # Exchange 2003
        r"\(state 14\)\.?$",  # Gmail: refused at RCPT TO
    ],
    _R.HOST_UNKNOWN: [
        r"all host address lookups failed permanently",  # Exim
        r"all relevant mx records point to non-existent hosts",  # Exim
        r"dns lookup failure: host \S+ not found",  # DragonFly
        r"sorry, i couldn't find any host ",  # qmail-remote
        r"^\S*\s*invalid domain name",  # OpenSMTPD
    ],
    _R.NOT_ACCEPT: [
        r"destination seem to reject all mails",  # OpenSMTPD
        r"an mx or srv record indicated no smtp service",  # Exim
        r"no host found for existing smtp connection",  # Exim
        r"sorry, i couldn't find a mail exchanger or ip address",  # qmail-remote
    ],
    _R.EXPIRED: [
        r"retry timeout exceeded",  # Exim retry.c
        r"all hosts have been failing for a long time and were last tried",  # Exim
        r"envelope expired",  # OpenSMTPD
        r"could not deliver for the last \d+ seconds",  # DragonFly
        r"your message was not delivered within \d+ days",  # au (KDDI)
        r"delivery failed \d+ attempts",  # IMail
        r"the recipient server did not accept our requests to connect",  # Gmail
        r"dns error: could not contact dns servers",  # Gmail
    ],
    _R.NETWORK_ERROR: [
        r"message has exceeded maximum hop count",  # Notes
        r"sorry, i wasn't able to establish an smtp connection",  # qmail-remote
        r"although i'm listed as a best-preference mx or a for that host",  # qmail-remote
        r"address family mismatch on destination mxs",  # OpenSMTPD
        r"all routes to destination blocked",
        r"network error on destination mxs",
        r"no mx found for (?:domain|destination)",
        r"no valid route to (?:remote mx|destination)",
        r"temporary failure in mx lookup",
    ],
    _R.MAILBOX_FULL: [
        r"the user\(s\) account is temporarily over quota",  # au (KDDI)
        r"user mailbox exceeds allowed size",  # IMail
    ],
    # Gmail's outbound notices end with the SMTP client state the remote refused in
    _R.FILTERED: [r"\(state 1[578]\)\.?$"],  # after DATA: the recipient's filter
    _R.BLOCKED: [r"\(state 13\)\.?$"],  # the greeting or EHLO: the sending host
    _R.NO_RELAYING: [r"\(state 12\)\.?$"],
    _R.SUSPEND: [
        r"the user\(s\) account is (?:disabled|temporarily limited)",  # au (KDDI)
    ],
    _R.SYSTEM_ERROR: [
        r"several matches found in domino directory",
        r"delivery to (?:file|pipe) forbidden",  # Exim
        r"\(state [689]\)\.?$",  # Gmail: MAIL FROM or AUTH
    ],
    _R.SECURITY_ERROR: [r"could not retrieve credentials"],  # OpenSMTPD
    _R.SYNTAX_ERROR: [
        r"angle-brackets nested too deep",  # Exim parse.c
        r"domain missing in source-routed address",
        r"malformed address: ",
        r"address: <[^>]+> may not follow ",
    ],
}
