#!/usr/bin/env bash
# Runs the main example job (examples/hello.nomad.hcl) once with the built executable
# (dist/nomad-driver-podman run), on a private local Podman service, with its logs in this
# terminal, then stops everything it started. Installs only what that needs (scripts/setup.sh --demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --demo
export PATH="$PWD/node_modules/.bin:$PATH"
exe=dist/nomad-driver-podman
# (re)build the executable when it is missing or older than what it is built from
if [ ! -x "$exe" ] || [ -n "$(find src layers proto/gen package.json package-lock.json scripts/build.mjs scripts/sea.mjs \
    -newer "$exe" -print -quit)" ]; then
  node scripts/build.mjs
fi
dir=$(mktemp -d /tmp/ndp-demo-XXXX); rmdir "$dir"
trap 'bash test/support/sandbox.sh stop "$dir"' EXIT
SANDBOX_REGISTRY_PORT=${SANDBOX_REGISTRY_PORT:-5056} bash test/support/sandbox.sh start "$dir" --no-registry >/dev/null
job=${1:-examples/hello.nomad.hcl}
echo "--- running $job with $exe on unix://$dir/podman.sock"
set +e
"$exe" run "$job" --socket-path "unix://$dir/podman.sock"
code=$?
set -e
echo "--- task exited with code $code"
exit $code
