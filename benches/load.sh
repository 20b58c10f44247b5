#!/usr/bin/env bash
# Load test of the real server as operators run it: the release binary, copied to an empty
# directory (its built-in settings), in the production profile with its default logging (JSON
# lines at info, one access line per request, written to a file as a log shipper reads it),
# trusting a second instance in the dev profile as its issuer. wrk drives it over loopback.
#
#   benches/load.sh          /api/public and /api/private in three configurations — default
#                            logging with the token cache on, RUST_LOG=warn with the token cache
#                            on, default logging with the token cache off — beside three
#                            hello-world servers built with the same profile (benches/hello: axum,
#                            poem, poem-openapi; no middleware, no log), and the criterion
#                            benchmarks, pinned like the server: one report
#   benches/load.sh flood    the memory benchmarks: floods of distinct ~11 KB tokens against the
#                            release binary (benches/flood.rs: the token cache stays within
#                            token_cache.max_bytes), and the DPoP replay store at 15,000 proofs/s
#                            on a simulated clock (benches/replay.rs)
#   benches/load.sh dpop     /api/private with a bearer token (as fast as it goes, and paced to
#                            the DPoP run's rate) and with a DPoP-bound token and a new
#                            pre-generated proof per request, sustained at full rate for
#                            DPOP_SUSTAIN (60 s) with dpop.max_age shortened to DPOP_MAX_AGE (15 s),
#                            so the replay store turns over 4 times; without and with nonces;
#                            against the in-memory replay store and Redis (a redis-server on
#                            PORT+3), alternating: 503s and other refusals, the proofs the store
#                            holds and their bytes; the extra server CPU time of a DPoP request
#                            against the criterion time of one whole DPoP check, and DPoP req/s
#                            against openssl's ES256 verifications/s on the same core; with
#                            BASELINE_BINARY (a previous main's release binary), the DPoP run by
#                            it and by this tree, back to back in every round
#   benches/load.sh traces   /api/public and /api/private (token cache on, default logging) by
#                            the release binary of BASELINE_BINARY (the previous main, required)
#                            and of this tree with no OTLP endpoint, then with an exporter at 1 %
#                            (parentbased_traceidratio) and at 100 % (always_on) to an OTLP sink
#                            on the wrk cores, alternating: the ratios to the baseline
#                            (TRACES_RUNS="baseline off" runs only those two)
#
# Environment: DURATION (default 10s), CONNECTIONS (64), ROUNDS (3: each round runs every
# configuration and route in turn, so a drift of the machine affects them alike; each figure is
# the run with the median req/s), FLOOD_TOKENS (20000, for benches/flood.rs), DPOP_SUSTAIN,
# DPOP_MAX_AGE, PORT (3900; the issuer takes PORT+2).
# The server is pinned to core 0 and wrk to the other cores when taskset and 2+ cores exist.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-table}
if [ "$mode" = flood ]; then
  cargo bench --bench flood
  cargo bench --bench replay
  exit 0
fi
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
port=${PORT:-3900}
base="http://127.0.0.1:${port}"
issuer_base="http://127.0.0.1:$((port + 2))"
audience=https://api.example.com
work=$(mktemp -d)
server_pid="" issuer_pid="" redis_pid=""
trap 'for pid in $server_pid $issuer_pid $redis_pid; do kill "$pid" 2>/dev/null; done; rm -rf "$work"' EXIT

if ! command -v wrk >/dev/null; then
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
pin_server=() pin_load=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_server=(taskset -c 0) pin_load=(taskset -c "1-$(($(nproc) - 1))")
fi

echo "building the release binaries..." >&2
cargo build --release --quiet
cargo build --release --quiet -p hello-worlds
mkdir -p "$work/bin" "$work/run"
cp target/release/protected-api "$work/bin/protected-api"
hellos=(axum poem poem-openapi)
for hello in "${hellos[@]}"; do cp "target/release/hello-$hello" "$work/bin/"; done
binary="$work/bin/protected-api"

