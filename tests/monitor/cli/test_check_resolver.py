"""A resolver that answers NXDOMAIN or SERVFAIL to everything is not a fact about the domain
(issue 14.2): the checks confirm the resolver works first, say "could not check", exit 2, store
nothing and alert nothing; every incomplete blocklist answer names the resolver it came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import pytest
from sqlalchemy import func, select

from monitor.store.models import AlertRecord, AuthResult, BlocklistResult, CheckState
from tests.conftest import Store, write_config
from tests.servers.dns import DNSServer, Zone

DATA = Path(__file__).resolve().parents[2] / "data" / "dns"
IP = "192.0.2.10"


class AnswersEverything(DNSServer):
    """A resolver that gives one rcode to every question (a broken or captive resolver)."""

    def __init__(self, rcode: int) -> None:
        super().__init__(Zone())
        self.rcode = rcode

    async def handle(self, request: dns.message.Message, via: str) -> dns.message.Message | None:
        response = dns.message.make_response(request)
        response.flags |= dns.flags.RA
        response.set_rcode(dns.rcode.Rcode(self.rcode))
        return response


def _good_zone() -> Zone:
    zone = Zone.from_file(DATA / "example.com.zone", "example.com.")
    return zone.update(
        {
            "example.com": [{"TXT": "v=spf1 ip4:192.0.2.10 -all"}],
            "_dmarc.example.com": [{"TXT": "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"}],
        }
    )


def _counts(store: Store) -> tuple[int, int, int, int]:
    with store.session() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m))
            for m in (AuthResult, BlocklistResult, CheckState, AlertRecord)
        )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("rcode", "word"), [(dns.rcode.NXDOMAIN, "NXDOMAIN"), (dns.rcode.SERVFAIL, "SERVFAIL")]
)
def test_auth_with_a_broken_resolver_checks_nothing(
    cli: Any, store: Store, tmp_path: Path, rcode: int, word: str
) -> None:
    cfg = write_config(tmp_path / "c.toml", store.url)
    args = ("check", "auth", "--domain", "example.com", "--timeout", "0.5")
    with DNSServer(_good_zone()) as good:
        first = cli("--config", cfg, *args, "--nameserver", good.address)
    assert first.code in (0, 1) and "could not check" not in first.err  # MTA-STS: no HTTPS here
    before = _counts(store)
    with AnswersEverything(rcode) as bad:
        r = cli("--config", cfg, *args, "--nameserver", bad.address)
        j = cli("--config", cfg, *args, "--nameserver", bad.address, "--format", "json")
    assert r.code == 2 and j.code == 2
    assert f"could not check: resolver {bad.address} answers {word} to everything" in r.err
    assert "no SPF" not in r.out + r.err and "missing" not in r.out + r.err
    assert f"resolver {bad.address}" in json.loads(j.out)["error"]
    assert json.loads(j.out)["results"] == []
    assert _counts(store) == before  # no result stored, no state changed, no alert


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_blocklists_with_a_broken_resolver_checks_nothing(
    cli: Any, store: Store, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "c.toml", store.url)
    with AnswersEverything(dns.rcode.SERVFAIL) as bad:
        r = cli(
            "--config", cfg, "check", "blocklists", "--ip", IP, "--zone", "bl.spamcop.net",
            "--nameserver", bad.address, "--timeout", "0.5",
        )  # fmt: skip
    assert r.code == 2
    assert f"could not check: resolver {bad.address} answers SERVFAIL to everything" in r.err
    assert _counts(store) == (0, 0, 0, 0)


def test_every_incomplete_blocklist_answer_names_the_resolver(cli: Any, tmp_path: Path) -> None:
    """The resolver works (the root answers) but one list's names fail: each "could not
    check" line and each JSON ``error`` says which resolver gave that answer."""
    zone = Zone().update(
        {"2.0.0.127.bl.spamcop.net": ["SERVFAIL"], "10.2.0.192.bl.spamcop.net": ["SERVFAIL"]}
    )
    cfg = write_config(tmp_path / "c.toml", f"sqlite:///{tmp_path / 'none.db'}")
    with DNSServer(zone) as server:
        base = (
            "--config", cfg, "check", "blocklists", "--ip", IP, "--zone", "bl.spamcop.net",
            "--nameserver", server.address, "--timeout", "0.5", "--no-store",
        )  # fmt: skip
        table = cli(*base)
        j = cli(*base, "--format", "json")
    assert table.code == j.code == 2
    [result] = json.loads(j.out)["results"]
    assert result["status"] in ("unknown", "error")
    assert server.address in result["error"] and result["error"] != "error"
    lines = [ln for ln in (table.out + table.err).splitlines() if "could not check" in ln]
    assert lines and all(server.address in ln for ln in lines)


def test_daemon_jobs_with_a_broken_resolver_store_and_alert_nothing(store: Store) -> None:
    """The scheduled runs: one warning line, no result, no state, no alert (issue 14.2)."""
    from datetime import UTC, datetime

    from monitor.alerts import AlertChannels
    from monitor.checks.auth import AuthPlan
    from monitor.checks.watch import BlocklistPlan, DnsSettings, auth_job, blocklist_job

    with AnswersEverything(dns.rcode.NXDOMAIN) as bad:
        kwargs: dict[str, Any] = {
            "factory": store.factory,
            "now": lambda: datetime(2026, 3, 1, tzinfo=UTC),
            "dns": DnsSettings(nameservers=(bad.address,), timeout=0.5),
            "channels": AlertChannels(),
            "max_attempts": 3,
        }
        auth = auth_job(plan=AuthPlan.for_domains(["example.com"], ips=[IP]), **kwargs)
        bl = blocklist_job(plan=BlocklistPlan(targets=(IP,), zones=("bl.spamcop.net",)), **kwargs)
    expected = f"could not check: resolver {bad.address} answers NXDOMAIN to everything"
    assert auth.startswith(expected) and bl.startswith(expected)
    assert _counts(store) == (0, 0, 0, 0)
