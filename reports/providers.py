"""Mailbox provider groups (Gmail, Microsoft, Yahoo/AOL, Apple, other) by domain and MX.

Providers publish their rules per platform, not per domain: a company on Google Workspace is
filtered by Gmail's machinery although its domain is its own. So a recipient domain is matched
first against the consumer domains each provider owns and then, for everything else, against
the MX host its mail was handed to (the remote MTA of our deliveries, deferrals and bounces).
The mapping is data (``reports/data/providers.json``) so it can be kept up to date without a
code change. The relay's traffic shaping paces mail by the same platforms (a provider throttles
per platform too), so the file also carries groups the report does not show (``"report":
false``) and each group's shipped sending limits (``shaping``): ``load_destination_groups``
gives every group, ``load_providers`` the report's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["OTHER", "ProviderGroup", "ProviderMap", "load_destination_groups", "load_providers"]

OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderGroup:
    id: str
    label: str
    domains: frozenset[str]
    mx_suffixes: tuple[str, ...]
    #: Shown as a column of the report (False: a destination group of the relay only).
    report: bool = True
    #: Shipped per-source-IP sending limits (name -> number; 0: no cap).
    shaping: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderMap:
    """The groups in report order; ``other`` is implicit and always last."""

    groups: tuple[ProviderGroup, ...]
    other_label: str = "Other"

    @property
    def ids(self) -> tuple[str, ...]:
        return (*(g.id for g in self.groups), OTHER)

    @property
    def labels(self) -> dict[str, str]:
        return {**{g.id: g.label for g in self.groups}, OTHER: self.other_label}

    def by_domain(self, domain: str | None) -> str | None:
        """The group owning ``domain`` (consumer mailbox domains), else None."""
        if not domain:
            return None
        d = domain.strip().lower().rstrip(".")
        for g in self.groups:
            if d in g.domains:
                return g.id
        return None

    def by_mx(self, host: str | None) -> str | None:
        """The group whose MX hosts include ``host`` (``aspmx.l.google.com`` -> gmail)."""
        if not host:
            return None
        h = host.strip().lower().rstrip(".").strip("[]")
        for g in self.groups:
            for suffix in g.mx_suffixes:
                if h == suffix or h.endswith("." + suffix):
                    return g.id
        return None

    def classify(self, domains_mx: Iterable[tuple[str, str | None, int]]) -> dict[str, str]:
        """Map each domain to a group from ``(domain, mx_host, count)`` observations.

        Only domains that are not consumer domains need observations; the MX seen most
        often for a domain decides (a domain moving between hosts is rare and the majority
        is where its mail went). Domains with no matching MX are left out (they are other).
        """
        votes: dict[str, dict[str, int]] = {}
        for domain, host, n in domains_mx:
            if self.by_domain(domain) is not None:
                continue
            group = self.by_mx(host) or OTHER
            per = votes.setdefault(domain, {})
            per[group] = per.get(group, 0) + n
        out: dict[str, str] = {}
        for domain, per in votes.items():
            best = max(sorted(per), key=lambda g: per[g])
            if best != OTHER:
                out[domain] = best
        return out

    def domain_table(self, extra: Mapping[str, str] | None = None) -> dict[str, list[str]]:
        """group id -> every domain known to be in it (static consumer domains plus ``extra``)."""
        table: dict[str, list[str]] = {g.id: sorted(g.domains) for g in self.groups}
        for domain, gid in sorted((extra or {}).items()):
            if gid in table and domain not in table[gid]:
                table[gid].append(domain)
        return table


@cache
def load_destination_groups() -> ProviderMap:
    """Every shipped group, the relay's destination groups included (read once)."""
    raw = json.loads(
        resources.files("reports").joinpath("data/providers.json").read_text(encoding="utf-8")
    )
    groups = tuple(
        ProviderGroup(
            id=str(g["id"]),
            label=str(g["label"]),
            domains=frozenset(str(d).lower() for d in g["domains"]),
            mx_suffixes=tuple(str(s).lower() for s in g["mx_suffixes"]),
            report=bool(g.get("report", True)),
            shaping=tuple((str(k), int(v)) for k, v in dict(g.get("shaping", {})).items()),
        )
        for g in raw["groups"]
    )
    return ProviderMap(groups, str(raw["other"]["label"]))


@cache
def load_providers() -> ProviderMap:
    """The report's groups of the shipped mapping (read once; it is package data)."""
    every = load_destination_groups()
    return ProviderMap(tuple(g for g in every.groups if g.report), every.other_label)
