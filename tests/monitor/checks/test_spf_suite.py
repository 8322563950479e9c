"""The published RFC 7208 test suite, served by the loopback nameserver, through check_host().

``tests/data/rfc7208-tests.yml`` is the openspf.org suite (BSD-3, licence beside it). Each of
its documents is one zone; every test is one case here. A test with a list of results accepts
any of them, as the suite specifies. Explanations are compared when the suite gives one
(``DEFAULT`` meaning "no exp= explanation"), ignoring case: the suite's expected text spells
IPv6 nibbles in upper case while RFC 7208 7.4's own example uses lower case, and both name
the same DNS labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.checks.spf import check_identity
from tests.monitor.checks.helpers import ask
from tests.servers.dns import DNSServer, Zone

SUITE = Path(__file__).resolve().parents[2] / "data" / "rfc7208-tests.yml"
DOCS: list[dict[str, Any]] = list(yaml.safe_load_all(SUITE.read_text(encoding="utf-8")))
CASES = [
    pytest.param(index, name, test, id=f"{name}")
    for index, doc in enumerate(DOCS)
    for name, test in doc["tests"].items()
]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[int, DNSServer]]:
    """One nameserver per suite document, started on first use."""
    running: dict[int, DNSServer] = {}
    yield running
    for server in running.values():
        server.__exit__(None, None, None)


def _server(servers: dict[int, DNSServer], index: int) -> DNSServer:
    if index not in servers:
        servers[index] = DNSServer(Zone.from_testsuite(DOCS[index]["zonedata"])).__enter__()
    return servers[index]


def test_suite_is_complete() -> None:
    assert len(CASES) == 203


@pytest.mark.parametrize(("index", "name", "test"), CASES)
def test_rfc7208(
    servers: dict[int, DNSServer], index: int, name: str, test: dict[str, Any]
) -> None:
    server = _server(servers, index)
    outcome = ask(server, check_identity, test["host"], test["mailfrom"], test["helo"], timeout=0.5)
    expected = test["result"] if isinstance(test["result"], list) else [test["result"]]
    assert outcome.result.value in expected, (name, outcome)
    if "explanation" in test and outcome.result.value == "fail":
        want = None if test["explanation"] == "DEFAULT" else test["explanation"]
        got = outcome.explanation
        assert (got or "").lower() == (want or "").lower(), (name, outcome)
