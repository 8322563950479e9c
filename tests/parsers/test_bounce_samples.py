"""Our own samples (tests/data/bounces): formats the shared corpus lacks.

Each ``name.eml`` has ``name.expected.json`` beside it with the report kind, the recipients
(in order, with the fields that matter), where relevant what must be recovered of the
original message, and its ``source`` (who wrote it, from what). Only the keys present in the
expectation are compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parsers import parse_message
from parsers.serialize import report_to_dict
from parsers.verp import decode

DATA = Path(__file__).parents[1] / "data" / "bounces"
SAMPLES = sorted(DATA.glob("*.eml"))
TEST_KEY = b"deliverwatch-test-key"


def _expected(sample: Path) -> dict[str, Any]:
    with sample.with_suffix(".expected.json").open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def test_there_are_enough_own_samples() -> None:
    assert len(SAMPLES) >= 40
    assert all(s.with_suffix(".expected.json").is_file() for s in SAMPLES)


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_sample_names_its_source(sample: Path) -> None:
    assert str(_expected(sample).get("source", "")).strip()


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_sample_parses_as_expected(sample: Path) -> None:
    expected = _expected(sample)
    got = report_to_dict(parse_message(sample.read_bytes()))
    assert got["kind"] == expected["kind"]
    assert got["error"] is None or expected["kind"] == "unknown"
    assert len(got["recipients"]) == len(expected["recipients"])
    for have, want in zip(got["recipients"], expected["recipients"], strict=True):
        assert {k: have[k] for k in want} == want
    for key, value in (expected.get("original") or {}).items():
        assert got["original"][key] == value, key


def test_verp_token_recovered_from_a_bounce_verifies() -> None:
    """The token in the returned headers is ours: it decodes and names the recipient."""
    report = parse_message((DATA / "dsn-rfc822-headers-verp.eml").read_bytes())
    assert report.original is not None and report.original.verp_token is not None
    token = decode(report.original.verp_token, key=TEST_KEY)
    assert token.message_id == 7
    assert token.matches("zoe@example.org")
    assert token.matches(report.recipients[0].address or "")
