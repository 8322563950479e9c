"""Command-line interface: ``deliverwatch`` / ``python -m monitor``.

The root group only resolves the config path and configures logging; each subcommand lives
in a small module of this package and calls the real code elsewhere in ``monitor``.
"""

from __future__ import annotations

from monitor.cli.root import build_cli, main

__all__ = ["build_cli", "main"]
