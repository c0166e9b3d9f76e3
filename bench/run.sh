#!/usr/bin/env bash
# Load bench of Portcullis's hot endpoints, next to the peer (node-oidc-provider) in the
# same sitting. See bench/README.md.
#
#   bench/run.sh                                   # memory + postgres + peer, opaque tokens
#   BACKENDS="memory postgres sqlite" MODES="opaque jwt-rs256 jwt-es256" bench/run.sh
#   DURATION=10s CONCURRENCY="16 64" PEER=0 bench/run.sh
#
# Environment:
#   BACKENDS     memory | postgres | sqlite, space separated      (default "memory postgres")
#   MODES        opaque | jwt-rs256 | jwt-es256, space separated  (default "opaque")
#                jwt-* modes load only the token and introspection endpoints
#   PEER         1: also bench the peer after each mode, same load (default 1)
#   DURATION     per load, like 10s (default 10s)   CONCURRENCY (default "16 64")
#   ENDPOINTS    subset of "token introspect discovery jwks" for opaque mode
#   PG_URL       PostgreSQL server, loopback only (default postgres://postgres@127.0.0.1:5432)
#   PG_DSN_PARAMS  extra DSN query for postgres, e.g. max_conns=32 (default: none, the server's
#                pool default of 2 x CPUs, at least 16)
#   PUBLIC_PORT / ADMIN_PORT   Portcullis ports (default 4444 / 4445)
#   SKIP_BUILD=1 use the existing release binary; PORTCULLIS_BIN=path bench that binary      SERVER_CPUS / LOADGEN_CPUS: see peer-bench.sh
#   RESULTS_DIR  where logs and raw results go (default $TMPDIR/portcullis-bench/<UTC timestamp>)
#
# Loopback only; every load is bounded by DURATION; the server, the peer and the bench database
# are stopped / dropped on exit, also on Ctrl-C or failure.
set -euo pipefail

root="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
peer_bench="$(cd "$root/.." && pwd)/shared/bench/peer-bench.sh"
if [ ! -f "$peer_bench" ]; then
  echo "error: $peer_bench not found: bench/run.sh needs the shared peer bench next to the repo (../shared/bench/peer-bench.sh)" >&2
  exit 2
fi

BACKENDS="${BACKENDS:-memory postgres}"
MODES="${MODES:-opaque}"
PEER="${PEER:-1}"
export DURATION="${DURATION:-10s}"
export CONCURRENCY="${CONCURRENCY:-16 64}"
ENDPOINTS="${ENDPOINTS:-token introspect discovery jwks}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PUBLIC_PORT="${PUBLIC_PORT:-4444}"
ADMIN_PORT="${ADMIN_PORT:-4445}"
RESULTS_DIR="${RESULTS_DIR:-${TMPDIR:-/tmp}/portcullis-bench/$(date -u +%Y%m%dT%H%M%SZ)}"
CLIENT_SECRET="bench-secret-0123456789abcdef0123456789abcdef"
SCOPE="api:read"
pub="http://127.0.0.1:$PUBLIC_PORT"
adm="http://127.0.0.1:$ADMIN_PORT"

secs="${DURATION%s}"
case "$secs" in ''|*[!0-9]*) echo "DURATION must be like 10s" >&2; exit 2 ;; esac
case "$PG_URL" in
  postgres://*@127.0.0.1[:/]*|postgres://*@localhost[:/]*|postgres://127.0.0.1[:/]*|postgres://localhost[:/]*) ;;
  *) echo "PG_URL must point at a loopback PostgreSQL: $PG_URL" >&2; exit 2 ;;
esac
for b in $BACKENDS; do
  case "$b" in memory|postgres|sqlite) ;; *) echo "unknown backend $b (memory|postgres|sqlite)" >&2; exit 2 ;; esac
done
for m in $MODES; do
  case "$m" in opaque|jwt-rs256|jwt-es256) ;; *) echo "unknown mode $m (opaque|jwt-rs256|jwt-es256)" >&2; exit 2 ;; esac
done
mkdir -p "$RESULTS_DIR"
summary="$RESULTS_DIR/summary.tsv"
: >"$summary"
log() { echo "[bench $(date -u +%H:%M:%S)] $*" | tee -a "$RESULTS_DIR/run.log" >&2; }

# ---- cleanup: the server we started, the database we created -------------------------------
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"

# ---- load generator -------------------------------------------------------------------------
if ! command -v oha >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/oha" ] && ! command -v wrk >/dev/null 2>&1; then
  log "no load generator: installing oha (cargo install oha --locked, about 5 minutes)"
  timeout 1800 cargo install oha --locked
fi
if command -v oha >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/oha" ]; then loadgen=oha; else loadgen=wrk; fi
export LOADGEN="${LOADGEN:-$loadgen}"

