#!/usr/bin/env python3
"""POSIX parity harness: the same system calls on a rocksfs mount and on ext4.

Each case is a small function that drives one behaviour through a Recorder:
every call's result or errno, file contents, listings, the stat fields that
must agree (type, permission bits, uid, gid, size, and st_nlink for
non-directories) and whether mtime/ctime changed (never their exact values,
except times set explicitly). The case runs twice, in a fresh directory on the
mount and in one on ext4, and the two records are compared entry by entry.

    scripts/posix_parity.py --mount /mnt/kv            # an existing rocksfs mount
    scripts/posix_parity.py --mount-binary build/mount.rocksfs   # mounts a fresh DB itself

The reference is a directory under /tmp when /tmp is ext4, otherwise a small
ext4 image mounted on a loop device (root only). Cases whose name ends in
"_as_nobody" run parts as uid/gid 65534 (forked, setuid): they need root, and
a mount with -o allow_other,default_permissions (otherwise they are skipped).

Prints one line per case (OK, ALLOWED, DIFF, SKIP) and exits 0 when every
difference is in ALLOWED_DIFFERENCES below, 1 otherwise, 2 on setup errors.
Every allow-list entry quotes the README line (section "Differences from
ext4") that explains it; the harness checks the quote is still there.

Python 3 standard library only.
"""

import argparse
import ctypes
import ctypes.util
import errno
import fnmatch
import os
import pickle
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import traceback

# --- allow-list -----------------------------------------------------------------
#
# (case, observation label glob) -> the README line that explains the
# difference. A case whose differences are all listed here shows ALLOWED.

ALLOWED_DIFFERENCES = {
    # RENAME_EXCHANGE swaps two keys' values, never two subtrees.
    ("rename_exchange_dirs", "*"): "RENAME_EXCHANGE works for files only",
    ("rename_exchange_file_dir", "exchange *"): "RENAME_EXCHANGE works for files only",
    # The kernel holds a node per name of a hard-linked file.
    ("rename_onto_another_link", "listdir"): "A rename of one name of a hard-linked file onto",
    ("rename_onto_another_link", "stat g"): "A rename of one name of a hard-linked file onto",
    # Only user.* exists.
    ("xattr_other_namespaces", "*"): "Extended attributes exist in the user.* namespace only",
    # ext4 keeps all of a file's xattrs in one 4 KiB block.
    ("xattr_size_limits", "set 3000+3000"): "values may be up to 64 KiB each",
    ("xattr_size_limits", "set 64KiB"): "values may be up to 64 KiB each",
    ("xattr_size_limits", "list after big"): "values may be up to 64 KiB each",
    # Escaped names (README "Keys and paths").
    ("names_unusual", "create '%{41}'"): "A name that holds an escape sequence",
    ("names_unusual", "read '%{41}'"): "A name that holds an escape sequence",
    ("names_unusual", "listdir"): "A name that holds an escape sequence",
    ("names_unusual", "create invalid UTF-8"): "names that are not valid UTF-8",
    ("names_unusual", "listdir bytes"): "names that are not valid UTF-8",
}

# --- system calls not in os ------------------------------------------------------

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
XATTR_CREATE = 1
XATTR_REPLACE = 2


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _check(rc):
    if rc < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return rc


def renameat2(src, dst, flags):
    _libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                ctypes.c_uint]
    return _check(_libc.renameat2(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(dst), flags))


def utimensat(path, atime, mtime, nofollow=False):
    """atime/mtime: (sec, nsec), or UTIME_NOW / UTIME_OMIT."""
    def ts(t):
        return _Timespec(0, t) if isinstance(t, int) else _Timespec(*t)
    times = (_Timespec * 2)(ts(atime), ts(mtime))
    flags = AT_SYMLINK_NOFOLLOW if nofollow else 0
    return _check(_libc.utimensat(AT_FDCWD, os.fsencode(path), times, flags))


def getxattr_sized(path, name, size):
    """getxattr(2) with a caller-chosen buffer size: the length for size 0."""
    buf = ctypes.create_string_buffer(max(size, 1))
    n = _check(_libc.getxattr(os.fsencode(path), name.encode(), buf, ctypes.c_size_t(size)))
    return n if size == 0 else buf.raw[:n]


def listxattr_sized(path, size):
    buf = ctypes.create_string_buffer(max(size, 1))
    n = _check(_libc.listxattr(os.fsencode(path), buf, ctypes.c_size_t(size)))
    return n if size == 0 else buf.raw[:n]


# --- recording -------------------------------------------------------------------

NOBODY = 65534
TIME_STEP = 0.012  # > ext4's coarse clock tick, so a change shows as a change


def _kind(mode):
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"),
                       (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "chr"), (stat.S_ISBLK, "blk"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "?"


def stat_fields(st):
    """The fields that must agree with ext4."""
    fields = {"type": _kind(st.st_mode), "perm": oct(stat.S_IMODE(st.st_mode)),
              "uid": st.st_uid, "gid": st.st_gid}
    if not stat.S_ISDIR(st.st_mode):
        # Directory sizes and link counts are filesystem-specific.
        fields["size"] = st.st_size
        fields["nlink"] = st.st_nlink
    return fields


class Recorder:
    """Runs calls under root (a fresh directory) and records what they give."""

    def __init__(self, root):
        self.root = root
        self.obs = []       # (label, value)
        self._marks = {}

    def p(self, *names):
        return os.path.join(self.root, *names)

    def note(self, label, value):
        self.obs.append((label, value))

    def call(self, label, fn, *args, result=True, **kwargs):
        """Records fn's result (or only 'ok' with result=False; an fd with
        result='fd') or its errno. Returns the result, or None on error."""
        try:
            value = fn(*args, **kwargs)
        except OSError as e:
            self.note(label, errno.errorcode.get(e.errno, "errno %d" % e.errno))
            return None
        if result == "fd":
            self.note(label, "fd")
        elif result:
            self.note(label, value)
        else:
            self.note(label, "ok")
        return value if value is not None else True

    def stat(self, label, path, follow=True):
        try:
            st = os.stat(path, follow_symlinks=follow)
        except OSError as e:
            self.note(label, errno.errorcode.get(e.errno, "errno %d" % e.errno))
            return None
        self.note(label, stat_fields(st))
        return st

    def fstat(self, label, fd):
        st = os.fstat(fd)
        self.note(label, stat_fields(st))
        return st

    def read(self, label, path):
        def slurp():
            with open(path, "rb") as f:
                return f.read()
        return self.call(label, slurp)

    def listdir(self, label, path):
        return self.call(label, lambda: sorted(n for n in os.listdir(path) if n != "lost+found"))

    def mark(self, path, follow=True):
        """Remembers path's times; the next change() says what moved since."""
        st = os.stat(path, follow_symlinks=follow)
        self._marks[path] = (st.st_mtime_ns, st.st_ctime_ns, follow)
        time.sleep(TIME_STEP)

    def change(self, label, path):
        mtime, ctime, follow = self._marks[path]
        st = os.stat(path, follow_symlinks=follow)
        moved = []
        if st.st_mtime_ns != mtime:
            moved.append("mtime")
        if st.st_ctime_ns != ctime:
            moved.append("ctime")
        self.note(label, "+".join(moved) or "none")

    def times(self, label, path, follow=True):
        st = os.stat(path, follow_symlinks=follow)
        self.note(label, {"atime": st.st_atime_ns, "mtime": st.st_mtime_ns})

    def as_nobody(self, label, fn):
        """Runs fn(recorder) in a child process with uid/gid 65534 and no
        supplementary groups; its observations join this record."""
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.close(read_end)
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                child = Recorder(self.root)
                child._marks = dict(self._marks)
                try:
                    fn(child)
                    obs = child.obs
                except Exception:  # noqa: BLE001 - reported to the parent
                    obs = child.obs + [("exception", traceback.format_exc(limit=3))]
                data = pickle.dumps(obs)
                with os.fdopen(write_end, "wb") as out:
                    out.write(data)
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as f:
            data = f.read()
        os.waitpid(pid, 0)
        obs = pickle.loads(data) if data else [("child", "failed")]
        for child_label, value in obs:
            self.note("%s: %s" % (label, child_label), value)


def write_file(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def create(path, mode=0o644):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, mode))


# --- cases: open flags -------------------------------------------------------------

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


@case
def open_creat_new(r):
    fd = r.call("open O_CREAT", os.open, r.p("f"), os.O_WRONLY | os.O_CREAT, 0o640, result="fd")
    r.call("write", os.write, fd, b"hello")
    r.call("close", os.close, fd)
    r.stat("stat", r.p("f"))
    r.read("read", r.p("f"))
    r.listdir("listdir", r.root)


@case
def open_creat_mode_bits(r):
    for mode in (0o7777, 0o4755, 0o2644, 0o1600, 0o000):
        name = "f%o" % mode
        fd = r.call("create %o" % mode, os.open, r.p(name), os.O_WRONLY | os.O_CREAT, mode,
                    result="fd")
        if fd:
            os.close(fd)
        r.stat("stat %o" % mode, r.p(name))
    r.call("mkdir 7777", os.mkdir, r.p("d"), 0o7777)
    r.stat("stat dir", r.p("d"))


@case
def open_creat_existing_keeps_contents(r):
    write_file(r.p("f"), b"old contents")
    fd = r.call("open O_CREAT", os.open, r.p("f"), os.O_RDWR | os.O_CREAT, 0o600, result="fd")
    r.call("read", os.read, fd, 100)
    os.close(fd)
    r.stat("stat", r.p("f"))


