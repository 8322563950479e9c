"""Build ARF/JMRP mails, DMARC aggregate XML and TLS-RPT JSON for the feedback parser tests.

Everything here is written from the RFCs (5965, 6591, 7489 Appendix C, 9990, 8460), so tests
can vary one property at a time: a Feedback-Type, a redacted Source-IP, a million records.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

BOUNDARY = "dw-boundary-42"


@dataclass
class Arf:
    """The pieces of an RFC 5965 report; ``build()`` renders the mail."""

    feedback_type: str | None = "abuse"
    version: str = "1"
    user_agent: str = "DW-Test-FBL/1.0"
    rcpt_to: tuple[str, ...] = ("complainer@isp.example",)
    mail_from: str | None = "bounces+tok123@mail.sender.example"
    source_ip: str | None = "192.0.2.7"
    arrival_field: str = "Arrival-Date"
    arrival: str = "Tue, 02 Jan 2024 10:00:00 +0100"
    reported_domain: str | None = "sender.example"
    extra_fields: tuple[tuple[str, str], ...] = ()
    enclosure_type: str = "message/rfc822"  # or text/rfc822-headers
    enclosed_to: str = "complainer@isp.example"
    enclosed_headers: tuple[tuple[str, str], ...] = ()
    enclosed_body: str = "Hello, this is the newsletter.\n"
    feedback_cte: str = "7bit"  # or base64
    top_type: str = 'multipart/report; report-type="feedback-report"'
    feedback_part_type: str = "message/feedback-report"

    def feedback_fields(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.feedback_type is not None:
            out.append(("Feedback-Type", self.feedback_type))
        out += [("User-Agent", self.user_agent), ("Version", self.version)]
        if self.mail_from is not None:
            out.append(("Original-Mail-From", f"<{self.mail_from}>"))
        out += [("Original-Rcpt-To", f"<{r}>") for r in self.rcpt_to]
        out.append((self.arrival_field, self.arrival))
        if self.source_ip is not None:
            out.append(("Source-IP", self.source_ip))
        if self.reported_domain is not None:
            out.append(("Reported-Domain", self.reported_domain))
        return out + list(self.extra_fields)

    def enclosure(self) -> str:
        headers = [
            ("Return-Path", f"<{self.mail_from}>" if self.mail_from else "<>"),
            ("From", "News <news@sender.example>"),
            ("To", self.enclosed_to),
            ("Subject", "Our weekly news"),
            ("Date", "Tue, 02 Jan 2024 08:59:00 +0000"),
            ("Message-ID", "<msg-1@sender.example>"),
            ("List-Id", "Weekly <weekly.sender.example>"),
            ("X-Campaign-ID", "camp-2024-01"),
            *self.enclosed_headers,
        ]
        head = "".join(f"{k}: {v}\n" for k, v in headers)
        if self.enclosure_type == "text/rfc822-headers":
            return head
        return head + "\n" + self.enclosed_body

    def build(self) -> bytes:
        fields = "".join(f"{k}: {v}\n" for k, v in self.feedback_fields())
        if self.feedback_cte == "base64":
            fields = base64.encodebytes(fields.replace("\n", "\r\n").encode()).decode()
        parts = [
            ("text/plain; charset=us-ascii", "7bit", "This is an email abuse report.\n"),
            (self.feedback_part_type, self.feedback_cte, fields),
            (self.enclosure_type, "7bit", self.enclosure()),
        ]
        return mail(self.top_type, parts, subject="FW: Our weekly news")


def mail(
    content_type: str,
    parts: Iterable[tuple[str, str, str]],
    *,
    subject: str = "Report",
    sender: str = "fbl@isp.example",
    to: str = "fbl@sender.example",
    extra: str = "",
) -> bytes:
    """A MIME multipart mail from (content type, transfer encoding, body) triples."""
    out = [
        f"From: {sender}\nTo: {to}\nSubject: {subject}\n"
        "Date: Tue, 02 Jan 2024 10:05:00 +0000\nMessage-ID: <report-1@isp.example>\n"
        f"MIME-Version: 1.0\n{extra}Content-Type: {content_type};\n"
        f' boundary="{BOUNDARY}"\n\nThis is a MIME message.\n'
    ]
    for ctype, cte, body in parts:
        out.append(
            f"--{BOUNDARY}\nContent-Type: {ctype}\nContent-Transfer-Encoding: {cte}\n"
            f"Content-Disposition: inline\n\n{body}\n"
        )
    out.append(f"--{BOUNDARY}--\n")
    return "".join(out).encode()


def jmrp(recipient: str = "user@outlook.example") -> bytes:
    """A Microsoft JMRP mail: multipart/mixed, the recipient only in the enclosure's header."""
    enclosed = (
        f"X-HmXmrOriginalRecipient: {recipient}\nFrom: news@sender.example\n"
        "To: someone-else@outlook.example\nSubject: Deals\n"
        "Message-ID: <deal-7@sender.example>\n\nBuy now.\n"
    )
    return mail(
        "multipart/mixed",
        [("message/rfc822", "7bit", enclosed)],
        subject="complaint about message from 192.0.2.9",
        sender="staff@hotmail.example",
    )


def attachment_mail(ctype: str, payload: bytes, filename: str) -> bytes:
    """A report mail with ``payload`` base64-attached (RFC 7489 7.2.1.1, RFC 8460 5.3)."""
    body = base64.encodebytes(payload).decode()
    return mail(
        "multipart/mixed",
        [
            ("text/plain", "7bit", "Aggregate report attached.\n"),
            (f'{ctype}; name="{filename}"', "base64", body),
        ],
        subject="Report Domain: sender.example Submitter: isp.example",
    )


