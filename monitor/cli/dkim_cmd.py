"""``deliverwatch dkim keygen``: a new DKIM key and the TXT record that publishes it."""

from __future__ import annotations

import os
from pathlib import Path

import click

__all__ = ["dkim_group", "zone_lines"]


def zone_lines(name: str, record: str) -> str:
    """The record as a zone-file line, split in 255-character strings (RFC 1035 3.3.14:
    a TXT string holds at most 255 octets; a 2048-bit key needs two)."""
    chunks = [record[i : i + 255] for i in range(0, len(record), 255)]
    quoted = " ".join(f'"{c}"' for c in chunks)
    return f"{name}. IN TXT ( {quoted} )"


@click.group("dkim")
def dkim_group() -> None:
    """DKIM signing keys of the relay."""


@dkim_group.command("keygen")
@click.option("--domain", required=True, help="The signing domain (d=), e.g. example.com.")
@click.option("--selector", required=True, help="The selector (s=), e.g. dw2026a.")
@click.option(
    "--type", "kind", type=click.Choice(["rsa", "ed25519"]), default="rsa", show_default=True,
    help="rsa: RSA 2048 (rsa-sha256); ed25519: ed25519-sha256.",
)  # fmt: skip
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Key file to write [default: var/dkim/SELECTOR._domainkey.DOMAIN.pem].",
)  # fmt: skip
def dkim_keygen(domain: str, selector: str, kind: str, out: Path | None) -> int:
    """Write a new private key (mode 0600, never overwriting a file) and print the TXT
    record to publish and the config lines that sign with it."""
    from monitor.relay.compose.dkim import generate_key, load_key, txt_record

    domain = domain.lower().rstrip(".")
    if len(domain.split(".")) < 2:
        raise click.UsageError(f"--domain {domain!r} is not a domain name")
    name = f"{selector}._domainkey.{domain}"
    path = out or Path("var/dkim") / f"{name}.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = generate_key("ed25519" if kind == "ed25519" else "rsa")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.UsageError(f"{path} exists; choose a new selector or another --out") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    try:
        key = load_key(path, domain=domain, selector=selector)
    except ValueError as exc:
        path.unlink()
        raise click.UsageError(str(exc)) from None
    click.echo(f"# key written to {path} (mode 0600)")
    click.echo("# publish this record, then put the key in the config:")
    click.echo(zone_lines(name, txt_record(key)))
    click.echo(f'# [sending.dkim."{domain}"]')
    if kind == "ed25519":
        click.echo(f'# ed25519_selector = "{selector}"\n# ed25519_key_file = "{path}"')
    else:
        click.echo(f'# selectors = ["{selector}", ...older selectors still published]')
        click.echo(f'# key_file = "{path}"')
    return 0


@dkim_group.command("usage")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True,
              help="Look at DMARC aggregate reports of this many days.")  # fmt: skip
@click.pass_context
def dkim_usage(ctx: click.Context, days: int) -> int:
    """Per configured selector, the mail receivers reported signed with it (DMARC aggregate
    reports): a retired selector may be unpublished once nothing signs with it."""
    from datetime import timedelta

    from monitor.cli.common import loaded_app
    from monitor.store.dkim_usage import selector_usage

    app = loaded_app(ctx)
    dkim = app.config.sending.dkim
    if not dkim:
        click.echo("no [sending.dkim] domains configured")
        return 0
    since = app.now() - timedelta(days=days)
    with app.sessions()() as session:
        seen = selector_usage(session, dkim, since)
    for domain, spec in dkim.items():
        d = domain.lower().rstrip(".")
        for n, selector in enumerate(spec.selectors):
            use = seen.get((d, selector))
            role = "signing" if n == 0 else "retired"
            if use is None:
                verdict = f"no mail seen signed with it in {days} days"
                if n > 0:
                    verdict += ": its record may be removed"
            else:
                last = f"{use.last_seen:%Y-%m-%d}" if use.last_seen else "?"
                verdict = f"{use.messages} messages in {days} days (last {last})"
                if n > 0:
                    verdict += ": keep the record published"
            click.echo(f"{selector}._domainkey.{d}  {role}: {verdict}")
        others = sorted(s for (dd, s) in seen if dd == d and s not in spec.selectors)
        for selector in others:
            use = seen[(d, selector)]
            click.echo(f"{selector}._domainkey.{d}  not configured: {use.messages} messages "
                       f"in {days} days (another sender, or an old key)")  # fmt: skip
    return 0
