"""``deliverwatch status``: exit 0 healthy, 1 warning, 2 critical; table and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from monitor.enums import CheckCategory, CheckStatus
from monitor.store.models import CheckState
from tests.conftest import write_config
from tests.monitor.ops import rows


def _status(cli, config_file, fmt: str = "json"):
    result = cli("--config", config_file, "status", "--format", fmt)
    return result.code, (json.loads(result.out) if fmt == "json" else result.out)


def test_status_exit_codes_follow_the_worst_finding(store, config_file, cli) -> None:
    now = datetime.now(UTC)
    code, data = _status(cli, config_file)
    assert code == 0 and data["state"] == "ok" and data["findings"] == []
    assert data["queue"] is None  # no relay ever queued here
    jobs = {j["job"]: j for j in data["jobs"]}
    assert jobs["expire-suppressions"]["outcome"] == "never run"
    assert jobs["expire-suppressions"]["next_run"] is not None

    with store.session() as s, s.begin():
        rows.job_run(s, "expire-suppressions", "ok", at=now - timedelta(minutes=20))
        rows.job_run(s, "expire-suppressions", "failed", at=now - timedelta(minutes=5),
                     error="StoreError: database is locked")  # fmt: skip
        rows.sent(s, 50, domain="gmail.com", at=now - timedelta(minutes=1))
        rows.events(s, 1, kind="complained", domain="gmail.com", at=now - timedelta(minutes=1))
        mid = rows.relay_message(s, at=now - timedelta(minutes=2))
        rows.sent(s, 3, domain="example.net", at=now - timedelta(minutes=2), state="queued",
                  relay_message_id=mid)  # fmt: skip
    code, data = _status(cli, config_file)
    assert code == 1 and data["state"] == "warning"
    job = {j["job"]: j for j in data["jobs"]}["expire-suppressions"]
    assert job["outcome"] == "failed" and job["failures_in_row"] == 1
    assert job["error"] == "StoreError: database is locked"
    gmail = {r["provider_group"]: r for r in data["rates_today"]}["gmail"]
    assert gmail["sent"] == 50 and gmail["complaint_rate"] == 2.0  # under min_volume: not judged
    assert gmail["judged"] is False
    assert data["queue"]["pending"] == 3 and data["queue"]["by_state"] == {"queued": 3}
    assert [f["rule"] for f in data["findings"]] == ["job_failing"]

    with store.session() as s, s.begin():
        s.add(CheckState(category=CheckCategory.BLOCKLIST, subject="192.0.2.7",
                         key="zen.spamhaus.org", status=CheckStatus.LISTED, since=now,
                         last_checked_at=now))  # fmt: skip
    code, data = _status(cli, config_file)
    assert code == 2 and data["state"] == "critical"
    assert data["listings"] == [{"target": "192.0.2.7", "zone": "zen.spamhaus.org", "detail": ""}]
    code, text = _status(cli, config_file, "table")
    assert code == 2
    assert "CRITICAL" in text and "192.0.2.7 on zen.spamhaus.org" in text
    assert "database is locked" in text and "relay queue: 3 pending" in text


def test_status_lists_configured_mailboxes_before_their_first_poll(store, tmp_path, cli) -> None:
    config = write_config(
        tmp_path / "config.toml", store.url,
        '[mailboxes.bounces]\nhost = "127.0.0.1"\nport = 993\nusername = "u"\n'
        'password = "p"\nrole = "bounces"\n',
    )  # fmt: skip
    code, data = _status(cli, config)
    assert code == 0
    assert data["mailboxes"] == [
        {"mailbox": "bounces", "lag_seconds": None, "failures_in_row": 0, "last_error": None}
    ]
    assert {j["job"]: j["outcome"] for j in data["jobs"]}["poll-bounces"] == "never run"
