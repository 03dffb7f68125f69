#!/usr/bin/env bash
# Mount Debian's package index, loaded into RocksDB, as a directory tree.
#
# usage: scripts/demo.sh [--rebuild] [--db-only] [--limit N] [DB_PATH [MOUNTPOINT [mount options...]]]
#
# With no arguments: installs what is missing and builds (scripts/setup.sh),
# builds the demo database if it is not built yet, and mounts it:
#   DB          ${XDG_CACHE_HOME:-$HOME/.cache}/rocksfs/demo-db
#   MOUNTPOINT  /tmp/rocksfs-demo
# The demo database holds one key per field of every package apt knows
# (`apt-cache dumpavail`: the candidate versions), e.g.
#   package/bash/Version -> the version `apt-cache policy bash` calls Candidate
# converted by scripts/package_index_to_ldb.py and loaded with Debian's `ldb`.
#
# DB_PATH MOUNTPOINT [mount options...]: mount that database instead. If
# DB_PATH does not exist (or is an empty directory) the demo data is built
# there first; an existing database is mounted as it is. Everything after
# MOUNTPOINT is passed to mount.rocksfs unchanged, e.g. `-o ro,threads=8`.
#
#   --rebuild   rebuild the demo data (only for a DB this script built)
#   --db-only   build the database, do not build rocksfs or mount
#   --limit N   load only the first N packages (quick tries)
# env: ROCKSFS_BUILD_DIR (default: build)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

die() { echo "demo.sh: $*" >&2; exit 1; }
usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }

rebuild=0
db_only=0
limit=
while (( $# > 0 )); do
  case "$1" in
    --rebuild) rebuild=1; shift ;;
    --db-only) db_only=1; shift ;;
    --limit) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || die "--limit needs a number"; limit=$2; shift 2 ;;
    --limit=*) limit=${1#--limit=}; [[ "$limit" =~ ^[0-9]+$ ]] || die "--limit needs a number"; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option: $1 (mount options go after DB_PATH MOUNTPOINT)" ;;
    *) break ;;
  esac
done

DB=${1:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/rocksfs/demo-db}
MNT=${2:-/tmp/rocksfs-demo}
shift $(( $# >= 2 ? 2 : $# ))
MOUNT_OPTS=("$@")
DB=$(realpath -m -- "$DB")
MNT=$(realpath -m -- "$MNT")
INFO="$DB.demo-info"   # written next to a DB this script built

as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run '$*' (not root and sudo is not installed)"
  fi
}

apt_lists_present() {
  local f
  # shellcheck disable=SC2016  # $(FILENAME) is apt's placeholder
  while IFS= read -r f; do
    [[ -n "$f" && -e "$f" ]] && return 0
  done < <(apt-get indextargets --format '$(FILENAME)' 'Identifier: Packages' 2>/dev/null || true)
  return 1
}

apt_candidate() {  # apt_candidate PKG: the Candidate version apt-cache policy reports
  apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }'
}

# --- 1. dependencies and build ---------------------------------------------
if (( db_only )); then
  bash scripts/setup.sh --no-build
else
  bash scripts/setup.sh
fi
BUILD_DIR=$(realpath -m -- "${ROCKSFS_BUILD_DIR:-build}")
MOUNT_BIN="$BUILD_DIR/mount.rocksfs"

