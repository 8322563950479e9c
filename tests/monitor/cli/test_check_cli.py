"""``deliverwatch check ...`` end to end against the loopback nameserver: output, exit
status, the config as default and flags on top, and storing like a daemon run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from monitor.store.models import AlertRecord, BlocklistResult
from tests.conftest import Store, write_config
from tests.monitor.checks.helpers import Webhook
from tests.servers.dns import DNSServer, Zone

DATA = Path(__file__).resolve().parents[2] / "data" / "dns"
IP = "192.0.2.10"


def _config(tmp_path: Path, db_url: str | None = None, extra: str = "") -> Path:
    """A config whose database is never touched with --no-store (none exists)."""
    url = db_url or f"sqlite:///{tmp_path / 'never-created.db'}"
    return write_config(tmp_path / "config.toml", url, extra)


def _bl_zone(answer: list[object] | None) -> Zone:
    data: dict[str, list[object]] = {"2.0.0.127.bl.spamcop.net": [{"A": "127.0.0.2"}]}
    if answer is not None:
        data["10.2.0.192.bl.spamcop.net"] = answer
    return Zone().update(data)


def _blocklists(cli: Any, config: Path, server: DNSServer, *extra: str) -> Any:
    return cli(
        "--config",
        config,
        "check",
        "blocklists",
        "--ip",
        IP,
        "--zone",
        "bl.spamcop.net",
        "--nameserver",
        server.address,
        "--timeout",
        "0.5",
        *extra,
    )


@pytest.mark.parametrize(
    ("answer", "code", "status"),
    [
        (None, 0, "not_listed"),
        ([{"A": "127.0.0.2"}, {"TXT": "see https://www.spamcop.net/"}], 1, "listed"),
        (["SERVFAIL"], 2, "unknown"),
    ],
)
def test_blocklists_exit_status(
    cli: Any, tmp_path: Path, answer: list[object] | None, code: int, status: str
) -> None:
    with DNSServer(_bl_zone(answer)) as server:
        result = _blocklists(cli, _config(tmp_path), server, "--format", "json", "--no-store")
    out = json.loads(result.out)
    assert result.code == code
    assert [r["status"] for r in out["results"]] == [status]
    assert "alerts" not in out
    assert not (tmp_path / "never-created.db").exists()


def test_blocklists_table_says_where_to_delist(cli: Any, tmp_path: Path) -> None:
    with DNSServer(_bl_zone([{"A": "127.0.0.2"}])) as server:
        result = _blocklists(cli, _config(tmp_path), server, "--no-store")
    assert result.code == 1
    assert "listed" in result.out and "https://www.spamcop.net/bl.shtml" in result.out


def test_check_uses_config_stores_and_alerts_once(cli: Any, store: Store, tmp_path: Path) -> None:
    listed = _bl_zone([{"A": "127.0.0.2"}, {"TXT": "see https://www.spamcop.net/"}])
    with DNSServer(listed) as server, Webhook() as hook:
        config = _config(
            tmp_path,
            store.url,
            f"""
