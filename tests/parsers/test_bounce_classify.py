"""Reason, status and hard/soft decisions for single recipients."""

from __future__ import annotations

import pytest

from parsers.classify import classify
from parsers.dsn import Failure
from parsers.records import Action, Reason


def _classify(**fields: str) -> tuple[Reason, str | None, bool | None]:
    recipient = classify(Failure(address="rcpt@example.org", **fields))
    return recipient.reason, recipient.status, recipient.hard


@pytest.mark.parametrize(
    ("fields", "reason", "status", "hard"),
    [
        (
            {"status": "5.1.1", "diagnostic": "550 5.1.1 user unknown"},
            Reason.USER_UNKNOWN,
            "5.1.1",
            True,
        ),
        (
            {"status": "5.1.2", "diagnostic": "Host or domain name not found"},
            Reason.HOST_UNKNOWN,
            "5.1.2",
            True,
        ),
        (
            {"status": "5.1.6", "diagnostic": "550 5.1.6 recipient no longer on server"},
            Reason.HAS_MOVED,
            "5.1.6",
            True,
        ),
        (
            {"status": "5.2.2", "diagnostic": "552 mailbox full"},
            Reason.MAILBOX_FULL,
            "5.2.2",
            False,
        ),
        ({"diagnostic": "552 5.3.4 message too big"}, Reason.MESG_TOO_BIG, "5.3.4", False),
        (
            {"diagnostic": "554 Relay access denied", "command": "RCPT"},
            Reason.NO_RELAYING,
            "5.0.909",
            False,
        ),
        (
            {"diagnostic": "550 Client host blocked using zen.spamhaus.org"},
            Reason.BLOCKED,
            "5.0.971",
            False,
        ),
        (
            {"diagnostic": "554 5.7.1 Message rejected as spam", "command": "DATA"},
            Reason.SPAM_DETECTED,
            "5.7.1",
            False,
        ),
        (
            {"diagnostic": "550 5.7.26 multiple authentication checks failed"},
            Reason.AUTH_FAILURE,
            "5.7.26",
            False,
        ),
        ({"diagnostic": "450 4.7.25 reverse DNS required"}, Reason.REQUIRE_PTR, "4.7.25", False),
        (
            {"action": "delayed", "diagnostic": "Connection timed out"},
            Reason.EXPIRED,
            "4.0.947",
            False,
        ),
        ({"diagnostic": "something nobody understands"}, Reason.ON_HOLD, "5.0.901", False),
        ({}, Reason.UNDEFINED, "5.0.900", False),
    ],
)
def test_reason_status_hard(
    fields: dict[str, str], reason: Reason, status: str, hard: bool
) -> None:
    assert _classify(**fields) == (reason, status, hard)


def test_hard_is_exactly_the_four_rfc_hard_reasons() -> None:
    """hard: userunknown, hostunknown, hasmoved, and notaccept only with a 5.x.x status."""
    assert _classify(reason="notaccept", status="5.3.2")[2] is True
    assert (
        _classify(reason="notaccept", status="4.3.2", diagnostic="452 4.3.2 not accepting")[2]
        is False
    )
    for soft in ("mailboxfull", "blocked", "spamdetected", "suspend", "expired", "filtered"):
        assert _classify(reason=soft, status="5.0.0")[2] is False


def test_non_failures_have_no_hard_verdict() -> None:
    for reason in ("vacation", "feedback", "delivered"):
        assert _classify(reason=reason)[2] is None


def test_provider_wording_refines_a_generic_code() -> None:
    gmail = Failure(
        address="a@gmail.example",
        status="5.7.1",
        remote_mta="gmail-smtp-in.l.google.com",
        diagnostic="550-5.7.1 this message is likely suspicious due to the very low "
        "reputation of the sending IP address",
    )
    assert classify(gmail).reason is Reason.BAD_REPUTATION


def test_multiline_smtp_answer_is_collapsed() -> None:
    failure = Failure(
        address="a@b.example",
        status="5.7.1",
        diagnostic="550-5.7.1 first line 550-5.7.1 second line 550 5.7.1 third",
    )
    recipient = classify(failure)
    assert recipient.diagnostic == "550 5.7.1 first line second line third"
    assert recipient.reply_code == "550"


def test_reply_code_must_agree_with_the_status_class() -> None:
    recipient = classify(
        Failure(
            address="a@b.example",
            status="4.4.1",
            diagnostic="421 4.4.1 timeout; earlier 550 rejected",
        )
    )
    assert recipient.reply_code == "421"
    assert recipient.action is Action.DELAYED


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        ("554 5.7.1 AUP#I-1000 mail from 192.0.2.1 refused", Reason.BLOCKED),
        ("552 5.3.4 AUP#O-1530 message exceeds the maximum size", Reason.MESG_TOO_BIG),
        ("421 4.7.0 AUP#I-1320 too many connections", Reason.TOO_MANY_CONN),
    ],
)
def test_spectrum_aup_codes_decide(diagnostic: str, reason: Reason) -> None:
    failure = Failure(
        address="a@charter.example", remote_mta="mx1.charter.net", diagnostic=diagnostic
    )
    assert classify(failure).reason is reason


@pytest.mark.parametrize(
    ("status", "diagnostic", "reason"),
    [
        (
            "5.0.0",
            "550 Unknown user x@docomo.example (in reply to end of DATA command)",
            "rejected",
        ),
        ("5.0.0", "550 Unknown user x@docomo.example (in reply to RCPT TO command)", "userunknown"),
        ("5.2.0", "550 Unknown user x@docomo.example", "filtered"),
        ("5.0.0", "552 too much mail data", "mailboxfull"),
    ],
)
def test_docomo_status_and_command_decide(status: str, diagnostic: str, reason: str) -> None:
    failure = Failure(
        address="x@docomo.example",
        remote_mta="mfsmax.docomo.ne.jp",
        status=status,
        diagnostic=diagnostic,
    )
    assert classify(failure).reason == reason


def test_iua_error_page_number_decides() -> None:
    failure = Failure(
        address="x@i.example",
        remote_mta="mx.email.ua",
        status="5.0.0",
        diagnostic="550 Mailbox is frozen. See https://mail.i.ua/err/3/",
    )
    assert classify(failure).reason is Reason.SUSPEND


def test_package_attribute_is_the_module() -> None:
    # ``import parsers.classify`` must give the module: the package must not rebind the
    # name to the function it imports from it
    import importlib

    import parsers

    module = importlib.import_module("parsers.classify")
    assert parsers.classify is module
    assert module.classify is classify
