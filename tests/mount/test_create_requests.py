#!/usr/bin/env python3
"""A file created and opened write-only writes around the page cache
(README "Writes under the shared file model"): create+write+close costs the
four synchronous requests LOOKUP, CREATE, WRITE and FLUSH, without the
GETXATTR of security.capability that the kernel's page-cache write path
sends first, and what it writes is seen at once through descriptors that
read through the page cache, mapped ones included. A file created
read-write still goes through the page cache, so it can be mapped.
"""

import errno
import mmap
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


SYNC = ("lookup", "create", "write", "flush", "getxattr", "getattr", "open", "setattr")


class CreateRequestsTest(t.DbTestCase):
    def test_write_only_create_costs_four_requests(self):
        with t.Mount(self.db, create=True) as m:
            os.mkdir(m.path("d"))
            # What reading the counters costs itself (the stats file's
            # lookup and attributes), taken off below.
            first = t.counters(m)
            before = t.counters(m)
            overhead = {op: before["requests." + op] - first["requests." + op] for op in SYNC}
            files = 50
            for i in range(files):
                fd = os.open(m.path("d/f%d" % i), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
                os.write(fd, b"x" * 100)
                os.close(fd)
            after = t.counters(m)
            per_file = {op: (after["requests." + op] - before["requests." + op]
                             - overhead[op]) / files for op in SYNC}
            self.assertEqual(per_file, {"lookup": 1, "create": 1, "write": 1, "flush": 1,
                                        "getxattr": 0, "getattr": 0, "open": 0, "setattr": 0})
            for i in range(files):
                self.assertEqual(t.read_file(m.path("d/f%d" % i)), b"x" * 100)
            m.unmount()

    def test_direct_writes_are_seen_through_cached_and_mapped_descriptors(self):
        with t.Mount(self.db, create=True) as m:
            path = m.path("f")
            writer = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
            reader = os.open(path, os.O_RDONLY)
            os.write(writer, b"abc")
            self.assertEqual(os.pread(reader, 100, 0), b"abc")  # now cached
            os.write(writer, b"def")
            os.pwrite(writer, b"X", 1)
            self.assertEqual(os.pread(reader, 100, 0), b"aXcdef")
            self.assertEqual(os.fstat(reader).st_size, 6)
            both = os.open(path, os.O_RDWR)
            mapped = mmap.mmap(both, 6)
            os.pwrite(writer, b"Y", 2)
            self.assertEqual(mapped[:], b"aXYdef")
            mapped[0:1] = b"Z"
            mapped.flush()
            self.assertEqual(os.pread(reader, 100, 0), b"ZXYdef")
            mapped.close()
            for fd in (writer, reader, both):
                os.close(fd)
            self.assertEqual(t.read_file(path), b"ZXYdef")
            m.unmount()

    def test_read_write_create_can_be_mapped(self):
        with t.Mount(self.db, create=True) as m:
            fd = os.open(m.path("rw"), os.O_CREAT | os.O_RDWR, 0o644)
            os.write(fd, b"0123456789")
            mapped = mmap.mmap(fd, 10)
            mapped[0:2] = b"ab"
            mapped.close()
            os.close(fd)
            self.assertEqual(t.read_file(m.path("rw")), b"ab23456789")
            # A write-only descriptor cannot be mapped anywhere (EACCES).
            fd = os.open(m.path("wo"), os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(fd, b"x" * 10)
            with self.assertRaises(OSError) as caught:
                mmap.mmap(fd, 10)
            self.assertEqual(caught.exception.errno, errno.EACCES)
            os.close(fd)
            m.unmount()


if __name__ == "__main__":
    unittest.main()
