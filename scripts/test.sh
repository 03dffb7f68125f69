#!/usr/bin/env bash
# Install what is missing, build, and run every test with ctest: the core tests
# (label "core": kv/ and fs/ without a kernel), the mounted tests (label
# "mount": real FUSE mounts; they skip with a message when /dev/fuse is
# unusable) and the package tests (label "package": --version, the manual
# pages, completion, and the Debian package built, installed, used and
# removed). Exits with ctest's status.
#
# usage: scripts/test.sh [--core] [ctest args...]
#   --core   run only the core tests (ctest -L core)
#   e.g.     scripts/test.sh -R mount.test_smoke -V
# env:   ROCKSFS_BUILD_DIR (default: build)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ctest_args=()
for arg in "$@"; do
  case "$arg" in
    --core) ctest_args+=(-L core) ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ctest_args+=("$arg") ;;
  esac
done

bash scripts/setup.sh

BUILD_DIR=${ROCKSFS_BUILD_DIR:-build}
echo "==> testing"
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error -j1 "${ctest_args[@]}" || status=$?
exit "$status"