# The issuer: an instance in the dev profile, whose development issuer signs the tokens. It
# serves one key fetch per server start, so it runs beside wrk rather than on the server's core.
start_issuer() {
  env -C "$work/run" PORT=$((port + 2)) RUST_LOG=warn "${pin_load[@]}" "$binary" >"$work/issuer.log" 2>&1 &
  issuer_pid=$!
  until curl -fs "$issuer_base/healthz" >/dev/null 2>&1; do
    kill -0 "$issuer_pid" 2>/dev/null || { cat "$work/issuer.log" >&2; exit 1; }
    sleep 0.01
  done
}

# Deletes the last server's log (counted by then) and writes what is left of it to disk, so each
# run starts on a quiet disk. The kernel writes dirty pages back 30 s after they were written:
# one run's 200-300 MB of access lines were written back during the runs after it, the hello
# worlds' included, and swung them by up to 40 %.
settle_disk() {
  rm -f "$work/server.log"
  sync
}

# Starts the server in the production profile from the empty directory, with `logging`
# `default` (RUST_LOG unset: JSON lines at info) or `warn`, the token cache on or off, the DPoP
# replay store (default memory) and any further NAME=value settings; its stdout goes to
# $work/server.log. Sets startup_ms to the time to the first /healthz 200.
start_server() {
  local logging=$1 cache=$2 store=${3:-memory} started
  local -a log_level=() extra=("${@:4}")
  [ "$logging" = warn ] && log_level=(RUST_LOG=warn)
  settle_disk
  started=$(date +%s%N)
  env -C "$work/run" -u RUST_LOG "${log_level[@]}" APP_PROFILE=production AUTH0_ISSUER="$issuer_base/dev/" \
    AUTH0_API_AUDIENCE=$audience APP_TOKEN_CACHE__ENABLED="$cache" APP_DPOP__REPLAY_STORE="$store" PORT=$port \
    "${extra[@]}" "${pin_server[@]}" "$binary" >"$work/server.log" 2>&1 &
  server_pid=$!
  until curl -fs "$base/healthz" >/dev/null 2>&1; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.002
  done
  startup_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  until curl -fs "$base/readyz" >/dev/null 2>&1; do sleep 0.01; done
}

# Starts the hello-world server of `name` (axum, poem or poem-openapi) where the server runs.
start_hello() {
  settle_disk
  LISTEN="127.0.0.1:$port" "${pin_server[@]}" "$work/bin/hello-$1" >/dev/null 2>&1 &
  server_pid=$!
  until curl -fs "$base/" >/dev/null 2>&1; do
    kill -0 "$server_pid" 2>/dev/null || { echo "hello-$1 did not start" >&2; exit 1; }
    sleep 0.002
  done
}

