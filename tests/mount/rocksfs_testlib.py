"""Helpers for rocksfs's mounted tests (python3 standard library only).

A mounted test is a plain unittest script run by ctest (label "mount"):

    import rocksfs_testlib as t
    ...
    if __name__ == "__main__":
        t.require_fuse()          # exit 77 (ctest: skipped) without FUSE
        unittest.main()

    with t.tempdir() as d:
        db = os.path.join(d, "db")
        t.ldb_put(db, b"user/alice", b"hello")       # creates the DB
        with t.Mount(db) as m:
            open(m.path("user/alice"), "rb").read()
        t.ldb_get(db, b"user/alice")

`ldb` is Debian's RocksDB tool (package rocksdb-tools): an independent RocksDB
program, so what it reads back is what any other program would. It cannot
open a database while a read-write mount holds its lock: unmount first.
"""

import contextlib
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

SKIP_EXIT_CODE = 77
MOUNT_TIMEOUT = 20.0


class TestSetupError(RuntimeError):
    """The test environment is broken (not a skip): e.g. mount.rocksfs is not built."""


# --- environment -------------------------------------------------------------

def source_dir():
    return os.environ.get("ROCKSFS_SOURCE_DIR") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir():
    return os.environ.get("ROCKSFS_BUILD_DIR") or os.path.join(source_dir(), "build")


def mount_binary():
    """Path of mount.rocksfs; raises TestSetupError if it is not built."""
    path = os.path.join(build_dir(), "mount.rocksfs")
    if not os.access(path, os.X_OK):
        raise TestSetupError(
            "mount.rocksfs is not built: %s does not exist or is not executable "
            "(run scripts/setup.sh, or set ROCKSFS_BUILD_DIR)" % path)
    return path


