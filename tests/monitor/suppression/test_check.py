"""``suppression check`` of a whole list (``monitor.suppression.check``, entries of a batch
looked up together) gives the verdicts that asking ``verdict_for`` one address at a time
gives, on SQLite and PostgreSQL, for any spelling of an address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.enums import ListScope, SuppressionReason
from monitor.store.suppressions import add_allow, add_suppression, entries_for
from monitor.suppression import verdict_for
from monitor.suppression.check import check_lines
from parsers.address import AddressError, normalize_address
from reports.visible import terminal_text

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
A, D = ListScope.ADDRESS, ListScope.DOMAIN
#: (scope, value, reason, expires in days (negative: expired), note); values as stored
SUPPRESSED = [
    (A, "bob@example.com", SuppressionReason.MANUAL, None, "asked\x1b[2J twice"),
    (A, "ünï@xn--bcher-kva.example", SuppressionReason.COMPLAINT, None, None),
    (D, "spam.example", SuppressionReason.MANUAL, None, None),
    (D, "xn--bcher-kva.example", SuppressionReason.HARD_BOUNCE, 30, "whole\u202edomain"),
    (A, "ceo@spam.example", SuppressionReason.MANUAL, 30, "n"),
    (A, "x@partner.example", SuppressionReason.COMPLAINT, None, None),
    (A, "old@example.com", SuppressionReason.MANUAL, -1, None),
    (D, "olddomain.example", SuppressionReason.MANUAL, -1, None),
    (A, "someone@olddomain.example", SuppressionReason.UNSUBSCRIBE, None, None),
    (A, '"quoted local"@example.com', SuppressionReason.MANUAL, None, None),
    (A, "user+tag@example.com", SuppressionReason.SOFT_BOUNCE, None, None),
    (A, "Case@cs.example", SuppressionReason.IMPORT, None, None),
    (D, "allowdom.example", SuppressionReason.MANUAL, None, None),
    # a newline can only reach the list through an address literal: PostgreSQL is then
    # sent the values as an array, not as one text the server splits at newlines
    (A, "lit@[10.0.0.1\nx]", SuppressionReason.MANUAL, None, None),
]
ALLOWED = [(A, "ceo@spam.example"), (D, "partner.example"), (A, "free@example.com"),
           (D, "allowdom.example")]  # fmt: skip
#: Spellings that normalise onto the entries above (case, IDN, brackets, mailto:), and
#: addresses beside them or malformed ones.
ODD = [
    "BOB@example.com", " <Bob@Example.COM> ", "mailto:bob@example.com", "Ünï@Bücher.Example",
    "anyone@bücher.example", "x@BÜCHER.EXAMPLE.", "anyone@SPAM.example", "CEO@Spam.Example",
    "y@partner.example", "x@partner.example", "old@example.com", "other@olddomain.example",
    "someone@olddomain.example", '"quoted local"@example.com', '"Quoted Local"@EXAMPLE.com',
    "User+Tag@Example.com", "user+other@example.com", "Case@cs.example", "case@CS.example",
    "free@example.com", "a@allowdom.example", "LIT@[10.0.0.1\nX]", "not an address",
    "a..b@example.com", "evil\u202egnp@isp.example", "tab\there@example.com", "x" * 65 + "@a.b",
    "ß@straße.example", "用户@例子.广告", "a@[127.0.0.1]", "# a comment", "",
]  # fmt: skip


def _fill(store) -> None:
    with store.session() as s:
        for scope, value, reason, days, note in SUPPRESSED:
            expires = None if days is None else NOW + timedelta(days=days)
            add_suppression(
                s, scope=scope, value=value, reason=reason, now=NOW - timedelta(days=9),
                expires_at=expires, note=note,
            )  # fmt: skip
        for scope, value in ALLOWED:
            add_allow(s, scope=scope, value=value, now=NOW - timedelta(days=5), note="partner")
        s.commit()


def _reference(store, lines: list[str], lowercase_local: bool) -> list[str]:
    """The verdict lines of ``lines`` asked one address at a time (``verdict_for``)."""
    out = []
    with store.session() as s:
        for line in lines:
            item = line.strip()
            if not item or item.startswith("#"):
                continue
            try:
                address = normalize_address(item, lowercase_local=lowercase_local)
            except AddressError as exc:
                out.append(f"{terminal_text(item)}: INVALID - {terminal_text(exc)}")
                continue
            v = verdict_for(s, address, now=NOW)
            label = "SUPPRESSED" if v.suppressed else "ok to send"
            out.append(f"{terminal_text(address)}: {label} - {terminal_text(v.why)}")
    return out


def _checked(store, lines: list[str], lowercase_local: bool) -> list[str]:
    written: list[str] = []
    check_lines(
        store.factory, lines, now=NOW, lowercase_local=lowercase_local, write=written.append
    )
    return "".join(written).splitlines()


@pytest.mark.parametrize("lowercase_local", [True, False])
def test_a_list_gets_the_verdicts_of_one_at_a_time(store, lowercase_local) -> None:
    _fill(store)
    expected = _reference(store, ODD, lowercase_local)
    assert sum("SUPPRESSED" in line for line in expected) >= 8  # the entries are reached
    assert any("despite" in line for line in expected)
    assert any("INVALID" in line for line in expected)
    assert _checked(store, ODD, lowercase_local) == expected


def test_entries_of_a_newline_value(store) -> None:
    """PostgreSQL gets the values as one text split at newlines, or an array when a value
    holds one (only an address literal can)."""
    _fill(store)
    with store.session() as s:
        entries, allows = entries_for(s, ["lit@[10.0.0.1\nx]", "bob@example.com"])
    assert set(entries) == {(A, "lit@[10.0.0.1\nx]"), (A, "bob@example.com")} and not allows


LOCAL = st.text(alphabet="aAbBzZ09.+-_\"'ßİ用 ", min_size=0, max_size=6)
DOMAIN = st.sampled_from(
    ["example.com", "EXAMPLE.com", "spam.example", "Bücher.example", "xn--bcher-kva.example",
     "partner.example", "olddomain.example", "cs.example", "b", "-x.example", "[1.2.3.4]"]
)  # fmt: skip
KNOWN = st.sampled_from([v for s, v, *_ in SUPPRESSED if s is A] + ["free@example.com"])


@st.composite
def odd_address(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        known = draw(KNOWN)
        return draw(st.sampled_from([known, known.upper(), f" <{known}> ", f"mailto:{known}"]))
    local = draw(LOCAL)
    if draw(st.booleans()):
        local = f'"{local}"'
    return f"{local}@{draw(DOMAIN)}"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(odd_address(), min_size=1, max_size=12), lowercase_local=st.booleans())
def test_any_list_gets_the_verdicts_of_one_at_a_time(store, lines, lowercase_local) -> None:
    with store.session() as s:
        empty = not entries_for(s, ["bob@example.com"])[0]
    if empty:  # the store outlives hypothesis' examples
        _fill(store)
    assert _checked(store, lines, lowercase_local) == _reference(store, lines, lowercase_local)


def test_a_byte_that_is_not_utf8_is_one_invalid_line(cli, config_file: Path, tmp_path) -> None:
    """It used to end the whole check with a UnicodeEncodeError."""
    listing = tmp_path / "list.txt"
    listing.write_bytes(
        b'a@example.com\nbad\xffbyte@example.com\n"q\x00"@example.com\nb@example.com\n'
    )
    r = cli("--config", config_file, "suppression", "check", "--file", listing)
    lines = r.out.splitlines()
    assert r.code == 1 and len(lines) == 4, r.err
    assert lines[1].startswith("bad[U+DCFF]byte@example.com: INVALID - NUL or a byte")
    assert lines[2].startswith('"q[U+0000]"@example.com: INVALID')
    assert lines[3] == "b@example.com: ok to send - not suppressed"
