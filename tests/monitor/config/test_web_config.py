"""``[web]``: validated at load, secrets never printed, keys and links wired from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import config_from_dict, config_to_dict, load_config
from monitor.daemon.wiring import event_context, web_links, web_token_keys
from monitor.errors import ConfigError
from parsers.webtoken import TokenKind, decode_token

REPO = Path(__file__).resolve().parents[3]


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[web]\nlisten = "8025"\n', "web: listen"),
        ('[web]\npublic_url = "mail.example.com"\n', "web: public_url: expected an http"),
        ('[web.tokens.a]\ntoken = "short"\n', "web.tokens.a: token: use at least 16"),
        (
            '[web.tokens.a]\ntoken = "0123456789abcdef0"\nscopes = ["admin"]\n',
            "web.tokens.a.scopes[0]",
        ),
        ('[web.tokens."a b"]\ntoken = "0123456789abcdef0"\n', "web: tokens.a b"),
        (
            '[web.webhooks.h]\nurl = "ftp://x"\nsecret = "0123456789abcdef0"\n',
            "web.webhooks.h: url",
        ),
        (
            '[web.webhooks.h]\nurl = "https://x.example"\nsecret = "0123456789abcdef0"\n'
            'events = ["sent"]\n',
            "web.webhooks.h.events[0]",
        ),
        ('[web.tracking]\nmachine_networks = ["apple"]\n', "web.tracking: machine_networks"),
        ("[web.tracking]\nburst_links = 1\n", "burst_links"),
        ("[web]\nwebhook_retry_initial_seconds = 0\n", "webhook timings"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert expected in str(info.value)


def test_an_unset_token_key_is_named_where_it_is_needed(tmp_path: Path) -> None:
    """Secrets are read where they are used (issue 11, point 10): the config loads, and
    what checks secrets up front (the daemon, ``config check``) names the key."""
    from monitor.config import unavailable_secrets

    cfg = _load(tmp_path, '[web]\ntoken_key = "env:DW_TEST_UNSET_WEB_KEY"\n')
    assert any("web.token_key" in str(e) for e in unavailable_secrets(cfg))


def test_sample_web_section_loads_with_defaults() -> None:
    cfg = load_config(REPO / "config.toml")
    assert cfg.web.listen == "127.0.0.1:8025" and cfg.web.tracking.opens is False
    assert cfg.web.tokens == {} and cfg.web.webhooks == {}


def test_keys_links_and_routes_come_from_the_config(tmp_path: Path) -> None:
    data = {
        "suppression": {"verp_key": "verp-secret-0123456789"},
        "sending": {"envelope_domain": "Bounces.Example.com"},
        "web": {
            "public_url": "https://mail.example.com",
            "tokens": {"ro": {"token": "ro-token-0123456789"}},
            "webhooks": {
                "crm": {
                    "url": "https://crm.example/h",
                    "secret": "whsec-0123456789abc",
                    "events": ["bounced"],
                }
            },
        },
    }
    cfg = config_from_dict(data, base_dir=tmp_path)
    (derived,) = web_token_keys(cfg)
    assert derived != b"verp-secret-0123456789"  # a key of its own, derived
    links = web_links(cfg)
    assert links is not None and links.unsubscribe_domain == "bounces.example.com"
    url = links.unsubscribe_url(5, "a@b.example")
    assert decode_token(TokenKind.UNSUBSCRIBE, url.rsplit("/", 1)[1], keys=[derived]).sent_id == 5
    ctx = event_context(cfg)
    assert ctx.web_keys == (derived,) and [r.endpoint for r in ctx.webhooks] == ["crm"]
    assert ctx.webhooks[0].topics == frozenset({"bounced"})
    shown = str(config_to_dict(cfg))
    assert "ro-token-0123456789" not in shown and "whsec-0123456789abc" not in shown
    own = {
        **data,
        "web": {**data["web"], "token_key": "web-key-0123", "old_token_keys": ["old-key"]},
    }
    assert web_token_keys(config_from_dict(own, base_dir=tmp_path)) == (b"web-key-0123", b"old-key")
    assert web_links(config_from_dict({}, base_dir=tmp_path)) is None