@case
def open_excl(r):
    write_file(r.p("f"), b"x")
    os.mkdir(r.p("d"))
    r.call("O_EXCL on file", os.open, r.p("f"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, result="fd")
    r.call("O_EXCL on dir", os.open, r.p("d"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, result="fd")
    fd = r.call("O_EXCL new", os.open, r.p("g"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644,
                result="fd")
    if fd:
        os.close(fd)
    r.read("g", r.p("g"))
    os.symlink("dangling", r.p("l"))
    r.call("O_EXCL on symlink", os.open, r.p("l"), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
           result="fd")


@case
def open_trunc(r):
    write_file(r.p("f"), b"some old contents")
    r.mark(r.p("f"))
    fd = r.call("open O_TRUNC", os.open, r.p("f"), os.O_WRONLY | os.O_TRUNC, result="fd")
    r.call("write", os.write, fd, b"new")
    os.close(fd)
    r.read("read", r.p("f"))
    r.change("times", r.p("f"))
    r.stat("stat", r.p("f"))


@case
def open_trunc_without_write(r):
    write_file(r.p("f"), b"some old contents")
    r.mark(r.p("f"))
    fd = os.open(r.p("f"), os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    r.read("read", r.p("f"))
    r.change("times", r.p("f"))
    r.stat("stat", r.p("f"))


@case
def open_trunc_read_only(r):
    # Linux truncates on O_RDONLY|O_TRUNC too (POSIX leaves it undefined).
    write_file(r.p("f"), b"contents")
    fd = r.call("open", os.open, r.p("f"), os.O_RDONLY | os.O_TRUNC, result="fd")
    r.call("read", os.read, fd, 100)
    os.close(fd)
    r.read("after", r.p("f"))


@case
def open_append(r):
    write_file(r.p("f"), b"start;")
    fd = os.open(r.p("f"), os.O_WRONLY | os.O_APPEND)
    r.call("write 1", os.write, fd, b"one;")
    os.lseek(fd, 0, os.SEEK_SET)
    r.call("write after lseek 0", os.write, fd, b"two;")
    r.call("pwrite at 0", os.pwrite, fd, b"three;", 0)  # Linux: appends anyway
    os.close(fd)
    r.read("read", r.p("f"))
    fd = os.open(r.p("f"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, b"four")
    os.close(fd)
    r.read("read again", r.p("f"))


@case
def open_errors(r):
    write_file(r.p("f"), b"x")
    os.mkdir(r.p("d"))
    r.call("missing", os.open, r.p("missing"), os.O_RDONLY, result="fd")
    r.call("missing parent", os.open, r.p("nodir", "f"), os.O_WRONLY | os.O_CREAT, 0o644,
           result="fd")
    r.call("file as dir", os.open, r.p("f", "x"), os.O_RDONLY, result="fd")
    r.call("create under file", os.open, r.p("f", "x"), os.O_WRONLY | os.O_CREAT, 0o644,
           result="fd")
    r.call("trailing slash on file", os.open, r.p("f") + "/", os.O_RDONLY, result="fd")
    r.call("dir for writing", os.open, r.p("d"), os.O_WRONLY, result="fd")
    r.call("O_CREAT on dir", os.open, r.p("d"), os.O_WRONLY | os.O_CREAT, 0o644, result="fd")
    r.call("O_DIRECTORY on file", os.open, r.p("f"), os.O_RDONLY | os.O_DIRECTORY, result="fd")
    fd = r.call("O_DIRECTORY on dir", os.open, r.p("d"), os.O_RDONLY | os.O_DIRECTORY,
                result="fd")
    if fd:
        r.call("read dir fd", os.read, fd, 10)
        os.close(fd)


# --- cases: read and write ------------------------------------------------------------

@case
def read_write_offsets(r):
    fd = os.open(r.p("f"), os.O_RDWR | os.O_CREAT, 0o644)
    r.call("write", os.write, fd, b"0123456789")
    r.call("read at end", os.read, fd, 10)
    r.call("pread 3@2", os.pread, fd, 3, 2)
    r.call("pread past end", os.pread, fd, 5, 20)
    r.call("pwrite 4", os.pwrite, fd, b"ab", 4)
    r.call("lseek cur", os.lseek, fd, 0, os.SEEK_CUR)
    r.call("lseek set", os.lseek, fd, 1, os.SEEK_SET)
    r.call("read", os.read, fd, 4)
    os.close(fd)
    r.read("contents", r.p("f"))
    r.stat("stat", r.p("f"))
    fd = os.open(r.p("f"), os.O_RDONLY)
    r.call("lseek end of closed file", os.lseek, fd, 0, os.SEEK_END)
    r.call("lseek SEEK_DATA", os.lseek, fd, 0, os.SEEK_DATA)
    r.call("lseek SEEK_HOLE", os.lseek, fd, 0, os.SEEK_HOLE)
    os.close(fd)


@case
def seek_end_before_close(r):
    fd = os.open(r.p("f"), os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"0123456789")
    r.call("lseek end", os.lseek, fd, 0, os.SEEK_END)
    os.close(fd)
    r.stat("stat", r.p("f"))


@case
def fallocate(r):
    fd = os.open(r.p("f"), os.O_RDWR | os.O_CREAT, 0o644)
    r.call("posix_fallocate", os.posix_fallocate, fd, 0, 100)
    os.close(fd)
    r.stat("stat", r.p("f"))


@case
def pwrite_hole(r):
    fd = os.open(r.p("f"), os.O_WRONLY | os.O_CREAT, 0o644)
    r.call("pwrite far", os.pwrite, fd, b"end", 10000)
    os.close(fd)
    r.read("contents", r.p("f"))
    r.stat("stat", r.p("f"))


@case
def write_changes_times(r):
    write_file(r.p("f"), b"v1")
    r.mark(r.p("f"))
    fd = os.open(r.p("f"), os.O_WRONLY)
    os.write(fd, b"v2")
    os.close(fd)
    r.change("times after write", r.p("f"))
    r.mark(r.p("f"))
    fd = os.open(r.p("f"), os.O_RDONLY)
    os.read(fd, 10)
    os.close(fd)
    r.change("times after read", r.p("f"))
    r.mark(r.p("f"))
    fd = os.open(r.p("f"), os.O_WRONLY)
    os.close(fd)
    r.change("times after open for writing without writes", r.p("f"))


@case
def write_visible_before_close(r):
    write_file(r.p("f"), b"old")
    r.mark(r.p("f"))
    fd = os.open(r.p("f"), os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"+more")
    r.note("fstat size while open", os.fstat(fd).st_size)
    r.note("stat size while open", os.stat(r.p("f")).st_size)
    r.change("times while open", r.p("f"))
    os.close(fd)
    r.stat("stat after close", r.p("f"))
    r.read("contents", r.p("f"))


@case
def read_own_writes_before_close(r):
    fd = os.open(r.p("f"), os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"written")
    r.call("pread own bytes", os.pread, fd, 100, 0)
    os.close(fd)


@case
def read_through_second_descriptor(r):
    write_file(r.p("f"), b"committed")
    writer = os.open(r.p("f"), os.O_RDWR)
    reader = os.open(r.p("f"), os.O_RDONLY)
    os.pwrite(writer, b"CHANGED", 0)
    r.call("pread other fd", os.pread, reader, 100, 0)
    r.note("fstat other fd", os.fstat(reader).st_size)
    os.pwrite(writer, b"+grown", 9)
    r.call("pread after growth", os.pread, reader, 100, 0)
    late = os.open(r.p("f"), os.O_RDONLY)
    r.call("pread fd opened later", os.pread, late, 100, 0)
    os.close(late)
    os.close(writer)
    os.close(reader)
    r.read("contents", r.p("f"))


@case
def append_writers_four_processes(r):
    create(r.p("log"))
    pids = []
    for i in range(4):
        pid = os.fork()
        if pid == 0:
            try:
                fd = os.open(r.p("log"), os.O_WRONLY | os.O_APPEND)
                for j in range(50):
                    os.write(fd, b"writer %d line %02d\n" % (i, j))
                os.close(fd)
            finally:
                os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    lines = read_file(r.p("log")).splitlines()
    r.note("lines", len(lines))
    r.note("sorted lines", sorted(lines) == sorted(b"writer %d line %02d" % (i, j)
                                                   for i in range(4) for j in range(50)))


@case
def disjoint_pwrite_writers(r):
    write_file(r.p("f"), b"." * 8192)
    fds = [os.open(r.p("f"), os.O_WRONLY) for _ in range(2)]
    os.pwrite(fds[0], b"A" * 4096, 0)
    os.pwrite(fds[1], b"B" * 4096, 4096)
    os.close(fds[1])  # the second closes first: the first's bytes must survive it
    os.close(fds[0])
    data = read_file(r.p("f"))
    r.note("regions", (data[:4096] == b"A" * 4096, data[4096:] == b"B" * 4096))


@case
def ftruncate_then_fstat(r):
    write_file(r.p("f"), b"0123456789")
    fd = os.open(r.p("f"), os.O_RDWR)
    other = os.open(r.p("f"), os.O_RDONLY)
    r.mark(r.p("f"))
    r.call("ftruncate grow", os.ftruncate, fd, 100)
    r.note("fstat", os.fstat(fd).st_size)
    r.note("fstat other fd", os.fstat(other).st_size)
    r.note("stat", os.stat(r.p("f")).st_size)
    r.change("times", r.p("f"))
    r.call("ftruncate shrink", os.ftruncate, fd, 4)
    r.call("pread other fd", os.pread, other, 100, 0)
    os.close(fd)
    os.close(other)
    r.stat("stat after close", r.p("f"))


@case
def mmap_shared_write_seen_by_read(r):
    import mmap
    write_file(r.p("f"), b"0123456789")
    fd = os.open(r.p("f"), os.O_RDWR)
    m = mmap.mmap(fd, 0, flags=mmap.MAP_SHARED)
    m[0:4] = b"abcd"
    reader = os.open(r.p("f"), os.O_RDONLY)
    r.call("pread while mapped", os.pread, reader, 100, 0)
    r.call("msync", m.flush)
    m.close()
    os.close(fd)
    os.close(reader)
    r.read("read back", r.p("f"))
    with open(r.p("f"), "r+b") as f:
        m = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED)
        m[4:6] = b"EF"
        m.close()  # munmap, then close: no msync
    r.read("read back after munmap", r.p("f"))


@case
def fsync_and_fdatasync(r):
    fd = os.open(r.p("f"), os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"data")
    r.call("fsync", os.fsync, fd)
    r.call("fdatasync", os.fdatasync, fd)
    r.stat("stat after fsync", r.p("f"))
    os.close(fd)
    dfd = os.open(r.root, os.O_RDONLY | os.O_DIRECTORY)
    r.call("fsync dir", os.fsync, dfd)
    os.close(dfd)


@case
def mmap_read(r):
    import mmap
    write_file(r.p("f"), b"mapped bytes" * 100)
    with open(r.p("f"), "rb") as f:
        m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        r.note("mapped", m[:24])
        m.close()
    with open(r.p("f"), "r+b") as f:
        m = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE)
        m[0:6] = b"MAPPED"
        r.note("private copy", m[:12])
        m.close()
    r.read("unchanged", r.p("f"))


@case
def mmap_shared_write(r):
    import mmap
    write_file(r.p("f"), b"0123456789")
    with open(r.p("f"), "r+b") as f:
        try:
            m = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED)
        except OSError as e:
            r.note("mmap shared", errno.errorcode.get(e.errno, "errno %d" % e.errno))
        else:
            r.note("mmap shared", "ok")
            m[0:4] = b"abcd"
            m.close()
    r.read("read back", r.p("f"))


# --- cases: truncate --------------------------------------------------------------------

@case
def truncate_path(r):
    write_file(r.p("f"), b"0123456789")
    r.mark(r.p("f"))
    r.call("shrink", os.truncate, r.p("f"), 4)
    r.read("after shrink", r.p("f"))
    r.change("times", r.p("f"))
    r.call("extend", os.truncate, r.p("f"), 8)
    r.read("after extend", r.p("f"))
    r.stat("stat", r.p("f"))
    r.mark(r.p("f"))
    r.call("same size", os.truncate, r.p("f"), 8)
    r.change("times after same size", r.p("f"))


@case
def truncate_errors(r):
    os.mkdir(r.p("d"))
    write_file(r.p("f"), b"x")
    r.call("dir", os.truncate, r.p("d"), 0)
    r.call("missing", os.truncate, r.p("missing"), 0)
    r.call("negative", os.truncate, r.p("f"), -1)
    fd = os.open(r.p("f"), os.O_RDONLY)
    r.call("ftruncate read-only fd", os.ftruncate, fd, 0)
    os.close(fd)


@case
def ftruncate_then_write(r):
    write_file(r.p("f"), b"abcdefghij")
    fd = os.open(r.p("f"), os.O_RDWR)
    r.call("ftruncate", os.ftruncate, fd, 3)
    r.call("pread", os.pread, fd, 100, 0)
    r.call("pwrite", os.pwrite, fd, b"Z", 5)
    os.close(fd)
    r.read("contents", r.p("f"))
    r.stat("stat", r.p("f"))


# --- cases: unlink -----------------------------------------------------------------------

@case
def unlink_file(r):
    write_file(r.p("f"), b"x")
    os.mkdir(r.p("d"))
    r.call("unlink", os.unlink, r.p("f"))
    r.stat("stat", r.p("f"))
    r.call("again", os.unlink, r.p("f"))
    r.call("dir", os.unlink, r.p("d"))
    r.call("missing parent", os.unlink, r.p("nodir", "f"))
    r.listdir("listdir", r.root)


@case
def unlink_open_file(r):
    write_file(r.p("f"), b"still here")
    fd = os.open(r.p("f"), os.O_RDWR)
    r.call("unlink", os.unlink, r.p("f"))
    r.listdir("listdir", r.root)
    r.call("read", os.pread, fd, 100, 0)
    r.call("write", os.pwrite, fd, b"STILL", 0)
    r.call("read again", os.pread, fd, 100, 0)
    st = os.fstat(fd)
    r.note("fstat nlink", st.st_nlink)
    r.note("fstat mode", oct(st.st_mode))
    os.close(fd)
    write_file(r.p("g"), b"g", 0o640)
    os.chown(r.p("g"), 5, 6)
    fd = os.open(r.p("g"), os.O_RDONLY)
    r.mark(r.p("g"))
    before = os.fstat(fd)
    os.unlink(r.p("g"))
    after = os.fstat(fd)
    r.fstat("fstat after unlink", fd)
    r.note("ctime changed by unlink", after.st_ctime_ns != before.st_ctime_ns)
    r.note("mtime kept by unlink", after.st_mtime_ns == before.st_mtime_ns)
    write_file(r.p("g"), b"new file, same name", 0o600)
    r.fstat("fstat after another file takes the name", fd)
    os.close(fd)
    r.stat("stat after close", r.p("f"))
    r.listdir("listdir after close", r.root)
    write_file(r.p("f"), b"new")
    r.read("recreated", r.p("f"))


@case
def unlink_open_file_fchmod(r):
    write_file(r.p("f"), b"x", 0o600)
    fd = os.open(r.p("f"), os.O_RDWR)
    os.unlink(r.p("f"))
    r.call("fchmod", os.fchmod, fd, 0o640)
    r.note("fstat after fchmod", oct(os.fstat(fd).st_mode))
    r.call("fchown", os.fchown, fd, 3, 4)
    r.fstat("fstat after fchown", fd)
    r.call("fsetxattr", os.setxattr, fd, "user.k", b"v")
    r.call("fgetxattr", os.getxattr, fd, "user.k")
    r.call("flistxattr", os.listxattr, fd)
    r.call("fremovexattr", os.removexattr, fd, "user.k")
    r.call("flistxattr after remove", os.listxattr, fd)
    os.close(fd)


# --- cases: directories -------------------------------------------------------------------

@case
def mkdir_and_rmdir(r):
    r.call("mkdir", os.mkdir, r.p("d"), 0o750)
    r.stat("stat", r.p("d"))
    r.call("mkdir again", os.mkdir, r.p("d"))
    write_file(r.p("f"), b"x")
    r.call("mkdir over file", os.mkdir, r.p("f"))
    r.call("mkdir under file", os.mkdir, r.p("f", "d"))
    r.call("mkdir missing parent", os.mkdir, r.p("a", "b"))
    r.call("rmdir", os.rmdir, r.p("d"))
    r.call("rmdir again", os.rmdir, r.p("d"))
    r.call("rmdir file", os.rmdir, r.p("f"))
    r.call("rmdir dot", os.rmdir, r.p("."))
    r.listdir("listdir", r.root)


@case
def rmdir_not_empty(r):
    os.makedirs(r.p("d", "sub"))
    write_file(r.p("d", "x"), b"x")
    r.call("rmdir with file and dir", os.rmdir, r.p("d"))
    os.unlink(r.p("d", "x"))
    r.call("rmdir with dir", os.rmdir, r.p("d"))
    r.call("rmdir sub", os.rmdir, r.p("d", "sub"))
    r.call("rmdir now empty", os.rmdir, r.p("d"))
    r.listdir("listdir", r.root)


@case
def empty_dirs_and_listing(r):
    os.makedirs(r.p("a", "b", "c"))
    write_file(r.p("a", "f"), b"1")
    r.listdir("a", r.p("a"))
    os.unlink(r.p("a", "f"))
    r.listdir("a after unlink", r.p("a"))
    r.stat("a", r.p("a"))
    r.listdir("a/b", r.p("a", "b"))
    fd = os.open(r.p("a"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        r.call("stat relative to dir fd", os.stat, "b", dir_fd=fd, result=False)
    finally:
        os.close(fd)


@case
def dir_times_on_entry_change(r):
    os.mkdir(r.p("d"))
    r.mark(r.p("d"))
    create(r.p("d", "f"))
    r.change("after create", r.p("d"))
    r.mark(r.p("d"))
    os.unlink(r.p("d", "f"))
    r.change("after unlink", r.p("d"))


@case
def dir_times_on_each_namespace_op(r):
    a, b = r.p("a"), r.p("b")
    os.mkdir(a)
    os.mkdir(b)
    write_file(r.p("a", "f"), b"x")
    ops = [
        ("mkdir", [a], lambda: os.mkdir(r.p("a", "sub"))),
        ("rmdir", [a], lambda: os.rmdir(r.p("a", "sub"))),
        ("symlink", [a], lambda: os.symlink("t", r.p("a", "l"))),
        ("mkfifo", [a], lambda: os.mkfifo(r.p("a", "p"))),
        ("link", [a], lambda: os.link(r.p("a", "f"), r.p("a", "g"))),
        ("rename in place", [a], lambda: os.rename(r.p("a", "g"), r.p("a", "h"))),
        ("rename across", [a, b], lambda: os.rename(r.p("a", "h"), r.p("b", "h"))),
        ("rename dir across", [a, b], lambda: (os.mkdir(r.p("a", "d")),
                                              os.rename(r.p("a", "d"), r.p("b", "d")))),
        ("unlink", [b], lambda: os.unlink(r.p("b", "h"))),
    ]
    for label, dirs, fn in ops:
        for d in dirs:
            r.mark(d)
        fn()
        for d in dirs:
            r.change("%s: %s" % (label, os.path.basename(d)), d)


@case
def deep_nesting(r):
    parts = ["level%02d" % i for i in range(40)]
    path = r.p(*parts)
    r.call("makedirs 40", os.makedirs, path)
    write_file(os.path.join(path, "leaf"), b"deep")
    r.read("read leaf", os.path.join(path, "leaf"))
    r.listdir("list level 20", r.p(*parts[:20]))
    r.stat("stat leaf", os.path.join(path, "leaf"))
    r.call("rename top", os.rename, r.p(parts[0]), r.p("moved"))
    r.read("read leaf after rename", r.p("moved", *parts[1:], "leaf"))
    r.call("rmtree", shutil.rmtree, r.p("moved"))
    r.listdir("listdir", r.root)


# --- cases: names ------------------------------------------------------------------------------

@case
def names_255_and_256(r):
    ok = "n" * 255
    long = "n" * 256
    r.call("create 255", write_file, r.p(ok), b"x")
    r.stat("stat 255", r.p(ok))
    r.listdir("listdir", r.root)
    r.call("create 256", write_file, r.p(long), b"x")
    r.call("stat 256", os.stat, r.p(long), result=False)
    r.call("mkdir 256", os.mkdir, r.p(long))
    r.call("mkdir 255", os.mkdir, r.p("d" * 255))
    r.call("symlink 256", os.symlink, "t", r.p(long))
    r.call("rename to 256", os.rename, r.p(ok), r.p(long))
    r.call("rename 255 to 255", os.rename, r.p(ok), r.p("m" * 255))
    r.call("unlink 256", os.unlink, r.p(long))
    r.call("unlink 255", os.unlink, r.p("m" * 255))
    utf8 = "é" * 127 + "x"  # 255 bytes
    r.call("create 255-byte UTF-8", write_file, r.p(utf8), b"u")
    r.call("create 256-byte UTF-8", write_file, r.p("é" * 128), b"u")
    r.listdir("listdir after", r.root)


@case
def names_unusual(r):
    for name in ("with space", "tab\there", "new\nline", "50%off", "%41", "My%20File.pdf",
                 "caf%C3%A9.txt", "a%2Bb", "100%", "{}", "%{41}", "-dash", ".hidden", "...", "ü",
                 "semi;colon", "back\\slash"):
        r.call("create %r" % name, write_file, r.p(name), name.encode())
        r.read("read %r" % name, r.p(name))
    r.listdir("listdir", r.root)
    r.call("create invalid UTF-8", write_file, os.path.join(os.fsencode(r.root), b"x\xff"), b"b")
    r.call("listdir bytes", lambda: sorted(os.listdir(os.fsencode(r.root)))[:3])


# --- cases: rename ----------------------------------------------------------------------------

@case
def rename_file(r):
    write_file(r.p("a"), b"A", 0o600)
    os.setxattr(r.p("a"), "user.k", b"v")
    ino_before = os.stat(r.p("a")).st_ino
    r.mark(r.p("a"))
    r.call("rename", os.rename, r.p("a"), r.p("b"))
    r.stat("old", r.p("a"))
    r.stat("new", r.p("b"))
    r.read("contents", r.p("b"))
    r.call("xattr follows", os.getxattr, r.p("b"), "user.k")
    r.note("ino kept", os.stat(r.p("b")).st_ino == ino_before)
    st = os.stat(r.p("b"))
    r.note("mtime kept", st.st_mtime_ns == r._marks[r.p("a")][0])
    r.note("ctime changed", st.st_ctime_ns != r._marks[r.p("a")][1])
    r.listdir("listdir", r.root)


@case
def rename_over_file(r):
    write_file(r.p("a"), b"A")
    write_file(r.p("b"), b"B", 0o600)
    os.setxattr(r.p("b"), "user.old", b"1")
    r.call("rename", os.rename, r.p("a"), r.p("b"))
    r.read("contents", r.p("b"))
    r.stat("stat", r.p("b"))
    r.call("old xattrs gone", os.listxattr, r.p("b"))
    r.listdir("listdir", r.root)


@case
def rename_same_and_missing(r):
    write_file(r.p("a"), b"A")
    r.call("to itself", os.rename, r.p("a"), r.p("a"))
    r.call("missing source", os.rename, r.p("nope"), r.p("x"))
    r.call("into missing dir", os.rename, r.p("a"), r.p("nodir", "a"))
    r.call("into file", os.rename, r.p("a"), r.p("a", "b"))
    r.read("unchanged", r.p("a"))


@case
def rename_file_and_dir_mixups(r):
    write_file(r.p("f"), b"F")
    os.mkdir(r.p("d"))
    os.mkdir(r.p("full"))
    write_file(r.p("full", "x"), b"x")
    r.call("file over dir", os.rename, r.p("f"), r.p("d"))
    r.call("dir over file", os.rename, r.p("d"), r.p("f"))
    r.call("file over non-empty dir", os.rename, r.p("f"), r.p("full"))
    r.call("dir over non-empty dir", os.rename, r.p("d"), r.p("full"))
    r.call("dir over empty dir", os.rename, r.p("full"), r.p("d"))
    r.listdir("listdir", r.root)
    r.listdir("d", r.p("d"))


@case
def rename_dir(r):
    os.makedirs(r.p("a", "b"))
    write_file(r.p("a", "b", "f"), b"deep", 0o600)
    os.chmod(r.p("a", "b"), 0o700)
    os.setxattr(r.p("a"), "user.d", b"dir")
    r.mark(r.p("a"))
    mtime_before = os.stat(r.p("a")).st_mtime_ns
    r.call("rename", os.rename, r.p("a"), r.p("z"))
    st = os.stat(r.p("z"))
    r.note("dir mtime kept", st.st_mtime_ns == mtime_before)
    r.note("dir ctime changed", st.st_ctime_ns != r._marks[r.p("a")][1])
    r.stat("old", r.p("a"))
    r.stat("z", r.p("z"))
    r.stat("z/b", r.p("z", "b"))
    r.stat("z/b/f", r.p("z", "b", "f"))
    r.read("contents", r.p("z", "b", "f"))
    r.call("xattr follows", os.getxattr, r.p("z"), "user.d")
    r.call("into own subtree", os.rename, r.p("z"), r.p("z", "b", "c"))
    r.call("onto itself", os.rename, r.p("z"), r.p("z"))
    r.call("to parent's name", os.rename, r.p("z", "b"), r.p("z"))
    os.mkdir(r.p("other"))
    r.call("into another dir", os.rename, r.p("z", "b"), r.p("other", "b"))
    r.listdir("z", r.p("z"))
    r.listdir("other", r.p("other"))
    r.read("moved file", r.p("other", "b", "f"))


@case
def ino_kept_by_renames(r):
    write_file(r.p("f"), b"x")
    os.mkdir(r.p("d"))
    os.symlink("f", r.p("l"))
    os.mkfifo(r.p("p"))
    os.mkdir(r.p("into"))
    inos = {name: os.lstat(r.p(name)).st_ino for name in ("f", "d", "l", "p")}
    for name in inos:
        os.rename(r.p(name), r.p("into", name + "2"))
        r.note("%s ino kept" % name, os.lstat(r.p("into", name + "2")).st_ino == inos[name])
    write_file(r.p("f"), b"new file at the old name")
    r.note("new file has another ino", os.stat(r.p("f")).st_ino != inos["f"])
    r.note("distinct inos", len({os.lstat(r.p("into", n + "2")).st_ino for n in inos}) == 4)


@case
def rename_noreplace(r):
    write_file(r.p("a"), b"A")
    write_file(r.p("b"), b"B")
    os.mkdir(r.p("d"))
    r.call("onto file", renameat2, r.p("a"), r.p("b"), RENAME_NOREPLACE)
    r.call("onto dir", renameat2, r.p("a"), r.p("d"), RENAME_NOREPLACE)
    r.call("to new name", renameat2, r.p("a"), r.p("c"), RENAME_NOREPLACE)
    r.call("dir to new name", renameat2, r.p("d"), r.p("e"), RENAME_NOREPLACE)
    r.listdir("listdir", r.root)
    r.read("b", r.p("b"))
    r.read("c", r.p("c"))


@case
def rename_exchange_files(r):
    write_file(r.p("a"), b"A", 0o600)
    write_file(r.p("b"), b"BB", 0o644)
    os.setxattr(r.p("a"), "user.who", b"a")
    r.call("exchange", renameat2, r.p("a"), r.p("b"), RENAME_EXCHANGE)
    r.read("a", r.p("a"))
    r.read("b", r.p("b"))
    r.stat("stat a", r.p("a"))
    r.stat("stat b", r.p("b"))
    r.call("xattr of b", os.getxattr, r.p("b"), "user.who")
    r.call("missing target", renameat2, r.p("a"), r.p("none"), RENAME_EXCHANGE)
    r.call("both flags", renameat2, r.p("a"), r.p("b"), RENAME_EXCHANGE | RENAME_NOREPLACE)
    r.call("bad flag", renameat2, r.p("a"), r.p("b"), 8)
    os.symlink("target", r.p("l"))
    r.call("file with symlink", renameat2, r.p("a"), r.p("l"), RENAME_EXCHANGE)
    r.stat("l after", r.p("l"), follow=False)
    r.stat("a after", r.p("a"), follow=False)
    r.call("readlink a", os.readlink, r.p("a"))
    r.read("l", r.p("l"))


@case
def rename_exchange_dirs(r):
    os.mkdir(r.p("d1"))
    os.mkdir(r.p("d2"))
    write_file(r.p("d1", "x"), b"1")
    r.call("exchange dirs", renameat2, r.p("d1"), r.p("d2"), RENAME_EXCHANGE)
    r.listdir("d2", r.p("d2"))


@case
def rename_exchange_file_dir(r):
    write_file(r.p("f"), b"F")
    os.mkdir(r.p("d"))
    r.call("exchange file and dir", renameat2, r.p("f"), r.p("d"), RENAME_EXCHANGE)
    r.call("exchange dir and file", renameat2, r.p("d"), r.p("f"), RENAME_EXCHANGE)
    r.stat("f", r.p("f"))


@case
def rename_open_file(r):
    write_file(r.p("a"), b"old")
    fd = os.open(r.p("a"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"written before rename;")
    os.rename(r.p("a"), r.p("b"))
    os.write(fd, b"after")
    os.close(fd)
    r.read("b", r.p("b"))
    r.stat("a", r.p("a"))


# --- cases: chmod, chown, utimes -----------------------------------------------------------------

@case
def chmod_file(r):
    write_file(r.p("f"), b"x")
    r.mark(r.p("f"))
    r.call("chmod 600", os.chmod, r.p("f"), 0o600)
    r.stat("stat", r.p("f"))
    r.change("times", r.p("f"))
    for mode in (0o4755, 0o2755, 0o1644, 0o7777, 0o000):
        r.call("chmod %o" % mode, os.chmod, r.p("f"), mode)
        r.stat("stat %o" % mode, r.p("f"))
    fd = os.open(r.p("f"), os.O_RDONLY)
    r.call("fchmod", os.fchmod, fd, 0o640)
    os.close(fd)
    r.stat("after fchmod", r.p("f"))


@case
def chmod_dir(r):
    os.mkdir(r.p("d"))
    r.mark(r.p("d"))
    r.call("chmod 1777", os.chmod, r.p("d"), 0o1777)
    r.stat("stat", r.p("d"))
    r.change("times", r.p("d"))
    r.call("chmod 2750", os.chmod, r.p("d"), 0o2750)
    r.stat("stat 2750", r.p("d"))


@case
def chown_file(r):
    write_file(r.p("f"), b"x")
    r.mark(r.p("f"))
    r.call("chown", os.chown, r.p("f"), 1234, 5678)
    r.stat("stat", r.p("f"))
    r.change("times", r.p("f"))
    r.call("chown uid only", os.chown, r.p("f"), 42, -1)
    r.call("chown gid only", os.chown, r.p("f"), -1, 43)
    r.stat("stat after partial", r.p("f"))
    os.chmod(r.p("f"), 0o6755)
    r.call("chown clears setuid", os.chown, r.p("f"), 7, 7)
    r.stat("stat after setuid chown", r.p("f"))
    os.chmod(r.p("f"), 0o2745)
    r.call("chown keeps setgid without group x", os.chown, r.p("f"), 8, 8)
    r.stat("stat after setgid chown", r.p("f"))
    os.mkdir(r.p("d"))
    os.chmod(r.p("d"), 0o6755)
    r.call("chown dir keeps setuid", os.chown, r.p("d"), 9, 9)
    r.stat("dir", r.p("d"))


@case
def chmod_through_symlink(r):
    write_file(r.p("f"), b"x")
    os.symlink("f", r.p("l"))
    r.call("chmod link", os.chmod, r.p("l"), 0o600)
    r.stat("target", r.p("f"))
    r.stat("link", r.p("l"), follow=False)
    r.call("truncate link", os.truncate, r.p("l"), 0)
    r.stat("target after truncate", r.p("f"))


@case
def chown_symlink(r):
    write_file(r.p("f"), b"x")
    os.symlink("f", r.p("l"))
    r.call("lchown", os.chown, r.p("l"), 11, 12, follow_symlinks=False)
    r.stat("link", r.p("l"), follow=False)
    r.stat("target", r.p("f"))
    r.call("chown through link", os.chown, r.p("l"), 13, 14)
    r.stat("link after", r.p("l"), follow=False)
    r.stat("target after", r.p("f"))


@case
def utimes_explicit(r):
    write_file(r.p("f"), b"x")
    r.mark(r.p("f"))
    r.call("utime ns", os.utime, r.p("f"), ns=(1_500_000_000_123_456_789, 1_600_000_000_987_654_321))
    r.times("times", r.p("f"))
    r.change("changed", r.p("f"))
    r.call("utime before 1970", os.utime, r.p("f"), ns=(-1_000_000_000, -2_500_000_000))
    r.times("times before 1970", r.p("f"))
    r.call("utime far future", os.utime, r.p("f"), ns=(4_000_000_000_000_000_000,) * 2)
    r.times("times far future", r.p("f"))
    os.mkdir(r.p("d"))
    r.call("utime dir", os.utime, r.p("d"), ns=(1, 2))
    r.times("dir times", r.p("d"))


@case
def utimes_now_and_omit(r):
    write_file(r.p("f"), b"x")
    os.utime(r.p("f"), ns=(1_000_000_000, 2_000_000_000))
    r.call("omit both", utimensat, r.p("f"), UTIME_OMIT, UTIME_OMIT)
    r.times("after omit both", r.p("f"))
    r.call("atime only", utimensat, r.p("f"), (3, 4), UTIME_OMIT)
    r.times("after atime only", r.p("f"))
    r.call("mtime only", utimensat, r.p("f"), UTIME_OMIT, (5, 6))
    r.times("after mtime only", r.p("f"))
    before = time.time_ns()
    r.call("mtime now", utimensat, r.p("f"), UTIME_OMIT, UTIME_NOW)
    st = os.stat(r.p("f"))
    r.note("mtime is now", st.st_mtime_ns >= before - 20_000_000)
    r.note("atime kept", st.st_atime_ns)
    r.call("both now", os.utime, r.p("f"))
    st = os.stat(r.p("f"))
    r.note("atime is now", st.st_atime_ns >= before - 20_000_000)
    r.mark(r.p("f"))
    r.call("omit both again", utimensat, r.p("f"), UTIME_OMIT, UTIME_OMIT)
    r.change("times after omit", r.p("f"))


@case
def utimes_symlink(r):
    write_file(r.p("f"), b"x")
    os.utime(r.p("f"), ns=(10, 20))
    os.symlink("f", r.p("l"))
    r.call("nofollow", utimensat, r.p("l"), (30, 0), (40, 0), nofollow=True)
    r.times("link", r.p("l"), follow=False)
    r.times("target", r.p("f"))


@case
def atime_not_checked_policy(r):
    # Reads never update atime on rocksfs; ext4's relatime may. Only what
    # both must agree on: an explicit atime sticks until changed explicitly.
    write_file(r.p("f"), b"x")
    os.utime(r.p("f"), ns=(1_000_000_000, 1_000_000_000))
    r.times("explicit", r.p("f"))


@case
def times_of_new_file(r):
    before = time.time_ns()
    write_file(r.p("f"), b"x")
    st = os.stat(r.p("f"))
    slack = 20_000_000
    r.note("mtime recent", before - slack <= st.st_mtime_ns <= time.time_ns() + slack)
    r.note("ctime recent", before - slack <= st.st_ctime_ns <= time.time_ns() + slack)
    r.note("atime recent", before - slack <= st.st_atime_ns <= time.time_ns() + slack)
    os.mkdir(r.p("d"))
    st = os.stat(r.p("d"))
    r.note("dir mtime recent", before - slack <= st.st_mtime_ns <= time.time_ns() + slack)


# --- cases: xattrs ---------------------------------------------------------------------------------

@case
def xattr_basics(r):
    write_file(r.p("f"), b"x")
    r.mark(r.p("f"))
    r.call("set", os.setxattr, r.p("f"), "user.color", b"blue")
    r.change("times after set", r.p("f"))
    r.call("set binary", os.setxattr, r.p("f"), "user.bin", b"\x00\xff")
    r.call("set empty", os.setxattr, r.p("f"), "user.empty", b"")
    r.call("get", os.getxattr, r.p("f"), "user.color")
    r.call("get binary", os.getxattr, r.p("f"), "user.bin")
    r.call("get empty", os.getxattr, r.p("f"), "user.empty")
    r.call("list", lambda: sorted(os.listxattr(r.p("f"))))
    r.call("get missing", os.getxattr, r.p("f"), "user.missing")
    r.call("replace", os.setxattr, r.p("f"), "user.color", b"red")
    r.call("get replaced", os.getxattr, r.p("f"), "user.color")
    r.mark(r.p("f"))
    r.call("remove", os.removexattr, r.p("f"), "user.color")
    r.change("times after remove", r.p("f"))
    r.call("remove again", os.removexattr, r.p("f"), "user.color")
    r.call("list after", lambda: sorted(os.listxattr(r.p("f"))))
    r.read("data untouched", r.p("f"))


@case
def xattr_flags(r):
    write_file(r.p("f"), b"x")
    r.call("replace missing", os.setxattr, r.p("f"), "user.a", b"1", os.XATTR_REPLACE)
    r.call("create", os.setxattr, r.p("f"), "user.a", b"1", os.XATTR_CREATE)
    r.call("create existing", os.setxattr, r.p("f"), "user.a", b"2", os.XATTR_CREATE)
    r.call("replace existing", os.setxattr, r.p("f"), "user.a", b"3", os.XATTR_REPLACE)
    r.call("both flags", os.setxattr, r.p("f"), "user.a", b"4",
           os.XATTR_CREATE | os.XATTR_REPLACE)
    r.call("get", os.getxattr, r.p("f"), "user.a")


@case
def xattr_buffer_sizes(r):
    write_file(r.p("f"), b"x")
    os.setxattr(r.p("f"), "user.k", b"twelve bytes")
    os.setxattr(r.p("f"), "user.other", b"")
    r.call("size query", getxattr_sized, r.p("f"), "user.k", 0)
    r.call("exact", getxattr_sized, r.p("f"), "user.k", 12)
    r.call("too small", getxattr_sized, r.p("f"), "user.k", 5)
    r.call("list size query", listxattr_sized, r.p("f"), 0)
    r.call("list too small", listxattr_sized, r.p("f"), 3)
    r.call("list exact", lambda: sorted(listxattr_sized(r.p("f"), 18).split(b"\0")))
    r.call("empty value size", getxattr_sized, r.p("f"), "user.other", 0)


@case
def xattr_names(r):
    write_file(r.p("f"), b"x")
    r.call("name 255", os.setxattr, r.p("f"), "user." + "n" * 250, b"v")
    r.call("name 256", os.setxattr, r.p("f"), "user." + "n" * 251, b"v")
    r.call("get 256", os.getxattr, r.p("f"), "user." + "n" * 251)
    r.call("empty suffix", os.setxattr, r.p("f"), "user.", b"v")
    r.call("no namespace", os.setxattr, r.p("f"), "plain", b"v")
    r.call("list", lambda: sorted(os.listxattr(r.p("f"))))


@case
def xattr_size_limits(r):
    write_file(r.p("f"), b"x")
    r.call("set 2000", os.setxattr, r.p("f"), "user.a", b"a" * 2000)
    r.call("get 2000", lambda: len(os.getxattr(r.p("f"), "user.a")))
    r.call("set 3000+3000", os.setxattr, r.p("f"), "user.b", b"b" * 3000)
    r.call("set 64KiB+1", os.setxattr, r.p("f"), "user.c", b"c" * 65537)
    r.call("set 64KiB", os.setxattr, r.p("f"), "user.c", b"c" * 65536)
    r.call("list after big", lambda: sorted(os.listxattr(r.p("f"))))


@case
def xattr_other_namespaces(r):
    write_file(r.p("f"), b"x")
    r.call("get security", os.getxattr, r.p("f"), "security.selinux")
    r.call("set trusted", os.setxattr, r.p("f"), "trusted.t", b"v")
    r.call("set security", os.setxattr, r.p("f"), "security.s", b"v")
    r.call("list", lambda: sorted(os.listxattr(r.p("f"))))


@case
def xattr_on_dirs_and_symlinks(r):
    os.mkdir(r.p("d"))
    write_file(r.p("f"), b"x")
    os.symlink("f", r.p("l"))
    r.call("dir set", os.setxattr, r.p("d"), "user.d", b"dir")
    r.call("dir get", os.getxattr, r.p("d"), "user.d")
    r.call("symlink set nofollow", os.setxattr, r.p("l"), "user.l", b"l",
           follow_symlinks=False)
    r.call("symlink set follow", os.setxattr, r.p("l"), "user.t", b"t")
    r.call("target get", os.getxattr, r.p("f"), "user.t")
    r.call("symlink list nofollow", os.listxattr, r.p("l"), follow_symlinks=False)


@case
def xattr_gone_after_unlink(r):
    write_file(r.p("f"), b"x")
    os.setxattr(r.p("f"), "user.k", b"v")
    os.chmod(r.p("f"), 0o600)
    os.unlink(r.p("f"))
    write_file(r.p("f"), b"y")
    r.call("list", os.listxattr, r.p("f"))
    r.stat("stat", r.p("f"))
    os.mkdir(r.p("d"))
    os.setxattr(r.p("d"), "user.k", b"v")
    os.rmdir(r.p("d"))
    os.mkdir(r.p("d"))
    r.call("dir list", os.listxattr, r.p("d"))


# --- cases: symlinks, links, special files ---------------------------------------------------------

@case
def symlink_basics(r):
    write_file(r.p("target"), b"pointed to")
    r.call("symlink", os.symlink, "target", r.p("l"))
    r.call("readlink", os.readlink, r.p("l"))
    r.stat("lstat", r.p("l"), follow=False)
    r.stat("stat", r.p("l"))
    r.read("read through", r.p("l"))
    r.call("symlink existing", os.symlink, "x", r.p("l"))
    r.call("symlink over file", os.symlink, "x", r.p("target"))
    r.call("readlink of file", os.readlink, r.p("target"))
    r.call("readlink missing", os.readlink, r.p("missing"))
    r.call("dangling", os.symlink, "nowhere", r.p("d"))
    r.call("open dangling", os.open, r.p("d"), os.O_RDONLY, result="fd")
    fd = r.call("create through dangling", os.open, r.p("d"), os.O_WRONLY | os.O_CREAT, 0o644,
                result="fd")
    if fd:
        os.close(fd)
    r.listdir("listdir", r.root)
    r.call("loop", os.symlink, "loop", r.p("loop"))
    r.call("open loop", os.open, r.p("loop"), os.O_RDONLY, result="fd")
    r.call("long target", os.symlink, "t" * 4095, r.p("long"))
    r.call("readlink long", lambda: len(os.readlink(r.p("long"))))
    r.call("too long target", os.symlink, "t" * 4096, r.p("toolong"))
    r.call("unlink symlink", os.unlink, r.p("l"))
    r.read("target stays", r.p("target"))


@case
def symlink_to_dir(r):
    os.makedirs(r.p("real", "sub"))
    write_file(r.p("real", "sub", "f"), b"x")
    os.symlink("real", r.p("l"))
    r.listdir("list through", r.p("l"))
    r.read("read through", r.p("l", "sub", "f"))
    r.call("rmdir symlink", os.rmdir, r.p("l"))
    r.call("rename symlink", os.rename, r.p("l"), r.p("l2"))
    r.call("readlink renamed", os.readlink, r.p("l2"))
    r.call("symlink absolute", os.symlink, "/etc/hostname", r.p("abs"))
    r.call("readlink absolute", os.readlink, r.p("abs"))


@case
def link_file(r):
    write_file(r.p("f"), b"x")
    r.call("link", os.link, r.p("f"), r.p("g"))
    r.stat("stat f", r.p("f"))
    r.call("link dir", os.link, r.p("."), r.p("h"))
    r.call("link missing", os.link, r.p("missing"), r.p("i"))


@case
def link_group(r):
    write_file(r.p("f"), b"one")
    os.mkdir(r.p("d"))
    r.read("read f before", r.p("f"))
    r.call("link", os.link, r.p("f"), r.p("d", "g"))
    r.note("same ino", os.stat(r.p("f")).st_ino == os.stat(r.p("d", "g")).st_ino)
    r.stat("stat f after link", r.p("f"))
    write_file(r.p("d", "g"), b"two, longer")
    r.read("read f after write through g", r.p("f"))
    r.stat("stat f after write", r.p("f"))
    r.call("truncate f", os.truncate, r.p("f"), 3)
    r.read("read g after truncate", r.p("d", "g"))
    r.call("chmod g", os.chmod, r.p("d", "g"), 0o600)
    r.stat("stat f after chmod", r.p("f"))
    r.call("setxattr f", os.setxattr, r.p("f"), "user.k", b"v")
    r.call("getxattr g", os.getxattr, r.p("d", "g"), "user.k")
    r.call("link again", os.link, r.p("f"), r.p("h"))
    r.stat("stat g", r.p("d", "g"))
    r.listdir("listdir", r.root)
    r.call("unlink f", os.unlink, r.p("f"))
    r.stat("stat g after unlink", r.p("d", "g"))
    r.stat("stat h after unlink", r.p("h"))
    write_file(r.p("x"), b"other")
    r.call("rename x over h", os.rename, r.p("x"), r.p("h"))
    r.stat("stat g after h replaced", r.p("d", "g"))
    r.call("rename d", os.rename, r.p("d"), r.p("e"))
    r.stat("stat g in renamed dir", r.p("e", "g"))
    r.read("read g in renamed dir", r.p("e", "g"))


@case
def rename_onto_another_link(r):
    write_file(r.p("f"), b"x")
    os.link(r.p("f"), r.p("g"))
    r.call("rename f over g", os.rename, r.p("f"), r.p("g"))
    r.listdir("listdir", r.root)
    r.stat("stat g", r.p("g"))


@case
def link_symlink_and_fifo(r):
    os.symlink("target", r.p("l"))
    os.mkfifo(r.p("p"))
    r.call("link symlink", os.link, r.p("l"), r.p("l2"), follow_symlinks=False)
    r.stat("lstat l2", r.p("l2"), follow=False)
    r.call("readlink l2", os.readlink, r.p("l2"))
    r.call("link fifo", os.link, r.p("p"), r.p("p2"))
    r.stat("stat p", r.p("p"))


@case
def special_files_work(r):
    import socket
    os.mkfifo(r.p("p"), 0o640)
    r.stat("stat fifo", r.p("p"))
    pid = os.fork()
    if pid == 0:
        try:
            with open(r.p("p"), "wb") as f:
                f.write(b"through the pipe")
        finally:
            os._exit(0)
    r.read("read fifo", r.p("p"))
    os.waitpid(pid, 0)
    r.call("mknod chr", os.mknod, r.p("null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    r.stat("stat chr", r.p("null"))
    r.note("chr rdev", os.stat(r.p("null")).st_rdev == os.makedev(1, 3))
    r.call("mknod blk", os.mknod, r.p("blk"), stat.S_IFBLK | 0o600, os.makedev(7, 200))
    r.note("blk rdev", os.stat(r.p("blk")).st_rdev == os.makedev(7, 200))
    server = socket.socket(socket.AF_UNIX)
    client = socket.socket(socket.AF_UNIX)
    try:
        server.bind(r.p("sock"))
        server.listen(1)
        r.stat("stat socket", r.p("sock"))
        client.connect(r.p("sock"))
        conn, _ = server.accept()
        client.sendall(b"hello")
        r.note("socket carries bytes", conn.recv(5))
        conn.close()
    finally:
        client.close()
        server.close()
    r.listdir("listdir", r.root)
    r.call("rename fifo", os.rename, r.p("p"), r.p("p2"))
    r.stat("stat renamed fifo", r.p("p2"))


@case
def mknod_regular(r):
    r.call("mknod S_IFREG", os.mknod, r.p("f"), stat.S_IFREG | 0o600)
    r.stat("stat", r.p("f"))
    r.call("mknod existing", os.mknod, r.p("f"), stat.S_IFREG | 0o600)
    r.call("mknod no type", os.mknod, r.p("g"), 0o640)
    r.stat("stat g", r.p("g"))


@case
def mknod_special(r):
    import socket
    r.call("mkfifo", os.mkfifo, r.p("fifo"))
    r.call("mknod chr", os.mknod, r.p("null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    s = socket.socket(socket.AF_UNIX)
    try:
        r.call("bind socket", s.bind, r.p("sock"))
    finally:
        s.close()
    r.listdir("listdir", r.root)


# --- cases: stat details ----------------------------------------------------------------------------

@case
def stat_details(r):
    write_file(r.p("f"), b"x" * 5000)
    os.mkdir(r.p("d"))
    for name in ("f", "d"):
        st = os.stat(r.p(name))
        r.note("%s blksize nonzero" % name, st.st_blksize > 0)
        r.note("%s blocks cover size" % name, st.st_blocks * 512 >= st.st_size)
    st = os.stat(r.p("f"))
    r.note("file ino stable", st.st_ino == os.stat(r.p("f")).st_ino)
    r.note("distinct inos", os.stat(r.p("f")).st_ino != os.stat(r.p("d")).st_ino)
    r.note("dev matches root", st.st_dev == os.stat(r.root).st_dev)
    r.note("ino matches readdir", {e.name: e.inode() for e in os.scandir(r.root)}["f"] ==
           st.st_ino)


@case
def access_checks(r):
    write_file(r.p("rw"), b"x", 0o644)
    write_file(r.p("exec"), b"#!/bin/sh\n", 0o755)
    write_file(r.p("none"), b"x", 0o000)
    os.mkdir(r.p("d"), 0o700)
    for name in ("rw", "exec", "none", "d", "missing"):
        for mode, mode_name in ((os.F_OK, "F"), (os.R_OK, "R"), (os.W_OK, "W"), (os.X_OK, "X")):
            r.call("access %s %s" % (name, mode_name), _access, r.p(name), mode)


def _access(path, mode):
    # os.access hides errno: call access(2) itself.
    return _check(_libc.access(os.fsencode(path), mode))


# --- cases: permissions as uid 65534 (need default_permissions) --------------------------------------

NOBODY_CASES = []


def nobody_case(fn):
    NOBODY_CASES.append(fn)
    return case(fn)


@nobody_case
def perm_create_owner_as_nobody(r):
    os.mkdir(r.p("open"), 0o777)
    os.chmod(r.p("open"), 0o777)

    def child(c):
        c.call("create", write_file, c.p("open", "f"), b"mine", 0o640)
        c.stat("stat", c.p("open", "f"))
        c.call("mkdir", os.mkdir, c.p("open", "d"), 0o750)
        c.stat("stat dir", c.p("open", "d"))
        c.call("symlink", os.symlink, "f", c.p("open", "l"))
        c.stat("stat symlink", c.p("open", "l"), follow=False)
    r.as_nobody("nobody", child)
    r.stat("seen by root", r.p("open", "f"))


@nobody_case
def perm_refusals_as_nobody(r):
    os.chmod(r.root, 0o755)
    write_file(r.p("private"), b"secret", 0o600)
    write_file(r.p("readable"), b"public", 0o644)
    write_file(r.p("script"), b"#!/bin/sh\nexit 0\n", 0o644)
    os.mkdir(r.p("closed"), 0o700)
    write_file(r.p("closed", "f"), b"x")
    os.mkdir(r.p("noread"), 0o711)
    write_file(r.p("noread", "f"), b"x", 0o644)

    def child(c):
        c.call("create in root-owned dir", write_file, c.p("new"), b"x")
        c.call("mkdir in root-owned dir", os.mkdir, c.p("newdir"))
        c.read("read 0600", c.p("private"))
        c.read("read 0644", c.p("readable"))
        c.call("write 0644", os.open, c.p("readable"), os.O_WRONLY, result="fd")
        c.call("truncate 0644", os.truncate, c.p("readable"), 0)
        c.call("unlink in root-owned dir", os.unlink, c.p("readable"))
        c.call("rename in root-owned dir", os.rename, c.p("readable"), c.p("x"))
        c.call("stat in 0700 dir", os.stat, c.p("closed", "f"), result=False)
        c.call("list 0700 dir", os.listdir, c.p("closed"))
        c.call("list 0711 dir", os.listdir, c.p("noread"))
        c.read("read in 0711 dir", c.p("noread", "f"))
        c.call("chmod not owner", os.chmod, c.p("readable"), 0o666)
        c.call("chown not root", os.chown, c.p("readable"), NOBODY, NOBODY)
        c.call("utime explicit not owner", os.utime, c.p("readable"), ns=(1, 1))
        c.call("utime now not owner", os.utime, c.p("readable"))
        c.call("setxattr not owner", os.setxattr, c.p("readable"), "user.x", b"1")
        c.call("getxattr readable", os.getxattr, c.p("readable"), "user.none")
        c.call("exec without x", subprocess.call, [c.p("script")], stderr=subprocess.DEVNULL)
        for name, mode, mode_name in (("private", os.R_OK, "R"), ("readable", os.R_OK, "R"),
                                      ("readable", os.W_OK, "W"), ("script", os.X_OK, "X"),
                                      ("closed", os.X_OK, "X"), ("noread", os.R_OK, "R")):
            c.call("access %s %s" % (name, mode_name), _access, c.p(name), mode)
    r.as_nobody("nobody", child)
    r.read("readable unchanged", r.p("readable"))


@nobody_case
def perm_world_writable_file_as_nobody(r):
    write_file(r.p("shared"), b"root's", 0o666)
    write_file(r.p("suid"), b"#!/bin/sh\n")
    os.chmod(r.p("suid"), 0o4777)
    write_file(r.p("sgid"), b"#!/bin/sh\n")
    os.chmod(r.p("sgid"), 0o2777)

    def child(c):
        c.call("write", write_file, c.p("shared"), b"nobody's")
        c.call("utime now", os.utime, c.p("shared"))
        c.call("utime explicit", os.utime, c.p("shared"), ns=(5, 5))
        fd = os.open(c.p("suid"), os.O_WRONLY | os.O_APPEND)
        os.write(fd, b"# appended\n")
        os.close(fd)
        c.stat("suid after write", c.p("suid"))
        c.call("truncate sgid", os.truncate, c.p("sgid"), 3)
        c.stat("sgid after truncate", c.p("sgid"))
    r.as_nobody("nobody", child)
    r.read("shared", r.p("shared"))
    r.stat("shared stat", r.p("shared"))


@nobody_case
def perm_sticky_dir_as_nobody(r):
    os.mkdir(r.p("tmp"))
    os.chmod(r.p("tmp"), 0o1777)
    write_file(r.p("tmp", "roots"), b"r", 0o666)

    def child(c):
        c.call("create own", write_file, c.p("tmp", "mine"), b"m")
        c.call("unlink root's", os.unlink, c.p("tmp", "roots"))
        c.call("rename root's", os.rename, c.p("tmp", "roots"), c.p("tmp", "x"))
        c.call("rename over root's", os.rename, c.p("tmp", "mine"), c.p("tmp", "roots"))
        c.call("write root's", write_file, c.p("tmp", "roots"), b"w")
        c.call("rename own", os.rename, c.p("tmp", "mine"), c.p("tmp", "mine2"))
        c.call("unlink own", os.unlink, c.p("tmp", "mine2"))
    r.as_nobody("nobody", child)
    r.listdir("listdir", r.p("tmp"))
    r.stat("dir", r.p("tmp"))


@nobody_case
def perm_setgid_dir_as_nobody(r):
    os.mkdir(r.p("shared"))
    os.chown(r.p("shared"), 0, 1234)
    os.chmod(r.p("shared"), 0o2777)

    def child(c):
        c.call("create", write_file, c.p("shared", "f"), b"x", 0o664)
        c.stat("file", c.p("shared", "f"))
        c.call("mkdir", os.mkdir, c.p("shared", "sub"), 0o775)
        c.stat("subdir", c.p("shared", "sub"))
        c.call("chmod g+s own file not in group", os.chmod, c.p("shared", "f"), 0o2775)
        c.stat("file after chmod", c.p("shared", "f"))
    r.as_nobody("nobody", child)
    r.stat("root sees file", r.p("shared", "f"))
    r.stat("root sees subdir", r.p("shared", "sub"))


# --- running ------------------------------------------------------------------------------------------

def run_case(fn, base):
    root = os.path.join(base, fn.__name__)
    os.mkdir(root)
    os.chmod(root, 0o755)
    rec = Recorder(root)
    try:
        fn(rec)
    except Exception:  # noqa: BLE001 - a harness bug shows as a difference
        rec.note("exception", traceback.format_exc(limit=4).strip().splitlines()[-1])
    return rec.obs


def compare(name, mount_obs, ref_obs):
    """Differences as (label, mount value, ext4 value)."""
    diffs = []
    for i in range(max(len(mount_obs), len(ref_obs))):
        m = mount_obs[i] if i < len(mount_obs) else ("<missing>", None)
        e = ref_obs[i] if i < len(ref_obs) else ("<missing>", None)
        # An exception in a case is a harness bug: never equal.
        if m != e or m[0].endswith("exception"):
            label = m[0] if m[0] == e[0] else "%s / %s" % (m[0], e[0])
            diffs.append((label, m[1], e[1]))
    return diffs


def allowed(name, label):
    for (case_name, pattern), line in ALLOWED_DIFFERENCES.items():
        if case_name == name and fnmatch.fnmatchcase(label, pattern):
            return line
    return None


def is_ext4(path):
    out = subprocess.run(["stat", "-f", "-c", "%T", path], stdout=subprocess.PIPE, text=True)
    return out.returncode == 0 and out.stdout.strip() in ("ext2/ext3", "ext4")


class Reference:
    """An ext4 directory: under /tmp when /tmp is ext4, else a loop-mounted image."""

    def __init__(self, path=None):
        self.image_dir = None
        if path:
            self.path = path
            return
        if is_ext4("/tmp"):
            self.path = tempfile.mkdtemp(prefix="posix-parity-ext4-", dir="/tmp")
            return
        self.image_dir = tempfile.mkdtemp(prefix="posix-parity-img-", dir="/tmp")
        image = os.path.join(self.image_dir, "ext4.img")
        self.path = os.path.join(self.image_dir, "mnt")
        os.mkdir(self.path)
        subprocess.run(["truncate", "-s", "64M", image], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
        subprocess.run(["mount", "-o", "loop", image, self.path], check=True)

    def close(self):
        if self.image_dir:
            subprocess.run(["umount", self.path], check=False)
            shutil.rmtree(self.image_dir, ignore_errors=True)
        elif self.path.startswith("/tmp/posix-parity-ext4-"):
            shutil.rmtree(self.path, ignore_errors=True)


class SelfMount:
    """A fresh rocksfs database mounted for this run (--mount-binary)."""

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="posix-parity-rocksfs-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "mnt")
        os.mkdir(self.path)
        options = "create"
        if os.geteuid() == 0:
            options += ",allow_other,default_permissions"
        self.proc = subprocess.Popen(
            [binary, os.path.join(self.dir, "db"), self.path, "-f", "-o", options],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while not os.path.ismount(self.path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mount.rocksfs did not mount: %s"
                                   % self.proc.stderr.read().decode(errors="replace"))
            time.sleep(0.05)

    def close(self):
        if subprocess.run(["fusermount3", "-u", self.path], check=False).returncode != 0:
            subprocess.run(["fusermount3", "-uz", self.path], check=False)  # still busy
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def mount_options(path):
    """The superblock options of the mount at path (from /proc/self/mountinfo)."""
    real = os.path.realpath(path)
    best, options = "", ""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4].replace("\\040", " ")
            if (real == point or real.startswith(point.rstrip("/") + "/")) and \
                    len(point) > len(best):
                best, options = point, fields[-1]
    return options.split(",")


def nobody_can_reach(path):
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.stat(os.path.join(path, "."))
            os._exit(0 if os.access(path, os.X_OK) else 1)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return status == 0


def check_readme(readme):
    """Allow-list quotes missing from the README's differences section."""
    try:
        with open(readme, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    start = text.find("## Differences from ext4")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end > 0 else len(text)] if start >= 0 else ""
    flat = " ".join(section.split())
    return sorted({line for line in ALLOWED_DIFFERENCES.values() if line not in flat})


def fmt(value, width=60):
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--mount", help="a directory on a rocksfs mount to test in")
    where.add_argument("--mount-binary", help="mount a fresh database with this mount.rocksfs")
    parser.add_argument("--reference", help="an ext4 directory (default: a new one under /tmp when /tmp is "
                        "ext4, else a loop-mounted ext4 image)")
    parser.add_argument("--readme", default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md"),
        help="README.md whose differences section the allow-list quotes")
    parser.add_argument("-k", dest="pattern", default="*", help="run only cases matching GLOB")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also show allowed differences in full")
    args = parser.parse_args(argv)

    os.umask(0o022)
    missing = check_readme(args.readme)
    if missing:
        print("allow-list entries not explained in %s (## Differences from ext4):" % args.readme)
        for line in missing:
            print("  - %s" % line)
        return 2

    mounted = SelfMount(args.mount_binary) if args.mount_binary else None
    reference = None
    try:
        mount_dir = mounted.path if mounted else args.mount
        reference = Reference(args.reference)
        if not is_ext4(reference.path):
            print("reference %s is not ext4" % reference.path)
            return 2
        if is_ext4(mount_dir):
            print("%s is ext4, not a rocksfs mount" % mount_dir)
            return 2
        tag = "parity-%d" % os.getpid()
        bases = (os.path.join(mount_dir, tag), os.path.join(reference.path, tag))
        for base in bases:
            os.mkdir(base)
            os.chmod(base, 0o755)
        os.chmod(reference.path, 0o755)
        options = mount_options(mount_dir)
        skip_nobody = None
        if os.geteuid() != 0:
            skip_nobody = "not root"
        elif "default_permissions" not in options or "allow_other" not in options:
            skip_nobody = "mount lacks allow_other,default_permissions"
        elif not all(nobody_can_reach(b) for b in bases):
            skip_nobody = "uid 65534 cannot reach %s or %s" % bases

        rows, failed = [], 0
        for fn in CASES:
            name = fn.__name__
            if not fnmatch.fnmatchcase(name, args.pattern):
                continue
            if fn in NOBODY_CASES and skip_nobody:
                rows.append((name, "SKIP", [("", skip_nobody, None)]))
                continue
            mount_obs = run_case(fn, bases[0])
            ref_obs = run_case(fn, bases[1])
            diffs = compare(name, mount_obs, ref_obs)
            unexplained = [d for d in diffs if not allowed(name, d[0])]
            if unexplained:
                failed += 1
                rows.append((name, "DIFF", diffs))
            elif diffs:
                rows.append((name, "ALLOWED", diffs))
            else:
                rows.append((name, "OK", []))
        for base in bases:
            shutil.rmtree(base, ignore_errors=True)
    finally:
        if reference:
            reference.close()
        if mounted:
            mounted.close()

    width = max(len(r[0]) for r in rows) if rows else 10
    for name, status, diffs in rows:
        print("%-*s  %s" % (width, name, status))
        if status == "SKIP":
            print("    (%s)" % diffs[0][1])
            continue
        for label, mine, theirs in diffs:
            line = allowed(name, label)
            if status == "ALLOWED" and not args.verbose:
                print("    %-40s allowed: README \"%s\"" % (fmt(label, 40), line))
                continue
            marker = "allowed" if line else "DIFF"
            print("    %s %s\n        rocksfs: %s\n        ext4:    %s"
                  % (marker, label, fmt(mine, 200), fmt(theirs, 200)))
    counts = {}
    for _, status, _ in rows:
        counts[status] = counts.get(status, 0) + 1
    print("%d cases: %s" % (len(rows), ", ".join("%d %s" % (n, s) for s, n in
                                                 sorted(counts.items()))))
    used = {key for key in ALLOWED_DIFFERENCES
            if any(allowed(n, l) for n, s, ds in rows for l, _, _ in ds
                   if n == key[0] and fnmatch.fnmatchcase(l, key[1]))}
    unused = [key for key in ALLOWED_DIFFERENCES if key not in used
              and fnmatch.fnmatchcase(key[0], args.pattern)]
    for key in unused:
        print("note: allow-list entry %r matched nothing" % (key,))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