# ---- build ------------------------------------------------------------------------------------
target_dir="${CARGO_TARGET_DIR:-$root/target}"
bin="${PORTCULLIS_BIN:-$target_dir/release/portcullis}"
# A given binary (PORTCULLIS_BIN, e.g. an older build to compare with) is not rebuilt.
if [ "${SKIP_BUILD:-0}" != 1 ] && [ -z "${PORTCULLIS_BIN:-}" ]; then
  log "cargo build --release"
  if ! (cd "$root" && cargo build --release --locked --bin portcullis) >"$RESULTS_DIR/build.log" 2>&1; then
    tail -30 "$RESULTS_DIR/build.log" >&2
    echo "error: cargo build --release failed (full log: $RESULTS_DIR/build.log)" >&2
    exit 1
  fi
  tail -1 "$RESULTS_DIR/build.log"
fi
[ -x "$bin" ] || { echo "error: $bin missing (build failed?)" >&2; exit 1; }

# ---- helpers ----------------------------------------------------------------------------------
port_busy() { curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" 2>/dev/null; }

# Runs peer-bench.sh and appends its results to the summary. args: target backend mode endpoints
run_peer_bench() {
  local target="$1" backend="$2" mode="$3" eps="$4" out n_ep n_c
  out="$RESULTS_DIR/$target-$backend-$mode"
  n_ep=$(wc -w <<<"$eps"); n_c=$(wc -w <<<"$CONCURRENCY")
  log "peer-bench.sh TARGET=$target ($backend, $mode): endpoints [$eps] concurrency [$CONCURRENCY] $DURATION each; load average $(cut -d" " -f1-3 /proc/loadavg)"
  OUT_DIR="$out" ENDPOINTS="$eps" TARGET="$target" \
    timeout $(( (secs + 35) * n_ep * n_c + 120 )) bash "$peer_bench" 2>&1 | tee "$out.txt" \
    || log "WARNING: peer-bench.sh exited non-zero for $target/$backend/$mode (see $out.txt); results so far are kept"
  python3 - "$target" "$backend" "$mode" "$out" "$eps" "$CONCURRENCY" >>"$summary" <<'PY'
import json, os, re, sys
target, backend, mode, out, eps, concs = sys.argv[1:7]
for ep in eps.split():
    for c in concs.split():
        path = os.path.join(out, f"{ep}-c{c}.json")
        if os.path.exists(path):
            r = json.load(open(path))
            m = r["metrics"]; codes = r.get("statusCodeDistribution", {}) or {}
            errs = r.get("errorDistribution", {}) or {}
            total = sum(codes.values()) or 1
            ok = sum(v for k, v in codes.items() if k.startswith("2"))
            rps = m["requests_per_sec"]
            row = [rps, rps * ok / total, m["latency_ms"]["p50"], m["latency_ms"]["p99"],
                   ",".join(f"{k}:{v}" for k, v in sorted(codes.items())),
                   ",".join(f"{k}:{v}" for k, v in errs.items()) or "-"]
        elif os.path.exists(path + ".txt"):   # wrk
            line = [l for l in open(path + ".txt") if l.startswith("WRKRESULT")]
            if not line:
                continue
            _, rps, okr, p50, p99, non2xx, sockerr = line[0].split()
            row = [float(rps), float(okr), float(p50), float(p99), f"non2xx:{non2xx}", f"sockerr:{sockerr}"]
        else:
            continue
        print("\t".join([target, backend, mode, ep, c] +
                        [f"{row[0]:.1f}", f"{row[1]:.1f}", f"{row[2]:.2f}", f"{row[3]:.2f}", row[4], row[5]]))
PY
}

# Starts Portcullis on $backend in $mode, creates the bench client, probes the endpoints and runs
# the load. Stops the server and drops the database afterwards.
bench_ours() {
  local backend="$1" mode="$2" dsn secret eps probe_eps code token_code tok body alg want
  local slog="$RESULTS_DIR/server-$backend-$mode.log"
  if port_busy "$PUBLIC_PORT" || port_busy "$ADMIN_PORT"; then
    echo "error: something already listens on 127.0.0.1:$PUBLIC_PORT or :$ADMIN_PORT; set PUBLIC_PORT/ADMIN_PORT" >&2
    return 1
  fi
  case "$backend" in
    memory) dsn=memory ;;
    postgres)
      bench_db="portcullis_bench_$(rand_hex 6)"
      psql -q -v ON_ERROR_STOP=1 "$PG_URL/postgres" -c "CREATE DATABASE \"$bench_db\"" >/dev/null
      dsn="$PG_URL/$bench_db?sslmode=disable${PG_DSN_PARAMS:+&$PG_DSN_PARAMS}"
      ;;
    sqlite)
      tmp_sqlite="$(mktemp -d "${TMPDIR:-/tmp}/portcullis-bench-sqlite.XXXXXX")"
      dsn="sqlite://$tmp_sqlite/bench.sqlite?_fk=true"
      ;;
  esac
  if [ "$backend" != memory ]; then
    DSN="$dsn" LOG_LEVEL=warn "$bin" migrate sql -e --yes >>"$slog" 2>&1 \
      || { echo "error: migrate sql failed, see $slog" >&2; return 1; }
  fi
  secret="bench-system-secret-$(rand_hex 16)"
  local strategy=opaque
  case "$mode" in jwt-*) strategy=jwt ;; esac
  local pin=(); [ -n "${SERVER_CPUS:-}" ] && pin=(taskset -c "$SERVER_CPUS")
  log "starting portcullis ($backend, $mode)"
  DSN="$dsn" SECRETS_SYSTEM="$secret" LOG_LEVEL=warn STRATEGIES_ACCESS_TOKEN="$strategy" \
    SERVE_PUBLIC_HOST=127.0.0.1 SERVE_ADMIN_HOST=127.0.0.1 \
    SERVE_PUBLIC_PORT="$PUBLIC_PORT" SERVE_ADMIN_PORT="$ADMIN_PORT" \
    URLS_SELF_ISSUER="$pub/" \
    setsid "${pin[@]}" "$bin" serve all --dangerous-force-http >>"$slog" 2>&1 &
  server_pid=$!
  local ready=0
  for _ in $(seq 1 150); do   # up to 30 s
    if [ "$(http_code "$adm/health/ready")" = 200 ]; then ready=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  [ "$ready" = 1 ] || { echo "error: portcullis not ready on $adm/health/ready; see $slog" >&2; tail -5 "$slog" >&2; return 1; }

  local client_id="bench-$(rand_hex 4)"
  code=$(curl -s -o "$RESULTS_DIR/client.json" -w '%{http_code}' --max-time 10 -X POST "$adm/clients" \
    -H 'Content-Type: application/json' \
    -d "{\"client_id\":\"$client_id\",\"client_secret\":\"$CLIENT_SECRET\",\"grant_types\":[\"client_credentials\"],\"response_types\":[\"token\"],\"scope\":\"$SCOPE\",\"token_endpoint_auth_method\":\"client_secret_basic\"}")
  [ "$code" = 201 ] || { echo "error: POST /clients answered $code: $(cat "$RESULTS_DIR/client.json")" >&2; return 1; }

  if [ "$mode" = jwt-es256 ]; then
    # The newest private key of hydra.jwt.access-token signs: add an ES256 one.
    code=$(http_code -X POST "$adm/keys/hydra.jwt.access-token" -H 'Content-Type: application/json' \
      -d '{"alg":"ES256","kid":"bench-es256","use":"sig"}')
    [ "$code" = 201 ] || { echo "error: could not add an ES256 key to hydra.jwt.access-token ($code)" >&2; return 1; }
  fi

  # Probe each endpoint once; a 404 means "not implemented yet": skip it and say so.
  case "$mode" in opaque) probe_eps="$ENDPOINTS" ;; *) probe_eps="token introspect" ;; esac
  eps=""
  body="$(curl -s --max-time 10 -u "$client_id:$CLIENT_SECRET" -d grant_type=client_credentials \
    --data-urlencode "scope=$SCOPE" -w '\n%{http_code}' "$pub/oauth2/token")"
  token_code="${body##*$'\n'}"; body="${body%$'\n'*}"
  if [ "$token_code" != 200 ] && [ "$token_code" != 404 ]; then
    echo "error: token endpoint answered $token_code: $body" >&2; return 1
  fi
  tok="$(python3 -c 'import sys,json;print(json.loads(sys.argv[1]).get("access_token",""))' "$body" 2>/dev/null || true)"
  if [ "$mode" != opaque ] && [ -n "$tok" ]; then
    alg="$(python3 -c 'import sys,json,base64;h=sys.argv[1].split(".")[0];print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["alg"])' "$tok" 2>/dev/null || echo none)"
    want="${mode#jwt-}"; want="${want^^}"
    [ "$alg" = "$want" ] || { echo "error: mode $mode but the access token is signed with '$alg'" >&2; return 1; }
  fi
  for ep in $probe_eps; do
    case "$ep" in
      token) code="$token_code" ;;
      introspect)  # needs an issued token
        if [ -z "$tok" ]; then code=404
        else code=$(http_code -X POST --data-urlencode "token=$tok" "$adm/oauth2/introspect"); fi ;;
      discovery) code=$(http_code "$pub/.well-known/openid-configuration") ;;
      jwks) code=$(http_code "$pub/.well-known/jwks.json") ;;
      *) echo "unknown endpoint $ep" >&2; return 1 ;;
    esac
    if [ "$code" = 200 ]; then eps="$eps $ep"
    elif [ "$code" = 404 ]; then
      log "SKIPPED $ep: the server answers 404 (not implemented in this build)"
      printf 'ours\t%s\t%s\t%s\t-\tskipped (404)\n' "$backend" "$mode" "$ep" >>"$summary"
    else
      echo "error: $ep answered $code" >&2; return 1
    fi
  done
  # peer-bench.sh polls DISCOVERY_URL for readiness: without discovery, point it at /health/ready.
  local disc="$pub/.well-known/openid-configuration"
  case " $eps " in *" discovery "*) ;; *) disc="$pub/health/ready" ;; esac
  if [ -n "${eps# }" ]; then
    CLIENT_ID="$client_id" CLIENT_SECRET="$CLIENT_SECRET" SCOPE="$SCOPE" \
    TOKEN_URL="$pub/oauth2/token" INTROSPECT_URL="$adm/oauth2/introspect" \
    DISCOVERY_URL="$disc" JWKS_URL="$pub/.well-known/jwks.json" \
      run_peer_bench ours "$backend" "$mode" "${eps# }"
  fi
  if grep -Eqi 'panic|server_error|ERROR' "$slog"; then
    log "WARNING: the server logged errors: $(grep -Eci 'panic|server_error|ERROR' "$slog") lines, see $slog"
  fi
  kill -0 "$server_pid" 2>/dev/null || log "WARNING: the server is no longer running (crashed?), see $slog"
  stop_server
  drop_db
}

