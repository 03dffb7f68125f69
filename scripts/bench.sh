#!/usr/bin/env bash
# The rocksfs benchmark suite: every workload on six targets in one run,
# interleaved (the target order rotates each repetition):
#   ext4     a directory on a RAM-backed ext4 image (loop-mounted image file on a tmpfs)
#   tmpfs    a tmpfs mount
#   direct   the direct RocksDB API through rocksfs's kv layer, in-process,
#            with the RocksDB options the mount uses, on the same ext4 image
#   floor    rocksfs_fuse_floor: an in-memory FUSE filesystem with rocksfs's
#            libfuse settings and mount options (what the round trips cost)
#   peer     libfuse's passthrough_ll, built here from libfuse3-dev's examples,
#            over a directory on the same ext4 image (skipped when it can't be)
#   rocksfs  a mount.rocksfs mount of a database on the same ext4 image
# Prints a markdown table of medians, rocksfs's ratios to ext4, the floor, the
# peer and the direct API, FUSE requests per operation (from /.rocksfs/stats,
# on rocksfs and the floor) and each performance target as MET or MISSED;
# writes results.json and results.md.
#
# usage: scripts/bench.sh [--quick] [--out DIR] [--reps N] [--targets LIST]
#                         [--only WORKLOADS] [--perf WORKLOADS]
#                         [--mount-options OPTS] [--db-options S] [--cf-options S]
#                         [--work DIR] [--keep] [--no-ram]
#   --quick    a smoke run of a few seconds per target (small N), for CI
#   (full)     N = 1,000,000 files of 100 B in 1,000 directories; takes tens of minutes
#   --perf W   perf record -g of the rocksfs daemon during workload W (perf-W.data in --out;
#              the floor's in perf-floor-W.data)
#   --only W   record only these workloads (state they need is still built)
# Needs root for the RAM-backed ext4 image and the tmpfs (without root, or
# with --no-ram, it uses the work directory's filesystem and /dev/shm, and
# first-access runs are not cold). Uses fs_mark and fio when installed
# (installs them with apt when root), else the in-process driver.
#
#        scripts/bench.sh --engine etcd [--quick] [--reps N] [--files N] [--out DIR]
#   The core workloads (create, first and warm read, stat, unlink, listing)
#   on a RocksDB mount and on an etcd mount side by side, on N files (200;
#   quick: 50): per-operation medians, their ratio, FUSE requests and etcd
#   Range and Txn round trips per operation. Starts its own 3-member etcd
#   cluster (scripts/etcd_cluster.sh) in the work directory and stops it at
#   the end. Exits 77 with the reason when the etcd engine is not built or
#   etcd is not installed.
# env: ROCKSFS_BUILD_DIR (default: build; built with cmake when the binaries are missing)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
engine=
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --engine|--engine=*) engine=yes ;;
  esac
done

BUILD_DIR=$(realpath -m "${ROCKSFS_BUILD_DIR:-build}")
if [[ ! -x "$BUILD_DIR/rocksfs_bench" || ! -x "$BUILD_DIR/mount.rocksfs" ||
      ! -x "$BUILD_DIR/rocksfs_fuse_floor" ]]; then
  echo "bench.sh: building into $BUILD_DIR" >&2
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target rocksfs_bench mount.rocksfs \
    rocksfs_fuse_floor >&2
fi

if [[ -n $engine ]]; then
  exec python3 scripts/bench/engines.py --build-dir "$BUILD_DIR" "$@"
fi

missing=()
command -v fs_mark >/dev/null || missing+=(fsmark)
command -v fio >/dev/null || missing+=(fio)
if [[ ${#missing[@]} -gt 0 && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "bench.sh: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
    echo "bench.sh: could not install ${missing[*]}; the driver stands in" >&2
fi

exec python3 scripts/bench/suite.py --build-dir "$BUILD_DIR" "$@"
