"""The rocksfs benchmark suite (run by scripts/bench.sh; see its --help).

Six targets run the same workloads, interleaved: each repetition runs every
target once, in an order rotated by one per repetition.

  ext4     a directory on a loop-mounted ext4 image held on a tmpfs
  tmpfs    a tmpfs mount
  direct   the kv layer of rocksfs in-process (kv::OpenRocksStore, the same
           RocksDB options as the mount), on the same ext4 image
  floor    rocksfs_fuse_floor (tools/fuse_floor.cc): an in-memory hash map
           served with rocksfs's libfuse settings and mount options, what the
           FUSE round trips alone cost. It is never remounted (it would lose
           its files), so it has no first-access rows, no ro mount and no space.
  peer     libfuse's example passthrough_ll, compiled at the start of the run
           from /usr/share/doc/libfuse3-dev/examples, over a directory on the
           same ext4 image, with -o cache=always,timeout=<rocksfs's entry
           timeout> (keep_cache, the kernel's readdir cache and the same
           timeouts as rocksfs). Skipped, with the reason in the report,
           when it cannot be built.
  rocksfs  mount.rocksfs over a database on the same ext4 image

Tools: fs_mark creates files, fio does the large-file I/O, ls and find list,
rm removes a tree; tools/rocksfs_bench.cc runs every per-file loop in-process
(stat, open+read+close, unlink, readdir) and all of the direct API's work.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import report  # noqa: E402
from system import (BenchError, Counting, PassthroughMount, PerfRecorder,  # noqa: E402
                    RamExt4, RocksfsMount, build_passthrough_ll, client, driver, du_bytes,
                    is_root, loadavg, log, mounted, run, run_sizes, set_placement, timed)

# Sizes. Full: the workloads of the suite's specification; quick: a smoke run.
FULL = dict(top=100, mid=10, per=1000, sample=100_000, k4_dirs=100, k4_per=1000,
            lsdir=100_000, small_top=100, small_per=100, big_mib=256, readers_ops=100_000,
            reps=3, image_gib=8, inodes=2_000_000, rootls_repeats=5)
QUICK = dict(top=100, mid=2, per=25, sample=1000, k4_dirs=10, k4_per=100, lsdir=2000,
             small_top=100, small_per=1, big_mib=16, readers_ops=2000, reps=1, image_gib=1,
             inodes=100_000, rootls_repeats=1)

TARGETS = ["ext4", "tmpfs", "direct", "floor", "peer", "rocksfs"]


def fs_mark_name(rng, counter):
    # fs_mark's own shape: 8 hex digits of time, 8 '~', 24 random characters.
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "%08x~~~~~~~~%s" % (counter, "".join(rng.choice(alphabet) for _ in range(24)))


def write_list(path, names):
    with open(path, "w") as f:
        for n in names:
            f.write(n + "\n")
    return path


class Suite:
    def __init__(self, args):
        self.args = args
        self.size = run_sizes(args, QUICK, FULL)
        if args.scale != 1.0:
            for key in ("per", "sample", "k4_per", "lsdir", "small_per", "readers_ops"):
                self.size[key] = max(1, int(self.size[key] * args.scale))
        s = self.size
        self.n = s["top"] * s["mid"] * s["per"]
        self.build = args.build_dir
        self.bench = os.path.join(self.build, "rocksfs_bench")
        self.mount_binary = os.path.join(self.build, "mount.rocksfs")
        self.floor_binary = os.path.join(self.build, "rocksfs_fuse_floor")
        self.peer_binary = None
        self.peer_skipped = None  # why the peer did not run, when it did not
        self.work = args.work or tempfile.mkdtemp(prefix="rocksfs-bench-")
        os.makedirs(self.work, exist_ok=True)
        self.lists = os.path.join(self.work, "lists")
        os.makedirs(self.lists, exist_ok=True)
        self.scratch = os.path.join(self.work, "scratch")
        os.makedirs(self.scratch, exist_ok=True)
        self.samples = {}  # (workload, target) -> [sample dicts]
        self.notes = []
        self.only = set(args.only.split(",")) if args.only else None
        self.perf = set(args.perf.split(",")) if args.perf else set()
        self.have_fs_mark = shutil.which("fs_mark") is not None
        self.have_fio = shutil.which("fio") is not None
        self.root = is_root()
        self.ext4 = None
        self.mount_options = ["max_value_size=300M"]
        if args.mount_options:
            self.mount_options += args.mount_options.split(",")
        self.db_options = args.db_options or ""
        self.cf_options = args.cf_options or ""
        if self.db_options:
            self.mount_options.append("db_options=" + self.db_options)
        if self.cf_options:
            self.mount_options.append("cf_options=" + self.cf_options)
        self._make_lists()

    # ---- lists of names ------------------------------------------------------

    def _make_lists(self):
        s = self.size
        rng = random.Random(42)
        counter = 0x6b000000

        def names(count):
            nonlocal counter
            out = []
            for _ in range(count):
                counter += 1
                out.append(fs_mark_name(rng, counter))
            return out

        main = []
        for c in range(s["top"]):
            for d in range(s["mid"]):
                main += ["c%02d/%02d/%s" % (c, d, n) for n in names(s["per"])]
        main.sort()
        # The direct API's tree, and the tree fs_mark makes when it is missing.
        self.generated_main = write_list(os.path.join(self.lists, "main-generated"), main)
        t4 = ["t4/" + k for k in main]
        self.generated_t4 = write_list(os.path.join(self.lists, "t4-generated"), t4)
        k4 = []
        for c in range(s["k4_dirs"]):
            k4 += ["k4/k%03d/%s" % (c, n) for n in names(s["k4_per"])]
        self.k4_list = write_list(os.path.join(self.lists, "k4"), k4)
        self.lsdir_list = write_list(os.path.join(self.lists, "lsdir"),
                                     ["lsdir/" + n for n in names(s["lsdir"])])
        small = []
        for c in range(s["small_top"]):
            small += ["c%02d/%s" % (c, n) for n in names(s["small_per"])]
        self.small_list = write_list(os.path.join(self.lists, "small"), small)

    def entry_timeout(self):
        """The entry timeout of the rocksfs mounts, in seconds (mount.rocksfs's
        default of 3600 unless --mount-options sets one)."""
        timeout = 3600.0
        for option in self.mount_options:
            if option.startswith("entry_timeout="):
                timeout = float(option.split("=", 1)[1])
        return timeout

    # ---- recording -----------------------------------------------------------

    def wanted(self, workload):
        return self.only is None or workload in self.only

    def record(self, workload, target, value, ops=None, seconds=None, requests=None, tool=None):
        if not self.wanted(workload):
            return
        if target == "floor" and workload.endswith("_first"):
            return  # the floor is never remounted: its first access is warm
        sample = {"value": value, "ops": ops, "seconds": seconds}
        if requests is not None:
            sample["requests"] = requests
        if tool:
            sample["tool"] = tool
        self.samples.setdefault((workload, target), []).append(sample)
        shown = ("%.4g" % value) if isinstance(value, float) else str(value)
        req = ""
        if requests is not None and ops:
            req = "  req/op %.2f" % (sum(requests.values()) / ops)
        log("  %-8s %-22s %s%s" % (target, workload, shown, req))

    # ---- the run ---------------------------------------------------------------

    def setup(self):
        self.load_start = loadavg()
        if self.root and not self.args.no_ram:
            s = self.size
            self.ext4 = RamExt4(self.work, s["image_gib"], s["inodes"])
            try:
                self.ext4.create()
                self.base = self.ext4.path
            except BenchError as e:
                log("no RAM-backed ext4 image (%s): using the work directory" % e)
                self.ext4.destroy()
                self.ext4 = None
                self.args.no_ram = True
        if self.ext4 is None:
            self.base = os.path.join(self.work, "disk")
            os.makedirs(self.base, exist_ok=True)
            self.notes.append("not root (or --no-ram): ext4 target and databases are on %s "
                              "as it is, tmpfs is /dev/shm, and first-access runs are warm" %
                              self.base)
        if "peer" in self.args.targets:
            self.peer_binary, self.peer_skipped = build_passthrough_ll(
                os.path.join(self.work, "peer-build"))
            if self.peer_skipped:
                log("peer skipped: " + self.peer_skipped)
            else:
                log("peer: built %s" % self.peer_binary)

    def teardown(self):
        for target in getattr(self, "live_targets", []):
            try:
                target.abort()
            except Exception as e:  # keep cleaning up
                log("cleanup of %s: %s" % (target.name, e))
        if self.ext4:
            self.ext4.destroy()
            if mounted(self.ext4.path):
                return  # leave the work directory: something is still mounted
        if not self.args.keep and not self.args.work:
            shutil.rmtree(self.work, ignore_errors=True)

    def run(self):
        self.setup()
        self.live_targets = []
        started = time.time()
        try:
            reps = self.size["reps"]
            order = [x for x in self.args.targets if x != "peer" or not self.peer_skipped]
            for rep in range(reps):
                rotated = order[rep % len(order):] + order[:rep % len(order)]
                log("repetition %d/%d: %s (load %s)" % (rep + 1, reps, ", ".join(rotated),
                                                         loadavg()))
                for name in rotated:
                    target = make_target(name, self)
                    self.live_targets = [target]
                    log("target %s" % name)
                    target.begin()
                    try:
                        run_workloads(self, target, rep)
                    except BenchError as e:
                        if name != "peer":
                            raise
                        # The peer is a yardstick: its failure is reported,
                        # and the run goes on without it.
                        self.peer_skipped = "passthrough_ll failed in repetition %d: %s" % (
                            rep + 1, e)
                        log("peer dropped: " + self.peer_skipped)
                        order.remove("peer")
                    finally:
                        target.end()
                    self.live_targets = []
        finally:
            self.load_end = loadavg()
            self.elapsed = time.time() - started
            self.teardown()


# ---- targets --------------------------------------------------------------------


class FsTarget:
    """A directory tree reached through the kernel: ext4, tmpfs, the floor,
    the peer or rocksfs."""

    direct = False
    space = True  # du of its tree says what it costs on disk

    def __init__(self, name, suite):
        self.name = name
        self.suite = suite
        self.main_list = None

    # Subclasses set self.main, self.aux, self.small (directories).
    def begin(self):
        for d in (self.main, self.aux, self.small):
            os.makedirs(d, exist_ok=True)

    def end(self):
        pass

    def abort(self):
        self.end()

    def cold(self):
        pass

    def read_only(self, on):
        pass

    def mount_of(self, area):
        return None

    def small_begin(self):
        pass

    def small_end(self):
        pass

    def counting(self, area):
        return Counting(self.mount_of(area))

    def perf(self, workload, area):
        m = self.mount_of(area)
        if m and workload in self.suite.perf and not getattr(self, "_profiled_" + workload, False):
            setattr(self, "_profiled_" + workload, True)
            prefix = "" if self.name == "rocksfs" else self.name + "-"
            return PerfRecorder(m.pid, os.path.join(self.suite.args.out,
                                                    "perf-%s%s.data" % (prefix, workload)))
        return Nothing()


class Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Ext4Target(FsTarget):
    def __init__(self, name, suite):
        super().__init__(name, suite)
        self.root = os.path.join(suite.base, "ext4-target")
        self.main = os.path.join(self.root, "main")
        self.aux = os.path.join(self.root, "aux")
        self.small = os.path.join(self.root, "small")

    def end(self):
        if self.suite.ext4 and self.suite.ext4.read_only:
            self.suite.ext4.remount()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.suite.ext4:
            self.suite.ext4.trim()

    def cold(self):
        if self.suite.ext4:
            self.suite.ext4.remount()

    def read_only(self, on):
        if self.suite.ext4:
            self.suite.ext4.remount(read_only=on)
            return True
        return False


class TmpfsTarget(FsTarget):
    def __init__(self, name, suite):
        super().__init__(name, suite)
        if suite.root and not suite.args.no_ram:
            self.root = os.path.join(suite.work, "tmpfs")
            self.own_mount = True
        else:
            self.root = tempfile.mkdtemp(prefix="rocksfs-bench-", dir="/dev/shm")
            self.own_mount = False
        self.main = os.path.join(self.root, "main")
        self.aux = os.path.join(self.root, "aux")
        self.small = os.path.join(self.root, "small")

    def begin(self):
        if self.own_mount:
            os.makedirs(self.root, exist_ok=True)
            run(["mount", "-t", "tmpfs", "-o", "size=%dG" % self.suite.size["image_gib"],
                 "tmpfs", self.root])
        super().begin()

    def end(self):
        if self.own_mount:
            if mounted(self.root):
                run(["umount", self.root], check=False)
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def read_only(self, on):
        if self.own_mount:
            run(["mount", "-o", "remount," + ("ro" if on else "rw"), self.root])
            return True
        return False


class RocksfsTarget(FsTarget):
    def __init__(self, name, suite):
        super().__init__(name, suite)
        self.root = os.path.join(suite.base, "rocksfs-target")
        self.mounts = {}
        for area in ("main", "aux", "small"):
            self.mounts[area] = RocksfsMount(
                suite.mount_binary, os.path.join(self.root, area + "-db"),
                os.path.join(suite.work, "mnt-" + area), suite.mount_options,
                os.path.join(suite.work, "mount-%s.log" % area))
        self.main = self.mounts["main"].mountpoint
        self.aux = self.mounts["aux"].mountpoint
        self.small = self.mounts["small"].mountpoint

    def begin(self):
        os.makedirs(self.root, exist_ok=True)
        self.mounts["main"].mount()
        self.mounts["aux"].mount()

    def end(self):
        for m in self.mounts.values():
            m.umount()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.suite.ext4:
            self.suite.ext4.trim()

    def abort(self):
        for m in self.mounts.values():
            m.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def mount_of(self, area):
        return self.mounts[area]

    def cold(self):
        for m in self.mounts.values():
            m.umount()
        if self.suite.ext4:
            self.suite.ext4.remount()
        self.mounts["main"].mount()
        self.mounts["aux"].mount()

    def read_only(self, on):
        m = self.mounts["main"]
        m.umount()
        m.mount(read_only=on)
        return True

    def small_begin(self):
        self.mounts["small"].mount()

    def small_end(self):
        self.mounts["small"].umount()

    def db_dir(self, area):
        return self.mounts[area].db


class FloorTarget(FsTarget):
    """rocksfs_fuse_floor on three mount points (main, aux, small), as
    rocksfs, with the same mount options. It keeps its files in memory, so it is mounted once
    per repetition: cold() and read_only() do nothing."""

    space = False

    def __init__(self, name, suite):
        super().__init__(name, suite)
        self.mounts = {}
        for area in ("main", "aux", "small"):
            self.mounts[area] = RocksfsMount(
                suite.floor_binary, "floor-" + area,
                os.path.join(suite.work, "mnt-floor-" + area), suite.mount_options,
                os.path.join(suite.work, "floor-%s.log" % area))
        self.main = self.mounts["main"].mountpoint
        self.aux = self.mounts["aux"].mountpoint
        self.small = self.mounts["small"].mountpoint

    def begin(self):
        for m in self.mounts.values():
            m.mount()

    def end(self):
        for m in self.mounts.values():
            m.umount()

    def abort(self):
        for m in self.mounts.values():
            m.kill()

    def mount_of(self, area):
        return self.mounts[area]


class PeerTarget(FsTarget):
    """passthrough_ll over a directory on the ext4 image. cold() and
    read_only() remount the image under it, as for ext4."""

    space = False  # it is ext4's

    def __init__(self, name, suite):
        super().__init__(name, suite)
        self.root = os.path.join(suite.base, "peer-target")
        timeout = "%g" % suite.entry_timeout()
        self.mount = PassthroughMount(suite.peer_binary, self.root,
                                      os.path.join(suite.work, "mnt-peer"),
                                      ["cache=always", "timeout=" + timeout],
                                      os.path.join(suite.work, "peer.log"))
        self.main = os.path.join(self.mount.mountpoint, "main")
        self.aux = os.path.join(self.mount.mountpoint, "aux")
        self.small = os.path.join(self.mount.mountpoint, "small")

    def begin(self):
        os.makedirs(self.root, exist_ok=True)
        self.mount.mount()
        super().begin()

    def end(self):
        self.mount.umount()
        if self.suite.ext4 and self.suite.ext4.read_only:
            self.suite.ext4.remount()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.suite.ext4:
            self.suite.ext4.trim()

    def abort(self):
        self.mount.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def cold(self):
        self.mount.umount()
        if self.suite.ext4:
            self.suite.ext4.remount()
        self.mount.mount()

    def read_only(self, on):
        if not self.suite.ext4:
            return False
        self.mount.umount()
        self.suite.ext4.remount(read_only=on)
        self.mount.mount(read_only=on)
        return True

    def perf(self, workload, area):
        return Nothing()


class DirectTarget:
    """The kv layer in-process: every workload is a rocksfs_bench kv-* loop."""

    direct = True

    def __init__(self, name, suite):
        self.name = name
        self.suite = suite
        self.root = os.path.join(suite.base, "direct-target")
        self.dbs = {a: os.path.join(self.root, a + "-db") for a in ("main", "aux", "small")}
        self.ro = False

    def begin(self):
        os.makedirs(self.root, exist_ok=True)

    def end(self):
        shutil.rmtree(self.root, ignore_errors=True)
        if self.suite.ext4:
            self.suite.ext4.trim()

    def abort(self):
        self.end()

    def cold(self):
        # Every driver run opens the database afresh (empty block cache);
        # remounting the image drops the page cache under it.
        if self.suite.ext4:
            self.suite.ext4.remount()

    def read_only(self, on):
        self.ro = on
        return True

    def small_begin(self):
        pass

    def small_end(self):
        pass

    def kv(self, command, area, *args):
        s = self.suite
        argv = [command, "--db", self.dbs[area]]
        if s.db_options:
            argv += ["--db-options", s.db_options]
        if s.cf_options:
            argv += ["--cf-options", s.cf_options]
        if self.ro:
            argv += ["--readonly"]
        return driver(s.bench, argv + list(args))


def make_target(name, suite):
    return {"ext4": Ext4Target, "tmpfs": TmpfsTarget, "rocksfs": RocksfsTarget,
            "direct": DirectTarget, "floor": FloorTarget, "peer": PeerTarget}[name](name, suite)


# ---- workloads --------------------------------------------------------------------

MAIN_WORKLOADS = {"create_1t", "fsmark_1t", "fsmark_4t", "space", "rootls_1m_first", "rootls_1m_warm", "stat_first",
                  "stat_warm", "read100_first", "read100_warm", "find_first", "find_warm",
                  "readers4", "read100_ro_first", "read100_ro_warm", "unlink"}


def run_workloads(suite, t, rep):
    s = suite.size
    n = suite.n
    sample = s["sample"]
    want = suite.wanted
    need_main = any(want(w) for w in MAIN_WORKLOADS)
    need_aux = any(want(w) for w in ("create_4k", "create_dir", "read4k_first", "read4k_warm",
                                     "lsl_first", "lsl_warm"))
    need_small = any(want(w) for w in ("rootls_10k_first", "rootls_10k_warm"))
    need_big = any(want(w) for w in ("big_seqwrite", "big_seqread", "big_randread",
                                     "big_randwrite"))
    need_t4 = want("create_4t") or want("rm_r")
    B = suite.bench

    def rec(workload, value, ops=None, seconds=None, counting=None, tool=None):
        suite.record(workload, t.name, value, ops, seconds,
                     counting.requests if counting is not None else None, tool)

    def fs(area, workload, args):
        """A driver loop on a mount area, counting requests; returns results."""
        with t.counting(area) as c, t.perf(workload, area):
            results = driver(B, args)
        return results, c

    # 1. create+write+close 100 B, one writer: the main tree.
    if need_main:
        if t.direct:
            r = t.kv("kv-create", "main", "--list", suite.generated_main)[0]
            rec("create_1t", r["ops"] / r["seconds"], r["ops"], r["seconds"])
            main_list = suite.generated_main
        else:
            (r,), c = fs("main", "create_1t", ["create", "--list", suite.generated_main,
                                               "--base", t.main])
            rec("create_1t", r["ops"] / r["seconds"], r["ops"], r["seconds"], c)
            main_list = suite.generated_main

    # 2. The other trees (timed too: create through the driver, no fork).
    if need_aux:
        if t.direct:
            r = t.kv("kv-create", "aux", "--list", suite.k4_list, "--size", 4096,
                     "--fill", "random")[0]
            rec("create_4k", r["ops"] / r["seconds"], r["ops"], r["seconds"])
            r = t.kv("kv-create", "aux", "--list", suite.lsdir_list)[0]
            rec("create_dir", r["ops"] / r["seconds"], r["ops"], r["seconds"])
        else:
            (r,), c = fs("aux", "create_4k", ["create", "--list", suite.k4_list, "--base", t.aux,
                                              "--size", 4096, "--fill", "random"])
            rec("create_4k", r["ops"] / r["seconds"], r["ops"], r["seconds"], c)
            (r,), c = fs("aux", "create_dir", ["create", "--list", suite.lsdir_list,
                                               "--base", t.aux])
            rec("create_dir", r["ops"] / r["seconds"], r["ops"], r["seconds"], c)
    if need_small:
        # The small tree is compacted into table files: else it would be
        # listed from the memtable and the large one from tables.
        if t.direct:
            t.kv("kv-create", "small", "--list", suite.small_list, "--batch", 1000)
            t.kv("kv-compact", "small")
        else:
            t.small_begin()
            driver(B, ["create", "--list", suite.small_list, "--base", t.small])
            t.small_end()
            if isinstance(t, RocksfsTarget):
                kv_args = ["kv-compact", "--db", t.db_dir("small")]
                if suite.db_options:
                    kv_args += ["--db-options", suite.db_options]
                if suite.cf_options:
                    kv_args += ["--cf-options", suite.cf_options]
                driver(B, kv_args)

    # 3. Space after loading the main tree.
    if need_main and want("space"):
        if t.direct:
            rec("space", du_bytes(t.dbs["main"]))
        elif isinstance(t, RocksfsTarget):
            t.mounts["main"].umount()  # the DB as it rests on disk
            rec("space", du_bytes(t.db_dir("main")))
        elif t.space:
            rec("space", du_bytes(t.main))

    # 4. First access after mount, then warm, for listing, stat and reads.
    # A listing takes milliseconds: it is measured after several mounts.
    for repeat in range(s["rootls_repeats"] if (need_main or need_small) else 1):
        t.cold()
        if need_main:
            pair(suite, t, rec, "rootls_1m", "main", ["ls", "--dir", t.main] if not t.direct
                 else ["kv-ls"])
        if need_small:
            t.small_begin()
            pair(suite, t, rec, "rootls_10k", "small", ["ls", "--dir", t.small]
                 if not t.direct else ["kv-ls"])
            t.small_end()
    if need_main:
        loop_pair(suite, t, rec, "stat", "main", "stat", main_list, 0, sample)
        loop_pair(suite, t, rec, "read100", "main", "read", main_list, sample, sample)
    if need_aux:
        loop_pair(suite, t, rec, "read4k", "aux", "read", suite.k4_list, 0, s["k4_dirs"] * s["k4_per"])
        if t.direct:
            res = t.kv("kv-lsl", "aux", "--dir", "lsdir", "--passes", 2)
            rec("lsl_first", res[0]["seconds"] * 1000, res[0]["ops"], res[0]["seconds"])
            rec("lsl_warm", res[1]["seconds"] * 1000, res[1]["ops"], res[1]["seconds"])
        else:
            for which in ("first", "warm"):
                with t.counting("aux") as c, t.perf("lsl_" + which, "aux"):
                    seconds = timed(["ls", "-l", os.path.join(t.aux, "lsdir")])
                rec("lsl_" + which, seconds * 1000, s["lsdir"], seconds, c, "ls -l")

    # 5. A walk of the whole tree from cold, then 4 reader processes.
    if need_main and (want("find_first") or want("find_warm") or want("readers4")):
        t.cold()
        if t.direct:
            res = t.kv("kv-walk", "main", "--passes", 2)
            rec("find_first", res[0]["seconds"] * 1000, res[0]["ops"], res[0]["seconds"])
            rec("find_warm", res[1]["seconds"] * 1000, res[1]["ops"], res[1]["seconds"])
            r = t.kv("kv-read", "main", "--list", main_list, "--threads", 4,
                     "--random", s["readers_ops"])[0]
            rec("readers4", r["ops"] / r["seconds"], r["ops"], r["seconds"])
        else:
            for which in ("first", "warm"):
                with t.counting("main") as c, t.perf("find_" + which, "main"):
                    seconds = timed(["find", t.main, "-type", "f"])
                rec("find_" + which, seconds * 1000, n, seconds, c, "find")
            (r,), c = fs("main", "readers4", ["read", "--list", main_list, "--base", t.main,
                                              "--procs", 4, "--random", s["readers_ops"]])
            rec("readers4", r["ops"] / r["seconds"], r["ops"], r["seconds"], c)

    # 6. The same reads on a read-only mount.
    if need_main and (want("read100_ro_first") or want("read100_ro_warm")):
        if t.read_only(True):
            try:
                loop_pair(suite, t, rec, "read100_ro", "main", "read", main_list, 2 * sample,
                          sample)
            finally:
                t.read_only(False)

    # 7. unlink of every file of the main tree.
    if need_main:
        if want("unlink"):
            if t.direct:
                r = t.kv("kv-unlink", "main", "--list", main_list)[0]
                rec("unlink", r["ops"] / r["seconds"], r["ops"], r["seconds"])
            else:
                # Every file's name is looked up first (untimed): the mounts
                # remounted above (ext4, the peer, rocksfs) lost their
                # dentries and the floor did not, and an unlink without one
                # is a LOOKUP and an UNLINK. So every target times the
                # same single request per file.
                driver(B, ["stat", "--list", main_list, "--base", t.main])
                (r,), c = fs("main", "unlink", ["unlink", "--list", main_list, "--base", t.main])
                rec("unlink", r["ops"] / r["seconds"], r["ops"], r["seconds"], c)
        if not t.direct and (need_t4 or want("fsmark_1t") or want("fsmark_4t")):
            for entry in os.listdir(t.main):
                run(["rm", "-rf", os.path.join(t.main, entry)])

    # 8. create with 4 writers, then rm -r of that subtree.
    if need_t4:
        if t.direct:
            r = t.kv("kv-create", "main", "--list", suite.generated_t4, "--threads", 4)[0]
            rec("create_4t", r["ops"] / r["seconds"], r["ops"], r["seconds"])
            r = t.kv("kv-rmr", "main", "--dir", "t4")[0]
            rec("rm_r", n / r["seconds"], n, r["seconds"])
        else:
            (r,), c = fs("main", "create_4t", ["create", "--list", suite.generated_t4,
                                               "--base", t.main, "--threads", 4])
            rec("create_4t", r["ops"] / r["seconds"], r["ops"], r["seconds"], c)
            with t.counting("main") as c, t.perf("rm_r", "main"):
                seconds = timed(["rm", "-r", os.path.join(t.main, "t4")])
            rec("rm_r", n / seconds, n, seconds, c, "rm -r")

    # 8b. fs_mark, 1 and 4 writer processes, on a tenth of the main tree's size.
    if not t.direct and (want("fsmark_1t") or want("fsmark_4t")):
        for writers in (1, 4):
            top = os.path.join(t.main, "fm%d" % writers)
            with t.counting("main") as c, t.perf("fsmark_%dt" % writers, "main"):
                seconds, files, tool = fs_mark_tree(suite, top, writers)
            rec("fsmark_%dt" % writers, files / seconds, files, seconds, c, tool)
            run(["rm", "-rf", top])

    # 9. One large file: sequential and random, write and read.
    if need_big:
        big_file(suite, t, rec)


def fs_mark_tree(suite, top_dir, writers):
    """fs_mark -s 100 into a tenth of the main tree's shape under top_dir, one
    invocation per top-level directory; returns (seconds, files, tool).

    fs_mark mkdir()s the target directory before every file: on FUSE that
    EEXIST costs a LOOKUP (the kernel revalidates dentries for exclusive
    creates), so its per-file request count is one above the driver's."""
    s = suite.size
    tops = max(1, s["top"] // 10)
    os.makedirs(top_dir, exist_ok=True)
    if not suite.have_fs_mark:
        return 1.0, 0, "fs_mark missing"
    per_thread = s["mid"] * s["per"] // writers
    files_per_dir = max(1, s["per"] // writers)
    # fs_mark takes directory paths under 40 bytes: reach top_dir by a short
    # symbolic link.
    link = "/tmp/rfb%d" % os.getpid()
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(top_dir, link)
    try:
        start = time.perf_counter()
        for c in range(tops):
            run(client(["fs_mark", "-d", "%s/c%02d" % (link, c), "-D", str(s["mid"]),
                 "-N", str(files_per_dir), "-n", str(per_thread), "-s", "100", "-S", "0",
                 "-k", "-L", "1", "-t", str(writers)]), cwd=suite.scratch)
        seconds = time.perf_counter() - start
    finally:
        os.unlink(link)
    return seconds, per_thread * writers * tops, "fs_mark -t %d" % writers


def pair(suite, t, rec, name, area, args):
    """A listing measured twice: right after mount (first) and again (warm)."""
    if t.direct:
        res = t.kv(args[0], area, "--passes", 2)
        for which, r in zip(("first", "warm"), res):
            rec("%s_%s" % (name, which), r["seconds"] * 1000, r["ops"], r["seconds"])
        return
    for which in ("first", "warm"):
        with t.counting(area) as c, t.perf("%s_%s" % (name, which), area):
            (r,) = driver(suite.bench, args)
        rec("%s_%s" % (name, which), r["seconds"] * 1000, r["ops"], r["seconds"], c)


def loop_pair(suite, t, rec, name, area, op, lst, start, count):
    """A per-file loop over a slice of a list: first access, then warm."""
    if t.direct:
        res = t.kv("kv-" + op, area, "--list", lst, "--start", start, "--count", count,
                   "--passes", 2)
        for which, r in zip(("first", "warm"), res):
            rec("%s_%s" % (name, which), r["ops"] / r["seconds"], r["ops"], r["seconds"])
        return
    base = t.main if area == "main" else t.aux
    for which in ("first", "warm"):
        with t.counting(area) as c, t.perf("%s_%s" % (name, which), area):
            (r,) = driver(suite.bench, [op, "--list", lst, "--base", base, "--start", start,
                                        "--count", count])
        rec("%s_%s" % (name, which), r["ops"] / r["seconds"], r["ops"], r["seconds"], c)


def big_file(suite, t, rec):
    s = suite.size
    size = s["big_mib"] << 20
    jobs = [("big_seqwrite", "write", 1 << 20), ("big_seqread", "read", 1 << 20),
            ("big_randread", "randread", 4096), ("big_randwrite", "randwrite", 4096)]
    if t.direct:
        modes = {"write": "seqwrite", "read": "seqread", "randread": "randread",
                 "randwrite": "randwrite"}
        for name, rw, bs in jobs:
            r = t.kv("kv-bigfile", "aux", "--mode", modes[rw], "--size", size, "--block", bs)[0]
            rec(name, r["bytes"] / r["seconds"] / (1 << 20), r["ops"], r["seconds"])
        return
    path = os.path.join(t.aux, "big")
    for name, rw, bs in jobs:
        if suite.have_fio:
            argv = ["fio", "--name=" + name, "--filename=" + path, "--size=%d" % size,
                    "--bs=%d" % bs, "--rw=" + rw, "--ioengine=psync", "--fallocate=none",
                    "--output-format=json"]
            if "write" in rw:
                argv += ["--end_fsync=1"]
            with t.counting("aux") as c, t.perf(name, "aux"):
                out = run(client(argv), cwd=suite.scratch).stdout
            job = json.loads(out[out.index("{"):])["jobs"][0]
            io = job["write" if "write" in rw else "read"]
            seconds = io["runtime"] / 1000.0
            ops = io["total_ios"] or io["io_bytes"] // bs
            rec(name, io["io_bytes"] / max(seconds, 1e-9) / (1 << 20), ops, seconds, c,
                "fio psync")
        else:
            rec(name, 0.0, 0, 0, None, "fio missing")


# ---- main ---------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a smoke run of seconds (small N)")
    p.add_argument("--out", help="directory for results.json, results.md and profiles")
    p.add_argument("--reps", type=int, help="repetitions (default: 3 full, 1 quick)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply the file counts by this (e.g. 0.1 for a shorter full run)")
    p.add_argument("--targets", default=",".join(TARGETS),
                   help="comma-separated subset of %s" % ",".join(TARGETS))
    p.add_argument("--only", help="comma-separated workloads to record (others still run "
                                  "when needed to build state)")
    p.add_argument("--perf", help="comma-separated workloads to profile on the rocksfs "
                                  "daemon (perf-W.data) and the floor's (perf-floor-W.data) "
                                  "with perf record -g (first repetition)")
    p.add_argument("--pin", choices=["none", "same", "split"], default="none",
                   help="CPU placement: none (unpinned, default), same (clients and daemon "
                        "on CPU 0), split (clients on CPU 0, daemon on CPU 1)")
    p.add_argument("--mount-options", help="extra mount.rocksfs -o options (e.g. threads=2)")
    p.add_argument("--db-options", help="RocksDB DBOptions string for rocksfs and direct")
    p.add_argument("--cf-options", help="RocksDB ColumnFamilyOptions string for both")
    p.add_argument("--build-dir", required=True)
    p.add_argument("--work", help="work directory (default: a fresh one under /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--no-ram", action="store_true",
                   help="do not mount the RAM-backed ext4 image (automatic when not root)")
    args = p.parse_args()
    args.targets = [x for x in args.targets.split(",") if x]
    for x in args.targets:
        if x not in TARGETS:
            p.error("unknown target %s" % x)
    if not args.out:
        args.out = tempfile.mkdtemp(prefix="rocksfs-bench-out-")
    os.makedirs(args.out, exist_ok=True)
    set_placement(args.pin)
    suite = Suite(args)
    log("work directory %s, results in %s" % (suite.work, args.out))
    try:
        suite.run()
    except BenchError as e:
        log("FAILED: %s" % e)
        return 1
    doc = report.build(suite)
    report.save(args.out, doc, report.markdown(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
