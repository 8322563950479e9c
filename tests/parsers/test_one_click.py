"""RFC 8058 one-click unsubscribe, judged on the headers of our mail enclosed in a report."""

from __future__ import annotations

import pytest

from parsers import parse_message
from parsers.records import Kind, Original
from parsers.unsubscribe import check_one_click, sender_domain
from tests.builders.reports import Arf

HTTPS = "<https://sender.example/u/abc123>, <mailto:unsub-abc123@sender.example>"
POST = "List-Unsubscribe=One-Click"
SIGNED = "from:to:subject:date:list-unsubscribe:list-unsubscribe-post:message-id"


def original(**fields: object) -> Original:
    base: dict[str, object] = {
        "from_": "News <news@Sender.Example>",
        "campaign": "spring",
        "list_unsubscribe": HTTPS,
        "list_unsubscribe_post": POST,
        "dkim_signed": (SIGNED,),
    }
    base.update(fields)
    return Original(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "status", "findings"),
    [
        ({}, "pass", ()),
        ({"list_unsubscribe_post": "  list-unsubscribe = One-Click "}, "pass", ()),
        ({"dkim_signed": ()}, "pass", ("dkim_not_enclosed",)),
        ({"list_unsubscribe": None}, "fail", ("list_unsubscribe_missing",)),
        ({"list_unsubscribe_post": None}, "fail", ("list_unsubscribe_post_missing",)),
        (
            {"list_unsubscribe_post": "List-Unsubscribe=Yes"},
            "fail",
            ("list_unsubscribe_post_invalid",),
        ),
        (
            {"list_unsubscribe": "<mailto:u@sender.example>", "list_unsubscribe_post": None},
            "fail",
            ("no_https_uri", "list_unsubscribe_post_missing"),
        ),
        # an http: URI is not enough (RFC 8058 3.1: HTTPS)
        ({"list_unsubscribe": "<http://sender.example/u>"}, "fail", ("no_https_uri",)),
        # signed, but not the two fields: a forwarder could add them (RFC 8058 4)
        (
            {"dkim_signed": ("from:to:subject", "from:list-unsubscribe")},
            "warn",
            ("not_dkim_covered",),
        ),
        # one of two signatures covering both is enough
        ({"dkim_signed": ("from:to", SIGNED)}, "pass", ()),
    ],
)
def test_rfc8058_rules(fields: dict[str, object], status: str, findings: tuple[str, ...]) -> None:
    verdict = check_one_click(original(**fields))
    assert verdict is not None
    assert (verdict.status, verdict.findings) == (status, findings)
    assert verdict.detail


@pytest.mark.parametrize(
    "fields",
    [
        # transactional mail (no campaign, list, precedence or unsubscribe) is not judged
        {"campaign": None, "list_unsubscribe": None, "list_unsubscribe_post": None},
        {"from_": None},
    ],
)
def test_mail_that_cannot_be_judged(fields: dict[str, object]) -> None:
    assert check_one_click(original(**fields)) is None
    assert check_one_click(None) is None


@pytest.mark.parametrize("precedence", ["bulk", "List", " junk "])
def test_precedence_marks_bulk_mail(precedence: str) -> None:
    bare = original(campaign=None, list_unsubscribe=None, precedence=precedence)
    verdict = check_one_click(bare)
    assert verdict is not None and verdict.findings == ("list_unsubscribe_missing",)


@pytest.mark.parametrize(
    ("from_", "domain"),
    [
        ("News <news@Sender.Example>", "sender.example"),
        ("news@sender.example.", "sender.example"),
        ('"a, b" <x@mail.sender.example>, other@else.example', "mail.sender.example"),
        ("undisclosed-recipients:;", None),
        ("news@localhost", None),
    ],
)
def test_sender_domain(from_: str, domain: str | None) -> None:
    assert sender_domain(Original(from_=from_)) == domain


def test_fields_are_read_from_an_enclosed_message() -> None:
    dkim = (
        "v=1; a=rsa-sha256; c=relaxed/relaxed; d=sender.example; s=s1;\n"
        "\th=From:To:Subject:Date:Message-ID:\n\t List-Unsubscribe:List-Unsubscribe-Post;\n"
        "\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA"
    )
    raw = Arf(
        enclosed_headers=(
            ("List-Unsubscribe", HTTPS),
            ("List-Unsubscribe-Post", POST),
            ("DKIM-Signature", dkim),
            ("Precedence", "bulk"),
        )
    ).build()
    report = parse_message(raw)
    assert report.kind is Kind.COMPLAINT and report.original is not None
    o = report.original
    assert (o.list_unsubscribe, o.list_unsubscribe_post, o.precedence) == (HTTPS, POST, "bulk")
    assert o.dkim_signed == (
        "from:to:subject:date:message-id:list-unsubscribe:list-unsubscribe-post",
    )
    verdict = check_one_click(o)
    assert verdict is not None and verdict.status == "pass" and verdict.findings == ()


def test_an_enclosure_without_the_fields_fails() -> None:
    report = parse_message(Arf(enclosure_type="text/rfc822-headers").build())
    assert report.original is not None and report.original.list_unsubscribe is None
    verdict = check_one_click(report.original)  # List-Id and X-Campaign-ID: bulk mail
    assert verdict is not None and verdict.status == "fail"
