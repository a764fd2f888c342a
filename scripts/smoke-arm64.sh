#!/usr/bin/env bash
# Smoke test of the linux arm64 executable on this (x86-64) machine under qemu user emulation:
# `version` (the arm64 Node runtime starts and finds the blob) and `validate` on an example job
# (the bundle, its HCL parser and the config decoder run). Installs Debian's qemu-user-static and
# the arm64 C/C++ runtime libraries it loads (libc6-arm64-cross, libstdc++6-arm64-cross, a sysroot
# in /usr/aarch64-linux-gnu) when they are missing. qemu is called directly: no binfmt needed.
#
#   scripts/smoke-arm64.sh [EXECUTABLE]   (default: dist/release/nomad-driver-podman_<version>_linux_arm64)
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
exe=$(realpath "${1:-dist/release/nomad-driver-podman_${version}_linux_arm64}")
sysroot=/usr/aarch64-linux-gnu

if ! command -v qemu-aarch64-static >/dev/null || [ ! -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || [ ! -e "$sysroot/lib/libstdc++.so.6" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross >/dev/null
fi

fail() { echo "smoke-arm64: $*" >&2; exit 1; }
[ "$(od -An -tx1 -j18 -N2 "$exe" | tr -d ' ')" = "b700" ] || fail "$exe is not an arm64 (EM_AARCH64) executable"
# As Nomad starts a plugin: bare environment, no node on PATH, working directory /.
run() { (cd / && env -i PATH=/usr/bin:/bin qemu-aarch64-static -L "$sysroot" "$exe" "$@"); }

out=$(run version) || fail "version failed: $out"
echo "$out" | sed 's/^/smoke-arm64: /'
[ "$(echo "$out" | sed -n 1p)" = "nomad-driver-podman $version" ] || fail "unexpected version output"
echo "$out" | grep -qx 'commit [0-9a-f]\{40\}\|commit unknown' || fail "no commit line"
echo "$out" | grep -qx 'node v22\..*' || fail "no node line"

out=$(run validate "$PWD/examples/hello.nomad.hcl") || fail "validate failed: $out"
[ "$out" = "valid" ] || fail "validate printed: $out"
bad=$(mktemp /tmp/ndp-smoke-arm64-XXXX.hcl)
trap 'rm -f "$bad"' EXIT
printf 'config {\n  image = "busybox"\n  memory_reservation = "lots"\n}\n' > "$bad"
out=$(run validate "$bad" 2>&1) && fail "an invalid config validated: $out"
echo "$out" | grep -q 'memory_reservation: invalid memory size' || fail "the invalid config's field is not named: $out"
echo "smoke-arm64: ok (version, validate of a valid and an invalid config under qemu-aarch64)"
