"""The few HTML pages a recipient sees: confirm, done, and the error pages.

Plain HTML with an inline style sheet: no JavaScript, no external resources, no cookies.
The confirmation page's button is an HTML form that POSTs ``List-Unsubscribe=One-Click``
to the same URL, so it works in any browser with scripts off, and the one-click POST of a
mail client and the button are the same request (RFC 8058 3.2). Everything interpolated is
escaped.
"""

from __future__ import annotations

from html import escape

__all__ = ["confirm_page", "done_page", "error_page", "mask_address"]

_STYLE = (
    "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;"
    "background:#f5f6f8;color:#1d2330}"
    "main{max-width:32rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:8px;"
    "box-shadow:0 1px 3px rgba(0,0,0,.12)}"
    "h1{font-size:1.4rem;margin:0 0 1rem}p{line-height:1.5}"
    "button{font:inherit;font-size:1.05rem;padding:.7rem 1.4rem;border:0;border-radius:6px;"
    "background:#1f5fbf;color:#fff;cursor:pointer}button:focus{outline:3px solid #8ab4f8}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def mask_address(address: str) -> str:
    """``jane.doe@example.com`` -> ``j***@example.com``: enough to recognise, little to leak
    to whoever else holds the link."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else address


def confirm_page(address: str, campaign: str | None) -> str:
    what = f" from <strong>{escape(campaign)}</strong>" if campaign else ""
    return _page(
        "Unsubscribe",
        "<h1>Unsubscribe</h1>"
        f"<p>Stop sending mail{what} to <strong>{escape(mask_address(address))}</strong>?</p>"
        '<form method="post" action="">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit" id="unsubscribe">Unsubscribe</button>'
        "</form>",
    )


def done_page(address: str) -> str:
    return _page(
        "Unsubscribed",
        '<h1 id="done">You are unsubscribed</h1>'
        f"<p><strong>{escape(mask_address(address))}</strong> will get no more of this mail."
        "</p>",
    )


def error_page(title: str, text: str) -> str:
    return _page(title, f'<h1 id="error">{escape(title)}</h1><p>{escape(text)}</p>')