bench_peer() {
  local mode="$1" eps
  if port_busy "${PEER_PORT:-3000}"; then
    echo "error: something already listens on 127.0.0.1:${PEER_PORT:-3000}" >&2; return 1
  fi
  case "$mode" in
    opaque) eps="$ENDPOINTS"; PEER_AT_FORMAT=opaque run_peer_bench peer node "$mode" "$eps" ;;
    jwt-*)  local alg="${mode#jwt-}"
            # token only: the peer answers 400 to the introspection of its own JWT access tokens
            PEER_AT_FORMAT=jwt PEER_JWT_ALG="${alg^^}" run_peer_bench peer node "$mode" token ;;
  esac
}

{
  echo "# portcullis $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src 2>/dev/null || echo ' (+ uncommitted changes in src/)')"
  echo "# $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "# loadgen=$LOADGEN duration=$DURATION concurrency=[$CONCURRENCY] backends=[$BACKENDS] modes=[$MODES] peer=$PEER${PG_DSN_PARAMS:+ postgres DSN params: $PG_DSN_PARAMS}"
  echo "# results in $RESULTS_DIR"
} | tee "$RESULTS_DIR/header.txt"

for mode in $MODES; do
  for backend in $BACKENDS; do bench_ours "$backend" "$mode"; done
  if [ "$PEER" = 1 ]; then bench_peer "$mode"; fi
