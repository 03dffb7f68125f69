#!/usr/bin/env python3
"""Concurrency stress (SPEC sections 3 and 6).

test_readers_writers_renamers_and_listers_at_once: many processes read,
write, rename and list the same directories at once for about 40 s.

- Values are self-describing ("%08d:" length, then that many copies of one
  non-zero byte), so a reader can tell a whole value from a torn one. A
  value replaced by rename (write a new name, rename it over the old one)
  is read whole, old or new, never a part or a mix. A value overwritten in
  place (O_TRUNC, then writes) is, as on any local filesystem, seen by the
  mount's readers as it is being written: those reads are counted
  ("in_progress"), not checked. Each in-place name has one writer, so once
  the writers are done every value is whole, in the mount and in the DB.
- Some names (s*) are written before the run and never touched: every
  listing contains each of them exactly once, and no listing returns a name
  twice.
- A watchdog fails the test when any single file operation takes longer
  than 5 s (each process publishes the start time of the call it is in).
- At the end the daemon is alive, answers, unmounts cleanly, and the DB
  passes `ldb checkconsistency`.

ROCKSFS_STRESS_SECONDS sets its duration (default 40).

The checks are in StressChecks, with the counts as its attributes;
tests/mount/test_etcd_reliability.py runs them on an etcd mount, smaller,
reading the store with etcdctl where StressTest uses ldb.

Writers sharing one file (a few seconds each):
- test_o_append_writers_from_four_processes: 4 processes append lines with
  O_APPEND to one file (two through one descriptor each, one opening and
  closing around every few lines, one around every line): every line lands
  exactly once, whole, in its writer's order, in the mount and in the DB.
- test_disjoint_pwrite_writers: 6 processes each write their own region of
  one file (regions share pages) with pwrite and lseek+write, closing and
  reopening now and then; one writes through a MAP_SHARED mapping instead:
  after all close every region holds its writer's bytes, in the mount and
  in the DB.
- test_readers_in_other_processes_see_a_writers_bytes_before_it_closes: one
  process writes, appends and truncates a file it keeps open; after each
  change, three other processes (a descriptor opened before the first
  write, a new descriptor per check, a MAP_SHARED mapping) must read the
  new bytes and see the new size at once (read-your-writes across
  processes).
- test_files_read_whole_after_close_while_their_directory_is_listed: two
  processes create, write and close files and read each back at once while
  two others list the directory with READDIRPLUS (10 s): no file reads
  short, and stat shows its size.
"""

import errno
import mmap
import multiprocessing
import os
import random
import re
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

DURATION = float(os.environ.get("ROCKSFS_STRESS_SECONDS", "40"))
WATCHDOG_SECONDS = 5.0
DIRS = ["d0", "d1", "d2"]
STABLE = ["s%02d" % i for i in range(12)]
# Overwritten in place (O_TRUNC), never renamed or unlinked; each by one
# writer only (see in_place_names), so the last value is whole.
INPLACE = ["c%02d" % i for i in range(9)]
# Replaced by rename (write a temporary file, rename it over the name),
# moved between directories, unlinked; never opened for writing.
RENAMED = ["r%02d" % i for i in range(8)]
CHURN = INPLACE + RENAMED
MAX_VALUE = 96 * 1024

# Outcomes a worker may meet because another worker got there first.
RACE_ERRNOS = {errno.ENOENT, errno.EEXIST}


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


def make_value(rng):
    length = rng.choice((rng.randrange(0, 512), rng.randrange(0, 8192), rng.randrange(0, MAX_VALUE)))
    return b"%08d:" % length + bytes([rng.randrange(1, 256)]) * length


def check_value(data):
    """None if data is one whole value; else a description of what is wrong."""
    if len(data) < 9 or data[8:9] != b":" or not data[:8].isdigit():
        return "no header: %d bytes %r" % (len(data), data[:24])
    length = int(data[:8])
    body = data[9:]
    if len(body) != length:
        return "length %d in the header, %d bytes after it" % (length, len(body))
    if length and (len(set(body)) != 1 or body[0] == 0):
        return "mixed bytes: %r" % sorted(set(body))[:8]
    return None


