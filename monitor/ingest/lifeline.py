"""Worker processes end when the process that started them ends, even by SIGKILL.

A ``ProcessPoolExecutor`` worker blocks reading its task queue, and it holds the queue's
write end itself (multiprocessing hands both ends to every worker), so the death of the
poller never shows it an end of file; the forkserver lives on as long as any worker holds
its "alive" pipe. After ``kill -9`` of a poll, the forkserver and every parse worker
(~75 MB each) used to stay forever (issue 11, point 7).

So each worker watches the process that started it: on Linux through a pidfd
(``os.pidfd_open``, Linux 5.3), which becomes readable when that process exits and cannot be
fooled by a reused PID; elsewhere by asking every second whether it still exists. The watch
is one daemon thread per worker, blocked in ``select`` (no CPU while the parent lives).
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time

__all__ = ["exit_with", "worker_init"]

#: Exit status of a worker whose parent died (it was doing the parent's work; no one waits).
ORPHANED = 70


def _wait_for_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # already gone
    except (AttributeError, OSError):  # no pidfd on this system: ask every second
        while True:
            time.sleep(1.0)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            except PermissionError:
                continue  # it exists (signals are just not ours to send)
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def exit_with(pid: int) -> threading.Thread:
    """End this process (``os._exit``) as soon as process ``pid`` has exited."""

    def watch() -> None:
        _wait_for_exit(pid)
        os._exit(ORPHANED)

    thread = threading.Thread(target=watch, name=f"lifeline-{pid}", daemon=True)
    thread.start()
    return thread


def worker_init(parent: int) -> None:
    """``initializer`` of parse workers: Ctrl-C reaches the whole process group and the
    poller stops its workers itself; and a worker never outlives the poller."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with(parent)
