#!/bin/sh
# Build the image and run contrib/docker-compose.yml as `docker compose up` would, check that
# it gives what `make run` gives, then remove what this script made (README, "Operations").
#
#   contrib/docker-smoke.sh                     the official python and postgres images
#   DELIVERWATCH_BASE=local/python:3.11-bookworm POSTGRES_IMAGE=local/postgres:15-bookworm \
#   DELIVERWATCH_BUILD_NETWORK=host contrib/docker-smoke.sh   (no registry: contrib/docker/local-base.sh)
#
# Checks, on PostgreSQL: the schema migrated to this version's head (`docker compose run --rm
# deliverwatch db current`, which must not start a second service); `deliverwatch status`
# exits 0 with the start-up jobs (check-blocklists, check-auth, alert-rules) run ok; the relay
# answers EHLO with STARTTLS and completes the TLS handshake; GET /healthz says the database
# answers; `stop` ends every part with exit status 0 within the grace period; a second start
# finds the schema current and comes up healthy again.
#
# It runs its own compose project (deliverwatch-smoke-PID) on free loopback ports, so a
# running deliverwatch project is not touched; at exit it removes that project's containers,
# network and volumes, and the image it built unless KEEP_IMAGE=1. Takes 1-4 minutes
# (most of it `pip install` in the build). Uses `docker compose` (v2) when the docker CLI has
# it, else `docker-compose` (v1); DOCKER_HOST is honoured.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
project="deliverwatch-smoke-$$"
export DELIVERWATCH_IMAGE="deliverwatch-smoke:$$"
export DELIVERWATCH_HOSTNAME=smoke.deliverwatch.test
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
DELIVERWATCH_SUBMISSION_PORT=$(free_port)
DELIVERWATCH_WEB_PORT=$(free_port)
export DELIVERWATCH_SUBMISSION_PORT DELIVERWATCH_WEB_PORT

if docker compose version >/dev/null 2>&1; then
    dc="docker compose"
elif command -v docker-compose >/dev/null 2>&1; then
    dc=docker-compose
else
    echo "docker-smoke: neither 'docker compose' nor 'docker-compose' is installed" >&2
    exit 2
fi
# $dc unquoted on purpose: "docker compose" is two words
compose() { $dc -p "$project" -f "$repo/contrib/docker-compose.yml" "$@"; }
docker version --format 'docker-smoke: engine {{.Server.Version}}' || exit 2

t0=$(date +%s)
step() { echo "docker-smoke: [$(($(date +%s) - t0)) s] $*"; }
fail() {
    echo "docker-smoke: FAILED: $*" >&2
    compose logs --tail=40 >&2 || true
    exit 1
}
cleanup() {
    compose down --volumes --timeout 30 >/dev/null 2>&1 || true
    [ "${KEEP_IMAGE:-0}" = 1 ] || docker image rm "$DELIVERWATCH_IMAGE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

container() { compose ps -q "$1"; }
wait_healthy() {
    id=$(container deliverwatch)
    for _ in $(seq 1 90); do
        case $(docker inspect -f '{{.State.Health.Status}} {{.State.Status}}' "$id") in
            "healthy running") return 0 ;;
            *exited* | *dead* | "unhealthy "*) fail "the deliverwatch container is not healthy" ;;
        esac
        sleep 2
    done
    fail "the deliverwatch container was not healthy within 180 s"
}

step "build ${DELIVERWATCH_BASE:-python:3.11-slim-bookworm} -> $DELIVERWATCH_IMAGE"
compose build >"${TMPDIR:-/tmp}/$project-build.log" 2>&1 ||
    { tail -30 "${TMPDIR:-/tmp}/$project-build.log" >&2; fail "build"; }
rm -f "${TMPDIR:-/tmp}/$project-build.log"
step "up (submission 127.0.0.1:$DELIVERWATCH_SUBMISSION_PORT, web 127.0.0.1:$DELIVERWATCH_WEB_PORT)"
compose up -d >/dev/null 2>&1 || fail "up"
wait_healthy
step "healthy"

# a one-off command in a container of its own, beside the running service (not a second serve)
current=$(timeout 120 $dc -p "$project" -f "$repo/contrib/docker-compose.yml" \
    run --rm -T deliverwatch db current 2>/dev/null) ||
    fail "run --rm deliverwatch db current: $current"
echo "$current" | sed 's/^/    /'
compose exec -T postgres psql -U deliverwatch -d deliverwatch -tAc \
    "select 'postgresql: ' || current_setting('server_version') || ', schema ' || version_num from alembic_version" |
    sed 's/^/    /'

# the start-up jobs record their runs a moment after the web service answers
for _ in $(seq 1 15); do
    status=$(compose exec -T deliverwatch deliverwatch status --format json) && code=0 || code=$?
    echo "$status" | python3 -c '
import json, sys
runs = {j["job"]: j["outcome"] for j in json.load(sys.stdin)["jobs"]}
sys.exit(0 if all(runs.get(j) == "ok" for j in ("check-blocklists", "check-auth", "alert-rules")) else 1)
' && break
    sleep 2
done
echo "$status" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("    status:", s["state"], "(exit %d);" % s["exit_code"],
      ", ".join("%s %s" % (j["job"], j["outcome"]) for j in s["jobs"]))
runs = {j["job"]: j["outcome"] for j in s["jobs"]}
bad = [j for j in ("check-blocklists", "check-auth", "alert-rules") if runs.get(j) != "ok"]
sys.exit(f"start-up jobs not run ok: {bad}" if bad or s["state"] != "ok" else 0)
' || fail "status"
[ "$code" = 0 ] || fail "deliverwatch status exited $code"
compose logs deliverwatch | grep -q "error:" && fail "the service logged an error"

python3 - "$DELIVERWATCH_SUBMISSION_PORT" "$DELIVERWATCH_WEB_PORT" <<'EOF' || fail "SMTP/HTTP"
import json, smtplib, ssl, sys, urllib.request
smtp_port, web_port = int(sys.argv[1]), int(sys.argv[2])
with smtplib.SMTP("127.0.0.1", smtp_port, timeout=20) as smtp:
    code, banner = smtp.ehlo("smoke.test")
    assert code == 250 and smtp.has_extn("starttls"), (code, banner)
    smtp.starttls(context=ssl._create_unverified_context())  # the relay's self-signed pair
    code, _ = smtp.ehlo("smoke.test")
    assert code == 250, code
    print(f"    relay: EHLO {banner.split()[0].decode()}, STARTTLS ok ({smtp.sock.version()})")
with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=20) as resp:
    body = json.load(resp)
    assert resp.status == 200 and body == {"status": "ok", "database": "ok"}, body
    print(f"    web: GET /healthz {resp.status} {body}")
EOF

step "stop"
id=$(container deliverwatch)
compose stop --timeout 120 deliverwatch >/dev/null 2>&1 || fail "stop"
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
[ "$exit_code" = 0 ] || fail "deliverwatch exited $exit_code on SIGTERM"
step "stopped, exit status 0; start again"
compose start deliverwatch >/dev/null 2>&1 || fail "start"
wait_healthy
compose logs deliverwatch | grep -q "database already at" || fail "no 'database already at' on restart"
step "healthy again, schema already current"
step "ok"
