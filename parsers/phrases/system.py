"""Reasons about the delivery systems: errors, network, queue expiry, local delivery agents.

Lower-case phrase fragments, one alternation per reason (see ``parsers.phrases``).
"""

from __future__ import annotations

from parsers.phrases.compile import PhraseSet, alt
from parsers.records import Reason

_R = Reason

PATTERNS: dict[Reason, PhraseSet] = {
    _R.SYSTEM_ERROR: alt(
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
    _R.NETWORK_ERROR: alt(
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
    _R.EXPIRED: alt(
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
    _R.SYSTEM_FULL: alt(
        [r"mail system full", r"requested mail action aborted: exceeded storage allocation"]
    ),
    _R.NOT_ACCEPT: alt(
        [
            r"host/domain does not accept mail",  # iCloud
            r"host does not accept mail",  # Sendmail null MX
            r"name server: \.: host not found",  # Sendmail
            r"no mx record found for domain=",  # Yahoo
            r"no route for current request",
            r"smtp protocol returned a permanent error",
        ]
    ),
    _R.MAILER_ERROR: alt(
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
    _R.VACATION: alt(
        [
            r"i am away on vacation",
            r"i am away until",
            r"i am out of the office",
            r"i will be traveling for work on",
        ]
    ),
}
