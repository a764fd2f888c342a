#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the executable, then runs every test
# against a private Podman service and registry that the suite starts and stops itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
npm run build
npm test
