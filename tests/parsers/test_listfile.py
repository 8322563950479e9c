"""Suppression-file rows: formats, header aliases, reasons, dates, line numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parsers.listfile import ListRow, RowError, iter_list_rows, parse_reason, parse_timestamp


def rows(text: str, fmt: str = "csv") -> list[ListRow | RowError]:
    return list(iter_list_rows(text.splitlines(keepends=True), fmt))


def test_csv_header_aliases_and_bom() -> None:
    got = rows("\ufeffE-mail,EMAIL,Note\nx,A@B.example,hello\n")
    assert got == [ListRow(2, False, "a@b.example", None, None, "hello", None)]


def test_multiline_quoted_note_keeps_physical_line_numbers() -> None:
    got = rows('address,note\na@b.example,"two\nlines"\nbad\n')
    assert isinstance(got[0], ListRow) and got[0].note == "two\nlines"
    assert isinstance(got[1], RowError) and got[1].line == 4


def test_scope_column_and_at_domain() -> None:
    got = rows("address,scope\nexample.org,domain\n@Example.NET,\n")
    assert [(r.domain, r.value) for r in got if isinstance(r, ListRow)] == [
        (True, "example.org"),
        (True, "example.net"),
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("BOUNCE", "hard-bounce"),
        ("Spam Report", "complaint"),
        ("opt-out", "unsubscribe"),
        ("soft_bounce", "soft-bounce"),
        ("manual", "manual"),
    ],
)
def test_reason_spellings(text: str, reason: str) -> None:
    assert parse_reason(text) == reason


def test_unknown_reason() -> None:
    with pytest.raises(ValueError, match="unknown reason"):
        parse_reason("meh")


def test_timestamps() -> None:
    assert parse_timestamp("2026-01-02") == datetime(2026, 1, 2, tzinfo=UTC)
    assert parse_timestamp("2026-01-02T03:04:05+01:00") == datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert parse_timestamp("1700000000") == datetime.fromtimestamp(1700000000, UTC)
    assert parse_timestamp(" ") is None


def test_ses_without_header() -> None:
    got = rows("a@b.example,COMPLAINT\nc@d.example,BOUNCE\n", "ses")
    assert [(r.value, r.reason) for r in got if isinstance(r, ListRow)] == [
        ("a@b.example", "complaint"),
        ("c@d.example", "hard-bounce"),
    ]


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        iter_list_rows([], "xml")