stop_server() {
  kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

peak_rss_mib() {
  awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status"
}

token() {
  curl -fs "$issuer_base/dev/token" -d scope=read:messages | sed 's/.*"access_token":"\([^"]*\)".*/\1/'
}

# Of the runs on stdin (one per line), prints the one with the median req/s.
median() {
  sort -n | awk '{ runs[NR] = $0 } END { print runs[int((NR + 1) / 2)] }'
}

# The CPU time the server has used: user and kernel, in clock ticks.
server_ticks() {
  awk '{ print $14, $15 }' "/proc/$server_pid/stat"
}

# Runs wrk and prints: req/s p50 p99 non-2xx (latencies in ms), the server's user and kernel
# CPU time per request (µs), and the requests wrk saw answered.
drive_once() {
  local out="$work/wrk.txt" before after
  before=$(server_ticks)
  "${pin_load[@]}" wrk -t2 -c"$connections" -d"${RUN_DURATION:-$duration}" --latency "$@" >"$out"
  after=$(server_ticks)
  awk -v before="$before" -v after="$after" -v hz="$(getconf CLK_TCK)" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    / requests in / { requests = $1 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $NF }
    END {
      split(before, b); split(after, a)
      printf "%.0f %.3f %.3f %d %.2f %.2f %d\n", rps, p50, p99, bad + 0,
        (a[1] - b[1]) / hz * 1e6 / requests, (a[2] - b[2]) / hz * 1e6 / requests, requests
    }' "$out"
}

row() {
  printf "| %-32s | %9s | %8s | %8s | %8s | %13s |\n" "$@"
}

start_issuer

# Runs the criterion benchmarks whose names match `filter`, on the server's core, so the cost of
# one check is measured in this run; writes "name<TAB>µs" lines to $work/criterion.txt.
criterion() {
  echo "running the criterion benchmarks..." >&2
  local bench_exe
  bench_exe=$(cargo bench --bench verify --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))/\1/p')
  "${pin_server[@]}" "$bench_exe" --bench --noplot "$@" 2>/dev/null | awk '
    /^[^ ]/ && !/^Found/ { name = $0 }
    /time:/ { gsub(/[][]/, ""); us = $5 == "ns" ? $4 / 1000 : $5 == "ms" ? $4 * 1000 : $4; printf "%s\t%.2f\n", name, us }
  ' >"$work/criterion.txt"
}

