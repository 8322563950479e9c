"""Hostile inputs (issue 11): wall time and peak RSS per class, each in its own process.

Every class of ``tests/builders/hostile.py`` (``CLASSES``, full size) is written to a file
and read twice, each time by a fresh process whose own peak RSS comes from ``wait4``:

* ``parse``: ``deliverwatch parse FILE`` (the CLI, start-up included);
* ``poller``: what a poller's parse worker does with a fetched message
  (``monitor.ingest.parse.parse_item``), then the row stream ``monitor.ingest.observe``
  stores for an aggregate report.

Then ``drain``: one message of every class appended to a private Dovecot (``tests/servers``)
and drained by ``deliverwatch poll --once`` with the default mailbox settings, as a stranger's
mail would reach the daemon: its wall time, the poller's peak RSS (with its parse workers) and
where each message ended up (processed, failed, or still in the inbox: must be 0).

Target (issue 11): <= 5 s and <= 500 MB each on the project machine. Each child runs under
``RLIMIT_AS`` (``--max-gb``, default 4) and a timeout, so a regression shows as
"MemoryError"/"timeout" instead of taking the machine down. The outcome column is the
report's kind and the first words of its error: a hostile input must be refused with a
reason (or parsed), never crash.

    python bench/bench_hostile.py [--max-gb 4] [--timeout 120] [--only NAME ...] [--no-drain]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.builders.hostile import CLASSES, mailed  # noqa: E402 - the repository root, added above

_PARSE = """
import sys
from monitor.cli.root import main
sys.exit(main(["parse", sys.argv[1]]))
"""
_POLLER = """
import json, sys
from monitor.ingest.parse import parse_item
from parsers.errors import ParseError
raw = open(sys.argv[1], "rb").read()
item = parse_item(raw, ref="bench:1:1", received_at=None)
raw = None
rows, error = 0, item.report.error
if item.document is not None:
    from parsers.dmarc import iter_dmarc_records
    try:
        for _ in iter_dmarc_records(item.document):
            rows += 1
    except ParseError as exc:
        error = f"rows: {exc}"
print(json.dumps({"kind": item.report.kind.value, "error": error, "rows": rows}))
"""


def _limit(max_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))


def run(code: str, path: Path, *, max_bytes: int, timeout: float) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB, outcome) of ``python -c code path`` in a fresh process.

    The child is reaped with ``wait4``, whose resource usage is that child's alone.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(path)],
            stdout=out,
            stderr=err,
            preexec_fn=lambda: _limit(max_bytes),  # noqa: PLW1509 - no threads here
            cwd=REPO,
        )
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout and not timed_out:
                proc.kill()
                timed_out = True
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        outcome = "TIMEOUT" if timed_out else _outcome(proc.returncode, out.read(), err.read())
    return wall, usage.ru_maxrss / 1024, outcome


def _outcome(rc: int, out: bytes, err: bytes) -> str:
    tail = err.decode("utf-8", "replace").strip().splitlines()
    if "Traceback" in err.decode("utf-8", "replace"):
        return f"TRACEBACK rc={rc}: {tail[-1][:70] if tail else ''}"
    lines = [line for line in out.decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        return f"rc={rc}: {tail[-1][:70] if tail else 'no output'}"
    try:
        record = json.loads(lines[-1])
    except ValueError:
        return f"rc={rc}: {lines[-1][:70]}"
    error = record.get("error") or ""
    rows = f" ({record['rows']} rows)" if record.get("rows") else ""
    return f"{record.get('kind')}{rows}: {error[:70]}" if error else f"{record.get('kind')}{rows}"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-gb", type=float, default=4.0, help="RLIMIT_AS of each child")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per child")
    ap.add_argument("--only", nargs="*", default=None, help="class names (substring match)")
    ap.add_argument("--no-drain", action="store_true", help="skip the mailbox drain")
    args = ap.parse_args(argv)
    max_bytes = int(args.max_gb * (1 << 30))
    names = [n for n in CLASSES if not args.only or any(o.lower() in n.lower() for o in args.only)]
    print(f"hostile inputs: {len(names)} classes, RLIMIT_AS {args.max_gb:g} GiB per process")
    print(f"{'class':32} {'input':>10} {'step':7} {'wall s':>7} {'peak MiB':>9}  outcome")
    with tempfile.TemporaryDirectory(prefix="dw-hostile-") as tmp:
        for name in names:
            path = Path(tmp) / "input.eml"
            path.write_bytes(CLASSES[name][1]())
            size = path.stat().st_size
            for step, code in (("parse", _PARSE), ("poller", _POLLER)):
                wall, rss, outcome = run(code, path, max_bytes=max_bytes, timeout=args.timeout)
                print(
                    f"{name:32} {size:>10,} {step:7} {wall:7.2f} {rss:9.0f}  {outcome}",
                    flush=True,
                )
    if not args.no_drain:
        drain_mailbox(names)
    return 0


def drain_mailbox(names: list[str]) -> None:
    """One message of each class in a real mailbox, drained by the real poller."""
    sys.path.insert(0, str(REPO / "bench"))
    from bench_imap import drain  # the poller run with its peak RSS sampled

    from tests.servers.dovecot import Dovecot

    with tempfile.TemporaryDirectory(prefix="dw-hostile-drain-") as tmp, Dovecot() as server:
        work = Path(tmp)
        raws = [CLASSES[name][1]() for name in names]
        # a bare document arrives as an attachment, as a stranger would send it
        mail = [raw if raw[:64].lstrip()[:1].isalpha() and b":" in raw[:64] else mailed(raw)
                for raw in raws]  # fmt: skip
        server.append(mail, user="bounces", chunk=1)
        size = sum(len(m) for m in mail)
        config = work / "config.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{work / "bench.db"}"\n[logging]\nlevel = "WARNING"\n'
            f'[mailboxes.bench]\nhost = "{server.host}"\nport = {server.tls_port}\n'
            f'ca_file = "{server.ca_file}"\nusername = "bounces"\npassword = "secret"\n'
        )
        deliverwatch = str(Path(sys.executable).parent / "deliverwatch")
        subprocess.run([deliverwatch, "--config", str(config), "db", "upgrade"], check=True,
                       capture_output=True)  # fmt: skip
        seconds, rss_main, rss_tree, _ = drain(config)
        left = server.count("INBOX")
        with server.client("bounces") as imap:
            kept = {f: len(imap.select_folder(f, readonly=True) and imap.search(["ALL"]))
                    for f in ("deliverwatch-processed", "deliverwatch-failed")
                    if imap.folder_exists(f)}  # fmt: skip
        failed, processed = (
            kept.get("deliverwatch-failed", 0),
            kept.get("deliverwatch-processed", 0),
        )
        print(
            f"drain of one of each ({len(mail)} messages, {size / (1 << 20):.1f} MiB): "
            f"{seconds:.1f} s, peak RSS {rss_main:.0f} MiB poller, {rss_tree:.0f} MiB with "
            f"parse workers; {processed} processed, {failed} in the failed folder, {left} left in "
            "INBOX",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
