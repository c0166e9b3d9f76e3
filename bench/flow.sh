#!/usr/bin/env bash
# Full authorization-code-flow bench: complete flows per second and per-flow latency, with
# examples/flow_bench.rs as the load (six requests per flow: /oauth2/auth, admin login accept,
# /oauth2/auth, admin consent accept, /oauth2/auth, code exchange). See bench/README.md.
#
#   bench/flow.sh                                  # postgres, concurrency 16 and 64, 10 s each
#   BACKENDS="postgres memory" CONCURRENCY="32" SCOPE="openid offline" bench/flow.sh
#
# Environment:
#   BACKENDS     postgres | memory | sqlite, space separated     (default "postgres")
#   CONCURRENCY  workers (flows in flight), space separated      (default "16 64")
#   DURATION     measured seconds per load, like 10s (default 10s); WARMUP (default 2s)
#   SCOPE        requested and granted scopes (default "openid": an RS256 ID token per flow)
#   STRATEGY     opaque | jwt access tokens (default opaque)
#   PG_URL       PostgreSQL server, loopback only (default postgres://postgres@127.0.0.1:5432)
#   PG_DSN_PARAMS  extra DSN query for postgres, e.g. max_conns=32
#   PUBLIC_PORT / ADMIN_PORT   (default 4444 / 4445)     SKIP_BUILD=1 reuse the release build
#   PORTCULLIS_BIN / FLOW_BENCH_BIN   bench these binaries instead (no build), e.g. an older one
#   SERVER_CPUS / LOADGEN_CPUS   optional taskset CPU lists for the server and the load
#   RESULTS_DIR  logs and results (default $TMPDIR/portcullis-bench/flow-<UTC timestamp>)
#
# Loopback only; every load is bounded; the server and the bench database are stopped /
# dropped on exit, also on Ctrl-C or failure. Besides the load's own report it prints the CPU
# time per flow of the server and of the PostgreSQL backends serving the bench database (the
# load generator reports its own).
set -euo pipefail

root="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
BACKENDS="${BACKENDS:-postgres}"
CONCURRENCY="${CONCURRENCY:-16 64}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
SCOPE="${SCOPE:-openid}"
STRATEGY="${STRATEGY:-opaque}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PUBLIC_PORT="${PUBLIC_PORT:-4444}"
ADMIN_PORT="${ADMIN_PORT:-4445}"
RESULTS_DIR="${RESULTS_DIR:-${TMPDIR:-/tmp}/portcullis-bench/flow-$(date -u +%Y%m%dT%H%M%SZ)}"
CLIENT_SECRET="bench-secret-0123456789abcdef0123456789abcdef"
REDIRECT_URI="http://127.0.0.1:9/cb"
pub="http://127.0.0.1:$PUBLIC_PORT"
adm="http://127.0.0.1:$ADMIN_PORT"

for v in "$DURATION" "$WARMUP"; do
  case "${v%s}" in ''|*[!0-9]*) echo "DURATION and WARMUP must be like 10s" >&2; exit 2 ;; esac
done
case "$PG_URL" in
  postgres://*@127.0.0.1[:/]*|postgres://*@localhost[:/]*|postgres://127.0.0.1[:/]*|postgres://localhost[:/]*) ;;
  *) echo "PG_URL must point at a loopback PostgreSQL: $PG_URL" >&2; exit 2 ;;
esac
for b in $BACKENDS; do
  case "$b" in memory|postgres|sqlite) ;; *) echo "unknown backend $b" >&2; exit 2 ;; esac
done
mkdir -p "$RESULTS_DIR"
summary="$RESULTS_DIR/summary.tsv"
: >"$summary"
log() { echo "[flow-bench $(date -u +%H:%M:%S)] $*" | tee -a "$RESULTS_DIR/run.log" >&2; }

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
bin="${PORTCULLIS_BIN:-$target_dir/release/portcullis}"
load="${FLOW_BENCH_BIN:-$target_dir/release/examples/flow_bench}"
# Given binaries (PORTCULLIS_BIN, e.g. an older build to compare with) are not rebuilt.
if [ "${SKIP_BUILD:-0}" != 1 ] && [ -z "${PORTCULLIS_BIN:-}" ]; then
  log "cargo build --release --bin portcullis --example flow_bench"
  if ! (cd "$root" && cargo build --release --locked --bin portcullis --example flow_bench) >"$RESULTS_DIR/build.log" 2>&1; then
    tail -30 "$RESULTS_DIR/build.log" >&2
    echo "error: cargo build --release failed (full log: $RESULTS_DIR/build.log)" >&2
    exit 1
  fi
fi
[ -x "$bin" ] && [ -x "$load" ] || { echo "error: $bin or $load missing" >&2; exit 1; }

# CPU ticks (utime + stime) of one process, or of every process named postgres.
ticks_of() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# "pid ticks" of the PostgreSQL backends serving the bench database (not other users' work).
pg_snapshot() {
  [ -n "$bench_db" ] || return 0
  psql -Atq "$PG_URL/postgres" -c "SELECT pid FROM pg_stat_activity WHERE datname = '$bench_db'" 2>/dev/null \
    | while read -r pid; do echo "$pid $(ticks_of "$pid")"; done
}
# Ticks used between two snapshots (a backend started in between counts whole).
pg_delta() { awk 'NR==FNR {b[$1]=$2; next} {d += $2 - ($1 in b ? b[$1] : 0)} END {print d+0}' "$1" "$2"; }
hz=$(getconf CLK_TCK)

