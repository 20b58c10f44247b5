#!/usr/bin/env bash
# Builds the image from the release binary and runs it for real with podman: the container,
# as user 65532 with only the image's files, verifies tokens from the development issuer of
# another instance of the service on the host, plain and encrypted to a key file mounted at
# /run/keys (as the Kubernetes Secret is), on a read-only root (as the Kubernetes manifest runs
# it), passes its HEALTHCHECK, drains and exits 0 on `podman stop`.
#
# podman's default runtime (crun) cannot start containers on hosts whose cgroups are in hybrid
# mode, nor raise RLIMIT_NPROC without the privilege to; runc with explicit limits can, so this
# uses runc and the host's own open-files limit.
# Usage: deploy/container/check.sh [BINARY]   (default target/release/protected-api)
set -euo pipefail
binary=${1:-target/release/protected-api}
context=target/container
image=localhost/protected-api:0.1.0
name=protected-api-check-$$
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
fail() { echo "container check: $*" >&2; exit 1; }

deploy/container/rootfs.sh "$binary" "$context"
podman build -q --format docker -f "$context/Containerfile" -t "$image" "$context" >/dev/null
config=$(podman image inspect --format '{{.Config.User}} {{json .Config.Healthcheck.Test}}' "$image")
[ "$config" = '65532:65532 ["CMD","/usr/local/bin/protected-api","healthcheck"]' ] || fail "image config: $config"
echo "image: $(podman image inspect --format '{{.Size}}' "$image") bytes, user and HEALTHCHECK as written"

issuer_port=$(free_port)
service_port=$(free_port)
PORT=$issuer_port "$binary" >/tmp/container-check-issuer.log 2>&1 &
issuer_pid=$!
keys=$(mktemp -d)
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  kill "$issuer_pid" 2>/dev/null || true
  rm -rf "$keys"
}
trap cleanup EXIT
# No systemd here to schedule the HEALTHCHECK (podman 4.3 still logs that it cannot reach it): it
# runs once, below, by podman healthcheck run.
run=(podman --runtime runc run -d --name "$name" --network host --read-only --health-interval disable
  --ulimit "nofile=$(ulimit -n):$(ulimit -Hn)" --ulimit nproc=4096:4096
  -e "PORT=$service_port" -e "AUTH0_ISSUER=http://127.0.0.1:$issuer_port/dev/"
  -e "AUTH0_API_AUDIENCE=https://api.example.com"
  -v "$keys:/run/keys:ro" -e 'APP_AUTH0__DECRYPTION_KEYS=["/run/keys/container-check.pem"]' "$image")
# A key pair for encrypted tokens: the private key for the container, readable by its user.
node -e '
  const { generateKeyPairSync } = require("node:crypto");
  const { writeFileSync } = require("node:fs");
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(process.argv[1] + "/container-check.pem", privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(process.argv[1] + "/container-check.pub.pem", publicKey.export({ type: "spki", format: "pem" }));
' "$keys"
chmod 755 "$keys"
chmod 644 "$keys/container-check.pem"
"${run[@]}" >/dev/null
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$service_port/readyz" >/dev/null && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$service_port/readyz" >/dev/null || { podman logs "$name"; fail "never ready"; }

podman healthcheck run "$name" >/dev/null || fail "HEALTHCHECK failed"
pid=$(podman inspect --format '{{.State.Pid}}' "$name")
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
[ "$uid" = 65532 ] || fail "runs as uid $uid"
files=$(ls "/proc/$pid/root/")
for shell in bin/sh usr/bin/sh bin/bash; do
  [ ! -e "/proc/$pid/root/$shell" ] || fail "the image has a shell: /$shell"
done
token=$(curl -fs -X POST "http://127.0.0.1:$issuer_port/dev/token" -d 'sub=container-check&scope=read:messages' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
answer=$(curl -fs "http://127.0.0.1:$service_port/api/private-scoped" -H "Authorization: Bearer $token")
echo "$answer" | grep -q '"sub":"container-check"' || fail "private-scoped answered: $answer"
# The same token, encrypted to the mounted key by panva's jose.
encrypted=$( (cd tests/browser && node jwe.mjs cases "$keys/container-check.pub.pem" container-check \
  "$keys/container-check.pub.pem" "$token") | python3 -c 'import json, sys; print(json.load(sys.stdin)["accepted"])')
answer=$(curl -fs "http://127.0.0.1:$service_port/api/private-scoped" -H "Authorization: Bearer $encrypted")
echo "$answer" | grep -q '"sub":"container-check"' || fail "private-scoped answered the encrypted token: $answer"
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$service_port/api/private")
[ "$status" = 401 ] || fail "no token: $status"

stopped_at=$SECONDS
podman stop -t 30 "$name" >/dev/null
code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || { podman logs "$name"; fail "exit code $code after SIGTERM"; }
logs=$(podman logs "$name" 2>&1)
for said in 'settings: the built-in production profile' 'draining: /readyz answers 503' '"stopped"'; do
  echo "$logs" | grep -q "$said" || fail "the log lacks $said"
done
echo "container: uid 65532, read-only root of the image's files only ($(echo $files)), no shell; HEALTHCHECK passed;" \
  "a development-issuer token read /api/private-scoped, plain and encrypted to the mounted key; podman stop drained for $((SECONDS - stopped_at)) s and exited 0"