class Worker:
    """Runs in a child process: one role until the deadline."""

    def __init__(self, index, role, root, deadline, slots, results, seed):
        self.index, self.role, self.root = index, role, root
        self.deadline, self.slots, self.results = deadline, slots, results
        self.rng = random.Random(seed)
        self.counts = {"ops": 0, "races": 0, "estale": 0, "reads": 0, "in_progress": 0}
        # The in-place names this process overwrites, if it is a writer.
        self.inplace = in_place_names(index)
        self.errors = []

    def call(self, what, func, *args):
        """One watched call: the watchdog sees its start time while it runs."""
        self.slots[self.index] = time.time()
        try:
            return func(*args)
        finally:
            self.slots[self.index] = 0.0
            self.counts["ops"] += 1

    def path(self, d, name):
        return os.path.join(self.root, d, name)

    def run(self):
        try:
            body = getattr(self, "run_" + self.role)
            while time.time() < self.deadline and len(self.errors) < 5:
                try:
                    body()
                except OSError as e:
                    if e.errno in RACE_ERRNOS:
                        self.counts["races"] += 1
                    elif e.errno == errno.ESTALE:
                        # An open that raced with a rename replacing the
                        # name twice in a row (the kernel retries once; see
                        # Filesystem::Open).
                        self.counts["estale"] += 1
                    else:
                        self.errors.append("%s: %s" % (self.role, e))
        except Exception as e:  # report, never hang the parent
            self.errors.append("%s: unexpected %r" % (self.role, e))
        self.results.put((self.index, self.role, self.counts, self.errors))

    # -- roles --

    def write_value(self, path, flags, value):
        fd = self.call("open", os.open, path, flags, 0o644)
        try:
            view = memoryview(value)
            while view:
                n = self.call("write", os.write, fd, view[:self.rng.choice((4096, 16384, 65536))])
                view = view[n:]
        finally:
            self.call("close", os.close, fd)

    def run_writer(self):
        d = self.rng.choice(DIRS)
        roll = self.rng.random()
        name = self.rng.choice(self.inplace if roll < 0.5 else RENAMED)
        if roll < 0.5:
            # Overwrite in place (O_TRUNC, then writes: the mount's readers
            # see the value as it is being written).
            self.write_value(self.path(d, name), os.O_WRONLY | os.O_TRUNC, make_value(self.rng))
        elif roll < 0.85:
            # Write a temporary file and rename it over the name.
            tmp = self.path(d, "tmp-%d-%d" % (os.getpid(), self.counts["ops"]))
            self.write_value(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, make_value(self.rng))
            try:
                self.call("rename", os.rename, tmp, self.path(d, name))
            except OSError:
                self.call("unlink", os.unlink, tmp)
                raise
        else:
            self.call("unlink", os.unlink, self.path(d, name))

    def run_mover(self):
        src = self.path(self.rng.choice(DIRS), self.rng.choice(RENAMED))
        dst = self.path(self.rng.choice(DIRS), self.rng.choice(RENAMED))
        self.call("rename", os.rename, src, dst)

    def read_whole(self, path):
        """The whole file; self.last_fstat is the size fstat gave right after
        the read (for messages)."""
        style = self.rng.random()
        self.last_style = "stdio" if style < 0.5 else "os.read"
        if style < 0.5:
            with self.call("open", open, path, "rb") as f:  # stdio: fstat, then reads
                data = self.call("read", f.read)
                self.last_fstat = os.fstat(f.fileno()).st_size
                return data
        fd = self.call("open", os.open, path, os.O_RDONLY)
        try:
            chunks = []
            while True:
                chunk = self.call("read", os.read, fd, self.rng.choice((4096, 65536, 1 << 20)))
                if not chunk:
                    self.last_fstat = os.fstat(fd).st_size
                    return b"".join(chunks)
                chunks.append(chunk)
        finally:
            self.call("close", os.close, fd)

    def run_reader(self):
        d = self.rng.choice(DIRS)
        stable = self.rng.random() < 0.25
        name = self.rng.choice(STABLE if stable else CHURN)
        try:
            data = self.read_whole(self.path(d, name))
        except FileNotFoundError:
            if stable:
                self.errors.append("stable file %s/%s is missing" % (d, name))
            raise
        self.counts["reads"] += 1
        problem = check_value(data)
        if problem and name in INPLACE:
            # Overwritten in place while we read: no atomicity promised.
            self.counts["in_progress"] += 1
        elif problem:
            first_fstat = self.last_fstat
            try:
                again = check_value(self.read_whole(self.path(d, name))) or "whole"
            except OSError as e:
                again = str(e)
            self.errors.append("read %s/%s (%s): torn value: %s; fstat after the read: %d "
                               "bytes; read again: %s"
                               % (d, name, self.last_style, problem, first_fstat, again))

    def run_lister(self):
        d = self.rng.choice(DIRS)
        style = "listdir" if self.rng.random() < 0.5 else "scandir"
        if style == "listdir":
            names = self.call("listdir", os.listdir, os.path.join(self.root, d))
        else:
            with self.call("scandir", os.scandir, os.path.join(self.root, d)) as it:
                names = [entry.name for entry in it]
                for entry in it:
                    pass
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            self.errors.append("listing of %s (%s) returned %r twice" % (d, style, dupes))
        missing = [n for n in STABLE if n not in names]
        if missing:
            self.errors.append("listing of %s missed stable names %r" % (d, missing))


