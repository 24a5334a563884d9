# Start and stop a throwaway PostgreSQL on loopback, as the postgres user.
# Sets PG_DSN (libpq keywords) for AUTH_CODE_FLOW_TEST_POSTGRES.

pg_bin() {
    if command -v "$1" >/dev/null; then command -v "$1"; else ls /usr/lib/postgresql/*/bin/"$1" | tail -n 1; fi
}

start_postgres() {
    PG_DIR=$(mktemp -d /tmp/acfd-pg.XXXXXX)
    chown postgres "$PG_DIR"
    PG_PORT=${PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
    runuser -u postgres -- "$(pg_bin initdb)" -D "$PG_DIR/data" -A trust -U postgres >/dev/null
    runuser -u postgres -- "$(pg_bin pg_ctl)" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
        -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c max_connections=100" start >/dev/null
    PG_DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
    export PG_DSN PG_DIR PG_PORT
    echo "PostgreSQL on 127.0.0.1:$PG_PORT"
}

stop_postgres() {
    if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
        runuser -u postgres -- "$(pg_bin pg_ctl)" -D "$PG_DIR/data" -m fast -w stop >/dev/null || true
        rm -rf "$PG_DIR"
    fi
}
