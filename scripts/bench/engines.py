"""scripts/bench.sh --engine etcd: the core workloads on RocksDB and on etcd,
side by side, in one run (see bench.sh --help).

Two mounts of mount.rocksfs, each with its engine's default options, take
turns (the order alternates each repetition):

  rocksdb  a fresh database in the work directory
  etcd     the key prefix bench/R/ (R: the repetition) of a 3-member etcd
           cluster on 127.0.0.1 that this run starts with
           scripts/etcd_cluster.sh and stops at the end (by the PIDs the
           script recorded), also on an error, Ctrl-C or SIGTERM

On each, rocksfs_bench runs the same loops over the same N files of 100 B in
one directory: create+write+close; after a remount, the listing of the
directory (readdir) twice; after a remount, stat twice; after a remount,
open+read+close twice (first access, then warm); unlink. Each loop is
timed, and its FUSE requests and etcd round trips (the etcd.range and
etcd.txn counters of /.rocksfs/stats) are counted; the report shows their
medians per operation. etcd operations cost milliseconds, so N is small.
"""

import argparse
import datetime
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import report  # noqa: E402
from system import (BenchError, Counting, EtcdCluster, EtcdMount, RocksfsMount,  # noqa: E402
                    driver, loadavg, log, mounted, run, run_sizes)

FULL = dict(files=200, reps=3)
QUICK = dict(files=50, reps=1)
ENGINES = ["rocksdb", "etcd"]
# key, label, what one operation is. A listing is one operation.
WORKLOADS = [
    ("create", "create+write+close 100 B", "file"),
    ("read_first", "open+read+close 100 B, first access after mount", "file"),
    ("read_warm", "open+read+close 100 B, warm", "file"),
    ("stat_first", "stat, first access after mount", "file"),
    ("stat_warm", "stat, warm", "file"),
    ("unlink", "unlink", "file"),
    ("ls_first", "list the directory of {files} files (readdir), first access", "listing"),
    ("ls_warm", "list the directory of {files} files (readdir), warm", "listing"),
]
# The etcd counters shown per operation: etcd's requests.
ROUND_TRIPS = [("etcd.range", "Range"), ("etcd.txn", "Txn")]
SKIP_EXIT_CODE = 77  # the tests' code for "cannot run here" (ctest's SKIP_RETURN_CODE)


def etcd_problem(build_dir):
    """Why the etcd engine cannot be measured here, or None."""
    marker = os.path.join(build_dir, "etcd_engine.txt")
    try:
        with open(marker) as f:
            state = f.read().strip()
    except FileNotFoundError:
        return "%s does not exist (configure the build with CMake)" % marker
    if state != "built":
        return "the etcd engine is not built (%s); scripts/setup.sh installs what it needs" % state
    for tool in ("etcd", "etcdctl"):
        if shutil.which(tool) is None:
            return "%s is not installed (apt-get install etcd-server etcd-client)" % tool
    return None


