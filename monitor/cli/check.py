"""``deliverwatch check blocklists|auth``: one-off checks with a colour-coded table or JSON.

Exit status (issue 6): 1 when a problem was found (a listing, a failing or weak record),
else 2 when some check could not complete (timeout, SERVFAIL, a list's error code, a zone
that failed its probe), else 0. The table says what to do: the delisting URL, or the record
to publish.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import ssl
import sys
from collections.abc import Sequence
from typing import Any

import click

from monitor.errors import CheckError

__all__ = ["check_group"]

EXIT_OK, EXIT_PROBLEM, EXIT_INCOMPLETE = 0, 1, 2

_STYLE = {
    "listed": "bold red",
    "fail": "bold red",
    "warn": "yellow",
    "error": "magenta",
    "unknown": "magenta",
    "skipped": "dim",
    "not_listed": "green",
    "pass": "green",
}


def _with_client(
    nameserver: str | None, timeout: float, concurrency: int, check: Any, *args: Any
) -> Any:
    """Run ``check(client, *args)`` in a fresh event loop; the client is closed after."""
    from monitor.checks.resolver import DnsClient

    async def run() -> Any:
        async with DnsClient(
            [nameserver] if nameserver else None, timeout=timeout, concurrency=concurrency
        ) as client:
            return await check(client, *args)

    return asyncio.run(run())


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

    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for status, cells in rows:
        table.add_row(*cells, style=_STYLE.get(status, ""))
    # Piped output (files, CI logs) gets a wide table so URLs and records stay whole.
    Console(width=None if sys.stdout.isatty() else 220).print(table)


common = [
    click.option(
        "--nameserver",
        metavar="HOST[:PORT]",
        default=None,
        help="Ask this resolver instead of the system's (e.g. 127.0.0.1:5353).",
    ),
    click.option(
        "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
    ),
    click.option(
        "--timeout",
        type=float,
        default=5.0,
        show_default=True,
        help="Seconds per DNS lookup, retries included.",
    ),
    click.option(
        "--concurrency",
        type=int,
        default=100,
        show_default=True,
        help="DNS queries in flight at once.",
    ),
]


def _with_common(func: Any) -> Any:
    for option in reversed(common):
        func = option(func)
    return func


@click.group("check")
def check_group() -> None:
    """Check blocklists and DNS authentication records now."""


@check_group.command("blocklists")
@click.option("--ip", "ips", multiple=True, help="Sending IP (IPv4 or IPv6); repeatable.")
@click.option("--domain", "domains", multiple=True, help="Domain to check on domain lists.")
@click.option(
    "--zone",
    "zones",
    multiple=True,
    help="Catalogue zone to use (default: every active zone); repeatable.",
)
@click.option(
    "--dqs-key",
    envvar="DELIVERWATCH_DQS_KEY",
    default=None,
    help="Spamhaus DQS key (or $DELIVERWATCH_DQS_KEY); never printed.",
)
@_with_common
def blocklists_cmd(
    ips: tuple[str, ...],
    domains: tuple[str, ...],
    zones: tuple[str, ...],
    dqs_key: str | None,
    nameserver: str | None,
    fmt: str,
    timeout: float,
    concurrency: int,
) -> int:
    """Is any IP or domain listed? Error codes and timeouts are never read as clean."""
    from monitor.checks.dnsbl import DnsblKeys, check_blocklists, select_zones
    from monitor.checks.zones import load_catalogue

    if not ips and not domains:
        raise click.UsageError("give at least one --ip or --domain")
    try:
        chosen = select_zones(load_catalogue(), list(zones) or None)
        report = _with_client(
            nameserver,
            timeout,
            concurrency,
            lambda c: check_blocklists(
                c, [*ips, *domains], chosen, keys=DnsblKeys(spamhaus_dqs=dqs_key)
            ),
        )
    except CheckError as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        click.echo(
            json.dumps(
                {"results": _jsonable(report.results), "probes": _jsonable(report.probes)}, indent=1
            )
        )
    else:
        rows = []
        for r in sorted(report.results, key=lambda r: (not r.problem, r.target, r.zone)):
            todo = (
                f"delist: {r.delist_url}"
                if r.problem and r.delist_url
                else "retry later / check resolver"
                if r.incomplete
                else ""
            )
            what = ", ".join(r.categories) or r.error or r.reputation or ""
            rows.append(
                (r.status.value, [r.target, r.zone, r.status.value, what, r.reason or "", todo])
            )
        _table("Blocklists", ["target", "zone", "status", "meaning", "reason", "what to do"], rows)
        for probe in report.probes:
            if probe.health.value != "healthy":
                click.echo(f"zone {probe.zone}: {probe.health.value} ({probe.detail})", err=True)
    return _exit_code(bool(report.listed), report.incomplete)


async def _auth_checks(
    client: Any,
    domains: Sequence[str],
    ips: Sequence[str],
    helo: str | None,
    selectors: Sequence[str],
    spec: str,
    context: ssl.SSLContext | None,
) -> list[Any]:
    from monitor.checks.auth import run_auth_checks
    from parsers.dnsrec.dmarc import DmarcSpec

    return await run_auth_checks(
        client,
        domains=domains,
        ips=ips,
        helo=helo,
        selectors=selectors,
        dmarc_spec=DmarcSpec(spec),
        sts_context=context,
    )


@check_group.command("auth")
@click.option(
    "--domain",
    "domains",
    multiple=True,
    required=True,
    help="Sending (From / envelope) domain; repeatable.",
)
@click.option("--ip", "ips", multiple=True, help="Sending IP for SPF and PTR; repeatable.")
@click.option("--helo", default=None, help="HELO name the IPs announce.")
@click.option("--selector", "selectors", multiple=True, help="DKIM selector; repeatable.")
@click.option(
    "--dmarc-spec", type=click.Choice(["rfc7489", "rfc9989"]), default="rfc7489", show_default=True
)
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Extra CA bundle for MTA-STS policy fetches.",
)
@_with_common
def auth_cmd(
    domains: tuple[str, ...],
    ips: tuple[str, ...],
    helo: str | None,
    selectors: tuple[str, ...],
    dmarc_spec: str,
    ca_file: str | None,
    nameserver: str | None,
    fmt: str,
    timeout: float,
    concurrency: int,
) -> int:
    """SPF, DKIM, DMARC, PTR/FCrDNS, MX, MTA-STS and TLS-RPT for each domain."""
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    try:
        results = _with_client(
            nameserver,
            timeout,
            concurrency,
            _auth_checks,
            domains,
            ips,
            helo,
            selectors,
            dmarc_spec,
            context,
        )
    except CheckError as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps({"results": _jsonable(results)}, indent=1))
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