if [ "$mode" = dpop ]; then
  if ! command -v redis-server >/dev/null; then
    apt-get install -y -qq redis-server >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
  fi
  redis_port=$((port + 3))
  "${pin_load[@]}" redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >/dev/null &
  redis_pid=$!
  criterion "dpop|cache hit\$"
  whole_us=$(awk -F'\t' '/whole check/ { print $2 }' "$work/criterion.txt")
  # The physical limit: ES256 verifications per second on the server's core.
  verify_per_s=$("${pin_server[@]}" openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/nistp256/ { print $(NF) }' | tail -1)
  proof_key="$work/dpop-key.pem"
  signer=$binary
  proof() { "$signer" dpop-proof --key "$proof_key" "$@" 2>/dev/null; }
  if [ -n "${BASELINE_BINARY:-}" ]; then
    [ -x "$BASELINE_BINARY" ] || { echo "BASELINE_BINARY is not an executable" >&2; exit 2; }
    cp "$BASELINE_BINARY" "$work/bin/baseline"
  fi
  dpop_token=$(curl -fs "$issuer_base/dev/token" -H "DPoP: $(proof POST "$issuer_base/dev/token")" -d scope=read:messages |
    sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  bearer_token=$(token)
  max_age=${DPOP_MAX_AGE:-15}
  sustain=${DPOP_SUSTAIN:-60}
  nonce_secret=load-run-nonce-secret-of-at-least-32-bytes
  dpop_env=(APP_DPOP__MAX_AGE="${max_age}s" APP_DPOP__NONCE_SECRET="$nonce_secret" APP_DPOP__NONCE_LIFETIME=1h)
  # Signs the proofs of a run of about `seconds` at `rate` requests/s, one file per wrk thread,
  # their iat advancing one second per `rate` proofs sent, from a few seconds after signing ends
  # (ahead of the clock by less than dpop.leeway): at full rate every proof is fresh when sent,
  # and the replay store holds max_age of traffic, as in a steady state.
  sign_proofs() {
    local rate=$1 seconds=$2 nonce=${3:-} count per_second start
    count=$((rate * seconds * 115 / 100 / 2))
    per_second=$((rate / 2))
    start=$(($(date +%s) + count / 20000 + 5))
    local -a with_nonce=()
    [ -n "$nonce" ] && with_nonce=(--nonce "$nonce")
    rm -rf "$work/proofs"
    mkdir -p "$work/proofs"
    local -a signers=()
    for thread in 1 2; do
      proof --count "$count" --iat "$start" --per-second "$per_second" --token "$dpop_token" "${with_nonce[@]}" \
        GET "$base/api/private" >"$work/proofs/proofs-$thread.txt" &
      signers+=($!)
    done
    wait "${signers[@]}"
  }
  metric() { curl -fs "$base/metrics" | awk -v name="$1" '$1 == name { print $2 }'; }
  refusals() {
    curl -fs "$base/metrics" | awk '/^auth_rejections_total/ { sub(/.*reason="/, ""); sub(/"}/, ""); printf "%s%s", sep, $0; sep = ", " }'
  }
  redis_memory() { redis-cli -p "$redis_port" INFO memory | awk -F: '/^used_memory:/ { print $2 + 0 }'; }
  stores=(memory "redis://127.0.0.1:$redis_port")
  for name in memory redis; do
    for run in bearer paced dpop nonce; do : >"$work/$name.$run"; done
  done
  for file in stores baseline.dpop tree.dpop; do : >"$work/$file"; done
  for round in $(seq "${ROUNDS:-3}"); do
    for store in "${stores[@]}"; do
      name=${store%%:*}
      start_server default true "$store" "${dpop_env[@]}"
      echo "$(drive_once -H "Authorization: Bearer $bearer_token" "$base/api/private") $(peak_rss_mib)" >>"$work/$name.bearer"
      # The rate of a short DPoP run sets the pace of the proofs' iat for the sustained one.
      sign_proofs 20000 4
      rate=$(RUN_DURATION=4s PROOFS_DIR="$work/proofs" DPOP_TOKEN="$dpop_token" drive_once -s benches/load/dpop.lua "$base" | awk '{ print $1 }')
      [ "$name" = memory ] && memory_rate=$rate
      stop_server
      for nonces in disabled required; do
        run=$([ "$nonces" = disabled ] && echo dpop || echo nonce)
        start_server default true "$store" "${dpop_env[@]}" APP_DPOP__NONCE="$nonces"
        nonce=""
        if [ "$nonces" = required ]; then
          nonce=$(curl -s -D - -o /dev/null "$base/api/private" -H "Authorization: DPoP $dpop_token" \
            -H "DPoP: $(proof --token "$dpop_token" GET "$base/api/private")" | awk -F': ' 'tolower($1) == "dpop-nonce" { print $2 }' | tr -d '\r')
        fi
        echo "signing proofs for ${sustain}s at $rate/s ($name, nonces $nonces)..." >&2
        sign_proofs "$rate" "$sustain" "$nonce"
        [ "$name" = redis ] && redis-cli -p "$redis_port" FLUSHALL >/dev/null && redis_before=$(redis_memory)
        dpop_run=$(RUN_DURATION="${sustain}s" PROOFS_DIR="$work/proofs" DPOP_TOKEN="$dpop_token" drive_once -s benches/load/dpop.lua "$base")
        if [ "$name" = memory ]; then
          held="$(metric dpop_replay_store_entries) $(metric dpop_replay_store_bytes)"
        else
          held="$(redis-cli -p "$redis_port" DBSIZE) $(($(redis_memory) - redis_before))"
        fi
        echo "$dpop_run $(peak_rss_mib) $held" >>"$work/$name.$run"
        echo "round $round, $name, nonces $nonces: $(refusals)" >>"$work/stores"
        if [ "$run" = dpop ]; then
          # Bearer requests at the DPoP run's rate: the load generator then sleeps between answers
          # as it does in the DPoP run, and waking it costs the server the same.
          pace_ms=$(awk -v rps="${dpop_run%% *}" -v c="$connections" 'BEGIN { printf "%d", c * 1000 / rps + 0.5 }')
          echo "$(PACE_MS="$pace_ms" BEARER_TOKEN="$bearer_token" drive_once -s benches/load/paced.lua "$base") $(peak_rss_mib)" >>"$work/$name.paced"
        fi
        stop_server
      done
    done
    if [ -n "${BASELINE_BINARY:-}" ]; then
      # The same DPoP run (memory store, no nonces) by the baseline and by this tree, back to back.
      for which in baseline tree; do
        [ "$which" = baseline ] && binary="$work/bin/baseline" || binary=$signer
        start_server default true memory "${dpop_env[@]}"
        sign_proofs "$memory_rate" "$sustain"
        echo "$(RUN_DURATION="${sustain}s" PROOFS_DIR="$work/proofs" DPOP_TOKEN="$dpop_token" drive_once -s benches/load/dpop.lua "$base") $(peak_rss_mib)" >>"$work/$which.dpop"
        stop_server
      done
      binary=$signer
    fi
  done
  echo
  echo "wrk: $connections connections, 2 threads, ${ROUNDS:-3} rounds (medians); bearer runs $duration, DPoP runs ${sustain}s with dpop.max_age ${max_age}s (the replay store holds ${max_age}s of traffic, ${sustain}s is $((sustain / max_age)) windows); server: release binary, production profile, default logging, token cache on, pinned: ${pin_server[*]:-no}; $(nproc) cores, $(uname -m)"
  echo
  table_row() { printf "| %-58s | %9s | %8s | %8s | %8s | %9s | %11s | %12s | %12s | %11s |\n" "$@"; }
  table_row "run" "req/s" "p50 ms" "p99 ms" "non-2xx" "user µs" "kernel µs" "peak RSS MiB" "proofs held" "bytes/proof"
  table_row "---" "---" "---" "---" "---" "---" "---" "---" "---" "---"
  for name in memory redis; do
    for run in bearer paced dpop nonce; do
      case $run in
        bearer) what="bearer, as fast as it goes" ;;
        paced) what="bearer, at the DPoP run's rate" ;;
        dpop) what="DPoP, a new proof per request" ;;
        nonce) what="DPoP with nonces required" ;;
      esac
      read -r rps p50 p99 bad usr sys _ rss entries bytes < <(median <"$work/$name.$run")
      per_proof=$([ -n "${entries:-}" ] && [ "${entries:-0}" -gt 0 ] && awk -v b="$bytes" -v e="$entries" 'BEGIN { printf "%.1f", b / e }' || echo "")
      table_row "/api/private, $what ($name)" "$rps" "$p50" "$p99" "$bad" "$usr" "$sys" "$rss" "${entries:-}" "$per_proof"
    done
  done
  echo
  echo "refusals counted by the server in each DPoP run (auth_rejections_total by reason):"
  sed 's/^/  /' "$work/stores"
  echo
  printf "| %-55s | %9s |\n" "criterion, pinned like the server" "µs"
  printf "| %-55s | %9s |\n" "---" "---"
  while IFS=$'\t' read -r name us; do printf "| %-55s | %9s |\n" "$name" "$us"; done <"$work/criterion.txt"
  echo
  for name in memory redis; do
    cpu() { median <"$work/$name.$1" | awk '{ print $5, $6 }'; }
    awk -v paced="$(cpu paced)" -v fast="$(cpu bearer)" -v dpop="$(cpu dpop)" -v whole="$whole_us" -v name="$name" 'BEGIN {
      split(paced, p, " "); split(fast, f, " "); split(dpop, d, " ")
      same = d[1] + d[2] - p[1] - p[2]; user = d[1] - p[1]; saturated = d[1] + d[2] - f[1] - f[2]
      printf "store %s: extra server CPU per DPoP request over bearer at the same rate %.1f µs = %.2f × the criterion whole DPoP check (%.2f µs); user time alone %.1f µs = %.2f ×; over bearer as fast as it goes %.1f µs = %.2f ×\n",
        name, same, same / whole, whole, user, user / whole, saturated, saturated / whole }'
  done
  rps() { median <"$work/$1" | awk '{ print $1 }'; }
  awk -v dpop="$(rps memory.dpop)" -v nonce="$(rps memory.nonce)" -v verify="${verify_per_s:-0}" 'BEGIN {
    printf "DPoP requests/s (memory store) / ES256 verifications/s of openssl speed on the same core (%.0f): %.2f; with nonces / without: %.2f\n",
      verify, (verify > 0 ? dpop / verify : 0), nonce / dpop }'
  if [ -n "${BASELINE_BINARY:-}" ]; then
    read -r tree_rps _ _ tree_bad tree_usr tree_sys _ tree_rss < <(median <"$work/tree.dpop")
    read -r base_rps _ _ base_bad base_usr base_sys _ base_rss < <(median <"$work/baseline.dpop")
    awk -v t="$tree_rps" -v b="$base_rps" -v tc="$(awk -v u="$tree_usr" -v s="$tree_sys" 'BEGIN { print u + s }')" \
      -v bc="$(awk -v u="$base_usr" -v s="$base_sys" 'BEGIN { print u + s }')" -v tr="$tree_rss" -v br="$base_rss" \
      -v tb="$tree_bad" -v bb="$base_bad" 'BEGIN {
      printf "DPoP requests/s (memory store, no nonces), this tree / BASELINE_BINARY, back to back: %.0f / %.0f = %.2f; server CPU per request %.2f / %.2f µs; peak RSS %s / %s MiB; non-2xx %d / %d\n",
        t, b, t / b, tc, bc, tr, br, tb, bb }'
  fi
  exit 0
