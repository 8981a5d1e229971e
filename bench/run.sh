#!/usr/bin/env bash
# Keyway passthrough vs nginx proxy_pass vs the upstream directly, plus Keyway's memory while streaming
# 1 GiB each way. Everything runs on 127.0.0.1 and is stopped on exit. See README.md, "Benchmark:
# passthrough vs nginx".
#
#   bash bench/run.sh
#
# Options (environment):
#   DURATION=10s          length of each measured wrk run
#   WARMUP=3s             one unmeasured wrk run per target and phase first
#   RUNS=3                measured runs per target and phase (targets interleaved); medians are reported
#   THREADS=2             wrk threads in the load phase
#   CONNECTIONS=64        wrk connections in the load phase
#   LAT_CONNECTIONS=1     wrk connections (and threads) in the latency phase; 0 skips that phase
#   STREAM_BYTES=1073741824   size of the streamed download and upload; 0 skips the memory test
#   TARGETS="direct nginx keyway ceiling"   what the wrk phases measure (the report needs the first three;
#                         ceiling is bench/ceiling, a bare hyper proxy: an upper bound for Keyway's stack;
#                         add "spin" for the ceiling doing SPIN_NS of busy user work per request too, which
#                         shows how a proxy's whole cost, kernel time included, grows with its own work)
#   SPIN_NS=10000         the spin target's busy work per request, in nanoseconds
#   STORE=sqlite          Keyway's store: sqlite (a temporary data dir) or postgres (a fresh database at
#                         BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/keyway_bench, dropped
#                         and created by this script with psql; needs a running server)
#   KEYWAY_ENV="A=1 B=2"  extra environment for `keyway serve` (split on spaces), e.g. TOKIO_WORKER_THREADS=1
#   SKIP_BUILD=1          use the existing target/release/keyway
#   KEYWAY_BIN=path       benchmark this keyway binary instead (no build)
#   SKIP_INSTALL=1        do not apt-get anything
#   PORT_BASE=18080       upstream PORT_BASE+1, nginx +2, Keyway +3, upload sink +4, ceiling +5, spin +6
#   RESULTS=bench/results/latest.md
#   BENCH_NOTE=…          a free-text note written into the results (e.g. "machine busy")
#   KEEP_WORK=1           keep the temporary work directory (configs, logs, raw samples)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
LAT_CONNECTIONS=${LAT_CONNECTIONS:-1}
STREAM_BYTES=${STREAM_BYTES:-1073741824}
PORT_BASE=${PORT_BASE:-18080}
RESULTS=${RESULTS:-$BENCH/results/latest.md}
BENCH_NOTE=${BENCH_NOTE:-}
TARGETS=${TARGETS:-direct nginx keyway ceiling}
STORE=${STORE:-sqlite}
BENCH_POSTGRES_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/keyway_bench}
case "$STORE" in sqlite | postgres) ;; *) echo "STORE must be sqlite or postgres" >&2; exit 2 ;; esac
UP_PORT=$((PORT_BASE + 1))
NGINX_PORT=$((PORT_BASE + 2))
KEYWAY_PORT=$((PORT_BASE + 3))
SINK_PORT=$((PORT_BASE + 4))
CEILING_PORT=$((PORT_BASE + 5))
SPIN_PORT=$((PORT_BASE + 6))
SPIN_NS=${SPIN_NS:-10000}
API_KEY="bench_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
SMALL_BODY='{"id":"bench","ok":true,"items":[1,2,3],"message":"a small fixed JSON body from the upstream"}'

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- prerequisites
install_missing() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  command -v curl >/dev/null || missing+=(curl)
  command -v python3 >/dev/null || missing+=(python3)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ -n "${SKIP_INSTALL:-}" ] && die "missing ${missing[*]} and SKIP_INSTALL is set"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing ${missing[*]} from Debian packages"
  $sudo apt-get update -qq
  # oha is not packaged by Debian (bookworm); wrk is. Keep the packages' own nginx service from starting.
  local policy=/usr/sbin/policy-rc.d added_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && added_policy=1
  fi
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; then
    # Newer Debian has no nginx-light flavour: plain nginx then.
    local retry=("${missing[@]/nginx-light/nginx}")
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${retry[@]}" >/dev/null
  fi
  if [ -n "$added_policy" ]; then $sudo rm -f "$policy"; fi
  return 0
}
install_missing
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [ -z "${KEYWAY_BIN:-}" ]; then
  if [ -z "${SKIP_BUILD:-}" ]; then
    log "building keyway (cargo build --release -p keyway)"
    (cd "$ROOT" && cargo build --release -p keyway)
  fi
  KEYWAY_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/keyway"
