"""Records to JSON-ready dicts, generically over the record dataclasses.

One walker serves every record type so that a field added to ``parsers.records`` appears in
the JSON output without touching this module. Conventions: enums become their value,
datetimes ISO 8601 in UTC with a ``Z`` suffix, tuples lists, and a trailing underscore
(``from_``, there because ``from`` is a keyword) is dropped.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from parsers.records import DmarcAggregate, Report, TlsReport

__all__ = ["report_to_dict", "to_jsonable"]


def _datetime(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_jsonable(value: Any) -> Any:
    """Convert a record (or anything inside one) into JSON-serialisable values."""
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
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
    return str(value)


def _record(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        key = f.name[:-1] if f.name.endswith("_") else f.name
        out[key] = to_jsonable(getattr(record, f.name))
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
