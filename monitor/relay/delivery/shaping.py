"""Traffic shaping: destination groups, their caps per source address, and adaptive back-off.

Mailbox providers throttle per platform and per sending IP, not per recipient domain: a
company domain hosted by Google is paced by Gmail's machinery. So a destination is put in a
**group** by its recipient domain (the provider's own consumer domains) or else by its MX
hosts (``reports/data/providers.json`` is the shipped mapping, the one the report uses, with
its limits; ``[relay.shaping.groups.ID]`` overrides or adds), and a domain in no group is a
group of its own with the ``default`` limits. Per group and source address
(:class:`Throttle`):

* ``max_connections`` open at once (idle ones in the pool count: the provider sees them);
* ``messages_per_connection`` before the connection is closed;
* ``messages_per_minute``: messages are spaced ``60 / rate`` seconds apart (a GCRA without
  burst, what PowerMTA's ``max-msg-rate`` does), so any window sees the rate, not a burst;
* ``messages_per_hour``: a sliding window of the last hour's start times;
* ``recipients_per_message``: recipients per transaction.

A turn more than ``max_wait`` seconds away is not waited for in memory: the job goes back
to the queue (``Verdict.WAITING``: state ``deferred``, no attempt counted, no event, no DSN)
due when its turn comes. Pacing runs on a monotonic clock; suspensions and ramps on the
engine's clock (the one tests control).

**Back-off** (PowerMTA's back-off mode): a reply classified (``parsers.reply``) with a
sender-side reason that means "slow down or stop" (rate limited, too many connections,
blocked, bad reputation, spam detected; e.g. Microsoft's S3150, Yahoo's TSS04, Gmail's
4.7.28) suspends the group for that source address for ``backoff_seconds``; then its rate
and connections ramp from half of what they were (at least ``min_factor``) back to the full
limits over ``ramp_seconds``. Only that group from that address is touched; the recipient is
never suppressed for it (the events core leaves sender-side reasons alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta

from monitor.relay.delivery.result import Reply
from parsers.records import Reason
from parsers.reply import classify_reply
from reports.providers import load_destination_groups

__all__ = [
    "BACKOFF_REASONS",
    "WARMUP_SCHEDULE",
    "Backoff",
    "Group",
    "GroupRule",
    "Limits",
    "Pool",
    "Shaper",
    "ShapingSettings",
    "Throttle",
    "shipped_groups",
]

log = logging.getLogger(__name__)

#: Greylisting is about one sender/recipient pair, not the sender's pace: never a back-off.
_GREYLIST = re.compile(r"gr[ae]y[ -]?list", re.IGNORECASE)

#: Sender-side reasons that ask the sender to slow down or stop (``parsers.sides``): the
#: other sender-side reasons (authentication, content, syntax) are about one message.
BACKOFF_REASONS = frozenset(
    {
        Reason.SPEEDING,
        Reason.TOO_MANY_CONN,
        Reason.BLOCKED,
        Reason.BAD_REPUTATION,
        Reason.SPAM_DETECTED,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Caps per group and source address; 0: no cap."""

    max_connections: int = 0
    messages_per_connection: int = 0
    messages_per_minute: int = 0
    messages_per_hour: int = 0
    recipients_per_message: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"{f.name} must be >= 0")

    def merged(self, values: Mapping[str, int]) -> Limits:
        """These limits with ``values`` (a name -> number mapping) laid over them."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(unknown)}")
        return replace(self, **{k: int(v) for k, v in values.items()})


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupRule:
    """A destination group: recipient domains it owns, MX host patterns, its limits.

    A pattern with a wildcard is a glob (``*.mx.example``); without one it is a suffix on a
    label boundary (``google.com`` matches ``aspmx.l.google.com``, not ``notgoogle.com``).
    """

    id: str
    domains: frozenset[str] = frozenset()
    mx_patterns: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)

    def matches_mx(self, host: str) -> bool:
        h = host.lower().rstrip(".")
        for pattern in self.mx_patterns:
            if any(c in pattern for c in "*?["):
                if fnmatch.fnmatchcase(h, pattern):
                    return True
            elif h == pattern or h.endswith("." + pattern):
                return True
        return False


def shipped_groups() -> tuple[GroupRule, ...]:
    """The groups of ``reports/data/providers.json`` with their shipped limits."""
    return tuple(
        GroupRule(
            id=g.id,
            domains=g.domains,
            mx_patterns=g.mx_suffixes,
            limits=Limits().merged(dict(g.shaping)),
        )
        for g in load_destination_groups().groups
    )


#: Messages a day per destination group for a new address: days 1, 2, 3... It doubles
#: about every day or two from 50, as Google's, Microsoft's and Yahoo's sender guidance
#: advises for a new IP (start low, increase gradually, watch the replies); after the
#: schedule the address has no warm-up cap.
WARMUP_SCHEDULE = (50, 100, 200, 400, 750, 1_500, 3_000, 5_000, 10_000, 20_000, 35_000, 50_000,
                   75_000, 100_000)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Pool:
    """Source addresses for some mail: by campaign, submission user or sending domain."""

    name: str
    ips: tuple[str, ...]
    campaigns: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    #: Sender domains (envelope or header From; a subdomain counts).
    domains: tuple[str, ...] = ()

    def claims(self, *, campaign: str | None, user: str, sender: str) -> bool:
        if campaign is not None and campaign in self.campaigns:
            return True
        if user in self.users:
            return True
        domain = sender.rpartition("@")[2].lower().rstrip(".")
        return bool(domain) and any(domain == d or domain.endswith("." + d) for d in self.domains)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShapingSettings:
    """Traffic shaping as plain values (``[relay.shaping]``, built by the wiring)."""

    groups: tuple[GroupRule, ...] = ()
    #: Limits of a destination in no group (it is a group of its own, by domain).
    default: Limits = field(default_factory=Limits)
    #: The longest a job waits in memory for its turn; further off, it goes back to the queue.
    max_wait: float = 30.0
    backoff_seconds: float = 600.0
    ramp_seconds: float = 1800.0
    #: The lowest share of the limits a ramp starts from.
    min_factor: float = 0.1
    #: Named pools of source addresses (the first that claims a message wins); mail no
    #: pool claims uses the source addresses no pool names (all of them when pools name
    #: every one).
    pools: tuple[Pool, ...] = ()
    #: Source addresses taken out of every pool (e.g. one found on a blocklist).
    exclude_ips: frozenset[str] = frozenset()
    #: Warm-up: the first day of each new source address, and the daily cap per
    #: destination group for day 1, 2... (``warmup_groups`` per group id; past the end of
    #: its schedule an address has no warm-up cap).
    warmup_start: Mapping[str, date] = field(default_factory=dict)
    warmup_schedule: tuple[int, ...] = ()
    warmup_groups: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_wait <= 0 or self.backoff_seconds <= 0 or self.ramp_seconds <= 0:
            raise ValueError("max_wait, backoff_seconds and ramp_seconds must be > 0")
        if not 0 < self.min_factor <= 1:
            raise ValueError("min_factor must be in (0, 1]")
        ids = [g.id for g in self.groups]
        if len(ids) != len(set(ids)):
            raise ValueError("destination group ids must be unique")

    def classify(self, domain: str, mx_hosts: Iterable[str]) -> Group:
        """The group of ``domain`` (its own when none): its domains first, then its MXs."""
        d = domain.lower().rstrip(".")
        for rule in self.groups:
            if d in rule.domains:
                return Group(rule.id, rule.limits, named=True)
        hosts = list(mx_hosts)
        for host in hosts:  # in MX order: the most preferred host decides
            for rule in self.groups:
                if rule.matches_mx(host):
                    return Group(rule.id, rule.limits, named=True)
        return Group(d, self.default, named=False)


@dataclass(frozen=True, slots=True)
class Group:
    """A destination group in effect: a named one, or a domain on its own (``named`` False)."""

    key: str
    limits: Limits
    named: bool = True


@dataclass(frozen=True, slots=True)
class Backoff:
    """One back-off episode: what the queue summary and the report show."""

    group: str
    source_ip: str  # "" when the system picks the source address
    started: float  # engine seconds
    until: float  # end of the suspension; the ramp follows
    ramp_until: float
    factor: float  # share of the limits the ramp starts from
    reply: str


@dataclass
class Throttle:
    """One group from one source address: what is open and when the next turn is."""

    limits: Limits
    open: int = 0
    next_at: float = 0.0  # monotonic: the earliest start of the next message
    hour: deque[float] = field(default_factory=deque)  # start times in the last hour
    suspended_until: float = 0.0  # engine seconds
    ramp_until: float = 0.0
    floor: float = 1.0
    reason: str = ""

    def factor(self, now: float) -> float:
        """Share of the limits in force: 0 while suspended, then ramping back to 1."""
        if now < self.suspended_until:
            return 0.0
        if now >= self.ramp_until:
            return 1.0
        span = self.ramp_until - self.suspended_until
        return self.floor + (1.0 - self.floor) * (now - self.suspended_until) / span


class Shaper:
    """The state of every throttle in this delivery process (module docstring)."""

    def __init__(
        self,
        settings: ShapingSettings,
        *,
        seconds: Callable[[], float],
        monotonic: Callable[[], float] = time.monotonic,
        per_domain_connections: int = 20,
        on_backoff: Callable[[Backoff], None] | None = None,
    ) -> None:
        self.settings = settings
        self.seconds = seconds
        self.monotonic = monotonic
        self.per_domain_connections = per_domain_connections
        self.on_backoff = on_backoff
        self._throttles: dict[tuple[str, str], Throttle] = {}
        self._room: dict[str, asyncio.Event] = {}
        self._groups: dict[str, Group] = {}
        #: Messages begun today per (day, group, source) under warm-up, and what is not
        #: yet stored (``take_counts``).
        self._sent: dict[tuple[date, str, str], int] = {}
        self._unsaved: dict[tuple[date, str, str], int] = {}

    # -- pools -----------------------------------------------------------------------------

    def pool_for(
        self, *, campaign: str | None, user: str, sender: str, sources: Sequence[str]
    ) -> tuple[str, list[str]]:
        """The pool name and its usable source addresses (of ``sources``, the configured
        ones of the right family) for a message."""
        s = self.settings
        named: set[str] = set()
        for pool in s.pools:
            named.update(pool.ips)
            if pool.claims(campaign=campaign, user=user, sender=sender):
                return pool.name, [ip for ip in sources
                                   if ip in pool.ips and ip not in s.exclude_ips]  # fmt: skip
        rest = [ip for ip in sources if ip not in named] or list(sources)
        return "", [ip for ip in rest if ip not in s.exclude_ips]

    # -- warm-up ---------------------------------------------------------------------------

    def today(self) -> date:
        return datetime.fromtimestamp(self.seconds(), UTC).date()

    def warmup_cap(self, group: Group, source: str | None) -> int | None:
        """Messages ``group`` may get from ``source`` today under warm-up (None: no cap)."""
        start = self.settings.warmup_start.get(source or "")
        if start is None:
            return None
        day = (self.today() - start).days
        if day < 0:
            return 0  # not in service yet
        schedule = self.settings.warmup_groups.get(group.key, self.settings.warmup_schedule)
        return schedule[day] if day < len(schedule) else None

    def seed_counts(self, rows: Iterable[tuple[date, str, str, int]]) -> None:
        """Counts stored by an earlier run (a restart keeps the day's warm-up tally)."""
        for day, group, source, sent in rows:
            key = (day, group, source)
            self._sent[key] = max(self._sent.get(key, 0), sent)

    def take_counts(self) -> dict[tuple[date, str, str], int]:
        """Increments since the last call, to store (``shaping_repo.add_warmup_counts``)."""
        out, self._unsaved = self._unsaved, {}
        return out

    def give_back_counts(self, counts: Mapping[tuple[date, str, str], int]) -> None:
        """Counts that could not be stored: kept for the next try."""
        for key, n in counts.items():
            self._unsaved[key] = self._unsaved.get(key, 0) + n

    def _count(self, group: Group, source: str | None) -> None:
        if self.settings.warmup_start.get(source or "") is None:
            return
        key = (self.today(), group.key, source or "")
        self._sent[key] = self._sent.get(key, 0) + 1
        self._unsaved[key] = self._unsaved.get(key, 0) + 1
        for old in [k for k in self._sent if k[0] < key[0]]:
            del self._sent[old]

    def sent_today(self, group: Group, source: str | None) -> int:
        return self._sent.get((self.today(), group.key, source or ""), 0)

    def _warm(self, group: Group, source: str | None) -> tuple[float, str] | None:
        cap = self.warmup_cap(group, source)
        if cap is None or self.sent_today(group, source) < cap:
            return None
        now = datetime.fromtimestamp(self.seconds(), UTC)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        where = f" from {source}" if source else ""
        return (midnight - now).total_seconds(), f"warm-up cap of {group.key}{where}"

    def group(self, domain: str, mx_hosts: Sequence[str]) -> Group:
        found = self.settings.classify(domain, mx_hosts)
        self._groups[found.key] = found
        return found

    def known(self, key: str) -> Group | None:
        return self._groups.get(key)

    def throttle(self, group: Group, source: str | None) -> Throttle:
        key = (group.key, source or "")
        found = self._throttles.get(key)
        if found is None:
            found = self._throttles[key] = Throttle(group.limits)
        return found

    # -- connections ---------------------------------------------------------------------

    def connection_cap(self, group: Group, source: str | None) -> int | None:
        """Connections the group may have open from ``source`` now (None: no cap)."""
        t = self.throttle(group, source)
        factor = t.factor(self.seconds())
        if self._warm(group, source) is not None:
            return 0
        base = group.limits.max_connections
        if factor >= 1.0:
            return base or None
        if factor <= 0.0:
            return 0
        return max(1, math.floor((base or self.per_domain_connections) * factor))

    def pick_source(self, group: Group, sources: Sequence[str | None]) -> str | bool | None:
        """A source address with room for one more connection of ``group`` (the least
        busy), False when none has room."""
        best: tuple[int, int, str | None] | None = None
        for n, source in enumerate(sources):
            cap = self.connection_cap(group, source)
            t = self.throttle(group, source)
            if cap is not None and t.open >= cap:
                continue
            if best is None or (t.open, n) < best[:2]:
                best = (t.open, n, source)
        return False if best is None else best[2]

    def opened(self, group: Group, source: str | None) -> None:
        self.throttle(group, source).open += 1

    def closed(self, group: Group, source: str | None) -> None:
        t = self.throttle(group, source)
        t.open = max(0, t.open - 1)
        event = self._room.pop(group.key, None)
        if event is not None:
            event.set()

    async def wait_room(self, group: Group, timeout: float) -> bool:
        """Until a connection of ``group`` closes (True) or ``timeout`` passes (False)."""
        event = self._room.setdefault(group.key, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
            return True
        return False

    # -- pace ----------------------------------------------------------------------------

    def reserve(self, group: Group, source: str | None) -> tuple[float, bool]:
        """Seconds until this message may start from ``source``, and whether the turn was
        taken (it is not when it is further off than ``max_wait``: the caller gives the job
        back to the queue for that long)."""
        t = self.throttle(group, source)
        factor = t.factor(self.seconds())
        if factor <= 0.0:
            return max(t.suspended_until - self.seconds(), 0.0), False
        warm = self._warm(group, source)
        if warm is not None:
            return warm[0], False
        limits = group.limits
        now = self.monotonic()
        start = now
        per_minute = limits.messages_per_minute * factor
        per_hour = math.floor(limits.messages_per_hour * factor) if limits.messages_per_hour else 0
        if limits.messages_per_hour:
            per_hour = max(per_hour, 1)
        if per_minute > 0:
            start = max(start, t.next_at)
        if per_hour:
            while t.hour and t.hour[0] <= now - 3600.0:
                t.hour.popleft()
            if len(t.hour) >= per_hour:
                start = max(start, t.hour[len(t.hour) - per_hour] + 3600.0)
        delay = start - now
        if delay > self.settings.max_wait:
            return delay, False
        self._count(group, source)
        if per_minute > 0:
            t.next_at = start + 60.0 / per_minute
        if per_hour:
            t.hour.append(start)
            while len(t.hour) > limits.messages_per_hour:
                t.hour.popleft()
        return delay, True

    def per_connection(self, group: Group, default: int) -> int:
        cap = group.limits.messages_per_connection
        return min(cap, default) if cap else default

    def per_message(self, group: Group, default: int) -> int:
        cap = group.limits.recipients_per_message
        return min(cap, default) if cap else default

    # -- back-off ------------------------------------------------------------------------

    def suspension(self, group: Group, source: str | None) -> tuple[float, str] | None:
        """(seconds left, the cause as ``deliverwatch queue`` shows it) while ``group``
        takes no mail from ``source``: backing off, or its warm-up cap for today reached."""
        t = self._throttles.get((group.key, source or ""))
        if t is not None:
            left = t.suspended_until - self.seconds()
            if left > 0:
                where = f" from {source}" if source else ""
                return left, f"back-off for {group.key}{where}: {t.reason}"
        return self._warm(group, source)

    def observe(self, group: Group, source: str | None, replies: Iterable[Reply]) -> bool:
        """Back off when a reply asks the sender to slow down (module docstring); True when
        it did."""
        for reply in replies:
            if reply.code is None or 200 <= reply.code < 300 or _GREYLIST.search(reply.text):
                continue
            why = classify_reply(reply.code, reply.text, remote_mta=reply.mx or "",
                                 command=reply.command)  # fmt: skip
            if why.reason in BACKOFF_REASONS:
                self.back_off(group, source, str(reply))
                return True
        return False

    def back_off(self, group: Group, source: str | None, reply: str) -> Backoff:
        s = self.settings
        t = self.throttle(group, source)
        now = self.seconds()
        floor = max(s.min_factor, t.factor(now) / 2.0) if now >= t.suspended_until else t.floor
        t.floor = min(floor, 1.0)
        t.suspended_until = now + s.backoff_seconds
        t.ramp_until = t.suspended_until + s.ramp_seconds
        t.reason = reply[:300]
        episode = Backoff(group.key, source or "", now, t.suspended_until, t.ramp_until,
                          t.floor, t.reason)  # fmt: skip
        log.warning(
            "backing off %s from %s for %.0f s, then ramping from %.0f%% over %.0f s: %s",
            group.key, source or "the default address", s.backoff_seconds, 100 * t.floor,
            s.ramp_seconds, t.reason,
        )  # fmt: skip
        if self.on_backoff is not None:
            self.on_backoff(episode)
        return episode

    def waiting(self, text: str, after: float) -> Reply:
        """A verdict that sends a job back to the queue for ``after`` seconds."""
        return Reply.waiting(text, after=after)