# --- 2. the demo database --------------------------------------------------
build_db() {
  if ! apt_lists_present; then
    echo "==> apt-get update (no package lists yet)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  fi
  apt_lists_present || die "apt has no Packages lists even after apt-get update"

  local parent tmp start packages keys bytes loaded elapsed want got
  parent=$(dirname -- "$DB")
  mkdir -p -- "$parent"
  tmp="$DB.partial.$$"
  rm -rf -- "$tmp" "$tmp.stats"
  # shellcheck disable=SC2064  # expand $tmp now
  trap "rm -rf -- '$tmp' '$tmp.stats'" EXIT

  echo "==> building demo DB from apt's package index${limit:+ (first $limit packages)}: $DB"
  start=$EPOCHREALTIME
  python3 scripts/package_index_to_ldb.py --quiet ${limit:+--limit "$limit"} --stats-file "$tmp.stats" \
    | ldb --db="$tmp" --create_if_missing load --hex --disable_wal \
    || die "loading the package index with ldb failed"
  ldb --db="$tmp" compact >/dev/null || die "ldb compact failed"
  elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

  read -r packages keys bytes <"$tmp.stats"
  loaded=$(ldb --db="$tmp" dump --count_only | awk '/^Keys in range:/ { print $4 }')
  [[ "$loaded" == "$keys" ]] || die "ldb holds ${loaded:-?} keys, expected $keys"

  # What the mount will show must be what apt says.
  if got=$(ldb --db="$tmp" get package/bash/Version 2>/dev/null); then
    want=$(apt_candidate bash)
    [[ "$got" == "$want" ]] || die "package/bash/Version is '$got' but apt-cache policy bash says Candidate: '$want'"
    echo "==> check: package/bash/Version = $got = apt-cache policy bash's Candidate"
  fi

  rm -rf -- "$DB"
  mv -- "$tmp" "$DB"
  rm -f -- "$tmp.stats"
  trap - EXIT
  printf 'built=%s\npackages=%s\nkeys=%s\nbytes=%s\nseconds=%s\n' \
    "$(date -Is)" "$packages" "$keys" "$bytes" "$elapsed" >"$INFO"
  echo "==> demo DB: $keys keys from $packages packages ($(( bytes / 1048576 )) MiB of keys+values," \
       "$(du -sh -- "$DB" | cut -f1) on disk) built in ${elapsed}s"
}

if [[ -e "$DB/CURRENT" ]]; then
  if (( rebuild )); then
    [[ -e "$INFO" ]] || die "--rebuild: $DB was not built by this script ($INFO missing); not touching it"
    build_db
  else
    echo "==> using existing DB: $DB"
  fi
elif [[ -d "$DB" && -n "$(ls -A -- "$DB")" ]]; then
  die "$DB exists, is not empty and is not a RocksDB database (no CURRENT file)"
elif [[ -e "$DB" && ! -d "$DB" ]]; then
  die "$DB exists and is not a directory"
else
  build_db
fi

(( db_only )) && exit 0

# --- 3. mount ----------------------------------------------------------------
[[ -x "$MOUNT_BIN" ]] || die "$MOUNT_BIN was not built (see the output of scripts/setup.sh)"

is_mounted() { findmnt -rn --mountpoint "$MNT" >/dev/null 2>&1; }

if is_mounted; then
  echo "==> unmounting what is mounted at $MNT"
  fusermount3 -u "$MNT" || die "cannot unmount $MNT (busy?): close what uses it, or run: fusermount3 -uz $MNT"
fi
mkdir -p -- "$MNT"

foreground=0
for o in "${MOUNT_OPTS[@]}"; do
  [[ "$o" == -f || "$o" == -d ]] && foreground=1
done

print_usage_hints() {
  cat <<EOF

rocksfs: $DB is mounted at $MNT

Try:
  ls $MNT/package | head
  ls $MNT/package/bash
  cat $MNT/package/bash/Version; echo
  apt-cache policy bash          # compare with "Candidate:"
  cat $MNT/package/bash/Depends; echo

Unmount:
  fusermount3 -u $MNT
EOF
}

if (( foreground )); then
  echo "==> mounting in the foreground (Ctrl-C unmounts): $MOUNT_BIN $DB $MNT ${MOUNT_OPTS[*]}"
  print_usage_hints
  exec "$MOUNT_BIN" "$DB" "$MNT" "${MOUNT_OPTS[@]}"
fi

echo "==> mounting: $MOUNT_BIN $DB $MNT${MOUNT_OPTS[*]:+ ${MOUNT_OPTS[*]}}"
"$MOUNT_BIN" "$DB" "$MNT" "${MOUNT_OPTS[@]}" || die "mount.rocksfs failed"
for _ in $(seq 200); do
  is_mounted && break
  sleep 0.1
done
is_mounted || die "mount.rocksfs returned but nothing is mounted at $MNT after 20 s"

if [[ -f "$MNT/package/bash/Version" ]]; then
  got=$(timeout 10 cat -- "$MNT/package/bash/Version" || true)
  want=$(apt_candidate bash)
  if [[ "$got" == "$want" ]]; then
    echo "==> check: cat $MNT/package/bash/Version -> $got (apt-cache policy bash: Candidate: $want)"
  else
    echo "==> warning: cat $MNT/package/bash/Version -> '$got' but apt's Candidate is '$want'" \
         "(apt lists changed since the DB was built? rerun with --rebuild)" >&2
  fi
fi
print_usage_hints
