# Shared by bench/run.sh and bench/flow.sh (sourced, not run): stopping the server they
# started and dropping the database they created, on exit too (also on Ctrl-C or failure),
# and two small helpers. The sourcing script sets PG_URL and fills server_pid (the server's
# process group leader), bench_db and tmp_sqlite as it creates them.

server_pid=""
bench_db=""
tmp_sqlite=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM -- "-$server_pid" 2>/dev/null || kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
drop_db() {
  if [ -n "$bench_db" ]; then
    psql -q -v ON_ERROR_STOP=1 "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS \"$bench_db\" WITH (FORCE)" >/dev/null 2>&1 \
      || echo "warning: could not drop database $bench_db" >&2
    bench_db=""
  fi
  if [ -n "$tmp_sqlite" ]; then rm -rf "$tmp_sqlite"; tmp_sqlite=""; fi
}
cleanup() { stop_server; drop_db; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }
rand_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
