"""``deliverwatch send``: push a test message through the running relay, as an app would."""

from __future__ import annotations

import os
import smtplib
import ssl
import sys
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import click

from monitor.cli.common import loaded_app

__all__ = ["send_cmd"]

PASSWORD_ENV = "DELIVERWATCH_RELAY_PASSWORD"  # noqa: S105 - a variable name


def _compose(sender: str, to: tuple[str, ...], subject: str, campaign: str | None,
             domain: str, now: datetime) -> EmailMessage:  # fmt: skip
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, ", ".join(to), subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=domain)
    if campaign:
        msg["X-Campaign"] = campaign
    msg.set_content("A test message sent with `deliverwatch send`.\n")
    return msg


def _submit(host: str, port: int, context: ssl.SSLContext, user: str, password: str,
            msg: EmailMessage) -> tuple[int, str]:  # fmt: skip
    """Send ``msg`` through the relay; (reply code, text) of the DATA reply."""
    sender = str(msg["From"])
    to = [a.strip() for a in str(msg["To"]).split(",")]
    with smtplib.SMTP(host, port, timeout=60) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        smtp.login(user, password)
        smtp.mail(sender)
        for rcpt in to:
            code, reply = smtp.rcpt(rcpt)
            if code >= 400:
                click.echo(f"{rcpt}: refused: {code} {reply.decode(errors='replace')}", err=True)
        code, reply = smtp.data(msg.as_bytes())
    return code, reply.decode(errors="replace")


@click.command("send")
@click.option("--to", "to", multiple=True, required=True, help="Recipient (repeatable).")
@click.option("--from", "sender", default=None, help="Sender (default: test@ the user's domain).")
@click.option("--user", default=None, help="Submission user (default: the only one configured).")
@click.option("--campaign", default=None, help="Campaign (an X-Campaign header).")
@click.option("--subject", default="deliverwatch test message", show_default=True)
@click.pass_context
def send_cmd(
    ctx: click.Context,
    to: tuple[str, ...],
    sender: str | None,
    user: str | None,
    campaign: str | None,
    subject: str,
) -> int:
    """Send a test message through the relay's first listener (STARTTLS, AUTH); the
    password comes from $DELIVERWATCH_RELAY_PASSWORD or is asked for. Exit 2 if the relay
    refuses it."""
    from monitor.config import parse_listen
    from monitor.daemon.wiring import relay_tls

    app = loaded_app(ctx)
    relay = app.config.relay
    if user is None and len(relay.users) == 1:
        user = next(iter(relay.users))
    account = relay.users.get(user or "")
    if user is None or account is None:
        raise click.UsageError("name a [relay.users.NAME] of the config with --user")
    if not relay.listen:
        raise click.UsageError("[relay] listen is empty: no STARTTLS listener to send through")
    host, port = parse_listen(relay.listen[0])
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            raise click.UsageError(f"set {PASSWORD_ENV} (or run on a terminal to be asked)")
        password = click.prompt(f"password for {user}", hide_input=True)
    domain = account.domains[0] if account.domains else "localhost"
    msg = _compose(sender or f"test@{domain}", to, subject, campaign, domain, app.now())
    cert, _key = relay_tls(app.config)
    context = ssl.create_default_context(cafile=str(cert) if cert.exists() else None)
    context.check_hostname = False  # the generated pair names the host name, not the address
    host = "127.0.0.1" if host == "0.0.0.0" else host  # noqa: S104 - a wildcard listener
    try:
        code, text = _submit(host, port, context, user, password, msg)
    except (OSError, smtplib.SMTPException) as exc:
        click.echo(f"error: the relay at {host}:{port} did not take the message: {exc}", err=True)
        return 2
    if code != 250:
        click.echo(f"error: the relay answered {code} {text}", err=True)
        return 2
    click.echo(text)
    return 0
