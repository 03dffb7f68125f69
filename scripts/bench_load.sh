#!/usr/bin/env bash
# Benchmark of bulk loading (not a test): Debian's package index as about a
# million `package/NAME/FIELD` keys, loaded
#   - by `rocksfs load` from tsv (default --jobs, and --jobs 1),
#   - by `rocksfs load` from a directory tree of the same keys,
#   - by `ldb load --hex --disable_wal` (what scripts/demo.sh uses),
#   - by `db_bench --benchmarks=fillrandom --batch_size=100` with the same
#     count and average key/value sizes (RocksDB's own write path),
#   - by `cp -r` of the tree into a mount.
# Prints a markdown table: wall time, keys/s and the ratio to db_bench.
#
# usage: scripts/bench_load.sh [--limit PACKAGES] [--skip-cp]
# env:   ROCKSFS_BUILD_DIR (default: build), BENCH_DIR (default: a fresh
#        directory under /tmp, removed afterwards)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=$(realpath "${ROCKSFS_BUILD_DIR:-build}")
ROCKSFS="$BUILD_DIR/rocksfs"
MOUNT="$BUILD_DIR/mount.rocksfs"

limit=()
skip_cp=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --limit) limit=(--limit "$2"); shift 2 ;;
    --skip-cp) skip_cp=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_load.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

for tool in "$ROCKSFS" "$MOUNT"; do
  [[ -x "$tool" ]] || { echo "bench_load.sh: $tool is not built (scripts/setup.sh)" >&2; exit 1; }
done
have_db_bench=1
command -v db_bench >/dev/null || have_db_bench=0
command -v ldb >/dev/null || { echo "bench_load.sh: ldb is missing (apt install rocksdb-tools)" >&2; exit 1; }

