"""The relay against Postfix under the same load: accepted/s, delivered/s, time to 250, RSS.

Issue 13: 10,000 messages of 10 KB over 20 client connections, to three sink MX hosts. Both
relays run as real daemons on loopback and keep a durable queue (ours: SQLite WAL with
``synchronous=FULL``, or PostgreSQL; Postfix: its fsynced queue files):

* **deliverwatch**: ``deliverwatch relay`` with a config made for the run (AUTH on a loopback
  listener, MX records of ``one/two/three.example`` on a loopback DNS server pointing at the
  sinks, ``outbound_port`` = the sinks' port);
* **Postfix** (Debian's, installed when missing): a private instance (``postfix -c DIR``, its
  own queue, loopback listener, DNS off, ``transport_maps`` sending the three domains to the
  same sinks), stopped and removed after the run; ``/etc/postfix`` is not touched.

The sinks are minimal counting SMTP servers (``tests.servers.smtp.CountingSink``) in a child
process that writes its count to a file every 50 ms, so delivered/s is measured end to end
(first connection -> the sinks' last message). The load generator is aiosmtplib in this
process, one coroutine per connection; "time to 250" is from the start of MAIL to the 250
after DATA. Prints figures; asserts nothing. The client, the relay and the sinks share the
machine's two cores: the figures are lower bounds for either relay, comparable between them.

Our relay runs twice, with DKIM signing off (no key, the account sends unsigned) and on (an
RSA 2048 key for sender.example; ``--ed25519`` adds the second signature): issue 15 wants
signing to cost less than 25 % of the throughput. ``--dkim off|on`` runs only one of them.
CPU ms/msg is the relay's CPU time (all its processes) per message: the figure that does not
depend on what else the machine is doing.

    python bench/bench_relay.py [--messages 10000] [--size 10240] [--connections 20]
                                [--backend sqlite|postgresql] [--only ours|postfix]
                                [--dkim off|on|both] [--ed25519]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiosmtplib

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from pgschema import PG_URL, pg_schema  # noqa: E402 - bench/, first on sys.path as a script

from monitor.relay.compose.dkim import generate_key  # noqa: E402
from monitor.relay.passwords import hash_password  # noqa: E402
from monitor.store.db import make_engine, upgrade  # noqa: E402
from tests.servers.dns import DNSServer  # noqa: E402
from tests.servers.smtp import free_port  # noqa: E402

HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
DOMAINS = ("one.example", "two.example", "three.example")
PASSWORD = "bench-password-1"

_SINKS = """
import json, sys, time
sys.path.insert(0, {repo!r})
from tests.servers.smtp import CountingSink
sinks = [CountingSink(h, {port}).__enter__() for h in {hosts!r}]
print("ready", flush=True)
while True:
    with open({stats!r} + ".tmp", "w") as fh:
        json.dump({{"messages": sum(s.messages for s in sinks)}}, fh)
    import os; os.replace({stats!r} + ".tmp", {stats!r})
    time.sleep(0.05)
"""


class Sinks:
    """Three counting MX hosts in a child process (stopped by PID)."""

    def __init__(self, port: int, stats: Path) -> None:
        self.port, self.stats = port, stats
        code = _SINKS.format(repo=str(REPO), port=port, hosts=HOSTS, stats=str(stats))
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.proc.stdout.readline()

    def count(self) -> int:
        try:
            return int(json.loads(self.stats.read_text())["messages"])
        except (OSError, ValueError):
            return 0

    def delivered(self, base: int, accepted: int, t0: float) -> tuple[float, int]:
        """Wait until the sinks have counted ``accepted`` messages more than ``base`` (15
        minutes at most): seconds from ``t0`` (the first connection) to then, and how many
        they counted."""
        while self.count() - base < accepted and time.perf_counter() - t0 < 900:
            time.sleep(0.02)
        return time.perf_counter() - t0, self.count() - base

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


@contextlib.contextmanager
def sink_hosts(prefix: str) -> Iterator[tuple[Path, Sinks, DNSServer]]:
    """A scratch folder, the counting sinks and a loopback DNS server giving each of
    ``DOMAINS`` one MX on its host: where every relay benchmark here (and ``bench_cluster``)
    delivers to. The sinks are stopped, the server closed and the folder removed on exit."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(tmp)
        sinks = Sinks(free_port(), work / "sinks.json")
        try:
            with DNSServer() as dns:
                for domain, host in zip(DOMAINS, HOSTS, strict=True):
                    dns.zone.add(domain, "MX", [10, f"mx.{domain}"])
                    dns.zone.add(f"mx.{domain}", "A", host)
                yield work, sinks, dns
        finally:
            sinks.stop()


