#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian 12 machine (as root). Safe to run again.
#   setup.sh          what the test suite needs: Podman and its runtime pieces, a registry and tools
#                     for the tests, protoc, the varlink certification service, Node and the npm
#                     dependencies (which bring the pinned Node 22)
#   setup.sh --demo   only what scripts/demo.sh uses: Podman and its runtime pieces, Node and the npm
#                     dependencies
# A service that a package installed here enables is stopped and disabled again (see units_of).
set -euo pipefail
cd "$(dirname "$0")/.."

demo_bins="podman conmon runc catatonit netavark busybox curl"
demo_pkgs="podman runc conmon catatonit netavark aardvark-dns iptables busybox-static curl ca-certificates"
if [ "${1:-}" = "--demo" ]; then
  bins=$demo_bins; pkgs=$demo_pkgs
else
  bins="$demo_bins docker-registry htpasswd protoc varlink-go-certification"
  pkgs="$demo_pkgs docker-registry apache2-utils openssl protobuf-compiler varlink-go"
fi
# Debian's Node and npm only bootstrap `npm ci`, which installs the pinned Node 22 into node_modules.
command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"

need_apt=0
for bin in $bins npm; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/libexec/podman/$bin" ] || [ -x "/usr/lib/podman/$bin" ] || need_apt=1
done
[ -x /bin/busybox ] || need_apt=1

# Units that Debian's packages enable (and start) when they are installed. The demo and the tests
# run their own Podman service and registry, so when this script is what installed the package,
# they are stopped and disabled for the next boot: nothing stays on that the user did not ask for.
units_of() {
  case $1 in
    docker-registry) echo docker-registry.service ;;
    podman) echo podman.socket podman.service podman-restart.service podman-auto-update.timer podman-auto-update.service ;;
  esac
}
disable_units() {
  local pkg=$1 unit; shift
  for unit in "$@"; do
    if [ -d /run/systemd/system ]; then
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
      continue
    fi
    # No systemd running (a container, a chroot): the unit is enabled for a later boot with systemd
    # all the same. `systemctl disable` edits the links without a running systemd.
    if command -v systemctl >/dev/null 2>&1; then
      systemctl disable "$unit" >/dev/null 2>&1 || true
    else
      DPKG_MAINTSCRIPT_PACKAGE=$pkg deb-systemd-helper disable "$unit" >/dev/null 2>&1 || true
    fi
    # and the SysV init script, which such a machine's init runs
    local sysv=${unit%.service}
    if [ "$sysv" != "$unit" ] && [ -x "/etc/init.d/$sysv" ]; then
      "/etc/init.d/$sysv" stop >/dev/null 2>&1 || true
      update-rc.d "$sysv" disable >/dev/null 2>&1 || true
    fi
  done
}

if [ "$need_apt" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  new_services=""
  for p in docker-registry podman; do
    case " $pkgs " in *" $p "*) dpkg -s "$p" >/dev/null 2>&1 || new_services="$new_services $p" ;; esac
  done
  # A policy-rc.d that answers 101 keeps Debian from starting services during this install (an
  # existing policy is kept as it is).
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# written by scripts/setup.sh of nomad-driver-podman for one apt-get install\nexit 101\n' > "$policy"
    chmod 0755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  if [ -n "$policy" ]; then rm -f "$policy"; trap - EXIT; fi
  for p in $new_services; do
    # shellcheck disable=SC2046
    if dpkg -s "$p" >/dev/null 2>&1; then disable_units "$p" $(units_of "$p"); fi
  done
fi
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # No install script is needed: the Node runtimes are plain packages pinned in package-lock.json.
  npm ci --ignore-scripts --no-audit --no-fund
  # Debian 12's npm 9 installs the runtime (an optional dependency of the local package
  # scripts/node-runtimes) without linking its bin; a rebuild without scripts links it.
  [ -x node_modules/.bin/node ] || npm rebuild --ignore-scripts --no-audit --no-fund >/dev/null
  node_modules/.bin/node --version >/dev/null
fi
