#!/usr/bin/env python3
"""Crash test: kill -9 the rocksfs daemon again and again under a write load,
and check that nothing closed is ever lost or torn (SPEC section 6: "Closed
means committed ... No operation is ever half applied").

usage: scripts/crash_test.py [--kills N] [--seconds S] [--writers W]
                             [--mode plain|sync|fsync|mixed] [--sync] [--fsync]
                             [--seed N] [--build-dir DIR] [--keep]
                             [--etcd etcd://HOST:PORT,... --prefix P]

Each cycle mounts the DB (mount.rocksfs DB MNT -f), checks it, starts W
writer processes that create, overwrite, append, rename and unlink files in
their own directories through the mount, kills the daemon with SIGKILL at a
random moment, and cleans up the dead mount (fusermount3 -uz). Each writer
journals every operation in a file outside the mount: a "begin" record before
it and a "done" record once its close() (or rename/unlink) returned, each
flushed and fsync'd. After every kill:
  - `ldb checkconsistency` passes on the DB;
  - `ldb scan` (an independent RocksDB reader; it verifies block checksums
    as it reads) shows every writer's files exactly as its journal says:
    every done operation applied, whole; the one operation in flight at the
    kill either applied whole or not at all (an in-flight create may also
    have left the new file empty: O_CREAT commits the empty file at once);
  - after the remount, the mount lists and reads exactly those files.
Modes: plain (commit at close), sync (-o sync: every commit syncs the WAL),
fsync (writers fsync before close and before journaling), mixed (each cycle
picks one). --sync and --fsync are --mode sync and --mode fsync.

With --etcd URL --prefix P the mounts are of the keys under P on that etcd
cluster (a running one, e.g. from scripts/etcd_cluster.sh; P must hold no
keys yet), and `etcdctl get --prefix P` takes the place of `ldb scan` (there
is no checkconsistency to run). Modes plain and fsync only: -o sync has
nothing to do on etcd, whose every commit is already in the fsync'd log of a
quorum of members when it is acknowledged.

What this cannot show: durability against a machine crash or power loss.
SIGKILL ends the daemon, not the kernel, so data RocksDB had written to the
page cache survives even without a sync. The fsync and sync modes exercise
those paths under kills; the machine-crash guarantee rests on RocksDB's WAL
sync and is not tested here.

Exit status 0 when every cycle checked out, 1 on the first violation (with
the journal, the expected and actual states, and the daemon log), 2 on a
setup error. The short form runs in ctest (tests/mount/test_crash.py); the
long form is `python3 scripts/crash_test.py --kills 200`.
"""

import argparse
import base64
import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NAMES = ["f%d" % i for i in range(8)]
MAX_SIZE = 48 * 1024
MOUNT_TIMEOUT = 30.0


class CrashTestFailure(Exception):
    pass


# --- content ------------------------------------------------------------------

def chunk(writer, seq, length):
    """Self-describing bytes written by operation `seq` of `writer`."""
    header = b"<w%d s%d n%d>" % (writer, seq, length)
    body = bytes([65 + (seq * 7 + writer) % 26]) * max(0, length - len(header))
    return (header + body)[:length]


def describe(content):
    if content is None:
        return "absent"
    head = content[:40]
    return "%d bytes %r%s" % (len(content), head, "..." if len(content) > 40 else "")


# --- the writer process -----------------------------------------------------------

