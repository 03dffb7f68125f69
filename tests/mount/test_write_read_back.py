#!/usr/bin/env python3
"""What is written through the mount reads back byte for byte: through the
mount (python, mmap, shell tools) and, after the unmount, with ldb (another
RocksDB program). Common tools (cp -r, mv, rm -r, grep -r, find, ls -l)
behave as on a local filesystem, and rename/rmdir follow rename(2)/rmdir(2)."""

import ctypes
import errno
import hashlib
import mmap
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

SOURCE_TREE = "/usr/include/linux"  # a small real tree (linux-libc-dev)
RENAME_NOREPLACE = 1
AT_FDCWD = -100


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data, mode="wb"):
    with open(path, mode) as f:
        f.write(data)


def sh(command, cwd=None):
    return t.run(["sh", "-c", command], cwd=cwd)


def renameat2(old, new, flags):
    """renameat2(2) through libc; raises OSError on failure."""
    libc = ctypes.CDLL(None, use_errno=True)
    func = libc.renameat2
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if func(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), old)


def tree_files(root):
    """{relative path: content} of every regular file under root."""
    result = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            result[os.path.relpath(path, root)] = read(path)
    return result


def find_paths(root):
    out = t.run(["find", ".", "-mindepth", "1"], cwd=root).stdout
    return set(out.decode("utf-8", "surrogateescape").splitlines())


