"""Every hostile message or report document of ``tests.builders.hostile``, at full size, read
the way the poller's parse worker reads it and the way ``deliverwatch parse`` does, in a
child process limited to 1 GiB of address space.

The outcome must be clear: refused with a reason that says which bound was hit (the
poller then files the message in the failed folder with that reason: nothing is lost), or
parsed; and no traceback. Before issue 11, the deep XML needed 9.8 GB, the bombs ran 40+ s
to the size limit and the folded headers 670 MB to 3 GB. Speed is measured by
``bench/bench_hostile.py``, not asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.builders.hostile import CLASSES
from tests.hostile.limited import run_limited

_CHILD = """
import contextlib, io, json, sys
from monitor.cli import main
from monitor.ingest.parse import parse_item
from parsers.errors import ParseError
raw = open(sys.argv[1], "rb").read()
item = parse_item(raw, ref="INBOX:1:1", received_at=None)
raw = None
rows, rows_error = 0, None
if item.document is not None:
    from parsers.dmarc import iter_dmarc_records
    try:
        rows = sum(1 for _ in iter_dmarc_records(item.document))
    except ParseError as exc:
        rows_error = str(exc)
cli = io.StringIO()
with contextlib.redirect_stdout(cli):
    code = main(["parse", sys.argv[1]])
print(json.dumps({
    "kind": item.report.kind.value, "error": item.report.error, "hash": item.content_hash,
    "recipients": [r.address for r in item.report.recipients], "rows": rows,
    "rows_error": rows_error, "cli_code": code, "cli": cli.getvalue(),
}))
"""

#: class -> (kind, words of the error): which bound refused it
EXPECTED = {
    "deep-xml bare": ("unknown", "nested deeper than 32 levels"),
    "deep-xml gzip-in-gzip mailed": ("unknown", "nested deeper than 32 levels"),
    "deep-xml zip": ("unknown", "nested deeper than 32 levels"),
    "nul bomb gzip": ("unknown", "too many characters that are not XML"),
    "nul bomb gzip-in-gzip mailed": ("unknown", "too many characters that are not XML"),
    "ctl bomb gzip-in-zip": ("unknown", "too many characters that are not XML"),
    "bad-utf8 bomb zip mailed": ("unknown", "too many characters that are not XML"),
    "markup bomb zip": ("unknown", "expands more than 300-fold"),
    "honest nul bomb gzip": ("unknown", "exceeds the 209,715,200-byte limit"),
    "space bomb gzip": ("unknown", "expands more than 300-fold"),
    "text bomb gzip": ("unknown", "expands more than 300-fold"),
    "json bomb gzip": ("unknown", "exceeds the 16,777,216-byte limit (its trailer says"),
    "json containers bare": ("unknown", "objects and arrays, over 200,000"),
    "deep-json gzip": ("unknown", "not valid JSON: maximum recursion depth"),
    "folded headers": ("unknown", "header section of 12,500,"),
    "many header fields": ("unknown", "header section of 300,004 fields, over 10,000"),
    "envelope line, then folded part": ("unknown", "header section of 12,500,"),
    "folded headers in a part": ("unknown", "header section of 12,500,"),
    "control characters": ("bounce", ""),
}


def test_every_class_has_an_expected_outcome() -> None:
    assert set(EXPECTED) == set(CLASSES)


@pytest.mark.parametrize("name", list(CLASSES))
def test_hostile_input_is_refused_with_a_reason_in_bounded_memory(
    name: str, tmp_path: Path
) -> None:
    path = tmp_path / "input.eml"
    path.write_bytes(CLASSES[name][1]())
    outcome = run_limited(["-c", _CHILD, str(path)])
    assert outcome.code == 0, outcome.err[-2000:]
    assert outcome.clean, outcome.err[-2000:]
    got = json.loads(outcome.out)
    kind, words = EXPECTED[name]
    assert got["kind"] == kind
    assert len(got["hash"]) == 64  # the poller can key and file it
    if kind == "unknown":
        assert words in (got["error"] or "")
    else:
        assert got["error"] is None and got["recipients"] == ["user@isp.example"]
    assert got["rows_error"] is None
    # deliverwatch parse says the same, exit 0 (a refused message is a result, not a failure)
    assert got["cli_code"] == 0
    [record] = [json.loads(line) for line in got["cli"].splitlines()]
    assert record["kind"] == kind and words in (record["error"] or "")
