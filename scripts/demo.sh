#!/usr/bin/env bash
# Runs the main example job (examples/hello.nomad.hcl) once on a private local Podman service,
# with its logs in this terminal, then stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
dir=$(mktemp -d /tmp/ndp-demo-XXXX); rmdir "$dir"
trap 'bash test/support/sandbox.sh stop "$dir"' EXIT
SANDBOX_REGISTRY_PORT=${SANDBOX_REGISTRY_PORT:-5056} bash test/support/sandbox.sh start "$dir" --no-registry >/dev/null
job=${1:-examples/hello.nomad.hcl}
echo "--- running $job on unix://$dir/podman.sock"
set +e
tsx src/cli/main.ts run "$job" --socket-path "unix://$dir/podman.sock"
code=$?
set -e
echo "--- task exited with code $code"
exit $code
