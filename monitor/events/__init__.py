"""The events core: every source's facts meet here (trust, store once, suppression policy).

A bounce read from IMAP, a reply from a remote MX and a click on an unsubscribe link are the
same kind of fact: an :class:`Observation` about one recipient of one sent message. Sources
call :func:`record` (inside their own transaction) or :func:`record_events` (a transaction
of its own); nothing else writes events.
"""

from monitor.events.core import is_infrastructure, record, record_events
from monitor.events.observation import (
    Decided,
    Effects,
    EventContext,
    Observation,
    Recorded,
    event_key,
    normalize_recipient,
    unsubscribe_key,
)

__all__ = [
    "Decided",
    "Effects",
    "EventContext",
    "Observation",
    "Recorded",
    "event_key",
    "is_infrastructure",
    "normalize_recipient",
    "record",
    "record_events",
    "unsubscribe_key",
]
