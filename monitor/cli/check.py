"""``deliverwatch check blocklists|auth``: checks now, as a colour-coded table or JSON.

What is checked comes from the config (``[sending]`` targets, ``[checks]`` resolvers, zones
and keys) unless flags name it: ``--ip``/``--domain`` replace the configured targets,
``--zone``, ``--nameserver``, ``--timeout``, ``--concurrency``, ``--dqs-key``,
``--dmarc-spec`` and ``--ca-file`` override their ``[checks]`` keys.

Results are stored as history and turned into alerts exactly as a daemon run does — the
first listing you see here is not alerted again by the next hourly run — unless
``--no-store`` asks for a look that leaves no trace (and needs no database).

Exit status (issue 6): 1 when a problem was found (a listing, a failing or weak record),
else 2 when some check could not complete (timeout, SERVFAIL, a list's error code, a zone
that failed its probe), else 0. The table says what to do: the delisting URL, or the record
to publish.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor.cli.common import Seconds, loaded_app
from monitor.cli.term import text
from monitor.errors import CheckError

__all__ = ["check_group"]

EXIT_OK, EXIT_PROBLEM, EXIT_INCOMPLETE = 0, 1, 2
T = TypeVar("T")

_STYLE = {
    "listed": "bold red",
    "fail": "bold red",
    "warn": "yellow",
    "error": "magenta",
    "unknown": "magenta",
    "skipped": "dim",
    "unmeasured": "dim",
    "not_listed": "green",
    "pass": "green",
}


def _exit_code(problem: bool, incomplete: bool) -> int:
    return EXIT_PROBLEM if problem else EXIT_INCOMPLETE if incomplete else EXIT_OK


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [_jsonable(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    return obj


def _table(title: str, columns: Sequence[str], rows: list[tuple[str, list[str]]]) -> None:
    from rich.console import Console
    from rich.table import Table

    from monitor.cli.term import cell

    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for status, cells in rows:  # DNS answers (TXT reasons, records) are anyone's text
        table.add_row(*(cell(c) for c in cells), style=_STYLE.get(status, ""))
    # Piped output (files, CI logs) gets a wide table so URLs and records stay whole.
    Console(width=None if sys.stdout.isatty() else 220).print(table)


class _CouldNotCheck(Exception):
    """The resolver answered nothing usable: carries the exit status to return."""

    def __init__(self, code: int) -> None:
        self.code = code


def _run(coro: Coroutine[Any, Any, T], fmt: str = "table") -> T:
    """Run a check; a resolver that fails every question is said once, with no results
    (stdout gets ``{"error": ..., "results": []}`` in JSON), and exits 2."""
    from monitor.checks.probe import ResolverError

    try:
        return asyncio.run(coro)
    except ResolverError as exc:
        click.echo(str(exc), err=True)
        if fmt == "json":
            click.echo(json.dumps({"error": str(exc), "resolver": exc.resolver, "results": []}))
        raise _CouldNotCheck(EXIT_INCOMPLETE) from exc
    except CheckError as exc:
        raise click.ClickException(str(exc)) from exc


common = [
    click.option(
        "--nameserver",
        "nameservers",
        metavar="IP[:PORT]",
        multiple=True,
        help="Ask this resolver (repeatable) instead of [checks] nameservers / the system's.",
    ),
    click.option(
        "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
    ),
    click.option(
        "--timeout",
        type=Seconds(600),
        default=None,
        help="Seconds per DNS lookup, retries included.",
    ),
    click.option(
        "--concurrency",
        type=click.IntRange(1, 10_000),
        default=None,
        help="DNS queries in flight at once.",
    ),
    click.option(
        "--no-store",
        is_flag=True,
        help="Only show: store no history, raise no alerts (no database needed).",
    ),
]


def _with_common(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(common):
        func = option(func)
    return func


def _dns(
    cfg: Any, nameservers: Sequence[str], timeout: float | None, concurrency: int | None
) -> Any:
    """``[checks]`` resolver settings with the flags that were given on top."""
    from monitor.daemon.wiring import dns_settings

    dns = dns_settings(cfg)
    return dataclasses.replace(
        dns,
        nameservers=tuple(nameservers) or dns.nameservers,
        timeout=timeout if timeout is not None else dns.timeout,
        concurrency=concurrency if concurrency is not None else dns.concurrency,
    )


def _store(app: Any, save: Callable[..., list[Any]], found: Any, **extra: Any) -> list[Any]:
    """Store like a daemon run: history, states, alerts (logged, then delivered)."""
    from monitor.alerts import deliver_pending
    from monitor.daemon.wiring import alert_channels

    factory = app.sessions()
    alerts = save(factory, found, now=app.now(), **extra)
    summary = deliver_pending(
        factory,
        alert_channels(app.config),
        now=app.now,
        max_attempts=app.config.alerts.max_attempts,
    )
    click.echo(f"stored; {len(alerts)} new alert(s); {summary}", err=True)
    return alerts


@click.group("check")
def check_group() -> None:
    """Check blocklists and DNS authentication records now."""


def _blocklist_rows(report: Any) -> list[tuple[str, list[str]]]:
    rows = []
    for r in sorted(report.results, key=lambda r: (not r.problem, r.target, r.zone)):
        todo = (
            f"delist: {r.delist_url}"
            if r.problem and r.delist_url
            else f"could not check via resolver {report.resolver}: retry later"
            if r.incomplete
            else ""
        )
        what = ", ".join(r.categories) or r.error or r.reputation or ""
        rows.append(
            (r.status.value, [r.target, r.zone, r.status.value, what, r.reason or "", todo])
        )
    return rows


@check_group.command("blocklists")
@click.option(
    "--ip", "ips", multiple=True, help="IP (IPv4 or IPv6) instead of [sending]; repeatable."
)
@click.option("--domain", "domains", multiple=True, help="Domain for the domain lists; repeatable.")
@click.option(
    "--zone", "zones", multiple=True, help="Catalogue zone instead of [checks] zones; repeatable."
)
@click.option(
    "--dqs-key",
    envvar="DELIVERWATCH_DQS_KEY",
    default=None,
    help="Spamhaus DQS key (or $DELIVERWATCH_DQS_KEY; else [checks] dqs_key); never printed.",
)
@_with_common
@click.pass_context
def blocklists_cmd(
    ctx: click.Context,
    ips: tuple[str, ...],
    domains: tuple[str, ...],
    zones: tuple[str, ...],
    dqs_key: str | None,
    nameservers: tuple[str, ...],
    fmt: str,
    timeout: float | None,
    concurrency: int | None,
    no_store: bool,
) -> int:
    """Is any IP or domain listed? Error codes and timeouts are never read as clean."""
    from monitor.checks import history, watch
    from monitor.daemon import wiring

    app = loaded_app(ctx)
    plan = wiring.blocklist_plan(app.config)
    if ips or domains:
        plan = dataclasses.replace(plan, targets=tuple(dict.fromkeys([*ips, *domains])))
    if zones:
        plan = dataclasses.replace(plan, zones=zones, exclude_zones=())
    if dqs_key:
        plan = dataclasses.replace(plan, keys=dataclasses.replace(plan.keys, spamhaus_dqs=dqs_key))
    if not plan.targets:
        raise click.UsageError("nothing to check: give --ip/--domain, or fill in [sending]")
    if not no_store:
        app.sessions()  # refuse an unmigrated database before spending time on DNS
    try:
        report = _run(
            watch.run_blocklists(_dns(app.config, nameservers, timeout, concurrency), plan), fmt
        )
    except _CouldNotCheck as stop:
        return stop.code
    routes = wiring.webhook_routes(app.config)
    alerts = [] if no_store else _store(app, history.save_blocklists, report, webhooks=routes)
    if fmt == "json":
        out = {"results": _jsonable(report.results), "probes": _jsonable(report.probes)}
        if not no_store:
            out["alerts"] = [a.as_json() for a in alerts]
        click.echo(json.dumps(out, indent=1, default=str))
    else:
        _table(
            "Blocklists",
            ["target", "zone", "status", "meaning", "reason", "what to do"],
            _blocklist_rows(report),
        )
        for probe in report.probes:
            if probe.health.value != "healthy":
                click.echo(
                    f"zone {probe.zone}: {probe.health.value} ({text(probe.detail)})", err=True
                )
    return _exit_code(bool(report.listed), report.incomplete)


@check_group.command("auth")
@click.option(
    "--domain",
    "domains",
    multiple=True,
    help="Sending (From and envelope) domain instead of [sending]; repeatable.",
)
@click.option("--ip", "ips", multiple=True, help="Sending IP for SPF and PTR; repeatable.")
@click.option("--helo", default=None, help="HELO name the IPs announce.")
@click.option("--selector", "selectors", multiple=True, help="DKIM selector; repeatable.")
@click.option("--dmarc-spec", type=click.Choice(["rfc7489", "rfc9989"]), default=None)
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Extra CA bundle for MTA-STS policy fetches.",
)
@_with_common
@click.pass_context
def auth_cmd(
    ctx: click.Context,
    domains: tuple[str, ...],
    ips: tuple[str, ...],
    helo: str | None,
    selectors: tuple[str, ...],
    dmarc_spec: str | None,
    ca_file: Path | None,
    nameservers: tuple[str, ...],
    fmt: str,
    timeout: float | None,
    concurrency: int | None,
    no_store: bool,
) -> int:
    """SPF, DKIM, DMARC, PTR/FCrDNS, MX, MTA-STS and TLS-RPT."""
    from monitor.checks import history, watch
    from monitor.checks.auth import AuthPlan
    from monitor.daemon import wiring
    from parsers.dnsrec.dmarc import DmarcSpec

    app = loaded_app(ctx)
    cfg = app.config
    spec = DmarcSpec(dmarc_spec or cfg.checks.dmarc_spec)
    if domains:
        plan = AuthPlan.for_domains(
            domains, ips=ips, helo=helo, selectors=selectors, dmarc_spec=spec
        )
    else:
        plan = dataclasses.replace(wiring.auth_plan(cfg), dmarc_spec=spec)
    if plan.empty:
        raise click.UsageError("nothing to check: give --domain, or fill in [sending]")
    if not no_store:
        app.sessions()
    dns = _dns(cfg, nameservers, timeout, concurrency)
    try:
        results = _run(
            watch.run_auth(dns, plan, sts_ca_file=ca_file or cfg.checks.mta_sts_ca_file), fmt
        )
    except _CouldNotCheck as stop:
        return stop.code
    alerts = [] if no_store else _store(app, history.save_auth, results)
    if fmt == "json":
        out: dict[str, Any] = {"results": _jsonable(results)}
        if not no_store:
            out["alerts"] = [a.as_json() for a in alerts]
        click.echo(json.dumps(out, indent=1, default=str))
    else:
        rows = [
            (
                r.status.value,
                [
                    r.kind.value,
                    r.subject,
                    r.status.value,
                    ", ".join(r.findings),
                    r.record or "",
                    r.fix or "",
                ],
            )
            for r in results
        ]
        _table(
            "DNS authentication",
            ["check", "subject", "status", "findings", "published", "what to do"],
            rows,
        )
    return _exit_code(any(r.problem for r in results), any(r.incomplete for r in results))


def _compliance_plan(plan: Any, domain: str | None) -> Any:
    """The configured plan, narrowed to one From domain (its DKIM keys: those of its
    organisational domain, which align in relaxed mode)."""
    if domain is None:
        return plan
    from monitor.checks.dmarc import org_domain

    domain = domain.lower().rstrip(".")
    org = org_domain(domain)
    dkim = tuple((d, s) for d, s in plan.dkim if org_domain(d) == org)
    return dataclasses.replace(
        plan,
        from_domains=(domain,),
        spf_domains=plan.spf_domains if plan.spf_domains != plan.from_domains else (domain,),
        dkim=dkim,
        signing_key_files={k: v for k, v in plan.signing_key_files.items() if k in dkim},
    )


def _compliance_facts(app: Any) -> Any:
    """The stored facts of the last 7 days, or None when the database cannot be read."""
    from datetime import timedelta

    from monitor.checks.compliance import provider_domains
    from monitor.errors import MonitorError
    from monitor.store.compliance import compliance_facts
    from monitor.store.db import session_scope
    from reports.providers import load_providers

    now = app.now()
    domains = provider_domains(load_providers())
    try:
        with session_scope(app.sessions(), "reading delivery facts") as session:
            return compliance_facts(session, since=now - timedelta(days=7), until=now,
                                    provider_domains=domains)  # fmt: skip
    except MonitorError as exc:
        click.echo(f"cannot read the store: {exc}", err=True)
        return None


@check_group.command("compliance")
@click.option("--domain", default=None, help="One From domain instead of [sending] from_domains.")
@common[0]
@common[1]
@common[2]
@click.pass_context
def compliance_cmd(
    ctx: click.Context,
    domain: str | None,
    nameservers: tuple[str, ...],
    fmt: str,
    timeout: float | None,
) -> int:
    """The Gmail/Yahoo bulk-sender requirements against the live setup: SPF, DKIM, DMARC and
    alignment, PTR/FCrDNS, TLS to the big providers, one-click unsubscribe, complaint rate.
    Exit 0 all pass (or not measured yet), 1 a requirement fails, 2 one could not be checked."""
    from monitor.checks import compliance, watch
    from monitor.daemon import wiring
    from reports.providers import load_providers

    app = loaded_app(ctx)
    cfg = app.config
    plan = _compliance_plan(wiring.auth_plan(cfg), domain)
    if not plan.from_domains:
        raise click.UsageError("nothing to check: give --domain, or fill in [sending]")
    dns = _dns(cfg, nameservers, timeout, None)

    async def live() -> tuple[list[Any], Any]:
        auth, probe = await asyncio.gather(
            watch.run_auth(dns, plan, sts_ca_file=cfg.checks.mta_sts_ca_file),
            compliance.probe_one_click(cfg.web.public_url, timeout=timeout or 10.0),
        )
        return auth, probe

    auth, probe = _run(live())
    facts = _compliance_facts(app)
    lines = compliance.judge(
        auth,
        plan,
        one_click=facts.one_click if facts is not None else None,
        tls=facts.tls if facts is not None else None,
        complaints=(facts.complaints, facts.delivered) if facts is not None else None,
        probe=probe,
        deliveries=(
            compliance.by_provider(facts.delivery_tls, load_providers())
            if facts is not None
            else None
        ),
    )
    code = compliance.exit_status(lines)
    if fmt == "json":
        click.echo(json.dumps({"requirements": _jsonable(lines), "exit": code}, indent=1))
    else:
        _table(
            "Gmail/Yahoo bulk-sender requirements",
            ["requirement", "subject", "status", "detail", "what to do"],
            [
                (
                    "error" if x.status == "unknown" else x.status,
                    [x.key, x.subject, x.status, x.detail, x.fix],
                )
                for x in lines
            ],
        )
    return code
