"""The [sending], [checks] and [alerts] config sections: defaults, validation naming the key
path, secrets, paths relative to the config file, and the plans built from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.daemon.wiring import alert_channels, auth_plan, blocklist_plan, dns_settings
from monitor.errors import ConfigError
from parsers.dnsrec.dmarc import DmarcSpec

FULL = """
[sending]
ips = ["192.0.2.10", "2001:db8::10"]
envelope_domain = "Bounces.Example.com"
from_domains = ["example.com"]
link_domains = ["click.example.net"]
[sending.helo]
"192.0.2.10" = "mta1.example.com"
[sending.dkim."example.com"]
selectors = ["s2026", "s2025"]
key_file = "keys/s2026.pem"
ed25519_selector = "e2026"
ed25519_key_file = "keys/e2026.pem"

[checks]
nameservers = ["127.0.0.1:5353", "[::1]:53"]
timeout_seconds = 2
zones = ["zen.spamhaus.org", "bl.spamcop.net"]
dqs_key = "env:TEST_DQS_KEY"
dmarc_spec = "rfc9989"
[checks.zone_keys]
"{key}.combined.mail.abusix.zone" = "file:abusix.key"

[alerts]
webhook_url = "https://hooks.example.com/dw"
email_to = ["ops@example.com"]
username = "dw"
password = "env:TEST_SMTP_PASSWORD"
"""


def test_sections_default_to_nothing_to_check(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, ""))
    assert cfg.sending.ips == () and cfg.sending.domains == ()
    assert cfg.checks.blocklist_every_minutes == 60 and cfg.checks.auth_at == "04:00"
    assert cfg.alerts.webhook_url == "" and alert_channels(cfg).names == ()
    assert blocklist_plan(cfg).targets == ()
    assert auth_plan(cfg).empty


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_sections_build_the_plans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_DQS_KEY", "dqs123")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "pw")
    (tmp_path / "abusix.key").write_text("abx\n", encoding="utf-8")
    cfg = load_config(_write(tmp_path, FULL))
    plan = blocklist_plan(cfg)
    assert plan.targets == (
        "192.0.2.10",
        "2001:db8::10",
        "bounces.example.com",
        "example.com",
        "click.example.net",
    )
    assert plan.keys.spamhaus_dqs == "dqs123"
    assert plan.keys.zone_keys == {"{key}.combined.mail.abusix.zone": "abx"}
    auth = auth_plan(cfg)
    assert auth.spf_domains == ("bounces.example.com",)
    assert auth.from_domains == ("example.com",)
    assert auth.dkim == (
        ("example.com", "s2026"), ("example.com", "s2025"), ("example.com", "e2026"),
    )  # fmt: skip
    assert auth.signing_key_files == {
        ("example.com", "s2026"): tmp_path / "keys" / "s2026.pem",
        ("example.com", "e2026"): tmp_path / "keys" / "e2026.pem",  # the ed25519 key is checked too
    }
    assert auth.helo == {"192.0.2.10": "mta1.example.com"}
    assert auth.dmarc_spec is DmarcSpec.RFC9989
    assert dns_settings(cfg).nameservers == ("127.0.0.1:5353", "[::1]:53")
    channels = alert_channels(cfg)
    assert channels.smtp is not None and channels.smtp.password == "pw"
    assert [c.value for c in channels.names] == ["webhook", "email"]
    assert "dqs123" not in repr(cfg) and "pw'" not in repr(cfg)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[sending]\nips = ["mail.example.com"]\n', "sending: ips: 'mail.example.com' is not"),
        ('[sending]\nips = ["192.0.2.1"]\n[sending.helo]\n"192.0.2.2" = "a.example"\n', "helo"),
        ('[sending]\nfrom_domains = ["localhost"]\n', "is not a domain name"),
        ('[sending.dkim."example.com"]\nselectors = []\n', "sending.dkim.example.com"),
        ("[sending]\nbounce_domain = 'x.example'\n", "sending.bounce_domain: unknown key"),
        ('[checks]\nnameservers = ["resolver.example"]\n', "checks: nameservers"),
        ('[checks]\nauth_at = "25:00"\n', 'auth_at: expected "HH:MM"'),
        ('[checks]\nzones = ["bl.example.invalid"]\n', "not in the DNSBL catalogue"),
        ("[checks]\nconcurrency = 0\n", "concurrency >= 1"),
        ('[alerts]\nwebhook_url = "ftp://x"\n', "webhook_url: expected an http(s) URL"),
        ('[alerts]\nusername = "dw"\n', "password is not"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert expected in str(info.value)


def test_unset_secret_fails_where_it_is_used(tmp_path: Path) -> None:
    # read where used (issue 11): the config loads; building the plan that needs it fails
    cfg = load_config(_write(tmp_path, '[checks]\ndqs_key = "env:DW_TEST_UNSET_VARIABLE"\n'))
    with pytest.raises(ConfigError) as info:
        blocklist_plan(cfg)
    assert str(info.value) == (
        "checks.dqs_key: environment variable DW_TEST_UNSET_VARIABLE is not set"
    )


def test_webhook_url_error_hides_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, '[alerts]\nwebhook_url = "hooks.example.com/T0/B0/s3cr3t"\n'))
    assert "s3cr3t" not in str(info.value)