def fuse_problem():
    """Why FUSE mounts cannot work here, or None if they can."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist"
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
    except OSError as e:
        return "/dev/fuse cannot be opened read-write: %s" % e.strerror
    os.close(fd)
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not on PATH (install fuse3)"
    return None


def require_fuse():
    """Exit 77 (ctest's SKIP_RETURN_CODE) with "SKIP: reason" when FUSE is unusable."""
    reason = fuse_problem()
    if reason:
        print("SKIP: %s" % reason, file=sys.stderr)
        sys.exit(SKIP_EXIT_CODE)


def skip_unless_fuse():
    """For setUpModule/setUpClass: raise unittest.SkipTest when FUSE is unusable."""
    reason = fuse_problem()
    if reason:
        raise unittest.SkipTest(reason)


# --- mounts ------------------------------------------------------------------

def _unescape_mountinfo(s):
    # /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo.
    out, i = [], 0
    while i < len(s):
        code = s[i + 1:i + 4]
        if s[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def mounts():
    """Mount points currently in /proc/self/mountinfo (does not touch the mounts)."""
    result = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split(" ")
            if len(fields) > 4:
                result.append(_unescape_mountinfo(fields[4]))
    return result


def is_mounted(path):
    """True if something is mounted at path, without calling into the mount
    (a hung or dead FUSE daemon does not make this hang)."""
    return os.path.realpath(path) in mounts()


def fusermount(*args, check=True):
    proc = subprocess.run(["fusermount3", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError("fusermount3 %s failed: %s" % (" ".join(args), proc.stderr.strip()))
    return proc


class Mount:
    """A mount.rocksfs daemon running in the foreground (-f) for one test.

        with Mount(db, options=["ro"]) as m:
            os.listdir(m.root)

    The daemon's stdout and stderr go to a log file (see log()). Leaving the
    with-block unmounts cleanly and raises if the daemon does not exit, or
    exits non-zero; if the block raised, it cleans up by force (lazy unmount,
    then SIGTERM/SIGKILL) and lets the original exception through.
    """

    def __init__(self, db_path, options=(), mountpoint=None, create=False, args=()):
        # A cluster URL (etcd://...) is passed as it is.
        self.db = db_path if "://" in db_path else os.path.abspath(db_path)
        self.options = list(options)
        if create and "create" not in self.options:
            self.options.append("create")
        self.extra_args = list(args)
        self._workdir = tempfile.mkdtemp(prefix="rocksfs-mount-", dir="/tmp")
        if mountpoint is None:
            mountpoint = os.path.join(self._workdir, "mnt")
            os.mkdir(mountpoint)
        self.root = os.path.realpath(mountpoint)
        self.mountpoint = self.root
        self.log_path = os.path.join(self._workdir, "daemon.log")
        self.proc = None
        self.returncode = None

    # -- lifecycle --

    def command(self):
        cmd = [mount_binary(), self.db, self.root, "-f"]
        if self.options:
            cmd += ["-o", ",".join(self.options)]
        return cmd + self.extra_args

    def start(self):
        cmd = self.command()
        with open(self.log_path, "ab") as log:
            log.write(("$ %s\n" % " ".join(cmd)).encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + MOUNT_TIMEOUT
        while True:
            if is_mounted(self.root) and os.path.ismount(self.root):
                return self
            code = self.proc.poll()
            if code is not None:
                self.returncode = code
                log = self._log_for_message()
                self._cleanup_dir()
                raise RuntimeError("mount.rocksfs exited with status %d before mounting %s\n%s"
                                   % (code, self.root, log))
            if time.monotonic() > deadline:
                log = self._log_for_message()
                self._force_cleanup()
                raise RuntimeError("mount.rocksfs did not mount %s within %.0f s\n%s"
                                   % (self.root, MOUNT_TIMEOUT, log))
            time.sleep(0.02)

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                if self.running() or is_mounted(self.root):
                    self.unmount()
            finally:
                self._force_cleanup()
        else:
            self._force_cleanup()
        return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def unmount(self, timeout=MOUNT_TIMEOUT):
        """fusermount3 -u, then wait for the daemon to exit with status 0.
        Returns the exit status; raises with the daemon log otherwise."""
        deadline = time.monotonic() + 5.0
        while is_mounted(self.root):
            proc = fusermount("-u", self.root, check=False)
            if proc.returncode == 0 or not is_mounted(self.root):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("fusermount3 -u %s failed: %s\n%s"
                                   % (self.root, proc.stderr.strip(), self._log_for_message()))
            time.sleep(0.1)
        if self.proc is None:
            return None
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log = self._log_for_message()
            self._force_cleanup()
            raise RuntimeError("mount.rocksfs did not exit within %.0f s of the unmount\n%s"
                               % (timeout, log))
        if self.returncode != 0:
            raise RuntimeError("mount.rocksfs exited with status %d after the unmount\n%s"
                               % (self.returncode, self._log_for_message()))
        return self.returncode

    def kill(self):
        """SIGKILL the daemon (a crash), then fusermount3 -uz the dead mount."""
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.returncode = self.proc.wait()
        if is_mounted(self.root):
            fusermount("-uz", self.root, check=False)

    def send_signal(self, signum):
        """Send a signal to the daemon (e.g. SIGTERM: should unmount cleanly)."""
        self.proc.send_signal(signum)

    def wait(self, timeout=MOUNT_TIMEOUT):
        """Wait for the daemon to exit; returns its status."""
        self.returncode = self.proc.wait(timeout=timeout)
        return self.returncode

    # -- helpers --

    def path(self, rel=""):
        return os.path.join(self.root, rel.lstrip("/"))

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _log_for_message(self):
        text = self.log()
        if len(text) > 20000:
            text = "...\n" + text[-20000:]
        return "--- mount.rocksfs log (%s) ---\n%s--- end of log ---" % (self.log_path, text)

    def _force_cleanup(self):
        if is_mounted(self.root):
            fusermount("-uz", self.root, check=False)
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.returncode is None:
            self.returncode = self.proc.returncode
        self._cleanup_dir()

    def _cleanup_dir(self):
        if os.environ.get("ROCKSFS_KEEP_LOGS"):
            return
        if not any(m == self._workdir or m.startswith(self._workdir + "/") for m in mounts()):
            shutil.rmtree(self._workdir, ignore_errors=True)


# --- ldb (Debian's RocksDB tool) ---------------------------------------------

def fnv1a64(data):
    """64-bit FNV-1a of bytes: rocksfs's name hash (fs/path_codec.h) and
    rocksfs_fsx's content digest."""
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def parse_counters(text):
    """The rocksfs counters ("name value" lines before "# RocksDB") of the
    text of /.rocksfs/stats."""
    head = text.split("# RocksDB", 1)[0]
    counters = {}
    for line in head.splitlines():
        m = re.fullmatch(r"([a-z_.]+) (\d+)", line.strip())
        if m:
            counters[m.group(1)] = int(m.group(2))
    return counters


def counters(mount):
    """The mount's counters now (/.rocksfs/stats)."""
    with open(mount.path(".rocksfs/stats"), "rb") as f:
        return parse_counters(f.read().decode())


def write_file(path, data):
    """Writes bytes to path (one open, write, close)."""
    with open(path, "wb") as f:
        f.write(data)


def read_file(path):
    """The whole content of path, as bytes."""
    with open(path, "rb") as f:
        return f.read()


def _ldb_cmd(db, args, cf):
    cmd = ["ldb", "--db=%s" % os.path.abspath(db)]
    if cf is not None:
        cmd.append("--column_family=%s" % cf)
    return cmd + list(args)


def ldb(db, *args, cf=None, input=None):
    """Run `ldb --db=DB ARGS...` and return its stdout as str; raise with stderr on failure."""
    cmd = _ldb_cmd(db, args, cf)
    proc = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise RuntimeError("%s failed (status %d): %s" % (
            " ".join(cmd), proc.returncode,
            (proc.stderr + proc.stdout).decode("utf-8", "replace").strip()))
    return proc.stdout.decode("utf-8", "surrogateescape")


def _hex(b):
    if isinstance(b, str):
        b = b.encode()
    return "0x" + b.hex()


def _unhex(s):
    s = s.strip()
    if not s.startswith("0x"):
        raise ValueError("not an ldb hex string: %r" % s[:80])
    return bytes.fromhex(s[2:])


def ldb_put(db, key, value, cf=None, create=True):
    """Put one key (bytes) = value (bytes); creates the DB unless create=False."""
    args = ["put", "--hex", _hex(key), _hex(value)]
    if create:
        args.append("--create_if_missing")
    ldb(db, *args, cf=cf)


def ldb_load(db, items, cf=None, create=True):
    """Put many keys at once: items is a dict or an iterable of (key, value) bytes."""
    if isinstance(items, dict):
        items = items.items()
    text = "".join("%s ==> %s\n" % (_hex(k), _hex(v)) for k, v in items)
    args = ["load", "--hex"]
    if create:
        args.append("--create_if_missing")
    out = subprocess.run(_ldb_cmd(db, args, cf), input=text.encode(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = (out.stderr + out.stdout).decode("utf-8", "replace")
    if out.returncode != 0 or "bad lines" in err:
        raise RuntimeError("ldb load into %s failed: %s" % (db, err.strip()))


def ldb_get(db, key, cf=None):
    """The value (bytes) of key, or None if the key does not exist."""
    cmd = _ldb_cmd(db, ["get", "--hex", _hex(key)], cf)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        err = (proc.stderr + proc.stdout).decode("utf-8", "replace")
        if "NotFound" in err:
            return None
        raise RuntimeError("%s failed (status %d): %s" % (" ".join(cmd), proc.returncode, err.strip()))
    return _unhex(proc.stdout.decode())


def ldb_delete(db, key, cf=None):
    ldb(db, "delete", "--hex", _hex(key), cf=cf)


def ldb_scan(db, cf=None):
    """All keys and values as a dict of bytes -> bytes (`ldb scan --hex`,
    whose lines read `0xKEY : 0xVALUE`)."""
    result = {}
    for line in ldb(db, "scan", "--hex", cf=cf).splitlines():
        if not line.strip():
            continue
        k, sep, v = line.partition(" : ")
        if not sep:
            raise RuntimeError("unexpected ldb scan output line: %r" % line[:200])
        result[_unhex(k)] = _unhex(v)
    return result


def ldb_column_families(db):
    """Column family names of the DB (`ldb list_column_families`)."""
    out = ldb(db, "list_column_families")
    start, end = out.find("{"), out.rfind("}")
    if start < 0 or end < start:
        raise RuntimeError("unexpected ldb list_column_families output: %r" % out)
    return [n.strip() for n in out[start + 1:end].split(",") if n.strip()]


# --- temporary directories ---------------------------------------------------

@contextlib.contextmanager
def tempdir(prefix="rocksfs-test-"):
    """A fresh directory under /tmp, removed afterwards. Anything still mounted
    inside it is lazily unmounted first, so the removal never walks into a mount."""
    path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    try:
        yield path
    finally:
        for m in sorted(mounts(), key=len, reverse=True):
            if m == path or m.startswith(path + "/"):
                fusermount("-uz", m, check=False)
        if not os.environ.get("ROCKSFS_KEEP_LOGS"):
            shutil.rmtree(path, ignore_errors=True)


# --- test cases, processes and commands ----------------------------------------

class TempDirTestCase(unittest.TestCase):
    """A TestCase whose every test gets a fresh directory self.dir (removed
    afterwards, with anything still mounted inside it lazily unmounted)."""

    def setUp(self):
        super().setUp()
        self._tempdir = tempdir()
        self.dir = self._tempdir.__enter__()
        self.addCleanup(self._tempdir.__exit__, None, None, None)


class DbTestCase(TempDirTestCase):
    """A TempDirTestCase with a database path self.db (not created) and an
    errno assertion."""

    def setUp(self):
        super().setUp()
        self.db = os.path.join(self.dir, "db")

    def assertErrno(self, code, func, *args, **kwargs):
        """func(*args, **kwargs) fails with OSError `code`."""
        with self.assertRaises(OSError, msg="%s%r did not fail" % (func.__name__, args)) as cm:
            func(*args, **kwargs)
        self.assertEqual(cm.exception.errno, code, "%s%r: %s, expected %s" % (
            func.__name__, args, cm.exception, errno.errorcode[code]))


def run(cmd, check=True, input=None, timeout=120, **kwargs):
    """subprocess.run with stdout/stderr captured as bytes; raises with both
    streams when check and the command fails."""
    proc = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, **kwargs)
    if check and proc.returncode != 0:
        raise RuntimeError("%s failed (status %d):\n%s%s" % (
            " ".join(map(str, cmd)), proc.returncode,
            proc.stdout.decode("utf-8", "replace")[-4000:],
            proc.stderr.decode("utf-8", "replace")[-4000:]))
    return proc


def _pid_state(pid):
    """The state letter of /proc/PID/stat ('Z' for a zombie), or None if gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat[stat.rfind(b")") + 2:][:1].decode()


def pid_alive(pid):
    """True while pid runs (a zombie, which only waits for its parent to reap
    it, counts as exited)."""
    state = _pid_state(pid)
    return state is not None and state != "Z"


def daemon_pids(mountpoint):
    """Live mount.rocksfs processes (also when started as mount.fuse.rocksfs
    by mount(8)) whose command line names mountpoint, found through /proc."""
    want = os.path.realpath(mountpoint).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if not argv or b"rocksfs" not in os.path.basename(argv[0]):
            continue
        if any(a == want or (a.startswith(b"/") and os.path.realpath(a) == want)
               for a in argv[1:]) and pid_alive(int(entry)):
            pids.append(int(entry))
    return pids


def wait_until(predicate, timeout=MOUNT_TIMEOUT, interval=0.05):
    """Poll predicate() until it is true (returns True) or timeout (returns False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def force_unmount(mountpoint):
    """Cleanup for mounts not made by Mount (detached, or through mount(8)):
    lazy unmount, then SIGTERM/SIGKILL whatever daemon still serves it."""
    pids = daemon_pids(mountpoint)
    if is_mounted(mountpoint):
        fusermount("-uz", mountpoint, check=False)
    for pid in pids:
        if not wait_until(lambda: not pid_alive(pid), timeout=5):
            for signum in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(pid, signum)
                except ProcessLookupError:
                    break
                if wait_until(lambda: not pid_alive(pid), timeout=5):
                    break
