"""Small loopback helpers for tests."""

from __future__ import annotations

import socket


def closed_port(host: str = "127.0.0.1") -> int:
    """A loopback TCP port with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
    return port
