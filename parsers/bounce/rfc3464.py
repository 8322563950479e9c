"""Standard DSNs (RFC 3464, RFC 6533) from any MTA, with help from the human-readable part.

The machine-readable part gives recipients, actions and status codes. The notice beside it
often says more: which SMTP command failed ("in reply to RCPT TO command", ">>> RCPT To:"),
or the remote answer when the report carries no Diagnostic-Code. Both are read here.
"""

from __future__ import annotations

from parsers.bounce.base import Context, Parsed, first_address, split_original
from parsers.bounce.mda import local_delivery_error
from parsers.dsn import Failure, parse_fields
from parsers.mime import STATUS_MARK
from parsers.status import find_command, find_reply, find_status

__all__ = [
    "FAMILY",
    "enrich",
    "merge_alternative",
    "merge_status_fields",
    "parse",
    "parse_status_text",
    "resolve_domain_only",
]

FAMILY = "rfc3464"

_FIELD_HINTS = ("\nfinal-recipient:", "\noriginal-recipient:")


def parse_status_text(text: str) -> tuple[str, str, list[Failure]]:
    """(notice, original, failures) from a flattened report that has DSN fields."""
    notice, original = split_original(text, ())
    marker = notice.find(STATUS_MARK)
    if marker >= 0:
        human, machine = notice[:marker], notice[marker + len(STATUS_MARK) :]
    else:
        lowered = notice.lower()
        start = min((i for i in (lowered.find(h) for h in _FIELD_HINTS) if i >= 0), default=-1)
        if start < 0:
            return notice, original, []
        head = lowered.rfind("\n\n", 0, start)
        human, machine = notice[: head if head >= 0 else start], notice[start:]
    _per_message, failures = parse_fields(machine)
    enrich(human, failures)
    return human, original, failures


def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def enrich(human: str, failures: list[Failure]) -> None:
    """Fill command and, when missing, the diagnostic from the notice text."""
    if not human.strip():
        return
    paragraphs = [(p, p.lower()) for p in _paragraphs(human)]
    for failure in failures:
        local = failure.address.split("@", 1)[0].lower()
        mentions = [
            p
            for p, lowered in paragraphs
            if failure.address in lowered or (local and f"{local}@" in lowered)
        ]
        for paragraph in mentions:
            command = find_command(paragraph)
            if command:
                failure.command = command
        if not failure.diagnostic and mentions:
            failure.alt_diagnostic = " ".join(" ".join(mentions).split())[:2000]


def resolve_domain_only(failures: list[Failure]) -> list[Failure]:
    """Replace "@domain" recipients (no local part) by the address their diagnostic names."""
    kept: list[Failure] = []
    for failure in failures:
        if failure.address.startswith("@"):
            failure.address = first_address(failure.diagnostic or failure.alt_diagnostic)
        if failure.address:
            kept.append(failure)
    return kept


def parse(ctx: Context) -> Parsed | None:
    """Any report with RFC 3464 per-recipient fields."""
    if STATUS_MARK not in ctx.text and "final-recipient:" not in ctx.lower:
        return None
    human, original, failures = parse_status_text(ctx.text)
    failures = resolve_domain_only(failures)
    agent = local_delivery_error(ctx.from_, human)
    if agent is not None:
        reason, message = agent
        for failure in failures:
            failure.reason = reason or "undefined"
            failure.diagnostic = message or failure.diagnostic
            failure.command = ""
    if not failures:
        return None
    return Parsed(FAMILY, failures, original)


def merge_alternative(failure: Failure, text: str, *, must_contain: bool = False) -> None:
    """Prefer the notice's wording of the remote answer when it is fuller than the DSN's.

    Postfix and Google write "Diagnostic-Code: smtp; 550 5.0.0 ..." with a generic code
    while the notice quotes the server's full answer with the real one ("550 5.1.1 ...").
    With ``must_contain`` the notice replaces the diagnostic only if it quotes it whole.
    """
    text = " ".join(text.split())
    if not text:
        return
    if not failure.diagnostic or failure.diagnostic.strip().isdigit():
        failure.diagnostic = text
        return
    found_status = ""
    found_reply = ""
    if not failure.status or failure.status[1:] == ".0.0":
        found_status = find_status(text) or ""
        if found_status[1:] == ".0.0":
            found_status = ""
        if found_status:
            failure.status = found_status
    if not failure.reply_code or failure.reply_code.endswith("00"):
        found_reply = find_reply(text) or ""
        if found_reply.endswith("00"):
            found_reply = ""
        if found_reply:
            failure.reply_code = found_reply
    if not (found_status or found_reply) or len(text) < len(failure.diagnostic):
        return
    if not must_contain or failure.diagnostic in text:
        failure.diagnostic = text


def merge_status_fields(text: str, failures: list[Failure]) -> None:
    """Copy Status/Action/Remote-MTA from a report part onto prose-parsed recipients."""
    marker = text.find(STATUS_MARK)
    if marker < 0:
        return
    _per_message, fields = parse_fields(text[marker + len(STATUS_MARK) :], keep_unaddressed=True)
    by_address = {f.address: f for f in fields if f.address}
    for index, failure in enumerate(failures):
        found = by_address.get(failure.address)
        if found is None and len(fields) == len(failures):
            found = fields[index]
        if found is None:
            continue
        failure.status = failure.status or found.status
        failure.action = failure.action or found.action
        failure.remote_mta = failure.remote_mta or found.remote_mta
        failure.diagnostic = failure.diagnostic or found.diagnostic