fi

if [ "$mode" = traces ]; then
  [ -x "${BASELINE_BINARY:-}" ] || { echo "set BASELINE_BINARY to the previous main's release binary" >&2; exit 2; }
  cp "$BASELINE_BINARY" "$work/bin/baseline"
  new_binary=$binary
  sink_port=$((port + 4))
  # An OTLP/HTTP sink: reads each export and answers 200, without decoding it.
  "${pin_load[@]}" python3 -c '
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args): pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()' "$sink_port" &
  redis_pid=$!
  otel=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$sink_port")
  read -r -a runs <<<"${TRACES_RUNS:-baseline off ratio always}"
  for run in "${runs[@]}"; do : >"$work/$run.public"; : >"$work/$run.private"; done
  tok=$(token)
  for _ in $(seq "${ROUNDS:-3}"); do
    for run in "${runs[@]}"; do
      binary=$new_binary
      case $run in
        baseline) binary="$work/bin/baseline"; start_server default true ;;
        off) start_server default true ;;
        ratio) start_server default true memory "${otel[@]}" OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.01 ;;
        always) start_server default true memory "${otel[@]}" OTEL_TRACES_SAMPLER=always_on ;;
      esac
      drive_once "$base/api/public" >>"$work/$run.public"
      drive_once -H "Authorization: Bearer $tok" "$base/api/private" >>"$work/$run.private"
      stop_server
    done
  done
  echo
  echo "wrk: $connections connections, $duration per run, ${ROUNDS:-3} rounds alternating (medians); server pinned: ${pin_server[*]:-no}"
  echo
  printf "| %-44s | %9s | %8s | %8s | %8s | %8s |\n" run req/s "p99 ms" "user µs" "kernel µs" "× baseline"
  printf "| %-44s | %9s | %8s | %8s | %8s | %8s |\n" --- --- --- --- --- ---
  for route in public private; do
    read -r base_rps _ < <(median <"$work/baseline.$route")
    for run in "${runs[@]}"; do
      read -r rps _ p99 _ usr sys _ < <(median <"$work/$run.$route")
      case $run in
        baseline) name="previous main" ;; off) name="this tree, no OTLP endpoint" ;;
        ratio) name="this tree, exporter, 1 % sampled" ;; always) name="this tree, exporter, 100 % sampled" ;;
      esac
      printf "| %-44s | %9s | %8s | %8s | %8s | %8.3f |\n" "/api/$route: $name" "$rps" "$p99" "$usr" "$sys" \
        "$(awk -v a="$rps" -v b="$base_rps" 'BEGIN { print a / b }')"
    done
  done
  echo
  echo "round by round (req/s, this tree with no endpoint / previous main):"
  for route in public private; do
    paste -d' ' "$work/off.$route" "$work/baseline.$route" | awk -v route="$route" '{ printf "  /api/%s %.3f\n", route, $1 / $8 }'
  done
  exit 0
