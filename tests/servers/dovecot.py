"""A real Dovecot 2.3 (Debian ``dovecot-imapd``) on loopback ports, for tests and benchmarks.

Everything lives in a private directory made by :class:`Dovecot` (config, TLS key and
certificate, passwd-file, maildirs, logs): nothing under ``/etc/dovecot`` is read and the
system service is not involved. Two listeners are opened on free 127.0.0.1 ports: ``port``
(plain IMAP with STARTTLS, RFC 3501 6.2.1) and ``tls_port`` (implicit TLS, RFC 8314).

Running as root (CI containers): Dovecot refuses to run its login processes or to access mail
as uid 0, so logins run as ``dovenull`` and mail is owned by the ``dovecot`` system user (both
created by the Debian package); as any other user everything runs as that user. The directory
is a fresh ``/tmp/dw-dovecot-*`` (mode 0711): Dovecot's UNIX sockets must fit in 108 bytes
and the mail user must be able to traverse it, which rules out pytest's ``tmp_path``.

The server runs in the foreground (``dovecot -F``) in its own session, so :meth:`crash`
can SIGKILL the whole process group (a power cut) and :meth:`stop` (SIGTERM) is Dovecot's
orderly shutdown, which drops every client with ``* BYE Server shutting down``. Both keep
the maildirs, so :meth:`start` again is a restart with the same ports and the same mail.
Messages are placed with IMAP APPEND (:meth:`append`), as a mail delivery would.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import grp
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from imapclient import IMAPClient

__all__ = ["DOVECOT", "Dovecot", "dovecot_available", "make_certificate"]

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
HOST = "127.0.0.1"
#: Dovecot 2.3's capabilities minus MOVE: a real server that makes clients fall back to
#: COPY + \Deleted + UID EXPUNGE (RFC 6851 section 3.3, RFC 4315).
NO_MOVE_CAPABILITIES = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES "
    "WITHIN CONTEXT=SEARCH LIST-STATUS BINARY LITERAL+"
)


def dovecot_available() -> bool:
    return Path(DOVECOT).exists() and Path(DOVEADM).exists()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def make_certificate(
    cert_path: Path, key_path: Path, names: Sequence[str] = ("localhost",)
) -> None:
    """A self-signed P-256 certificate for ``names`` and 127.0.0.1, valid for two days."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = dt.datetime.now(dt.UTC)
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(HOST))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)


