#!/usr/bin/env python3
"""Several processes read one mount at once and each sees exact values; a
writer rewriting files while they read never shows them a mix: every read
returns a complete old value or a complete new one (SPEC section 3 and 6)."""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

KEYS = 5000
READERS = 4
READS_PER_READER = 2000
HOT_FILES = 50
RACE_SECONDS = 8.0

# The value of key number i; shared by the test and the reader processes.
VALUE_CODE = r'''
import hashlib
def key_of(i):
    return "k/%02d/%05d" % (i % 50, i)
def value_of(i):
    key = key_of(i).encode()
    return key + b"=" + hashlib.sha256(key).digest() * (1 + i % 40) + bytes([i % 256]) * (i % 3000)
'''
exec(VALUE_CODE)  # defines key_of, value_of here too

READER_CODE = VALUE_CODE + r'''
import json, os, random, sys
root, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
bad = []
for _ in range(count):
    i = rng.randrange(@KEYS@)
    with open(os.path.join(root, key_of(i)), "rb") as f:
        got = f.read()
    if got != value_of(i):
        bad.append([key_of(i), len(got), len(value_of(i))])
print(json.dumps({"reads": count, "bad": bad[:10], "bad_count": len(bad)}))
'''.replace("@KEYS@", str(KEYS))

# A hot file's value: "LENGTH:" then LENGTH copies of one byte. A read that
# mixes two values shows a wrong length or two different bytes.
HOT_CODE = r'''
def hot_value(length, byte):
    return b"%08d:" % length + bytes([byte]) * length
def hot_problem(data):
    head, sep, body = data.partition(b":")
    if not sep or len(head) != 8 or not head.isdigit():
        return "no length marker (%d bytes: %r...)" % (len(data), data[:20])
    if int(head) != len(body):
        return "marker says %d bytes, %d follow" % (int(head), len(body))
    if body and body.count(body[:1]) != len(body):
        return "%d bytes of more than one value (%r...)" % (len(body), sorted(set(body))[:5])
    return None
'''
exec(HOT_CODE)  # defines hot_value, hot_problem here too

HOT_READER_CODE = HOT_CODE + r'''
import json, os, random, sys, time
root, seed, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(seed)
reads, problems, seen = 0, [], set()
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    name = "hot/%02d" % rng.randrange(@HOT_FILES@)
    with open(os.path.join(root, name), "rb") as f:
        data = f.read()
    reads += 1
    problem = hot_problem(data)
    if problem:
        problems.append("%s: %s" % (name, problem))
    else:
        seen.add(data[9:10])
print(json.dumps({"reads": reads, "problems": problems[:10], "problem_count": len(problems),
                  "distinct_bytes_seen": len(seen)}))
'''.replace("@HOT_FILES@", str(HOT_FILES))


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


def start_python(code, *args):
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def collect(test, proc, timeout):
    out, err = proc.communicate(timeout=timeout)
    test.assertEqual(proc.returncode, 0, "reader failed: %s" % err.decode("utf-8", "replace"))
    return json.loads(out)


