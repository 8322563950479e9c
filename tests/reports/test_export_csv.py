"""The suppression CSV export writes exactly what ``csv.writer`` writes, fast path or not."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from reports.export import write_suppressions

_FIELD = st.text(alphabet=st.sampled_from('ab@., "\r\n\t;é\u2028x'), max_size=8)
_ROW = st.tuples(st.sampled_from(["address", "domain"]), _FIELD, _FIELD, _FIELD, _FIELD, _FIELD)


def reference(rows: list[tuple[str, ...]]) -> bytes:
    text = io.StringIO(newline="")
    w = csv.writer(text, lineterminator="\n")
    w.writerow(("address", "scope", "reason", "created_at", "expires_at", "note"))
    for scope, value, *rest in rows:
        w.writerow(("@" + value if scope == "domain" else value, scope, *rest))
    return text.getvalue().encode()


@settings(max_examples=400, deadline=None)
@given(st.lists(_ROW, max_size=6))
def test_same_bytes_as_csv_writer(rows: list[tuple[str, str, str, str, str, str]]) -> None:
    out = io.BytesIO()
    assert write_suppressions(rows, out, "csv") == len(rows)
    assert out.getvalue() == reference(rows)


def test_plain_and_quoted_rows() -> None:
    rows = [
        ("address", "a@example.com", "complaint", "2026-01-02T03:04:05Z", "", ""),
        ("domain", "example.org", "manual", "2026-01-02T03:04:05Z", "", 'said "stop", twice'),
        ("address", "b@example.com", "import", "2026-01-02T03:04:05Z", "", "line\nbreak"),
    ]
    out = io.BytesIO()
    write_suppressions(rows, out, "csv")
    assert out.getvalue().decode().splitlines()[1:3] == [
        "a@example.com,address,complaint,2026-01-02T03:04:05Z,,",
        '@example.org,domain,manual,2026-01-02T03:04:05Z,,"said ""stop"", twice"',
    ]
    assert out.getvalue() == reference(rows)