class WriteReadBackTest(t.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.db = os.path.join(self.dir, "db")

    def mount(self, **kwargs):
        return t.Mount(self.db, create=True, **kwargs)

    def assertErrno(self, code, func, *args):
        with self.assertRaises(OSError) as cm:
            func(*args)
        self.assertEqual(cm.exception.errno, code,
                         "%s%r: %s, expected %s" % (func.__name__, args, cm.exception,
                                                    errno.errorcode[code]))

    def test_python_and_shell_writes_read_back(self):
        binary = bytes(range(256)) * 3 + b"\x00\xff"
        with self.mount() as m:
            os.mkdir(m.path("docs"))
            write(m.path("docs/binary"), binary)
            write(m.path("top.txt"), b"top\n")
            sh("echo hello > docs/echo.txt", cwd=m.root)
            sh("printf 'a\\nb' > 'docs/with space'", cwd=m.root)
            write(m.path("docs/empty"), b"")
            self.assertEqual(read(m.path("docs/binary")), binary)
            self.assertEqual(read(m.path("docs/echo.txt")), b"hello\n")
            self.assertEqual(t.run(["cat", m.path("docs/with space")]).stdout, b"a\nb")
            self.assertEqual(os.stat(m.path("docs/binary")).st_size, len(binary))
            self.assertEqual(read(m.path("docs/empty")), b"")
            m.unmount()
        self.assertEqual(t.ldb_scan(self.db), {
            b"docs/binary": binary, b"top.txt": b"top\n", b"docs/echo.txt": b"hello\n",
            b"docs/with space": b"a\nb", b"docs/empty": b""})
        self.assertEqual(t.ldb_get(self.db, b"docs/binary"), binary)

    def test_overwrite_append_pwrite_truncate(self):
        with self.mount() as m:
            f = m.path("f")
            write(f, b"a long first value\n")
            write(f, b"short")  # O_TRUNC
            self.assertEqual(read(f), b"short")
            fd = os.open(f, os.O_WRONLY | os.O_TRUNC)
            os.close(fd)
            self.assertEqual(read(f), b"")

            sh("echo one >> log; echo two >> log", cwd=m.root)
            write(m.path("log"), b"three\n", mode="ab")
            self.assertEqual(read(m.path("log")), b"one\ntwo\nthree\n")

            write(m.path("holes"), b"12345")
            fd = os.open(m.path("holes"), os.O_WRONLY)
            try:
                self.assertEqual(os.pwrite(fd, b"END", 10000), 3)
            finally:
                os.close(fd)
            self.assertEqual(read(m.path("holes")), b"12345" + b"\0" * 9995 + b"END")
            self.assertEqual(os.stat(m.path("holes")).st_size, 10003)

            write(m.path("trunc"), b"0123456789")
            t.run(["truncate", "-s", "4", m.path("trunc")])
            self.assertEqual(read(m.path("trunc")), b"0123")
            t.run(["truncate", "-s", "8", m.path("trunc")])
            self.assertEqual(read(m.path("trunc")), b"0123\0\0\0\0")
            os.truncate(m.path("trunc"), 2)
            self.assertEqual(os.stat(m.path("trunc")).st_size, 2)
            m.unmount()
        self.assertEqual(t.ldb_scan(self.db), {
            b"f": b"", b"log": b"one\ntwo\nthree\n",
            b"holes": b"12345" + b"\0" * 9995 + b"END", b"trunc": b"01"})

    # Two writers share the file as on ext4: each close commits the file's
    # bytes as they are, and reads through the mount return what the DB holds.
    def test_two_writers_share_the_file_and_each_close_commits_it(self):
        with self.mount() as m:
            path = m.path("two")
            first, second = open(path, "wb"), open(path, "wb")
            first.write(b"aaa")
            first.flush()
            second.write(b"bbbbbb")
            second.flush()
            second.close()
            between = [read(path), t.run(["cat", path]).stdout]
            first.close()
            after = [read(path), t.run(["cat", path]).stdout]
            m.unmount()
        self.assertEqual(t.ldb_get(self.db, b"two"), b"bbbbbb")
        self.assertEqual(between, [b"bbbbbb", b"bbbbbb"])
        self.assertEqual(after, [b"bbbbbb", b"bbbbbb"])

    def test_mmap_read(self):
        data = os.urandom(3 * mmap.PAGESIZE + 123)
        t.ldb_put(self.db, b"mapped", data)
        with self.mount() as m:
            with open(m.path("mapped"), "rb") as f:
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                    self.assertEqual(len(mm), len(data))
                    self.assertEqual(mm[:], data)
                    self.assertEqual(mm[mmap.PAGESIZE + 7:mmap.PAGESIZE + 107],
                                     data[mmap.PAGESIZE + 7:mmap.PAGESIZE + 107])
            # A file written through the mount maps as well.
            write(m.path("written"), data[::-1])
            with open(m.path("written"), "rb") as f:
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                    self.assertEqual(mm[:], data[::-1])

    def test_20_mib_round_trip(self):
        chunk = os.urandom(1 << 20)
        data = b"".join(bytes([i]) + chunk[1:] for i in range(20))
        digest = hashlib.sha256(data).hexdigest()
        with self.mount() as m:
            with open(m.path("big"), "wb") as f:
                for i in range(0, len(data), 128 << 10):
                    f.write(data[i:i + (128 << 10)])
            self.assertEqual(os.stat(m.path("big")).st_size, len(data))
            self.assertEqual(hashlib.sha256(read(m.path("big"))).hexdigest(), digest)
            m.unmount()
        got = t.ldb_get(self.db, b"big")
        self.assertEqual(len(got), len(data))
        self.assertEqual(hashlib.sha256(got).hexdigest(), digest)

    def test_cp_r_find_grep_ls_match_a_local_copy(self):
        if not os.path.isdir(SOURCE_TREE):
            self.skipTest("%s is missing (install linux-libc-dev)" % SOURCE_TREE)
        local = os.path.join(self.dir, "local")
        os.mkdir(local)
        t.run(["cp", "-r", SOURCE_TREE, local])
        local_tree = os.path.join(local, "linux")
        expected = tree_files(local_tree)
        with self.mount() as m:
            t.run(["cp", "-r", SOURCE_TREE, m.root])
            mounted_tree = m.path("linux")
            self.assertEqual(tree_files(mounted_tree), expected)
            self.assertEqual(find_paths(mounted_tree), find_paths(local_tree))

            grep = t.run(["grep", "-rl", "FUSE_KERNEL_VERSION", "."], cwd=mounted_tree).stdout
            local_grep = t.run(["grep", "-rl", "FUSE_KERNEL_VERSION", "."], cwd=local_tree).stdout
            self.assertIn(b"./fuse.h", grep.splitlines())
            self.assertEqual(sorted(grep.splitlines()), sorted(local_grep.splitlines()))

            def listing(root):
                # ls -ln: type, size and name of each entry (not times or ids).
                out = t.run(["ls", "-ln", root]).stdout.decode().splitlines()[1:]
                rows = set()
                for line in out:
                    fields = line.split(None, 8)
                    kind, size = fields[0][0], fields[4]
                    rows.add((kind, fields[8], size if kind == "-" else ""))
                return rows
            self.assertEqual(listing(mounted_tree), listing(local_tree))
            self.assertEqual(listing(os.path.join(mounted_tree, "netfilter")),
                             listing(os.path.join(local_tree, "netfilter")))
            m.unmount()
        scanned = t.ldb_scan(self.db)
        self.assertEqual(scanned, {("linux/" + rel).encode(): data for rel, data in expected.items()})

        # The whole tree moves (one rename) and goes (rm -r), and the DB follows.
        with self.mount() as m:
            t.run(["mv", m.path("linux"), m.path("moved")])
            self.assertEqual(os.listdir(m.root), ["moved"])
            self.assertEqual(tree_files(m.path("moved")), expected)
            m.unmount()
        scanned = t.ldb_scan(self.db)
        self.assertEqual(scanned, {("moved/" + rel).encode(): data for rel, data in expected.items()})
        with self.mount() as m:
            t.run(["rm", "-r", m.path("moved")])
            self.assertEqual(os.listdir(m.root), [])
            m.unmount()
        self.assertEqual(t.ldb_scan(self.db), {})

    def test_mv_and_rm_r(self):
        with self.mount() as m:
            os.makedirs(m.path("src/sub/deeper"))
            write(m.path("src/a"), b"A")
            write(m.path("src/sub/b"), b"B")
            write(m.path("src/sub/deeper/c"), b"C")
            write(m.path("file"), b"F")
            t.run(["mv", m.path("file"), m.path("moved")])
            self.assertFalse(os.path.exists(m.path("file")))
            self.assertEqual(read(m.path("moved")), b"F")
            t.run(["mv", m.path("src"), m.path("dst")])
            self.assertFalse(os.path.exists(m.path("src")))
            self.assertEqual(tree_files(m.path("dst")),
                             {"a": b"A", "sub/b": b"B", "sub/deeper/c": b"C"})
            os.makedirs(m.path("junk/x/y"))
            for name in ("junk/1", "junk/x/2", "junk/x/y/3"):
                write(m.path(name), name.encode())
            t.run(["rm", "-r", m.path("junk")])
            self.assertFalse(os.path.exists(m.path("junk")))
            self.assertEqual(sorted(os.listdir(m.root)), ["dst", "moved"])
            m.unmount()
        self.assertEqual(t.ldb_scan(self.db), {
            b"moved": b"F", b"dst/a": b"A", b"dst/sub/b": b"B", b"dst/sub/deeper/c": b"C"})

    def test_mkdir_survives_remount(self):
        with self.mount() as m:
            os.mkdir(m.path("empty"))
            os.makedirs(m.path("nested/empty/too"))
        with self.mount() as m:
            self.assertEqual(sorted(os.listdir(m.root)), ["empty", "nested"])
            self.assertTrue(os.path.isdir(m.path("empty")))
            self.assertEqual(os.listdir(m.path("empty")), [])
            self.assertEqual(os.listdir(m.path("nested/empty/too")), [])
            os.rmdir(m.path("empty"))
        with self.mount() as m:
            self.assertEqual(os.listdir(m.root), ["nested"])

    def test_rmdir_and_rename_rules(self):
        with self.mount() as m:
            os.makedirs(m.path("d/sub"))
            write(m.path("d/file"), b"x")
            self.assertErrno(errno.ENOTEMPTY, os.rmdir, m.path("d"))
            self.assertErrno(errno.ENOTEMPTY, os.rmdir, m.path("d"))  # still there, still full
            # A directory whose only child is an empty directory is not empty either.
            os.unlink(m.path("d/file"))
            self.assertErrno(errno.ENOTEMPTY, os.rmdir, m.path("d"))

            self.assertErrno(errno.EINVAL, os.rename, m.path("d"), m.path("d/sub/d"))
            self.assertErrno(errno.EINVAL, os.rename, m.path("d"), m.path("d/inside"))
            self.assertTrue(os.path.isdir(m.path("d/sub")))

            write(m.path("one"), b"1")
            write(m.path("two"), b"2")
            self.assertErrno(errno.EEXIST, renameat2, m.path("one"), m.path("two"),
                             RENAME_NOREPLACE)
            self.assertEqual(read(m.path("one")), b"1")
            self.assertEqual(read(m.path("two")), b"2")
            renameat2(m.path("one"), m.path("three"), RENAME_NOREPLACE)
            self.assertEqual(read(m.path("three")), b"1")
            self.assertFalse(os.path.exists(m.path("one")))
            # Plain rename replaces a file.
            os.rename(m.path("three"), m.path("two"))
            self.assertEqual(read(m.path("two")), b"1")

            # Directories: replace an empty one, not a full one; files and
            # directories do not replace each other.
            os.makedirs(m.path("full/x"))
            write(m.path("full/x/f"), b"f")
            os.mkdir(m.path("vacant"))
            self.assertErrno(errno.ENOTEMPTY, os.rename, m.path("d"), m.path("full"))
            self.assertErrno(errno.EISDIR, os.rename, m.path("two"), m.path("vacant"))
            self.assertErrno(errno.ENOTDIR, os.rename, m.path("vacant"), m.path("two"))
            os.rename(m.path("full"), m.path("vacant"))
            self.assertFalse(os.path.exists(m.path("full")))
            self.assertEqual(read(m.path("vacant/x/f")), b"f")
            m.unmount()
        self.assertEqual(t.ldb_scan(self.db), {b"two": b"1", b"vacant/x/f": b"f"})


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