fi
[ -x "$KEYWAY_BIN" ] || die "no $KEYWAY_BIN (unset SKIP_BUILD)"
CEILING_BIN="$BENCH/ceiling/target/release/keyway-bench-ceiling"
if [[ " $TARGETS " == *" ceiling "* || " $TARGETS " == *" spin "* ]]; then
  if [ -z "${SKIP_BUILD:-}" ] || [ ! -x "$CEILING_BIN" ]; then
    log "building the ceiling proxy (bench/ceiling)"
    (cd "$BENCH/ceiling" && cargo build --release --locked)
  fi
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $UP_PORT $NGINX_PORT $KEYWAY_PORT $SINK_PORT $CEILING_PORT $SPIN_PORT; do
  port_busy "$p" && die "port $p is in use (set PORT_BASE)"
done

# ---------------------------------------------------------------- work dir and cleanup
W=$(mktemp -d /tmp/keyway-bench.XXXXXX)
chmod 755 "$W" # nginx workers (nobody) read the streamed file here
PIDS=()
SAMPLER=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${KEEP_WORK:-}" ] || [ "$status" -ne 0 ]; then log "work directory kept: $W"; else rm -rf "$W"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # url, what
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  die "$2 did not come up ($1)"
}

# ---------------------------------------------------------------- upstream: nginx serving from memory
# The upstream is nginx answering `return 200` with a fixed 94-byte JSON body: no disk, no allocation per
# request, C and event-driven, so it is the cheapest credible responder and the same for all three targets
# (a slower upstream would hide the proxies' cost). It also serves the 1 GiB download from a sparse file.
# Uploads go to bench/sink.py, which reads and discards the body and answers with the byte count.
mkdir -p "$W/up/tmp" "$W/proxy/tmp"
chmod 1777 "$W/up/tmp" "$W/proxy/tmp"
[ "$STREAM_BYTES" -gt 0 ] && truncate -s "$STREAM_BYTES" "$W/stream.bin" && chmod 644 "$W/stream.bin"
nginx_common() { # prefix dir
  cat <<EOF
worker_processes auto;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; multi_accept on; }
EOF
}
{
  nginx_common "$W/up"
  cat <<EOF
http {
  access_log off;
  client_body_temp_path $W/up/tmp/body;
  proxy_temp_path $W/up/tmp/proxy;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  sendfile on;
  tcp_nopush on;
  server {
    listen 127.0.0.1:$UP_PORT backlog=4096;
    location = /small { default_type application/json; return 200 '$SMALL_BODY'; }
    location = /big { alias $W/stream.bin; default_type application/octet-stream; }
    location = /whoami { default_type text/plain; return 200 \$http_x_api_key; }
    location / { return 404; }
  }
}
EOF
} >"$W/up/nginx.conf"

# ---------------------------------------------------------------- nginx as a reverse proxy
{
  nginx_common "$W/proxy"
  cat <<EOF
http {
  access_log off;
  client_body_temp_path $W/proxy/tmp/body;
  proxy_temp_path $W/proxy/tmp/proxy;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  upstream platform {
    server 127.0.0.1:$UP_PORT;
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location / {
      proxy_pass http://platform;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Api-Key "$API_KEY";
      # Drop the caller's credentials headers, as Keyway does.
      proxy_set_header x-pica-secret "";
      proxy_set_header x-pica-connection-key "";
    }
  }
}
EOF
} >"$W/proxy/nginx.conf"

