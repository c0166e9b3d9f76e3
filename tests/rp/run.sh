#!/usr/bin/env bash
# Relying-party interop: runs tests/rp (openid-client, a certified OpenID Connect RP library,
# under `node --test`) against a live Portcullis, twice: `serve all --dev` (in-memory store),
# then on a fresh PostgreSQL database. Builds nothing: the binary comes from $PORTCULLIS_BIN
# (default target/debug/portcullis). Needs node >= 20 with npm (`npm ci` installs the locked
# packages into tests/rp/node_modules) and, for the second run, psql and a PostgreSQL on
# 127.0.0.1:5432 with trust auth for `postgres` (PORTCULLIS_RP_PG_HOST/PORT/USER override).
# Exits non-zero if either run fails. Arguments are passed on to `node --test` (e.g.
# `bash tests/rp/run.sh --test-name-pattern=logout`).
set -euo pipefail
NODE_TEST_ARGS=("$@")

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"

BIN="${PORTCULLIS_BIN:-target/debug/portcullis}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
if [ ! -x "$BIN" ]; then
    echo "error: $BIN is missing or not executable; build it first (cargo build)." >&2
    exit 1
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "error: node and npm are needed for the relying-party interop suite (tests/rp)." >&2
    exit 1
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
    echo "error: node $(node --version) is too old; tests/rp needs node >= 20." >&2
    exit 1
fi

PG_HOST="${PORTCULLIS_RP_PG_HOST:-127.0.0.1}"
PG_PORT="${PORTCULLIS_RP_PG_PORT:-5432}"
PG_USER="${PORTCULLIS_RP_PG_USER:-postgres}"

LOG_DIR="$ROOT/target/rp-logs"
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

# --- Node packages: exactly package-lock.json ---------------------------------------------
(cd tests/rp && npm ci --no-audit --no-fund --loglevel=error)

# Two distinct free ports on 127.0.0.1 (held open together, so they differ).
free_ports() {
    node -e '
const net = require("node:net");
const servers = [net.createServer(), net.createServer()];
let ready = 0;
for (const s of servers) {
  s.listen(0, "127.0.0.1", () => {
    if (++ready < servers.length) return;
    console.log(servers.map((x) => x.address().port).join(" "));
    for (const x of servers) x.close();
  });
}'
}

# Starts "$BIN serve all <flags>" with the given extra env, waits for /health/ready (30s).
# The issuer is the public listener's real address, so every URL the server derives from it
# (the endpoints in discovery, the built-in pages under /oauth2/fallbacks/, the logout
# accept's redirect_to) is one the tests can follow. urls.login/consent/logout are set to
# those built-in pages explicitly (the same URLs they default to), so that no login UI of
# `--dev` takes their place: the browser in tests/rp stops there and reads the challenge.
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
    until node -e '
fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
  .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));' "$ADMIN_URL/health/ready"; do
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

run_tests() {
    local label="$1" rc=0
    echo "-- openid-client against portcullis ($label) at $PUBLIC_URL (admin $ADMIN_URL)"
    (cd tests/rp && PORTCULLIS_ADMIN_URL="$ADMIN_URL" PORTCULLIS_PUBLIC_URL="$PUBLIC_URL" \
        node --test "${NODE_TEST_ARGS[@]}" flow.test.js) || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "RP interop ($label) failed; server log: $LOG_DIR/$label.log" >&2
    fi
    return "$rc"
}

RC=0

# --- Run 1: serve all --dev (in-memory store) ---------------------------------------------
SERVE_FLAGS=(--dev)
start_server memory
run_tests memory || RC=$?
stop_server

# --- Run 2: PostgreSQL, a fresh database ----------------------------------------------------
PG_DB="portcullis_rp_$(node -e 'console.log(require("node:crypto").randomBytes(6).toString("hex"))')"
psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qAt \
    -c "create database $PG_DB" >/dev/null
DSN="postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB"
DSN="$DSN" "$BIN" migrate sql -e --yes >"$LOG_DIR/postgres-migrate.log" 2>&1 || {
    echo "error: migrate sql failed on $DSN; its output:" >&2
    cat "$LOG_DIR/postgres-migrate.log" >&2
    exit 1
}
SERVE_FLAGS=(--dangerous-force-http)
start_server postgres DSN="$DSN" SECRETS_SYSTEM=a-32-character-secret-for-rp-tests-
pg_rc=0
run_tests postgres || pg_rc=$?
[ "$RC" -ne 0 ] || RC=$pg_rc
stop_server
drop_database

exit "$RC"
