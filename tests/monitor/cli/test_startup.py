"""Commands that parse no mail start without the parsers, the report model or pyarrow.

``suppression check`` on a list is issue 14 point 9's figure (process start included), and
every command a postmaster types pays its imports: the whole parser (``parsers.dispatch``
and the bounce families, phrase tables and classifier behind it, ~160 ms) came in through
``parsers/__init__.py`` whenever ``parsers.listfile`` or ``parsers.address`` was imported,
``reports.model`` (~40 ms) through the config's thresholds, and pyarrow (~150 ms) through
the event export's column list, and alembic (0.2-0.25 s; only ``db`` commands and a schema
mismatch need it) through the schema check. Each command runs in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from monitor.store.db import make_engine, upgrade

#: Modules none of these commands needs; any one of them back at start-up fails the test.
HEAVY = (
    "alembic",
    "parsers.dispatch",
    "parsers.bounce",
    "parsers.phrases",
    "reports.model",
    "pyarrow",
)


@pytest.mark.parametrize(
    "command",
    [
        ["suppression", "check", "a@example.org"],
        ["suppression", "list"],
        ["events", "list"],
    ],
    ids=" ".join,
)
def test_commands_that_parse_no_mail_do_not_import_the_parsers(tmp_path, command) -> None:
    rc, loaded = run_and_list(tmp_path, command, HEAVY)
    assert (rc, loaded) == (0, [])


def run_and_list(tmp_path, command: list[str], modules: tuple[str, ...]) -> tuple[int, list[str]]:
    """Run ``deliverwatch <command>`` in a fresh interpreter on an empty SQLite database;
    its exit status and which of ``modules`` it imported."""
    db = tmp_path / "db.sqlite"
    upgrade(make_engine(f"sqlite:///{db}"))
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    probe = (
        "import sys\n"
        "from monitor.cli.root import main\n"
        f"rc = main(['--config', {str(config)!r}, *{command!r}])\n"
        f"print(repr((rc, sorted(m for m in {modules!r} if m in sys.modules))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    rc, loaded = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    return rc, loaded


def test_parse_message_is_still_a_name_of_the_package() -> None:
    """``from parsers import parse_message`` (and ``Report``, ``ParseError``) load on use."""
    probe = (
        "import sys\n"
        "import parsers\n"
        "before = 'parsers.dispatch' in sys.modules\n"
        "from parsers import ParseError, Report, parse_message\n"
        "from parsers.dispatch import parse_message as home\n"
        "report = parse_message(b'')\n"
        "missing = sorted(set(parsers.__all__) - set(dir(parsers)))\n"
        "print(before, parse_message is home, report.kind.value, isinstance(report, Report),\n"
        "      issubclass(ParseError, ValueError), missing)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False True unknown True True []", out.stdout + out.stderr


def test_status_does_not_import_the_relay_or_the_web_service(tmp_path) -> None:
    """``deliverwatch status`` (a monitoring system may run it every minute) needs the job
    list and the alert limits, not the SMTP server, the delivery engine or the web
    service: ``monitor.daemon.wiring`` imports their settings where it builds them."""
    stacks = ("aiosmtpd", "monitor.relay.server", "monitor.relay.delivery", "monitor.web.settings")
    rc, loaded = run_and_list(tmp_path, ["status"], stacks)
    assert rc in (0, 1, 2) and loaded == []  # Nagios: healthy, warning or critical
