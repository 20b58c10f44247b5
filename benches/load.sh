#!/usr/bin/env bash
# Load test of the real server: builds the release binary, starts it with the built-in
# development issuer, and drives it with wrk over loopback.
#
#   benches/load.sh          /api/public and /api/private, token cache on and off, and the
#                            criterion benchmarks, pinned like the server: one report
#   benches/load.sh flood    100,000 distinct valid tokens against /api/private (cache on):
#                            the token cache stays within its capacity, memory stays bounded
#
# Environment: DURATION (default 10s), CONNECTIONS (64), ROUNDS (3: the routes alternate, and
# each figure is the run with the median req/s), FLOOD_TOKENS (100000), PORT (3900).
# The server is pinned to core 0 and wrk to the other cores when taskset and 2+ cores exist.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-table}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
port=${PORT:-3900}
base="http://127.0.0.1:${port}"
work=$(mktemp -d)
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

if ! command -v wrk >/dev/null; then
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
pin_server=() pin_load=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_server=(taskset -c 0) pin_load=(taskset -c "1-$(($(nproc) - 1))")
fi

echo "building the release binary..." >&2
cargo build --release --quiet

# Starts the server with the token cache on or off; sets startup_ms to the time to the first
# /healthz 200.
start_server() {
  local cache=$1 started
  started=$(date +%s%N)
  APP_TOKEN_CACHE__ENABLED=$cache PORT=$port RUST_LOG=warn NO_COLOR=1 \
    "${pin_server[@]}" target/release/protected-api >"$work/server.log" 2>&1 &
  server_pid=$!
  until curl -fs "$base/healthz" >/dev/null 2>&1; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.002
  done
  startup_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  until curl -fs "$base/readyz" >/dev/null 2>&1; do sleep 0.01; done
}

stop_server() {
  kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

peak_rss_mib() {
  awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status"
}

token() {
  curl -fs "$base/dev/token" -d scope=read:messages | sed 's/.*"access_token":"\([^"]*\)".*/\1/'
}

# Of the runs on stdin (one per line), prints the one with the median req/s.
median() {
  sort -n | awk '{ runs[NR] = $0 } END { print runs[int((NR + 1) / 2)] }'
}

# The CPU time the server has used: user and kernel, in clock ticks.
server_ticks() {
  awk '{ print $14, $15 }' "/proc/$server_pid/stat"
}

# Runs wrk and prints: req/s p50 p99 non-2xx (latencies in ms), then the server's user and
# kernel CPU time per request (µs).
drive_once() {
  local out="$work/wrk.txt" before after
  before=$(server_ticks)
  "${pin_load[@]}" wrk -t2 -c"$connections" -d"$duration" --latency "$@" >"$out"
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
      printf "%.0f %.3f %.3f %d %.2f %.2f\n", rps, p50, p99, bad + 0,
        (a[1] - b[1]) / hz * 1e6 / requests, (a[2] - b[2]) / hz * 1e6 / requests
    }' "$out"
}

row() {
  printf "| %-32s | %9s | %8s | %8s | %8s | %13s |\n" "$@"
}

