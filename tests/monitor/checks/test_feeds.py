"""Reputation feeds fetched from a loopback HTTPS server serving the documented shapes.

The server has its own CA (``ca_file`` in the config, as a private mirror would); the SNDS
key and the Postmaster Tools service account are checked by the server: the key in the
query, the JWT bearer assertion's RS256 signature against the account's public key, the
bearer token on each trafficStats request.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from monitor.app import App
from monitor.checks.feeds import FeedError, feeds_job
from monitor.config import load_config
from monitor.daemon import wiring
from monitor.daemon.jobs import job_specs
from monitor.store.feeds_repo import feed_days
from tests.conftest import Store, write_config
from tests.parsers.test_feeds import SNDS, TRAFFIC
from tests.servers.https import HTTPSServer, Request, Response

KEY = "a1b2c3d4-snds-key"
TOKEN = "ya29.test-access-token"
NOW = datetime(2026, 12, 3, 7, 15, tzinfo=UTC)


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def account(tmp_path: Path) -> tuple[Path, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()  # fmt: skip
    path = tmp_path / "sa.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "client_email": "dw@proj.iam.example",
                "private_key": pem,
                "token_uri": "https://unused.invalid/t",
            }
        )
    )
    return path, key


def _server(key: rsa.RSAPrivateKey, snds_body: bytes = SNDS) -> HTTPSServer:
    def token(request: Request) -> Response:
        form = parse_qs(request.body.decode())
        assertion = form["assertion"][0]
        head, claims, sig = assertion.split(".")
        key.public_key().verify(_unb64(sig), f"{head}.{claims}".encode(), padding.PKCS1v15(),
                                hashes.SHA256())  # raises on a bad signature  # fmt: skip
        body = json.loads(_unb64(claims))
        ok = (form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
              and body["iss"] == "dw@proj.iam.example" and body["aud"].endswith("/token")
              and body["scope"].endswith("/postmaster.readonly"))  # fmt: skip
        if not ok:
            return Response(400, b'{"error": "invalid_grant"}', "application/json")
        return Response(200, json.dumps({"access_token": TOKEN, "expires_in": 3599}).encode(),
                        "application/json")  # fmt: skip

    def stats(request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response(401, b"{}", "application/json")
        return Response(200, json.dumps(TRAFFIC).encode(), "application/json")

    routes: dict = {"/token": token}  # type: ignore[type-arg]
    lines = snds_body.splitlines(keepends=True)
    for d, day in (("120126", b"12/1/2026"), ("120226", b"12/2/2026")):
        body = b"".join(ln for ln in lines if day in ln or b"," not in ln)
        routes[f"/snds/data.aspx?key={KEY}&date={d}"] = Response(200, body, "text/csv")
    routes["/v1/domains/sender.example/trafficStats/20261202"] = stats
    # 20261201: no data for that day (404, as the API says for thin days)
    return HTTPSServer(routes, names=["localhost"])


def _config(tmp_path: Path, store: Store, server: HTTPSServer, sa: Path) -> Path:
    base = f"https://localhost:{server.port}"
    return write_config(
        tmp_path / "c.toml", store.url,
        f'[sending]\nfrom_domains = ["Sender.Example"]\n\n'
        f'[feeds]\ndays_back = 2\n\n[feeds.snds]\nkey = "{KEY}"\nurl = "{base}/snds/data.aspx"\n'
        f'ca_file = "{server.ca_file}"\n\n[feeds.postmaster]\nservice_account_file = "{sa}"\n'
        f'base_url = "{base}/v1"\ntoken_url = "{base}/token"\nca_file = "{server.ca_file}"\n',
    )  # fmt: skip


def test_feeds_are_fetched_and_stored_per_day(
    store: Store, tmp_path: Path, account: tuple[Path, rsa.RSAPrivateKey], caplog
) -> None:
    sa, key = account
    with _server(key) as server:
        app = App.from_config(load_config(_config(tmp_path, store, server, sa)))
        try:
            [spec] = [s for s in job_specs(app) if s.id == "fetch-feeds"]
            plan = wiring.feeds_plan(app.config)
            assert plan is not None and plan.postmaster is not None
            assert plan.postmaster.domains == ("sender.example",)  # from [sending]
            result = feeds_job(factory=store.factory, now=lambda: NOW, plan=plan)
            assert result == "4 feed day(s) stored"
            assert result.counts == {"stored": 4, "failed_feeds": 0}  # for `status`
            # run again: the same days are replaced, not added
            assert feeds_job(factory=store.factory, now=lambda: NOW, plan=plan) == result
        finally:
            app.close()
        paths = [r.path for r in server.seen]
    assert spec.trigger.fields[5].expressions[0].first == 7  # type: ignore[attr-defined]
    assert f"/snds/data.aspx?key={KEY}&date=120126" in paths
    assert KEY not in caplog.text  # the key never reaches a log
    with store.session() as s:
        dec2 = feed_days(s, date(2026, 12, 2))
        dec1 = feed_days(s, date(2026, 12, 1))
    assert [(p, subj) for p, subj, _, _ in dec2] == [
        ("postmaster", "sender.example"), ("snds", "192.0.2.10"), ("snds", "192.0.2.11")
    ]  # fmt: skip
    pm = dec2[0][3]
    assert pm["spam_rate"] == pytest.approx(0.0021) and pm["domain_reputation"] == "MEDIUM"
    assert pm["dkim_rate"] == 0.998 and pm["outbound_encryption_rate"] == 0.99
    red = dec2[2][3]
    assert red["filter_result"] == "RED" and red["trap_hits"] == 7
    assert [(p, subj) for p, subj, _, _ in dec1] == [("snds", "2001:db8::25")]


def test_a_wrong_ca_or_a_refused_token_fails_loudly(
    store: Store, tmp_path: Path, account: tuple[Path, rsa.RSAPrivateKey], caplog
) -> None:
    sa, _ = account
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with _server(other_key) as server, HTTPSServer({}, names=["localhost"]) as stranger:
        cfg = load_config(_config(tmp_path, store, server, sa))
        plan = wiring.feeds_plan(cfg)
        assert plan is not None and plan.snds is not None and plan.postmaster is not None
        # the token endpoint cannot verify our signature (another key): the server errors
        with pytest.raises(FeedError, match="postmaster"):
            feeds_job(factory=store.factory, now=lambda: NOW, plan=plan.__class__(
                snds=None, postmaster=plan.postmaster, days_back=1))  # fmt: skip
        # SNDS signed by a CA we do not trust: refused, the key is not sent in clear anywhere
        untrusted = plan.snds.__class__(plan.snds.key, plan.snds.url, stranger.ca_file)
        with pytest.raises(FeedError, match="snds: request failed"):
            feeds_job(
                factory=store.factory,
                now=lambda: NOW,
                plan=plan.__class__(snds=untrusted, postmaster=None, days_back=1),
            )
    assert KEY not in caplog.text and "reputation feed: snds" in caplog.text
