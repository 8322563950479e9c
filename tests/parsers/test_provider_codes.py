"""Provider policy codes (parsers/rhost/policy.py): every documented entry, one test each.

Each entry's documented reply is put into a bounce from an MTA nobody has sampled, once as
an RFC 3464 DSN and once as a DSN-less Postfix-style notice, and must come out with the
entry's reason, on the entry's side. A sender-side code read as a recipient problem would
suppress a good address; a recipient-side one read as the sender's would keep mailing a
dead one: the side is checked on its own so that the failure says which mistake it was.
"""

from __future__ import annotations

import re

import pytest

from parsers import parse_message
from parsers.records import Reason, Side
from parsers.rhost.policy import CODES, PolicyCode, find
from parsers.sides import SIDES, side_of
from parsers.status import find_status

IDS = [f"{c.provider}-{c.code}" for c in CODES]
RECIPIENT = "someone@provider.example"


def _dsn(code: PolicyCode) -> bytes:
    status = find_status(code.example) or ("4.0.0" if code.example.startswith("4") else "5.0.0")
    return (
        "From: MAILER-DAEMON@relay.unseen.example\n"
        "To: news@sender.example\n"
        "Subject: Delivery failure\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        "--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; relay.unseen.example\n\n"
        f"Final-Recipient: rfc822; {RECIPIENT}\n"
        f"Action: {'delayed' if status.startswith('4') else 'failed'}\n"
        f"Status: {status}\n"
        "Remote-MTA: dns; mx1.unseen-isp.example\n"
        f"Diagnostic-Code: smtp; {code.example}\n\n"
        "--b--\n"
    ).encode()


def _notice(code: PolicyCode) -> bytes:
    return (
        "From: MAILER-DAEMON@relay.unseen.example (Mail Delivery System)\n"
        "To: news@sender.example\n"
        "Subject: Undelivered Mail Returned to Sender\n\n"
        "This is the mail system at host relay.unseen.example.\n\n"
        f"<{RECIPIENT}>: host mx1.unseen-isp.example[192.0.2.7] said: {code.example}\n"
    ).encode()


def _check(code: PolicyCode, raw: bytes) -> None:
    report = parse_message(raw)
    found = [r for r in report.recipients if r.address == RECIPIENT]
    assert found, f"{code.provider} {code.code}: recipient not found"
    reason = found[0].reason
    assert side_of(reason) is code.side, (
        f"{code.provider} {code.code}: read as {reason} ({side_of(reason)}), "
        f"documented as {code.side}"
    )
    assert reason is code.reason


@pytest.mark.parametrize("code", CODES, ids=IDS)
def test_documented_reply_in_a_dsn(code: PolicyCode) -> None:
    _check(code, _dsn(code))


@pytest.mark.parametrize("code", CODES, ids=IDS)
def test_documented_reply_in_a_notice_without_dsn(code: PolicyCode) -> None:
    _check(code, _notice(code))


@pytest.mark.parametrize("code", CODES, ids=IDS)
def test_entry_names_its_source_and_a_consistent_side(code: PolicyCode) -> None:
    assert re.match(r"https?://[a-z0-9.-]+\.[a-z]{2,}/?", code.source)
    assert code.side is side_of(code.reason)
    assert find(code.example) is code  # the example is the code's own, not a neighbour's


def test_no_other_entry_claims_an_example_for_the_other_side() -> None:
    """Two entries may share a wording only if they agree on whose problem it is."""
    for code in CODES:
        lowered = code.example.lower()
        for other in CODES:
            if other is not code and other.regex.search(lowered):
                assert other.side is code.side, (code.code, other.code)


def test_every_required_provider_is_covered() -> None:
    providers = {c.provider for c in CODES}
    wanted = {"google", "microsoft", "yahoo", "aol", "apple", "comcast", "spectrum", "cox"}
    wanted |= {"orange", "laposte", "gmx", "web.de", "t-online", "mail.ru", "yandex", "qq"}
    wanted |= {"netease"}
    assert wanted <= providers
    assert any(c.code.startswith("S31") for c in CODES)  # Outlook.com Sxxxx
    assert any(c.code.startswith("TSS") for c in CODES)  # Yahoo TSSxx
    assert any(c.code.startswith("RL0") for c in CODES)  # Comcast RLxxxxxx


def test_sides_partition_the_failure_reasons() -> None:
    assert set(SIDES.values()) == {Side.SENDER, Side.RECIPIENT}
    for reason in (Reason.EXPIRED, Reason.NETWORK_ERROR, Reason.SYSTEM_ERROR, Reason.VACATION):
        assert side_of(reason) is None
    assert side_of(Reason.USER_UNKNOWN) is Side.RECIPIENT
    assert side_of(Reason.BLOCKED) is Side.SENDER


def test_an_ordinary_reply_carries_no_provider_code() -> None:
    assert find("550 5.1.1 <a@b.example>... User unknown") is None
    assert find("") is None