bench_backend() {
  local backend="$1" dsn slog="$RESULTS_DIR/server-$1.log"
  if [ "$(http_code "$pub/")" != 000 ] || [ "$(http_code "$adm/")" != 000 ]; then
    echo "error: something already listens on 127.0.0.1:$PUBLIC_PORT or :$ADMIN_PORT" >&2; return 1
  fi
  case "$backend" in
    memory) dsn=memory ;;
    postgres)
      bench_db="portcullis_flow_bench_$(rand_hex 6)"
      psql -q -v ON_ERROR_STOP=1 "$PG_URL/postgres" -c "CREATE DATABASE \"$bench_db\"" >/dev/null
      dsn="$PG_URL/$bench_db?sslmode=disable${PG_DSN_PARAMS:+&$PG_DSN_PARAMS}" ;;
    sqlite)
      tmp_sqlite="$(mktemp -d "${TMPDIR:-/tmp}/portcullis-flow-bench.XXXXXX")"
      dsn="sqlite://$tmp_sqlite/bench.sqlite?_fk=true" ;;
  esac
  if [ "$backend" != memory ]; then
    DSN="$dsn" LOG_LEVEL=warn "$bin" migrate sql -e --yes >>"$slog" 2>&1 \
      || { echo "error: migrate sql failed, see $slog" >&2; return 1; }
  fi
  local pin=(); [ -n "${SERVER_CPUS:-}" ] && pin=(taskset -c "$SERVER_CPUS")
  local lpin=(); [ -n "${LOADGEN_CPUS:-}" ] && lpin=(taskset -c "$LOADGEN_CPUS")
  log "starting portcullis ($backend, $STRATEGY access tokens)"
  DSN="$dsn" SECRETS_SYSTEM="bench-system-secret-$(rand_hex 16)" LOG_LEVEL=warn \
    STRATEGIES_ACCESS_TOKEN="$STRATEGY" SERVE_PUBLIC_HOST=127.0.0.1 SERVE_ADMIN_HOST=127.0.0.1 \
    SERVE_PUBLIC_PORT="$PUBLIC_PORT" SERVE_ADMIN_PORT="$ADMIN_PORT" URLS_SELF_ISSUER="$pub/" \
    setsid "${pin[@]}" "$bin" serve all --dangerous-force-http >>"$slog" 2>&1 &
  server_pid=$!
  local ready=0
  for _ in $(seq 1 150); do
    if [ "$(http_code "$adm/health/ready")" = 200 ]; then ready=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  [ "$ready" = 1 ] || { echo "error: portcullis not ready; see $slog" >&2; tail -5 "$slog" >&2; return 1; }
  local client_id="flow-bench-$(rand_hex 4)" code
  code=$(curl -s -o "$RESULTS_DIR/client.json" -w '%{http_code}' --max-time 10 -X POST "$adm/clients" \
    -H 'Content-Type: application/json' \
    -d "{\"client_id\":\"$client_id\",\"client_secret\":\"$CLIENT_SECRET\",\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"response_types\":[\"code\"],\"scope\":\"openid offline\",\"redirect_uris\":[\"$REDIRECT_URI\"],\"token_endpoint_auth_method\":\"client_secret_basic\"}")
  [ "$code" = 201 ] || { echo "error: POST /clients answered $code: $(cat "$RESULTS_DIR/client.json")" >&2; return 1; }

  local c out s0 p0 s1 p1 line
  for c in $CONCURRENCY; do
    out="$RESULTS_DIR/$backend-c$c.txt"
    log "$backend: $c workers, ${WARMUP} warm-up + ${DURATION}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    s0=$(ticks_of "$server_pid"); pg_snapshot >"$out.pg0"
    timeout $(( ${DURATION%s} + ${WARMUP%s} + 120 )) "${lpin[@]}" "$load" --public "$pub" --admin "$adm" \
      --client-id "$client_id" --client-secret "$CLIENT_SECRET" --redirect-uri "$REDIRECT_URI" \
      --scope "$SCOPE" --concurrency "$c" --duration "$DURATION" --warmup "$WARMUP" | tee "$out" \
      || log "WARNING: flow_bench exited non-zero (see $out)"
    s1=$(ticks_of "$server_pid"); pg_snapshot >"$out.pg1"
    line=$(grep '^FLOWRESULT' "$out" || echo "FLOWRESULT 0 0 0 0 0")
    python3 - "$backend" "$c" "$line" "$((s1 - s0))" "$(pg_delta "$out.pg0" "$out.pg1")" "$hz" "$(( ${DURATION%s} + ${WARMUP%s} ))" "$SCOPE" <<'PY' | tee -a "$summary"
import sys
backend, c, line, server, pg, hz, secs, scope = sys.argv[1:9]
_, rate, p50, p99, errors, flows = line.split()
rate, hz, secs = float(rate), float(hz), float(secs)
# CPU over warm-up + measured time, divided by the flows of that whole time (rate x secs).
total = rate * secs or 1
print(f"{backend}\tc={c}\tscope={scope!r}\tflows/s={rate:.1f}\tp50={p50}ms\tp99={p99}ms\terrors={errors}"
      f"\tserver={float(server)/hz*1e6/total:.0f}us/flow\tpostgres={float(pg)/hz*1e6/total:.0f}us/flow")
PY
  done
  if grep -Eqi 'panic|ERROR' "$slog"; then
    log "WARNING: the server logged errors, see $slog"
  fi
  kill -0 "$server_pid" 2>/dev/null || log "WARNING: the server is no longer running, see $slog"
  stop_server
  drop_db
}

{
  echo "# portcullis $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src 2>/dev/null || echo ' (+ uncommitted changes in src/)')"
  echo "# $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "# duration=$DURATION warmup=$WARMUP concurrency=[$CONCURRENCY] scope=[$SCOPE] strategy=$STRATEGY${PG_DSN_PARAMS:+ pg: $PG_DSN_PARAMS}"
} | tee -a "$summary"
for b in $BACKENDS; do
  bench_backend "$b"
done
log "summary: $summary"