class ConcurrentReadersTest(t.TempDirTestCase):
    def check_four_readers(self, options):
        db = os.path.join(self.dir, "db")
        t.ldb_load(db, ((key_of(i).encode(), value_of(i)) for i in range(KEYS)))
        with t.Mount(db, options=options) as m:
            readers = [start_python(READER_CODE, m.root, seed, READS_PER_READER)
                       for seed in range(READERS)]
            results = [collect(self, p, timeout=300) for p in readers]
            self.assertTrue(m.running())
        for r in results:
            self.assertEqual(r["reads"], READS_PER_READER)
            self.assertEqual(r["bad_count"], 0, "wrong values read: %r" % r["bad"])

    def test_four_readers_see_exact_values(self):
        self.check_four_readers([])

    def test_four_readers_see_exact_values_read_only(self):
        self.check_four_readers(["ro"])  # reads without open/release requests

    # Inside a mount, values are replaced atomically as on any filesystem:
    # write a new name, rename it over the old one. Readers then always see
    # one whole value, old or new; everything after the writer stops must be
    # exact, through the mount and in the DB.
    def test_readers_never_see_a_mix_while_a_writer_replaces_by_rename(self):
        db = os.path.join(self.dir, "db")
        with t.Mount(db, create=True) as m:
            os.mkdir(m.path("hot"))
            for i in range(HOT_FILES):
                with open(m.path("hot/%02d" % i), "wb") as f:
                    f.write(hot_value(1000 + i, i))
            readers = [start_python(HOT_READER_CODE, m.root, seed, RACE_SECONDS)
                       for seed in range(READERS)]
            # The writer: rewrite (O_TRUNC, several write calls, close) in a loop.
            rewrites, byte = 0, 0
            deadline = time.monotonic() + RACE_SECONDS
            while time.monotonic() < deadline:
                byte = (byte + 1) % 256
                length = (byte * 7919) % 200000
                value = hot_value(length, byte)
                name = m.path("hot/%02d" % (rewrites % HOT_FILES))
                with open(name + ".tmp", "wb") as f:
                    for i in range(0, len(value), 16384):
                        f.write(value[i:i + 16384])
                os.rename(name + ".tmp", name)
                rewrites += 1
            results = [collect(self, p, timeout=60) for p in readers]
            # What the last writes left is complete, through the mount...
            final = {}
            for i in range(HOT_FILES):
                with open(m.path("hot/%02d" % i), "rb") as f:
                    final[i] = f.read()
                self.assertIsNone(hot_problem(final[i]), "hot/%02d" % i)
            m.unmount()
        # ...and in the DB.
        scanned = t.ldb_scan(db)
        for i in range(HOT_FILES):
            self.assertEqual(scanned[b"hot/%02d" % i], final[i])
        self.assertGreater(rewrites, HOT_FILES)
        reads = sum(r["reads"] for r in results)
        problems = sum(r["problem_count"] for r in results)
        examples = [p for r in results for p in r["problems"]]
        for r in results:
            self.assertGreater(r["reads"], 0)
        self.assertEqual(problems, 0,
                             "%d of %d reads saw a partial value, e.g. %r"
                             % (problems, reads, examples[:10]))


def cat(path):
    """The file's content as another process reads it."""
    return t.run(["cat", path]).stdout


class WriterReaderOrderTest(t.TempDirTestCase):
    """Deterministic interleavings of one writer and one reader process."""

    def setUp(self):
        super().setUp()
        self.db = os.path.join(self.dir, "db")
        self.old, self.new = hot_value(100000, 1), hot_value(100000, 2)

    # Inside the mount a reader sees the writer's state as on ext4: empty
    # after O_TRUNC, then the bytes written so far. The store keeps the old
    # value, whole, until the writer's close.
    def test_reader_during_a_write_sees_the_writers_bytes_and_the_store_the_old_value(self):
        with t.Mount(self.db, create=True) as m:
            path = m.path("f")
            with open(path, "wb") as f:
                f.write(self.old)
            with open(path, "wb") as writer:
                seen_after_truncate = cat(path)
                writer.write(self.new[:50000])
                writer.flush()
                seen_mid_write = cat(path)
                writer.write(self.new[50000:])
        self.assertEqual(seen_after_truncate, b"")
        self.assertEqual(seen_mid_write, self.new[:50000])
        self.assertEqual(t.ldb_scan(self.db)[b"f"], self.new)

    # Readers see the old value while the writer has the file open, and the
    # new one, whole, as soon as the writer's close returns.
    def test_open_after_the_writer_closes_sees_the_new_value(self):
        small_old, small_new = hot_value(1000, 1), hot_value(1000, 2)
        with t.Mount(self.db, create=True) as m:
            path = m.path("f")
            with open(path, "wb") as f:
                f.write(small_old)
            with open(path, "wb") as writer:
                writer.write(small_new)
                writer.flush()
                with open(path, "rb") as reader:
                    reader.read()  # a read while the write is open
            after_close = cat(path)
            m.unmount()
        self.assertEqual(t.ldb_get(self.db, b"f"), small_new)
        self.assertEqual(hot_problem(after_close), None)
        self.assertEqual(after_close, small_new)

    def test_reader_opened_before_a_write_and_new_opens_after_it(self):
        # Without reads racing the write, opens after the close see the new
        # value, and the DB holds it.
        with t.Mount(self.db, create=True) as m:
            path = m.path("f")
            with open(path, "wb") as f:
                f.write(self.old)
            self.assertEqual(cat(path), self.old)
            with open(path, "wb") as writer:
                writer.write(self.new)
            self.assertEqual(cat(path), self.new)
            m.unmount()
        self.assertEqual(t.ldb_get(self.db, b"f"), self.new)


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