if [ "$mode" = flood ]; then
  count=${FLOOD_TOKENS:-100000}
  start_server true
  echo "minting $count tokens..." >&2
  mkdir -p "$work/tokens"
  while [ "$(cat "$work"/tokens/*.txt 2>/dev/null | wc -l)" -lt "$count" ]; do
    TOKENS_DIR="$work/tokens" "${pin_load[@]}" wrk -t2 -c16 -d5s -s benches/load/mint.lua "$base" >/dev/null
  done
  awk -v n="$count" 'NR <= n' "$work"/tokens/*.txt >"$work/flood.txt"
  # The same server verifies them: its development key signed them.
  before=$(peak_rss_mib)
  read -r rps p50 p99 bad _ _ < <(TOKENS_FILE="$work/flood.txt" drive_once -s benches/load/flood.lua "$base")
  entries=$(curl -fs "$base/metrics" | awk '/^auth_token_cache_entries / { print $2 }')
  capacity=$(awk -F' *= *' '/^\[token_cache\]/ { s = 1 } s && $1 == "max_entries" { print $2; exit }' settings/default.toml)
  echo
  echo "flood: $count distinct valid tokens, $connections connections, $duration, server $(uname -m) $(nproc) cores"
  echo
  row "run" "req/s" "p50 ms" "p99 ms" "non-2xx" "peak RSS MiB"
  row "---" "---" "---" "---" "---" "---"
  row "/api/private, distinct tokens" "$rps" "$p50" "$p99" "$bad" "$(peak_rss_mib)"
  echo
  echo "peak RSS before the flood (after minting): ${before} MiB; token cache entries after: ${entries} (capacity ${capacity})"
  stop_server
  exit 0
fi

# Start-up of a server with a configured issuer (this one's development issuer), so neither the
# development key generation nor the key fetch (which runs in the background) is counted.
measure_startup() {
  local other=$((port + 1)) started pid
  started=$(date +%s%N)
  AUTH0_ISSUER="$base/dev/" AUTH0_API_AUDIENCE=https://api.example.com PORT=$other RUST_LOG=warn \
    "${pin_server[@]}" target/release/protected-api >/dev/null 2>&1 &
  pid=$!
  until curl -fs "http://127.0.0.1:$other/healthz" >/dev/null 2>&1; do sleep 0.001; done
  echo $(( ($(date +%s%N) - started) / 1000000 ))
  kill "$pid" && wait "$pid" 2>/dev/null || true
}

# The criterion benchmarks, on the server's core, so the cost of one check is measured in this run.
echo "running the criterion benchmarks..." >&2
bench_exe=$(cargo bench --bench verify --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))/\1/p')
"${pin_server[@]}" "$bench_exe" --bench --noplot 2>/dev/null | awk '
  /^[^ ]/ && !/^Found/ { name = $0 }
  /time:/ { gsub(/[][]/, ""); us = $5 == "ns" ? $4 / 1000 : $5 == "ms" ? $4 * 1000 : $4; printf "%s\t%.2f\n", name, us }
' >"$work/criterion.txt"
check_us=$(awk -F'\t' '/RS256, key cached/ { print $2 }' "$work/criterion.txt")

declare -A results
for cache in true false; do
  start_server "$cache"
  tok=$(token)
  # Rounds alternate between the routes, so a drift of the machine affects both alike.
  : >"$work/public.runs"
  : >"$work/private.runs"
  for _ in $(seq "${ROUNDS:-3}"); do
    drive_once "$base/api/public" >>"$work/public.runs"
    drive_once -H "Authorization: Bearer $tok" "$base/api/private" >>"$work/private.runs"
  done
  read -r -a public < <(median <"$work/public.runs")
  read -r -a private < <(median <"$work/private.runs")
  # The server's own timing of its full token checks (tokens not answered from the token cache).
  full_checks=$(curl -fs "$base/metrics" | awk '
    /^auth_token_check_duration_seconds_sum / { sum = $2 }
    /^auth_token_check_duration_seconds_count / { count = $2 }
    END { printf "%.2f/%d", count ? sum / count * 1e6 : 0, count }')
  results[$cache]="${public[*]} ${private[*]} $(peak_rss_mib) $(measure_startup) $full_checks"
  stop_server
done

echo
echo "wrk: $connections connections, $duration per run, 2 threads; server pinned: ${pin_server[*]:-no}; $(nproc) cores, $(uname -m)"
echo
row "run" "req/s" "p50 ms" "p99 ms" "non-2xx" "peak RSS MiB"
row "---" "---" "---" "---" "---" "---"
for cache in true false; do
  read -r prps pp50 pp99 pbad _ _ xrps xp50 xp99 xbad _ _ rss _ <<<"${results[$cache]}"
  label=$([ "$cache" = true ] && echo "token cache on" || echo "token cache off")
  row "/api/public ($label)" "$prps" "$pp50" "$pp99" "$pbad" "$rss"
  row "/api/private ($label)" "$xrps" "$xp50" "$xp99" "$xbad" "$rss"
done
echo
cpu_row() {
  printf "| %-32s | %13s | %15s |\n" "$@"
}
cpu_row "server CPU per request" "user µs" "kernel µs"
cpu_row "---" "---" "---"
for cache in true false; do
  read -r _ _ _ _ pusr psys _ _ _ _ xusr xsys _ <<<"${results[$cache]}"
  label=$([ "$cache" = true ] && echo "token cache on" || echo "token cache off")
  cpu_row "/api/public ($label)" "$pusr" "$psys"
  cpu_row "/api/private ($label)" "$xusr" "$xsys"
done
echo
echo "criterion, pinned like the server (time per operation):"
echo
printf "| %-45s | %9s |\n" "benchmark" "µs"
printf "| %-45s | %9s |\n" "---" "---"
while IFS=$'\t' read -r name us; do printf "| %-45s | %9s |\n" "$name" "$us"; done <"$work/criterion.txt"
echo
for cache in true false; do
  read -r prps _ _ _ pusr psys xrps _ _ _ xusr xsys _ startup full <<<"${results[$cache]}"
  awk -v c="$cache" -v p="$prps" -v x="$xrps" -v s="$startup" -v check="$check_us" -v full="$full" \
    -v pusr="$pusr" -v psys="$psys" -v xusr="$xusr" -v xsys="$xsys" 'BEGIN {
    split(full, f, "/")
    extra = 1e6 / x - 1e6 / p
    printf "token cache %-5s: private/public = %.2f; extra server time per private request = %.1f µs (%.2f × the criterion check of %.2f µs);", c, x / p, extra, extra / check, check
    printf " measured as server CPU: user %+.1f µs, kernel %+.1f µs;", xusr - pusr, xsys - psys
    printf " full token checks timed by the server: %d, %.2f µs on average;", f[2], f[1]
    printf " start-up to /healthz 200 (configured issuer) = %d ms\n", s }'
done
