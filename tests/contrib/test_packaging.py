"""The packaging files (issue 17, point 7): systemd units, Dockerfile, compose file.

The files are checked for what ``docker compose up`` and systemd rely on: they parse, they
name files that exist, the ports they publish are the ones the container's config listens
on, the units carry the hardening, and ``systemd-analyze verify`` accepts the units when it
is installed. Building and running the image takes a Docker engine and minutes:
``contrib/docker-smoke.sh`` does that (README, "Operations"), outside the suite.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.config import load_config
from tests.conftest import REPO

UNITS = ("daemon", "relay", "web")
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "DynamicUser": "yes",
    "ReadWritePaths": "/var/lib/deliverwatch",
    "StateDirectory": "deliverwatch",
}


def _unit(name: str) -> dict[str, list[str]]:
    """``Key`` -> values of a unit file (keys may repeat, which configparser refuses)."""
    keys: dict[str, list[str]] = {}
    for line in (
        (REPO / "contrib" / "systemd" / f"deliverwatch-{name}.service")
        .read_text(encoding="utf-8")
        .splitlines()
    ):
        if line.strip() and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


@pytest.mark.parametrize("name", UNITS)
def test_units_run_the_right_command_hardened(name: str) -> None:
    unit = _unit(name)
    assert unit["ExecStart"] == [f"/usr/local/bin/deliverwatch {name}"]
    for key, value in HARDENING.items():
        assert unit[key] == [value], key
    assert unit["Environment"] == ["DELIVERWATCH_CONFIG=/etc/deliverwatch/config.toml"]
    caps = unit["CapabilityBoundingSet"]
    assert caps == (["CAP_NET_BIND_SERVICE"] if name == "relay" else [""])
    # only the daemon reloads its config on SIGHUP
    assert ("ExecReload" in unit) == (name == "daemon")


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    # verify wants ExecStart's program to exist: point it at this checkout's entry point
    exe = Path(sys.executable).parent / "deliverwatch"
    for name in UNITS:
        text = (REPO / "contrib" / "systemd" / f"deliverwatch-{name}.service").read_text()
        (tmp_path / f"deliverwatch-{name}.service").write_text(
            text.replace("/usr/local/bin/deliverwatch", str(exe))
        )
    units = sorted(str(p) for p in tmp_path.glob("*.service"))
    done = subprocess.run([tool, "verify", *units], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "deliverwatch" not in done.stderr, done.stderr  # no warning about our units


def _compose() -> dict:  # type: ignore[type-arg]
    """The compose file as compose reads it with none of its variables set: each
    ``${NAME:-default}`` is its default."""
    text = (REPO / "contrib" / "docker-compose.yml").read_text(encoding="utf-8")
    bare = re.findall(r"(?<!\$)\$(?:\{[A-Z_]+\}|[A-Z_])", text)  # `$$` is a literal `$`
    assert not bare, f"variables without a default: {bare}"
    return yaml.safe_load(re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text))


def _dockerfile() -> list[str]:
    return [
        ln.strip() for ln in (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]  # fmt: skip


def test_compose_runs_migrations_then_the_three_parts_on_postgresql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose = _compose()
    pg, dw = compose["services"]["postgres"], compose["services"]["deliverwatch"]
    assert pg["image"].startswith("postgres:") and "healthcheck" in pg
    assert dw["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    context = (REPO / "contrib" / dw["build"]["context"]).resolve()
    assert context == REPO and (context / dw["build"]["dockerfile"]).is_file()
    # the build's base defaults to the Dockerfile's own default
    assert f"ARG BASE={dw['build']['args']['BASE']}" in _dockerfile()
    assert dw["build"]["network"] == "default" and dw["image"] == "deliverwatch:latest"
    assert dw["hostname"]  # not the container id, which changes on every re-create
    assert dw["command"] == ["serve"]  # = `make run`, after the entrypoint's `db upgrade`
    assert "db upgrade" in (REPO / "Makefile").read_text()
    url = dw["environment"]["DELIVERWATCH_DB_URL"]
    assert url.startswith("postgresql+psycopg://") and "@postgres:5432/" in url
    # the container's config: PostgreSQL from that variable, listeners on the published ports
    monkeypatch.setenv("DELIVERWATCH_DB_URL", "postgresql+psycopg://u@127.0.0.1:5432/x")
    cfg = load_config(REPO / "contrib" / "docker" / "config.toml")
    assert cfg.database.url.reveal() == "postgresql+psycopg://u@127.0.0.1:5432/x"
    listening = {int(x.rsplit(":", 1)[1]) for x in [*cfg.relay.listen, cfg.web.listen]}
    published = {int(p.rsplit(":", 1)[1]) for p in dw["ports"]}
    assert listening == published == {2587, 8025}
    assert all(p.startswith("127.0.0.1:") for p in dw["ports"])  # not on every interface
    assert str(cfg.relay.data_dir).startswith("/var/lib/deliverwatch")
    assert {"/var/lib/deliverwatch" in v for v in dw["volumes"]} == {True}
    # the health check asks the web service's /healthz on the port it listens on
    assert (
        f"http://127.0.0.1:{cfg.web.listen.rsplit(':', 1)[1]}/healthz"
        in dw["healthcheck"]["test"][-1]
    )


def _entrypoint(*command: str, db: Path) -> subprocess.CompletedProcess[str]:
    """The compose service's entrypoint run by /bin/sh as the container runs it, with this
    checkout's ``deliverwatch`` on the PATH, the image's config and a SQLite database."""
    entrypoint = _compose()["services"]["deliverwatch"]["entrypoint"]
    argv = [part.replace("$$", "$") for part in entrypoint]  # compose's escape of `$`
    assert argv[:2] == ["/bin/sh", "-c"]
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "DELIVERWATCH_CONFIG": str(REPO / "contrib" / "docker" / "config.toml"),
        "DELIVERWATCH_DB_URL": f"sqlite:///{db}",
    }
    return subprocess.run(
        [*argv, *command], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_compose_entrypoint_migrates_before_the_services_only(tmp_path: Path) -> None:
    """``docker compose run --rm deliverwatch status`` runs ``status``: the entrypoint used
    to end in ``serve`` whatever the command, so ``run`` started a second serve that took the
    service's pid files. The services (``serve``, ``daemon``...) start after ``db upgrade``."""
    db = tmp_path / "dw.db"
    done = _entrypoint("db", "current", db=db)
    assert done.returncode == 1 and "current: (empty)" in done.stdout, done  # not migrated
    done = _entrypoint("daemon", "--help", db=db)
    assert done.returncode == 0 and "database upgraded: (empty) ->" in done.stdout, done
    done = _entrypoint("db", "current", db=db)
    assert done.returncode == 0 and "up to date" in done.stdout, done


