"""IMAP ingestion: drain a big backlog from a real Dovecot into the database.

Loads ``--messages`` (default 20,000) messages into a private Dovecot (``tests/servers``):
the shared corpora (``../shared/corpus/bounces`` and ``../shared/corpus/reports``)
replicated, each copy with its own Message-ID (bare report files are mailed as attachments,
as reporters send them). Loading uses IMAP APPEND (MULTIAPPEND, RFC 3502) over several
connections at once, or with ``--load maildir`` writes the files straight into the maildir
(faster for 100,000; Dovecot indexes them at the first SELECT, inside the timed drain).

Then runs ``deliverwatch poll --once`` as a child process and prints messages/s for the full
drain (wall time of the whole command, start-up included) and its peak RSS, sampled from
/proc every 50 ms: the poller process alone and with its parse workers. Targets (issue 5):
>= 500 messages/s, peak RSS < 250 MB, the same RSS at 100,000 messages. Nothing asserted.

    python bench/bench_imap.py [--messages 20000] [--load append|maildir]
                               [--backend sqlite|postgresql] [--workers -1]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
from tests.shared_paths import SHARED  # noqa: E402 - ../shared or $DELIVERWATCH_SHARED

CORPUS = SHARED / "corpus"

from pgschema import pg_schema  # noqa: E402 - bench/, first on sys.path as a script

from tests.servers.dovecot import Dovecot  # noqa: E402

_DOC_TYPES = {".gz": "application/gzip", ".zip": "application/zip", ".xml": "text/xml"}


def _as_mail(path: Path, raw: bytes) -> bytes:
    """A bare report file as the mail a reporter sends (RFC 7489 7.2.1.1, RFC 8460 5.3)."""
    ctype = "application/tlsrpt+json" if path.suffix == ".json" else _DOC_TYPES[path.suffix]
    body = base64.encodebytes(raw).decode()
    return (
        "From: reports@isp.example\r\nTo: dmarc@sender.example\r\n"
        f"Subject: Report {path.name}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        "Content-Type: text/plain\r\n\r\nReport attached.\r\n--b\r\n"
        f'Content-Type: {ctype}; name="{path.name}"\r\nContent-Transfer-Encoding: base64\r\n'
        f'Content-Disposition: attachment; filename="{path.name}"\r\n\r\n'
        f"{body}\r\n--b--\r\n"
    ).encode()


def corpus() -> list[bytes]:
    out = []
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.suffix not in (".eml", ".xml", ".gz", ".zip", ".json"):
            continue
        raw = path.read_bytes()
        if path.suffix != ".eml":
            raw = _as_mail(path, raw)
        out.append(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    return out


def messages(n: int) -> Iterator[bytes]:
    base = corpus()
    for i in range(n):
        yield b"Message-ID: <bench-%d@deliverwatch.bench>\r\n" % i + base[i % len(base)]


def load_append(server: Dovecot, n: int, connections: int = 4) -> None:
    def worker(k: int) -> None:
        server.append(
            (m for i, m in enumerate(messages(n)) if i % connections == k),
            user="bounces",
            chunk=200,
        )

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def load_maildir(server: Dovecot, n: int) -> None:
    new = server.maildir("bounces") / "new"
    for sub in ("new", "cur", "tmp"):
        (server.maildir("bounces") / sub).mkdir(parents=True, exist_ok=True)
    stamp = int(time.time())
    for i, raw in enumerate(messages(n)):
        (new / f"{stamp}.M{i}P{os.getpid()}.bench").write_bytes(raw)
    for root, dirs, files in os.walk(server.maildir("bounces")):
        for name in dirs + files:
            os.chown(os.path.join(root, name), server.mail_uid, server.mail_gid)
    os.chown(server.maildir("bounces"), server.mail_uid, server.mail_gid)


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def drain(config: Path) -> tuple[float, float, float, str]:
    """Run the poller; return (seconds, peak RSS MiB main, peak RSS MiB with workers, out).

    Its output goes to files, not pipes: a pipe nobody reads while we sample would fill up
    with log lines and block the poller.
    """
    cmd = [str(Path(sys.executable).parent / "deliverwatch"), "--config", str(config)]
    out_path, err_path = config.with_suffix(".out"), config.with_suffix(".err")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([*cmd, "poll", "--once"], stdout=out, stderr=err)
        peak_main = peak_tree = 0
        while proc.poll() is None:
            peak_main = max(peak_main, _rss_kib(proc.pid))
            peak_tree = max(peak_tree, sum(_rss_kib(p) for p in _descendants(proc.pid)))
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-2000:]
        raise SystemExit(f"poll failed ({proc.returncode}): {tail}")
    return seconds, peak_main / 1024, peak_tree / 1024, out_path.read_text(errors="replace")


@contextlib.contextmanager
def database(backend: str, work: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{work / 'bench.db'}"
        return
    with pg_schema() as url:
        yield url


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--load", choices=["append", "maildir"], default="append")
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--workers", type=int, default=-1, help="parse_workers (-1: CPUs - 1)")
    ap.add_argument("--batch-size", type=int, default=200)
    ap.add_argument(
        "--trust", choices=["verified", "any"], default="verified",
        help="any: no send log needed, so hard bounces and complaints suppress (more writes)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = stack.enter_context(Dovecot(max_connections=20))
        url = stack.enter_context(database(args.backend, work))
        t0 = time.perf_counter()
        (load_append if args.load == "append" else load_maildir)(server, args.messages)
        loaded = time.perf_counter() - t0
        print(
            f"loaded {args.messages:,} messages ({len(corpus())} corpus files replicated) with "
            f"{'IMAP APPEND over 4 connections' if args.load == 'append' else 'maildir files'}"
            f" in {loaded:.1f} s ({args.messages / loaded:,.0f}/s)",
            flush=True,
        )
        config = work / "config.toml"
        config.write_text(
            f'[database]\nurl = "{url}"\n[logging]\nlevel = "WARNING"\n'
            f'[suppression]\ntrust = "{args.trust}"\n'
            f'[mailboxes.bench]\nhost = "{server.host}"\nport = {server.tls_port}\n'
            f'ca_file = "{server.ca_file}"\nusername = "bounces"\npassword = "secret"\n'
            f"batch_size = {args.batch_size}\nparse_workers = {args.workers}\n"
            "max_message_bytes = 26214400\n"
        )
        deliverwatch = str(Path(sys.executable).parent / "deliverwatch")
        subprocess.run([deliverwatch, "--config", str(config), "db", "upgrade"], check=True,
                       capture_output=True)  # fmt: skip
        seconds, rss_main, rss_tree, out = drain(config)
        left = server.count("INBOX")
        print("\n".join(out.strip().splitlines()[:2]))  # the summary; not the failures
        print(
            f"drain ({args.backend}, trust={args.trust}, parse_workers={args.workers}, "
            f"cpus={os.cpu_count()}): "
            f"{args.messages:,} messages in {seconds:.1f} s = {args.messages / seconds:,.0f} "
            f"messages/s; peak RSS {rss_main:.0f} MB poller, {rss_tree:.0f} MB with parse "
            f"workers; {left} left in INBOX"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