# --------------------------------------------------------------------------- DMARC aggregate

NS_2 = "urn:ietf:params:xml:ns:dmarc-2.0"


def record_xml(i: int, *, source_ip: str | None = None, count: int = 1) -> str:
    """One ``<record>`` (RFC 7489 Appendix C); results in mixed case to test lower-casing."""
    ip = source_ip if source_ip is not None else f"198.51.{(i >> 8) & 255}.{i & 255}"
    return (
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count>"
        "<policy_evaluated><disposition>None</disposition><dkim>PASS</dkim>"
        "<spf>fail</spf></policy_evaluated></row>"
        "<identifiers><header_from>sender.example</header_from>"
        "<envelope_from>mail.sender.example</envelope_from></identifiers>"
        "<auth_results><dkim><domain>sender.example</domain><selector>s1</selector>"
        "<result>Pass</result></dkim><spf><domain>mail.sender.example</domain>"
        "<scope>mfrom</scope><result>softfail</result></spf></auth_results></record>\n"
    )


def small_record_xml(i: int, *, count: int = 1) -> str:
    """The smallest valid ``<record>``: row and header_from only (RFC 7489 Appendix C)."""
    return (
        f"<record><row><source_ip>10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}</source_ip>"
        f"<count>{count}</count><policy_evaluated><disposition>none</disposition>"
        "<dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>"
        "<identifiers><header_from>sender.example</header_from></identifiers></record>\n"
    )


def aggregate_head(
    *, namespace: str | None = None, org: str = "ISP Example", rfc9990: bool = False
) -> str:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    extra_meta = "<generator>isp-dmarc 2.1</generator>" if rfc9990 else ""
    extra_pol = "<np>reject</np><psd>n</psd><testing>n</testing>" if rfc9990 else "<pct>100</pct>"
    version = "<version>1.0</version>" if rfc9990 else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<feedback{xmlns}>{version}'
        f"<report_metadata><org_name>{org}</org_name><email>dmarc@isp.example</email>"
        f"<report_id>r-42</report_id>{extra_meta}<date_range><begin>1704067200</begin>"
        "<end>1704153599</end></date_range></report_metadata>"
        "<policy_published><domain>Sender.Example</domain><adkim>r</adkim><aspf>r</aspf>"
        f"<p>Quarantine</p><sp>none</sp>{extra_pol}</policy_published>\n"
    )


def aggregate_xml(n: int = 3, **kw: Any) -> bytes:
    body = "".join(record_xml(i, count=i + 1) for i in range(n))
    return (aggregate_head(**kw) + body + "</feedback>\n").encode()


def write_big_aggregate(
    out: IO[bytes], n: int, *, compresslevel: int = 1, small: bool = False
) -> None:
    """Stream an ``n``-record gzip'd report into ``out`` without holding it in memory."""
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=compresslevel, mtime=0) as gz:
        gz.write(aggregate_head().encode())
        render = small_record_xml if small else record_xml
        batch: list[str] = []
        for i in range(n):
            batch.append(render(i, count=(i % 5) + 1))
            if len(batch) == 5000:
                gz.write("".join(batch).encode())
                batch.clear()
        gz.write("".join(batch).encode())
        gz.write(b"</feedback>\n")


def big_aggregate_total(n: int) -> int:
    return sum((i % 5) + 1 for i in range(n))


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zipped(data: bytes, name: str = "report.xml") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return buf.getvalue()


def bomb_gzip(size: int) -> bytes:
    """A gzip'd report head followed by ``size`` spaces (well-formed XML so far), 1 MiB steps."""
    buf = io.BytesIO()
    block = b" " * (1 << 20)
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as g:
        g.write(aggregate_head().encode())
        for _ in range(size >> 20):
            g.write(block)
        g.write(b" " * (size & ((1 << 20) - 1)))
    return buf.getvalue()


# --------------------------------------------------------------------------- TLS-RPT


def tls_report(**overrides: Any) -> dict[str, Any]:
    """The RFC 8460 Appendix B example shape, with fields replaceable or removable (None)."""
    doc: dict[str, Any] = {
        "organization-name": "ISP Example",
        "date-range": {
            "start-datetime": "2024-01-01T00:00:00Z",
            "end-datetime": "2024-01-01T23:59:59Z",
        },
        "contact-info": "tlsrpt@isp.example",
        "report-id": "2024-01-01T00:00:00Z_sender.example",
        "policies": [
            {
                "policy": {
                    "policy-type": "sts",
                    "policy-string": ["version: STSv1", "mode: enforce", "mx: mx.sender.example"],
                    "policy-domain": "sender.example",
                    "mx-host": ["mx.sender.example"],
                },
                "summary": {"total-successful-session-count": 10, "total-failure-session-count": 2},
                "failure-details": [
                    {
                        "result-type": "certificate-expired",
                        "sending-mta-ip": "192.0.2.1",
                        "receiving-mx-hostname": "mx.sender.example",
                        "receiving-ip": "203.0.113.5",
                        "failed-session-count": 2,
                    }
                ],
            }
        ],
    }
    for key, value in overrides.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def tls_json(**overrides: Any) -> bytes:
    return json.dumps(tls_report(**overrides)).encode()
