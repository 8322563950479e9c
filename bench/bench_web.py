"""One-click unsubscribe POSTs per second of ``deliverwatch web`` (uvicorn) on loopback.

The real command runs in its own process (``deliverwatch --config ... web``); this process
sends the load: a few thousand RFC 8058 POSTs (``List-Unsubscribe=One-Click``), each for a
different sent message and recipient, 16 at a time over keep-alive connections.
Every POST records an ``unsubscribed`` event and a suppression through the events core, in
a transaction of its own. Prints, per backend: POSTs/s for new unsubscribes, POSTs/s for
repeated ones (idempotent: the event is found stored), and the check that every address
was suppressed once.

    python bench/bench_web.py [--posts 3000] [--concurrency 16] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from pgschema import pg_schema  # bench/, first on sys.path when run as a script
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.enums import MessageState
from monitor.store.db import make_engine, make_session_factory, upgrade
from monitor.store.models import Suppression
from monitor.store.sent import insert_sends
from parsers.webtoken import LinkMaker
from tests.servers.net import closed_port

BIN = Path(sys.executable).parent
KEY = "bench-web-token-key-0123456789"


def _prepare(url: str, n: int) -> list[int]:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        ids = insert_sends(
            session,
            [
                {
                    "recipient": f"user{i}@example.com",
                    "recipient_domain": "example.com",
                    "campaign": "bench",
                    "state": MessageState.DELIVERED,
                    "message_id": f"bench{i}@example.com",
                }
                for i in range(n)
            ],
        )
    engine.dispose()
    return ids


def _suppressed(url: str) -> int:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(Suppression)) or 0)
    finally:
        engine.dispose()


def _load(port: int, paths: list[str], concurrency: int) -> tuple[float, int]:
    """POST every path, ``concurrency`` keep-alive connections at once (one thread each,
    stdlib http.client: the lightest client, so the figure is the server's)."""
    chunks = [paths[i::concurrency] for i in range(concurrency)]
    bad = [0] * concurrency
    body = b"List-Unsubscribe=One-Click"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for path in chunks[index]:
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                bad[index] += response.status != 200
            except (OSError, http.client.HTTPException):
                bad[index] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, sum(bad)


def run_backend(name: str, url: str, posts: int, concurrency: int, work: Path) -> None:
    ids = _prepare(url, posts)
    links = LinkMaker(key=KEY.encode(), base_url="")
    paths = [links.unsubscribe_url(i, f"user{n}@example.com") for n, i in enumerate(ids)]
    port = closed_port()
    config = work / f"{name}.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[logging]\nlevel = "WARNING"\n'
        f'[web]\nlisten = "127.0.0.1:{port}"\ntoken_key = "{KEY}"\n',
        encoding="utf-8",
    )
    proc = subprocess.Popen([str(BIN / "deliverwatch"), "--config", str(config), "web"])
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("deliverwatch web did not start")
            time.sleep(0.1)
        secs, bad = _load(port, paths, concurrency)
        again, bad_again = _load(port, paths, concurrency)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    count = _suppressed(url)
    print(
        f"{name:10s} {posts} one-click POSTs: {posts / secs:8.0f} POSTs/s "
        f"({secs:.2f} s, {bad} not 200); repeated: {posts / again:8.0f} POSTs/s "
        f"({bad_again} not 200); suppressed {count} of {posts}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(f"deliverwatch web under uvicorn, {os.cpu_count()} CPUs, load from this process")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.backend in ("sqlite", "both"):
            run_backend(
                "sqlite", f"sqlite:///{work / 'web.db'}", args.posts, args.concurrency, work
            )
        if args.backend in ("postgresql", "both"):
            with pg_schema() as url:
                run_backend("postgresql", url, args.posts, args.concurrency, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