class EngineRun:
    def __init__(self, args):
        self.args = args
        self.size = run_sizes(args, QUICK, FULL, files=args.files)
        self.bench = os.path.join(args.build_dir, "rocksfs_bench")
        self.mount_binary = os.path.join(args.build_dir, "mount.rocksfs")
        self.work = args.work or tempfile.mkdtemp(prefix="rocksfs-bench-etcd-")
        os.makedirs(self.work, exist_ok=True)
        self.names = os.path.join(self.work, "names")
        with open(self.names, "w") as f:
            for i in range(self.size["files"]):
                f.write("d/f%06d\n" % i)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                              "etcd_cluster.sh")
        self.cluster = EtcdCluster(os.path.realpath(script), os.path.join(self.work, "etcd"))
        self.mount = None  # the one mount up at a time
        self.samples = {}  # (workload, engine) -> [sample dicts]

    def make_mount(self, engine, rep):
        mountpoint = os.path.join(self.work, "mnt-" + engine)
        log_path = os.path.join(self.work, engine + ".log")
        if engine == "etcd":
            return EtcdMount(self.mount_binary, self.cluster.endpoints, "bench/%d/" % (rep + 1),
                             mountpoint, [], log_path)
        return RocksfsMount(self.mount_binary, os.path.join(self.work, "rocksdb-%d" % (rep + 1)),
                            mountpoint, [], log_path)

    def record(self, workload, engine, seconds, ops, counting):
        sample = {"seconds": seconds, "ops": ops, "requests": counting.requests,
                  "etcd": counting.etcd}
        self.samples.setdefault((workload, engine), []).append(sample)
        trips = " ".join("%s %.2f" % (name, counting.etcd.get(key, 0) / ops)
                         for key, name in ROUND_TRIPS) if counting.etcd else ""
        log("  %-8s %-11s %8.3f ms/op  req/op %.2f  %s" %
            (engine, workload, seconds / ops * 1000, sum(counting.requests.values()) / ops, trips))

    def loop(self, engine, workload, op, listing=False):
        """One rocksfs_bench pass on the mount, timed and counted."""
        m = self.mount
        args = ["ls", "--dir", os.path.join(m.mountpoint, "d")] if listing else [
            op, "--list", self.names, "--base", m.mountpoint]  # create: 100 B, the default
        with Counting(m) as c:
            (r,) = driver(self.bench, args)
        self.record(workload, engine, r["seconds"], 1 if listing else r["ops"], c)

    def remount(self):
        self.mount.umount()
        self.mount.mount()

    def workloads(self, engine):
        self.loop(engine, "create", "create")
        self.remount()
        self.loop(engine, "ls_first", "ls", listing=True)
        self.loop(engine, "ls_warm", "ls", listing=True)
        for op in ("stat", "read"):
            self.remount()
            self.loop(engine, op + "_first", op)
            self.loop(engine, op + "_warm", op)
        self.loop(engine, "unlink", "unlink")

    def run(self):
        self.load_start = loadavg()
        started = time.time()
        try:
            log("starting a 3-member etcd cluster in %s" % self.cluster.dir)
            self.cluster.start()
            # "etcd Version: 3.4.23" -> "etcd 3.4.23"
            self.etcd_version = run(["etcd", "--version"]).stdout.splitlines()[0].replace(
                " Version:", "")
            reps = self.size["reps"]
            for rep in range(reps):
                order = ENGINES if rep % 2 == 0 else ENGINES[::-1]
                log("repetition %d/%d: %s (load %s)" % (rep + 1, reps, ", ".join(order),
                                                         loadavg()))
                for engine in order:
                    self.mount = self.make_mount(engine, rep)
                    self.mount.mount()
                    self.workloads(engine)
                    self.mount.umount()
                    self.mount = None
        finally:
            self.load_end = loadavg()
            self.elapsed = time.time() - started
            self.teardown()

    def teardown(self):
        if self.mount:
            self.mount.kill()
        self.cluster.stop()
        if self.mount and mounted(self.mount.mountpoint):
            return  # leave the work directory: something is still mounted
        if not self.args.keep and not self.args.work:
            shutil.rmtree(self.work, ignore_errors=True)


# ---- report ---------------------------------------------------------------------


def build(engine_run):
    """The JSON document: sizes, environment, samples and medians per operation."""
    entries = {}
    for (workload, engine), samples in engine_run.samples.items():
        entries.setdefault(workload, {})[engine] = {
            "ms_per_op": report._median([x["seconds"] / x["ops"] * 1000 for x in samples]),
            "requests_per_op": report.per_op(samples),
            "etcd_per_op": report.per_op(samples, "etcd"),
            "samples": samples,
        }
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": "quick" if engine_run.args.quick else "full",
        "repetitions": engine_run.size["reps"],
        "files": engine_run.size["files"],
        "cpus": os.cpu_count(),
        "etcd": engine_run.etcd_version,
        "load_start": engine_run.load_start,
        "load_end": engine_run.load_end,
        "elapsed_seconds": round(engine_run.elapsed, 1),
        "workloads": entries,
    }


