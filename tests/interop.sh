# Shared by the interop suites tests/sdk/run.sh and tests/rp/run.sh (sourced, not run): each
# runs its client library against a live Portcullis twice, `serve all --dev` (in-memory store)
# and then on a fresh PostgreSQL database. Builds nothing: the binary comes from
# $PORTCULLIS_BIN (default target/debug/portcullis). The PostgreSQL run needs psql and a
# PostgreSQL on 127.0.0.1:5432 with trust auth for `postgres`.
#
# The sourcing script sets SUITE (sdk | rp: the log folder and the PORTCULLIS_<SUITE>_PG_HOST/
# PORT/USER overrides) and defines, in its own language:
#   free_ports          prints two distinct free ports on 127.0.0.1
#   http_ok URL         exits 0 if URL answers 2xx within 2 s
#   run_tests LABEL     runs the suite against $PUBLIC_URL and $ADMIN_URL
# then calls `run_twice`, which exits with the first failure's code. Sourcing it moves to the
# repository root ($ROOT): the suites' paths are relative to it.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

BIN="${PORTCULLIS_BIN:-target/debug/portcullis}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
if [ ! -x "$BIN" ]; then
    echo "error: $BIN is missing or not executable; build it first (cargo build)." >&2
    exit 1
fi

suite_upper="$(tr '[:lower:]' '[:upper:]' <<<"$SUITE")"
pg_override() { local name="PORTCULLIS_${suite_upper}_PG_$1"; echo "${!name:-$2}"; }
PG_HOST="$(pg_override HOST 127.0.0.1)"
PG_PORT="$(pg_override PORT 5432)"
PG_USER="$(pg_override USER postgres)"

LOG_DIR="$ROOT/target/$SUITE-logs"
mkdir -p "$LOG_DIR"

SERVER_PID=""
PG_DB=""

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        # Graceful shutdown first; SIGKILL if it has not exited within 10s.
        kill "$SERVER_PID" 2>/dev/null || true
        local i
        for i in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

psql_admin() {
    psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qAt -c "$1" >/dev/null
}

drop_database() {
    if [ -n "$PG_DB" ]; then
        psql_admin "drop database if exists $PG_DB with (force)" || true
        PG_DB=""
    fi
}

cleanup() {
    stop_server
    drop_database
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$BIN serve all <SERVE_FLAGS>" with the given extra env, waits for /health/ready
# (30s). The issuer is the public listener's real address, so every URL the server derives
# from it (the endpoints in discovery, the built-in pages under /oauth2/fallbacks/, the
# request_url of a login request, the logout accept's redirect_to) is one the tests can
# follow. urls.login/consent/logout are set to those built-in pages explicitly (the same URLs
# they default to), so that no login UI of `--dev` takes their place: the suites read the
# challenge from the redirect to them.
start_server() {
    local label="$1"
    shift
    read -r PUBLIC_PORT ADMIN_PORT < <(free_ports)
    PUBLIC_URL="http://127.0.0.1:$PUBLIC_PORT"
    ADMIN_URL="http://127.0.0.1:$ADMIN_PORT"
    local log="$LOG_DIR/$label.log"
    env "$@" \
        SERVE_PUBLIC_PORT="$PUBLIC_PORT" SERVE_ADMIN_PORT="$ADMIN_PORT" \
        SERVE_PUBLIC_HOST=127.0.0.1 SERVE_ADMIN_HOST=127.0.0.1 \
        URLS_SELF_ISSUER="$PUBLIC_URL/" \
        URLS_LOGIN="$PUBLIC_URL/oauth2/fallbacks/login" \
        URLS_CONSENT="$PUBLIC_URL/oauth2/fallbacks/consent" \
        URLS_LOGOUT="$PUBLIC_URL/oauth2/fallbacks/logout" \
        "$BIN" serve all "${SERVE_FLAGS[@]}" >"$log" 2>&1 &
    SERVER_PID=$!
    local deadline=$((SECONDS + 30))
    until http_ok "$ADMIN_URL/health/ready" 2>/dev/null; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "error: portcullis ($label) exited before it was ready; its log:" >&2
            tail -n 50 "$log" >&2
            SERVER_PID=""
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "error: portcullis ($label) not ready at $ADMIN_URL/health/ready after 30s; its log:" >&2
            tail -n 50 "$log" >&2
            return 1
        fi
        sleep 0.2
    done
}

# The suite on `memory`, then on a fresh PostgreSQL database; exits with the first failure.
run_twice() {
    local rc=0 pg_rc=0
    SERVE_FLAGS=(--dev)
    start_server memory
    run_tests memory || rc=$?
    stop_server

    PG_DB="portcullis_${SUITE}_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    psql_admin "create database $PG_DB"
    local dsn="postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB"
    DSN="$dsn" "$BIN" migrate sql -e --yes >"$LOG_DIR/postgres-migrate.log" 2>&1 || {
        echo "error: migrate sql failed on $dsn; its output:" >&2
        cat "$LOG_DIR/postgres-migrate.log" >&2
        exit 1
    }
    SERVE_FLAGS=(--dangerous-force-http)
    start_server postgres DSN="$dsn" SECRETS_SYSTEM="a-32-character-secret-for-$SUITE-tests--"
    run_tests postgres || pg_rc=$?
    [ "$rc" -ne 0 ] || rc=$pg_rc
    stop_server
    drop_database
    exit "$rc"
}
