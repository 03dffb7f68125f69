#!/usr/bin/env python3
"""Bad input gets a clear errno and never takes the daemon down; bad command
lines and a missing or locked DB get a one-line message and a non-zero exit
status; detached mounts, fusermount3 -u and SIGTERM/SIGINT end cleanly
(SPEC sections 1 and 6)."""

import errno
import os
import signal
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

MiB = 1 << 20


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


write, read = t.write_file, t.read_file


class ErrnoTestCase(t.DbTestCase):
    def assertServing(self, m):
        """The daemon is alive, still mounted, and answers."""
        self.assertTrue(m.running(), "the daemon exited:\n%s" % m.log())
        self.assertTrue(t.is_mounted(m.root))
        os.listdir(m.root)
        write(m.path("still-alive"), b"yes")
        self.assertEqual(read(m.path("still-alive")), b"yes")
        os.unlink(m.path("still-alive"))


def create_file(path):
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


class BadInputTest(ErrnoTestCase):
    def test_errno_of_each_bad_input(self):
        with t.Mount(self.db, create=True) as m:
            os.mkdir(m.path("d"))
            write(m.path("d/f"), b"content")

            # NAME_MAX: 255 bytes is fine, 256 is ENAMETOOLONG.
            self.assertErrno(errno.ENAMETOOLONG, create_file, m.path("n" * 256))
            self.assertErrno(errno.ENAMETOOLONG, os.mkdir, m.path("n" * 256))
            self.assertErrno(errno.ENAMETOOLONG, os.stat, m.path("n" * 256))
            write(m.path("n" * 255), b"longest name")
            self.assertEqual(read(m.path("n" * 255)), b"longest name")
            os.mkdir(m.path("m" * 255))
            self.assertIn("n" * 255, os.listdir(m.root))

            # Hard links of directories, and names that exist.
            self.assertErrno(errno.EPERM, os.link, m.path("d"), m.path("dlink"))
            self.assertErrno(errno.EEXIST, os.link, m.path("d/f"), m.path("d"))
            self.assertErrno(errno.EEXIST, os.mkfifo, m.path("d/f"))
            self.assertErrno(errno.EEXIST, os.mknod, m.path("d/f"), 0o600 | stat.S_IFCHR,
                             os.makedev(1, 3))
            self.assertEqual(read(m.path("d/f")), b"content")

            # Directories.
            self.assertErrno(errno.ENOTEMPTY, os.rmdir, m.path("d"))
            self.assertErrno(errno.ENOTDIR, os.rmdir, m.path("d/f"))
            self.assertErrno(errno.EISDIR, os.unlink, m.path("d"))
            self.assertErrno(errno.EEXIST, os.mkdir, m.path("d"))

            # Files are not directories, and the other way round.
            self.assertErrno(errno.ENOTDIR, os.listdir, m.path("d/f"))
            self.assertErrno(errno.ENOTDIR, create_file, m.path("d/f/sub"))
            self.assertErrno(errno.EISDIR, open, m.path("d"), "wb")

            # Offsets past the largest file (default max_value_size).
            fd = os.open(m.path("d/f"), os.O_WRONLY)
            try:
                self.assertErrno(errno.EFBIG, os.pwrite, fd, b"x", 1 << 62)
            finally:
                os.close(fd)
            self.assertEqual(read(m.path("d/f")), b"content")

            # Extended attributes outside user.* are not kept.
            self.assertErrno(errno.ENOTSUP, os.setxattr, m.path("d/f"), "trusted.x", b"1")
            self.assertErrno(errno.ENODATA, os.getxattr, m.path("d/f"), "user.missing")

            # Missing names.
            self.assertErrno(errno.ENOENT, open, m.path("missing"), "rb")
            self.assertErrno(errno.ENOENT, open, m.path("nodir/file"), "wb")
            self.assertErrno(errno.ENOENT, os.unlink, m.path("missing"))
            self.assertErrno(errno.ENOENT, os.rename, m.path("missing"), m.path("other"))

            # Names that are not canonical escapes, or hold a "%{" that opens
            # no escape: no key has that spelling.
            for bad in ("%{41}", "%{2F}", "%{2f}", "%{2E}%{2E}", "%{2E}x", "x%{41}y", "%{}x",
                        "a%{#0123456789ABCDEF}", "%{", "x%{y}", "100%{", "%{FF}%{FE}"):
                self.assertErrno(errno.EINVAL, create_file, m.path(bad))
                self.assertErrno(errno.EINVAL, os.mkdir, m.path(bad))
                self.assertErrno(errno.ENOENT, os.stat, m.path(bad))
            # "%{@}" as a suffix names the value of a directory's key: only
            # when the directory exists.
            self.assertErrno(errno.EINVAL, create_file, m.path("nodir%{@}"))
            # ...while any other '%' is literal.
            write(m.path("50%off.txt"), b"sale")
            self.assertIn("50%off.txt", os.listdir(m.root))

            self.assertServing(m)
            m.unmount()
        scanned = t.ldb_scan(self.db)
        self.assertEqual(scanned[b"n" * 255], b"longest name")
        self.assertEqual(scanned[b"50%off.txt"], b"sale")
        self.assertEqual(sorted(k for k in scanned if not k.startswith(b"n")), [b"50%off.txt", b"d/f"])

    def test_write_past_max_value_size_is_efbig(self):
        with t.Mount(self.db, create=True, options=["max_value_size=1M"]) as m:
            fd = os.open(m.path("exact"), os.O_CREAT | os.O_WRONLY, 0o644)
            try:
                self.assertEqual(os.write(fd, b"x" * MiB), MiB)
            finally:
                os.close(fd)
            self.assertEqual(os.stat(m.path("exact")).st_size, MiB)

            fd = os.open(m.path("big"), os.O_CREAT | os.O_WRONLY, 0o644)
            try:
                self.assertEqual(os.write(fd, b"y" * MiB), MiB)
                self.assertErrno(errno.EFBIG, os.write, fd, b"y")
                self.assertErrno(errno.EFBIG, os.pwrite, fd, b"z", 5 * MiB)
            finally:
                os.close(fd)
            self.assertErrno(errno.EFBIG, os.truncate, m.path("exact"), MiB + 1)
            self.assertEqual(os.stat(m.path("exact")).st_size, MiB)
            self.assertServing(m)
            m.unmount()
        self.assertEqual(t.ldb_get(self.db, b"exact"), b"x" * MiB)

    def test_read_only_mount_is_erofs(self):
        t.ldb_load(self.db, {b"dir/file": b"data", b"top": b"t"})
        with t.Mount(self.db, options=["ro"]) as m:
            self.assertEqual(read(m.path("dir/file")), b"data")
            self.assertEqual(sorted(os.listdir(m.root)), ["dir", "top"])
            self.assertErrno(errno.EROFS, create_file, m.path("new"))
            self.assertErrno(errno.EROFS, open, m.path("top"), "wb")
            self.assertErrno(errno.EROFS, open, m.path("top"), "ab")
            self.assertErrno(errno.EROFS, os.truncate, m.path("top"), 0)
            self.assertErrno(errno.EROFS, os.mkdir, m.path("newdir"))
            self.assertErrno(errno.EROFS, os.unlink, m.path("top"))
            self.assertErrno(errno.EROFS, os.rmdir, m.path("dir"))
            self.assertErrno(errno.EROFS, os.rename, m.path("top"), m.path("moved"))
            self.assertErrno(errno.EROFS, os.rename, m.path("dir"), m.path("moved"))
            self.assertErrno(errno.EROFS, os.symlink, "top", m.path("link"))
            self.assertErrno(errno.EROFS, os.chmod, m.path("top"), 0o600)
            self.assertEqual(read(m.path("top")), b"t")
            self.assertTrue(m.running())
            # Several ro mounts of one DB may run at once.
            with t.Mount(self.db, options=["ro"]) as m2:
                self.assertEqual(read(m2.path("dir/file")), b"data")
        self.assertEqual(t.ldb_scan(self.db), {b"dir/file": b"data", b"top": b"t"})


