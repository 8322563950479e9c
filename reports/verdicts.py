"""Health verdicts: each figure held against a published limit, with one line on what to do.

Limits come from the providers' bulk-sender rules (Gmail and Yahoo, 2024: spam complaints
under 0.1 %, never 0.3 %; SPF, DKIM and DMARC with alignment; RFC 8058 one-click unsubscribe;
forward-confirmed PTR) and common practice (hard bounces under 2 %). All are configurable
(``[report.thresholds]``). A verdict that cannot be decided says ``unknown`` and how to get
the data, never ``ok``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from reports.fmt import num, pct
from reports.model import DailyReport, Figures, ReportInput, StateRow, Verdict

__all__ = ["LEVELS", "ONE_CLICK_KEY", "build_verdicts", "worst_level"]

LEVELS = ("ok", "unknown", "warning", "critical")  # in rising order of concern
#: CheckState key under which a check of RFC 8058 headers is recorded (category ``auth``).
ONE_CLICK_KEY = "one-click"
_GOOD = {"ok", "pass"}
_DERIVED = " (delivered derived from the send log: sent minus bounced)"
_NO_VOLUME = "Record deliveries (send through the relay or import the send log) to get a rate."


def worst_level(levels: Sequence[str]) -> str:
    return max(levels, key=LEVELS.index, default="ok")


def _level(value: float, warn: float, critical: float | None) -> str:
    if critical is not None and value >= critical:
        return "critical"
    return "warning" if value >= warn else "ok"


def _rate_verdict(
    key: str,
    title: str,
    scopes: Sequence[Figures],
    get: Callable[[Figures], tuple[float | None, int]],
    limits: tuple[float, float | None, int],
    actions: dict[str, str],
) -> Verdict:
    """Judge the overall figure and each provider group with enough volume; the worst wins."""
    warn, critical, min_volume = limits
    overall = scopes[0]
    value, volume = get(overall)
    threshold = f"warning at {pct(warn)}" + (f", critical at {pct(critical)}" if critical else "")
    if value is None:
        return Verdict(
            key=key,
            title=title,
            level="unknown",
            value="not available (no volume recorded)",
            threshold=threshold,
            action=_NO_VOLUME,
        )
    judged = [s for s in scopes if (get(s)[0] is not None and get(s)[1] >= min_volume)]
    if not judged:
        return Verdict(
            key=key,
            title=title,
            level="unknown",
            value=f"{pct(value)} on {num(volume)} messages: too little volume to judge "
            f"(needs {num(min_volume)})",
            threshold=threshold,
            action=actions["ok"],
        )
    worst = max(judged, key=lambda s: (get(s)[0] or 0.0, s is overall))
    level = _level(get(worst)[0] or 0.0, warn, critical)
    text = f"{pct(value)} overall"
    if worst is not overall:
        text += f"; {worst.label} {pct(get(worst)[0])}"
    return Verdict(
        key=key, title=title, level=level, value=text, threshold=threshold, action=actions[level]
    )


def _states(inp: ReportInput, keys: set[str]) -> list[StateRow]:
    return [s for s in inp.auth_states if s[1] in keys]


def _state_verdict(
    key: str, title: str, rows: Sequence[StateRow], actions: dict[str, str]
) -> Verdict:
    if not rows:
        return Verdict(
            key=key,
            title=title,
            level="unknown",
            value="not checked yet",
            threshold="must pass",
            action=actions["unknown"],
        )
    bad = [r for r in rows if r[2] not in _GOOD]
    levels = [
        "critical" if r[2] == "fail" else "warning" if r[2] == "warn" else "unknown" for r in bad
    ]
    level = worst_level(levels) if bad else "ok"
    if bad:
        value = "; ".join(f"{r[1].upper()} {r[0]}: {r[2]}" for r in bad[:4])
        value += f" (and {len(bad) - 4} more)" if len(bad) > 4 else ""
    else:
        value = f"{len(rows)} checks pass"
    return Verdict(
        key=key, title=title, level=level, value=value, threshold="must pass", action=actions[level]
    )


def _blocklists(report: DailyReport) -> Verdict:
    listed = [b for b in report.blocklists if b.status == "listed"]
    decided = [b for b in report.blocklists if b.status in ("listed", "ok")]
    title, threshold = "Blocklists", "any listing is critical"
    if listed:
        names = ", ".join(f"{b.subject} on {b.zone} since {b.since}" for b in listed[:3])
        more = f" (and {len(listed) - 3} more)" if len(listed) > 3 else ""
        return Verdict(
            key="blocklists",
            title=title,
            level="critical",
            value=f"{len(listed)} listing{'s' if len(listed) > 1 else ''}: {names}{more}",
            threshold=threshold,
            action="Find and stop the cause (bad list source, compromised account), "
            "then ask each list to delist: its removal page is linked in the Blocklists "
            "table below.",
        )
    if not decided:
        return Verdict(
            key="blocklists",
            title=title,
            level="unknown",
            value="no blocklist check recorded",
            threshold=threshold,
            action="Run `deliverwatch check blocklists` (the daemon checks hourly).",
        )
    return Verdict(
        key="blocklists",
        title=title,
        level="ok",
        value=f"not listed ({len(decided)} answers)",
        threshold=threshold,
        action="Nothing to do.",
    )


def _dmarc(report: DailyReport, t_warn: float, t_crit: float) -> Verdict:
    title, threshold = (
        "DMARC alignment",
        f"warning under {pct(t_warn)}, critical under {pct(t_crit)}",
    )
    d = report.dmarc
    if d is None or d.pass_rate is None:
        return Verdict(
            key="dmarc-alignment",
            title=title,
            level="unknown",
            value="no aggregate reports",
            threshold=threshold,
            action="Publish rua=mailto:... in your DMARC record and poll that mailbox.",
        )
    own = d.own_pass_rate is not None
    rate_ = d.own_pass_rate if own and d.own_pass_rate is not None else d.pass_rate
    scope = "of mail from our sending IPs" if own else "of all reported mail"
    level = "critical" if rate_ < t_crit else "warning" if rate_ < t_warn else "ok"
    actions = {
        "ok": "Nothing to do; move the DMARC policy towards p=reject when it is not there yet.",
        "warning": "Sign every stream with a DKIM key of the From domain and use an aligned "
        "return path; the failing sources table names the sources.",
        "critical": "Our own mail fails DMARC: fix DKIM signing / SPF for the sources marked "
        "ours below before providers start rejecting it.",
    }
    return Verdict(
        key="dmarc-alignment",
        title=title,
        level=level,
        value=f"{pct(rate_)} {scope} pass ({num(d.messages)} messages reported)",
        threshold=threshold,
        action=actions[level],
    )


def _one_click(inp: ReportInput) -> Verdict:
    """From the RFC 8058 check the monitor runs on our mail enclosed in verified bounces and
    complaints (one state per From domain), else from one-click unsubscribes received."""
    title, threshold = "One-click unsubscribe (RFC 8058)", "required for bulk mail"
    rows = _states(inp, {ONE_CLICK_KEY})
    action = (
        "Send every bulk message with List-Unsubscribe (https URL) and "
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click, DKIM-signed."
    )
    if rows:
        bad = [r for r in rows if r[2] not in _GOOD]
        if not bad:
            domains = ", ".join(r[0] for r in rows[:4]) + (" ..." if len(rows) > 4 else "")
            return Verdict(
                key="one-click",
                title=title,
                level="ok",
                value=f"present in our returned mail ({domains})",
                threshold=threshold,
                action="Nothing to do.",
            )
        levels = [
            "critical" if r[2] == "fail" else "warning" if r[2] == "warn" else "unknown"
            for r in bad
        ]
        value = "; ".join(f"{r[0]}: {(r[5] or r[2]).replace('_', ' ')}" for r in bad[:4])
        value += f" (and {len(bad) - 4} more)" if len(bad) > 4 else ""
        return Verdict(
            key="one-click",
            title=title,
            level=worst_level(levels),
            value=value,
            threshold=threshold,
            action=action,
        )
    if inp.one_click_unsubscribes > 0:
        return Verdict(
            key="one-click",
            title=title,
            level="ok",
            value=f"{num(inp.one_click_unsubscribes)} one-click unsubscribes received",
            threshold=threshold,
            action="Nothing to do: honour them within two days.",
        )
    return Verdict(
        key="one-click",
        title=title,
        level="unknown",
        value="no one-click unsubscribe received in the window",
        threshold=threshold,
        action=action,
    )


def build_verdicts(report: DailyReport, inp: ReportInput) -> list[Verdict]:
    """Every verdict for the day, most serious first (stable within a level)."""
    t = report.thresholds
    scopes = [report.totals, *report.by_provider]
    sender_side = sum(r.total for r in report.reasons if r.side == "sender")
    blocks = Figures(
        key="all",
        label="All providers",
        sent=report.totals.sent,
        bounced=sender_side,
        bounce_rate=report.totals.bounce_rate and (100.0 * sender_side / report.totals.sent),
    )
    complaint = _rate_verdict(
        "complaint-rate",
        "Complaint rate",
        scopes,
        lambda f: (f.complaint_rate, f.delivered),
        (t.complaint_warn, t.complaint_critical, t.min_volume),
        {
            "ok": "Nothing to do: keep mailing only people who asked for it.",
            "warning": "Find the campaign behind the complaints (table below) and stop "
            "mailing recipients who have not opened or clicked for months.",
            "critical": "Pause the complaining campaigns now: past 0.3 % Gmail and Yahoo "
            "reject bulk mail; resume with recently engaged recipients only.",
        },
    )
    if report.totals.delivered_derived and report.totals.complaint_rate is not None:
        complaint = replace(complaint, value=complaint.value + _DERIVED)
    verdicts = [
        complaint,
        _rate_verdict(
            "hard-bounce-rate",
            "Hard-bounce rate",
            scopes,
            lambda f: (f.hard_bounce_rate, f.sent),
            (t.hard_bounce_warn, t.hard_bounce_critical, t.min_volume),
            {
                "ok": "Nothing to do: hard bounces are suppressed automatically.",
                "warning": "Clean the list: confirm addresses at sign-up (double opt-in) and "
                "drop old segments that never engaged.",
                "critical": "Stop the campaign with the most hard bounces; a bought or stale "
                "list is the usual cause.",
            },
        ),
        _rate_verdict(
            "sender-blocks",
            "Rejections of our mail (blocks, reputation, auth)",
            [blocks],
            lambda f: (f.bounce_rate, f.sent),
            (t.sender_block_warn, None, t.min_volume),
            {
                "ok": "Nothing to do.",
                "warning": "Read the top diagnostics: the provider says why (reputation, "
                "authentication, PTR); fix that and slow down to that provider.",
            },
        ),
        _blocklists(report),
        _state_verdict(
            "authentication",
            "SPF, DKIM and DMARC records",
            _states(inp, {"spf", "dkim", "dmarc"}),
            {
                "ok": "Nothing to do.",
                "warning": "Strengthen the weak records named in the DNS table below.",
                "critical": "Publish or fix the failing records named in the DNS table below; "
                "Gmail and Yahoo reject unauthenticated bulk mail.",
                "unknown": "Run `deliverwatch check auth` (the daemon checks daily).",
            },
        ),
        _dmarc(report, t.dmarc_pass_warn, t.dmarc_pass_critical),
        _one_click(inp),
        _state_verdict(
            "ptr",
            "PTR (reverse DNS) of sending IPs",
            _states(inp, {"ptr"}),
            {
                "ok": "Nothing to do.",
                "warning": "Make the PTR name match the HELO name of that IP.",
                "critical": "Ask the IP's owner to set a PTR whose name resolves back to the "
                "IP (FCrDNS) and matches the HELO name.",
                "unknown": "Configure the sending IPs and run `deliverwatch check auth`.",
            },
        ),
    ]
    if report.content is not None:
        verdicts.append(_content(report))
    return sorted(verdicts, key=lambda v: -LEVELS.index(v.level))


def _content(report: DailyReport) -> Verdict:
    """The relay's content check: a held campaign is mail that is not going out."""
    c = report.content
    assert c is not None
    unscanned = c.scans.get("pass-unscanned", 0)
    held = sum(h.held_recipients for h in c.holds)
    if c.holds:
        names = ", ".join(h.campaign for h in c.holds[:3])
        level = "critical"
        value = f"{len(c.holds)} campaign(s) held ({names}): {num(held)} recipient(s) waiting"
        action = ("Read the findings below, fix the message, then `deliverwatch queue release "
                  "--campaign NAME` (or `deliverwatch queue delete --campaign NAME`).")  # fmt: skip
    elif unscanned:
        level = "warning"
        value = f"{num(unscanned)} sampled message(s) passed unscanned (a scanner was down)"
        action = "Check that spamd and clamd are running ([relay.content])."
    else:
        level = "ok"
        value = f"{num(c.scans.get('pass', 0))} sampled message(s) scanned clean"
        action = "Nothing to do."
    return Verdict(key="content-check", title="Content check (spam and virus scans)",
                   level=level, value=value, threshold="any virus, or spam above the score "
                   "limit, holds the campaign", action=action)  # fmt: skip
