#!/usr/bin/env bash
# Makes sure Debian's prosody and prosody-modules are installed (the e2e tests
# and the demo start a private Prosody). Installs them when running as root;
# otherwise prints the exact command and fails.
set -euo pipefail
if command -v prosody >/dev/null 2>&1 && [ -e /usr/lib/prosody/modules/mod_privilege/mod_privilege.lua ]; then
  exit 0
fi
cmd="apt-get update && apt-get install -y prosody prosody-modules"
if [ "$(id -u)" != "0" ]; then
  echo "Prosody is needed: run as root:  $cmd" >&2
  exit 1
fi
echo "Installing prosody and prosody-modules with apt-get..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq prosody prosody-modules >/dev/null
# The package starts the system service where it can; the tests run their own.
if command -v service >/dev/null 2>&1; then service prosody stop >/dev/null 2>&1 || true; fi
