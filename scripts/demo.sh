#!/usr/bin/env bash
# The demo (README quick start): installs what it needs, then runs the whole
# stack on loopback and plays a showcase conversation. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash scripts/ensure-prosody.sh
exec npx tsx tools/demo/main.ts "$@"
