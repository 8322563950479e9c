"""The generic path (issue 18, points 1 and 2): what holds when no family module knows the MTA.

Codes lead (an unknown text with a definite RFC 3463 status or RFC 5321 reply still gets
that code's meaning), the reporting MTA's own verdicts and the step of the session are read
in any case, the notice is read around each recipient when its own diagnostic said
nothing, and ``parse_message(families=...)`` measures all of that with family modules off.
"""

from __future__ import annotations

import pytest

from parsers import parse_message
from parsers.bounce import FAMILIES
from parsers.bounce.evidence import notice_of, remote_host, window
from parsers.classify import classify
from parsers.dsn import Failure
from parsers.phrases import Diagnostic
from parsers.records import Kind, Reason
from parsers.status import find_command

_R = Reason


def _reason(**fields: str) -> Reason:
    return classify(Failure(address="rcpt@example.org", **fields)).reason


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("5.1.1", _R.USER_UNKNOWN),
        ("5.1.2", _R.HOST_UNKNOWN),
        ("5.1.6", _R.HAS_MOVED),
        ("5.2.2", _R.MAILBOX_FULL),
        ("4.2.2", _R.MAILBOX_FULL),
        ("5.3.4", _R.MESG_TOO_BIG),
        ("5.7.1", _R.SECURITY_ERROR),
    ],
)
def test_a_definite_code_decides_an_unknown_text(status: str, reason: Reason) -> None:
    # words no table knows: the code alone carries the meaning
    assert _reason(status=status, diagnostic="zzkx qwv plorp") is reason
    assert _reason(diagnostic=f"550 {status} zzkx qwv plorp") is reason


def test_reply_code_551_names_a_move() -> None:
    assert _reason(diagnostic="551 User not local; please try <other@example.net>") is (
        _R.HAS_MOVED
    )


def test_a_text_that_says_nothing_stays_open() -> None:
    assert _reason(diagnostic="zzkx qwv plorp") is _R.ON_HOLD
    assert _reason() is _R.UNDEFINED


@pytest.mark.parametrize(
    ("text", "command"),
    [
        (
            "550 5.1.1 <a@b.example>: Recipient address rejected (in reply to RCPT TO command)",
            "RCPT",
        ),
        ("host mx.example said: 552 message too big (in reply to end of DATA command)", "DATA"),
        ("SMTP error from remote mail server after rcpt to:<a@b.example>: 550 no", "RCPT"),
        ("remote server did not like our mail from: 553 sender rejected", "MAIL"),
        ("Sorry. Although I'm listed as a best-preference MX, does not like recipient.", "RCPT"),
        ("The recipient server did not accept our requests (state 14).", "RCPT"),
        ("The recipient server did not accept our requests (state 18).", "DATA"),
        ("no command named here", None),
    ],
)
def test_the_failed_step_in_any_case(text: str, command: str | None) -> None:
    assert find_command(text) == command
    assert find_command(text.lower()) == command


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("all host address lookups failed permanently", _R.HOST_UNKNOWN),
        ("ALL RELEVANT MX RECORDS POINT TO NON-EXISTENT HOSTS", _R.HOST_UNKNOWN),
        ("user not listed in Domino Directory", _R.USER_UNKNOWN),
        ("The recipient server did not accept our requests (state 14).", _R.USER_UNKNOWN),
    ],
)
def test_the_reporting_mta_own_verdict(text: str, reason: Reason) -> None:
    assert Diagnostic(text.lower()).verdict() is reason
    assert _reason(diagnostic=text) is reason


def test_no_verdict_in_a_quoted_remote_answer() -> None:
    assert Diagnostic("550 5.1.1 user unknown").verdict() is None


NOTICE = """This is the mail system at host relay.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

Mailbox full: <ann@example.org>
host mx.example.org[192.0.2.7] said: 552 quota exceeded

<bob@example.org>: host mx.example.org[192.0.2.7] said: 550 no such user here

--- Below this line is a copy of the message.

Return-Path: <news@example.com>
Subject: June
"""


