#!/usr/bin/env bash
# The whole test suite (the README's test command): installs what it needs,
# type-checks, builds, then runs unit, integration and e2e tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash scripts/ensure-prosody.sh
bash scripts/ensure-ejabberd.sh
npx tsc -p tsconfig.json
npx tsc -p tsconfig.build.json
npx vitest run "$@"
