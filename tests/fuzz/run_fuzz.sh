#!/usr/bin/env bash
# Run the libFuzzer targets (tests/fuzz/*.cc, built by tests/fuzz/CMakeLists.txt
# with clang++) for a bounded time each, from seed inputs written here.
#
# usage: tests/fuzz/run_fuzz.sh [--seconds N] [--build-dir DIR] [--corpus DIR]
#   --seconds N    time per fuzzer (default 20; e.g. 600 for a long run)
#   --build-dir    where fuzz_path_codec and fuzz_mount_options are (default: build)
#   --corpus DIR   keep the corpus there (default: a temporary directory)
# Exits non-zero on the first crash, with the crashing input saved in the
# corpus directory's parent (crash-*) and libFuzzer's report.
set -euo pipefail

seconds=20
build_dir=${ROCKSFS_BUILD_DIR:-$(dirname "${BASH_SOURCE[0]}")/../../build}
corpus=""
while (( $# > 0 )); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_fuzz.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d /tmp/rocksfs-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
[[ -n "$corpus" ]] || corpus=$work/corpus

# seed DIR NAME BYTES...: one seed input (printf format).
seed() { mkdir -p "$1"; printf "$3" > "$1/$2"; }

pc=$corpus/path_codec
seed "$pc" plain '/\x00user'
seed "$pc" percent '/\x0050%%off.txt'
seed "$pc" literal '/\x01My%%20File.pdf'
seed "$pc" escape '/\x01%%{25}{41}'
seed "$pc" group '/\x01x%%{00FF}y'
seed "$pc" brace '/\x00%%{%%%%{x}'
seed "$pc" dirvalue '/\x03blue%%{@}'
seed "$pc" empty '/\x01%%{}'
seed "$pc" dots '/\x05%%{2E}.'
seed "$pc" control '/\x04.rocksfs'
seed "$pc" hashed "/\\x01$(printf 'a%.0s' $(seq 1 235))%%{#0123456789ABCDEF}"
seed "$pc" utf8 ':\x00caf\xc3\xa9\xff\xfe'
seed "$pc" long "/\\x00$(printf 'b%.0s' $(seq 1 300))"

mo=$corpus/mount_options
seed "$mo" basic 'db\x00mnt'
seed "$mo" options 'db\x00mnt\x00-o\x00create,ro,threads=8,max_value_size=64M'
seed "$mo" long 'db\x00mnt\x00--delimiter=:\x00--attr_timeout=0.5\x00-f'
seed "$mo" conflict 'db\x00mnt\x00-o\x00create,secondary,snapshot=x'
seed "$mo" escaped 'db\x00mnt\x00-o\x00fsname=a\\,b,x-systemd.automount,uid=0,file_mode=0640'
seed "$mo" empty 'db\x00mnt\x00--threads=\x00-s\x00--\x00x'

status=0
for fuzzer in fuzz_path_codec fuzz_mount_options; do
  binary=$build_dir/$fuzzer
  if [[ ! -x $binary ]]; then
    echo "run_fuzz.sh: $binary is not built (needs clang++; see tests/fuzz/CMakeLists.txt)" >&2
    exit 2
  fi
  dir=$corpus/${fuzzer#fuzz_}
  mkdir -p "$dir"
  echo "==> $fuzzer for ${seconds}s"
  if ! "$binary" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=1024 \
       -artifact_prefix="$work/" -print_final_stats=1 "$dir" >"$work/$fuzzer.log" 2>&1; then
    tail -50 "$work/$fuzzer.log" >&2
    mkdir -p "${ROCKSFS_FUZZ_ARTIFACTS:-/tmp}"
    for crash in "$work"/crash-* "$work"/timeout-* "$work"/leak-*; do
      [[ -e $crash ]] || continue
      cp "$crash" "${ROCKSFS_FUZZ_ARTIFACTS:-/tmp}/$fuzzer-$(basename "$crash")"
      echo "run_fuzz.sh: input saved as ${ROCKSFS_FUZZ_ARTIFACTS:-/tmp}/$fuzzer-$(basename "$crash")" >&2
    done
    echo "run_fuzz.sh: $fuzzer FAILED" >&2
    status=1
    continue
  fi
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$work/$fuzzer.log" | tail -2
done
exit $status
