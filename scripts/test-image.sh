#!/usr/bin/env bash
# npm run test:image (operations.md "Docker"): builds the image from a base
# made here from Debian's packages (no image registry is reachable), then runs
# it as an operator would (test/image/run.ts): --network host against a
# private Prosody and a PostgreSQL database, HEALTHCHECK healthy, one
# conversation through it, SIGTERM → exit 0; then PGlite on a volume across
# a restart. Cleans up what it started: containers, volume, app image, and
# the Docker daemon if it started one. Kept for the next run: the base image
# (cached by tag) and BuildKit's build cache in the daemon.
#
# Environment: EIME_IMAGE_BASE=IMAGE uses that base instead of the local one
# (e.g. node:20-bookworm-slim where a registry is reachable).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'test-image: %s\n' "$*" >&2; }
START=$(date +%s)
WORK=$(mktemp -d /tmp/eime-image.XXXXXX)
DAEMON_PID=""
APP_IMAGE="eime-router:test-$$"

cleanup() {
  local rc=$?
  if [ -n "${APP_IMAGE_BUILT:-}" ]; then docker image rm -f "$APP_IMAGE" >/dev/null 2>&1 || true; fi
  if [ -n "$DAEMON_PID" ]; then
    log "stopping the Docker daemon this script started (pid $DAEMON_PID)"
    kill "$DAEMON_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
    # The network namespace handle dockerd leaves mounted when it exits.
    umount /run/docker/netns/default 2>/dev/null || true
  fi
  rm -rf "$WORK"
  log "done in $(($(date +%s) - START)) s (exit $rc)"
  exit $rc
}
trap cleanup EXIT

# Network steps are tried twice: a mirror or the registry failing once should not fail the test.
twice() { "$@" || { log "failed, once more in 10 s: $*"; sleep 10; "$@"; }; }

apt_install() {
  log "installing $* from Debian's packages"
  # No standard input in CI: no question, and needrestart stays quiet.
  twice env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
    sh -c 'apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=300 "$@" >/dev/null' apt_install "$@"
}

# --- Docker: client, daemon -------------------------------------------------
command -v dockerd >/dev/null || apt_install docker.io
command -v docker >/dev/null || apt_install docker.io
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (no bridge, no iptables, vfs storage)"
  # Host networking only: no bridge is made, test traffic stays on loopback.
  dockerd --bridge=none --iptables=false --ip6tables=false --storage-driver=vfs >"$WORK/dockerd.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 1 600); do docker info >/dev/null 2>&1 && break; sleep 0.1; done
  docker info >/dev/null 2>&1 || { tail -20 "$WORK/dockerd.log" >&2; log "dockerd did not come up"; exit 1; }
fi

# --- The base image: Debian bookworm (debootstrap minbase) + this machine's Node
NODE_VERSION=$(node --version)
BASE="${EIME_IMAGE_BASE:-eime-base:bookworm-node-${NODE_VERSION#v}}"
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  [ -z "${EIME_IMAGE_BASE:-}" ] || { log "base image $BASE not found"; exit 1; }
  command -v debootstrap >/dev/null || apt_install debootstrap
  T0=$(date +%s)
  log "building the base image $BASE (debootstrap bookworm minbase + $(command -v node) $NODE_VERSION)"
  ROOTFS="$WORK/rootfs"
  MIRROR=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  bootstrap() { rm -rf "$ROOTFS" && debootstrap --variant=minbase bookworm "$ROOTFS" "${MIRROR:-http://deb.debian.org/debian}" >"$WORK/debootstrap.log" 2>&1; }
  twice bootstrap || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  NODE_BIN=$(readlink -f "$(command -v node)")
  NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  install -m 0755 "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
  mkdir -p "$ROOTFS/usr/local/lib/node_modules"
  cp -a "$NPM_DIR" "$ROOTFS/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
  # npm as this machine has it set up: its global npmrc and the CA bundle it names (the registry's
  # certificate may be signed by a CA only this machine's bundle holds).
  GLOBAL_NPMRC=$(npm config get globalconfig)
  if [ -f "$GLOBAL_NPMRC" ]; then mkdir -p "$ROOTFS/usr/local/etc" && cp "$GLOBAL_NPMRC" "$ROOTFS/usr/local/etc/npmrc"; fi
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$ROOTFS/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/"
  fi
  # The user the official node images have (uid/gid 1000), which the Dockerfile runs as.
  echo "node:x:1000:" >>"$ROOTFS/etc/group"
  echo "node:x:1000:1000::/home/node:/bin/sh" >>"$ROOTFS/etc/passwd"
  mkdir -p "$ROOTFS/home/node" && chown 1000:1000 "$ROOTFS/home/node"
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  tar -C "$ROOTFS" -c . | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' - "$BASE" >/dev/null
  rm -rf "$ROOTFS"
  log "base image built in $(($(date +%s) - T0)) s"
else
  log "base image $BASE is there (cached)"
fi

# --- The app image ---------------------------------------------------------
# BuildKit, not the legacy builder: on vfs storage the legacy builder commits a
# full copy of the image for every instruction (even ENV or USER), about 20–60 s
# each, and its cache was lost with each app image; BuildKit builds the two
# npm stages in parallel, makes layers only for COPY and RUN, and keeps its
# cache in the daemon (npm ci is reused while package*.json are unchanged).
# Debian's docker.io client (20.10) has BuildKit built in; a newer client needs
# the buildx plugin; without either, the legacy builder still works, slowly.
T0=$(date +%s)
if [ -x /usr/bin/docker ] && /usr/bin/docker version -f '{{.Client.Version}}' 2>/dev/null | grep -q '^20\.'; then
  BUILD=(env DOCKER_BUILDKIT=1 /usr/bin/docker build --progress plain)
elif docker buildx version >/dev/null 2>&1; then
  BUILD=(docker buildx build --load --progress plain)
else
  BUILD=(env DOCKER_BUILDKIT=0 docker build)
fi
log "building $APP_IMAGE FROM $BASE (${BUILD[*]:0:3})"
APP_IMAGE_BUILT=1
# --network host: npm ci reaches the registry as this machine does.
build() { "${BUILD[@]}" --network host --build-arg "BASE=$BASE" -t "$APP_IMAGE" . >"$WORK/build.log" 2>&1; }
twice build || { tail -40 "$WORK/build.log" >&2; exit 1; }
CACHED=$(grep -c ' CACHED$' "$WORK/build.log" || true)
log "app image built in $(($(date +%s) - T0)) s ($(docker image inspect -f '{{.Size}}' "$APP_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'), ${CACHED} steps from the build cache)"
# Keeps the build cache bounded across runs (each source change adds a few layers).
docker builder prune -f --keep-storage 4GB >/dev/null 2>&1 || true
# Left by earlier versions of this script (the legacy builder's cache tags).
docker image rm eime-router:test-cache-build eime-router:test-cache-deps >/dev/null 2>&1 || true

# --- Run it ------------------------------------------------------------------
npx tsx test/image/run.ts "$APP_IMAGE"
