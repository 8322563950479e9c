"""IBM/HCL Domino and Lotus Notes non-delivery reports.

Domino: "DELIVERY FAILURE: ..." with "was not delivered to:" / "because:" blocks (in the
server's language). Notes: "Undeliverable message" with "------- Failure Reasons --------".
The directory-lookup wordings name unknown users in English, French and Japanese.
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, first_address, split_original, table_reason
from parsers.bounce.rfc3464 import merge_status_fields
from parsers.dsn import Failure

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:domino"
_DOMINO_MESSAGES = {
    "userunknown": (
        "not listed in domino directory",
        "not listed in public name & address book",
        "non répertorié dans l'annuaire domino",
        "domino ディレクトリには見つかりません",
    ),
    "filtered": ("cannot route mail to user",),
    "systemerror": ("several matches found in domino directory",),
}
_NOTES_MESSAGES = {
    "userunknown": (
        "user not listed in public name & address book",
        "ディレクトリのリストにありません",
    ),
    "networkerror": ("message has exceeded maximum hop count",),
}


def _domino(ctx: Context) -> Parsed | None:
    notice, original = split_original(ctx.text, ())
    failures: list[Failure] = []
    expect = ""
    for line in notice.split("\n"):
        stripped = line.strip()
        if stripped == "was not delivered to:":
            expect = "address"
        elif stripped == "because:":
            expect = "reason"
        elif expect == "address" and "@" in stripped:
            failures.append(Failure(address=first_address(stripped)))
            expect = ""
        elif expect == "reason" and stripped and failures:
            failures[-1].diagnostic = stripped
            expect = ""
    merge_status_fields(ctx.text, failures)
    for failure in failures:
        failure.reason = table_reason(failure.diagnostic, _DOMINO_MESSAGES)
    return Parsed(FAMILY, failures, original) if failures else None


def _notes(ctx: Context) -> Parsed | None:
    notice, original = split_original(ctx.text, ("------- Returned Message --------",))
    start = notice.find("------- Failure Reasons ")
    if start < 0:
        return None
    failures: list[Failure] = []
    diagnostic: list[str] = []
    for line in notice[start:].split("\n")[1:]:
        if re.match(r"^[^ ]+@[^ ]+", line) and not failures:
            failures.append(Failure(address=first_address(line)))
        elif line.strip() and not line.startswith("-"):
            diagnostic.append(line.strip())
    if not failures:
        to = re.search(r"^To:[ ]*(.+)$", original, re.MULTILINE)
        address = first_address(to.group(1)) if to else ""
        failures = [Failure(address=address)] if address else []
    for failure in failures:
        failure.diagnostic = " ".join(diagnostic)
        failure.reason = table_reason(failure.diagnostic, _NOTES_MESSAGES)
    return Parsed("lhost:notes", failures, original) if failures else None


_DOMINO_SUBJECT = re.compile(r"^DELIVERY[ _]FAILURE:", re.IGNORECASE)


def parse(ctx: Context) -> Parsed | None:
    """Domino ("DELIVERY FAILURE:") and Notes ("Undeliverable message") reports."""
    if _DOMINO_SUBJECT.match(ctx.subject):
        return _domino(ctx)
    if ctx.title.startswith("undeliverable message"):
        return _notes(ctx)
    return None
