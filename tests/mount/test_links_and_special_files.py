#!/usr/bin/env python3
"""Hard links, FIFOs, sockets, devices, st_ino and directory times through a
real mount (issue 12), and what another RocksDB program (ldb) sees after:
equal plain values under every name of a hard-linked file, an empty value
for a special file."""

import errno
import os
import socket
import stat
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


write, read = t.write_file, t.read_file


class LinksAndSpecialFilesTest(t.DbTestCase):
    def test_hard_links_share_value_inode_and_attributes(self):
        with t.Mount(self.db, create=True) as m:
            write(m.path("f"), b"first")
            os.mkdir(m.path("d"))
            self.assertEqual(read(m.path("f")), b"first")  # pages in the kernel's cache
            os.link(m.path("f"), m.path("d/g"))
            f, g = os.stat(m.path("f")), os.stat(m.path("d/g"))
            self.assertEqual(f.st_ino, g.st_ino)
            self.assertEqual((f.st_nlink, g.st_nlink), (2, 2))
            # A write through one name shows under the other, size and bytes.
            write(m.path("d/g"), b"second, longer")
            self.assertEqual(os.stat(m.path("f")).st_size, 14)
            self.assertEqual(read(m.path("f")), b"second, longer")
            os.chmod(m.path("f"), 0o600)
            self.assertEqual(stat.S_IMODE(os.stat(m.path("d/g")).st_mode), 0o600)
            os.setxattr(m.path("d/g"), "user.k", b"v")
            self.assertEqual(os.getxattr(m.path("f"), "user.k"), b"v")
            os.link(m.path("f"), m.path("h"))
            os.unlink(m.path("f"))
            self.assertEqual(os.stat(m.path("d/g")).st_nlink, 2)
            os.rename(m.path("d"), m.path("e"))
            self.assertEqual(os.stat(m.path("h")).st_nlink, 2)
            write(m.path("h"), b"third")
            self.assertEqual(read(m.path("e/g")), b"third")
            ino = os.stat(m.path("h")).st_ino
        self.assertEqual(t.ldb_get(self.db, b"e/g"), b"third")
        self.assertEqual(t.ldb_get(self.db, b"h"), b"third")
        self.assertIsNone(t.ldb_get(self.db, b"f"))
        with t.Mount(self.db) as m:
            self.assertEqual(os.stat(m.path("e/g")).st_ino, ino)
            self.assertEqual(os.stat(m.path("h")).st_nlink, 2)

    def test_fifo_socket_and_devices(self):
        with t.Mount(self.db, create=True) as m:
            os.mkfifo(m.path("fifo"))
            received = []
            reader = threading.Thread(target=lambda: received.append(read(m.path("fifo"))))
            reader.start()
            write(m.path("fifo"), b"through the pipe")
            reader.join(10)
            self.assertEqual(received, [b"through the pipe"])
            self.assertTrue(stat.S_ISFIFO(os.stat(m.path("fifo")).st_mode))

            server = socket.socket(socket.AF_UNIX)
            client = socket.socket(socket.AF_UNIX)
            try:
                server.bind(m.path("sock"))
                server.listen(1)
                client.connect(m.path("sock"))
                conn, _ = server.accept()
                client.sendall(b"hello")
                self.assertEqual(conn.recv(5), b"hello")
                conn.close()
            finally:
                client.close()
                server.close()
            self.assertTrue(stat.S_ISSOCK(os.stat(m.path("sock")).st_mode))

            if os.geteuid() == 0:
                os.mknod(m.path("null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
                os.mknod(m.path("loop"), stat.S_IFBLK | 0o600, os.makedev(7, 200))
        self.assertEqual(t.ldb_get(self.db, b"fifo"), b"")
        with t.Mount(self.db) as m:
            self.assertTrue(stat.S_ISFIFO(os.stat(m.path("fifo")).st_mode))
            self.assertTrue(stat.S_ISSOCK(os.stat(m.path("sock")).st_mode))
            if os.geteuid() == 0:
                st = os.stat(m.path("null"))
                self.assertTrue(stat.S_ISCHR(st.st_mode))
                self.assertEqual(st.st_rdev, os.makedev(1, 3))
                self.assertEqual(os.stat(m.path("loop")).st_rdev, os.makedev(7, 200))

    def test_inode_numbers_and_directory_times(self):
        t.ldb_put(self.db, b"seeded", b"s")
        with t.Mount(self.db) as m:
            os.mkdir(m.path("d"))
            write(m.path("d/f"), b"x")
            inos = {name: os.stat(m.path(name)).st_ino for name in ("seeded", "d", "d/f")}
            os.rename(m.path("seeded"), m.path("seeded2"))
            os.rename(m.path("d/f"), m.path("f2"))
            os.rename(m.path("d"), m.path("d2"))
            moved = {"seeded": "seeded2", "d": "d2", "d/f": "f2"}
            for name, new in moved.items():
                self.assertEqual(os.stat(m.path(new)).st_ino, inos[name], name)
            write(m.path("seeded"), b"new file at the old name")
            self.assertNotEqual(os.stat(m.path("seeded")).st_ino, inos["seeded"])
            before = os.stat(m.path("d2")).st_mtime_ns
            time.sleep(0.01)
            write(m.path("d2/new"), b"n")
            self.assertGreater(os.stat(m.path("d2")).st_mtime_ns, before)
        with t.Mount(self.db) as m:
            for name, new in moved.items():
                self.assertEqual(os.stat(m.path(new)).st_ino, inos[name], name)

    def test_nometa_refuses_links_and_special_files(self):
        t.ldb_put(self.db, b"f", b"v")
        with t.Mount(self.db, options=["nometa"]) as m:
            for call in (lambda: os.link(m.path("f"), m.path("g")),
                         lambda: os.mkfifo(m.path("p"))):
                with self.assertRaises(OSError) as cm:
                    call()
                self.assertEqual(cm.exception.errno, errno.EPERM)
            self.assertFalse(os.path.lexists(m.path("g")))
            self.assertFalse(os.path.lexists(m.path("p")))


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
