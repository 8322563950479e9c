"""The generated robustness set (bench/robustness.py, issue 18 point 4): its perturbations
change what they say they change, keep the rest, and the set scores like the corpus.

The figures themselves are benchmarks (``make bench``); these tests only pin down the
generator, on our own samples and on a few corpus messages.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from email import message_from_bytes
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from parsers import parse_message
from tests.shared_paths import REQUIRE_SHARED, SHARED

REPO = Path(__file__).parents[2]
DATA = REPO / "tests" / "data" / "bounces"
CORPUS = SHARED / "corpus" / "bounces"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_robustness", REPO / "bench" / "robustness.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


rob = _load()
POSTFIX = (DATA / "dsn-postfix-three-recipients.eml").read_bytes()


def _label(raw: bytes) -> dict[str, Any]:
    report = parse_message(raw)
    return {
        "file": "sample.eml",
        "recipients": [
            {"address": r.address, "status": r.status, "reason": r.reason.value, "hard": r.hard}
            for r in report.recipients
        ],
    }


def _variants(raw: bytes, index: int = 0) -> dict[str, tuple[bytes, dict[str, Any]]]:
    return {name: (data, label) for name, data, label in rob.variants(raw, _label(raw), index)}


def test_every_perturbation_is_made_and_is_deterministic() -> None:
    first, second = _variants(POSTFIX), _variants(POSTFIX)
    assert set(first) == {*rob.PERTURBATIONS, *rob.EXTRA}
    assert first == second
    for name, (data, _label) in first.items():
        assert data != POSTFIX, name


def test_nodsn_removes_the_status_part_and_keeps_the_notice() -> None:
    data, label = _variants(POSTFIX)["nodsn"]
    assert b"message/delivery-status" not in data.lower()
    assert b"Final-Recipient" not in data
    msg = message_from_bytes(data)
    assert any(p.get_content_type() == "text/plain" for p in msg.walk())
    # every recipient still named in the notice keeps its label
    assert label["recipients"] and all(r["address"].encode() in data for r in label["recipients"])


def test_nodsn_withdraws_what_the_notice_no_longer_says() -> None:
    before = message_from_bytes(POSTFIX)
    after = rob.no_dsn(message_from_bytes(POSTFIX))
    label = {"recipients": [{"address": "nobody@nowhere.example", "status": "5.1.1"}]}
    assert rob.expected_without_dsn(label, before, after) is None


def test_rewrap_refills_the_notice() -> None:
    data, label = _variants(POSTFIX)["rewrap"]
    assert label == _label(POSTFIX)
    notice = next(
        p for p in message_from_bytes(data).walk() if p.get_content_type() == "text/plain"
    )
    lines = str(notice.get_payload(decode=True), "utf-8", "replace").split("\n")
    assert all(len(line) <= 58 or " " not in line for line in lines)


def test_hosts_renames_hosts_but_not_providers_or_addresses() -> None:
    text = (
        "host mx1.relay.example.net[192.0.2.7] said: see https://support.google.com/mail;"
        " a@b.example.org"
    )
    renamed = rob._rename_hosts(text)
    assert "mx1.relay.example.net" not in renamed and "192.0.2.7" not in renamed
    assert "https://support.google.com/mail" in renamed
    assert "a@b.example.org" in renamed
    assert rob._rename_hosts("gmail-smtp-in.l.google.com") == "gmail-smtp-in.l.google.com"
    assert rob._rename_hosts("Postfix") == "Mailsrv"


@pytest.mark.parametrize("language", ["fr", "de", "es", "pt", "it", "ja", "ru", "zh"])
def test_translate_rewrites_the_mta_sentences(language: str) -> None:
    text = "I'm sorry to have to inform you that your message could not be delivered"
    translated = rob.translate_text(text, language)
    assert translated != text
    assert rob.translate_text("<a@b.example.org>: user unknown", language).startswith(
        "<a@b.example.org>"
    )


def test_case_changes_codes_lines_and_fields_not_the_template() -> None:
    upper, _ = _variants(POSTFIX, index=0)["case"]
    lower, _ = _variants(POSTFIX, index=1)["case"]
    assert b"FINAL-RECIPIENT" in upper and b"final-recipient" in lower
    assert b"This is the mail system" in upper  # the MTA's own template keeps its case


@pytest.mark.skipif(not CORPUS.is_dir() and not REQUIRE_SHARED, reason="shared corpus absent")
def test_build_writes_a_set_eval_bounces_can_score(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    labels = rob.load_labels(CORPUS)[::60]
    for label in labels:
        (corpus / label["file"]).write_bytes((CORPUS / label["file"]).read_bytes())
    (corpus / "labels.jsonl").write_text("".join(json.dumps(lab) + "\n" for lab in labels))
    out = tmp_path / "set"
    written = rob.build(out, corpus)
    on_disk = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert on_disk == written
    assert {lab["family"] for lab in written} <= set(rob.PERTURBATIONS)
    for label in written:
        assert (out / label["file"]).is_file()
        assert re.match(r"(nodsn|rewrap|hosts|translate|case)-", label["file"])
        assert label["source"].startswith("bench/robustness.py")
    extra = [json.loads(line) for line in (out / "extra" / "labels.jsonl").read_text().splitlines()]
    assert {lab["family"] for lab in extra} == set(rob.EXTRA)