declare -A NGINX_MASTER
for side in up proxy; do
  "$NGINX" -t -q -p "$W/$side" -e "$W/$side/error.log" -c "$W/$side/nginx.conf"
  "$NGINX" -p "$W/$side" -e "$W/$side/error.log" -c "$W/$side/nginx.conf" -g 'daemon off;' &
  PIDS+=($!)
  NGINX_MASTER[$side]=$!
done
python3 "$BENCH/sink.py" "$SINK_PORT" &
PIDS+=($!)

# ---------------------------------------------------------------- Keyway
mkdir -p "$W/catalog/platforms" "$W/catalog/logos" "$W/keyway-data"
printf '%s' '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#475569"/></svg>' \
  >"$W/catalog/logos/bench.svg"
platform_toml() { # slug, port
  cat <<EOF
slug = "$1"
name = "Bench $1"
category = "Developer Tools"
description = "Local upstream of the passthrough benchmark."
logo = "bench.svg"
docs_url = "https://example.com/docs"
base_url = "http://127.0.0.1:$2"
internal = true

[auth]
kind = "api_key"

[[fields]]
name = "apiKey"
label = "API key"
secret = true

[inject]
headers = { "X-Api-Key" = "{{apiKey}}" }
EOF
}
platform_toml bench "$UP_PORT" >"$W/catalog/platforms/bench.toml"
platform_toml bench-sink "$SINK_PORT" >"$W/catalog/platforms/bench-sink.toml"

