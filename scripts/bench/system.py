"""Processes, mounts and the RAM-backed ext4 image for scripts/bench.sh.

Everything here is a thin wrapper over a command (mount, umount, mkfs.ext4,
mount.rocksfs, rocksfs_fuse_floor, passthrough_ll, fusermount3, cc) that
raises BenchError with the command's own message when it fails. Only
processes this module started are ever stopped, by their pid.
"""

import gzip
import json
import os
import resource
import re
import shutil
import signal
import subprocess
import sys
import time


# A counter line of /.rocksfs/stats: "requests.lookup 12" (FUSE requests) or
# "etcd.range: 40" (an etcd mount's round trips).
COUNTER = re.compile(r"(requests\.\w+) (\d+)$|(etcd\.[\w.]+): (\d+)$")


# CPU placement: taskset prefixes for the processes under test (clients:
# the driver and the tools; daemon: mount.rocksfs). Empty: unpinned.
PLACEMENT = {"client": [], "daemon": []}


def set_placement(mode):
    """none: unpinned; same: clients and daemon on CPU 0; split: clients on
    CPU 0, daemon on CPU 1."""
    cpus = {"none": (None, None), "same": ("0", "0"), "split": ("0", "1")}[mode]
    for role, cpu in zip(("client", "daemon"), cpus):
        PLACEMENT[role] = ["taskset", "-c", cpu] if cpu is not None else []


def client(argv):
    return PLACEMENT["client"] + list(argv)


class BenchError(RuntimeError):
    """The benchmark cannot go on: a command failed; the message says which."""


def log(message):
    print("bench: " + message, file=sys.stderr, flush=True)


def run(argv, check=True, capture=True, cwd=None, env=None, timeout=None):
    """Runs argv; returns CompletedProcess (text). Raises BenchError on failure."""
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, timeout=timeout, text=True,
                              stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise BenchError("%s is not installed" % argv[0])
    except subprocess.TimeoutExpired:
        raise BenchError("%s timed out after %s s" % (" ".join(argv), timeout))
    if check and proc.returncode != 0:
        raise BenchError("%s failed (exit %d): %s" % (" ".join(argv), proc.returncode,
                                                      (proc.stderr or "").strip()[-2000:]))
    return proc


def timed(argv, cwd=None, stdout_to=os.devnull):
    """Runs argv with its output to stdout_to; returns its wall time in seconds."""
    argv = client(argv)
    with open(stdout_to, "w") as out:
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, LC_ALL="C"))
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise BenchError("%s failed (exit %d): %s" % (" ".join(argv), proc.returncode,
                                                      proc.stderr.strip()[-2000:]))
    return seconds


def driver(binary, args):
    """Runs the in-process driver; returns its JSON result lines as dicts."""
    proc = run(client([binary] + [str(a) for a in args]))
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    for r in results:
        if r["errors"]:
            raise BenchError("rocksfs_bench %s: %d of %d operations failed" %
                             (" ".join(str(a) for a in args[:1]), r["errors"], r["ops"]))
    return results


def is_root():
    return os.geteuid() == 0


def mounted(path):
    return os.path.ismount(path)


def du_bytes(path):
    """Allocated bytes under path (du -s -B1), files and directories."""
    out = run(["du", "-s", "-B1", path]).stdout
    return int(out.split()[0])


def run_sizes(args, quick, full, **overrides):
    """The sizes of a run: `quick` or `full` (by --quick), with --reps and the
    overrides that are set applied."""
    size = dict(quick if args.quick else full)
    if args.reps:
        size["reps"] = args.reps
    size.update({key: value for key, value in overrides.items() if value})
    return size


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class RamExt4:
    """An ext4 filesystem in an image file on a tmpfs, loop-mounted.

    RAM-backed so that ext4's create rate does not swing with the virtual
    disk. remount() drops its caches (inodes, dentries, pages) for a
    first-access measurement; trim() gives freed blocks back to the tmpfs.
    """

    def __init__(self, work, size_gib, inodes):
        self.ram = os.path.join(work, "ram")
        self.image = os.path.join(self.ram, "ext4.img")
        self.path = os.path.join(work, "ext4")
        self.size_gib = size_gib
        self.inodes = inodes
        self.read_only = False

    def create(self):
        os.makedirs(self.ram, exist_ok=True)
        os.makedirs(self.path, exist_ok=True)
        run(["mount", "-t", "tmpfs", "-o", "size=%dG" % (self.size_gib + 1), "tmpfs", self.ram])
        run(["truncate", "-s", "%dG" % self.size_gib, self.image])
        run(["mkfs.ext4", "-q", "-F", "-N", str(self.inodes), self.image])
        self.mount()

    def mount(self, read_only=False):
        run(["mount", "-o", "loop" + (",ro" if read_only else ""), self.image, self.path])
        self.read_only = read_only

    def umount(self):
        run(["umount", self.path])

    def remount(self, read_only=False):
        self.umount()
        self.mount(read_only)

    def trim(self):
        run(["fstrim", self.path], check=False)

    def destroy(self):
        if mounted(self.path):
            run(["umount", self.path], check=False)
        if mounted(self.ram):
            run(["umount", self.ram], check=False)