done

# ---- summary -----------------------------------------------------------------------------------
python3 - "$summary" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print()
print(f"{'target':<6} {'backend':<8} {'mode':<9} {'endpoint':<10} {'c':>3} {'req/s':>9} {'2xx/s':>9} {'p50 ms':>7} {'p99 ms':>7}  status codes / errors")
for r in rows:
    if len(r) < 11:
        print(f"{r[0]:<6} {r[1]:<8} {r[2]:<9} {r[3]:<10} {'':>3} {r[5]}")
        continue
    t, b, m, ep, c, rps, ok, p50, p99, codes, errs = r
    print(f"{t:<6} {b:<8} {m:<9} {ep:<10} {c:>3} {float(rps):>9.0f} {float(ok):>9.0f} {float(p50):>7.2f} {float(p99):>7.2f}  {codes} {'' if errs == '-' else errs}")
peer = {(r[2], r[3], r[4]): r for r in rows if r[0] == "peer" and len(r) == 11}
ours = [r for r in rows if r[0] == "ours" and len(r) == 11]
if peer and ours:
    print()
    print("ratio ours/peer (2xx req/s; p99 peer/ours, > 1 means ours is faster)")
    for r in ours:
        p = peer.get((r[2], r[3], r[4]))
        if not p or not float(p[6]) or not float(r[8]):
            continue
        rr = float(r[6]) / float(p[6])
        pr = float(p[8]) / float(r[8])
        print(f"  {r[1]:<8} {r[2]:<9} {r[3]:<10} c={r[4]:<3} throughput x{rr:.2f}  p99 x{pr:.2f}")
PY
echo
echo "raw results and server logs: $RESULTS_DIR"