def worker_main(index, role, root, deadline, slots, results, seed):
    Worker(index, role, root, deadline, slots, results, seed).run()


ROLES = ["writer"] * 3 + ["mover"] + ["reader"] * 4 + ["lister"] * 2
WRITERS = ROLES.count("writer")


def in_place_names(index):
    """The in-place names process `index` overwrites: each name has one writer."""
    if ROLES[index] != "writer":
        return []
    ordinal = ROLES[:index].count("writer")
    return INPLACE[ordinal::WRITERS]


# --- several writers and readers of one file ------------------------------------

APPEND_PROCESSES = 4
APPEND_LINES = 1000
# How each appender opens: one descriptor for all its lines, one reopened
# after a random few lines, one per line (every close commits).
APPEND_STYLES = ["one", "one", "some", "every"]
LINE = re.compile(rb"p(\d) (\d{6}) ([a-z]*)\Z")


def append_line(p, i, rng):
    """Line i of appender p (its length drawn from rng): mostly short, some
    spanning pages."""
    roll = rng.random()
    if roll < 0.7:
        size = rng.randrange(0, 100)
    elif roll < 0.95:
        size = rng.randrange(100, 1000)
    else:
        size = rng.randrange(1000, 9000)
    return b"p%d %06d %s\n" % (p, i, bytes([97 + (p * 7 + i) % 26]) * size)


def append_main(path, p, seed, style, lines_total, start, results):
    """Child: appends lines_total lines to path with O_APPEND, one write(2) each."""
    lines, moves = random.Random(seed), random.Random(seed + 1)
    errors = []
    fd = None
    try:
        start.wait()
        for i in range(lines_total):
            line = append_line(p, i, lines)
            if fd is None:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            n = os.write(fd, line)
            if n != len(line):
                errors.append("line %d: write returned %d of %d bytes" % (i, n, len(line)))
            if style == "every" or (style == "some" and moves.random() < 0.1):
                os.close(fd)
                fd = None
            elif moves.random() < 0.01:
                os.fsync(fd)
        if fd is not None:
            os.close(fd)
    except Exception as e:  # report, never hang the parent
        errors.append("unexpected %r" % e)
    results.put((p, errors))


REGION_WRITERS = 6
REGION = 20000  # not a multiple of the page size: neighbouring regions share pages
REGION_ROUNDS = 400
# pwrite; pwrite or lseek+write; stores into a MAP_SHARED mapping (in the
# middle, so both its neighbours share pages with it).
REGION_STYLES = ["pwrite", "mixed", "mmap", "pwrite", "mixed", "pwrite"]


