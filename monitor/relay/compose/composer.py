"""One message as it leaves the relay, for one recipient or for all of them.

Per message (``plan``): the control fields (``X-Campaign``, ``X-Deliverwatch-Type``,
``X-Deliverwatch-Unsubscribe``) are read and removed; the campaign is ``X-Campaign`` (kept in
the queue) or else the submission user; the type is ``X-Deliverwatch-Type`` or else the
user's ``stream``; ``Feedback-ID: campaign:customer:type:sender`` is added (Gmail's
feedback loop) unless the submitter wrote one.

Per recipient (``compose``), when the copy carries the recipient's tokens: bulk mail (and
transactional mail whose user or header asks for it) gets ``List-Unsubscribe`` with the
``/u/TOKEN`` and ``mailto:unsub+TOKEN@`` links and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click`` (RFC 2369, RFC 8058), replacing any the submitter wrote (the
one-click link must be ours to be honoured); tracked campaigns get their HTML links and the
open pixel rewritten (``tracking``). Last, the DKIM signatures of the From domain (or its
nearest parent with a key). A message that needs nothing per recipient is composed once
and goes to all its recipients in one transaction, as before.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass, field

from monitor.config import TrackingConfig
from monitor.relay.compose.dkim import DkimSigner
from monitor.relay.compose.headers import (
    CONTROL,
    add_fields,
    feedback_id,
    field_value,
    remove_fields,
    split_message,
)
from monitor.relay.compose.tracking import has_html, rewrite_html, track_message
from monitor.store.queue import Due
from parsers.webtoken import LinkMaker

__all__ = ["ComposeSettings", "Composer", "Plan"]

_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_UNSUBSCRIBE = ("List-Unsubscribe", "List-Unsubscribe-Post")


@dataclass(frozen=True, slots=True, kw_only=True)
class ComposeSettings:
    """What composing needs (``monitor.daemon.wiring.compose_settings`` builds it)."""

    #: The web service's links; None: no List-Unsubscribe and no tracking can be added.
    links: LinkMaker | None = None
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    signer: DkimSigner | None = None
    #: Submission users whose transactional mail carries unsubscribe links all the same.
    unsubscribe_transactional: frozenset[str] = frozenset()
    #: The last part of Feedback-ID; "": the signing (else the From) domain.
    feedback_sender: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """What one message gets, decided once for all its recipients."""

    head: bytes  # header section without the control fields, Feedback-ID added
    body: bytes
    full: bytes  # head + blank line + body: what tracking parses
    unsubscribe: bool
    opens: bool
    clicks: bool
    domain: str | None  # DKIM signing domain

    @property
    def personal(self) -> bool:
        """Each recipient needs a copy of its own (its tokens are in it)."""
        return self.unsubscribe or self.opens or self.clicks


def _crlf(message: bytes) -> bytes:
    if message.count(b"\r") == message.count(b"\r\n") == message.count(b"\n"):
        return message
    return _LINE_ENDS.sub(b"\r\n", message)


class Composer:
    """Builds the copies of queued messages (module docstring); keys are loaded once."""

    def __init__(self, settings: ComposeSettings) -> None:
        self.settings = settings

    def plan(self, stored: bytes, due: Due) -> Plan:
        s = self.settings
        head, body = split_message(_crlf(stored))
        kind = (field_value(head, "X-Deliverwatch-Type") or due.stream or "bulk").lower()
        kind = "transactional" if kind.startswith("trans") else "bulk"
        asked = (field_value(head, "X-Deliverwatch-Unsubscribe") or "").lower() in (
            "yes", "true", "1",
        )  # fmt: skip
        campaign = due.campaign or due.submitted_by or "none"
        tracked = s.tracking.of(due.campaign)
        html = s.links is not None and has_html(head + body)
        from_domain = self._from_domain(head, due)
        domain = s.signer.domain_for(from_domain) if s.signer and from_domain else None
        head = remove_fields(head, CONTROL)
        if field_value(head, "Feedback-ID") is None:
            sender = s.feedback_sender or domain or from_domain or "none"
            customer = due.submitted_by or "none"
            head = add_fields(head, {"Feedback-ID": feedback_id(campaign, customer, kind, sender)})
        unsubscribe = s.links is not None and (
            kind == "bulk" or asked or due.submitted_by in s.unsubscribe_transactional
        )
        return Plan(head=head, body=body, full=head + b"\r\n" + body, unsubscribe=unsubscribe,
                    opens=html and tracked.opens, clicks=html and tracked.clicks,
                    domain=domain)  # fmt: skip

    @staticmethod
    def _from_domain(head: bytes, due: Due) -> str | None:
        address = due.header_from
        if not address:
            found = email.utils.getaddresses([field_value(head, "From") or ""])
            address = next((a for _, a in found if "@" in a), None)
        return address.rsplit("@", 1)[1].lower().rstrip(".") if address else None

    def compose(self, plan: Plan, due: Due | None) -> bytes:
        """The copy for ``due``'s recipient (None: the shared copy of a plan that needs
        nothing per recipient)."""
        links = self.settings.links
        head, body = plan.head, plan.body
        if due is not None and links is not None and (plan.opens or plan.clicks):
            head, body = self._track(plan, due, links)
        if due is not None and links is not None and plan.unsubscribe:
            head = add_fields(remove_fields(head, _UNSUBSCRIBE),
                              links.list_unsubscribe(due.id, due.recipient))  # fmt: skip
        message = head + b"\r\n" + body
        signer = self.settings.signer
        if signer is not None and plan.domain is not None:
            message = signer.sign(message, plan.domain)
        return message

    def _track(self, plan: Plan, due: Due, links: LinkMaker) -> tuple[bytes, bytes]:
        base = links.base_url.rstrip("/") + "/"

        def click(url: str) -> str | None:
            if not url.lower().startswith(("http://", "https://")) or url.startswith(base):
                return None
            try:
                return links.click_url(due.id, due.recipient, url)
            except ValueError:  # too long or not a URL a token may carry: left as written
                return None

        pixel = links.open_url(due.id, due.recipient) if plan.opens else None

        def edit(text: str) -> str:
            return rewrite_html(text, click if plan.clicks else None, pixel)

        body, cte = track_message(plan.full, edit)
        head = plan.head
        if cte is not None:
            head = add_fields(remove_fields(head, ["Content-Transfer-Encoding"]),
                              {"Content-Transfer-Encoding": cte})  # fmt: skip
        return head, body
