#!/usr/bin/env bash
# Start or stop a 3-member etcd cluster on 127.0.0.1, for tests and trials.
#
# usage: scripts/etcd_cluster.sh start DIR [ETCD_FLAG...]
#        scripts/etcd_cluster.sh stop DIR
#        scripts/etcd_cluster.sh kill DIR MEMBER     (SIGKILL one member: 0, 1 or 2)
#        scripts/etcd_cluster.sh restart DIR MEMBER  (start a stopped member again)
#
# start: picks free ports, gives each member its own data dir DIR/mN, logs to
#   DIR/mN.log, records each PID in DIR/mN.pid and the flags in DIR/flags,
#   waits until the cluster has a leader, and prints the endpoints
#   ("127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3"), also kept in DIR/endpoints.
#   Extra arguments go to every member (e.g. --max-txn-ops=64).
# stop: stops every member it started (by the recorded PIDs, never by name)
#   and keeps DIR for inspection.
# env: ETCD (default: etcd on PATH), ETCDCTL (default: etcdctl on PATH)
set -euo pipefail

ETCD=${ETCD:-etcd}
ETCDCTL=${ETCDCTL:-etcdctl}
MEMBERS=3

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_member() {  # DIR I
  local dir=$1 i=$2
  local -a flags=()
  [[ -s "$dir/flags" ]] && mapfile -t flags <"$dir/flags"
  local client peer state=new
  client=$(cat "$dir/m$i.client")
  peer=$(cat "$dir/m$i.peer")
  [[ -d "$dir/m$i/member" ]] && state=existing
  "$ETCD" --name "m$i" --data-dir "$dir/m$i" \
    --listen-client-urls "http://127.0.0.1:$client" \
    --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "$(cat "$dir/initial_cluster")" \
    --initial-cluster-state "$state" --initial-cluster-token "rocksfs-$$" \
    "${flags[@]}" >>"$dir/m$i.log" 2>&1 &
  echo $! >"$dir/m$i.pid"
}

stop_member() {  # DIR I SIGNAL
  local dir=$1 i=$2 signal=$3 pid
  [[ -s "$dir/m$i.pid" ]] || return 0
  pid=$(cat "$dir/m$i.pid")
  # Only our etcd: the PID must still be an etcd process with our data dir.
  if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' </proc/"$pid"/cmdline | grep -qF -- "--data-dir $dir/m$i"; then
    kill -"$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  : >"$dir/m$i.pid"
}

wait_ready() {  # DIR
  local dir=$1
  for _ in $(seq 200); do
    if ETCDCTL_API=3 "$ETCDCTL" --endpoints "$(cat "$dir/endpoints")" --command-timeout=1s \
         get rocksfs-ready >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "etcd_cluster.sh: the cluster in $dir has no leader after 20 s (logs: $dir/m*.log)" >&2
  return 1
}

[[ $# -ge 2 ]] || usage
command=$1
dir=$2
shift 2

case "$command" in
  start)
    command -v "$ETCD" >/dev/null || { echo "etcd_cluster.sh: $ETCD not found (apt-get install etcd-server)" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    printf '%s\n' "$@" | grep -v '^$' >"$dir/flags" || true
    initial=() endpoints=()
    for i in $(seq 0 $((MEMBERS - 1))); do
      free_port >"$dir/m$i.client"
      free_port >"$dir/m$i.peer"
      initial+=("m$i=http://127.0.0.1:$(cat "$dir/m$i.peer")")
      endpoints+=("127.0.0.1:$(cat "$dir/m$i.client")")
    done
    (IFS=,; echo "${initial[*]}") >"$dir/initial_cluster"
    (IFS=,; echo "${endpoints[*]}") >"$dir/endpoints"
    for i in $(seq 0 $((MEMBERS - 1))); do start_member "$dir" "$i"; done
    if ! wait_ready "$dir"; then
      for i in $(seq 0 $((MEMBERS - 1))); do stop_member "$dir" "$i" TERM; done
      exit 1
    fi
    cat "$dir/endpoints"
    ;;
  stop)
    dir=$(cd "$dir" && pwd)
    for i in $(seq 0 $((MEMBERS - 1))); do stop_member "$dir" "$i" TERM; done
    ;;
  kill)
    [[ $# -eq 1 ]] || usage
    dir=$(cd "$dir" && pwd)
    stop_member "$dir" "$1" KILL
    ;;
  restart)
    [[ $# -eq 1 ]] || usage
    dir=$(cd "$dir" && pwd)
    start_member "$dir" "$1"
    ;;
  -h|--help) usage 0 ;;
  *) usage ;;
esac
