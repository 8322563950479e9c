"""``deliverwatch events list|export`` and the Parquet suppression export, on both backends."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import insert

from monitor.enums import ListScope, SuppressionReason
from monitor.store.models import Event, Suppression

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script> "quoted", \u202eline\nbreak'


def seed(store) -> None:
    rows = []
    for i, (kind, day, campaign, domain, trust) in enumerate(
        [
            ("bounced", 10, "spring", "gmail.com", "verified"),
            ("bounced", 11, "spring", "yahoo.com", "unverified"),
            ("complained", 11, "spring", "gmail.com", "verified"),
            ("delivered", 12, "news", "gmail.com", "local"),
            ("delivered", 13, "news", "outlook.com", "local"),
        ]
    ):
        at = T0.replace(day=day)
        rows.append(
            {
                "kind": kind, "address": f"u{i}@{domain}", "recipient_domain": domain,
                "campaign": campaign, "trust": trust, "source": "test", "occurred_at": at,
                "ingested_at": at, "dedupe_key": f"k{i}", "hard": kind == "bounced" or None,
                "diagnostic": HOSTILE if kind == "bounced" else None,
            }
        )  # fmt: skip
    with store.factory() as s, s.begin():
        s.execute(insert(Event), rows)
        s.add_all(
            [
                Suppression(scope=ListScope.ADDRESS, value="a@x.example", note="FBL",
                            reason=SuppressionReason.COMPLAINT, created_at=T0, updated_at=T0),
                Suppression(scope=ListScope.DOMAIN, value="spam.example",
                            reason=SuppressionReason.MANUAL, created_at=T0, updated_at=T0),
            ]
        )  # fmt: skip


def test_export_formats_and_filters(cli, store, config_file: Path, tmp_path: Path) -> None:
    seed(store)
    r = cli(
        "--config",
        config_file,
        "events",
        "export",
        "--since",
        "2026-03-11",
        "--until",
        "2026-03-13",
    )
    assert r.code == 0, r.err
    got = list(csv.DictReader(io.StringIO(r.out)))
    assert [(g["kind"], g["occurred_at"]) for g in got] == [
        ("bounced", "2026-03-11T12:00:00Z"),
        ("complained", "2026-03-11T12:00:00Z"),
        ("delivered", "2026-03-12T12:00:00Z"),
    ]
    assert got[0]["diagnostic"] == HOSTILE and got[0]["hard"] == "true"  # data kept exactly
    r = cli("--config", config_file, "events", "export", "--format", "jsonl", "--kind", "bounced",
            "--trust", "unverified")  # fmt: skip
    [one] = [json.loads(line) for line in r.out.splitlines()]
    assert (one["address"], one["trust"], one["hard"]) == ("u1@yahoo.com", "unverified", True)
    out = tmp_path / "e.parquet"
    r = cli("--config", config_file, "events", "export", "--format", "parquet", "--out", out,
            "--campaign", "news", "--domain", "Gmail.COM")  # fmt: skip
    assert r.code == 0 and "exported 1 events" in r.err
    table = pq.read_table(out)
    assert table.num_rows == 1 and table.column("kind").to_pylist() == ["delivered"]
    assert table.schema.field("occurred_at").type.tz == "UTC"
    assert table.column("occurred_at").to_pylist()[0] == T0.replace(day=12)
    empty = tmp_path / "none.parquet"
    r = cli("--config", config_file, "events", "export", "--format", "parquet", "--out", empty,
            "--kind", "clicked")  # fmt: skip
    assert r.code == 0 and pq.read_table(empty).num_rows == 0


def test_list_newest_first(cli, store, config_file: Path) -> None:
    seed(store)
    r = cli("--config", config_file, "events", "list", "--kind", "delivered", "--limit", "1")
    assert r.code == 0 and "outlook.com" in r.out and "gmail.com" not in r.out
    r = cli("--config", config_file, "events", "list", "--since", "2026-03-20")
    assert r.code == 0 and "0 events shown" in r.err


def test_suppression_export_parquet(cli, store, config_file: Path, tmp_path: Path) -> None:
    seed(store)
    out = tmp_path / "s.parquet"
    r = cli("--config", config_file, "suppression", "export", "--format", "parquet", "--out", out)
    assert r.code == 0 and "exported 2 entries" in r.err
    rows = sorted(pq.read_table(out).to_pylist(), key=lambda x: x["address"])
    assert [(x["address"], x["scope"], x["reason"], x["note"]) for x in rows] == [
        ("@spam.example", "domain", "manual", None),
        ("a@x.example", "address", "complaint", "FBL"),
    ]
    assert rows[1]["created_at"] == T0 and rows[1]["expires_at"] is None
