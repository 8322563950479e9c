"""Issue 17.1: every job's last run shows its counts in ``deliverwatch status``, not only the
jobs that returned a dict: a real poll of a Dovecot mailbox and a real blocklist run against
the loopback DNS server, both built by the daemon's own job list and run as the scheduler runs
them (``run_guarded`` with the recorder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from monitor.app import App
from monitor.config import load_config
from monitor.daemon.jobs import job_specs
from monitor.daemon.scheduler import JobRecorder, run_guarded
from monitor.jobresult import JobResult
from tests.conftest import write_config
from tests.integration.samples import dsn
from tests.servers.dns import DNSServer, Zone

IP = "192.0.2.10"
LISTED = {
    "2.0.0.127.bl.spamcop.net": [{"A": "127.0.0.2"}],
    "10.2.0.192.bl.spamcop.net": [{"A": "127.0.0.2"}, {"TXT": "spam trap hits"}],
}


def test_status_json_shows_counts_of_a_real_poll_and_blocklist_run(
    imap: Any, store: Any, tmp_path: Path, cli: Any
) -> None:
    user = imap.add_user()
    imap.append([dsn("gone@example.net"), dsn("left@example.net")], user=user)
    with DNSServer(Zone().update(LISTED)) as dns:
        config = write_config(tmp_path / "config.toml", store.url, f"""
[mailboxes.bounces]
host = "{imap.host}"
port = {imap.tls_port}
ca_file = "{imap.ca_file}"
username = "{user}"
password = "{imap.users[user]}"
role = "bounces"
[sending]
ips = ["{IP}"]
[checks]
nameservers = ["{dns.address}"]
zones = ["bl.spamcop.net"]
auth_at = ""
""")  # fmt: skip
        app = App.from_config(load_config(config))
        try:
            specs = {s.id: s for s in job_specs(app)}
            recorder = JobRecorder(store.factory, app.now)
            for name in ("poll-bounces", "check-blocklists"):
                spec = specs[name]
                result = run_guarded(name, spec.func, recorder, **spec.kwargs)
                assert isinstance(result, JobResult)  # a line for people, counts beside it
        finally:
            app.close()
    code, out = (r := cli("--config", config, "status", "--format", "json")).code, r.out
    jobs = {j["job"]: j for j in json.loads(out)["jobs"]}
    poll, blocklists = jobs["poll-bounces"], jobs["check-blocklists"]
    assert poll["outcome"] == "ok" and blocklists["outcome"] == "ok"
    assert poll["counts"]["fetched"] == 2 and poll["counts"]["bounces"] == 2
    assert poll["counts"]["failed"] == 0 and poll["counts"]["drains"] == 1
    assert poll["summary"].startswith("bounces: fetched 2, bounces 2")
    assert blocklists["counts"] == {"checks": 1, "listed": 1, "incomplete": 0, "alerts": 1}
    assert blocklists["summary"].startswith("1 blocklist checks, 1 listed")
    assert code == 2  # the listing is critical: the counts did not change the verdict
