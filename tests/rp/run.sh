#!/usr/bin/env bash
# Relying-party interop: runs tests/rp (openid-client, a certified OpenID Connect RP library,
# under `node --test`) against a live Portcullis, twice: `serve all --dev` (in-memory store),
# then on a fresh PostgreSQL database (tests/interop.sh: the binary, the server, the database;
# PORTCULLIS_RP_PG_HOST/PORT/USER override where PostgreSQL is). Needs node >= 20 with npm
# (`npm ci` installs the locked packages into tests/rp/node_modules). Exits non-zero if either
# run fails. Arguments are passed on to `node --test` (e.g.
# `bash tests/rp/run.sh --test-name-pattern=logout`).
NODE_TEST_ARGS=("$@")
SUITE=rp
# shellcheck source=tests/interop.sh
. "$(dirname "${BASH_SOURCE[0]}")/../interop.sh"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "error: node and npm are needed for the relying-party interop suite (tests/rp)." >&2
    exit 1
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
    echo "error: node $(node --version) is too old; tests/rp needs node >= 20." >&2
    exit 1
fi

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

http_ok() {
    node -e '
fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
  .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));' "$1"
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

run_twice
