"""Logging set-up: text or JSON lines on stderr. Only the CLI calls ``configure``."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from reports.visible import terminal_text

__all__ = ["configure"]


class TextFormatter(logging.Formatter):
    """The text format, with the message's controls and bidi marks made visible (a log line
    quotes mail: a subject's ESC sequence must not reach the terminal or journal viewer).
    Tracebacks keep their newlines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        message = record.message
        record.message = terminal_text(message)
        try:
            return super().formatMessage(record)
        finally:
            record.message = message


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers (journald, Loki, CloudWatch...)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries' INFO is chatter for a postmaster (APScheduler logs every job run,
    # flufl.bounce "Running detector" for every detector on every message: 158 lines for
    # one poll): below DEBUG only their warnings and errors pass.
    if level != "DEBUG":
        handler.addFilter(_quiet_libraries)


#: Loggers of deliverwatch itself; every other logger is a library's.
OWN = ("monitor", "parsers", "reports", "__main__")


def _quiet_libraries(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name.split(".", 1)[0] in OWN
