#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the library and the executable, checks that
# the release files build reproducibly and that the arm64 one runs (under qemu), then runs every
# test against a private Podman service and registry that the suite starts and stops itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
npm run build
# two release builds must be byte for byte identical (they are kept in .build/release-check/a)
npm run release:check
release=".build/release-check/a/nomad-driver-podman_$(node -p 'require("./package.json").version')_linux"
# what the suite tests (dist/) is this machine's release file
cmp dist/nomad-driver-podman "${release}_$(node -p '({ x64: "amd64", arm64: "arm64" })[process.arch]')"
bash scripts/smoke-arm64.sh "${release}_arm64"
npm test
