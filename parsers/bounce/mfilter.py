"""m-FILTER (Digital Arts): "failure notice" with "-------server message" sections."""

from __future__ import annotations

from parsers.bounce.base import Context, Parsed, first_address, split_original
from parsers.dsn import Failure

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:mfilter"
_BOUNDARIES = ("-------original message", "-------original mail info")


def parse(ctx: Context) -> Parsed | None:
    """m-FILTER notices: the address alone on a line, then the server message and command."""
    if ctx.header("X-Mailer") != "m-FILTER" or ctx.title != "failure notice":
        return None
    notice, original = split_original(ctx.text, _BOUNDARIES)
    failures: list[Failure] = []
    section = ""
    for line in notice.split("\n"):
        stripped = line.strip()
        if stripped in ("-------server message", "-------SMTP command"):
            section = stripped
            continue
        address = first_address(stripped) if " " not in stripped else ""
        if address:
            failures.append(Failure(address=address))
        elif failures and stripped and not stripped.startswith("-"):
            current = failures[-1]
            if section == "-------SMTP command" and not current.command:
                current.command = stripped[:4].upper()
            elif section == "-------server message" and not current.diagnostic:
                current.diagnostic = stripped
    return Parsed(FAMILY, failures, original) if failures else None
