"""``deliverwatch serve``: the daemon, the relay and the web service side by side, as
``make run`` starts them.

Each runs as its own process (``deliverwatch daemon``, ``relay``, ``web``) with the same
config; ``serve`` forwards SIGTERM/SIGINT to them by PID and waits for both. If one of them
stops on its own, the other is stopped too and ``serve`` exits with the first one's status,
so a supervisor (systemd, make) sees the failure instead of half a service.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from types import FrameType

import click

from monitor.cli.common import loaded_app

__all__ = ["serve_cmd"]

PARTS = ("daemon", "relay", "web")


@click.command("serve")
@click.option("--without", type=click.Choice(PARTS), multiple=True, help="Leave this part out.")
@click.pass_context
def serve_cmd(ctx: click.Context, without: tuple[str, ...]) -> int:
    """Run the daemon, the relay and the web service together until SIGTERM/SIGINT."""
    app = loaded_app(ctx)
    config = str(app.config.source) if app.config.source else None
    base = [sys.executable, "-m", "monitor", *(["--config", config] if config else [])]
    children = {
        part: subprocess.Popen([*base, part])  # noqa: S603 - our own entry point
        for part in PARTS
        if part not in without
    }
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for proc in children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    status = 0
    try:
        while any(p.poll() is None for p in children.values()):
            for part, proc in children.items():
                code = proc.poll()
                if code is not None and not stopping:
                    click.echo(f"serve: the {part} stopped (exit {code}); stopping the rest",
                               err=True)  # fmt: skip
                    status = code or 1
                    stop(signal.SIGTERM, None)
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status or max((p.returncode or 0 for p in children.values()), default=0)
