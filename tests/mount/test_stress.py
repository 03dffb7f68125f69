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
"""

import errno
import multiprocessing
import os
import random
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


class StressTest(t.TempDirTestCase):
    def test_readers_writers_renamers_and_listers_at_once(self):
        db = os.path.join(self.dir, "db")
        seed = random.randrange(1 << 30)
        print("stress seed %d, %d processes, %.0f s" % (seed, len(ROLES), DURATION),
              file=sys.stderr)
        rng = random.Random(seed)
        with t.Mount(db, create=True, options=["threads=8"]) as m:
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
            deadline = time.time() + DURATION
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
            self.assertGreater(totals["ops"], 1000)

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
        t.ldb(db, "checkconsistency")
        scanned = t.ldb_scan(db)
        for key, value in scanned.items():
            if key == b"probe" or key.split(b"/")[-1].startswith(b"tmp-"):
                continue  # a writer's temporary file left by a failed rename race
            self.assertIsNone(check_value(value), key)


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
