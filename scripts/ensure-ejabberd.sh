#!/usr/bin/env bash
# Makes sure Debian's ejabberd is installed (test/e2e/ejabberd.test.ts starts
# a private one as the `ejabberd` user, see test/e2e/harness/ejabberd.ts).
# Installs it when running as root; otherwise prints the exact command and
# fails. The packaged service is never left running: the tests run their own.
set -euo pipefail

installed() {
  command -v ejabberdctl >/dev/null 2>&1 &&
    id ejabberd >/dev/null 2>&1 &&
    compgen -G "/usr/lib/*/ejabberd-*/ebin/mod_privilege.beam" >/dev/null
}

# The packaged service, if the package (or anyone) started it: it writes this
# pidfile (EJABBERD_PID_PATH in /etc/ejabberd/ejabberdctl.cfg). Checked by pid
# on purpose: `ejabberdctl status` would start an epmd daemon to find out.
stop_packaged_service() {
  local pidfile=/run/ejabberd/ejabberd.pid pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || return 0
  echo "Stopping the packaged ejabberd service (pid $pid): the tests run a private one..." >&2
  if [ -d /run/systemd/system ]; then
    systemctl stop ejabberd >/dev/null 2>&1 || true
  else
    service ejabberd stop >/dev/null 2>&1 || true
  fi
  if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
}

if installed; then
  exit 0
fi
cmd="apt-get update && apt-get install -y ejabberd"
if [ "$(id -u)" != "0" ]; then
  echo "ejabberd is needed: run as root:  $cmd" >&2
  exit 1
fi
echo "Installing ejabberd with apt-get..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq ejabberd >/dev/null
# The package starts the system service where it can (node ejabberd@localhost, with epmd).
stop_packaged_service
if ! installed; then
  echo "ejabberd was installed, but ejabberdctl, the ejabberd user or mod_privilege is missing" >&2
  exit 1
fi
