#!/usr/bin/env bash
# Install rocksfs's build and test dependencies (Debian/Ubuntu, apt) when they
# are missing, then configure and build into ${ROCKSFS_BUILD_DIR:-build}.
#
# Idempotent: with everything installed and built it only checks dpkg and runs
# an incremental build. Runs `apt-get update` only when a package is missing
# or apt has no package lists (scripts/demo.sh reads them).
#
# usage: scripts/setup.sh [--no-build]
#   --no-build   install packages only
# env:   ROCKSFS_BUILD_DIR (default: build, relative to the repo root)
#        ROCKSFS_BUILD_TYPE (default: RelWithDebInfo)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

PACKAGES=(
  build-essential cmake pkg-config
  librocksdb-dev libfuse3-dev fuse3
  libspdlog-dev libfmt-dev libcli11-dev
  googletest libgtest-dev libgmock-dev
  rocksdb-tools python3
  attr rsync git
  fio stress-ng clang libclang-rt-14-dev
  help2man man-db dpkg-dev file lintian
  # The etcd engine (issue 14): etcd itself, and the gRPC C++ client that
  # cmake/etcd_client.cmake generates from the .proto files Debian ships.
  etcd-server etcd-client
  golang-etcd-server-dev golang-github-gogo-protobuf-dev golang-github-gogo-googleapis-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
)

# as_root CMD...: run CMD as root (directly, or through sudo), or fail clearly.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "setup.sh: need root to run '$*' (not root and sudo is not installed)" >&2
    exit 1
  fi
}

# apt_lists_present: true if apt has at least one downloaded Packages index.
apt_lists_present() {
  local f
  # shellcheck disable=SC2016  # $(FILENAME) is apt's placeholder, not a shell expansion
  while IFS= read -r f; do
    [[ -n "$f" && -e "$f" ]] && return 0
  done < <(apt-get indextargets --format '$(FILENAME)' 'Identifier: Packages' 2>/dev/null || true)
  return 1
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup.sh: this script needs a Debian-based system (dpkg-query and apt-get)" >&2
  exit 1
fi

installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null \
              | awk '$2 == "installed" { print $1 }' || true)
missing=()
for p in "${PACKAGES[@]}"; do
  grep -qxF "$p" <<<"$installed" || missing+=("$p")
done

if (( ${#missing[@]} > 0 )) || ! apt_lists_present; then
  echo "==> apt-get update"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
fi
if (( ${#missing[@]} > 0 )); then
  echo "==> installing packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "==> packages: all ${#PACKAGES[@]} installed"
fi

(( build )) || exit 0

BUILD_DIR=${ROCKSFS_BUILD_DIR:-build}
BUILD_TYPE=${ROCKSFS_BUILD_TYPE:-RelWithDebInfo}
mkdir -p "$BUILD_DIR"

echo "==> configuring ($BUILD_TYPE) in $BUILD_DIR"
if ! cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >"$BUILD_DIR/configure.log" 2>&1; then
  cat "$BUILD_DIR/configure.log" >&2
  echo "setup.sh: cmake configure failed (log: $BUILD_DIR/configure.log)" >&2
  exit 1
fi

echo "==> building"
if ! cmake --build "$BUILD_DIR" -j"$(nproc)"; then
  echo "setup.sh: build failed" >&2
  exit 1
fi
echo "==> built in $BUILD_DIR"
