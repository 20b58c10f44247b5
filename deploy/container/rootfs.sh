#!/usr/bin/env bash
# Prepares the container's build context: rootfs/ holds the binary, exactly the shared libraries
# ldd lists for it, the CA certificates, and /etc/passwd and /etc/group naming the user 65532.
# Usage: deploy/container/rootfs.sh BINARY CONTEXT
set -euo pipefail
binary=$1
context=$2
rootfs=$context/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/home/app" "$rootfs/tmp"
install -m 0755 "$binary" "$rootfs/usr/local/bin/protected-api"
# Every library with a path in ldd's list (linux-vdso has none), copied to the same path.
ldd "$binary" | grep -o '/[^ ]*' | while read -r library; do
  mkdir -p "$rootfs$(dirname "$library")"
  cp -L "$library" "$rootfs$library"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:65532:65532:protected-api:/home/app:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\napp:x:65532:\n' >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
chown 65532:65532 "$rootfs/home/app"
cp "$(dirname "$0")/Containerfile" "$context/Containerfile"
echo "rootfs: $(find "$rootfs" -type f | wc -l) files, $(du -sh "$rootfs" | cut -f1)"
