#!/bin/sh
# The official image's first start, in short: as root, own the data folder and become
# postgres; on an empty folder, initdb with POSTGRES_USER/POSTGRES_PASSWORD (password
# authentication over TCP), create POSTGRES_DB; then run the server on every interface.
set -eu
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /run/postgresql
    chown postgres:postgres "$PGDATA" /run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "entrypoint: POSTGRES_PASSWORD is not set" >&2
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        pg_ctl --silent --wait -o "-c listen_addresses=''" start
        createdb --username="$POSTGRES_USER" "$POSTGRES_DB"
        pg_ctl --silent --wait --mode=fast stop
    fi
    echo "entrypoint: database $POSTGRES_DB created for $POSTGRES_USER"
fi
[ "$1" = postgres ] && shift && set -- postgres -c listen_addresses='*' "$@"
exec "$@"
