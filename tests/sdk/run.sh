#!/usr/bin/env bash
# SDK interop: runs tests/sdk (the official Python SDK, ory-hydra-client 1.10.3) against a
# live Portcullis, twice: `serve all --dev` (in-memory store), then on a fresh PostgreSQL
# database. Builds nothing: the binary comes from $PORTCULLIS_BIN (default
# target/debug/portcullis). Needs python3 (with venv) and, for the second run, psql and a
# PostgreSQL on 127.0.0.1:5432 with trust auth for `postgres` (PORTCULLIS_SDK_PG_HOST/PORT/USER
# override). Exits non-zero if either pytest run fails. Arguments are passed on to pytest
# (e.g. `bash tests/sdk/run.sh -k flow -x`).
set -euo pipefail
PYTEST_ARGS=("$@")

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"

BIN="${PORTCULLIS_BIN:-target/debug/portcullis}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
if [ ! -x "$BIN" ]; then
    echo "error: $BIN is missing or not executable; build it first (cargo build)." >&2
    exit 1
fi

PG_HOST="${PORTCULLIS_SDK_PG_HOST:-127.0.0.1}"
PG_PORT="${PORTCULLIS_SDK_PG_PORT:-5432}"
PG_USER="${PORTCULLIS_SDK_PG_USER:-postgres}"

VENV="$ROOT/target/sdk-venv"
LOG_DIR="$ROOT/target/sdk-logs"
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

drop_database() {
    if [ -n "$PG_DB" ]; then
        psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qAt \
            -c "drop database if exists $PG_DB with (force)" >/dev/null || true
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

# --- Python environment (re-used while requirements.txt is unchanged) ---------------------
if [ ! -x "$VENV/bin/python" ] || ! cmp -s tests/sdk/requirements.txt "$VENV/.requirements.txt"; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt
    cp tests/sdk/requirements.txt "$VENV/.requirements.txt"
fi
PY="$VENV/bin/python"
export PYTHONDONTWRITEBYTECODE=1 # keep tests/sdk free of __pycache__

# Two distinct free ports on 127.0.0.1 (held open together, so they differ).
free_ports() {
    "$PY" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()'
}

# Starts "$BIN serve all <flags>" with the given extra env, waits for /health/ready (30s).
# The issuer is the public listener's real address, so every URL the server derives from it
# (urls.self.public = issuer: the authorization, token, userinfo and JWKS endpoints, the
# login/consent fallbacks under /oauth2/fallbacks/, the request_url of a login request) is
# one the tests can follow. urls.login/consent/logout are the fallback pages: test_flow.py
# reads the challenge from the redirect to them, so no UI server is needed (set explicitly,
# or `--dev` would start the example login UI and point them at it).
start_server() {
    local label="$1"
    shift
    read -r PUBLIC_PORT ADMIN_PORT < <(free_ports)
    local log="$LOG_DIR/$label.log"
    env "$@" \
        SERVE_PUBLIC_PORT="$PUBLIC_PORT" SERVE_ADMIN_PORT="$ADMIN_PORT" \
        SERVE_PUBLIC_HOST=127.0.0.1 SERVE_ADMIN_HOST=127.0.0.1 \
        URLS_SELF_ISSUER="http://127.0.0.1:$PUBLIC_PORT/" \
        URLS_LOGIN="http://127.0.0.1:$PUBLIC_PORT/oauth2/fallbacks/login" \
        URLS_CONSENT="http://127.0.0.1:$PUBLIC_PORT/oauth2/fallbacks/consent" \
        URLS_LOGOUT="http://127.0.0.1:$PUBLIC_PORT/oauth2/fallbacks/logout" \
        "$BIN" serve all "${SERVE_FLAGS[@]}" >"$log" 2>&1 &
    SERVER_PID=$!
    ADMIN_URL="http://127.0.0.1:$ADMIN_PORT"
    PUBLIC_URL="http://127.0.0.1:$PUBLIC_PORT"
    local deadline=$((SECONDS + 30))
    until "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$ADMIN_URL/health/ready" 2>/dev/null; do
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

run_pytest() {
    local label="$1" rc=0
    echo "-- pytest against portcullis ($label) at $ADMIN_URL (public $PUBLIC_URL)"
    PORTCULLIS_ADMIN_URL="$ADMIN_URL" PORTCULLIS_PUBLIC_URL="$PUBLIC_URL" \
        "$PY" -m pytest -q -p no:cacheprovider tests/sdk "${PYTEST_ARGS[@]}" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "SDK interop ($label) failed; server log: $LOG_DIR/$label.log" >&2
    fi
    return "$rc"
}

RC=0

# --- Run 1: serve all --dev (in-memory store) ---------------------------------------------
SERVE_FLAGS=(--dev)
start_server memory
run_pytest memory || RC=$?
stop_server

# --- Run 2: PostgreSQL, a fresh database ----------------------------------------------------
PG_DB="portcullis_sdk_$("$PY" -c 'import secrets; print(secrets.token_hex(6))')"
psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qAt \
    -c "create database $PG_DB" >/dev/null
DSN="postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB"
DSN="$DSN" "$BIN" migrate sql -e --yes >"$LOG_DIR/postgres-migrate.log" 2>&1 || {
    echo "error: migrate sql failed on $DSN; its output:" >&2
    cat "$LOG_DIR/postgres-migrate.log" >&2
    exit 1
}
SERVE_FLAGS=(--dangerous-force-http)
start_server postgres DSN="$DSN" SECRETS_SYSTEM=a-32-character-secret-for-sdk-tests
pg_rc=0
run_pytest postgres || pg_rc=$?
[ "$RC" -ne 0 ] || RC=$pg_rc
stop_server
drop_database

exit "$RC"
