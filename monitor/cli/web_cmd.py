"""``deliverwatch web``: the HTTP service (one-click unsubscribe, tracking, API, reports)."""

from __future__ import annotations

import click

from monitor.cli.common import loaded_app


@click.command("web")
@click.option("--listen", default=None, metavar="HOST:PORT",
              help="Override [web] listen (default 127.0.0.1:8025).")  # fmt: skip
@click.pass_context
def web_cmd(ctx: click.Context, listen: str | None) -> int:
    """Serve /u/ (one-click unsubscribe), /o/ and /c/ (tracking), /api/v1/, /reports/ and
    /healthz until SIGTERM/SIGINT. Webhooks are delivered by the daemon."""
    from monitor.config import parse_listen
    from monitor.daemon.wiring import web_settings
    from monitor.web.server import serve

    app = loaded_app(ctx)
    cfg = app.config
    try:
        host, port = parse_listen(listen or cfg.web.listen)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--listen") from None
    settings = web_settings(cfg, app.sessions(), app.now)
    if not settings.token_keys:
        click.echo(
            "warning: no [web] token_key or [suppression] verp_key: every unsubscribe and "
            "tracking link will be refused",
            err=True,
        )
    serve(settings, host=host, port=port, trusted_proxies=cfg.web.trusted_proxies)
    return 0
