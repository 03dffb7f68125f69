#!/usr/bin/env python3
"""The control directory /.rocksfs (SPEC section 5): snapshots are read-only
point-in-time trees that survive unmount and crashes, are hidden from find and
du, and can be mounted on their own (-o snapshot=NAME); cf/ shows the other
column families; stats is a fresh text file at each open; a secondary mount
(-o secondary) follows a primary mount of the same DB."""

import errno
import os
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

KiB = 1 << 10


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


write, read = t.write_file, t.read_file


def create_file(path):
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def tree(root):
    """Everything under root: {"rel/file": bytes, "rel/dir/": None}. Errors
    while walking raise (os.walk would skip them silently)."""
    result = {}

    def fail(e):
        raise e

    for dirpath, dirnames, filenames in os.walk(root, onerror=fail):
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == "." else rel + "/"
        for d in dirnames:
            result[prefix + d + "/"] = None
        for f in filenames:
            result[prefix + f] = read(os.path.join(dirpath, f))
    return result


def snapshots_dir(m):
    return m.path(".rocksfs/snapshots")


def take_snapshot(m, name):
    os.mkdir(os.path.join(snapshots_dir(m), name))
    return os.path.join(snapshots_dir(m), name)


class ControlTestCase(t.DbTestCase):
    pass


# --- 1. point in time ----------------------------------------------------------

# Keeps replacing ROOT/pair (files a and b, both "N") atomically: build new/
# (each file written under a temporary name, then renamed, so a file is never
# seen half written), rename pair -> old, new -> pair, remove old.
WRITER_CODE = r'''
import os, sys, time
root, stop, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
p = lambda *parts: os.path.join(root, *parts)
deadline = time.monotonic() + seconds
n = 0
while time.monotonic() < deadline and not os.path.exists(stop):
    n += 1
    os.mkdir(p("new"))
    for name in ("a", "b"):
        with open(p("new", name + ".tmp"), "wb") as f:
            f.write(b"%d" % n)
        os.rename(p("new", name + ".tmp"), p("new", name))
    os.rename(p("pair"), p("old"))
    os.rename(p("new"), p("pair"))
    os.unlink(p("old", "a"))
    os.unlink(p("old", "b"))
    os.rmdir(p("old"))
print(n)
'''


