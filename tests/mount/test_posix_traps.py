#!/usr/bin/env python3
"""POSIX traps a local filesystem gets right, each checked on a real mount:
owners of new files, ENAMETOOLONG, st_blksize, unlinked-but-open files, the
sticky bit and setgid directories (as uid 65534 through -o
allow_other,default_permissions), access(2) without default_permissions,
defaults and stable times of keys without metadata, metadata across
remounts, and statfs figures (df, df -i)."""

import errno
import os
import shutil
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

NOBODY = 65534
SETPRIV = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"]


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


def as_nobody(*command, check=True):
    """Runs command as uid/gid 65534 with no supplementary groups."""
    return t.run(SETPRIV + list(command), check=check)


def write(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class TrapsTest(t.TempDirTestCase):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root (setpriv, allow_other)")
        os.chmod(self.dir, 0o755)  # uid 65534 must reach the mount point
        self.db = os.path.join(self.dir, "db")
        self.mountpoint = os.path.join(self.dir, "mnt")
        os.mkdir(self.mountpoint)

    def mount(self, *options, create=True):
        m = t.Mount(self.db, options=list(options), create=create, mountpoint=self.mountpoint)
        m.start()
        self.addCleanup(m.__exit__, None, None, None)
        return m

    def assertErrno(self, code, func, *args, **kwargs):
        with self.assertRaises(OSError, msg="%s%r did not fail" % (func.__name__, args)) as cm:
            func(*args, **kwargs)
        self.assertEqual(cm.exception.errno, code, "%s%r: %s, expected %s" % (
            func.__name__, args, cm.exception, errno.errorcode[code]))

    # -- owners and permissions ------------------------------------------------

    def test_new_files_and_dirs_take_the_callers_ids(self):
        m = self.mount("allow_other", "default_permissions")
        os.chmod(m.root, 0o1777)
        as_nobody("sh", "-c", "echo hi > %s && mkdir %s && ln -s f %s" % (
            m.path("f"), m.path("d"), m.path("l")))
        for name in ("f", "d", "l"):
            st = os.lstat(m.path(name))
            self.assertEqual((st.st_uid, st.st_gid), (NOBODY, NOBODY), name)
        self.assertEqual(stat.S_IMODE(os.stat(m.path("f")).st_mode), 0o644)  # umask 022
        # Root's files stay root's; the owner survives a remount.
        write(m.path("rootfile"), b"r")
        m.unmount()
        m = self.mount("allow_other", "default_permissions")
        self.assertEqual(os.stat(m.path("f")).st_uid, NOBODY)
        self.assertEqual(os.stat(m.path("d")).st_gid, NOBODY)
        self.assertEqual(os.stat(m.path("rootfile")).st_uid, 0)

    def test_default_permissions_refuses_what_ext4_refuses(self):
        m = self.mount("allow_other", "default_permissions")
        write(m.path("private"), b"secret", 0o600)
        write(m.path("public"), b"public", 0o644)
        os.mkdir(m.path("closed"), 0o700)
        proc = as_nobody("cat", m.path("private"), check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"Permission denied", proc.stderr)
        self.assertEqual(as_nobody("cat", m.path("public")).stdout, b"public")
        for command in (["sh", "-c", "echo x >> %s" % m.path("public")],
                        ["touch", m.path("new")],
                        ["rm", "-f", m.path("public")],
                        ["ls", m.path("closed")],
                        ["chmod", "666", m.path("public")],
                        ["chown", "%d" % NOBODY, m.path("public")]):
            proc = as_nobody(*command, check=False)
            self.assertNotEqual(proc.returncode, 0, "%s succeeded" % command)
        self.assertEqual(read(m.path("public")), b"public")
        self.assertFalse(os.path.exists(m.path("new")))

    def test_sticky_directory_protects_other_users_files(self):
        m = self.mount("allow_other", "default_permissions")
        os.mkdir(m.path("tmp"))
        os.chmod(m.path("tmp"), 0o1777)
        self.assertEqual(stat.S_IMODE(os.stat(m.path("tmp")).st_mode), 0o1777)
        write(m.path("tmp/roots"), b"r", 0o666)
        os.chmod(m.path("tmp/roots"), 0o666)
        as_nobody("touch", m.path("tmp/mine"))
        for command in (["rm", "-f", m.path("tmp/roots")],
                        ["mv", m.path("tmp/roots"), m.path("tmp/taken")],
                        ["mv", "-f", m.path("tmp/mine"), m.path("tmp/roots")]):
            proc = as_nobody(*command, check=False)
            self.assertNotEqual(proc.returncode, 0, "%s succeeded" % command)
            self.assertIn(b"not permitted", proc.stderr)
        # Writing a world-writable file is allowed; own files can go.
        as_nobody("sh", "-c", "echo w > %s" % m.path("tmp/roots"))
        as_nobody("mv", m.path("tmp/mine"), m.path("tmp/mine2"))
        as_nobody("rm", m.path("tmp/mine2"))
        self.assertEqual(sorted(os.listdir(m.path("tmp"))), ["roots"])
        self.assertEqual(read(m.path("tmp/roots")), b"w\n")

    def test_setgid_directory_hands_down_its_group(self):
        m = self.mount("allow_other", "default_permissions")
        os.mkdir(m.path("shared"))
        os.chown(m.path("shared"), 0, 1234)
        os.chmod(m.path("shared"), 0o2777)
        as_nobody("sh", "-c", "echo x > %s && mkdir %s" % (m.path("shared/f"),
                                                          m.path("shared/sub")))
        f, sub = os.stat(m.path("shared/f")), os.stat(m.path("shared/sub"))
        self.assertEqual((f.st_uid, f.st_gid), (NOBODY, 1234))
        self.assertEqual((sub.st_uid, sub.st_gid), (NOBODY, 1234))
        self.assertTrue(sub.st_mode & stat.S_ISGID, oct(sub.st_mode))
        self.assertFalse(f.st_mode & stat.S_ISGID, oct(f.st_mode))
        # A user outside the group cannot make its file setgid: the bit is dropped.
        as_nobody("chmod", "g+s", m.path("shared/f"))
        self.assertFalse(os.stat(m.path("shared/f")).st_mode & stat.S_ISGID)

    def test_access_agrees_with_open_and_exec_without_default_permissions(self):
        m = self.mount("allow_other")
        write(m.path("data"), b"#!/bin/sh\nexit 0\n", 0o644)
        write(m.path("script"), b"#!/bin/sh\nexit 0\n", 0o755)
        write(m.path("private"), b"secret", 0o600)
        # No permission checks: what access(2) allows, open allows.
        self.assertTrue(os.access(m.path("private"), os.R_OK | os.W_OK))
        as_nobody("test", "-r", m.path("private"))
        self.assertEqual(as_nobody("cat", m.path("private")).stdout, b"secret")
        # Exec needs an execute bit, even for root, and access(2) says so.
        self.assertFalse(os.access(m.path("data"), os.X_OK))
        self.assertErrno(errno.EACCES, subprocess.run, [m.path("data")])
        self.assertTrue(os.access(m.path("script"), os.X_OK))
        self.assertEqual(subprocess.run([m.path("script")]).returncode, 0)
        os.chmod(m.path("data"), 0o744)
        self.assertTrue(os.access(m.path("data"), os.X_OK))
        # Directories: search is never refused.
        os.mkdir(m.path("d"), 0o600)
        self.assertTrue(os.access(m.path("d"), os.X_OK))
        cwd = os.getcwd()
        try:
            os.chdir(m.path("d"))
        finally:
            os.chdir(cwd)
        # A snapshot is a read-only tree: access(W_OK) is EROFS, like a write.
        os.mkdir(m.path(".rocksfs/snapshots/s1"))
        snap_file = m.path(".rocksfs/snapshots/s1/script")
        self.assertTrue(os.access(snap_file, os.R_OK | os.X_OK))
        self.assertErrno(errno.EROFS, os.open, snap_file, os.O_WRONLY)
        self.assertFalse(os.access(snap_file, os.W_OK))
        self.assertFalse(os.access(m.path(".rocksfs/snapshots/s1"), os.W_OK))

    # -- names, stat fields, unlinked files -----------------------------------

    def test_names_longer_than_255_bytes_get_enametoolong(self):
        m = self.mount()
        ok, long = "a" * 255, "a" * 256
        write(m.path(ok), b"x")
        os.mkdir(m.path("d" * 255))
        self.assertIn(ok, os.listdir(m.root))
        for func, args in ((os.open, (m.path(long), os.O_WRONLY | os.O_CREAT, 0o644)),
                           (os.stat, (m.path(long),)),
                           (os.mkdir, (m.path(long),)),
                           (os.symlink, ("t", m.path(long))),
                           (os.rename, (m.path(ok), m.path(long))),
                           (os.unlink, (m.path(long),)),
                           (os.open, (m.path("é" * 128), os.O_WRONLY | os.O_CREAT, 0o644))):
            self.assertErrno(errno.ENAMETOOLONG, func, *args)
        self.assertEqual(read(m.path(ok)), b"x")

    def test_st_blksize_is_never_zero(self):
        m = self.mount()
        write(m.path("f"), b"x" * 10000)
        os.mkdir(m.path("d"))
        os.symlink("f", m.path("l"))
        write(m.path("empty"), b"")
        os.mkdir(m.path(".rocksfs/snapshots/s"))
        for rel in ("", "f", "d", "l", "empty", ".rocksfs", ".rocksfs/stats",
                    ".rocksfs/snapshots/s", ".rocksfs/snapshots/s/f"):
            st = os.lstat(m.path(rel))
            self.assertGreater(st.st_blksize, 0, rel)
            if not rel.startswith(".rocksfs"):
                self.assertGreaterEqual(st.st_blocks * 512, st.st_size, rel)
        self.assertEqual(os.statvfs(m.root).f_bsize, 4096)

    def test_unlinked_open_file_stays_usable_and_unlisted(self):
        m = self.mount()
        write(m.path("f"), b"contents", 0o640)
        os.chown(m.path("f"), 7, 8)
        fd = os.open(m.path("f"), os.O_RDWR)
        try:
            os.unlink(m.path("f"))
            self.assertNotIn("f", os.listdir(m.root))
            self.assertFalse(os.path.exists(m.path("f")))
            self.assertEqual(os.pread(fd, 100, 0), b"contents")
            os.pwrite(fd, b"CONTENTS and more", 0)
            self.assertEqual(os.pread(fd, 100, 0), b"CONTENTS and more")
            st = os.fstat(fd)
            self.assertEqual(st.st_nlink, 0)
            self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o640, 7, 8))
            os.fchmod(fd, 0o600)
            self.assertEqual(stat.S_IMODE(os.fstat(fd).st_mode), 0o600)
            # A new file under the old name is another file.
            write(m.path("f"), b"new")
            self.assertEqual(os.pread(fd, 100, 0), b"CONTENTS and more")
            self.assertEqual(stat.S_IMODE(os.fstat(fd).st_mode), 0o600)
        finally:
            os.close(fd)
        self.assertEqual(read(m.path("f")), b"new")
        self.assertEqual(os.listdir(m.root), ["f"])
        m.unmount()
        self.assertEqual(t.ldb_get(self.db, b"f"), b"new")

    # -- metadata ------------------------------------------------------------------

    def test_keys_without_metadata_show_defaults_and_stable_times(self):
        t.ldb_load(self.db, {b"dir/file": b"v", b"top": b"t"})
        m = self.mount("uid=1234", "gid=4321", "file_mode=0640", "dir_mode=0750",
                       create=False)
        before = {rel: os.stat(m.path(rel)) for rel in ("dir", "dir/file", "top")}
        self.assertEqual(stat.S_IMODE(before["dir/file"].st_mode), 0o640)
        self.assertEqual(stat.S_IMODE(before["dir"].st_mode), 0o750)
        self.assertEqual((before["top"].st_uid, before["top"].st_gid), (1234, 4321))
        m.unmount()
        m = self.mount("uid=1234", "gid=4321", "file_mode=0640", "dir_mode=0750",
                       create=False)
        for rel, st in before.items():
            again = os.stat(m.path(rel))
            self.assertEqual((again.st_mtime_ns, again.st_ctime_ns, again.st_atime_ns),
                             (st.st_mtime_ns, st.st_ctime_ns, st.st_atime_ns), rel)
            self.assertEqual(again.st_ino, st.st_ino, rel)
        # Reading never changes atime (noatime-like).
        read(m.path("top"))
        self.assertEqual(os.stat(m.path("top")).st_atime_ns, before["top"].st_atime_ns)
        m.unmount()
        # The mount wrote nothing for them.
        self.assertNotIn("rocksfs.meta", t.ldb_column_families(self.db))

    def test_metadata_survives_remounts_follows_rename_and_goes_with_unlink(self):
        m = self.mount()
        write(m.path("f"), b"x")
        os.chown(m.path("f"), 11, 12)
        os.chmod(m.path("f"), 0o4711)  # after chown, which clears setuid
        os.utime(m.path("f"), ns=(1_111_111_111_222_333_444, 1_222_222_222_333_444_555))
        os.setxattr(m.path("f"), "user.tag", b"kept")
        os.symlink("f", m.path("l"))
        os.makedirs(m.path("d/e"))
        os.chmod(m.path("d/e"), 0o700)
        m.unmount()
        m = self.mount()
        st = os.stat(m.path("f"))
        self.assertEqual((oct(st.st_mode), st.st_uid, st.st_gid),
                         (oct(stat.S_IFREG | 0o4711), 11, 12))
        self.assertEqual((st.st_atime_ns, st.st_mtime_ns),
                         (1_111_111_111_222_333_444, 1_222_222_222_333_444_555))
        self.assertEqual(os.getxattr(m.path("f"), "user.tag"), b"kept")
        self.assertEqual(os.readlink(m.path("l")), "f")
        self.assertEqual(stat.S_IMODE(os.stat(m.path("d/e")).st_mode), 0o700)
        os.rename(m.path("f"), m.path("g"))
        os.rename(m.path("d"), m.path("d2"))
        m.unmount()
        m = self.mount()
        self.assertEqual(os.getxattr(m.path("g"), "user.tag"), b"kept")
        self.assertEqual(os.stat(m.path("g")).st_mtime_ns, 1_222_222_222_333_444_555)
        self.assertEqual(stat.S_IMODE(os.stat(m.path("d2/e")).st_mode), 0o700)
        os.unlink(m.path("g"))
        write(m.path("g"), b"new")
        self.assertEqual(os.listxattr(m.path("g")), [])
        self.assertEqual(stat.S_IMODE(os.stat(m.path("g")).st_mode), 0o644)

    def test_statfs_reports_the_disk_and_the_keys(self):
        m = self.mount()
        for i in range(50):
            write(m.path("k%02d" % i), b"v" * 100)
        fs, disk = os.statvfs(m.root), os.statvfs(self.dir)
        self.assertEqual(fs.f_namemax, 255)
        self.assertEqual(fs.f_blocks * fs.f_frsize, disk.f_blocks * disk.f_frsize)
        self.assertLessEqual(abs(fs.f_bavail * fs.f_frsize - disk.f_bavail * disk.f_frsize),
                             64 << 20)
        self.assertGreater(fs.f_files, fs.f_ffree)
        self.assertGreater(fs.f_ffree, 0)
        df = t.run(["df", "-P", "-k", m.root]).stdout.decode().splitlines()[-1].split()
        self.assertEqual(int(df[1]), fs.f_blocks * fs.f_frsize // 1024)
        self.assertGreater(int(df[3]), 0)
        dfi = t.run(["df", "-P", "-i", m.root]).stdout.decode().splitlines()[-1].split()
        used_inodes = int(dfi[2])
        self.assertGreaterEqual(used_inodes, 1)
        self.assertGreater(int(dfi[3]), 0)


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
