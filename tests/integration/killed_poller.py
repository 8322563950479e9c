"""``python -m tests.integration.killed_poller ARGS_JSON``: a poller killed by SIGKILL.

It polls one mailbox and sends itself SIGKILL right after its first batch is committed,
before that batch is moved: the worst moment for exactly-once, reproduced with a real
process death (no ``finally``, no ``atexit``, no rollback by Python). With
``"hang": true`` it parses with two worker processes instead, prints ``READY`` once the first
batch was fetched and parsed, and waits there to be killed by the test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
import time
from pathlib import Path

from monitor.config import MailboxConfig, Secret
from monitor.events import EventContext
from monitor.ingest.drain import Hooks, IngestOptions, drain_mailbox
from monitor.store.db import make_engine, make_session_factory
from monitor.suppression.policy import Rules


def main(argv: list[str]) -> int:
    args = json.loads(argv[1])
    cfg = MailboxConfig(
        host=args["host"],
        port=args["port"],
        ca_file=Path(args["ca_file"]),
        username=args["user"],
        password=Secret(args["password"]),
        batch_size=args["batch_size"],
        parse_workers=2 if args.get("hang") else 0,
    )
    factory = make_session_factory(make_engine(args["db"]))

    def die(_uids: list[int]) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def hang(_uids: list[int]) -> None:
        print("READY", flush=True)
        while True:
            time.sleep(60)

    hooks = Hooks(after_fetch=hang) if args.get("hang") else Hooks(after_commit=die)
    workers = 2 if args.get("hang") else 0

    drain_mailbox(
        "bounces",
        cfg,
        factory=factory,
        ctx=EventContext(rules=Rules(), verp_key=args["key"].encode()),
        now=lambda: dt.datetime.now(dt.UTC),
        options=IngestOptions(hooks=hooks, workers=workers),
    )
    return 3  # never reached: the first commit kills the process


if __name__ == "__main__":
    sys.exit(main(sys.argv))