def _body(n: int, size: int) -> bytes:
    head = (
        f"From: News <news@sender.example>\r\nTo: r{n}@{DOMAINS[n % 3]}\r\n"
        f"Subject: bench {n}\r\nMessage-ID: <bench-{n}@sender.example>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
    ).encode()
    line = b"x" * 76 + b"\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


async def _client(
    port: int, numbers: list[int], size: int, auth: bool, latencies: list[float]
) -> int:
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=120, start_tls=False)
    await smtp.connect()
    if auth:
        await smtp.login("bench", PASSWORD)
    accepted = 0
    for n in numbers:
        start = time.perf_counter()
        await smtp.sendmail("news@sender.example", [f"r{n}@{DOMAINS[n % 3]}"], _body(n, size))
        latencies.append(time.perf_counter() - start)
        accepted += 1
    await smtp.quit()
    return accepted


def _load(port: int, messages: int, size: int, connections: int, auth: bool,
          sinks: Sinks) -> dict[str, float]:  # fmt: skip
    latencies: list[float] = []
    shares = [list(range(i, messages, connections)) for i in range(connections)]
    base = sinks.count()
    t0 = time.perf_counter()

    async def run() -> int:
        done = await asyncio.gather(*(_client(port, s, size, auth, latencies) for s in shares))
        return sum(done)

    accepted = asyncio.run(run())
    accept_s = time.perf_counter() - t0
    deliver_s, delivered = sinks.delivered(base, accepted, t0)
    latencies.sort()
    return {
        "accepted": accepted,
        "delivered": delivered,
        "accepted_per_s": accepted / accept_s,
        "delivered_per_s": delivered / deliver_s,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
        "mean_ms": 1000 * statistics.fmean(latencies),
    }


