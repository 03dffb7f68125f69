#!/usr/bin/env bash
# Run third-party conformance suites against fresh rocksfs mounts and print one
# summary line per suite:
#   pjdfstest      prove -rv on tests/{chmod chown ftruncate link mkdir open rename
#                  rmdir symlink truncate unlink utimensat}, run inside the mount
#   fsx            xfstests' ltp/fsx, default flags (mmap on): 2 processes x 20000
#                  operations, each on its own file
#   fsstress       xfstests' ltp/fsstress: 4 processes x 2000 operations
#   test_syscalls  libfuse's test/test_syscalls on the mount root
# Each suite gets its own new database (mount option `create`) in a temp dir,
# mounted with ${ROCKSFS_BUILD_DIR:-build}/mount.rocksfs -f in the background,
# unmounted with fusermount3 -u afterwards; the daemon is killed if it lingers.
#
# usage: scripts/conformance.sh [--only SUITE]... SUITES_DIR [MOUNT_OPTION...]
#   SUITES_DIR     the tree built by /work/shared/conformance/build-suites.sh:
#                  pjdfstest/pjdfstest, xfstests/ltp/{fsx,fsstress},
#                  libfuse/build/test/test_syscalls
#   MOUNT_OPTION   passed as -o (joined with commas), e.g. allow_other,default_permissions
#   --only SUITE   run only pjdfstest|fsx|fsstress|test_syscalls (repeatable)
#   e.g.           scripts/conformance.sh /tmp/suites allow_other,default_permissions
# Full logs go to a new directory $TMPDIR/rocksfs-conformance.XXXX (its path is
# printed); pjdfstest-failures.txt there lists each failing test file and subtests.
# A suite not built in SUITES_DIR is skipped with a message.
# Exit status: 0 when every selected suite ran (even with failing subtests),
# 1 on a setup error (mount failed, suite did not start, ...), 2 on bad usage.
# env: ROCKSFS_BUILD_DIR (default: build), CONFORMANCE_TIMEOUT (seconds per
#      suite, default 3600)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "conformance.sh: $*" >&2; exit 2; }

