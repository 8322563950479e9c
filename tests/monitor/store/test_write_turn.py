"""``write_turn``: the relay's writers take turns on a SQLite file through a kernel lock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from monitor.store.db import make_engine, make_session_factory, write_turn

_CHILD = """
import sys, time
from monitor.store.db import make_engine, make_session_factory, write_turn
factory = make_session_factory(make_engine(sys.argv[1]))
with write_turn(factory):
    print("in", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_second_process_waits_for_the_turn_and_gets_it_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    factory = make_session_factory(make_engine(url))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, "0.6"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "in"  # the child holds the turn
        t0 = time.monotonic()
        with write_turn(factory):
            waited = time.monotonic() - t0
        assert child.wait(10) == 0
        assert waited >= 0.3  # it waited for the child's turn to end ...
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    factory = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'q.db'}"))
    inside, overlaps = [0], [0]

    def writer() -> None:
        for _ in range(20):
            with write_turn(factory):
                inside[0] += 1
                overlaps[0] = max(overlaps[0], inside[0])
                time.sleep(0.001)
                inside[0] -= 1

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps[0] == 1


def test_postgresql_and_memory_databases_need_no_turn(tmp_path: Path) -> None:
    factory = make_session_factory(make_engine("sqlite://"))
    with write_turn(factory), write_turn(factory):  # no lock file, no self-deadlock
        pass
    assert not list(tmp_path.iterdir())