def region_main(path, p, seed, style, rounds, start, results):
    """Child: writes only its own region [p * REGION, (p + 1) * REGION) of
    path, and sends back what the region must hold."""
    rng = random.Random(seed)
    base = p * REGION
    model = bytearray(rng.randbytes(REGION))
    errors = []
    try:
        fd = os.open(path, os.O_RDWR)
        start.wait()
        # The whole region first: the file grows to (at least) its end.
        if os.pwrite(fd, model, base) != REGION:
            errors.append("short pwrite of the whole region")
        if style == "mmap":
            lo = base - base % mmap.PAGESIZE
            m = mmap.mmap(fd, base + REGION - lo, mmap.MAP_SHARED,
                          mmap.PROT_READ | mmap.PROT_WRITE, offset=lo)
            for _ in range(rounds):
                off = rng.randrange(REGION)
                chunk = rng.randbytes(rng.randrange(1, min(REGION - off, 4096) + 1))
                m[base - lo + off:base - lo + off + len(chunk)] = chunk
                model[off:off + len(chunk)] = chunk
                if rng.random() < 0.05:
                    m.flush()  # msync
            m.close()  # munmap
        else:
            for _ in range(rounds):
                off = rng.randrange(REGION)
                chunk = rng.randbytes(rng.randrange(1, min(REGION - off, 8192) + 1))
                if style == "mixed" and rng.random() < 0.5:
                    os.lseek(fd, base + off, os.SEEK_SET)
                    n = os.write(fd, chunk)
                else:
                    n = os.pwrite(fd, chunk, base + off)
                if n != len(chunk):
                    errors.append("short write at %d: %d of %d" % (base + off, n, len(chunk)))
                model[off:off + len(chunk)] = chunk
                roll = rng.random()
                if roll < 0.05:  # close (commits) and reopen
                    os.close(fd)
                    fd = os.open(path, os.O_RDWR)
                elif roll < 0.07:
                    os.fsync(fd)
        os.close(fd)
    except Exception as e:  # report, never hang the parent
        errors.append("unexpected %r" % e)
    results.put((p, bytes(model), errors))


RYW_ROUNDS = 500
RYW_MAPPED = 65536  # the mapping reader maps this much; the writer never truncates below it
RYW_READERS = ["early", "fresh", "mmap"]


def first_difference(expected, got):
    i = 0
    while i < min(len(expected), len(got)) and expected[i] == got[i]:
        i += 1
    return i