fi

# Start-up of a server with a configured issuer: the key fetch runs in the background and is not
# counted.
measure_startup() {
  local other=$((port + 1)) started pid
  started=$(date +%s%N)
  env -C "$work/run" APP_PROFILE=production AUTH0_ISSUER="$issuer_base/dev/" AUTH0_API_AUDIENCE=$audience \
    PORT=$other "${pin_server[@]}" "$binary" >/dev/null 2>&1 &
  pid=$!
  until curl -fs "http://127.0.0.1:$other/healthz" >/dev/null 2>&1; do sleep 0.001; done
  echo $(( ($(date +%s%N) - started) / 1000000 ))
  kill "$pid" && wait "$pid" 2>/dev/null || true
}

criterion
check_us=$(awk -F'\t' '/RS256, key cached/ { print $2 }' "$work/criterion.txt")

# Configurations: logging (default or warn) and token cache (true or false).
configs=("default true" "warn true" "default false")
label() {
  local logging=$1 cache=$2
  printf "%s, token cache %s" "$([ "$logging" = default ] && echo "default logging" || echo "RUST_LOG=warn")" \
    "$([ "$cache" = true ] && echo on || echo off)"
}
tok=$(token)
for config in "${configs[@]}"; do : >"$work/${config// /-}.public"; : >"$work/${config// /-}.private"; done
for hello in "${hellos[@]}"; do : >"$work/hello-$hello"; done
: >"$work/access-lines"
: >"$work/counted"
for _ in $(seq "${ROUNDS:-3}"); do
  for hello in "${hellos[@]}"; do
    start_hello "$hello"
    echo "$(drive_once "$base/") $(peak_rss_mib)" >>"$work/hello-$hello"
    stop_server
  done
  for config in "${configs[@]}"; do
    read -r logging cache <<<"$config"
    key=${config// /-}
    start_server "$logging" "$cache"
    read -r -a public_run < <(drive_once "$base/api/public")
    read -r -a private_run < <(drive_once -H "Authorization: Bearer $tok" "$base/api/private")
    echo "${public_run[*]} $(peak_rss_mib)" >>"$work/$key.public"
    # The server's own timing of its full token checks (tokens not answered from the token cache),
    # and the requests to both routes it counted.
    curl -fs "$base/metrics" >"$work/metrics.txt"
    full_checks=$(awk '
      /^auth_token_check_duration_seconds_sum / { sum = $2 }
      /^auth_token_check_duration_seconds_count / { count = $2 }
      END { printf "%.2f/%d", count ? sum / count * 1e6 : 0, count }' "$work/metrics.txt")
    counted=$(awk '/^http_requests_total\{route="\/api\/p(ublic|rivate)"/ { sum += $2 } END { print sum + 0 }' "$work/metrics.txt")
    echo "$counted $((public_run[6] + private_run[6]))" >>"$work/counted"
    echo "${private_run[*]} $(peak_rss_mib) $full_checks" >>"$work/$key.private"
    stop_server
    if [ "$logging" = default ]; then
      # Every answered request has its access line once the server has stopped.
      lines=$(grep -c '"message":"response","method":"GET","path":"/api/p' "$work/server.log" || true)
      echo "$lines $((public_run[6] + private_run[6]))" >>"$work/access-lines"
    fi
  done
done
startup=$(measure_startup)

echo
echo "wrk: $connections connections, $duration per run, 2 threads, ${ROUNDS:-3} rounds (medians); server: release binary, production profile, pinned: ${pin_server[*]:-no}; $(nproc) cores, $(uname -m)"
echo
row "run" "req/s" "p50 ms" "p99 ms" "non-2xx" "peak RSS MiB"
row "---" "---" "---" "---" "---" "---"
for hello in "${hellos[@]}"; do
  read -r rps p50 p99 bad _ _ _ rss < <(median <"$work/hello-$hello")
  row "hello world: $hello" "$rps" "$p50" "$p99" "$bad" "$rss"
done
for config in "${configs[@]}"; do
  key=${config// /-}
  for route in public private; do
    read -r rps p50 p99 bad _ _ _ rss _ < <(median <"$work/$key.$route")
    row "/api/$route ($(label $config))" "$rps" "$p50" "$p99" "$bad" "$rss"
  done
done
echo
cpu_row() {
  printf "| %-48s | %9s | %11s |\n" "$@"
}
cpu_row "server CPU per request" "user µs" "kernel µs"
cpu_row "---" "---" "---"
for hello in "${hellos[@]}"; do
  read -r _ _ _ _ usr sys _ < <(median <"$work/hello-$hello")
  cpu_row "hello world: $hello" "$usr" "$sys"
done
for config in "${configs[@]}"; do
  key=${config// /-}
  for route in public private; do
    read -r _ _ _ _ usr sys _ < <(median <"$work/$key.$route")
    cpu_row "/api/$route ($(label $config))" "$usr" "$sys"
  done
done
echo
echo "criterion, pinned like the server (time per operation):"
echo
printf "| %-45s | %9s |\n" "benchmark" "µs"
printf "| %-45s | %9s |\n" "---" "---"
while IFS=$'\t' read -r name us; do printf "| %-45s | %9s |\n" "$name" "$us"; done <"$work/criterion.txt"
echo
rps() { median <"$work/${1// /-}.$2" | awk '{ print $1 }'; }
hello_rps() { median <"$work/hello-$1" | awk '{ print $1 }'; }
awk -v axum="$(hello_rps axum)" -v poem="$(hello_rps poem)" -v openapi="$(hello_rps poem-openapi)" \
  -v dp="$(rps "default true" public)" -v wp="$(rps "warn true" public)" 'BEGIN {
  printf "against the hello worlds (req/s): poem / axum %.2f, poem-openapi / axum %.2f; /api/public (default logging) / poem-openapi %.2f, / axum %.2f; /api/public (RUST_LOG=warn) / poem-openapi %.2f, / axum %.2f\n",
    poem / axum, openapi / axum, dp / openapi, dp / axum, wp / openapi, wp / axum
}'
awk -v dp="$(rps "default true" public)" -v dx="$(rps "default true" private)" \
  -v wp="$(rps "warn true" public)" -v wx="$(rps "warn true" private)" \
  -v op="$(rps "default false" public)" -v ox="$(rps "default false" private)" -v check="$check_us" \
  -v full="$(median <"$work/default-false.private" | awk '{ print $9 }')" -v startup="$startup" 'BEGIN {
  split(full, f, "/")
  printf "default logging / RUST_LOG=warn (token cache on): /api/public %.2f, /api/private %.2f\n", dp / wp, dx / wx
  printf "private / public (token cache on): default logging %.2f, RUST_LOG=warn %.2f\n", dx / dp, wx / wp
  extra = 1e6 / ox - 1e6 / op
  printf "token cache off (default logging): private / public %.2f; extra server time per private request %.1f µs (%.2f × the criterion check of %.2f µs); full token checks timed by the server: %d, %.2f µs on average\n", ox / op, extra, extra / check, check, f[2], f[1]
  printf "start-up to /healthz 200 (configured issuer): %d ms\n", startup
}'
awk '{ lines += $1; answered += $2 } END {
  printf "access lines for /api/public and /api/private in the default-logging runs: %d, for %d requests wrk saw answered\n", lines, answered }' "$work/access-lines"
awk '{ counted += $1; answered += $2 } END {
  printf "requests to /api/public and /api/private counted by /metrics in all runs: %d, for %d requests wrk saw answered\n", counted, answered }' "$work/counted"
