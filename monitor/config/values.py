"""Checked kinds of config value: times of day, time zones, hosts, mail addresses, URLs.

A field declares its kind in its type (``daily_at: ClockTime``); the loader converts the TOML
value to the base type and runs the kind's check, naming the key path on failure. So a value
the daemon or a command would reject an hour later (``daily_at = "6am"``, a misspelt time
zone) is refused by ``config check`` and by every command at load, once, here (issue 14).
Defaults are not checked: they are ours and are tested.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from functools import cache
from pathlib import Path
from typing import Annotated

from monitor.config.secret import Secret

__all__ = [
    "Check",
    "ClockTime",
    "ClockTimeOrOff",
    "Count",
    "DatabaseUrl",
    "Host",
    "HostOrUnset",
    "MailAddress",
    "PositiveInt",
    "Readable",
    "ReadableFile",
    "TimeZone",
    "Writable",
    "WritableDir",
    "WritableFile",
    "check_database_url",
    "check_host",
    "check_mail_address",
    "check_time_zone",
    "nameserver_address",
]

_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


@dataclass(frozen=True, slots=True)
class Check:
    """A check the loader runs on a converted value: ``func`` raises ``ValueError`` with
    the problem (the loader adds the key path)."""

    func: Callable[[object], None]


def check_clock_time(value: object) -> None:
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        raise ValueError(f'expected "HH:MM" (24-hour, e.g. "06:00"), got "{value}"')


def _clock_time_or_off(value: object) -> None:
    if value != "":
        check_clock_time(value)


@cache
def _zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def check_time_zone(value: object) -> None:
    """An IANA zone the scheduler and the report can load (``zoneinfo``)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = str(value)
    try:
        if not name:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(name, sorted(_zones()), n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ' (an IANA name like "Europe/Paris")'
        raise ValueError(f'unknown time zone "{name}"{hint}') from None


def check_host(value: object) -> None:
    """A DNS name (labels of letters, digits, '-' and '_') or an IP literal, ``[v6]`` too."""
    name = str(value)
    literal = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    try:
        ipaddress.ip_address(literal)
        return
    except ValueError:
        pass
    labels = name.removesuffix(".").split(".")
    if not name or len(name) > 253 or not all(_LABEL.fullmatch(x) for x in labels):
        raise ValueError(f'expected a host name or IP address, got "{name}"')


def _host_or_unset(value: object) -> None:
    if value != "":
        check_host(value)


def check_mail_address(value: object) -> None:
    """``user@domain`` or ``Name <user@domain>``, the domain a host name."""
    text = str(value)
    _, addr = parseaddr(text)
    local, at, domain = addr.rpartition("@")
    if not at or not local or " " in local:
        raise ValueError(f'expected a mail address (user@domain), got "{text}"')
    try:
        check_host(domain)
    except ValueError:
        raise ValueError(f'expected a mail address (user@domain), got "{text}"') from None


def _at_least(minimum: int) -> Callable[[object], None]:
    def check(value: object) -> None:
        if not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be at least {minimum}, got {value}")

    return check


def check_database_url(url: str) -> None:
    """A SQLAlchemy URL of a backend deliverwatch supports (SQLite, PostgreSQL), whose
    driver is installed; the message never repeats the URL (it may hold a password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(
            'expected a database URL such as "sqlite:///var/deliverwatch.db" or '
            '"postgresql+psycopg://user@host/db"'
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f'unsupported database "{parsed.drivername}": use sqlite:/// or postgresql+psycopg://'
        )
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise ValueError(
            f'unknown database driver "{parsed.drivername}" (for PostgreSQL: postgresql+psycopg)'
        ) from None


ClockTime = Annotated[str, Check(check_clock_time)]
#: A time of day, or "" for "off".
ClockTimeOrOff = Annotated[str, Check(_clock_time_or_off)]
TimeZone = Annotated[str, Check(check_time_zone)]
Host = Annotated[str, Check(check_host)]
#: A host, or "" where empty means "not set" (the field's docs say what happens then).
HostOrUnset = Annotated[str, Check(_host_or_unset)]
MailAddress = Annotated[str, Check(check_mail_address)]
#: A number of things that may be zero (``keep = 0`` keeps all).
Count = Annotated[int, Check(_at_least(0))]
PositiveInt = Annotated[int, Check(_at_least(1))]


@dataclass(frozen=True, slots=True)
class Readable:
    """Marks a path the program reads (a CA bundle, a key): ``config check`` warns when it
    is missing and the daemon refuses to start (``loader.unavailable_inputs``). Not checked
    at load: ``events list`` must work while a mailbox's CA file is being replaced."""


def check_database_secret(value: object) -> None:
    """``check_database_url`` on a URL that can be read now (an unset ``env:`` one is
    reported where it is used, naming the key)."""
    if isinstance(value, Secret) and value.problem() is None:
        check_database_url(value.reveal())


@dataclass(frozen=True, slots=True)
class Writable:
    """Marks a folder (or a file's folder) the program writes to: reports, exports, the
    relay's spool, the pid file. ``config check`` warns when it cannot be created or
    written; the daemon refuses to start (``loader.unavailable_inputs``). ``file``: the
    path is a file, its folder is what must be writable."""

    file: bool = False


ReadableFile = Annotated[Path, Readable()]
WritableDir = Annotated[Path, Writable()]
#: A file whose folder must be writable.
WritableFile = Annotated[Path, Writable(file=True)]
DatabaseUrl = Annotated[Secret, Check(check_database_secret)]


def nameserver_address(text: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT``, ``[V6]:PORT`` or a bare IPv6 address -> (ip, port); ValueError
    otherwise. A resolver must be given by address: its own name could only be found
    through DNS."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "53"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"bad nameserver {text!r}: expected IP[:PORT]") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad nameserver {text!r}: expected IP[:PORT]")
    return host, int(port)
