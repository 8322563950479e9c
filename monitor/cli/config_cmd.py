"""``deliverwatch config check``: validate and print the effective config, secrets masked."""

from __future__ import annotations

import json
from typing import Any

import click

from monitor.config import config_to_dict, unavailable_inputs
from monitor.errors import ConfigError


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML string


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Render nested plain data as TOML (scalars first, then sub-tables, as TOML requires)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    out = "\n".join(lines)
    for key, value in tables:
        name = f"{prefix}.{key}" if prefix else key
        body = to_toml(value, name)
        block = f"[{name}]\n{body}"
        out = f"{out}\n\n{block}" if out else block
    return out.strip("\n")


@click.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@click.pass_context
def config_check(ctx: click.Context) -> int:
    """Validate the config file and print the effective settings (secrets masked)."""
    from monitor.app import App

    app = ctx.find_object(App)
    if app is None:  # pragma: no cover
        raise click.UsageError("internal: no application context")
    try:
        cfg = app.config
    except ConfigError as exc:
        click.echo(f"config error: {exc}", err=True)
        return 2
    click.echo(f"# {cfg.source}: OK\n")
    click.echo(to_toml(config_to_dict(cfg)))
    for missing in unavailable_inputs(cfg):  # needed by some commands (and the daemon)
        click.echo(f"warning: {missing}", err=True)
    return 0
