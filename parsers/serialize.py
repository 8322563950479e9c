"""Records to JSON-ready dicts, generically over the record dataclasses.

One walker serves every record type so that a field added to ``parsers.records`` appears in
the JSON output without touching this module. Conventions: enums become their value,
datetimes ISO 8601 in UTC with a ``Z`` suffix, tuples lists, and a trailing underscore
(``from_``, there because ``from`` is a keyword) is dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from parsers.records import DmarcAggregate, Report, TlsReport

__all__ = ["report_to_dict", "to_jsonable"]


def _datetime(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


_PLAIN = frozenset({str, int, float, bool, type(None)})
# The converter of each record class, written the first time the class is met: one
# function per class that reads each field and keeps plain values as they are (a generic
# walk over dataclasses.fields per record cost more than the JSON encoding itself).
_CONVERTERS: dict[type, Callable[[Any], dict[str, Any]]] = {}


def to_jsonable(value: Any) -> Any:  # noqa: PLR0911 - one return per kind, in order
    """Convert a record (or anything inside one) into JSON-serialisable values."""
    if type(value) in _PLAIN:  # exact types: a StrEnum is a str but must become its value
        return value
    if type(value) in _CONVERTERS:  # a record class seen before
        return _record(value)
    if type(value) in (tuple, list):  # exact types first; their subclasses further down
        return [to_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return _datetime(value)
    if isinstance(value, bytes):
        return value.hex()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _record(value)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value if isinstance(value, int | float | str) else str(value)  # their subclasses


def _converter(cls: type) -> Callable[[Any], dict[str, Any]]:
    """``lambda r: {key: jsonable(r.field), ...}`` for the fields of record class ``cls``.

    Generated source, as ``dataclasses`` writes ``__init__``: field names are identifiers
    and the JSON keys are written with repr().
    """
    names = [f.name for f in dataclasses.fields(cls)]
    lines = [f"    v{i} = record.{name}" for i, name in enumerate(names)]
    items = ", ".join(
        f"{(name[:-1] if name.endswith('_') else name)!r}: "
        f"v{i} if type(v{i}) in plain else jsonable(v{i})"
        for i, name in enumerate(names)
    )
    source = "def convert(record):\n" + "\n".join(lines) + f"\n    return {{{items}}}\n"
    namespace: dict[str, Any] = {"plain": _PLAIN, "jsonable": to_jsonable}
    exec(source, namespace)  # noqa: S102 - our own source, built from dataclass fields
    convert: Callable[[Any], dict[str, Any]] = namespace["convert"]
    return convert


def _record(record: Any) -> dict[str, Any]:
    convert = _CONVERTERS.get(type(record))
    if convert is None:
        convert = _CONVERTERS[type(record)] = _converter(type(record))
    out = convert(record)
    if isinstance(record, TlsReport):
        out["n_policies"] = len(record.policies)
        out["total_successful_sessions"] = record.total_successful_sessions
        out["total_failure_sessions"] = record.total_failure_sessions
    if isinstance(record, DmarcAggregate) and record.records is None:
        out.pop("records", None)
    return out


def report_to_dict(report: Report) -> dict[str, Any]:
    """The JSON shape of ``deliverwatch parse --format jsonl`` (issue 3, point 7)."""
    return _record(report)