ALL_SUITES=(pjdfstest fsx fsstress test_syscalls)
PJD_DIRS=(chmod chown ftruncate link mkdir open rename rmdir symlink truncate unlink utimensat)
only=()
pos=()
while (( $# > 0 )); do
  case "$1" in
    --only) [[ $# -ge 2 ]] || die "--only needs a suite name"; only+=("$2"); shift 2 ;;
    --only=*) only+=("${1#--only=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; pos+=("$@"); break ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) pos+=("$1"); shift ;;
  esac
done
for s in "${only[@]}"; do
  case " ${ALL_SUITES[*]} " in *" $s "*) ;; *) die "--only: unknown suite '$s' (one of: ${ALL_SUITES[*]})" ;; esac
done
(( ${#pos[@]} >= 1 )) || { usage >&2; exit 2; }
SUITES=$(realpath -- "${pos[0]}" 2>/dev/null) && [[ -d "$SUITES" ]] || die "SUITES_DIR not found: ${pos[0]}"
MOUNT_OPTS=$(IFS=,; echo "${pos[*]:1}")
OPTS="create${MOUNT_OPTS:+,$MOUNT_OPTS}"

BUILD_DIR=${ROCKSFS_BUILD_DIR:-build}
MOUNT_BIN=$(realpath -m -- "$BUILD_DIR/mount.rocksfs")
[[ -x "$MOUNT_BIN" ]] || { echo "conformance.sh: $MOUNT_BIN not built (run scripts/setup.sh)" >&2; exit 1; }
command -v fusermount3 >/dev/null || { echo "conformance.sh: fusermount3 not found (install fuse3)" >&2; exit 1; }
TIMEOUT=${CONFORMANCE_TIMEOUT:-3600}

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/rocksfs-conformance.XXXX")
echo "logs: $LOGDIR"
echo "mount: $MOUNT_BIN DB MNT -f -o $OPTS"

setup_error=0
WORK= MNT= DPID=

is_mounted() { awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts; }

# Unmount $MNT, stop the daemon $DPID, remove $WORK. Safe to call twice.
teardown() {
  local i
  if [[ -n "$MNT" ]] && is_mounted "$MNT"; then
    for i in 1 2 3 4 5; do
      fusermount3 -u "$MNT" 2>>"$LOGDIR/unmount.log" && break
      sleep 1
    done
    if is_mounted "$MNT"; then   # busy or hung: drop the daemon, then detach lazily
      [[ -n "$DPID" ]] && kill -KILL "$DPID" 2>/dev/null || true
      fusermount3 -uz "$MNT" 2>>"$LOGDIR/unmount.log" || true
    fi
  fi
  if [[ -n "$DPID" ]]; then
    for i in $(seq 1 30); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$DPID" 2>/dev/null; then
      echo "daemon $DPID still alive after unmount; killing it" >>"$LOGDIR/unmount.log"
      kill -TERM "$DPID" 2>/dev/null || true; sleep 2
      kill -KILL "$DPID" 2>/dev/null || true
    fi
    wait "$DPID" 2>/dev/null || true
  fi
  [[ -n "$WORK" ]] && rm -rf -- "$WORK"
  WORK= MNT= DPID=
}
trap teardown EXIT
trap 'exit 130' INT TERM

# mount_fresh SUITE: new DB + mountpoint, daemon in the background; sets MNT, DPID.
mount_fresh() {
  local suite=$1 i
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/rocksfs-conf-$suite.XXXX")
  MNT=$WORK/mnt; mkdir "$MNT"
  "$MOUNT_BIN" "$WORK/db" "$MNT" -f -o "$OPTS" >"$LOGDIR/$suite.daemon.log" 2>&1 &
  DPID=$!
  for i in $(seq 1 100); do
    is_mounted "$MNT" && return 0
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.2
  done
  echo "$suite: SETUP ERROR: mount failed (see $LOGDIR/$suite.daemon.log)"
  setup_error=1
  teardown
  return 1
}

# daemon_note: text to append to a summary when the daemon died during the run.
daemon_note() { kill -0 "$DPID" 2>/dev/null || echo " (daemon died during the run, see $LOGDIR/$1.daemon.log)"; }

selected() { (( ${#only[@]} == 0 )) && return 0; case " ${only[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
skip() { echo "$1: skipped: not built in SUITES_DIR (see shared/conformance/build-suites.sh)"; }

run_pjdfstest() {
  local bin=$SUITES/pjdfstest/pjdfstest log=$LOGDIR/pjdfstest.log fails=$LOGDIR/pjdfstest-failures.txt
  [[ -x "$bin" && -d "$SUITES/pjdfstest/tests" ]] || { skip pjdfstest; return 0; }
  command -v prove >/dev/null || { echo "pjdfstest: SETUP ERROR: prove (perl) not found"; setup_error=1; return 0; }
  mount_fresh pjdfstest || return 0
  local d dirs=() rc=0
  for d in "${PJD_DIRS[@]}"; do dirs+=("$SUITES/pjdfstest/tests/$d"); done
  ( cd "$MNT" && timeout -k 30 "$TIMEOUT" prove -rv "${dirs[@]}" ) >"$log" 2>&1 || rc=$?
  local note; note=$(daemon_note pjdfstest)
  teardown
  # The "Test Summary Report" of prove: "FILE (Wstat: .. Tests: N Failed: K)" then
  # "  Failed tests:  1, 3-5" (continued on indented lines) and "  Parse errors: ...".
  awk -v base="$SUITES/pjdfstest/tests/" '
    /^Test Summary Report/ { rep = 1; next }
    /^Files=/ { rep = 0 }
    !rep || /^-+$/ { next }
    /^[^ ]/ { file = $1; sub(base, "", file); inlist = 0
              if (match($0, /Failed: [0-9]+/)) { n = substr($0, RSTART + 8, RLENGTH - 8); failed += n }
              next }
    /^  Failed tests?:/ { sub(/^  Failed tests?: */, ""); list[file] = $0; order[++nf] = file; inlist = 1; next }
    inlist && /^ +[0-9][0-9, -]*$/ { gsub(/^ +| +$/, ""); list[file] = list[file] ", " $0; next }
    { inlist = 0; gsub(/^ +/, ""); other[file] = other[file] (other[file] ? "; " : "") $0
      if (!(file in seen)) { seen[file] = 1; if (!(file in list)) order[++nf] = file } }
    END {
      for (i = 1; i <= nf; i++) {
        f = order[i]; if (done[f]++) continue
        printf "%s: failed subtests %s%s\n", f, (f in list) ? list[f] : "-", (f in other) ? "  [" other[f] "]" : ""
      }
      printf "TOTAL_FAILED %d\n", failed
    }' "$log" >"$fails"
  local total failed aborted
  total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log" | tail -1)
  failed=$(sed -n 's/^TOTAL_FAILED //p' "$fails"); sed -i '/^TOTAL_FAILED /d' "$fails"
  aborted=$(grep -c 'Parse errors:\|Non-zero wait status' "$fails" || true)
  if [[ -z "$total" ]]; then
    echo "pjdfstest: SETUP ERROR: prove did not finish (exit $rc, see $log)$note"; setup_error=1; return 0
  fi
  local extra=
  (( rc == 124 )) && extra+=", TIMED OUT after ${TIMEOUT}s"
  (( aborted > 0 )) && extra+=", $aborted test files aborted (see pjdfstest-failures.txt)"
  echo "pjdfstest: $total subtests, $failed failed$extra$note"
}

run_fsx() {
  local bin=$SUITES/xfstests/ltp/fsx n=20000 i rc ok=1 pids=()
  [[ -x "$bin" ]] || { skip fsx; return 0; }
  mount_fresh fsx || return 0
  # default flags; .fsxlog/.fsxgood/.fsxops land in the cwd (the log dir)
  for i in 1 2; do
    ( cd "$LOGDIR" && exec timeout -k 30 "$TIMEOUT" "$bin" -N "$n" "$MNT/fsx.$i" ) >"$LOGDIR/fsx.$i.log" 2>&1 &
    pids+=($!)
  done
  for i in 1 2; do
    rc=0; wait "${pids[$((i - 1))]}" || rc=$?
    echo "fsx.$i: exit $rc" >>"$LOGDIR/fsx.status"
    (( rc == 0 )) || ok=0
  done
  local note; note=$(daemon_note fsx); [[ -z "$note" ]] || ok=0
  teardown
  echo "fsx: 2 processes x $n ops, $( ((ok)) && echo passed || echo "FAILED (see $LOGDIR/fsx.*.log)")$note"
}

run_fsstress() {
  local bin=$SUITES/xfstests/ltp/fsstress rc=0 ok=1
  [[ -x "$bin" ]] || { skip fsstress; return 0; }
  mount_fresh fsstress || return 0
  mkdir "$MNT/fsstress"
  timeout -k 30 "$TIMEOUT" "$bin" -d "$MNT/fsstress" -n 2000 -p 4 >"$LOGDIR/fsstress.log" 2>&1 || rc=$?
  echo "fsstress: exit $rc" >>"$LOGDIR/fsstress.log"
  (( rc == 0 )) || ok=0
  # the tree it leaves must still be walkable
  ls -laR "$MNT/fsstress" >"$LOGDIR/fsstress.tree.log" 2>&1 || { ok=0; echo "ls -laR of the result failed" >>"$LOGDIR/fsstress.log"; }
  local note; note=$(daemon_note fsstress); [[ -z "$note" ]] || ok=0
  teardown
  echo "fsstress: 4 x 2000 ops, $( ((ok)) && echo passed || echo "FAILED (see $LOGDIR/fsstress.log)")$note"
}

run_test_syscalls() {
  local bin=$SUITES/libfuse/build/test/test_syscalls log=$LOGDIR/test_syscalls.log rc=0
  [[ -x "$bin" ]] || { skip test_syscalls; return 0; }
  mount_fresh test_syscalls || return 0
  ( cd "$LOGDIR" && timeout -k 30 "$TIMEOUT" "$bin" "$MNT" ) >"$log" 2>&1 || rc=$?
  echo "test_syscalls: exit $rc" >>"$log"
  local note; note=$(daemon_note test_syscalls)
  teardown
  # lines are "NNN [name] OK" or "NNN [name] func() - message"
  local passed failed failing
  passed=$(grep -cE '^ *[0-9]+ \[.*\] OK$' "$log" || true)
  failing=$(grep -E '^ *[0-9]+ \[' "$log" | grep -vE '\] OK$' | sed -E 's/^ *([0-9]+ \[[^]]*\]).*/\1/' | awk '!s[$0]++' | paste -sd, - | sed 's/,/, /g' || true)
  failed=$(grep -E '^ *[0-9]+ \[' "$log" | grep -vE '\] OK$' | sed -E 's/^ *([0-9]+) .*/\1/' | sort -u | wc -l || true)
  if (( passed + failed == 0 )); then
    echo "test_syscalls: SETUP ERROR: no test ran (exit $rc, see $log)$note"; setup_error=1; return 0
  fi
  local extra=
  (( rc == 124 )) && extra=", TIMED OUT after ${TIMEOUT}s"
  (( failed == 0 && rc != 0 && rc != 124 )) && extra+=", exit $rc"
  echo "test_syscalls: $passed passed, $failed failed${failing:+ (failing: $failing)}$extra$note"
}

for s in "${ALL_SUITES[@]}"; do
  selected "$s" || continue
  "run_$s"
done
echo "logs: $LOGDIR"
exit "$setup_error"