class FuseDaemon:
    """A FUSE daemon this process started in the foreground (self.proc) and
    mounted at self.mountpoint: unmounting and killing it."""

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _start(self, argv, what, preexec_fn=None):
        """Starts argv (logging to self.log_path) and waits up to 60 s for
        self.mountpoint to be mounted; `what` names it in errors."""
        with open(self.log_path, "a") as log_file:
            self.proc = subprocess.Popen(PLACEMENT["daemon"] + argv, stdout=log_file,
                                         stderr=log_file, start_new_session=True,
                                         preexec_fn=preexec_fn)
        deadline = time.time() + 60
        while not mounted(self.mountpoint):
            if self.proc.poll() is not None:
                raise BenchError("%s exited with %d (log: %s)" %
                                 (what, self.proc.returncode, self.log_path))
            if time.time() > deadline:
                self.kill()
                raise BenchError("%s did not mount in 60 s" % what)
            time.sleep(0.02)

    def umount(self):
        if self.proc is None:
            return
        run(["fusermount3", "-u", self.mountpoint], check=False)
        try:
            self.proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            self.kill()
        self.proc = None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if mounted(self.mountpoint):
            run(["fusermount3", "-uz", self.mountpoint], check=False)
        self.proc = None


class RocksfsMount(FuseDaemon):
    """One mount.rocksfs daemon (-f, so that this process owns it), or one
    rocksfs_fuse_floor, which takes the same command line and counts its
    requests in the same /.rocksfs/stats (db is then only its name)."""

    def __init__(self, binary, db, mountpoint, options, log_path):
        self.binary = binary
        self.db = db
        self.mountpoint = mountpoint
        self.options = options
        self.log_path = log_path
        self.proc = None
        self.stats_overhead = {}

    def mode_options(self, read_only):
        """ro, or create (the database is made when missing)."""
        return ["ro"] if read_only else ["create"]

    def mount(self, read_only=False):
        os.makedirs(self.mountpoint, exist_ok=True)
        options = list(self.options) + self.mode_options(read_only)
        self._start([self.binary, self.db, self.mountpoint, "-f", "-o", ",".join(options)],
                    "mount.rocksfs " + self.db)
        self.stats_overhead = self._measure_overhead()

    def counters(self):
        """The counters of /.rocksfs/stats: {"requests.lookup": n, ...}, and on
        an etcd mount the engine's round trips {"etcd.range": n, "etcd.txn": n, ...}."""
        counts = {}
        with open(os.path.join(self.mountpoint, ".rocksfs", "stats")) as f:
            for line in f:
                m = COUNTER.match(line.strip())
                if m:
                    counts[m.group(1) or m.group(3)] = int(m.group(2) or m.group(4))
        return counts

    def _measure_overhead(self):
        # What reading the stats file costs, as seen between two reads: it is
        # subtracted from every measured delta (of counters()).
        self.counters()
        best = None
        for _ in range(3):
            a = self.counters()
            b = self.counters()
            d = {k: b[k] - a.get(k, 0) for k in b}
            if best is None or d.get("requests.total", 0) < best.get("requests.total", 0):
                best = d
        return best


class EtcdMount(RocksfsMount):
    """mount.rocksfs (-f) over the key prefix `prefix` of an etcd cluster."""

    def __init__(self, binary, endpoints, prefix, mountpoint, options, log_path):
        super().__init__(binary, "etcd://" + endpoints, mountpoint,
                         list(options) + ["prefix=" + prefix], log_path)

    def mode_options(self, read_only):
        return ["ro"] if read_only else []  # etcd has no create: a prefix exists


class EtcdCluster:
    """Three etcd members on free 127.0.0.1 ports in `directory`, started and
    stopped by scripts/etcd_cluster.sh (which stops only the PIDs it recorded)."""

    def __init__(self, script, directory):
        self.script = script
        self.dir = directory
        self.endpoints = None

    def start(self):
        self.endpoints = run(["bash", self.script, "start", self.dir], timeout=120).stdout.strip()

    def stop(self):
        # Also after a start that failed or was interrupted: the members it
        # started are in the directory's pid files.
        if os.path.isdir(self.dir):
            run(["bash", self.script, "stop", self.dir], check=False, timeout=120)