def test_window_reads_around_each_recipient() -> None:
    notice = notice_of(NOTICE)
    assert "Below this line" not in notice and "Return-Path" not in notice
    others = ["ann@example.org", "bob@example.org"]
    ann = window(notice, "ann@example.org", others)
    bob = window(notice, "bob@example.org", others)
    assert "Mailbox full" in ann and "quota exceeded" in ann and "no such user" not in ann
    assert "no such user" in bob and "quota" not in bob
    assert window(notice, "carol@example.org", others) == ""
    # the one recipient of a report that never names it: the whole notice speaks about it
    assert "Mailbox full" in window(notice, "carol@example.org", [])


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("host mx.example.org[192.0.2.7] said: 550 no", "mx.example.org"),
        (
            "SMTP error from remote mail server after RCPT TO: host MX.Example.ORG [192.0.2.7]:",
            "mx.example.org",
        ),
        ("... while talking to mail.example.org.:", "mail.example.org"),
        ("Giving up on 192.0.2.7.", "192.0.2.7"),
        ("550 user unknown", ""),
    ],
)
def test_remote_host(text: str, host: str) -> None:
    assert remote_host(text) == host


BOUNCE = b"""From: MAILER-DAEMON@relay.example.net
To: news@example.com
Subject: Undelivered Mail Returned to Sender
Content-Type: text/plain

This is the mail system at host relay.example.net.

<ann@example.org>: host mx.example.org[192.0.2.7] said: 550 5.1.1
    <ann@example.org>: Recipient address rejected: User unknown (in reply to RCPT TO
    command)
"""


def test_families_param_switches_family_modules_off() -> None:
    full = parse_message(BOUNCE)
    generic = parse_message(BOUNCE, families=())
    assert full.kind is Kind.BOUNCE
    assert generic.kind is Kind.UNKNOWN and not generic.recipients
    readers = tuple(f for f in FAMILIES if f.__name__.rsplit(".", 1)[-1] in ("rfc3464", "text"))
    only_generic = parse_message(BOUNCE, families=readers)
    assert only_generic.family == "text"
    (recipient,) = only_generic.recipients
    assert recipient.address == "ann@example.org"
    assert recipient.reason is _R.USER_UNKNOWN and recipient.hard is True


def test_an_open_reason_is_read_from_the_notice() -> None:
    # the family's block for the recipient is cut short by the layout; the notice says more
    raw = b"""From: MAILER-DAEMON@relay.example.net
To: news@example.com
Subject: Mail delivery failed
X-Failed-Recipients: ann@example.org
Content-Type: text/plain

The following address(es) failed:

  ann@example.org

Reason given by the remote server: 552 5.2.2 mailbox full, quota exceeded
"""
    (recipient,) = parse_message(raw).recipients
    assert recipient.address == "ann@example.org"
    assert recipient.reason is _R.MAILBOX_FULL


def test_flufl_warnings_are_temporary_failures() -> None:
    """flufl.bounce answers (temporary, permanent); a delay warning it recognises is a
    temporary failure, not a permanent one (the two were read the wrong way round)."""
    from parsers.bounce.fluflbounce import flufl_addresses
    from parsers.mime import message_from_bytes

    raw = (
        b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
        b"To: sender@example.com\r\n"
        b"Subject: Delivery Status Notification (Delay)\r\n"
        b"\r\n"
        b"Delivery to the following recipient has been delayed:\r\n"
        b"\r\n"
        b"     ann@example.org\r\n"
        b"\r\n"
        b"Message will be retried for 2 more day(s)\r\n"
    )
    assert flufl_addresses(message_from_bytes(raw), raw) == ([], ["ann@example.org"])


def test_names_a_step_is_never_wrong_about_find_command() -> None:
    from parsers.status import names_a_step

    texts = [
        "in reply to RCPT TO command",
        "SMTP error from remote mail server after end of data",
        "The recipient server did not accept our requests (state 14).",
        "mail from: rejected",
        "no verb here at all",
        "Mailbox full: <a@b.example>",
    ]
    for text in texts:
        for variant in (text, text.upper(), text.lower()):
            if find_command(variant) is not None:
                assert names_a_step(variant.lower()), variant
