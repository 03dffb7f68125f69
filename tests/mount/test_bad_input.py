#!/usr/bin/env python3
"""Bad input, beyond tests/mount/test_errors.py: escaped NUL, '.', '..' and
invalid UTF-8 in names, a truncate to 4 GiB, a directory renamed into its
own subtree, rmdir of the mount's root, files used after their unlink, and
conflicting mount options. Each gets its documented errno or one-line
message; the daemon stays up and the DB stays valid (ldb checkconsistency).
"""

import errno
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

GiB = 1 << 30


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


write, read = t.write_file, t.read_file


class BadInputTest(t.DbTestCase):
    def assertServing(self, m):
        self.assertTrue(m.running(), "the daemon exited:\n%s" % m.log())
        write(m.path("still-alive"), b"yes")
        self.assertEqual(read(m.path("still-alive")), b"yes")
        os.unlink(m.path("still-alive"))

    def test_names(self):
        with t.Mount(self.db, create=True) as m:
            # NUL, '.', '..' and bytes that are not UTF-8 exist only escaped.
            write(m.path("x%{00}y"), b"nul")
            write(m.path("%{2E}"), b"dot")
            write(m.path("%{2E}."), b"dotdot")
            write(m.path("bad%{FFFE}"), b"latin")
            listed = os.listdir(m.root)
            for name in ("x%{00}y", "%{2E}", "%{2E}.", "bad%{FFFE}"):
                self.assertIn(name, listed)
            self.assertEqual(read(m.path("%{2E}")), b"dot")
            # The raw bytes are not a spelling of those keys.
            self.assertErrno(errno.EINVAL, write, os.fsencode(m.path("")) + b"bad\xff\xfe", b"x")
            # "." and ".." are the directories themselves, not files.
            self.assertErrno(errno.EISDIR, write, m.path("."), b"x")
            self.assertErrno(errno.EEXIST, os.mkdir, m.path(".."))
            # NAME_MAX, escapes included: a name of 255 bytes works, 256 do not.
            name255 = "%{" + "00" * 126 + "}"
            write(m.path(name255), b"126 NULs")
            self.assertErrno(errno.ENAMETOOLONG, write, m.path(name255 + "a"), b"x")
            self.assertServing(m)
            m.unmount()
        t.ldb(self.db, "checkconsistency")
        scanned = t.ldb_scan(self.db)
        self.assertEqual(scanned[b"x\0y"], b"nul")
        self.assertEqual(scanned[b"."], b"dot")
        self.assertEqual(scanned[b".."], b"dotdot")
        self.assertEqual(scanned[b"bad\xff\xfe"], b"latin")
        self.assertEqual(scanned[b"\0" * 126], b"126 NULs")

    def test_sizes_and_directories(self):
        with t.Mount(self.db, create=True) as m:
            write(m.path("f"), b"small")
            self.assertErrno(errno.EFBIG, os.truncate, m.path("f"), 4 * GiB)
            fd = os.open(m.path("f"), os.O_RDWR)
            try:
                self.assertErrno(errno.EFBIG, os.ftruncate, fd, 4 * GiB)
                self.assertErrno(errno.EFBIG, os.pwrite, fd, b"x", 4 * GiB)
            finally:
                os.close(fd)
            self.assertEqual(read(m.path("f")), b"small")

            os.makedirs(m.path("a/b"))
            write(m.path("a/b/leaf"), b"leaf")
            self.assertErrno(errno.EINVAL, os.rename, m.path("a"), m.path("a/b/c"))
            self.assertErrno(errno.EINVAL, os.rename, m.path("a"), m.path("a/inside"))
            self.assertEqual(read(m.path("a/b/leaf")), b"leaf")
            # The root of the mount is busy (a mount point), not removable.
            with self.assertRaises(OSError) as cm:
                os.rmdir(m.root)
            self.assertIn(cm.exception.errno, (errno.EBUSY, errno.ENOTEMPTY, errno.EPERM))
            self.assertTrue(os.path.isdir(m.root))
            self.assertServing(m)
            m.unmount()
        t.ldb(self.db, "checkconsistency")
        self.assertEqual(t.ldb_get(self.db, b"f"), b"small")
        self.assertEqual(t.ldb_get(self.db, b"a/b/leaf"), b"leaf")

    def test_files_used_after_unlink(self):
        with t.Mount(self.db, create=True) as m:
            write(m.path("victim"), b"committed")
            reader = os.open(m.path("victim"), os.O_RDONLY)
            writer = os.open(m.path("victim"), os.O_RDWR)
            try:
                os.write(writer, b"changed")
                os.unlink(m.path("victim"))
                self.assertFalse(os.path.exists(m.path("victim")))
                # Both descriptors keep working on the file they share.
                self.assertEqual(os.pread(reader, 100, 0), b"changeded")
                self.assertEqual(os.pread(writer, 100, 0), b"changeded")
                os.pwrite(writer, b"more", 9)
                self.assertEqual(os.pread(writer, 100, 0), b"changededmore")
                os.fsync(writer)
                self.assertEqual(os.fstat(reader).st_nlink, 0)
            finally:
                os.close(writer)
                os.close(reader)
            # Nothing came back under the old name.
            self.assertFalse(os.path.exists(m.path("victim")))
            write(m.path("victim"), b"new file")
            self.assertEqual(read(m.path("victim")), b"new file")
            self.assertServing(m)
            m.unmount()
        t.ldb(self.db, "checkconsistency")
        self.assertEqual(t.ldb_get(self.db, b"victim"), b"new file")

    def test_conflicting_mount_options(self):
        t.ldb_put(self.db, b"k", b"v")
        mnt = os.path.join(self.dir, "mnt")
        os.mkdir(mnt)
        self.addCleanup(t.force_unmount, mnt)
        for options, words in (("create,ro", ("create", "ro")),
                               ("create,secondary", ("create", "secondary")),
                               ("secondary,snapshot=x", ("secondary", "snapshot")),
                               ("create,snapshot=x", ("create", "snapshot")),
                               ("threads=0", ("threads",)),
                               ("max_value_size=0", ("max_value_size",)),
                               ("delimiter=ab", ("delimiter",)),
                               ("ttl=-1", ("ttl",)),
                               ("cf=", ("cf",)),
                               ("ro,rw,ro,frob", ("frob",))):
            with self.subTest(options=options):
                proc = t.run([t.mount_binary(), self.db, mnt, "-o", options], check=False,
                             timeout=60)
                err = proc.stderr.decode("utf-8", "replace")
                self.assertNotEqual(proc.returncode, 0, err)
                self.assertEqual(len(err.splitlines()), 1, "not one line: %r" % err)
                for word in words:
                    self.assertIn(word, err)
                self.assertFalse(t.is_mounted(mnt))
        t.ldb(self.db, "checkconsistency")
        self.assertEqual(t.ldb_get(self.db, b"k"), b"v")


    def test_ttl_mount_of_a_db_written_without_ttl(self):
        # Values too short to carry DBWithTTL's timestamp: the listing fails
        # with EIO (RocksDB's own TTL iterator would abort the daemon), the
        # daemon stays up, and the data is untouched.
        t.ldb_load(self.db, [(b"d/a", b"v"), (b"b", b"x")])
        with t.Mount(self.db, options=["ttl=3600"]) as m:
            self.assertErrno(errno.EIO, os.listdir, m.root)
            self.assertTrue(m.running(), m.log())
            self.assertTrue(os.path.ismount(m.root))
            m.unmount()
        self.assertEqual(t.ldb_get(self.db, b"d/a"), b"v")
        self.assertEqual(t.ldb_get(self.db, b"b"), b"x")


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
