"""MTA-STS check (RFC 8461): the ``_mta-sts`` TXT id and the policy served over HTTPS.

The policy host ``mta-sts.<domain>`` is resolved through *our* resolver (the same one every
other check uses, so tests and operators control it), then fetched with a minimal HTTP/1.1
GET over an asyncio TLS stream: certificate verified for ``mta-sts.<domain>`` (RFC 8461 3.3),
no redirects followed (3.3: "HTTP 3xx ... MUST NOT be followed"), ``text/plain`` expected,
body capped at 64 KiB. It is written here because ``urllib``/``http.client`` resolve host
names through the system resolver and block the event loop; no dependency is added for one
GET. Tests pass a CA file (or an ``ssl.SSLContext``) and a port.
"""

from __future__ import annotations

import asyncio
import ssl

from monitor.checks.resolver import Lookup
from monitor.checks.result import AuthResult, CheckKind, Status
from monitor.errors import CheckError
from parsers.dnsrec.sts import parse_sts_policy, parse_sts_record

__all__ = ["check_mta_sts", "fetch_policy"]

MAX_POLICY = 64 * 1024  # RFC 8461 3.3 suggests a small limit; policies are a few lines
POLICY_PATH = "/.well-known/mta-sts.txt"


class PolicyFetchError(CheckError):
    """The policy could not be fetched; ``code`` is a finding code."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


async def fetch_policy(
    lookup: Lookup, domain: str, *, context: ssl.SSLContext, port: int = 443, timeout: float = 10.0
) -> str:
    """GET ``https://mta-sts.<domain>/.well-known/mta-sts.txt``; raise PolicyFetchError."""
    host = f"mta-sts.{domain}"
    addrs = [*(await lookup.query(host, "A")).records, *(await lookup.query(host, "AAAA")).records]
    if not addrs:
        raise PolicyFetchError("policy_host_unresolvable", host)
    request = (
        f"GET {POLICY_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: deliverwatch\r\n"
        "Accept: text/plain\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(addrs[0], port, ssl=context, server_hostname=host), timeout
        )
        try:
            writer.write(request)
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(MAX_POLICY + 8192), timeout)
        finally:
            writer.close()
    except ssl.SSLCertVerificationError as exc:
        raise PolicyFetchError("policy_certificate_invalid", str(exc)) from exc
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        raise PolicyFetchError("policy_fetch_failed", str(exc)) from exc
    return _body(raw)


def _body(raw: bytes) -> str:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise PolicyFetchError("policy_fetch_failed", "not an HTTP response")
    status = int(parts[1])
    if 300 <= status < 400:
        raise PolicyFetchError("policy_redirect", lines[0])
    if status != 200:
        raise PolicyFetchError("policy_http_error", lines[0])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    if not headers.get("content-type", "").lower().startswith("text/plain"):
        raise PolicyFetchError("policy_not_text_plain", headers.get("content-type", ""))
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _unchunk(body)
    if len(body) > MAX_POLICY:
        raise PolicyFetchError("policy_too_large")
    return body.decode("utf-8", "replace")


def _unchunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


async def _policy_findings(lookup: Lookup, domain: str, text: str) -> tuple[list[str], str]:
    policy = parse_sts_policy(text)
    findings = [*policy.errors, *policy.warnings]
    if policy.valid and policy.mode in ("enforce", "testing"):
        mx = await lookup.query(domain, "MX")
        for host in (r.split(" ", 1)[1] for r in mx.records):
            if host != "." and not policy.matches(host):
                findings.append(f"mx_not_in_policy:{host}")
    return findings, policy.mode or ""


async def check_mta_sts(
    lookup: Lookup,
    domain: str,
    *,
    context: ssl.SSLContext | None = None,
    port: int = 443,
    timeout: float = 10.0,
) -> AuthResult:
    """Check the MTA-STS record and policy of ``domain``; missing MTA-STS is a warning."""
    name = f"_mta-sts.{domain}"
    answer = await lookup.query(name, "TXT")
    if answer.failed:
        return AuthResult(
            kind=CheckKind.MTA_STS,
            subject=name,
            status=Status.UNKNOWN,
            findings=(f"dns_{answer.status}",),
        )
    records = [t for t in answer.records if t.startswith("v=STSv1")]
    if not records:
        return AuthResult(
            kind=CheckKind.MTA_STS,
            subject=name,
            status=Status.WARN,
            findings=("record_missing",),
            fix=f'publish TXT {name} "v=STSv1; id=<yyyymmddnn>" and a policy '
            f"at https://mta-sts.{domain}{POLICY_PATH}",
        )
    record = parse_sts_record(records[0])
    findings = list(record.errors) + (["multiple_records"] if len(records) > 1 else [])
    try:
        text = await fetch_policy(
            lookup,
            domain,
            context=context or ssl.create_default_context(),
            port=port,
            timeout=timeout,
        )
        more, mode = await _policy_findings(lookup, domain, text)
        findings += more
    except PolicyFetchError as exc:
        findings.append(exc.code)
        mode = ""
    hard = {
        "policy_fetch_failed",
        "policy_certificate_invalid",
        "policy_redirect",
        "policy_http_error",
        "policy_not_text_plain",
        "policy_host_unresolvable",
        "bad_version",
        "bad_mode",
        "bad_max_age",
        "missing_mx",
        "bad_mx_pattern",
        "multiple_records",
        *record.errors,
    }
    codes = {f.split(":", 1)[0] for f in findings}
    status = (
        Status.FAIL
        if codes & hard or ("mx_not_in_policy" in codes and mode == "enforce")
        else Status.WARN
        if findings
        else Status.PASS
    )
    return AuthResult(
        kind=CheckKind.MTA_STS,
        subject=name,
        status=status,
        findings=tuple(findings),
        record=record.text,
        details={"id": record.id or "", "mode": mode},
    )