def pread_all(fd, offset, length):
    chunks = []
    while length > 0:
        chunk = os.pread(fd, length, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
        length -= len(chunk)
    return b"".join(chunks)


def ryw_reader_main(path, kind, conn):
    """Child: answers each (offset, expected, size, what) from the writer with
    the problems it sees: bytes at offset (and, for "mmap", in its mapping)
    and the file's size. "early" reads through a descriptor opened before
    the first write, "fresh" through a new one each time, "mmap" through a
    descriptor opened early and a MAP_SHARED mapping of its first RYW_MAPPED
    bytes."""
    fd = m = None
    try:
        if kind != "fresh":
            fd = os.open(path, os.O_RDONLY)
        conn.send([])
        while True:
            msg = conn.recv()
            if msg is None:
                break
            offset, expected, size, what = msg
            problems = []
            # One byte more where the range ends at the end of the file: EOF there.
            want = len(expected) + (1 if offset + len(expected) >= size else 0)
            if kind == "fresh":
                seen_size = os.stat(path).st_size
                f = os.open(path, os.O_RDONLY)
                try:
                    got = pread_all(f, offset, want)
                finally:
                    os.close(f)
            else:
                seen_size = os.fstat(fd).st_size
                got = pread_all(fd, offset, want)
            if seen_size != size:
                problems.append("%s reader after %s: size %d, expected %d"
                                % (kind, what, seen_size, size))
            if got != expected:
                i = first_difference(expected, got)
                problems.append("%s reader after %s: read %d bytes at %d, expected %d; first "
                                "difference at offset %d" % (kind, what, len(got), offset,
                                                             len(expected), offset + i))
            if kind == "mmap" and size >= RYW_MAPPED:
                if m is None:
                    m = mmap.mmap(fd, RYW_MAPPED, mmap.MAP_SHARED, mmap.PROT_READ)
                end = min(offset + len(expected), RYW_MAPPED)
                if offset < end and m[offset:end] != expected[:end - offset]:
                    i = first_difference(expected[:end - offset], m[offset:end])
                    problems.append("mapping after %s: first difference at offset %d"
                                    % (what, offset + i))
            conn.send(problems)
    except Exception as e:  # report, never hang the parent
        conn.send(["%s reader: unexpected %r" % (kind, e)])
    finally:
        if m is not None:
            m.close()
        if fd is not None:
            os.close(fd)


# --- files written while their directory is listed ---------------------------

LISTED_SECONDS = 10.0
LISTED_SIZE = 20000


def listed_writer_main(root, w, deadline, results):
    """Child: creates files, writes LISTED_SIZE bytes in 5 writes, closes,
    then reads each back whole through a new descriptor (pread only, as a
    reader that trusts EOF does)."""
    problems, made = [], 0
    try:
        while time.time() < deadline and len(problems) < 20:
            path = os.path.join(root, "w%d-%06d" % (w, made))
            made += 1
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            for k in range(5):
                os.write(fd, bytes([65 + k]) * (LISTED_SIZE // 5))
            os.close(fd)
            time.sleep(0.002)  # let a listing run
            fd = os.open(path, os.O_RDONLY)
            try:
                data = pread_all(fd, 0, 2 * LISTED_SIZE)  # read(2) only: no fstat first
            finally:
                os.close(fd)
            if len(data) != LISTED_SIZE:
                problems.append("%s: %d bytes read after its close, stat %d"
                                % (os.path.basename(path), len(data), os.stat(path).st_size))
            if made % 50 == 0:
                for i in range(made - 50, made):
                    os.unlink(os.path.join(root, "w%d-%06d" % (w, i)))
    except Exception as e:  # report, never hang the parent
        problems.append("unexpected %r" % e)
    results.put((made, problems))


def lister_main(root, deadline):
    """Child: lists root and stats every entry (so the kernel lists with
    READDIRPLUS), until the deadline."""
    while time.time() < deadline:
        for entry in os.scandir(root):
            try:
                entry.stat()
            except FileNotFoundError:
                pass


class StressChecks:
    """This module's tests, on whatever store a subclass mounts (RocksDB here,
    etcd in test_etcd_reliability.py). A subclass (also a unittest.TestCase)
    gives:

    - mount(options): a t.Mount of a fresh, empty tree;
    - stored(): after the unmount, the store's keys under the tree (relative
      paths, bytes) and their values, read by a program other than rocksfs;
    - check_store(): after the unmount, the store checks out as a whole;

    and may scale the counts below to the store's speed."""

    STRESS_SECONDS = DURATION
    STRESS_MIN_OPS = 1000
    APPEND_LINES = APPEND_LINES
    REGION_ROUNDS = REGION_ROUNDS
    RYW_ROUNDS = RYW_ROUNDS
    LISTED_SECONDS = LISTED_SECONDS
    LISTED_MIN_FILES = 100

    def stored_value(self, key):
        """After the unmount: the value of key (bytes) in the store, or None."""
        return self.stored().get(key)

    def test_readers_writers_renamers_and_listers_at_once(self):
        seed = random.randrange(1 << 30)
        print("stress seed %d, %d processes, %.0f s" % (seed, len(ROLES), self.STRESS_SECONDS),
              file=sys.stderr)
        rng = random.Random(seed)
        with self.mount(["threads=8"]) as m:
            stable = {}
            for d in DIRS:
                os.mkdir(m.path(d))
                for name in STABLE + CHURN:
                    value = make_value(rng)
                    with open(m.path(os.path.join(d, name)), "wb") as f:
                        f.write(value)
                    if name in STABLE:
                        stable[(d, name)] = value

            ctx = multiprocessing.get_context("fork")
            slots = ctx.Array("d", len(ROLES), lock=False)
            results = ctx.Queue()
            deadline = time.time() + self.STRESS_SECONDS
            procs = [ctx.Process(target=worker_main,
                                 args=(i, role, m.root, deadline, slots, results,
                                       rng.randrange(1 << 30)))
                     for i, role in enumerate(ROLES)]
            for p in procs:
                p.start()
            stuck = None
            longest = 0.0
            collected = []
            while len(collected) < len(procs) and stuck is None:
                now = time.time()
                for i, started in enumerate(slots):
                    if started:
                        longest = max(longest, now - started)
                        if now - started > WATCHDOG_SECONDS:
                            stuck = "process %d (%s) has been in one call for %.1f s" % (
                                i, ROLES[i], now - started)
                while not results.empty():
                    collected.append(results.get())
                if now > deadline + 120:
                    stuck = "workers did not finish 120 s after the deadline"
                time.sleep(0.1)
            if stuck:
                for p in procs:
                    p.kill()
                self.fail("watchdog: %s\n%s" % (stuck, m.log()[-5000:]))
            for p in procs:
                p.join(timeout=30)

            totals = {}
            errors = []
            for index, role, counts, errs in collected:
                for k, v in counts.items():
                    totals[k] = totals.get(k, 0) + v
                errors += ["process %d: %s" % (index, e) for e in errs]
            print("stress: %s; longest call seen by the watchdog %.2f s" % (totals, longest),
                  file=sys.stderr)
            self.assertEqual(errors, [], "\n".join(errors[:30]))
            self.assertGreater(totals["ops"], self.STRESS_MIN_OPS)

            # Alive and answering; the stable files are intact.
            self.assertTrue(m.running(), m.log())
            probe = [None]

            def answer():
                os.listdir(m.root)
                with open(m.path("probe"), "wb") as f:
                    f.write(b"alive")
                with open(m.path("probe"), "rb") as f:
                    probe[0] = f.read()

            thread = threading.Thread(target=answer, daemon=True)
            thread.start()
            thread.join(WATCHDOG_SECONDS)
            self.assertEqual(probe[0], b"alive", "the daemon does not answer after the run")
            for (d, name), value in stable.items():
                with open(m.path(os.path.join(d, name)), "rb") as f:
                    self.assertEqual(f.read(), value, "%s/%s changed" % (d, name))
            # The writers are done: every value is whole.
            for d in DIRS:
                for name in CHURN:
                    try:
                        data = t.read_file(m.path(os.path.join(d, name)))
                    except FileNotFoundError:
                        continue
                    self.assertIsNone(check_value(data), "%s/%s after the run" % (d, name))
            m.unmount()
        self.check_store()
        scanned = self.stored()
        for (d, name), value in stable.items():
            self.assertEqual(scanned.get(("%s/%s" % (d, name)).encode()), value,
                             "%s/%s in the store" % (d, name))
        for key, value in scanned.items():
            if key == b"probe" or key.split(b"/")[-1].startswith(b"tmp-"):
                continue  # a writer's temporary file left by a failed rename race
            self.assertIsNone(check_value(value), key)

    def test_o_append_writers_from_four_processes(self):
        lines_total = self.APPEND_LINES
        seed = random.randrange(1 << 30)
        print("O_APPEND seed %d: %d processes x %d lines" % (seed, APPEND_PROCESSES, lines_total),
              file=sys.stderr)
        seeds = [seed + 2 * p for p in range(APPEND_PROCESSES)]
        with self.mount([]) as m:
            path = m.path("log")
            t.write_file(path, b"")
            ctx = multiprocessing.get_context("fork")
            start, results = ctx.Event(), ctx.Queue()
            procs = [ctx.Process(target=append_main,
                                 args=(path, p, seeds[p], APPEND_STYLES[p], lines_total,
                                       start, results))
                     for p in range(APPEND_PROCESSES)]
            for proc in procs:
                proc.start()
            started = time.monotonic()
            start.set()
            errors = []
            for _ in procs:
                p, errs = results.get(timeout=300)
                errors += ["appender %d (%s): %s" % (p, APPEND_STYLES[p], e) for e in errs]
            for proc in procs:
                proc.join(timeout=30)
            elapsed = time.monotonic() - started
            self.assertEqual(errors, [], "\n".join(errors[:20]))

            data = t.read_file(path)
            expected = {}
            for p in range(APPEND_PROCESSES):
                rng = random.Random(seeds[p])
                expected[p] = [append_line(p, i, rng) for i in range(lines_total)]
            got = {p: [] for p in range(APPEND_PROCESSES)}
            problems = []
            self.assertTrue(data.endswith(b"\n"), "the file ends in %r" % data[-40:])
            for k, line in enumerate(data[:-1].split(b"\n")):
                match = LINE.match(line)
                if not match or int(match.group(1)) not in got:
                    problems.append("line %d is no appender's line: %r" % (k, line[:60]))
                    continue
                got[int(match.group(1))].append(line + b"\n")
            for p in range(APPEND_PROCESSES):
                if got[p] == expected[p]:
                    continue
                numbers = [int(LINE.match(line[:-1]).group(2)) for line in got[p]]
                missing = sorted(set(range(lines_total)) - set(numbers))
                twice = sorted({n for n in numbers if numbers.count(n) > 1})
                i = first_difference(got[p], expected[p])
                problems.append("appender %d (%s): %d of %d lines, missing %s, twice %s, first "
                                "difference at its line %d"
                                % (p, APPEND_STYLES[p], len(got[p]), lines_total, missing[:10],
                                   twice[:10], i))
            self.assertEqual(problems, [], "\n".join(problems[:20]))
            total = sum(len(line) for lines in expected.values() for line in lines)
            self.assertEqual(len(data), total)
            self.assertEqual(os.stat(path).st_size, total)
            print("O_APPEND: %d lines, %d bytes, from %d processes in %.1f s: every line once, "
                  "whole, in order" % (APPEND_PROCESSES * lines_total, total, APPEND_PROCESSES,
                                       elapsed), file=sys.stderr)
            m.unmount()
        self.assertEqual(self.stored_value(b"log"), data, "the store holds another value")

    def test_disjoint_pwrite_writers(self):
        rounds = self.REGION_ROUNDS
        seed = random.randrange(1 << 30)
        print("disjoint writers seed %d: %d processes x %d writes" % (
            seed, REGION_WRITERS, rounds), file=sys.stderr)
        with self.mount([]) as m:
            path = m.path("regions")
            t.write_file(path, b"")
            ctx = multiprocessing.get_context("fork")
            start, results = ctx.Event(), ctx.Queue()
            procs = [ctx.Process(target=region_main,
                                 args=(path, p, seed + p, REGION_STYLES[p], rounds, start,
                                       results))
                     for p in range(REGION_WRITERS)]
            for proc in procs:
                proc.start()
            start.set()
            models, errors = {}, []
            for _ in procs:
                p, model, errs = results.get(timeout=300)
                models[p] = model
                errors += ["writer %d (%s): %s" % (p, REGION_STYLES[p], e) for e in errs]
            for proc in procs:
                proc.join(timeout=30)
            self.assertEqual(errors, [], "\n".join(errors[:20]))

            data = t.read_file(path)
            self.assertEqual(len(data), REGION_WRITERS * REGION)
            problems = []
            for p in range(REGION_WRITERS):
                region = data[p * REGION:(p + 1) * REGION]
                if region != models[p]:
                    i = first_difference(region, models[p])
                    wrong = sum(1 for a, b in zip(region, models[p]) if a != b)
                    problems.append("region %d (%s): %d of %d bytes differ, the first at file "
                                    "offset %d" % (p, REGION_STYLES[p], wrong, REGION,
                                                   p * REGION + i))
            self.assertEqual(problems, [], "\n".join(problems))
            print("disjoint writers: %d regions of %d bytes, %d writes each (styles %s): every "
                  "region holds its writer's bytes" % (REGION_WRITERS, REGION, rounds + 1,
                                                       REGION_STYLES), file=sys.stderr)
            m.unmount()
        self.assertEqual(self.stored_value(b"regions"), data, "the store holds another value")

    def test_readers_in_other_processes_see_a_writers_bytes_before_it_closes(self):
        seed = random.randrange(1 << 30)
        print("read-your-writes seed %d: %d rounds, readers %s"
              % (seed, self.RYW_ROUNDS, RYW_READERS), file=sys.stderr)
        rng = random.Random(seed)
        with self.mount([]) as m:
            path = m.path("shared")
            t.write_file(path, b"")
            ctx = multiprocessing.get_context("fork")
            conns, procs = [], []
            for kind in RYW_READERS:
                mine, theirs = ctx.Pipe()
                procs.append(ctx.Process(target=ryw_reader_main, args=(path, kind, theirs)))
                conns.append(mine)
            for proc in procs:
                proc.start()
            problems = [p for conn in conns for p in conn.recv()]  # all opened
            content = bytearray()
            fd = os.open(path, os.O_RDWR)
            counts = {"append": 0, "overwrite": 0, "ftruncate": 0, "whole file": 0}
            try:
                for r in range(self.RYW_ROUNDS):
                    if problems:
                        break
                    roll = rng.random()
                    if r == 0 or roll < 0.4:
                        what, offset = "append", len(content)
                        chunk = rng.randbytes(RYW_MAPPED if r == 0 else rng.randrange(1, 20000))
                        self.assertEqual(os.pwrite(fd, chunk, offset), len(chunk))
                        content[offset:] = chunk
                        length = len(chunk)
                    elif roll < 0.85:
                        what = "overwrite"
                        offset = rng.randrange(len(content))
                        chunk = rng.randbytes(rng.randrange(1, min(len(content) - offset, 20000) + 1))
                        self.assertEqual(os.pwrite(fd, chunk, offset), len(chunk))
                        content[offset:offset + len(chunk)] = chunk
                        length = len(chunk)
                    else:
                        what = "ftruncate"
                        size = rng.randrange(RYW_MAPPED, len(content) + 30000)
                        os.ftruncate(fd, size)
                        if size < len(content):
                            del content[size:]
                        else:
                            content.extend(bytes(size - len(content)))
                        offset, length = max(0, size - 4096), 8192
                    counts[what] += 1
                    checks = [(offset, length, "%s %d" % (what, r))]
                    if r % 20 == 19:
                        counts["whole file"] += 1
                        checks.append((0, len(content), "round %d (whole file)" % r))
                    for offset, length, label in checks:
                        expected = bytes(content[offset:offset + length])
                        for conn in conns:
                            conn.send((offset, expected, len(content), label))
                        for conn in conns:
                            problems += conn.recv()
            finally:
                for conn in conns:
                    try:
                        conn.send(None)
                    except OSError:
                        pass
                for proc in procs:
                    proc.join(timeout=30)
                os.close(fd)  # the first close: everything above was read before it
            self.assertEqual(problems, [], "\n".join(problems[:20]))
            print("read-your-writes: %s, each checked at once by %d other processes"
                  % (counts, len(conns)), file=sys.stderr)
            self.assertEqual(t.read_file(path), content)
            m.unmount()
        self.assertEqual(self.stored_value(b"shared"), bytes(content),
                         "the store holds another value")

    def test_files_read_whole_after_close_while_their_directory_is_listed(self):
        # A file written and closed reads whole, and stat shows its size,
        # while two other processes list its directory (READDIRPLUS).
        with self.mount([]) as m:
            ctx = multiprocessing.get_context("fork")
            results = ctx.Queue()
            deadline = time.time() + self.LISTED_SECONDS
            writers = [ctx.Process(target=listed_writer_main, args=(m.root, w, deadline, results))
                       for w in range(2)]
            listers = [ctx.Process(target=lister_main, args=(m.root, deadline)) for _ in range(2)]
            for proc in writers + listers:
                proc.start()
            made, problems = 0, []
            for _ in writers:
                n, found = results.get(timeout=self.LISTED_SECONDS + 120)
                made += n
                problems += found
            for proc in writers + listers:
                proc.join(timeout=30)
            print("listed while written: %d files, %d read short after their close"
                  % (made, len(problems)), file=sys.stderr)
            self.assertEqual(problems, [], "%d of %d files (first 20):\n%s"
                             % (len(problems), made, "\n".join(problems)))
            self.assertGreater(made, self.LISTED_MIN_FILES)
            m.unmount()
        self.check_store()


class StressTest(StressChecks, t.TempDirTestCase):
    """On a RocksDB database, checked with ldb."""

    def mount(self, options):
        self.db = os.path.join(self.dir, "db")
        return t.Mount(self.db, create=True, options=options)

    def stored(self):
        return t.ldb_scan(self.db)

    def stored_value(self, key):
        return t.ldb_get(self.db, key)

    def check_store(self):
        t.ldb(self.db, "checkconsistency")


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
