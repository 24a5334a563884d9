# Start and stop a throwaway MariaDB on loopback, as the mysql user, in a temp dir.
# Installs Debian's mariadb-server when it is missing. Sets MARIADB_DSN (libpq-style
# keywords, like PG_DSN) for AUTH_CODE_FLOW_TEST_MARIADB.

install_mariadb() {
    if { command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ]; } && [ -d /usr/share/zoneinfo ]; then
        return
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server tzdata >/dev/null
}

start_mariadb() {
    install_mariadb
    MARIADB_DIR=$(mktemp -d /tmp/acfd-mariadb.XXXXXX)
    chown mysql "$MARIADB_DIR"
    MARIADB_PORT=${MARIADB_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
    # --no-defaults: nothing from /etc/mysql (the packaged server's socket, port, logs).
    mariadb-install-db --no-defaults --user=mysql --datadir="$MARIADB_DIR/data" \
        --auth-root-authentication-method=socket --skip-test-db >"$MARIADB_DIR/install.log" 2>&1
    # utf8mb4: a token reply may carry any Unicode (an emoji in a display name) and
    # MariaDB's "utf8" stores three bytes at most. Durability is traded for speed:
    # the server lives only as long as the run.
    runuser -u mysql -- "$(command -v mariadbd || echo /usr/sbin/mariadbd)" --no-defaults \
        --datadir="$MARIADB_DIR/data" --socket="$MARIADB_DIR/mysqld.sock" \
        --pid-file="$MARIADB_DIR/mysqld.pid" --log-error="$MARIADB_DIR/error.log" \
        --bind-address=127.0.0.1 --port="$MARIADB_PORT" --skip-name-resolve \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --sync-binlog=0 \
        --innodb-buffer-pool-size=128M --max-connections=200 </dev/null >/dev/null 2>&1 &
    local waited=0
    until mariadb --no-defaults --socket="$MARIADB_DIR/mysqld.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1; do
        waited=$((waited + 1))
        if [ "$waited" -gt 60 ]; then
            cat "$MARIADB_DIR/error.log" >&2
            echo "MariaDB did not start" >&2
            return 1
        fi
        sleep 0.5
    done
    # Time zone tables: Django converts datetimes in the database (the admin's date
    # hierarchy, Trunc) with CONVERT_TZ, which needs them (Django's MySQL notes).
    mariadb-tzinfo-to-sql /usr/share/zoneinfo 2>/dev/null \
        | mariadb --no-defaults --socket="$MARIADB_DIR/mysqld.sock" -uroot mysql
    # The test runner creates and drops test_acfd, so the user gets every privilege.
    MARIADB_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    mariadb --no-defaults --socket="$MARIADB_DIR/mysqld.sock" -uroot <<SQL
CREATE DATABASE acfd CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER 'acfd'@'127.0.0.1' IDENTIFIED BY '$MARIADB_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'acfd'@'127.0.0.1';
SQL
    MARIADB_DSN="host=127.0.0.1 port=$MARIADB_PORT user=acfd password=$MARIADB_PASSWORD dbname=acfd"
    export MARIADB_DSN MARIADB_DIR MARIADB_PORT
    echo "MariaDB $(mariadbd --version | awk '{print $3}') on 127.0.0.1:$MARIADB_PORT"
}

stop_mariadb() {
    if [ -n "${MARIADB_DIR:-}" ] && [ -f "$MARIADB_DIR/mysqld.pid" ]; then
        local pid
        pid=$(cat "$MARIADB_DIR/mysqld.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
    fi
    if [ -n "${MARIADB_DIR:-}" ]; then rm -rf "$MARIADB_DIR"; fi
}
