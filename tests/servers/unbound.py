"""A private Unbound (DNSSEC-validating resolver) on loopback, for DANE tests.

Debian's ``unbound`` runs in the foreground (``-d``) with its own configuration file in a
temporary folder: a free loopback port, ``module-config: "validator iterator"``, the test
zones' DS records as trust anchors and a ``stub-zone`` per zone pointing at the loopback DNS
server (``do-not-query-localhost: no``), every other name refused (no query leaves
loopback), QNAME minimisation off (the test server does not prove empty non-terminals). It
is stopped by its PID. Without ``unbound`` the test is skipped, or fails under
``DELIVERWATCH_REQUIRE_SERVERS=1`` (``tests.servers.require``).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import dns.exception
import dns.message
import dns.query

from tests.servers.net import closed_port
from tests.servers.require import skip_or_fail

__all__ = ["Unbound", "unbound_binary"]


def unbound_binary() -> str:
    """The ``unbound`` program, or skip/fail the test."""
    found = shutil.which("unbound") or (
        "/usr/sbin/unbound" if Path("/usr/sbin/unbound").exists() else None
    )
    if found is None:
        skip_or_fail("UNBOUND", "unbound (Debian package unbound) is not installed")
        raise AssertionError("unreachable")  # pragma: no cover
    return found


class Unbound:
    """``with Unbound(folder, stubs={zone: "127.0.0.1@port"}, anchors=[ds...]) as u``:
    ``u.address`` is ``127.0.0.1:PORT``."""

    def __init__(self, folder: Path, *, stubs: dict[str, str], anchors: list[str]) -> None:
        self.folder = folder
        self.port = closed_port()
        self.binary = unbound_binary()
        lines = [
            "server:",
            "  interface: 127.0.0.1",
            f"  port: {self.port}",
            "  do-daemonize: no",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{folder}"',
            '  pidfile: ""',
            "  use-syslog: no",
            "  verbosity: 1",
            "  val-log-level: 2",
            "  num-threads: 1",
            "  do-ip6: no",
            "  do-not-query-localhost: no",
            '  module-config: "validator iterator"',
            "  qname-minimisation: no",
            "  access-control: 127.0.0.0/8 allow",
            '  target-fetch-policy: "0 0 0 0 0"',
            # names outside the test zones are refused: it never asks the Internet's roots
            '  local-zone: "." refuse',
            *(f'  local-zone: "{zone}." transparent' for zone in stubs),
            *(f'  trust-anchor: "{anchor}"' for anchor in anchors),
            "remote-control:",
            "  control-enable: no",
        ]
        for zone, where in stubs.items():
            lines += ["stub-zone:", f'  name: "{zone}"', f"  stub-addr: {where}"]
        self.config = folder / "unbound.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.probe = f"{next(iter(stubs))}." if stubs else "."
        self.log = folder / "unbound.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([self.binary, "-d", "-c", str(self.config)],
                                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 10
        query = dns.message.make_query(self.probe, "SOA")
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"unbound exited: {self.log.read_text()}")
            try:
                dns.query.udp(query, "127.0.0.1", port=self.port, timeout=0.2)
                return self
            except (dns.exception.Timeout, OSError):
                if time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"unbound did not answer: {self.log.read_text()}") from None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
