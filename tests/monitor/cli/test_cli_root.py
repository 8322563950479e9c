"""The root command group: every subcommand resolves, and ``parse`` starts light."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from monitor.cli import root
from monitor.config import ENV_VAR


def test_env_var_is_the_config_loaders() -> None:
    assert root.ENV_VAR == ENV_VAR


def test_every_listed_command_resolves_under_its_name() -> None:
    cli = root.build_cli()
    ctx = click.Context(cli)
    names = cli.list_commands(ctx)
    assert names == sorted(root.COMMANDS)
    for name in names:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command)
        assert command.name == name
    assert cli.get_command(ctx, "no-such-command") is None


def test_parse_does_not_import_the_other_commands() -> None:
    code = (
        "import json, sys\n"
        "from monitor.cli.root import main\n"
        "main(['parse', '--format', 'jsonl', sys.argv[1]])\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, __file__], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    assert "monitor.cli.parse" in loaded
    unwanted = {"monitor.config", "monitor.cli.check", "monitor.cli.report_cmd", "asyncio"}
    assert not loaded & unwanted
