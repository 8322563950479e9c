"""``deliverwatch dkim keygen`` and the keys the relay signs with (``wiring.dkim_signer``)."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.config import config_from_dict
from monitor.daemon.wiring import compose_settings, dkim_signer, submission_settings
from monitor.errors import ConfigError
from tests.servers.dkimcheck import OpenDkim, verify_dkimpy
from tests.servers.dns import DNSServer

MESSAGE = (b"From: News <news@mail.sender.example>\r\nTo: jane@example.com\r\n"
           b"Subject: hi\r\nDate: Mon, 02 Mar 2026 12:00:00 +0000\r\n"
           b"Message-ID: <k1@sender.example>\r\n\r\nHello\r\n")  # fmt: skip


@pytest.fixture
def dns() -> Iterator[DNSServer]:
    with DNSServer() as server:
        yield server


def _record(out: str) -> tuple[str, str]:
    """(owner, TXT text) of the zone line keygen printed, its strings joined."""
    line = next(x for x in out.splitlines() if " IN TXT " in x)
    owner = line.split(".", 1)[0] + "." + line.split(" ", 1)[0].split(".", 1)[1]
    return owner.rstrip("."), "".join(re.findall(r'"([^"]*)"', line))


def test_keygen_writes_a_private_key_and_the_record_that_verifies(
    cli: Any, tmp_path: Path, dns: DNSServer
) -> None:
    rsa, ed = tmp_path / "k" / "rsa.pem", tmp_path / "k" / "ed.pem"
    r1 = cli("dkim", "keygen", "--domain", "Sender.Example.", "--selector", "dw2026",
             "--out", rsa)  # fmt: skip
    r2 = cli("dkim", "keygen", "--domain", "sender.example", "--selector", "dw2026e",
             "--type", "ed25519", "--out", ed)  # fmt: skip
    assert r1.code == 0 and r2.code == 0, r1.err + r2.err
    for path in (rsa, ed):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert b"PRIVATE KEY" in path.read_bytes()
    owner, text = _record(r1.out)
    assert owner == "dw2026._domainkey.sender.example"
    assert text.startswith("v=DKIM1; k=rsa; p=MII") and len(text) > 255  # two strings
    assert 'key_file = "' in r1.out and 'selectors = ["dw2026"' in r1.out
    owner_ed, text_ed = _record(r2.out)
    assert text_ed.startswith("v=DKIM1; k=ed25519; p=") and "ed25519_selector" in r2.out
    dns.zone.add(owner, "TXT", text)
    dns.zone.add(owner_ed, "TXT", text_ed)

    checker = OpenDkim(dns, tmp_path)
    try:
        # (opendkim-testkey is not used: it resolves from the root servers, off loopback)
        cfg = config_from_dict(
            {"sending": {"dkim": {"sender.example": {
                "selectors": ["dw2026", "dw2025"], "key_file": str(rsa),
                "ed25519_selector": "dw2026e", "ed25519_key_file": str(ed)}}}},
            base_dir=tmp_path,
        )  # fmt: skip
        signer = dkim_signer(cfg)
        assert submission_settings(cfg).dkim_domains == frozenset({"sender.example"})
        assert compose_settings(cfg).signer is not None
        domain = signer.domain_for("mail.sender.example")
        assert domain == "sender.example"
        signed = signer.sign(MESSAGE, domain)
        assert verify_dkimpy(signed, dns) == [True, True]
        assert checker.verify_each(signed) == [(0, ""), (0, "")]
        assert b"s=dw2026;" in signed and b"s=dw2026e;" in signed  # the first selector signs
    finally:
        checker.close()

    again = cli("dkim", "keygen", "--domain", "sender.example", "--selector", "x", "--out", rsa)
    assert again.code != 0 and "exists" in again.err


def test_unusable_keys_stop_the_relay_at_start(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n")
    cfg = config_from_dict(
        {"sending": {"dkim": {"sender.example": {"selectors": ["s1"], "key_file": str(bad)}}}},
        base_dir=tmp_path,
    )
    with pytest.raises(ConfigError, match=r'sending\.dkim\."sender\.example"\.key_file'):
        dkim_signer(cfg)
    with pytest.raises(ConfigError, match="ed25519_selector and ed25519_key_file"):
        config_from_dict(
            {"sending": {"dkim": {"sender.example": {"selectors": ["s1"],
                                                      "ed25519_selector": "e1"}}}},
            base_dir=tmp_path,
        )  # fmt: skip
    # a domain listed for the DNS checks only (no key file) signs nothing and is refused
    cfg = config_from_dict({"sending": {"dkim": {"sender.example": {"selectors": ["s1"]}}}},
                           base_dir=tmp_path)  # fmt: skip
    assert dkim_signer(cfg).keys == {}
    assert submission_settings(cfg).dkim_domains == frozenset()


def test_usage_tells_when_a_retired_selector_may_be_unpublished(
    cli: Any, store: Any, tmp_path: Path
) -> None:
    """After a rotation: DMARC aggregate reports still list the old selector, then stop."""
    from datetime import UTC, datetime, timedelta

    from monitor.store.models import DmarcReport, DmarcRow
    from tests.conftest import write_config

    now = datetime.now(UTC)

    def report(n: int, days_ago: int, rows: list[tuple[int, list[list[str]]]]) -> None:
        with store.session() as s, s.begin():
            rep = DmarcReport(org_name="google.com", report_id=f"r{n}",
                              date_begin=now - timedelta(days=days_ago + 1),
                              date_end=now - timedelta(days=days_ago))  # fmt: skip
            s.add(rep)
            s.flush()
            for count, results in rows:
                s.add(DmarcRow(report_pk=rep.id, count=count, dkim_results=results))

    both = [["sender.example", "new", "pass"], ["sender.example", "old", "pass"]]
    old, other = [["Sender.Example", "old", "pass"]], [["other.example", "x", "pass"]]
    report(1, 1, [(40, both), (5, old), (7, other)])
    report(2, 30, [(900, [["sender.example", "older", "pass"]])])  # outside the period
    config = write_config(
        tmp_path / "c.toml", store.url,
        '[sending.dkim."sender.example"]\nselectors = ["new", "old", "older"]\n',
    )  # fmt: skip
    r = cli("--config", config, "dkim", "usage", "--days", "7")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith("new._domainkey.sender.example  signing: 40 messages in 7 days")
    assert lines[1].startswith("old._domainkey.sender.example  retired: 45 messages in 7 days")
    assert lines[1].endswith("keep the record published")
    assert lines[2] == ("older._domainkey.sender.example  retired: no mail seen signed with it "
                        "in 7 days: its record may be removed")  # fmt: skip
    assert len(lines) == 3
