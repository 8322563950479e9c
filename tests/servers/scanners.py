"""A real SpamAssassin ``spamd`` and a real ClamAV ``clamd`` (Debian ``spamd`` /
``clamav-daemon``) for tests, each with a private configuration in a private directory.

``clamd`` has no internet (no freshclam): it loads one signature database written here,
``deliverwatch-test.ndb``, whose only signature matches the EICAR test string, and listens on
a UNIX socket. ``spamd`` runs with the rules the Debian package ships (GTUBE scores 1000),
local tests only (``-L``: no DNS blocklists, no network), no Bayes, no per-user config, on a
free loopback port. Both run in the foreground in their own session and are stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.servers.smtp import free_port

__all__ = [
    "CLAMD",
    "EICAR",
    "GTUBE",
    "SPAMD",
    "Clamd",
    "Spamd",
]

CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"
SPAMD = shutil.which("spamd") or "/usr/sbin/spamd"
#: The EICAR anti-virus test file (harmless; every scanner is meant to flag it).
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
#: SpamAssassin's Generic Test for Unsolicited Bulk Email (scores 1000).
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
SIGNATURE = "Deliverwatch.Test.EICAR"


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)  # our own session: spamd's children too
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


class _Scanner:
    """Stop by PID and clean up: what both scanner daemons share."""

    dir: Path
    proc: subprocess.Popen[bytes] | None

    def stop(self) -> None:
        _stop(self.proc)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()


class Clamd(_Scanner):
    """``clamd`` on a UNIX socket in a private directory (``socket_path``)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dw-clamd-"))
        os.chmod(self.dir, 0o755)
        self.db = self.dir / "db"
        self.db.mkdir()
        self.socket_path = str(self.dir / "clamd.sock")
        self.tcp_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        path = self.dir / "clamd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> Clamd:
        (self.db / "deliverwatch-test.ndb").write_text(f"{SIGNATURE}:0:*:{EICAR.hex()}\n")
        conf = self.dir / "clamd.conf"
        conf.write_text(
            f"LocalSocket {self.socket_path}\n"
            "LocalSocketMode 666\n"
            f"TCPSocket {self.tcp_port}\nTCPAddr 127.0.0.1\n"
            f"DatabaseDirectory {self.db}\n"
            f"TemporaryDirectory {self.dir}\n"
            f"LogFile {self.dir / 'clamd.log'}\n"
            f"PidFile {self.dir / 'clamd.pid'}\n"
            "Foreground yes\nScanMail yes\nStreamMaxLength 25M\n"
            "SelfCheck 0\nBytecode no\nMaxThreads 4\n"
            + ("User root\n" if os.geteuid() == 0 else "")
        )
        self.proc = subprocess.Popen(
            [CLAMD, "--config-file", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"clamd exited with {self.proc.returncode}: {self.log[-2000:]}")
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"clamd did not answer within 60 s: {self.log[-2000:]}")

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(1)
                s.connect(self.socket_path)
                s.sendall(b"zPING\0")
                return s.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def __enter__(self) -> Clamd:
        return self.start()


class Spamd(_Scanner):
    """``spamd`` on a free 127.0.0.1 port with local rules only (``port``)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dw-spamd-"))
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        path = self.dir / "spamd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> Spamd:
        site = self.dir / "site"
        site.mkdir(exist_ok=True)
        (site / "local.cf").write_text(
            "use_bayes 0\nbayes_auto_learn 0\nskip_rbl_checks 1\ndns_available no\n"
            "required_score 5.0\n"
        )
        for pre in Path("/etc/spamassassin").glob("*.pre"):  # the plugins (Check, ...) to load
            shutil.copy(pre, site / pre.name)
        home = self.dir / "home"
        home.mkdir(exist_ok=True)
        os.chmod(home, 0o777)
        args = [
            SPAMD, "-L", "-x", "--listen", f"127.0.0.1:{self.port}", "--allowed-ips=127.0.0.1",
            "--max-children=2", "--min-children=1", "--siteconfigpath", str(site),
            "--pidfile", str(self.dir / "spamd.pid"), "-s", str(self.dir / "spamd.log"),
            "--helper-home-dir", str(home),
        ]  # fmt: skip
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"spamd exited with {self.proc.returncode}: {self.log[-2000:]}")
            if self._answers():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"spamd did not answer within 90 s: {self.log[-2000:]}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"PING SPAMC/1.5\r\n\r\n")
                return b"PONG" in s.recv(64)
        except OSError:
            return False

    def __enter__(self) -> Spamd:
        return self.start()
