"""Turn the pre-grouped rows of a ``ReportInput`` into the figures of a ``DailyReport``.

The only module that imports pandas (STYLE.md 1). The database has already done the heavy
grouping (one row per day x provider x kind, never one per event), so the frames here hold at
most tens of thousands of rows; pandas pivots them into per-scope counts and rates.

Counting rules, stated once:

- Only trusted events count (``verified`` and ``local``); ``unverified`` bounces and
  complaints (nothing we sent matches: possibly forged) are shown apart and never feed a rate.
- A bounce is hard when the event says so (``hard`` true); unclassified bounces count as soft
  so the hard-bounce rate is never overstated.
- bounce and hard-bounce rates are over *sent*; complaint and unsubscribe rates over
  *delivered* (the providers' definition: complaints per message that reached a mailbox).
  A zero denominator gives ``None`` ("not available"), never 0 % or 100 %.
- A sender whose mail leaves through their own MTA has a send log but no delivery events.
  Where a row (day x provider, or one domain, IP, campaign) has messages sent and no delivery
  recorded, delivered is *derived*: sent minus bounced (expired messages are bounces with
  reason ``expired``), and ``delivered_derived`` says how much of a figure was derived, so the
  report labels it. A row with delivery events keeps them: the two are never mixed in a row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

import pandas as pd

from reports.dmarc import build_dmarc
from reports.model import (
    CampaignComplaints,
    DailyReport,
    DiagnosticInRow,
    DiagnosticRow,
    Figures,
    ReasonRow,
    RelayBackoffRow,
    RelayTlsRow,
    ReportInput,
    SuppressionGrowth,
    Thresholds,
    TrendPoint,
    Unverified,
)
from reports.providers import load_providers
from reports.sides import reason_side
from reports.status import blocklist_section, check_section, history_section
from reports.tlscompare import compare_tls
from reports.verdicts import build_verdicts

__all__ = ["METRICS", "build_daily", "normalize_diagnostic", "rate", "reason_side"]

#: event kind -> Figures field (bounces are split into hard/soft separately)
_KIND_FIELD = {
    "delivered": "delivered",
    "deferred": "deferred",
    "complained": "complaints",
    "unsubscribed": "unsubscribes",
    "auto-replied": "auto_replies",
    "opened": "opens",
    "clicked": "clicks",
    # opens and clicks by machines (monitor.web.machine), kept out of the people's rates
    "machine-opened": "machine_opens",
    "machine-clicked": "machine_clicks",
}
METRICS = (
    "sent",
    "delivered",
    "deferred",
    "bounced",
    "hard_bounced",
    "soft_bounced",
    "complaints",
    "unsubscribes",
    "auto_replies",
    "opens",
    "clicks",
    "machine_opens",
    "machine_clicks",
    "delivered_derived",
)
UNVERIFIED = "unverified"


def rate(numerator: int, denominator: int) -> float | None:
    """A percentage, or None when the denominator is zero (never a made-up 0 % or 100 %)."""
    if denominator <= 0:
        return None
    return round(100.0 * numerator / denominator, 4)


def _metric(kind: str, hard: bool) -> str | None:
    if kind == "bounced":
        return "hard_bounced" if hard else "soft_bounced"
    return _KIND_FIELD.get(kind)


def _event_frame(rows: Iterable[tuple[object, ...]], keys: Sequence[str]) -> pd.DataFrame:
    """Rows ``(*keys, kind, hard, trust, n)`` -> trusted rows with a ``metric`` column."""
    cols = [*keys, "kind", "hard", "trust", "n"]
    df = pd.DataFrame(list(rows), columns=cols)
    if df.empty:
        return pd.DataFrame(columns=[*keys, "metric", "n"])
    df = df[df["trust"] != UNVERIFIED].copy()
    df["metric"] = [_metric(k, bool(h)) for k, h in zip(df["kind"], df["hard"], strict=True)]
    return df.dropna(subset=["metric"])[[*keys, "metric", "n"]]


def _pivot(events: pd.DataFrame, sent: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """One row per key with every metric column (zeros where nothing happened)."""
    key_list = list(keys)
    table = events.pivot_table(
        index=key_list, columns="metric", values="n", aggfunc="sum", fill_value=0
    )
    if not sent.empty:
        sent_sum = sent.groupby(key_list)["n"].sum().rename("sent")
        table = table.join(sent_sum, how="outer")
    table = table.reindex(columns=[m for m in METRICS if m != "bounced"]).fillna(0)
    table = table.astype("int64")
    table["bounced"] = table["hard_bounced"] + table["soft_bounced"]
    no_delivery = (table["delivered"] == 0) & (table["sent"] > 0)
    derived = (table["sent"] - table["bounced"]).clip(lower=0).where(no_delivery, 0)
    table["delivered_derived"] = derived.astype("int64")
    table["delivered"] = table["delivered"] + table["delivered_derived"]
    return table


def _figures(values: Mapping[Any, Any], key: str = "", label: str = "") -> Figures:
    c = {m: int(values.get(m, 0)) for m in METRICS}
    return Figures(
        key=key,
        label=label or key,
        **c,
        delivered_basis=_basis(c["delivered"], c["delivered_derived"]),
        bounce_rate=rate(c["bounced"], c["sent"]),
        hard_bounce_rate=rate(c["hard_bounced"], c["sent"]),
        complaint_rate=rate(c["complaints"], c["delivered"]),
        unsubscribe_rate=rate(c["unsubscribes"], c["delivered"]),
        open_rate=rate(c["opens"], c["delivered"]) if c["opens"] else None,
        click_rate=rate(c["clicks"], c["delivered"]) if c["clicks"] else None,
    )


def _basis(delivered: int, derived: int) -> str:
    if not delivered:
        return "none"
    if not derived:
        return "events"
    return "derived" if derived == delivered else "mixed"


def _rows_to_figures(table: pd.DataFrame, labels: dict[str, str] | None = None) -> list[Figures]:
    out = []
    for key, row in table.iterrows():
        name = str(key)
        out.append(_figures(row.to_dict(), name, (labels or {}).get(name, name)))
    return out


def _dimension(inp: ReportInput, dim: str) -> list[Figures]:
    """Figures per domain, IP or campaign of the day (every one; ``_top_figures`` picks)."""
    events = _event_frame(
        ((v, k, h, t, n) for d, v, k, h, t, n in inp.day_events if d == dim), ["value"]
    )
    sent = pd.DataFrame([(v, n) for d, v, n in inp.day_sent if d == dim], columns=["value", "n"])
    events["value"] = events["value"].fillna("(none)")
    sent["value"] = sent["value"].fillna("(none)")
    return _rows_to_figures(_pivot(events, sent, ["value"]))


def _top_figures(rows: list[Figures], n: int) -> list[Figures]:
    """The n biggest by sent, then by recorded activity (deliveries, bounces, complaints...)."""

    def activity(f: Figures) -> int:
        return f.delivered + f.deferred + f.bounced + f.complaints + f.unsubscribes + f.auto_replies

    return sorted(rows, key=lambda f: (-f.sent, -activity(f)))[:n]


def _trend(inp: ReportInput, groups: Sequence[str]) -> tuple[pd.DataFrame, list[TrendPoint]]:
    events = _event_frame(inp.event_trend, ["day", "group"])
    sent = pd.DataFrame(inp.sent_trend, columns=["day", "group", "n"])
    table = _pivot(events, sent, ["day", "group"])
    full = pd.MultiIndex.from_product([list(inp.days), list(groups)], names=["day", "group"])
    table = table.reindex(full, fill_value=0)
    points = []
    for idx, row in table.iterrows():
        day, group = cast(tuple[str, str], idx)
        points.append(
            TrendPoint(
                day=str(day),
                group=str(group),
                sent=int(row["sent"]),
                delivered=int(row["delivered"]),
                bounced=int(row["bounced"]),
                complaints=int(row["complaints"]),
                bounce_rate=rate(int(row["bounced"]), int(row["sent"])),
                complaint_rate=rate(int(row["complaints"]), int(row["delivered"])),
            )
        )
    return table, points


def _reasons(inp: ReportInput) -> list[ReasonRow]:
    df = pd.DataFrame(inp.reasons, columns=["reason", "hard", "trust", "n"])
    df = df[df["trust"] != UNVERIFIED]
    if df.empty:
        return []
    df["reason"] = df["reason"].fillna("undefined")
    df["hard_n"] = df["n"].where(df["hard"].astype(bool), 0)
    agg = df.groupby("reason")[["n", "hard_n"]].sum().sort_values("n", ascending=False)
    return [
        ReasonRow(
            reason=str(r),
            side=reason_side(str(r)),
            hard=int(row["hard_n"]),
            soft=int(row["n"] - row["hard_n"]),
            total=int(row["n"]),
        )
        for r, row in agg.iterrows()
    ]


_ADDRESS = re.compile(r"<?[^\s<>@\"']+@[^\s<>@\"']+>?")
_NUMBERS = re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{6,}\b|\b\d{4,}\b", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_MAX_DIAGNOSTIC = 300


def normalize_diagnostic(text: str | None) -> str:
    """One line per kind of refusal: addresses and ids (queue ids, hashes, long numbers) are
    masked so ``550 5.1.1 <bob@x>: unknown`` and ``550 5.1.1 <ann@x>: unknown`` count together.
    """
    if not text or not text.strip():
        return "(no diagnostic text)"
    t = _ADDRESS.sub("<address>", text)
    t = _NUMBERS.sub("#", t)
    t = _SPACE.sub(" ", t).strip()
    return t if len(t) <= _MAX_DIAGNOSTIC else t[: _MAX_DIAGNOSTIC - 1] + "\u2026"


def _diagnostics(rows: Iterable[DiagnosticInRow], n: int, *, trusted: bool) -> list[DiagnosticRow]:
    counts: dict[tuple[str, str, str, bool], int] = {}
    for diag, reason, status, hard, trust, c in rows:
        if (trust != UNVERIFIED) != trusted:
            continue
        key = (normalize_diagnostic(diag), reason or "undefined", status or "", bool(hard))
        counts[key] = counts.get(key, 0) + int(c)
    out = [
        DiagnosticRow(diagnostic=d, reason=r, status=s, hard=h, count=c)
        for (d, r, s, h), c in counts.items()
    ]
    return sorted(out, key=lambda x: (-x.count, x.diagnostic))[:n]


def _campaigns(inp: ReportInput, by_campaign: list[Figures]) -> list[CampaignComplaints]:
    window = {c or "(none)": n for c, n in inp.campaign_complaints_window}
    rows = [
        CampaignComplaints(
            campaign=f.key,
            complaints=f.complaints,
            delivered=f.delivered,
            complaint_rate=f.complaint_rate,
            complaints_window=window.get(f.key, f.complaints),
        )
        for f in by_campaign
        if f.complaints or window.get(f.key)
    ]
    seen = {r.campaign for r in rows}
    rows += [
        CampaignComplaints(
            campaign=c, complaints=0, delivered=0, complaint_rate=None, complaints_window=n
        )
        for c, n in window.items()
        if c not in seen and n
    ]
    rows.sort(key=lambda r: (-r.complaints, -r.complaints_window, r.campaign))
    return rows[: inp.top_n]


def _unverified(inp: ReportInput) -> Unverified:
    df = pd.DataFrame(inp.event_trend, columns=["day", "group", "kind", "hard", "trust", "n"])
    df = df[df["trust"] == UNVERIFIED]
    on_day = df[df["day"] == inp.days[-1]]

    def count(frame: pd.DataFrame, kind: str) -> int:
        return int(frame.loc[frame["kind"] == kind, "n"].sum())

    return Unverified(
        bounces_day=count(on_day, "bounced"),
        complaints_day=count(on_day, "complained"),
        bounces_window=count(df, "bounced"),
        complaints_window=count(df, "complained"),
        diagnostics=_diagnostics(inp.diagnostics, inp.top_n, trusted=False),
    )


def _suppressions(inp: ReportInput) -> SuppressionGrowth:
    df = pd.DataFrame(inp.suppression_growth, columns=["day", "reason", "n"])
    totals = {str(r): int(n) for r, n in inp.suppression_totals}
    reasons = sorted(set(df["reason"].astype(str)) | set(totals))
    table = df.pivot_table(index="day", columns="reason", values="n", aggfunc="sum", fill_value=0)
    table = table.reindex(index=list(inp.days), columns=reasons, fill_value=0).fillna(0)
    counts = {r: [int(v) for v in table[r].tolist()] for r in reasons}
    return SuppressionGrowth(
        reasons=reasons,
        days=list(inp.days),
        counts=counts,
        added_day={r: counts[r][-1] if counts[r] else 0 for r in reasons},
        totals={r: totals.get(r, 0) for r in reasons},
    )


def build_daily(inp: ReportInput, thresholds: Thresholds) -> DailyReport:
    """Every figure, table and verdict of the daily report for ``inp.day``."""
    providers = load_providers()
    labels = providers.labels
    day = inp.days[-1]
    trend_table, points = _trend(inp, providers.ids)
    on_day = cast(pd.DataFrame, trend_table.xs(day, level="day"))
    before = trend_table.drop(index=day, level="day")
    totals = _figures(on_day.sum().to_dict(), day, "All providers")
    previous = _figures(before.sum().to_dict(), "previous", f"{len(inp.days) - 1} days before")
    by_provider = _rows_to_figures(on_day, labels)
    # every campaign is a candidate for "top complaining", not only the biggest by volume
    by_campaign_all = _dimension(inp, "campaign")
    report = DailyReport(
        day=day,
        timezone=inp.timezone,
        generated_at=inp.generated_at.isoformat(timespec="seconds"),
        days=list(inp.days),
        groups=labels,
        totals=totals,
        previous=previous,
        by_provider=by_provider,
        by_domain=_top_figures(_dimension(inp, "domain"), inp.top_n),
        by_ip=_top_figures(_dimension(inp, "ip"), inp.top_n),
        by_campaign=_top_figures(by_campaign_all, inp.top_n),
        reasons=_reasons(inp),
        diagnostics=_diagnostics(inp.diagnostics, inp.top_n, trusted=True),
        complaining_campaigns=_campaigns(inp, by_campaign_all),
        unverified=_unverified(inp),
        suppressions=_suppressions(inp),
        trend=points,
        blocklists=blocklist_section(inp.blocklist_states, inp.delist_urls),
        blocklist_history=history_section(inp.blocklist_history, inp.blocklist_states),
        auth=check_section(inp.auth_states),
        auth_history=history_section(inp.auth_history, inp.auth_states),
        dmarc=build_dmarc(inp),
        verdicts=[],
        thresholds=thresholds,
        volume_known=totals.sent > 0,
        compliance=inp.compliance,
        content=inp.content,
        relay_backoffs=[
            RelayBackoffRow(
                group=g,
                source_ip=ip,
                started_at=a.isoformat(timespec="seconds"),
                suspended_until=b.isoformat(timespec="seconds"),
                ramp_until=c.isoformat(timespec="seconds"),
                factor=f,
                reply=why,
            )
            for g, ip, a, b, c, f, why in inp.relay_backoffs
        ],
        relay_tls=[
            RelayTlsRow(domain=d, policy=p, outcome=o, connections=n)
            for d, p, o, n in inp.relay_tls
        ],
        tls_comparison=compare_tls(inp.relay_tls, inp.tlsrpt, inp.own_ips),
    )
    return replace(report, verdicts=build_verdicts(report, inp))
