#!/usr/bin/env bash
# Runs schemathesis (pinned in .ci/run) with every check against the built service, twice:
#   1. the dev profile, with a token from its development issuer, so the protected operations
#      and POST /dev/token are exercised;
#   2. the production profile, trusting the first instance as its issuer (discovery and JWKS
#      over loopback), with the same token.
# Fails on any finding. Usage: .ci/schemathesis.sh [path to the binary] (default target/debug);
# PYTHON names the interpreter that has schemathesis (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/debug/protected-api}
examples=${SCHEMATHESIS_EXAMPLES:-200}
logs=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

# Starts the binary with the given environment; sets `address` to the address it listens on.
start() {
  local name=$1
  shift
  env -i PATH="$PATH" NO_COLOR=1 PORT=0 "$@" "$binary" >"$logs/$name.log" 2>&1 &
  pids+=($!)
  address=""
  for _ in $(seq 100); do
    address=$(grep -o 'listening on http://[^/]*' "$logs/$name.log" | head -1 | sed 's|listening on http://||') || true
    [ -n "$address" ] && return
    sleep 0.1
  done
  cat "$logs/$name.log" >&2
  echo "$name did not start" >&2
  exit 1
}

wait_ready() {
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$1/readyz")" = 200 ] && return
    sleep 0.1
  done
  echo "http://$1 never became ready" >&2
  exit 1
}

run() {
  echo "-- schemathesis against the $1 profile (http://$2)"
  "${PYTHON:-python3}" -m schemathesis.cli run "http://$2/openapi.json" --checks all --max-examples "$examples" \
    -H "Authorization: Bearer $token" --request-timeout 10 --no-color --generation-database none
}

start dev
dev=$address
wait_ready "$dev"
token=$(curl -s "http://$dev/dev/token" -d scope=read:messages | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
run dev "$dev"

start production APP_PROFILE=production AUTH0_ISSUER="http://$dev/dev/" AUTH0_API_AUDIENCE=https://api.example.com
production=$address
wait_ready "$production"
run production "$production"