def markdown(doc):
    D = report.DASH
    lines = [
        "rocksfs on RocksDB and on etcd, %s mode, %s; median of %d repetition(s) of %d files "
        "of 100 B; %d vCPUs, load average %s at the start, %s at the end; %s s in all." %
        (doc["mode"], doc["date"], doc["repetitions"], doc["files"], doc["cpus"],
         doc["load_start"], doc["load_end"], doc["elapsed_seconds"]),
        "RocksDB: a fresh database; etcd: %s, 3 members on 127.0.0.1. Each mount with its "
        "engine's default options." % doc["etcd"],
        "",
        "| workload | per | RocksDB ms/op | etcd ms/op | etcd / RocksDB | RocksDB FUSE req/op: "
        "sync (all) | etcd FUSE req/op: sync (all) | etcd Range/op | etcd Txn/op |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    retries = 0
    for key, label, per in WORKLOADS:
        e = doc["workloads"].get(key)
        if not e:
            continue
        ms = {x: e.get(x, {}).get("ms_per_op") for x in ENGINES}
        ratio = report._ratio(ms["etcd"], ms["rocksdb"])
        row = [label.format(files=doc["files"]), per] + [
            D if ms[x] is None else report._fmt(ms[x]) for x in ENGINES]
        row.append(D if ratio is None else report._fmt(ratio))
        for x in ENGINES:
            sync, total, _ = report._req_summary(e.get(x, {}).get("requests_per_op"))
            row.append(D if sync is None else "%s (%s)" % (report._fmt(sync), report._fmt(total)))
        trips = e.get("etcd", {}).get("etcd_per_op") or {}
        row += [report._fmt(trips.get(k, 0)) for k, _ in ROUND_TRIPS]
        retries += sum(x["etcd"].get("etcd.retries", 0)
                       for x in e.get("etcd", {}).get("samples", []))
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "FUSE requests from /.rocksfs/stats (sync excludes RELEASE, RELEASEDIR and "
              "FORGET); etcd Range and Txn: the etcd.range and etcd.txn counters of the same "
              "file; %d etcd retries (etcd.retries) in all." % retries, ""]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engine", choices=["etcd"], required=True,
                   help="the engine measured beside RocksDB")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: %d files, %d repetition" % (QUICK["files"], QUICK["reps"]))
    p.add_argument("--reps", type=int, help="repetitions (default: %d, quick %d)" %
                   (FULL["reps"], QUICK["reps"]))
    p.add_argument("--files", type=int, help="files per workload (default: %d, quick %d)" %
                   (FULL["files"], QUICK["files"]))
    p.add_argument("--out", help="directory for results.json and results.md")
    p.add_argument("--build-dir", required=True)
    p.add_argument("--work", help="work directory (default: a fresh one under /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args()
    problem = etcd_problem(args.build_dir)
    if problem:
        print("bench.sh --engine etcd: skipped: %s" % problem, file=sys.stderr)
        return SKIP_EXIT_CODE
    # SIGTERM (and SIGHUP) unwind as an exception, so the cluster is stopped.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, frame: sys.exit(128 + signum))
    if not args.out:
        args.out = tempfile.mkdtemp(prefix="rocksfs-bench-out-")
    os.makedirs(args.out, exist_ok=True)
    engine_run = EngineRun(args)
    log("work directory %s, results in %s" % (engine_run.work, args.out))
    try:
        engine_run.run()
    except BenchError as e:
        log("FAILED: %s" % e)
        return 1
    except KeyboardInterrupt:
        log("interrupted: the cluster and the mounts are stopped")
        return 130
    doc = build(engine_run)
    report.save(args.out, doc, markdown(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