work=${BENCH_DIR:-$(mktemp -d /tmp/rocksfs-bench-XXXXXX)}
mkdir -p "$work"
mnt="$work/mnt"
cleanup() {
  if mountpoint -q "$mnt" 2>/dev/null; then fusermount3 -uz "$mnt" || true; fi
  if [[ -z "${BENCH_DIR:-}" ]]; then
    # Never into a mount: --one-file-system.
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%d", (s > 0 ? n / s : 0) }'; }

echo "==> converting Debian's package index (apt-cache dumpavail)" >&2
python3 scripts/package_index_to_ldb.py --quiet --format tsv "${limit[@]}" \
  --stats-file "$work/stats" > "$work/index.tsv"
python3 scripts/package_index_to_ldb.py --quiet "${limit[@]}" > "$work/index.ldb"
read -r packages keys bytes < "$work/stats"
# Raw sizes: undo the tsv escapes (\n, \t, \xHH, ...) when counting bytes.
read -r avg_key avg_value < <(LC_ALL=C awk -F'\t' '
  { k = $1; v = $2
    gsub(/\\x[0-9A-F][0-9A-F]/, "x", k); gsub(/\\./, "x", k)
    gsub(/\\x[0-9A-F][0-9A-F]/, "x", v); gsub(/\\./, "x", v)
    kb += length(k); vb += length(v); n++ }
  END { printf "%d %d\n", kb / n + 0.5, vb / n + 0.5 }' "$work/index.tsv")
echo "    $packages packages, $keys keys, $bytes bytes; average key $avg_key B, value $avg_value B" >&2

rows=()
add_row() {  # name seconds keys
  rows+=("$1|$2|$(rate "$3" "$2")")
}

echo "==> rocksfs load (tsv, default jobs = $(nproc))" >&2
start=$(now)
"$ROCKSFS" load --create "$work/db-tsv" "$work/index.tsv" 2> "$work/load.log"
end=$(now)
cat "$work/load.log" >&2
add_row "\`rocksfs load\` tsv, --jobs $(nproc)" "$(elapsed "$start" "$end")" "$keys"

echo "==> rocksfs load (tsv, --jobs 1)" >&2
start=$(now)
"$ROCKSFS" load --create --jobs 1 "$work/db-tsv1" "$work/index.tsv" 2> "$work/load1.log"
end=$(now)
cat "$work/load1.log" >&2
add_row "\`rocksfs load\` tsv, --jobs 1" "$(elapsed "$start" "$end")" "$keys"

echo "==> rocksfs dump (tree) and rocksfs load (tree)" >&2
start=$(now)
"$ROCKSFS" dump "$work/db-tsv" "$work/tree" 2>&1 >&2
end=$(now)
add_row "\`rocksfs dump\` to a tree (ext4)" "$(elapsed "$start" "$end")" "$keys"
sync
start=$(now)
"$ROCKSFS" load --create "$work/db-tree" "$work/tree" 2>&1 >&2
end=$(now)
add_row "\`rocksfs load\` tree (ext4, warm cache)" "$(elapsed "$start" "$end")" "$keys"

echo "==> ldb load --hex --disable_wal" >&2
start=$(now)
ldb --db="$work/db-ldb" --create_if_missing load --hex --disable_wal < "$work/index.ldb" > /dev/null
end=$(now)
add_row "\`ldb load --hex --disable_wal\`" "$(elapsed "$start" "$end")" "$keys"

bench_rate=""
if [[ $have_db_bench == 1 ]]; then
  echo "==> db_bench fillrandom --batch_size=100 --num=$keys --key_size=$avg_key --value_size=$avg_value" >&2
  start=$(now)
  db_bench --benchmarks=fillrandom --batch_size=100 --num="$keys" --key_size="$avg_key" \
    --value_size="$avg_value" --db="$work/db-bench" --threads=1 > "$work/db_bench.log" 2>&1
  end=$(now)
  grep -E '^fillrandom' "$work/db_bench.log" >&2 || true
  # "fillrandom : 2.1 micros/op 476190 ops/sec ..." (ops are keys).
  bench_rate=$(awk '/^fillrandom/ { for (i = 1; i <= NF; i++) if ($i == "ops/sec;" || $i == "ops/sec") print $(i-1) }' "$work/db_bench.log" | head -1)
  bench_seconds=$(awk -v n="$keys" -v r="$bench_rate" 'BEGIN { printf "%.2f", n / r }')
  rows+=("\`db_bench fillrandom\` batch 100 (its own timing)|$bench_seconds|$bench_rate")
else
  echo "    db_bench is not installed: no RocksDB baseline (apt install rocksdb-tools)" >&2
fi

if [[ $skip_cp == 0 ]]; then
  echo "==> cp -r of the tree into a mount" >&2
  mkdir -p "$mnt"
  "$MOUNT" "$work/db-cp" "$mnt" -o create
  start=$(now)
  cp -r "$work/tree/." "$mnt/"
  end=$(now)
  fusermount3 -u "$mnt"
  for _ in $(seq 50); do pgrep -f "mount.rocksfs $work/db-cp" >/dev/null || break; sleep 0.2; done
  copied=$(ldb --db="$work/db-cp" dump --count_only 2>/dev/null | awk -F': ' '/Keys in range/ { print $2 }')
  [[ "$copied" == "$keys" ]] || echo "    warning: the mount holds $copied keys, expected $keys" >&2
  add_row "\`cp -r\` tree into a mount" "$(elapsed "$start" "$end")" "$keys"
fi

echo
echo "Bulk load of $keys keys ($packages packages, avg key $avg_key B, value $avg_value B), $(nproc) vCPUs:"
echo
echo "| loader | seconds | keys/s | vs db_bench fillrandom |"
echo "|---|---:|---:|---:|"
for row in "${rows[@]}"; do
  IFS='|' read -r name seconds per_second <<< "$row"
  ratio="n/a"
  if [[ -n "$bench_rate" ]]; then
    ratio=$(awk -v a="$per_second" -v b="$bench_rate" 'BEGIN { printf "%.2fx", a / b }')
  fi
  echo "| $name | $seconds | $per_second | $ratio |"
done
