#!/usr/bin/env bash
# SDK interop: runs tests/sdk (the official Python SDK, ory-hydra-client 1.10.3, and authlib)
# against a live Portcullis, twice: `serve all --dev` (in-memory store), then on a fresh
# PostgreSQL database (tests/interop.sh: the binary, the server, the database;
# PORTCULLIS_SDK_PG_HOST/PORT/USER override where PostgreSQL is). Needs python3 with venv.
# Exits non-zero if either pytest run fails. Arguments are passed on to pytest (e.g.
# `bash tests/sdk/run.sh -k flow -x`).
PYTEST_ARGS=("$@")
SUITE=sdk
# shellcheck source=tests/interop.sh
. "$(dirname "${BASH_SOURCE[0]}")/../interop.sh"

# --- Python environment (re-used while requirements.txt is unchanged) ---------------------
VENV="$ROOT/target/sdk-venv"
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

http_ok() {
    "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1"
}

run_tests() {
    local label="$1" rc=0
    echo "-- pytest against portcullis ($label) at $ADMIN_URL (public $PUBLIC_URL)"
    PORTCULLIS_ADMIN_URL="$ADMIN_URL" PORTCULLIS_PUBLIC_URL="$PUBLIC_URL" \
        "$PY" -m pytest -q -p no:cacheprovider tests/sdk "${PYTEST_ARGS[@]}" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "SDK interop ($label) failed; server log: $LOG_DIR/$label.log" >&2
    fi
    return "$rc"
}

run_twice