class PointInTimeTest(ControlTestCase):
    def test_snapshots_never_see_half_a_rename(self):
        with t.Mount(self.db, create=True) as m:
            os.mkdir(m.path("pair"))
            write(m.path("pair/a"), b"0")
            write(m.path("pair/b"), b"0")
            stop = os.path.join(self.dir, "stop")
            writer = subprocess.Popen([sys.executable, "-c", WRITER_CODE, m.root, stop, "20"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            names = []
            try:
                time.sleep(0.3)
                start = time.monotonic()
                for i in range(10):
                    if time.monotonic() - start > 8:
                        break
                    names.append("s%02d" % i)
                    take_snapshot(m, names[-1])
                    time.sleep(0.25)
            finally:
                with open(stop, "w"):
                    pass
                out, err = writer.communicate(timeout=30)
            self.assertEqual(writer.returncode, 0, "writer failed: %s" % err.decode())
            iterations = int(out)
            self.assertGreater(iterations, 20, "the writer hardly ran")
            self.assertGreaterEqual(len(names), 5)

            pair_values = []  # (snapshot, N of pair/) in the order taken
            for name in names:
                snap = tree(os.path.join(snapshots_dir(m), name))
                tops = {k.split("/", 1)[0] for k in snap}
                self.assertLessEqual(tops, {"pair", "old", "new"}, "%s: %s" % (name, sorted(snap)))
                dirs = {k[:-1] for k in snap if k.endswith("/")}
                for d in dirs:
                    a, b = snap.get(d + "/a"), snap.get(d + "/b")
                    if a is not None and b is not None:
                        self.assertEqual(a, b, "snapshot %s: %s/a=%r but %s/b=%r"
                                         % (name, d, a, d, b))
                        self.assertRegex(a.decode("latin-1"), r"^\d+$", "%s: %s/a" % (name, d))
                if "pair/" in snap:
                    # pair/ is only ever renamed into place complete.
                    self.assertIn("pair/a", snap, "snapshot %s: pair/ without a" % name)
                    self.assertIn("pair/b", snap, "snapshot %s: pair/ without b" % name)
                    pair_values.append((name, int(snap["pair/a"])))
            self.assertGreaterEqual(len(pair_values), 1, "no snapshot holds pair/")
            # Later snapshots are later points in time.
            values = [v for _, v in pair_values]
            self.assertEqual(values, sorted(values), "pair/ went back in time: %s" % pair_values)
            self.assertGreater(len(set(values)), 1,
                               "every snapshot shows the same pair/: %s" % pair_values)
            self.assertLessEqual(max(values), iterations)


# --- 2. durability and mtimes --------------------------------------------------

class SnapshotDurabilityTest(ControlTestCase):
    def ls_mtimes(self, m):
        """{name: mtime seconds} from `ls -l --time-style=+%s` of snapshots/."""
        out = t.run(["ls", "-l", "--time-style=+%s", snapshots_dir(m)]).stdout.decode()
        result = {}
        for line in out.splitlines():
            if line.startswith("total"):
                continue
            fields = line.split(None, 6)
            self.assertEqual(len(fields), 7, "unexpected ls -l line: %r" % line)
            self.assertTrue(fields[0].startswith("d"), "not a directory: %r" % line)
            result[fields[6]] = int(fields[5])
        return result

    def check(self, m, expected, taken):
        for name, want in expected.items():
            self.assertEqual(tree(os.path.join(snapshots_dir(m), name)), want, name)
        self.assertEqual(sorted(os.listdir(snapshots_dir(m))), sorted(expected))
        ls = self.ls_mtimes(m)
        self.assertEqual(sorted(ls), sorted(expected))
        for name, (before, after) in taken.items():
            mtime = os.stat(os.path.join(snapshots_dir(m), name)).st_mtime
            self.assertTrue(before - 1.0 <= mtime <= after + 1.0,
                            "%s: mtime %.3f, taken between %.3f and %.3f" % (name, mtime, before, after))
            self.assertTrue(int(before) - 1 <= ls[name] <= after + 1,
                            "ls -l: %s at %d, taken between %.3f and %.3f" % (name, ls[name], before, after))

    def test_snapshots_survive_remount_and_kill_9(self):
        blob = os.urandom(200 * KiB)
        expected, taken = {}, {}
        with t.Mount(self.db, create=True) as m:
            os.mkdir(m.path("docs"))
            write(m.path("docs/readme"), b"version 1")
            write(m.path("blob"), blob)
            write(m.path("top"), b"top")
            before = time.time()
            take_snapshot(m, "first")
            taken["first"] = (before, time.time())
            expected["first"] = {"docs/": None, "docs/readme": b"version 1", "blob": blob,
                                 "top": b"top"}

            write(m.path("docs/readme"), b"version 2")
            os.unlink(m.path("top"))
            os.mkdir(m.path("empty"))
            time.sleep(2.5)  # so that the two snapshots' mtimes are told apart
            before = time.time()
            take_snapshot(m, "second")
            taken["second"] = (before, time.time())
            expected["second"] = {"docs/": None, "docs/readme": b"version 2", "blob": blob,
                                  "empty/": None}
            write(m.path("after"), b"not in any snapshot")
            self.check(m, expected, taken)
            m.unmount()

        with t.Mount(self.db) as m:
            self.check(m, expected, taken)
            m.kill()  # kill -9 while the snapshots are open

        with t.Mount(self.db) as m:
            self.check(m, expected, taken)
            self.assertEqual(tree(m.root), {"docs/": None, "docs/readme": b"version 2",
                                            "blob": blob, "empty/": None,
                                            "after": b"not in any snapshot"})
            m.unmount()


# --- 3. read-only snapshots ------------------------------------------------------

class SnapshotReadOnlyTest(ControlTestCase):
    def test_every_change_inside_a_snapshot_is_erofs(self):
        with t.Mount(self.db, create=True) as m:
            os.mkdir(m.path("d"))
            os.mkdir(m.path("empty"))
            write(m.path("d/f"), b"data")
            write(m.path("g"), b"gee")
            os.chmod(m.path("g"), 0o640)
            os.setxattr(m.path("g"), "user.k", b"v")
            os.symlink("g", m.path("link"))
            s = take_snapshot(m, "s")
            sp = lambda rel: os.path.join(s, rel)  # noqa: E731

            live_before = tree(m.root)
            snap_before = tree(s)
            self.assertEqual(snap_before, {"d/": None, "empty/": None, "d/f": b"data",
                                           "g": b"gee", "link": b"gee"})

            E = errno.EROFS
            self.assertErrno(E, open, sp("d/f"), "wb")
            self.assertErrno(E, open, sp("d/f"), "ab")
            self.assertErrno(E, os.open, sp("d/f"), os.O_RDWR)
            self.assertErrno(E, create_file, sp("new"))
            self.assertErrno(E, create_file, sp("d/new"))
            self.assertErrno(E, os.truncate, sp("g"), 0)
            self.assertErrno(E, os.rename, sp("d/f"), sp("d/f2"))
            self.assertErrno(E, os.rename, sp("g"), sp("d/g"))
            self.assertErrno(E, os.rename, sp("d"), sp("d2"))
            self.assertErrno(E, os.unlink, sp("g"))
            self.assertErrno(E, os.unlink, sp("link"))
            self.assertErrno(E, os.rmdir, sp("empty"))
            self.assertErrno(E, os.chmod, sp("g"), 0o600)
            self.assertErrno(E, os.chmod, sp("d"), 0o700)
            self.assertErrno(E, os.utime, sp("g"), (1, 1))
            self.assertErrno(E, os.mkdir, sp("newdir"))
            self.assertErrno(E, os.mkdir, sp("d/newdir"))
            self.assertErrno(E, os.symlink, "g", sp("link2"))
            self.assertErrno(E, os.setxattr, sp("g"), "user.k", b"changed")
            self.assertErrno(E, os.setxattr, sp("d"), "user.new", b"1")
            self.assertErrno(E, os.removexattr, sp("g"), "user.k")

            # Nothing changed, in the snapshot or in the live tree.
            self.assertEqual(tree(s), snap_before)
            self.assertEqual(tree(m.root), live_before)
            self.assertEqual(stat.S_IMODE(os.stat(m.path("g")).st_mode), 0o640)
            self.assertEqual(stat.S_IMODE(os.stat(sp("g")).st_mode), 0o440)  # no write bits
            self.assertEqual(os.getxattr(m.path("g"), "user.k"), b"v")
            self.assertEqual(os.getxattr(sp("g"), "user.k"), b"v")
            m.unmount()
        scanned = t.ldb_scan(self.db)
        self.assertEqual(scanned, {b"d/f": b"data", b"g": b"gee", b"link": b"g"})


# --- 4. hidden from find and du ---------------------------------------------------

class HiddenControlDirTest(ControlTestCase):
    def test_find_and_du_skip_the_control_dir(self):
        t.ldb_put(self.db, b".rocksfs", b"a real root key")
        t.ldb_load(self.db, {b"d/one": os.urandom(96 * KiB), b"d/two": os.urandom(64 * KiB),
                             b"three": os.urandom(128 * KiB)})
        with t.Mount(self.db) as m:
            expected = {m.root, m.path("%{2E}rocksfs"), m.path("d"), m.path("d/one"),
                        m.path("d/two"), m.path("three")}

            def find():
                return set(t.run(["find", m.root]).stdout.decode().splitlines())

            def du():
                return (t.run(["du", "-s", m.root]).stdout.split()[0],
                        t.run(["du", "-sb", m.root]).stdout.split()[0])

            self.assertEqual(find(), expected)
            du_before = du()
            self.assertGreaterEqual(int(du_before[1]), (96 + 64 + 128) * KiB)

            take_snapshot(m, "one")
            take_snapshot(m, "two")
            os.mkdir(m.path(".rocksfs/cf/extra"))
            write(m.path(".rocksfs/cf/extra/big"), os.urandom(256 * KiB))
            self.assertEqual(len(os.listdir(snapshots_dir(m))), 2)

            self.assertEqual(find(), expected)
            self.assertEqual(du(), du_before)
            ls_a = t.run(["ls", "-a", m.root]).stdout.decode().split()
            self.assertNotIn(".rocksfs", ls_a)
            self.assertNotIn(".rocksfs", os.listdir(m.root))
            st = os.stat(m.path(".rocksfs"))
            self.assertTrue(stat.S_ISDIR(st.st_mode))
            self.assertLessEqual({"snapshots", "cf", "stats"}, set(os.listdir(m.path(".rocksfs"))))
            # The real key is there, escaped, with its value.
            self.assertIn("%{2E}rocksfs", os.listdir(m.root))
            self.assertEqual(read(m.path("%{2E}rocksfs")), b"a real root key")
            # ...and it is in the snapshots too.
            self.assertEqual(read(m.path(".rocksfs/snapshots/one/%{2E}rocksfs")),
                             b"a real root key")
            m.unmount()
        self.assertEqual(t.ldb_get(self.db, b".rocksfs"), b"a real root key")


# --- 5. deleting snapshots, names ----------------------------------------------------

class SnapshotNamesTest(ControlTestCase):
    def test_rmdir_deletes_and_names_are_checked(self):
        stored = os.path.join(self.db, ".rocksfs", "snapshots")
        with t.Mount(self.db, create=True) as m:
            write(m.path("f"), b"old")
            take_snapshot(m, "s1")
            take_snapshot(m, "s2")
            self.assertEqual(sorted(os.listdir(snapshots_dir(m))), ["s1", "s2"])
            self.assertEqual(sorted(os.listdir(stored)), ["s1", "s2"])

            self.assertErrno(errno.EEXIST, os.mkdir, os.path.join(snapshots_dir(m), "s1"))
            for bad in ("x.tmp", "s1.tmp"):
                self.assertErrno(errno.EINVAL, os.mkdir, os.path.join(snapshots_dir(m), bad))
            self.assertEqual(sorted(os.listdir(snapshots_dir(m))), ["s1", "s2"])
            self.assertEqual(sorted(os.listdir(stored)), ["s1", "s2"])

            self.assertEqual(read(m.path(".rocksfs/snapshots/s1/f")), b"old")
            os.rmdir(os.path.join(snapshots_dir(m), "s1"))
            self.assertEqual(os.listdir(snapshots_dir(m)), ["s2"])
            self.assertEqual(os.listdir(stored), ["s2"])
            self.assertFalse(os.path.lexists(os.path.join(snapshots_dir(m), "s1")))
            self.assertErrno(errno.ENOENT, os.rmdir, os.path.join(snapshots_dir(m), "s1"))

            # A new snapshot under a deleted one's name is a new point in time.
            write(m.path("f"), b"new")
            take_snapshot(m, "s1")
            self.assertEqual(read(m.path(".rocksfs/snapshots/s1/f")), b"new")
            self.assertEqual(read(m.path(".rocksfs/snapshots/s2/f")), b"old")
            m.unmount()


# --- 6. mounting a snapshot ---------------------------------------------------------

class SnapshotMountTest(ControlTestCase):
    def test_mount_snapshot_read_only(self):
        with t.Mount(self.db, create=True) as m:
            os.mkdir(m.path("dir"))
            write(m.path("dir/file"), b"in the snapshot")
            write(m.path("top"), b"top")
            take_snapshot(m, "snap")
            expected = tree(os.path.join(snapshots_dir(m), "snap"))
            self.assertEqual(expected, {"dir/": None, "dir/file": b"in the snapshot",
                                        "top": b"top"})
            write(m.path("dir/file"), b"changed later")
            write(m.path("later"), b"later")
            m.unmount()

        with t.Mount(self.db, options=["snapshot=snap"]) as s:
            self.assertEqual(tree(s.root), expected)
            self.assertErrno(errno.EROFS, open, s.path("dir/file"), "wb")
            self.assertErrno(errno.EROFS, create_file, s.path("new"))
            self.assertErrno(errno.EROFS, os.mkdir, s.path("newdir"))
            self.assertErrno(errno.EROFS, os.unlink, s.path("top"))
            self.assertTrue(os.statvfs(s.root).f_flag & os.ST_RDONLY)
            s.unmount()

        mnt2 = os.path.join(self.dir, "mnt2")
        os.mkdir(mnt2)
        proc = t.run([t.mount_binary(), self.db, mnt2, "-o", "snapshot=missing"], check=False,
                     timeout=30)
        err = proc.stderr.decode()
        if t.is_mounted(mnt2):
            t.force_unmount(mnt2)
            self.fail("-o snapshot=missing mounted")
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(len(err.strip().splitlines()), 1, "not one line: %r" % err)
        self.assertIn("missing", err)
        # The live data is untouched.
        self.assertEqual(t.ldb_get(self.db, b"dir/file"), b"changed later")


# --- 7. column families ---------------------------------------------------------------

class ColumnFamilyTest(ControlTestCase):
    def test_cf_directory(self):
        t.ldb_put(self.db, b"live", b"live value")
        t.ldb(self.db, "create_column_family", "users")
        t.ldb(self.db, "--column_family=users", "put", "k", "v")
        self.assertIn("users", t.ldb_column_families(self.db))
        cfdir = None
        with t.Mount(self.db) as m:
            cfdir = m.path(".rocksfs/cf")
            os.mkdir(m.path("somedir"))  # metadata for the default CF
            write(m.path("moveme"), b"stay")
            self.assertEqual(read(os.path.join(cfdir, "users/k")), b"v")
            self.assertEqual(os.listdir(os.path.join(cfdir, "users")), ["k"])
            write(os.path.join(cfdir, "users/new"), b"written through the mount")
            os.mkdir(os.path.join(cfdir, "users/sub"))  # metadata for users
            os.mkdir(os.path.join(cfdir, "logs"))
            self.assertTrue(os.path.isdir(os.path.join(cfdir, "logs")))
            self.assertErrno(errno.EEXIST, os.mkdir, os.path.join(cfdir, "users"))
            self.assertEqual(sorted(os.listdir(cfdir)), ["logs", "users"])
            for hidden in ("default", "rocksfs.meta", "rocksfs.meta.users"):
                self.assertFalse(os.path.lexists(os.path.join(cfdir, hidden)), hidden)

            self.assertErrno(errno.ENOTEMPTY, os.rmdir, os.path.join(cfdir, "users"))
            os.mkdir(os.path.join(cfdir, "scratch"))
            self.assertEqual(sorted(os.listdir(cfdir)), ["logs", "scratch", "users"])
            os.rmdir(os.path.join(cfdir, "scratch"))
            self.assertEqual(sorted(os.listdir(cfdir)), ["logs", "users"])
            self.assertFalse(os.path.lexists(os.path.join(cfdir, "scratch")))

            self.assertErrno(errno.EXDEV, os.rename, m.path("moveme"),
                             os.path.join(cfdir, "users/moveme"))
            self.assertEqual(read(m.path("moveme")), b"stay")
            self.assertFalse(os.path.lexists(os.path.join(cfdir, "users/moveme")))
            m.unmount()

        cfs = t.ldb_column_families(self.db)
        self.assertIn("logs", cfs)
        self.assertIn("users", cfs)
        self.assertNotIn("scratch", cfs)
        self.assertTrue(any(c.startswith("rocksfs.meta") for c in cfs), cfs)  # hidden, not absent
        self.assertEqual(t.ldb_get(self.db, b"new", cf="users"), b"written through the mount")
        self.assertEqual(t.ldb(self.db, "--column_family=users", "get", "new").strip(),
                         "written through the mount")
        self.assertEqual(t.ldb_get(self.db, b"k", cf="users"), b"v")
        self.assertIsNone(t.ldb_get(self.db, b"moveme", cf="users"))

        # Mounting another CF: then "default" is one of the others, "users" is not.
        with t.Mount(self.db, options=["cf=users"]) as m:
            self.assertEqual(read(m.path("k")), b"v")
            cfdir = m.path(".rocksfs/cf")
            self.assertEqual(sorted(os.listdir(cfdir)), ["default", "logs"])
            self.assertEqual(read(os.path.join(cfdir, "default/live")), b"live value")
            m.unmount()


# --- 8. stats ---------------------------------------------------------------------------

class StatsTest(ControlTestCase):
    def test_stats_fresh_at_each_open(self):
        with t.Mount(self.db, create=True) as m:
            stats = m.path(".rocksfs/stats")
            st = os.stat(stats)
            self.assertTrue(stat.S_ISREG(st.st_mode))
            first = read(stats).decode()
            self.assertTrue(first.endswith("\n"))
            c1 = t.parse_counters(first)
            for name in ("requests.lookup", "requests.total", "commits"):
                self.assertIn(name, c1, first[:2000])

            for i in range(5):
                write(m.path("file%d" % i), b"x" * (i + 1))
                os.stat(m.path("file%d" % i))
                self.assertFalse(os.path.exists(m.path("nothing%d" % i)))
            os.listdir(m.root)

            second = read(stats).decode()
            c2 = t.parse_counters(second)
            self.assertGreater(c2["requests.lookup"], c1["requests.lookup"])
            self.assertGreaterEqual(c2["commits"], c1["commits"] + 5)
            self.assertGreater(c2["requests.total"], c1["requests.total"])
            self.assertIn("\n# RocksDB\n", second)
            self.assertRegex(second.split("# RocksDB", 1)[1], r"\nrocksdb\.[a-z.]+ COUNT : \d+\n")
            self.assertErrno(errno.EACCES, open, stats, "wb")
            m.unmount()

        with t.Mount(self.db, options=["ro"]) as m:
            text = read(m.path(".rocksfs/stats")).decode()
            self.assertIn("requests.lookup", t.parse_counters(text))
            self.assertIn("# RocksDB", text)
            self.assertErrno(errno.EROFS, os.mkdir, m.path(".rocksfs/snapshots/x"))
            m.unmount()


# --- 9. secondary ------------------------------------------------------------------------

class SecondaryTest(ControlTestCase):
    def wait_for(self, predicate, what, timeout=2.5):
        if not t.wait_until(predicate, timeout=timeout, interval=0.05):
            self.fail("secondary did not see %s within %.1f s" % (what, timeout))

    def content(self, s, name):
        try:
            return read(s.path(name))
        except FileNotFoundError:
            return None

    def test_secondary_follows_primary_content(self):
        with t.Mount(self.db, create=True) as p:
            write(p.path("before"), b"there at start")
            with t.Mount(self.db, options=["secondary", "catchup_ms=200"]) as s:
                self.assertEqual(read(s.path("before")), b"there at start")
                os.mkdir(p.path("dir"))
                write(p.path("dir/new"), b"from the primary")
                write(p.path("top"), b"top")
                self.wait_for(lambda: self.content(s, "top") == b"top", "top's content")
                self.wait_for(lambda: self.content(s, "dir/new") == b"from the primary",
                              "dir/new")

                # Changes to files it has read already.
                write(p.path("top"), b"top, version 2")
                self.wait_for(lambda: self.content(s, "top") == b"top, version 2",
                              "the new content")
                os.unlink(p.path("before"))
                self.wait_for(lambda: not os.path.lexists(s.path("before")), "the unlink")

                self.assertErrno(errno.EROFS, open, s.path("top"), "wb")
                self.assertErrno(errno.EROFS, create_file, s.path("fresh"))
                self.assertErrno(errno.EROFS, os.mkdir, s.path("fresh_dir"))
                self.assertErrno(errno.EROFS, os.unlink, s.path("top"))
                self.assertErrno(errno.EROFS, os.rename, s.path("top"), s.path("top2"))
                self.assertEqual(read(p.path("top")), b"top, version 2")
                self.assertFalse(os.path.lexists(p.path("fresh")))
                s.unmount()
            p.unmount()

    # Listings on a secondary follow the primary too (no kernel readdir
    # cache on secondary mounts).
    def test_secondary_follows_primary_listing(self):
        with t.Mount(self.db, create=True) as p:
            write(p.path("before"), b"there at start")
            os.mkdir(p.path("dir"))
            with t.Mount(self.db, options=["secondary", "catchup_ms=200"]) as s:
                self.assertEqual(os.listdir(s.root), ["before", "dir"])
                self.assertEqual(os.listdir(s.path("dir")), [])
                write(p.path("top"), b"top")
                write(p.path("dir/new"), b"new")
                self.wait_for(lambda: sorted(os.listdir(s.root)) == ["before", "dir", "top"],
                              "top in the listing")
                self.wait_for(lambda: os.listdir(s.path("dir")) == ["new"], "dir/new listed")
                os.unlink(p.path("before"))
                self.wait_for(lambda: sorted(os.listdir(s.root)) == ["dir", "top"],
                              "before gone from the listing")
                s.unmount()
            p.unmount()


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
