"""Delivery in processes of its own, supervised by the relay (``[relay] delivery_processes``).

One Python process can use one core (the interpreter lock): with submission and delivery in
one process, the relay spent 3.7 ms of CPU per 10 KB message and reached ~190 msg/s on two
cores while most of the second core sat idle (``make bench``, relay figures). A delivery
child per configured process puts the two halves on different cores.

``DeliveryProcesses`` is the relay's ``Deliverer``: ``run`` starts the children
(``deliverwatch relay --deliver``), restarts one that dies (issue 13.6: "a delivery worker
that crashes is restarted"; with a doubling pause so a child that cannot start does not spin),
and on ``stopping`` sends each SIGTERM and waits for it to finish its transactions.
``wake`` writes a byte to each child's stdin, which the child's engine turns into an
immediate look at the queue. A child whose stdin closes (the relay died, even by SIGKILL)
stops by itself; what it had claimed is taken back by the next relay's lease recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from monitor.relay.service import Deliverer

__all__ = ["DeliveryProcesses", "run_delivery_child"]

log = logging.getLogger(__name__)

#: Seconds a child is given to finish its transactions after SIGTERM.
STOP_SECONDS = 90.0


class DeliveryProcesses:
    """``count`` supervised ``deliverwatch relay --deliver`` children."""

    def __init__(self, config: Path | None, count: int) -> None:
        self.config, self.count = config, count
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self.restarts = 0

    def _command(self) -> list[str]:
        base = [sys.executable, "-m", "monitor"]
        if self.config is not None:
            base += ["--config", str(self.config)]
        return [*base, "relay", "--deliver"]

    def _start(self, slot: int) -> None:
        self.procs[slot] = subprocess.Popen(self._command(), stdin=subprocess.PIPE)  # noqa: S603
        os.set_blocking(self.procs[slot].stdin.fileno(), False)  # type: ignore[union-attr]

    def wake(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.stdin is not None and proc.poll() is None:
                with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError, ValueError):
                    proc.stdin.write(b"w")
                    proc.stdin.flush()

    async def run(self, stopping: asyncio.Event) -> None:
        for slot in range(self.count):
            self._start(slot)
        pause = [1.0] * self.count
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), 0.5)
            for slot, proc in enumerate(self.procs):
                if stopping.is_set() or proc is None or proc.poll() is None:
                    continue
                log.error(
                    "relay: delivery process %d exited with status %s; restarting in %.0f s",
                    proc.pid, proc.returncode, pause[slot],
                )  # fmt: skip
                await asyncio.sleep(pause[slot])
                pause[slot] = min(pause[slot] * 2, 60.0)
                self.restarts += 1
                self._start(slot)
        await asyncio.get_running_loop().run_in_executor(None, self._stop_all)

    def _stop_all(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            if proc is None:
                continue
            try:
                proc.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.error("relay: delivery process %d did not stop; killing it", proc.pid)
                proc.kill()
                proc.wait()
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()


async def run_delivery_child(engine: Deliverer) -> None:
    """The child's loop: the engine until SIGTERM or until the relay's pipe closes."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    fd = sys.stdin.fileno()
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        if not data:  # the relay is gone
            loop.remove_reader(fd)
            stopping.set()
            return
        engine.wake()

    loop.add_reader(fd, readable)
    log.info("relay: delivery process started (pid %d)", os.getpid())
    await engine.run(stopping)
