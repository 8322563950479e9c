"""au by KDDI (EZweb) mobile mail: "Mail System Error - Returned Mail".

au's gateway reports with a fixed English sentence per cause ("The user(s) account is
disabled.") and marks messages stopped by the handset's anti-spam settings with an
``X-SPASIGN: NG`` header (filtered, not unknown).
"""

from __future__ import annotations

from parsers.bounce.base import Context, Parsed, first_address, received_mentions, split_original
from parsers.bounce.rfc3464 import merge_status_fields
from parsers.dsn import Failure
from parsers.status import find_command

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:ezweb"
_BOUNDARIES = ("-" * 50,)
_MARKERS = ("The user(s) ", "Your message ", "Each of the following", "<")
_MESSAGES = {
    "mailboxfull": ("The user(s) account is temporarily over quota",),
    "suspend": ("The user(s) account is disabled.", "The user(s) account is temporarily limited."),
    "expired": ("Your message was not delivered within ",),
    "onhold": ("Each of the following recipients was rejected by a remote mail server",),
}
_ALL = tuple(p for phrases in _MESSAGES.values() for p in phrases)


def _votes(ctx: Context) -> int:
    message_id = ctx.header("Message-ID")
    return sum(
        (
            "Postmaster@ezweb.ne.jp" in ctx.from_,
            "Postmaster@au.com" in ctx.from_,
            ctx.title == "mail system error - returned mail",
            received_mentions(ctx, "ezweb.ne.jp (EZweb Mail) with"),
            received_mentions(ctx, ".au.com ("),
            message_id.endswith((".ezweb.ne.jp>", ".au.com>")),
        )
    )


def _read(notice: str) -> list[Failure]:
    failures: list[Failure] = []
    other: list[str] = []
    reading = False
    for line in notice.split("\n"):
        reading = reading or any(m in line for m in _MARKERS)
        if not reading or not line.strip():
            continue
        if (
            "<" in line
            and "@" in line
            and ">" in line
            and (line.find("Recipient: <") > 1 or line.startswith("<"))
        ):
            failures.append(Failure(address=first_address(line[line.find("<") :])))
        elif failures and not line.isascii():
            continue
        elif " >>> " in line and failures:
            failures[-1].command = find_command(line) or ""
        elif any(p in line for p in _ALL):
            target = failures[-1] if failures else None
            if target is None:
                other.insert(0, line.strip())
            else:
                target.diagnostic += " " + line.strip()
        elif failures:
            failures[-1].alt_diagnostic += " " + line.strip()
    for failure in failures:
        failure.diagnostic = " ".join([*other, failure.diagnostic]).strip()
    return [f for f in failures if f.address]


def parse(ctx: Context) -> Parsed | None:
    """EZweb / au bounces (at least two au-specific signals)."""
    if _votes(ctx) < 2:
        return None
    notice, original = split_original(ctx.text, _BOUNDARIES)
    failures = _read(notice)
    merge_status_fields(ctx.text, failures)
    for failure in failures:
        failure.diagnostic = failure.diagnostic or failure.alt_diagnostic.strip()
        if ctx.header("X-SPASIGN") == "NG":
            failure.reason = "filtered"
        elif failure.command == "RCPT":
            failure.reason = "userunknown"
        else:
            failure.reason = next(
                (r for r, ps in _MESSAGES.items() if any(p in failure.diagnostic for p in ps)), ""
            )
    return Parsed(FAMILY, failures, original) if failures else None