class Dovecot:
    """One Dovecot instance; a context manager that starts it and removes all traces after."""

    def __init__(
        self,
        users: dict[str, str] | None = None,
        *,
        capabilities: str | None = None,
        max_connections: int = 50,
        spare_users: int = 60,
    ) -> None:
        self.users = dict(users or {"bounces": "secret"})
        self._spare = [f"user{i}" for i in range(spare_users, 0, -1)]
        self.users.update({u: f"pw-{u}" for u in self._spare})
        self.capabilities = capabilities
        self.max_connections = max_connections
        self.root = Path(tempfile.mkdtemp(prefix="dw-dovecot-"))
        self.root.chmod(0o711)
        self.port = _free_port()
        self.tls_port = _free_port()
        self.host = HOST
        self.ca_file = self.root / "cert.pem"
        self.proc: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("dovecot")
            self.mail_uid, self.mail_gid = mail_user.pw_uid, mail_user.pw_gid
            self.internal_user, self.login_user = "root", "dovenull"
            self.internal_group = "root"
        else:
            me = pwd.getpwuid(os.geteuid())
            self.mail_uid, self.mail_gid = me.pw_uid, me.pw_gid
            self.internal_user = self.login_user = me.pw_name
            self.internal_group = grp.getgrgid(me.pw_gid).gr_name
        self._write_files()

    # ------------------------------------------------------------------ set-up

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def maildir(self, user: str = "bounces") -> Path:
        return self.root / "mail" / user

    def _write_files(self) -> None:
        make_certificate(self.ca_file, self.root / "key.pem")
        (self.root / "users").write_text(
            "".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self.users.items()), encoding="utf-8"
        )
        for sub in ("mail", "home"):
            (self.root / sub).mkdir()
            os.chown(self.root / sub, self.mail_uid, self.mail_gid)
        caps = f"imap_capability = {self.capabilities}\n" if self.capabilities else ""
        r = self.root
        self.config_path.write_text(
            f"""# generated by tests/servers/dovecot.py
base_dir = {r}/run
state_dir = {r}/state
instance_name = dw-{secrets.token_hex(4)}
protocols = imap
listen = {HOST}
log_path = {self.log_path}
info_log_path = {self.log_path}
default_internal_user = {self.internal_user}
default_internal_group = {self.internal_group}
default_login_user = {self.login_user}
first_valid_uid = {self.mail_uid}
first_valid_gid = {self.mail_gid}
mail_location = maildir:{r}/mail/%u
mail_fsync = never
ssl = yes
ssl_cert = <{r}/cert.pem
ssl_key = <{r}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
# No auth penalty for the wrong-password tests (trusted networks are never penalised).
login_trusted_networks = 127.0.0.0/8
mail_max_userip_connections = {self.max_connections}
{caps}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/users
}}
userdb {{
  driver = static
  args = uid={self.mail_uid} gid={self.mail_gid} home={r}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.tls_port}
    ssl = yes
  }}
  service_count = 0
  process_min_avail = 2
}}
""",
            encoding="utf-8",
        )

    # ------------------------------------------------------------------ life cycle

    def start(self, timeout: float = 20) -> None:
        """Start (or restart) the server and wait until it greets on both ports."""
        if self.proc is not None and self.proc.poll() is None:
            return
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited at start-up:\n{self.log_tail()}")
            if self._greets(self.port) and self._greets(self.tls_port, tls=True):
                return
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start in {timeout}s:\n{self.log_tail()}")

    def _greets(self, port: int, *, tls: bool = False) -> bool:
        try:
            with socket.create_connection((HOST, port), timeout=2) as raw:
                if not tls:
                    return raw.recv(64).startswith(b"* OK")
                with self.ssl_context().wrap_socket(raw, server_hostname="localhost") as sock:
                    return sock.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def stop(self, timeout: float = 20) -> None:
        """Orderly shutdown (SIGTERM): clients get ``* BYE``, the mail is kept."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.crash()
        self._reap_group()

    def crash(self) -> None:
        """SIGKILL every Dovecot process at once (a power cut); the mail is kept."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._reap_group()

    def _reap_group(self) -> None:
        """Wait until the ports are closed: killed processes may linger as zombies until the
        container's init reaps them, but they no longer hold sockets."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not any(self._listening(p) for p in (self.port, self.tls_port)):
                return
            time.sleep(0.02)

    @staticmethod
    def _listening(port: int) -> bool:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            return False

    def restart(self) -> None:
        self.stop()
        self.start()

    def kick(self, user: str = "bounces") -> bool:
        """Disconnect every session of ``user`` now (``doveadm kick``): a dropped connection.

        False when ``user`` had no session (doveadm exits 68, EX_NOUSER).
        """
        done = subprocess.run(
            [DOVEADM, "-c", str(self.config_path), "kick", user],
            check=False,
            capture_output=True,
        )
        if done.returncode not in (0, 68):
            raise RuntimeError(f"doveadm kick failed: {done.stderr!r}")
        return done.returncode == 0

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def close(self) -> None:
        self.crash()  # the orderly stop takes Dovecot two seconds; nothing here needs it
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def add_user(self) -> str:
        """A fresh account with an empty mailbox, from the pool written at start-up.

        Dovecot re-reads a changed passwd-file at most once a second, so accounts added while
        it runs could be refused for up to a second; the pool avoids the race.
        """
        if not self._spare:
            raise RuntimeError("no spare accounts left: raise Dovecot(spare_users=...)")
        return self._spare.pop()

    # ------------------------------------------------------------------ clients

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    @contextlib.contextmanager
    def client(self, user: str = "bounces") -> Iterator[IMAPClient]:
        """A logged-in IMAPClient over implicit TLS (the test's own view of the mailbox)."""
        imap = IMAPClient(
            HOST, port=self.tls_port, ssl=True, ssl_context=self.ssl_context(), timeout=30
        )
        try:
            imap.login(user, self.users[user])
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def append(
        self,
        messages: Iterable[bytes],
        *,
        folder: str = "INBOX",
        user: str = "bounces",
        when: dt.datetime | None = None,
        chunk: int = 100,
    ) -> int:
        """APPEND ``messages`` (MULTIAPPEND, RFC 3502, in chunks); return how many."""
        n = 0
        with self.client(user) as imap:
            if not imap.folder_exists(folder):
                imap.create_folder(folder)
            batch: list[bytes] = []
            for raw in messages:
                batch.append(raw)
                if len(batch) >= chunk:
                    n += self._append_batch(imap, folder, batch, when)
                    batch = []
            if batch:
                n += self._append_batch(imap, folder, batch, when)
        return n

    @staticmethod
    def _append_batch(
        imap: IMAPClient, folder: str, batch: list[bytes], when: dt.datetime | None
    ) -> int:
        if when is not None or len(batch) == 1:
            for raw in batch:
                imap.append(folder, raw, msg_time=when)
            return len(batch)
        imap.multiappend(folder, batch)
        return len(batch)

    def uids(self, folder: str = "INBOX", user: str = "bounces") -> list[int]:
        """UIDs of the messages in ``folder`` not flagged \\Deleted ([] if it does not exist)."""
        with self.client(user) as imap:
            if not imap.folder_exists(folder):
                return []
            imap.select_folder(folder, readonly=True)
            return sorted(int(u) for u in imap.search(["UNDELETED"]))

    def count(self, folder: str = "INBOX", user: str = "bounces") -> int:
        return len(self.uids(folder, user))

    def bodies(self, folder: str = "INBOX", user: str = "bounces") -> list[bytes]:
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search(["UNDELETED"])
            if not uids:
                return []
            got = imap.fetch(uids, ["BODY.PEEK[]"])
            return [got[u][b"BODY[]"] for u in sorted(got)]

    def flags(self, folder: str = "INBOX", user: str = "bounces") -> dict[int, tuple[bytes, ...]]:
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search(["ALL"])
            return {int(u): tuple(f) for u, f in imap.get_flags(uids).items()} if uids else {}

    def delete_folder(self, folder: str, user: str = "bounces") -> None:
        """Delete ``folder``; created again it gets a new UIDVALIDITY (RFC 3501 2.3.1.1)."""
        with self.client(user) as imap:
            imap.delete_folder(folder)
