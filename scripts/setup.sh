#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian 12 machine (as root): Podman and its runtime
# pieces, a registry and tools for the tests, protoc, the varlink certification service, and the
# npm dependencies (which bring Node 22). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=0
for bin in podman conmon runc catatonit netavark docker-registry htpasswd protoc varlink-go-certification busybox curl; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/libexec/podman/$bin" ] || [ -x "/usr/lib/podman/$bin" ] || need_apt=1
done
[ -x /bin/busybox ] || need_apt=1
if [ "$need_apt" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    podman runc conmon catatonit netavark aardvark-dns iptables busybox-static \
    docker-registry apache2-utils openssl protobuf-compiler varlink-go curl ca-certificates >/dev/null
  # the registry package may start a system registry on :5000; the tests run their own
  if [ -x /etc/init.d/docker-registry ]; then /etc/init.d/docker-registry stop >/dev/null 2>&1 || true; fi
fi
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