def test_compose_file_reads_with_compose_v1_and_v2() -> None:
    """docker-compose 1.29 (Debian 12's) refuses a top-level ``name``; the project name
    comes from ``contrib/.env``, which both read from the compose file's folder."""
    assert set(_compose()) == {"services", "volumes"}
    env = (REPO / "contrib" / ".env").read_text(encoding="utf-8").splitlines()
    assert "COMPOSE_PROJECT_NAME=deliverwatch" in env


@pytest.mark.parametrize(
    "script",
    ["contrib/docker-smoke.sh", "contrib/docker/local-base.sh",
     "contrib/docker/local-postgres/entrypoint.sh"],
)  # fmt: skip
def test_container_scripts_are_posix_shell(script: str) -> None:
    """They run under Debian's /bin/sh (dash) and in the stand-in PostgreSQL image."""
    path = REPO / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    assert path.read_text(encoding="utf-8").startswith("#!/bin/sh\n")
    shell = shutil.which("dash") or "/bin/sh"
    done = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_dockerfile_installs_the_package_and_runs_unprivileged() -> None:
    lines = _dockerfile()
    instructions = [ln.split(None, 1)[0] for ln in lines if not ln.startswith(("&&", "-"))]
    # the base is a build argument whose default is the official image
    assert lines[0].startswith("ARG BASE=python:3.11-") and lines[1] == "FROM ${BASE}"
    # into a venv: Debian's own python3 refuses `pip install` into the system (PEP 668)
    assert any(ln.startswith("RUN python3 -m venv /opt/deliverwatch") for ln in lines)
    assert "PATH=/opt/deliverwatch/bin:$PATH \\" in lines  # of the ENV instruction
    for line in lines:
        if line.startswith("COPY "):
            *sources, _dest = shlex.split(line)[1:]
            for src in sources:
                assert (REPO / src).exists(), src
    assert "USER deliverwatch" in lines
    assert lines.index("USER deliverwatch") > max(
        i for i, ln in enumerate(lines) if ln.startswith("RUN ")
    )
    assert 'ENTRYPOINT ["deliverwatch"]' in lines and 'CMD ["serve"]' in lines
    assert "EXPOSE 2587 8025" in lines and instructions.count("FROM") == 1
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


def test_shell_completion_as_documented() -> None:
    """README: ``eval "$(_DELIVERWATCH_COMPLETE=bash_source deliverwatch)"``."""
    exe = str(Path(sys.executable).parent / "deliverwatch")
    source = subprocess.run(
        [exe], env={"_DELIVERWATCH_COMPLETE": "bash_source", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "_deliverwatch_completion()" in source.stdout
    words = subprocess.run(
        [exe],
        env={"_DELIVERWATCH_COMPLETE": "bash_complete", "COMP_WORDS": "deliverwatch que",
             "COMP_CWORD": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "plain,queue" in words.stdout.splitlines()
    assert "_DELIVERWATCH_COMPLETE=bash_source deliverwatch" in (REPO / "README.md").read_text()