# Where Debian's libfuse3-dev puts libfuse's examples (compressed or not).
FUSE_EXAMPLES = "/usr/share/doc/libfuse3-dev/examples"


def build_passthrough_ll(out_dir):
    """Compiles libfuse's example passthrough_ll from the source libfuse3-dev
    ships in FUSE_EXAMPLES into out_dir. Returns (binary, None), or (None, the
    reason it cannot be built)."""
    os.makedirs(out_dir, exist_ok=True)
    for name in ("passthrough_ll.c", "passthrough_helpers.h"):
        plain = os.path.join(FUSE_EXAMPLES, name)
        packed = plain + ".gz"
        target = os.path.join(out_dir, name)
        if os.path.exists(plain):
            shutil.copyfile(plain, target)
        elif os.path.exists(packed):
            with gzip.open(packed, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            return None, "%s not found (install libfuse3-dev)" % plain
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or shutil.which("pkg-config") is None:
        return None, "no C compiler or no pkg-config to build passthrough_ll"
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if flags.returncode != 0:
        return None, "pkg-config knows no fuse3: %s" % flags.stderr.strip()
    binary = os.path.join(out_dir, "passthrough_ll")
    proc = subprocess.run([compiler, "-O2", "-Wall", os.path.join(out_dir, "passthrough_ll.c"),
                           "-o", binary] + flags.stdout.split(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        return None, "passthrough_ll does not compile: %s" % proc.stderr.strip()[-500:]
    return binary, None


def raise_open_file_limit():
    """In a child before exec: as many open files as the kernel allows
    (fs.nr_open). passthrough_ll holds a descriptor for every inode the
    kernel knows, so the default limit ends its trees at some thousands of
    files (EMFILE); a tree of more than fs.nr_open files is beyond it."""
    try:
        with open("/proc/sys/fs/nr_open") as f:
            most = int(f.read())
        resource.setrlimit(resource.RLIMIT_NOFILE, (most, most))
    except (OSError, ValueError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class PassthroughMount(FuseDaemon):
    """libfuse's passthrough_ll (-f) serving the directory `source` at
    `mountpoint`: the FUSE peer. Its options are passthrough_ll's own
    (cache=, timeout=) and FUSE mount options (ro)."""

    def __init__(self, binary, source, mountpoint, options, log_path):
        self.binary = binary
        self.source = source
        self.mountpoint = mountpoint
        self.options = options
        self.log_path = log_path
        self.proc = None

    def mount(self, read_only=False):
        os.makedirs(self.mountpoint, exist_ok=True)
        options = ["source=" + self.source] + list(self.options) + (["ro"] if read_only else [])
        self._start([self.binary, "-f", "-o", ",".join(options), self.mountpoint],
                    "passthrough_ll " + self.source, preexec_fn=raise_open_file_limit)


def subtract(after, before, overhead):
    delta = {}
    for k, v in after.items():
        n = v - before.get(k, 0) - overhead.get(k, 0)
        if n > 0:
            delta[k] = n
    return delta


def requests_of(counts):
    """The FUSE request counters of counters(), by request: {"lookup": n, ...}."""
    return {k[len("requests."):]: v for k, v in counts.items() if k.startswith("requests.")}


class Counting:
    """Counts a with-block's FUSE requests (self.requests, without the total)
    and etcd round trips (self.etcd: {"etcd.range": n, ...}, empty on RocksDB)
    from /.rocksfs/stats; mount None counts nothing (both stay None)."""

    def __init__(self, mount):
        self.mount = mount
        self.requests = None
        self.etcd = None

    def __enter__(self):
        if self.mount:
            self.before = self.mount.counters()
        return self

    def __exit__(self, *exc):
        if self.mount and exc[0] is None:
            d = subtract(self.mount.counters(), self.before, self.mount.stats_overhead)
            self.requests = requests_of(d)
            self.requests.pop("total", None)
            self.etcd = {k: v for k, v in d.items() if k.startswith("etcd.")}
        return False


class PerfRecorder:
    """perf record -g on one process for the length of a with-block."""

    def __init__(self, pid, output):
        self.pid = pid
        self.output = output
        self.proc = None

    def __enter__(self):
        if shutil.which("perf") is None:
            log("perf is not installed: no profile")
            return self
        self.proc = subprocess.Popen(["perf", "record", "-g", "-F", "999", "-p", str(self.pid),
                                      "-o", self.output], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        if self.proc:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=120)
            log("profile written to %s (perf report -i %s)" % (self.output, self.output))
        return False