def writer_main(args):
    """One writer: random operations on its own directory until the mount
    fails under it. State (which names exist) comes from --state."""
    rng = random.Random(args.writer_seed)
    directory = args.dir
    with open(args.state) as f:
        existing = set(json.load(f))
    seq = args.first_seq
    journal = open(args.journal, "a")

    def record(entry):
        journal.write(json.dumps(entry) + "\n")
        journal.flush()
        os.fsync(journal.fileno())

    def write_file(path, data, flags):
        fd = os.open(path, flags, 0o644)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view[:rng.choice((4096, 16384, 65536))])
                view = view[n:]
            if args.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    try:
        while True:
            seq += 1
            choices = ["create"] if len(existing) < len(NAMES) else []
            if existing:
                choices += ["overwrite", "overwrite", "append", "append", "rename", "unlink"]
            op = rng.choice(choices)
            if op == "create":
                name = rng.choice(sorted(set(NAMES) - existing))
                length = rng.randrange(0, MAX_SIZE)
                record({"seq": seq, "phase": "begin", "op": "write", "name": name,
                        "length": length, "new": True})
                write_file(os.path.join(directory, name), chunk(args.writer, seq, length),
                           os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                existing.add(name)
            elif op == "overwrite":
                name = rng.choice(sorted(existing))
                length = rng.randrange(0, MAX_SIZE)
                record({"seq": seq, "phase": "begin", "op": "write", "name": name,
                        "length": length, "new": False})
                write_file(os.path.join(directory, name), chunk(args.writer, seq, length),
                           os.O_WRONLY | os.O_TRUNC)
            elif op == "append":
                name = rng.choice(sorted(existing))
                length = rng.randrange(1, 8192)
                record({"seq": seq, "phase": "begin", "op": "append", "name": name,
                        "length": length})
                write_file(os.path.join(directory, name), chunk(args.writer, seq, length),
                           os.O_WRONLY | os.O_APPEND)
            elif op == "rename":
                src = rng.choice(sorted(existing))
                dst = rng.choice([n for n in NAMES if n != src])
                record({"seq": seq, "phase": "begin", "op": "rename", "src": src, "dst": dst})
                os.rename(os.path.join(directory, src), os.path.join(directory, dst))
                existing.discard(src)
                existing.add(dst)
            else:
                name = rng.choice(sorted(existing))
                record({"seq": seq, "phase": "begin", "op": "unlink", "name": name})
                os.unlink(os.path.join(directory, name))
                existing.discard(name)
            record({"seq": seq, "phase": "done"})
    except OSError as e:
        # The daemon was killed: ENOTCONN, ECONNABORTED (or EIO) from here on.
        record({"seq": seq, "phase": "error", "errno": e.errno, "error": str(e),
                "time": time.time()})
        return 0


# --- the model ------------------------------------------------------------------

def apply(state, entry, writer):
    """The state (name -> bytes) after one journaled operation."""
    new = dict(state)
    op = entry["op"]
    if op == "write":
        new[entry["name"]] = chunk(writer, entry["seq"], entry["length"])
    elif op == "append":
        new[entry["name"]] = state.get(entry["name"], b"") + chunk(writer, entry["seq"],
                                                                 entry["length"])
    elif op == "rename":
        new[entry["dst"]] = state[entry["src"]]
        del new[entry["src"]]
    elif op == "unlink":
        del new[entry["name"]]
    return new


def candidates(state, journal_path, writer, from_line):
    """The states a writer's directory may be in after a kill, from its
    journal lines [from_line:]: (the state after every done op, the
    alternatives for the op in flight, the last seq, the lines read)."""
    with open(journal_path) as f:
        lines = f.readlines()
    entries = [json.loads(line) for line in lines[from_line:] if line.strip()]
    pending = None
    last_seq = None
    for entry in entries:
        if entry["phase"] == "begin":
            if pending is not None:
                raise CrashTestFailure("writer %d: journal has two begins in a row: %r" %
                                       (writer, entry))
            pending = entry
            last_seq = entry["seq"]
        elif entry["phase"] == "done":
            if pending is None or pending["seq"] != entry["seq"]:
                raise CrashTestFailure("writer %d: done without begin: %r" % (writer, entry))
            state = apply(state, pending, writer)
            pending = None
    options = [state]
    if pending is not None:
        options.append(apply(state, pending, writer))
        if pending["op"] == "write" and pending.get("new"):
            # O_CREAT committed the empty file before the kill.
            empty = dict(state)
            empty[pending["name"]] = b""
            options.append(empty)
    return options, pending, last_seq, len(lines)


# --- the controller -----------------------------------------------------------------

def find_binary(build_dir, name):
    for d in ([build_dir] if build_dir else []) + [
            os.environ.get("ROCKSFS_BUILD_DIR", ""),
            os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build")]:
        if d and os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    found = shutil.which(name)
    if found:
        return found
    raise SystemExit("crash_test.py: %s not found (build it, or pass --build-dir)" % name)


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split(" ")[4] == path for line in f)


def run(cmd, timeout=120):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


def ldb_check(db):
    proc = run(["ldb", "--db=%s" % db, "checkconsistency"])
    if proc.returncode != 0 or b"OK" not in proc.stdout:
        raise CrashTestFailure("ldb checkconsistency failed: %s%s" % (
            proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")))


def ldb_scan(db):
    proc = run(["ldb", "--db=%s" % db, "scan", "--hex"])
    if proc.returncode != 0:
        raise CrashTestFailure("ldb scan failed: %s" % proc.stderr.decode(errors="replace"))
    result = {}
    for line in proc.stdout.decode().splitlines():
        if not line.strip():
            continue
        k, _, v = line.partition(" : ")
        result[bytes.fromhex(k.strip()[2:])] = bytes.fromhex(v.strip()[2:])
    return result


class RocksDbStore:
    """A database directory, read with ldb."""

    def __init__(self, db):
        self.source, self.what = db, "the DB (ldb scan)"

    def options(self, mode):
        return ["create"] + (["sync"] if mode == "sync" else [])

    def check(self):
        ldb_check(self.source)

    def scan(self):
        return ldb_scan(self.source)


class EtcdStore:
    """The keys under a prefix of an etcd cluster, read with etcdctl."""

    def __init__(self, url, prefix):
        self.source, self.prefix, self.what = url, prefix, "etcd (etcdctl get --prefix)"
        self.endpoints = url[len("etcd://"):]

    def options(self, mode):
        return ["prefix=" + self.prefix]

    def check(self):
        pass  # etcd has no checkconsistency; scan() and the remount check the keys

    def scan(self):
        """The keys under the prefix (without it) and their values."""
        env = dict(os.environ, ETCDCTL_API="3")
        proc = subprocess.run([os.environ.get("ETCDCTL", "etcdctl"), "--endpoints",
                               self.endpoints, "get", "--prefix", self.prefix, "-w", "json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
        if proc.returncode != 0:
            raise CrashTestFailure("etcdctl get --prefix %s failed: %s"
                                   % (self.prefix, proc.stderr.decode(errors="replace")))
        n = len(self.prefix.encode())
        return {base64.b64decode(kv["key"])[n:]: base64.b64decode(kv.get("value", ""))
                for kv in json.loads(proc.stdout).get("kvs", [])}


class Daemon:
    def __init__(self, binary, db, mountpoint, options, log_path):
        self.binary, self.db, self.mountpoint = binary, db, mountpoint
        self.options, self.log_path = options, log_path
        self.proc = None

    def start(self):
        cmd = [self.binary, self.db, self.mountpoint, "-f", "-o", ",".join(self.options)]
        with open(self.log_path, "ab") as log:
            log.write(("$ %s\n" % " ".join(cmd)).encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + MOUNT_TIMEOUT
        while not is_mounted(self.mountpoint):
            if self.proc.poll() is not None:
                raise CrashTestFailure("mount.rocksfs exited with status %d before mounting\n%s"
                                       % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                self.kill()
                raise CrashTestFailure("mount.rocksfs did not mount within %.0f s\n%s"
                                       % (MOUNT_TIMEOUT, self.log_tail()))
            time.sleep(0.01)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if is_mounted(self.mountpoint):
            subprocess.run(["fusermount3", "-uz", self.mountpoint], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def unmount(self):
        subprocess.run(["fusermount3", "-u", self.mountpoint], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        try:
            status = self.proc.wait(timeout=MOUNT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise CrashTestFailure("mount.rocksfs did not exit after fusermount3 -u")
        if status != 0:
            raise CrashTestFailure("mount.rocksfs exited with %d at unmount\n%s"
                                   % (status, self.log_tail()))

    def log_tail(self, limit=6000):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "--- daemon log (%s) ---\n%s\n--- end ---" % (self.log_path, text[-limit:])


def check_state(writer, expected_options, actual, where):
    """actual: name -> bytes. Returns the matching option, or raises."""
    for option in expected_options:
        if option == actual:
            return option
    lines = ["writer %d: %s does not match the journal" % (writer, where)]
    names = sorted(set(actual) | set().union(*[set(o) for o in expected_options]))
    for name in names:
        lines.append("  %s: actual %s" % (name, describe(actual.get(name))))
        for i, option in enumerate(expected_options):
            lines.append("      allowed[%d] %s" % (i, describe(option.get(name))))
    raise CrashTestFailure("\n".join(lines))


def read_tree(directory):
    """name -> bytes of the files in directory (must be flat)."""
    result = {}
    names = os.listdir(directory)
    if len(names) != len(set(names)):
        raise CrashTestFailure("%s lists a name twice: %r" % (directory, sorted(names)))
    for name in names:
        with open(os.path.join(directory, name), "rb") as f:
            result[name] = f.read()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=None,
                        help="time budget; the run time between kills is spread over it "
                             "(default: 3 s per kill)")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--mode", choices=["plain", "sync", "fsync", "mixed"], default="mixed")
    parser.add_argument("--sync", action="store_true", help="same as --mode sync")
    parser.add_argument("--fsync", action="store_true", help="same as --mode fsync")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--build-dir", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--etcd", metavar="URL", default=None,
                        help="mount the keys under --prefix of this etcd cluster "
                             "(etcd://HOST:PORT,...) instead of a database directory")
    parser.add_argument("--prefix", default=None, help="with --etcd: the key prefix (prefix=)")
    # Internal: run as one writer.
    parser.add_argument("--writer", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--writer-seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    parser.add_argument("--journal", help=argparse.SUPPRESS)
    parser.add_argument("--first-seq", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer is not None:
        return writer_main(args)
    if args.sync:
        args.mode = "sync"
    if args.fsync:
        args.mode = "fsync"
    if args.etcd is not None:
        if not args.etcd.startswith("etcd://") or not args.prefix:
            parser.error("--etcd takes etcd://HOST:PORT,... and needs --prefix P")
        if args.mode == "sync":
            parser.error("--mode sync does not apply to etcd (every commit is already on a "
                         "quorum's fsync'd log); use plain, fsync or mixed")
    elif args.prefix is not None:
        parser.error("--prefix is for --etcd")
    if args.seed is None:
        args.seed = random.randrange(1, 1 << 31)
    if args.seconds is None:
        args.seconds = 3.0 * args.kills
    rng = random.Random(args.seed)
    binary = find_binary(args.build_dir, "mount.rocksfs")
    if args.etcd is None:
        if shutil.which("ldb") is None:
            raise SystemExit("crash_test.py: ldb not found (install rocksdb-tools)")
        store = None  # in the work directory, below
        mode_choices = ["plain", "sync", "fsync"]
    else:
        if shutil.which(os.environ.get("ETCDCTL", "etcdctl")) is None:
            raise SystemExit("crash_test.py: etcdctl not found (install etcd-client)")
        store = EtcdStore(args.etcd, args.prefix)
        try:
            if store.scan():
                raise SystemExit("crash_test.py: %s already holds keys under %s: give a fresh "
                                 "prefix" % (args.etcd, args.prefix))
        except CrashTestFailure as e:
            raise SystemExit("crash_test.py: %s" % e)
        mode_choices = ["plain", "fsync"]
    work = tempfile.mkdtemp(prefix="rocksfs-crash-", dir="/tmp")
    if store is None:
        store = RocksDbStore(os.path.join(work, "db"))
    mnt = os.path.join(work, "mnt")
    os.mkdir(mnt)
    log_path = os.path.join(work, "daemon.log")
    print("crash_test: seed %d, %d kills in ~%.0f s, %d writers, mode %s, %s, work dir %s"
          % (args.seed, args.kills, args.seconds, args.writers, args.mode, store.source, work),
          flush=True)

    states = {w: {} for w in range(args.writers)}  # writer -> name -> bytes
    journal_lines = {w: 0 for w in range(args.writers)}
    next_seq = {w: 0 for w in range(args.writers)}
    started = time.monotonic()
    daemon = None
    failed = False
    stats = {"in_flight_applied": 0, "in_flight_not_applied": 0, "modes": {}}
    try:
        for cycle in range(args.kills + 1):
            mode = args.mode if args.mode != "mixed" else rng.choice(mode_choices)
            daemon = Daemon(binary, store.source, mnt, store.options(mode), log_path)
            daemon.start()
            # The mount shows exactly the resolved states.
            for w in range(args.writers):
                d = os.path.join(mnt, "w%d" % w)
                if cycle == 0:
                    os.mkdir(d)
                check_state(w, [states[w]], read_tree(d), "the mount after remount %d" % cycle)
            if cycle == args.kills:
                break
            stats["modes"][mode] = stats["modes"].get(mode, 0) + 1
            # Start the writers.
            writers = []
            for w in range(args.writers):
                state_path = os.path.join(work, "state-%d.json" % w)
                with open(state_path, "w") as f:
                    json.dump(sorted(states[w]), f)
                cmd = [sys.executable, os.path.abspath(__file__), "--writer", str(w),
                       "--writer-seed", str(rng.randrange(1 << 30)),
                       "--dir", os.path.join(mnt, "w%d" % w), "--state", state_path,
                       "--journal", os.path.join(work, "journal-%d.jsonl" % w),
                       "--first-seq", str(next_seq[w])]
                if mode == "fsync":
                    cmd.append("--fsync")
                writers.append(subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT))
            # Let them run, then kill the daemon at a random moment.
            remaining = args.seconds - (time.monotonic() - started)
            per_cycle = max(0.3, remaining / (args.kills - cycle)) if remaining > 0 else 0.3
            time.sleep(rng.uniform(0.1, max(0.2, per_cycle * 0.8)))
            for w, proc in enumerate(writers):
                if proc.poll() is not None:
                    out = proc.stdout.read().decode(errors="replace")
                    raise CrashTestFailure("writer %d stopped before the kill (status %s):\n%s\n"
                                           "journal tail: %s\n%s" % (
                                               w, proc.returncode, out,
                                               tail(os.path.join(work, "journal-%d.jsonl" % w)),
                                               daemon.log_tail()))
            if not daemon.alive():
                raise CrashTestFailure("the daemon died before the kill\n%s" % daemon.log_tail())
            daemon.kill()
            for w, proc in enumerate(writers):
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    raise CrashTestFailure("writer %d hung after the daemon was killed" % w)
                if proc.returncode != 0:
                    raise CrashTestFailure("writer %d failed (status %d):\n%s" % (
                        w, proc.returncode, proc.stdout.read().decode(errors="replace")))
            # The store as another program (ldb, etcdctl) sees it.
            store.check()
            scanned = store.scan()
            strays = sorted(k for k in scanned
                            if not any(k.startswith(b"w%d/" % w) for w in range(args.writers)))
            if strays:
                raise CrashTestFailure("%s after kill %d holds keys no writer wrote: %r"
                                       % (store.what, cycle + 1, strays[:10]))
            for w in range(args.writers):
                prefix = b"w%d/" % w
                actual = {k[len(prefix):].decode(): v for k, v in scanned.items()
                          if k.startswith(prefix)}
                options_w, pending, last_seq, lines = candidates(
                    states[w], os.path.join(work, "journal-%d.jsonl" % w), w, journal_lines[w])
                resolved = check_state(w, options_w, actual, "%s after kill %d"
                                       % (store.what, cycle + 1))
                if pending is not None:
                    if resolved is options_w[0]:
                        stats["in_flight_not_applied"] += 1
                    else:
                        stats["in_flight_applied"] += 1
                states[w] = resolved
                journal_lines[w] = lines
                if last_seq is not None:
                    next_seq[w] = last_seq
            print("crash_test: kill %d/%d (%s) ok: %s" % (
                cycle + 1, args.kills, mode,
                ", ".join("w%d %d files" % (w, len(states[w])) for w in range(args.writers))),
                flush=True)
        daemon.unmount()
        store.check()
    except CrashTestFailure as e:
        failed = True
        print("crash_test: FAILED (seed %d): %s" % (args.seed, e), file=sys.stderr)
        if daemon is not None:
            print(daemon.log_tail(), file=sys.stderr)
    finally:
        if daemon is not None:
            daemon.kill()
        if not args.keep and not failed:
            shutil.rmtree(work, ignore_errors=True)
        elif failed:
            print("crash_test: work directory kept: %s" % work, file=sys.stderr)
    if failed:
        return 1
    journaled = sum(journal_lines.values())
    print("crash_test: PASSED: %d kills, %d journal records, in-flight operations at a kill: "
          "%d applied, %d not applied; modes %s; %.0f s" % (
              args.kills, journaled, stats["in_flight_applied"], stats["in_flight_not_applied"],
              stats["modes"], time.monotonic() - started))
    return 0


def tail(path, lines=5):
    try:
        with open(path) as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