def _rss_mib(pids: list[int]) -> float:
    """Sum of the peak RSS (VmHWM) of ``pids``."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _children(pid: int) -> list[int]:
    found = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                found += _children(int(entry.name))
    return found


# --------------------------------------------------------------------------- ours


def _dkim_config(work: Path, sign: bool, ed25519: bool) -> tuple[str, str]:
    """([sending.dkim] tables, the account's extra line) for signing on or off."""
    if not sign:
        return "", "allow_unsigned = true\n"
    keys = work / "keys"
    keys.mkdir(exist_ok=True)
    (keys / "rsa.pem").write_bytes(generate_key("rsa"))
    text = (f'[sending.dkim."sender.example"]\nselectors = ["bench"]\n'
            f'key_file = "{keys / "rsa.pem"}"\n')  # fmt: skip
    if ed25519:
        (keys / "ed.pem").write_bytes(generate_key("ed25519"))
        text += f'ed25519_selector = "benched"\ned25519_key_file = "{keys / "ed.pem"}"\n'
    return text + "\n", ""


def run_ours(
    args: argparse.Namespace, work: Path, sinks: Sinks, dns: DNSServer, sign: bool
) -> dict[str, float]:
    work = work / ("signed" if sign else "unsigned")
    work.mkdir()
    port = free_port()
    if args.backend == "postgresql":
        schema_cm = pg_schema()
        url = schema_cm.__enter__()
    else:
        schema_cm, url = None, f"sqlite:///{work / 'relay.db'}"
    dkim_tables, user_extra = _dkim_config(work, sign, args.ed25519)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    config = work / "relay.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n\n[logging]\nlevel = "INFO"\n\n'
        f'[checks]\nnameservers = ["{dns.address}"]\n\n{dkim_tables}'
        f'[relay]\nlisten = ["127.0.0.1:{port}"]\nplain_auth_on_loopback = true\n'
        f'hostname = "relay.bench"\ndata_dir = "{work / "relay"}"\n'
        f"outbound_port = {sinks.port}\nmax_connections_per_domain = 20\n\n"
        f'[relay.users.bench]\npassword_hash = "{hash_password(PASSWORD)}"\n'
        f'domains = ["sender.example"]\n{user_extra}',
        encoding="utf-8",
    )
    log = (work / "relay.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "relay"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        ready = (b"relay started", b"delivery process started")  # the child's imports too
        while not all(m in (work / "relay.log").read_bytes() for m in ready):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((work / "relay.log").read_text(errors="replace")[-2000:])
            time.sleep(0.05)
        spy = None
        if args.spy:  # py-spy (pip install py-spy) on the relay while the load runs
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(proc.pid),
                 "-o", args.spy, "--format", "raw", "--threads", "--gil", "--subprocesses",
                 "-r", "100"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        cpu0, own0 = _cpu_seconds(_children(proc.pid)), time.process_time()
        figures = _load(port, args.messages, args.size, args.connections, True, sinks)
        figures["peak_rss_mib"] = _rss_mib(_children(proc.pid))
        figures["relay_cpu_s"] = _cpu_seconds(_children(proc.pid)) - cpu0
        figures["client_cpu_s"] = time.process_time() - own0
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        what = ("DKIM rsa+ed25519" if args.ed25519 else "DKIM rsa") if sign else "unsigned"
        _print(f"deliverwatch relay ({args.backend}, {what})", figures)
        return figures
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
        log.close()
        for line in (work / "relay.log").read_text(errors="replace").splitlines():
            if "commits (" in line or "Traceback" in line:
                print("   ", line.split("] ", 1)[-1][:160])
        if schema_cm is not None:
            schema_cm.__exit__(None, None, None)


# --------------------------------------------------------------------------- Postfix

_MAIN_CF = """compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
myhostname = postfix.bench
mydomain = localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 local delivery disabled
alias_maps =
alias_database =
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_tls_security_level = none
smtpd_tls_security_level = none
transport_maps = texthash:{d}/etc/transport
smtp_bind_address = 127.0.0.1
default_destination_concurrency_limit = 20
"""
_MASTER_CF = """127.0.0.1:{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def _ensure_postfix() -> bool:
    if shutil.which("postfix"):
        return True
    print("installing Debian's postfix (no configuration) for the comparison", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(
        ["debconf-set-selections"],
        input=b"postfix postfix/main_mailer_type select No configuration\n", check=False,
    )  # fmt: skip
    done = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postfix"],
        env=env, capture_output=True, check=False,
    )  # fmt: skip
    return done.returncode == 0 and shutil.which("postfix") is not None


def run_postfix(args: argparse.Namespace, work: Path, sinks: Sinks) -> None:
    if not _ensure_postfix():
        print("postfix: not available, comparison skipped")
        return
    d, port = work / "postfix", free_port()
    work.chmod(0o711)  # Postfix's own user must reach its data directory
    for sub in ("etc", "queue", "data"):
        (d / sub).mkdir(parents=True)
    (d / "etc" / "main.cf").write_text(_MAIN_CF.format(d=d))
    (d / "etc" / "master.cf").write_text(_MASTER_CF.format(port=port))
    shutil.copy("/etc/postfix/dynamicmaps.cf", d / "etc" / "dynamicmaps.cf")
    (d / "etc" / "transport").write_text(
        "".join(
            f"{dom} smtp:[{host}]:{sinks.port}\n" for dom, host in zip(DOMAINS, HOSTS, strict=True)
        )
    )
    shutil.chown(d / "data", "postfix")
    conf = ["postfix", "-c", str(d / "etc")]
    subprocess.run([*conf, "set-permissions"], capture_output=True, check=False)
    started = subprocess.run([*conf, "start"], capture_output=True, text=True, check=False)
    if started.returncode != 0:
        log = (d / "maillog").read_text(errors="replace") if (d / "maillog").exists() else ""
        print(f"postfix: did not start: {(started.stderr + log).strip()[-600:]}")
        return
    try:
        pid = int((d / "queue" / "pid" / "master.pid").read_text().split()[0])
        cpu0, own0 = _cpu_seconds(_children(pid)), time.process_time()
        figures = _load(port, args.messages, args.size, args.connections, False, sinks)
        figures["peak_rss_mib"] = _rss_mib(_children(pid))
        figures["relay_cpu_s"] = _cpu_seconds(_children(pid)) - cpu0
        figures["client_cpu_s"] = time.process_time() - own0
        _print("Postfix 3 (private instance)", figures)
    finally:
        subprocess.run([*conf, "stop"], capture_output=True, check=False)
        time.sleep(1)


def _print(label: str, f: dict[str, float]) -> None:
    print(
        f"{label:<32} accepted {f['accepted']:.0f} at {f['accepted_per_s']:7.1f}/s, "
        f"delivered {f['delivered']:.0f} at {f['delivered_per_s']:7.1f}/s; time to 250 "
        f"p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms; "
        f"peak RSS {f['peak_rss_mib']:.0f} MiB; "
        f"CPU s: relay {f['relay_cpu_s']:.1f} ({1000 * f['relay_cpu_s'] / f['accepted']:.2f} "
        f"ms/msg), client {f['client_cpu_s']:.1f}",
        flush=True,
    )


def _compose_cost(size: int, work: Path) -> None:
    """CPU time of composing one copy in the delivery process (headers, List-Unsubscribe
    tokens, DKIM): the time the delivery event loop is blocked per copy."""
    import datetime as dt

    from monitor.relay.compose import Composer, ComposeSettings, DkimSigner, load_key
    from monitor.store.queue import Due
    from parsers.webtoken import LinkMaker

    (work / "c-rsa.pem").write_bytes(generate_key("rsa"))
    (work / "c-ed.pem").write_bytes(generate_key("ed25519"))
    rsa = load_key(work / "c-rsa.pem", domain="sender.example", selector="b")
    ed = load_key(work / "c-ed.pem", domain="sender.example", selector="e")
    links = LinkMaker(key=b"k" * 32, base_url="https://dw.example", unsubscribe_domain="b.example")
    body = _body(1, size)
    dues = [Due(id=n, relay_message_id=1, queue_id="Q", recipient=f"r{n}@one.example",
                domain="one.example", attempts=0, notify=None, orcpt=None, expires_at=None,
                envelope_sender="news@sender.example", campaign="c", message_id=None,
                stream="bulk", submitted_by="bench", header_from="news@sender.example",
                smtputf8=False, body_8bit=False, dsn_ret=None, dsn_envid=None,
                received_at=dt.datetime.now(dt.UTC)) for n in range(300)]  # fmt: skip
    for label, keys in (("unsigned", []), ("rsa", [rsa]), ("rsa+ed25519", [rsa, ed])):
        signer = DkimSigner({"sender.example": keys}) if keys else None
        composer = Composer(ComposeSettings(links=links, signer=signer))
        t0 = time.process_time()
        for due in dues:
            composer.compose(composer.plan(body, due), due)
        per = 1000 * (time.process_time() - t0) / len(dues)
        print(f"compose one {size}-byte copy with List-Unsubscribe, {label}: {per:.2f} ms CPU "
              "(the delivery loop is busy this long per copy)", flush=True)  # fmt: skip


def _compare(off: dict[str, float], on: dict[str, float]) -> None:
    def cost(key: str) -> float:
        return 100 * (1 - on[key] / off[key]) if off[key] else 0.0

    extra = 1000 * (on["relay_cpu_s"] / on["accepted"] - off["relay_cpu_s"] / off["accepted"])
    print(
        f"DKIM signing costs {cost('accepted_per_s'):.1f} % of accepted/s and "
        f"{cost('delivered_per_s'):.1f} % of delivered/s (target < 25 %); "
        f"{extra:+.2f} relay CPU ms per message",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--size", type=int, default=10_240)
    p.add_argument("--connections", type=int, default=20)
    p.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--only", choices=["ours", "postfix"], default=None)
    p.add_argument("--dkim", choices=["off", "on", "both"], default="both",
                   help="our relay without and/or with DKIM signing")  # fmt: skip
    p.add_argument("--ed25519", action="store_true", help="sign with ed25519 too")
    p.add_argument("--spy", default=None, help="py-spy raw profile of our relay to this file")
    args = p.parse_args(argv)
    where = PG_URL if args.backend == "postgresql" else "SQLite"
    print(
        f"{args.messages} messages of {args.size} bytes over {args.connections} connections "
        f"to 3 sink MX hosts; load average {os.getloadavg()[0]:.1f} ({where})",
        flush=True,
    )
    with sink_hosts("dw-bench-relay-") as (work, sinks, dns):
        if args.only in (None, "ours"):
            _compose_cost(args.size, work)
            runs = {"off": [False], "on": [True], "both": [False, True]}[args.dkim]
            got = {sign: run_ours(args, work, sinks, dns, sign) for sign in runs}
            if len(got) == 2:
                _compare(got[False], got[True])
        if args.only in (None, "postfix"):
            run_postfix(args, work, sinks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
