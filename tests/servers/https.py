"""A loopback HTTPS server with a freshly generated CA and leaf certificate.

Serves fixed responses (path -> status, headers, body) for the MTA-STS policy fetch. The CA
certificate is written to ``ca_file`` and offered as ``client_context()`` so the code under
test verifies the chain and the host name exactly as it would in production.
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["HTTPSServer", "Request", "Response"]


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


#: A route that answers according to the request (a token endpoint, an auth check).
Handler = Callable[[Request], Response]


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    names: list[str],
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


class HTTPSServer:
    """``with HTTPSServer({"/path": Response(...)}, names=["mta-sts.example.com"]) as s:``."""

    def __init__(self, routes: dict[str, Response | Handler], names: list[str]) -> None:
        self.routes = routes
        self.requests: list[tuple[str, str]] = []  # (Host header, path)
        self.seen: list[Request] = []  # every request in full (POSTs and headers too)
        self._dir = tempfile.TemporaryDirectory()
        folder = Path(self._dir.name)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "deliverwatch test CA")])
        ca = _cert("deliverwatch test CA", ca_key, ca_name, ca_key, ca=True, names=[])
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = _cert(names[0], leaf_key, ca_name, ca_key, ca=False, names=names)
        self.ca_file = folder / "ca.pem"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        chain = folder / "leaf.pem"
        chain.write_bytes(
            leaf.public_bytes(serialization.Encoding.PEM)
            + leaf_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self._server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_context.load_cert_chain(chain)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def client_context(self) -> ssl.SSLContext:
        """A default-verifying context that trusts only this server's CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def __enter__(self) -> HTTPSServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                server.requests.append((self.headers.get("Host", ""), self.path))
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, dict(self.headers.items()),
                                  self.rfile.read(length) if length else b"")  # fmt: skip
                server.seen.append(request)
                route = server.routes.get(self.path, Response(404, b"not found"))
                response = route if isinstance(route, Response) else route(request)
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for key, value in response.headers:
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(response.body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.socket = self._server_context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        self._dir.cleanup()
