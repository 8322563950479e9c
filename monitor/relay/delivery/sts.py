"""MTA-STS for outbound delivery (RFC 8461): fetch, cache and apply a destination's policy.

``policy(domain)`` looks up ``_mta-sts.<domain>`` TXT; when it names a policy (``v=STSv1``)
the policy is fetched over HTTPS from ``mta-sts.<domain>`` through our own resolver
(``monitor.checks.mtasts.fetch_policy``: certificate verified, no redirects) and cached for
its ``max_age`` (RFC 8461 5: at most a day here, so a changed policy is seen) keyed by the
record's ``id``: a new id fetches again. A fetch that fails keeps using a cached policy (RFC
8461 5.1: an attacker who blocks the fetch must not downgrade us); with none cached the
destination is delivered as without MTA-STS.

In ``enforce`` mode the courier only uses MX hosts the policy lists and only over TLS with a
certificate valid for the MX host name (RFC 8461 4.2), never falling back to plain text; a
destination with no such MX is deferred with the reason. ``testing`` and ``none`` change
nothing but are remembered (the TLS outcome per destination says which policy applied).

DANE (RFC 7672, ``monitor.relay.delivery.dane``) is looked at first and, where it applies,
MTA-STS is not (RFC 8461 2). Destinations with neither get opportunistic TLS (RFC 7435).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from monitor.checks.mtasts import PolicyFetchError, fetch_policy
from monitor.checks.resolver import Lookup
from parsers.dnsrec.sts import StsPolicy, parse_sts_policy, parse_sts_record

__all__ = ["StsCache", "StsResult"]

log = logging.getLogger(__name__)

#: Longest a policy is trusted without looking at its TXT record again.
MAX_CACHE_SECONDS = 86_400.0
#: How long "this domain has no MTA-STS" is believed.
NEGATIVE_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class StsResult:
    """The policy in force for a destination (None: no MTA-STS)."""

    policy: StsPolicy | None
    policy_id: str = ""

    @property
    def enforce(self) -> bool:
        return self.policy is not None and self.policy.mode == "enforce"


class StsCache:
    """Policies by domain, fetched on first use (module docstring)."""

    def __init__(
        self,
        lookup: Lookup,
        *,
        context: ssl.SSLContext,
        port: int = 443,
        timeout: float = 10.0,
        clock: Callable[[], float],
    ) -> None:
        self.lookup = lookup
        self.context = context
        self.port = port
        self.timeout = timeout
        self.clock = clock
        self._cache: dict[str, tuple[float, StsResult]] = {}

    async def policy(self, domain: str) -> StsResult:
        domain = domain.lower().rstrip(".")
        now = self.clock()
        cached = self._cache.get(domain)
        if cached is not None and cached[0] > now:
            return cached[1]
        answer = await self.lookup.query(f"_mta-sts.{domain}", "TXT")
        records = [t for t in answer.records if t.startswith("v=STSv1")]
        if answer.failed or len(records) != 1:
            # a lookup that failed keeps a cached policy in force (RFC 8461 5.1); no record
            # (or several) means no MTA-STS, remembered a while: one TXT query per domain
            # and NEGATIVE_SECONDS, not per message
            if cached is not None and answer.failed:
                return cached[1]
            none = StsResult(None)
            self._cache[domain] = (now + NEGATIVE_SECONDS, none)
            return none
        record = parse_sts_record(records[0])
        if cached is not None and cached[1].policy_id == (record.id or ""):
            self._remember(domain, cached[1], now)
            return cached[1]
        try:
            text = await fetch_policy(self.lookup, domain, context=self.context,
                                      port=self.port, timeout=self.timeout)  # fmt: skip
        except PolicyFetchError as exc:
            log.warning("MTA-STS policy of %s could not be fetched (%s)", domain, exc)
            return self._fallback(domain, cached, now)
        policy = parse_sts_policy(text)
        if not policy.valid:
            log.warning("MTA-STS policy of %s is invalid: %s", domain, ", ".join(policy.errors))
            return self._fallback(domain, cached, now)
        result = StsResult(policy, record.id or "")
        self._remember(domain, result, now)
        return result

    def _fallback(
        self, domain: str, cached: tuple[float, StsResult] | None, now: float
    ) -> StsResult:
        """A cached policy stays in force; without one, none for a minute (then fetch again)."""
        if cached is not None and cached[1].policy is not None:
            return cached[1]
        none = StsResult(None)
        self._cache[domain] = (now + 60.0, none)
        return none

    def _remember(self, domain: str, result: StsResult, now: float) -> None:
        age = float(result.policy.max_age or 0) if result.policy is not None else 0.0
        self._cache[domain] = (now + min(max(age, 60.0), MAX_CACHE_SECONDS), result)
