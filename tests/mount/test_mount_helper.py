#!/usr/bin/env python3
"""mount(8) runs mount.rocksfs as its helper: `mount -t fuse.rocksfs DB MNT
-o create` mounts once /sbin/mount.fuse.rocksfs points at mount.rocksfs, and
`umount MNT` ends the daemon (SPEC section 1)."""

import errno
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

HELPER = "/sbin/mount.fuse.rocksfs"


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()
    if shutil.which("mount") is None or shutil.which("umount") is None:
        raise unittest.SkipTest("mount/umount (util-linux) are not installed")
    if os.geteuid() != 0:
        raise unittest.SkipTest("mount -t fuse.rocksfs needs root here (no fstab user entry)")


def read(path):
    with open(path, "rb") as f:
        return f.read()


class MountHelperTest(t.TempDirTestCase):
    def setUp(self):
        super().setUp()
        if not os.path.lexists(HELPER):
            os.symlink(t.mount_binary(), HELPER)
            self.addCleanup(os.unlink, HELPER)
        elif os.path.realpath(HELPER) != os.path.realpath(t.mount_binary()):
            print("note: %s exists and points at %s, not at this build"
                  % (HELPER, os.path.realpath(HELPER)), file=sys.stderr)
        self.db = os.path.join(self.dir, "db")
        self.mnt = os.path.join(self.dir, "mnt")
        os.mkdir(self.mnt)
        self.addCleanup(t.force_unmount, self.mnt)

    def test_mount_t_fuse_rocksfs_creates_and_mounts(self):
        proc = t.run(["mount", "-t", "fuse.rocksfs", self.db, self.mnt, "-o", "create"],
                     check=False, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode("utf-8", "replace"))
        self.assertTrue(t.is_mounted(self.mnt))
        self.assertTrue(os.path.exists(os.path.join(self.db, "CURRENT")))
        pids = t.daemon_pids(self.mnt)
        self.assertEqual(len(pids), 1, "daemon processes: %r" % pids)
        with open("/proc/self/mountinfo") as f:
            line = next(l for l in f if l.split(" ")[4] == os.path.realpath(self.mnt))
        self.assertIn(" - fuse.rocksfs ", line)

        with open(os.path.join(self.mnt, "hello"), "wb") as f:
            f.write(b"from mount(8)")
        self.assertEqual(os.listdir(self.mnt), ["hello"])

        t.run(["umount", self.mnt], timeout=60)
        self.assertFalse(t.is_mounted(self.mnt))
        self.assertTrue(t.wait_until(lambda: not t.pid_alive(pids[0]), timeout=20),
                        "the daemon did not exit after umount")
        self.assertEqual(t.ldb_get(self.db, b"hello"), b"from mount(8)")

    def test_mount_t_with_options_ro(self):
        t.ldb_put(self.db, b"k", b"v")
        t.run(["mount", "-t", "fuse.rocksfs", self.db, self.mnt, "-o", "ro,threads=2"],
              timeout=60)
        self.assertEqual(read(os.path.join(self.mnt, "k")), b"v")
        with self.assertRaises(OSError) as cm:
            open(os.path.join(self.mnt, "new"), "wb").close()
        self.assertEqual(cm.exception.errno, errno.EROFS)
        t.run(["umount", self.mnt], timeout=60)
        self.assertFalse(t.is_mounted(self.mnt))

    def test_mount_t_missing_db_fails(self):
        proc = t.run(["mount", "-t", "fuse.rocksfs", self.db, self.mnt], check=False, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"not found", proc.stderr)
        self.assertFalse(t.is_mounted(self.mnt))


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