[sending]
ips = ["{IP}"]
[checks]
nameservers = ["{server.address}"]
zones = ["bl.spamcop.net"]
timeout_seconds = 0.5
[alerts]
webhook_url = "{hook.url}"
""",
        )
        first = cli("--config", config, "check", "blocklists", "--format", "json")
        second = cli("--config", config, "check", "blocklists", "--format", "json")
    assert first.code == second.code == 1
    assert [r["target"] for r in json.loads(first.out)["results"]] == [IP]
    assert [a["kind"] for a in json.loads(first.out)["alerts"]] == ["newly_listed"]
    assert json.loads(second.out)["alerts"] == []
    assert "stored; 1 new alert(s); alerts: 1 by webhook" in first.err
    assert len(hook.posts) == 1
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(BlocklistResult)) == 2
        assert session.scalar(select(func.count()).select_from(AlertRecord)) == 1


def test_flags_override_the_config(cli: Any, tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        extra="""
[sending]
ips = ["198.51.100.1"]
[checks]
nameservers = ["127.0.0.1:9"]
zones = ["zen.spamhaus.org"]
""",
    )
    with DNSServer(_bl_zone(None)) as server:
        result = _blocklists(cli, config, server, "--format", "json", "--no-store")
    out = json.loads(result.out)
    assert result.code == 0
    assert [(r["target"], r["zone"]) for r in out["results"]] == [(IP, "bl.spamcop.net")]


def test_nothing_to_check_is_a_usage_error(cli: Any, tmp_path: Path) -> None:
    result = cli("--config", _config(tmp_path), "check", "blocklists", "--no-store")
    assert result.code == 2 and "nothing to check" in result.err
    result = cli("--config", _config(tmp_path), "check", "auth", "--no-store")
    assert result.code == 2 and "nothing to check" in result.err


def test_storing_needs_a_migrated_database(cli: Any, tmp_path: Path) -> None:
    result = cli("--config", _config(tmp_path), "check", "blocklists", "--ip", IP)
    assert result.code == 2 and "db upgrade" in result.err


def _auth_zone() -> Zone:
    zone = Zone.from_file(DATA / "example.com.zone", "example.com.")
    zone.update(Zone.load_json(DATA / "reverse.json"))
    return zone.update(
        {
            "example.com": [{"TXT": "v=spf1 ip4:192.0.2.10 -all"}],
            "_dmarc.example.com": [{"TXT": "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"}],
        }
    )


def _auth(cli: Any, config: Path, server: DNSServer, *args: str) -> Any:
    return cli(
        "--config",
        config,
        "check",
        "auth",
        *args,
        "--nameserver",
        server.address,
        "--timeout",
        "0.5",
        "--no-store",
    )


def test_auth_reports_weak_records_with_exit_1(cli: Any, tmp_path: Path) -> None:
    with DNSServer(_auth_zone()) as server:
        args = ("--domain", "example.com", "--ip", IP, "--helo", "mail.example.com")
        result = _auth(
            cli, _config(tmp_path), server, *args, "--selector", "s1", "--format", "json"
        )
    results = {(r["kind"], r["subject"]): r for r in json.loads(result.out)["results"]}
    assert result.code == 1  # the DKIM selector s1 is not published
    assert results[("spf", f"example.com [{IP}]")]["status"] == "pass"
    assert results[("dmarc", "_dmarc.example.com")]["status"] == "pass"
    assert results[("ptr", IP)]["status"] == "pass"
    assert results[("dkim", "s1._domainkey.example.com")]["findings"] == ["record_missing"]
    assert results[("mta-sts", "_mta-sts.example.com")]["status"] == "fail"  # no HTTPS here


def test_auth_from_config(cli: Any, tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        extra=f"""
[sending]
ips = ["{IP}"]
envelope_domain = "example.com"
from_domains = ["example.com"]
[sending.helo]
"{IP}" = "stale.example.com"
[sending.dkim."example.com"]
selectors = ["s1", "s0"]
""",
    )
    with DNSServer(_auth_zone()) as server:
        result = _auth(cli, config, server, "--format", "json")
    results = {(r["kind"], r["subject"]): r for r in json.loads(result.out)["results"]}
    assert result.code == 1
    assert results[("spf", f"example.com [{IP}]")]["status"] == "pass"
    assert ("dkim", "s0._domainkey.example.com") in results
    assert results[("ptr", IP)]["status"] == "fail"  # HELO is not the PTR name


def test_auth_unauthorised_ip_fails(cli: Any, tmp_path: Path) -> None:
    with DNSServer(_auth_zone()) as server:
        result = _auth(
            cli, _config(tmp_path), server, "--domain", "example.com", "--ip", "198.51.100.1"
        )
    assert result.code == 1
    assert "ip4:198.51.100.1" in result.out
