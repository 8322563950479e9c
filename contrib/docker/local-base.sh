#!/bin/sh
# Base images for the Dockerfile and contrib/docker-compose.yml on a machine whose Docker
# engine reaches no container registry, made from Debian packages alone:
#
#   local/python:3.11-bookworm   debootstrap'd Debian 12 with python3 (3.11), python3-venv,
#                                ca-certificates (+ this host's own CAs), via `docker import`
#   local/postgres:15-bookworm   that base plus Debian's PostgreSQL 15, with an entrypoint that
#                                honours the official image's POSTGRES_USER/_PASSWORD/_DB
#
# Then: DELIVERWATCH_BASE=local/python:3.11-bookworm POSTGRES_IMAGE=local/postgres:15-bookworm
# contrib/docker-smoke.sh   (README, "Operations"). With registry access none of this is needed.
#
# Needs root, debootstrap and a Debian mirror (MIRROR, default deb.debian.org); the rootfs is
# made in a temporary folder under /var/tmp and deleted at the end. BUILD_NETWORK=host (the
# default) lets the PostgreSQL build reach the mirror where containers have no route out.
set -eu

MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
PYTHON_IMAGE=${PYTHON_IMAGE:-local/python:3.11-bookworm}
POSTGRES_IMAGE=${POSTGRES_IMAGE:-local/postgres:15-bookworm}
BUILD_NETWORK=${BUILD_NETWORK:-host}
here=$(cd "$(dirname "$0")" && pwd)

rootfs=$(mktemp -d /var/tmp/deliverwatch-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

echo "local-base: debootstrap $SUITE into $rootfs"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 || {
    tail -20 "$rootfs.log" >&2
    exit 1
}
rm -f "$rootfs.log"
# the CAs this host trusts beyond Debian's (a TLS-inspecting proxy on the way to PyPI)
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null
fi
# the image's apt sources: the mirror the rootfs came from, with security updates
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
    "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SUITE" >"$rootfs/etc/apt/sources.list"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin

echo "local-base: import $PYTHON_IMAGE"
tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' - "$PYTHON_IMAGE" >/dev/null

echo "local-base: build $POSTGRES_IMAGE"
docker build --quiet --network "$BUILD_NETWORK" --build-arg BASE="$PYTHON_IMAGE" \
    -t "$POSTGRES_IMAGE" "$here/local-postgres" >/dev/null
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$PYTHON_IMAGE"
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$POSTGRES_IMAGE"