class CommandLineTest(ErrnoTestCase):
    def setUp(self):
        super().setUp()
        self.mnt = os.path.join(self.dir, "mnt")
        os.mkdir(self.mnt)
        self.addCleanup(t.force_unmount, self.mnt)

    def mount_command(self, *args, db=None, mnt=None):
        return t.run([t.mount_binary(), db or self.db, mnt or self.mnt, *args], check=False,
                     timeout=60)

    def assertOneLineError(self, proc, *words):
        """Non-zero exit, stderr exactly one line holding each of words
        (any one of a tuple), nothing mounted."""
        err = proc.stderr.decode("utf-8", "replace")
        self.assertNotEqual(proc.returncode, 0, "exit status 0; stderr: %r" % err)
        self.assertEqual(len(err.splitlines()), 1, "stderr is not one line: %r" % err)
        self.assertTrue(err.endswith("\n"), repr(err))
        for word in words:
            choices = word if isinstance(word, tuple) else (word,)
            self.assertTrue(any(c in err for c in choices), "%r not in %r" % (choices, err))
        return err

    def test_unknown_option(self):
        t.ldb_put(self.db, b"k", b"v")
        for args in (["-o", "frobnicate"], ["-o", "ro,frobnicate=3"], ["--frobnicate"],
                     ["-f", "-o", "frobnicate"]):
            with self.subTest(args=args):
                proc = self.mount_command(*args)
                self.assertOneLineError(proc, "frobnicate")
                self.assertFalse(t.is_mounted(self.mnt))

    def test_bad_option_values(self):
        t.ldb_put(self.db, b"k", b"v")
        for args, word in ((["-o", "threads=many"], "threads"),
                           (["-o", "max_value_size=huge"], "max_value_size"),
                           (["-o", "delimiter=%"], "delimiter"),
                           (["-f", "-o", "db_options=no_such_rocksdb_option=1"], "no_such_rocksdb_option")):
            with self.subTest(args=args):
                proc = self.mount_command(*args)
                self.assertOneLineError(proc, word)
                self.assertFalse(t.is_mounted(self.mnt))

    def test_missing_db_without_create(self):
        for args in ([], ["-f"]):
            with self.subTest(args=args):
                proc = self.mount_command(*args)
                self.assertOneLineError(proc, self.db, ("not found", "does not exist", "missing"))
                self.assertFalse(os.path.exists(self.db), "the DB was created without -o create")
                self.assertFalse(t.is_mounted(self.mnt))

    def test_missing_mountpoint(self):
        t.ldb_put(self.db, b"k", b"v")
        proc = self.mount_command(mnt=os.path.join(self.dir, "nowhere"))
        self.assertOneLineError(proc, "nowhere")

    def test_create_makes_a_missing_db(self):
        with t.Mount(self.db, create=True) as m:
            write(m.path("hello"), b"world")
        self.assertTrue(os.path.exists(os.path.join(self.db, "CURRENT")))
        self.assertEqual(t.ldb_get(self.db, b"hello"), b"world")

    def test_second_read_write_mount_of_a_mounted_db(self):
        t.ldb_put(self.db, b"k", b"v")
        with t.Mount(self.db) as m:
            for args in ([], ["-f"], ["-o", "create"]):
                with self.subTest(args=args):
                    proc = self.mount_command(*args)
                    self.assertOneLineError(proc, ("in use", "mounted", "locked"))
                    self.assertFalse(t.is_mounted(self.mnt))
            self.assertEqual(read(m.path("k")), b"v")
            self.assertTrue(m.running())

    def test_detached_mount_and_fusermount_unmount(self):
        t.ldb_put(self.db, b"k", b"v")
        proc = self.mount_command()  # no -f: detaches
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, b"")
        self.assertTrue(t.is_mounted(self.mnt), "mount.rocksfs returned 0 but nothing is mounted")
        pids = t.daemon_pids(self.mnt)
        self.assertEqual(len(pids), 1, "daemon processes: %r" % pids)
        self.assertEqual(read(os.path.join(self.mnt, "k")), b"v")
        write(os.path.join(self.mnt, "new"), b"from the detached mount")
        t.fusermount("-u", self.mnt)
        self.assertFalse(t.is_mounted(self.mnt))
        self.assertTrue(t.wait_until(lambda: not t.pid_alive(pids[0]), timeout=20),
                        "the daemon %d did not exit after fusermount3 -u" % pids[0])
        self.assertEqual(t.ldb_get(self.db, b"new"), b"from the detached mount")

    def check_signal_unmounts(self, signum):
        with t.Mount(self.db, create=True) as m:
            write(m.path("closed"), b"committed before the signal")
            m.send_signal(signum)
            self.assertEqual(m.wait(), 0, m.log())
            self.assertFalse(t.is_mounted(m.root), "still mounted after the daemon exited")
        self.assertEqual(t.ldb_get(self.db, b"closed"), b"committed before the signal")

    def test_closed_data_survives_kill_9(self):
        with t.Mount(self.db, create=True) as m:
            write(m.path("closed"), b"committed at close")
            fd = os.open(m.path("synced"), os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(fd, b"committed at fsync")
            os.fsync(fd)  # still open when the daemon dies
            m.kill()
            try:
                os.close(fd)
            except OSError:
                pass  # ENOTCONN: the daemon is gone
        self.assertEqual(t.ldb_get(self.db, b"closed"), b"committed at close")
        self.assertEqual(t.ldb_get(self.db, b"synced"), b"committed at fsync")

    def test_sigterm_unmounts_cleanly(self):
        self.check_signal_unmounts(signal.SIGTERM)

    def test_sigint_unmounts_cleanly(self):
        self.check_signal_unmounts(signal.SIGINT)

    def test_sigterm_unmounts_while_the_mount_is_busy(self):
        with t.Mount(self.db, create=True) as m:
            write(m.path("closed"), b"closed")
            reader = os.open(m.path("closed"), os.O_RDONLY)
            holder = subprocess.Popen(["sleep", "60"], cwd=m.root)  # cwd inside the mount
            try:
                m.send_signal(signal.SIGTERM)
                self.assertEqual(m.wait(), 0, m.log())
                self.assertFalse(t.is_mounted(m.root))
            finally:
                holder.kill()
                holder.wait()
                try:
                    os.close(reader)
                except OSError:
                    pass  # ENOTCONN: the daemon is gone
        self.assertEqual(t.ldb_get(self.db, b"closed"), b"closed")


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
