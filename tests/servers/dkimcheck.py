"""Two DKIM verifiers of received mail, both asking the loopback DNS server for the keys.

* dkimpy's ``DKIM.verify`` with a ``dnsfunc`` that queries :class:`~tests.servers.dns.DNSServer`
  through dnspython;
* Mail::DKIM (Perl, Debian ``libmail-dkim-perl``; ed25519 with ``libcryptx-perl``): the
  library SpamAssassin's DKIM plugin verifies with, an implementation independent of ours and
  of dkimpy, run as a child process with a Net::DNS resolver pointed at the same server.

``publish`` puts a key's TXT record at ``SELECTOR._domainkey.DOMAIN``.
"""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import dkim
import dns.message
import dns.query
import dns.rdatatype

from monitor.relay.compose.dkim import DkimKey, txt_record
from tests.servers.dns import DNSServer

__all__ = ["OpenDkim", "mail_dkim", "publish", "verify_dkimpy"]

_PERL = r"""
use strict; use warnings;
use Mail::DKIM::Verifier; use Net::DNS::Resolver;
my ($ns, $port) = @ARGV;
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => [$ns], port => $port,
    recurse => 1, udp_timeout => 3, tcp_timeout => 3, retry => 2));
my $v = Mail::DKIM::Verifier->new();
binmode STDIN;
while (my $line = <STDIN>) { $line =~ s/\r?\n\z/\r\n/; $v->PRINT($line); }
$v->CLOSE;
for my $sig ($v->signatures) {
    print join(" ", $sig->algorithm, $sig->domain, $sig->selector, $sig->result), "\t",
        ($sig->result_detail // ""), "\n";
}
"""


def publish(server: DNSServer, key: DkimKey) -> None:
    server.zone.add(f"{key.selector}._domainkey.{key.domain}", "TXT", txt_record(key))


def verify_dkimpy(message: bytes, server: DNSServer) -> list[bool]:
    """One verdict per DKIM-Signature, top first."""

    def txt(name: bytes, timeout: int = 5) -> bytes | None:
        query = dns.message.make_query(name.decode("ascii"), dns.rdatatype.TXT)
        answer = dns.query.udp(query, server.host, timeout=3, port=server.port)
        for rrset in answer.answer:
            for rd in rrset:
                return b"".join(rd.strings)  # type: ignore[attr-defined, no-any-return]
        return None

    verifier = dkim.DKIM(message)
    count = sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")
    verdicts = []
    for i in range(count):
        try:
            verdicts.append(bool(verifier.verify(idx=i, dnsfunc=txt)))
        except dkim.ValidationError:  # a body hash mismatch is raised, not returned
            verdicts.append(False)
    return verdicts


def mail_dkim(message: bytes, server: DNSServer) -> list[tuple[str, str, str, str]]:
    """(algorithm, domain, selector, result) of each signature, as Mail::DKIM sees them."""
    done = subprocess.run(
        ["perl", "-e", _PERL, server.host, str(server.port)],
        input=message, capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    rows = [line.split() for line in done.stdout.decode().splitlines() if line.strip()]
    return [(r[0], r[1], r[2], r[3]) for r in rows]


class OpenDkim:
    """``opendkim-testmsg`` (Debian ``opendkim-tools``, libopendkim 2.11: rsa-sha256 and
    ed25519-sha256) verifying against the zone of a :class:`DNSServer`.

    libopendkim asks the resolvers of /etc/resolv.conf on port 53 and nothing else, so the
    zone is served a second time on port 53 of a loopback address of its own, and the tool
    runs in a private mount namespace (``unshare -m``, root) whose /etc/resolv.conf names
    that address: the machine's resolver configuration is never touched.
    """

    def __init__(self, server: DNSServer, folder: Path) -> None:
        self.folder = folder
        self.mirror: DNSServer | None = None
        for _ in range(20):  # a free 127.x.y.z:53
            host = (
                f"127.{random.randint(64, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
            )
            try:
                self.mirror = DNSServer(server.zone, host=host, port=53).__enter__()
                break
            except OSError:
                continue
        if self.mirror is None:
            raise RuntimeError("no free loopback address for port 53")
        self.resolv = folder / "resolv.conf"
        self.resolv.write_text(f"nameserver {self.mirror.host}\noptions timeout:2 attempts:2\n")

    def close(self) -> None:
        if self.mirror is not None:
            self.mirror.__exit__(None, None, None)

    def verify(self, message: bytes) -> tuple[int, str]:
        """(exit status, what it printed): 0 and nothing when the message verifies."""
        script = f'mount --bind "{self.resolv}" /etc/resolv.conf && exec opendkim-testmsg'
        done = subprocess.run(["unshare", "-m", "sh", "-c", script], input=message,
                              capture_output=True, timeout=60, check=False)  # fmt: skip
        return done.returncode, (done.stdout + done.stderr).decode("utf-8", "replace").strip()

    def verify_each(self, message: bytes) -> list[tuple[int, str]]:
        """``verify`` of each DKIM-Signature on its own (the others removed): the tool
        reports one verdict per message, and a good signature must not hide a bad one."""
        head, _, body = message.partition(b"\r\n\r\n")
        fields = re.split(rb"\r\n(?![ \t])", head)
        sigs = [i for i, f in enumerate(fields) if f.lower().startswith(b"dkim-signature:")]
        results = []
        for keep in sigs:
            kept = [f for i, f in enumerate(fields) if i not in sigs or i == keep]
            results.append(self.verify(b"\r\n".join(kept) + b"\r\n\r\n" + body))
        return results