STORE_ENV=()
if [ "$STORE" = postgres ]; then
  # A fresh database each run: the first start creates the project and prints its keys, as on SQLite.
  command -v psql >/dev/null || die "STORE=postgres needs psql"
  PG_DB=${BENCH_POSTGRES_URL##*/}
  PG_ADMIN=${BENCH_POSTGRES_URL%/*}/postgres
  psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" -c "CREATE DATABASE \"$PG_DB\"" ||
    die "cannot create $PG_DB at $PG_ADMIN"
  STORE_ENV=(KEYWAY_DATABASE_URL="$BENCH_POSTGRES_URL" KEYWAY_MASTER_KEY="$("$KEYWAY_BIN" master-key generate)")
fi
(
  cd "$W"
  exec env KEYWAY_LISTEN="127.0.0.1:$KEYWAY_PORT" KEYWAY_DATA_DIR="$W/keyway-data" \
    KEYWAY_CATALOG_DIR="$W/catalog" KEYWAY_LOG=warn ${KEYWAY_ENV:-} "${STORE_ENV[@]}" "$KEYWAY_BIN" serve
) >"$W/keyway.out" 2>"$W/keyway.err" &
KEYWAY_PID=$!
PIDS+=("$KEYWAY_PID")

wait_http "http://127.0.0.1:$UP_PORT/small" "upstream nginx"
wait_http "http://127.0.0.1:$NGINX_PORT/small" "proxy nginx"
wait_http "http://127.0.0.1:$SINK_PORT/" "upload sink"
if [[ " $TARGETS " == *" ceiling "* ]]; then
  "$CEILING_BIN" "127.0.0.1:$CEILING_PORT" "127.0.0.1:$UP_PORT" "$API_KEY" &
  PIDS+=($!)
  CEILING_PID=$!
  wait_http "http://127.0.0.1:$CEILING_PORT/v1/passthrough/small" "ceiling proxy"
fi
if [[ " $TARGETS " == *" spin "* ]]; then
  CEILING_SPIN_NS=$SPIN_NS "$CEILING_BIN" "127.0.0.1:$SPIN_PORT" "127.0.0.1:$UP_PORT" "$API_KEY" &
  PIDS+=($!)
  SPIN_PID=$!
  wait_http "http://127.0.0.1:$SPIN_PORT/v1/passthrough/small" "spinning ceiling proxy"
fi
wait_http "http://127.0.0.1:$KEYWAY_PORT/healthz" "keyway"
SECRET=$(sed -n 's/^ *test: \(sk_test_[A-Za-z0-9]*\).*/\1/p' "$W/keyway.out" | head -1)
[ -n "$SECRET" ] || die "no test secret key in keyway's first-start output"

connect() { # platform -> connection key
  curl -fsS "http://127.0.0.1:$KEYWAY_PORT/v1/vault/connections" -H "x-pica-secret: $SECRET" \
    -H 'content-type: application/json' \
    -d "{\"platform\":\"$1\",\"identity\":\"bench-user\",\"identityType\":\"user\",\"authFormData\":{\"apiKey\":\"$API_KEY\"}}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}
CONN=$(connect bench)
SINK_CONN=$(connect bench-sink)
export BENCH_SECRET="$SECRET" BENCH_CONNECTION_KEY="$CONN"

URL_DIRECT="http://127.0.0.1:$UP_PORT/small"
URL_NGINX="http://127.0.0.1:$NGINX_PORT/small"
URL_KEYWAY="http://127.0.0.1:$KEYWAY_PORT/v1/passthrough/small"
URL_CEILING="http://127.0.0.1:$CEILING_PORT/v1/passthrough/small"
URL_SPIN="http://127.0.0.1:$SPIN_PORT/v1/passthrough/small"
pass() { curl -sS -H "x-pica-secret: $SECRET" -H "x-pica-connection-key: ${2:-$CONN}" "${@:3}" "http://127.0.0.1:$KEYWAY_PORT/v1/passthrough$1"; }

# Sanity: the three targets answer the same body, and both proxies inject the key.
for u in "$URL_DIRECT" "$URL_NGINX"; do
  [ "$(curl -fsS "$u")" = "$SMALL_BODY" ] || die "unexpected body from $u"
done
[ "$(pass /small)" = "$SMALL_BODY" ] || die "unexpected body from Keyway passthrough: $(pass /small)"
[ "$(curl -fsS "http://127.0.0.1:$NGINX_PORT/whoami")" = "$API_KEY" ] || die "nginx does not inject the key"
[ "$(pass /whoami)" = "$API_KEY" ] || die "Keyway does not inject the key"
if [[ " $TARGETS " == *" ceiling "* ]]; then
  [ "$(curl -fsS "$URL_CEILING")" = "$SMALL_BODY" ] || die "unexpected body from the ceiling proxy"
  [ "$(curl -fsS "http://127.0.0.1:$CEILING_PORT/v1/passthrough/whoami")" = "$API_KEY" ] ||
    die "the ceiling proxy does not inject the key"
fi

# ---------------------------------------------------------------- facts
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc=$(nproc)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "kernel=$(uname -sr)"
  echo "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "compilers_running_start=$( (pgrep -c -x 'rustc|cc1|cc1plus|ld|cargo' || true) | head -1)"
  echo "wrk=$(wrk -v 2>&1 | head -1 | sed 's/ Copyright.*//')"
  echo "nginx=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
  echo "curl=$(curl --version | head -1 | cut -d' ' -f1-2)"
  echo "python=$(python3 --version 2>&1)"
  echo "rustc=$(rustc --version 2>/dev/null || echo unknown)"
  echo "keyway=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && git diff --quiet HEAD -- crates 2>/dev/null || echo ' (+ uncommitted changes in crates/)')"
  echo "duration=$DURATION"
  echo "warmup=$WARMUP"
  echo "runs=$RUNS"
  echo "threads=$THREADS"
  echo "connections=$CONNECTIONS"
  echo "lat_connections=$LAT_CONNECTIONS"
  echo "stream_bytes=$STREAM_BYTES"
  echo "spin_ns=$SPIN_NS"
  echo "store=$STORE"
  echo "keyway_env=${KEYWAY_ENV:-}"
  echo "note=$BENCH_NOTE"
} >"$W/facts.env"

# ---------------------------------------------------------------- memory while streaming
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$KEYWAY_PID/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$KEYWAY_PID/status"; }
sample_rss() { # file; every 100 ms until killed (or Keyway is gone)
  while [ -r "/proc/$KEYWAY_PID/status" ]; do
    while read -r k v _; do [ "$k" = "VmRSS:" ] && echo "$v"; done <"/proc/$KEYWAY_PID/status"
    sleep 0.1
  done >"$1"
}
max_of() { sort -n "$1" | tail -1; }

printf 'transfer\tbaseline_kib\tpeak_kib\thwm_before_kib\thwm_after_kib\tbytes\tseconds\tstatus\tverified\n' >"$W/mem.tsv"
stream_test() { # name
  local name=$1 out baseline peak hwm0 hwm1 code bytes secs verified
  # Warm the path (pool, cache) with small requests, then a 1 s idle baseline.
  for _ in 1 2 3; do pass /small >/dev/null; curl -sS -o /dev/null -X POST --data x -H "x-pica-secret: $SECRET" \
    -H "x-pica-connection-key: $SINK_CONN" "http://127.0.0.1:$KEYWAY_PORT/v1/passthrough/upload"; done
  sample_rss "$W/rss-$name-baseline.txt" & SAMPLER=$!
  sleep 1
  kill "$SAMPLER"; wait "$SAMPLER" 2>/dev/null || true
  baseline=$(max_of "$W/rss-$name-baseline.txt")
  hwm0=$(hwm_kib)
  sample_rss "$W/rss-$name.txt" & SAMPLER=$!
  if [ "$name" = download ]; then
    out=$(pass /big "$CONN" -o /dev/null -w '%{http_code} %{size_download} %{time_total}')
    read -r code bytes secs <<<"$out"
    verified=$([ "$bytes" = "$STREAM_BYTES" ] && echo yes || echo "no ($bytes bytes)")
  else
    # -T streams the file (--data-binary @file would load it into curl's memory first).
    out=$(pass /upload "$SINK_CONN" -X POST -T "$W/stream.bin" -H 'content-type: application/octet-stream' \
      -o "$W/upload.json" -w '%{http_code} %{size_upload} %{time_total}')
    read -r code bytes secs <<<"$out"
    verified=$(python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["received"]; print("yes" if n==int(sys.argv[2]) else "no (sink got %d)" % n)' \
      "$W/upload.json" "$STREAM_BYTES" 2>/dev/null || echo "no ($(head -c 200 "$W/upload.json"))")
  fi
  sleep 0.3
  kill "$SAMPLER"; wait "$SAMPLER" 2>/dev/null || true
  SAMPLER=""
  peak=$(max_of "$W/rss-$name.txt")
  hwm1=$(hwm_kib)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$baseline" "$peak" "$hwm0" "$hwm1" "$bytes" "$secs" "$code" "$verified" >>"$W/mem.tsv"
  log "$name: $bytes bytes in ${secs}s, status $code, verified $verified; RSS baseline ${baseline} KiB, peak ${peak} KiB"
}
if [ "$STREAM_BYTES" -gt 0 ]; then
  log "streaming $STREAM_BYTES bytes each way through Keyway, sampling its RSS every 100 ms"
  stream_test download
  stream_test upload
fi

# ---------------------------------------------------------------- throughput and latency
# CPU per request: user + system time of the process wrk talks to (every thread; for nginx, master and
# workers; for direct, the upstream nginx), over the run, divided by the requests; also split into user
# and system time (system time includes the kernel's loopback delivery and the wake-ups it causes). Steadier than req/s on
# a shared machine, and it shows the cost a proxy adds to each request whatever else runs.
target_pids() { # target
  case $1 in
    direct) echo "${NGINX_MASTER[up]} $(pgrep -P "${NGINX_MASTER[up]}" | tr '\n' ' ')" ;;
    nginx) echo "${NGINX_MASTER[proxy]} $(pgrep -P "${NGINX_MASTER[proxy]}" | tr '\n' ' ')" ;;
    keyway) echo "$KEYWAY_PID" ;;
    ceiling) echo "${CEILING_PID:-}" ;;
    spin) echo "${SPIN_PID:-}" ;;
  esac
}
cpu_ticks() { # pids... -> "utime stime", clock ticks, all threads
  local user=0 sys=0 pid f a
  for pid in "$@"; do
    for f in /proc/"$pid"/task/*/stat; do
      [ -r "$f" ] || continue
      read -r -a a <"$f" || continue
      # Fields 14 and 15 (utime, stime); the command name (field 2) has no spaces for these processes.
      user=$((user + a[13]))
      sys=$((sys + a[14]))
    done
  done
  echo "$user $sys"
}
CLK_TCK=$(getconf CLK_TCK)
per_request() { # clock ticks, requests -> µs per request, one decimal
  local tenths=$(($1 * 1000000 * 10 / CLK_TCK / ($2 > 0 ? $2 : 1)))
  echo "$((tenths / 10)).$((tenths % 10))"
}
printf 'phase\ttarget\trun\trps\tp50_us\tp90_us\tp99_us\tmax_us\trequests\tnon2xx\tsocket_errors\tcpu_us_per_req\tuser_us_per_req\tsys_us_per_req\n' >"$W/runs.tsv"
wrk_once() { # phase target url threads connections duration run(0 = warm-up)
  local out line pids user0 sys0 user1 sys1
  # shellcheck disable=SC2207
  pids=($(target_pids "$2"))
  read -r user0 sys0 <<<"$(cpu_ticks "${pids[@]}")"
  out=$(wrk -t"$4" -c"$5" -d"$6" --latency -s "$BENCH/wrk.lua" "$3" 2>&1) || die "wrk failed on $2: $out"
  read -r user1 sys1 <<<"$(cpu_ticks "${pids[@]}")"
  echo "== $1 $2 run $7: wrk -t$4 -c$5 -d$6 --latency -s bench/wrk.lua $3" >>"$W/wrk-raw.txt"
  echo "$out" >>"$W/wrk-raw.txt"
  line=$(grep '^RESULT ' <<<"$out") || die "no RESULT line from wrk on $2: $out"
  [ "$7" -eq 0 ] && return 0
  # shellcheck disable=SC2086
  local $(sed 's/^RESULT //' <<<"$line")
  local cpu_us user_us sys_us
  cpu_us=$(per_request $((user1 - user0 + sys1 - sys0)) "$requests")
  user_us=$(per_request $((user1 - user0)) "$requests")
  sys_us=$(per_request $((sys1 - sys0)) "$requests")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$7" "$rps" "$p50_us" "$p90_us" "$p99_us" "$max_us" \
    "$requests" "$non2xx" "$((connect_err + read_err + write_err + timeout_err))" "$cpu_us" "$user_us" "$sys_us" >>"$W/runs.tsv"
  log "$1 $2 run $7: $rps req/s, p50 ${p50_us} us, p99 ${p99_us} us, non-2xx $non2xx, CPU ${cpu_us} us/request (user $user_us, system $sys_us)"
}
phase() { # name threads connections
  log "phase $1: wrk -t$2 -c$3, warm-up $WARMUP per target, then $RUNS x $DURATION interleaved"
  for t in $TARGETS; do
    local u=URL_${t^^}
    wrk_once "$1" "$t" "${!u}" "$2" "$3" "$WARMUP" 0
  done
  for run in $(seq 1 "$RUNS"); do
    for t in $TARGETS; do
      local u=URL_${t^^}
      wrk_once "$1" "$t" "${!u}" "$2" "$3" "$DURATION" "$run"
    done
  done
}
phase load "$THREADS" "$CONNECTIONS"
[ "$LAT_CONNECTIONS" -gt 0 ] && phase latency "$LAT_CONNECTIONS" "$LAT_CONNECTIONS"
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$W/facts.env"
echo "keyway_rss_end_kib=$(rss_kib)" >>"$W/facts.env"
# Keyway's only expected warning is the first-start "generated a new master key"; show anything else.
if grep -v 'generated a new master key' "$W/keyway.err" | grep -q .; then
  log "keyway logged:"
  grep -v 'generated a new master key' "$W/keyway.err" | head -20 >&2
fi

# ---------------------------------------------------------------- report
mkdir -p "$(dirname "$RESULTS")"
python3 "$BENCH/report.py" "$W/facts.env" "$W/runs.tsv" "$W/mem.tsv" "$W/wrk-raw.txt" "$RESULTS"
log "results written to ${RESULTS#"$ROOT"/}"
