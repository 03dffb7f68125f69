#!/usr/bin/env python3
"""Smoke test: a database written by ldb mounts, lists, reads, and what is
written through the mount reads back with ldb after the unmount."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

KEYS = {b"user/alice": b"hello", b"user/bob": b"x", b"top": b"t"}


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()  # fails (not skips) when mount.rocksfs is not built


class SmokeTest(unittest.TestCase):
    def setUp(self):
        self._dir = t.tempdir()
        self.dir = self._dir.__enter__()
        self.addCleanup(self._dir.__exit__, None, None, None)
        self.db = os.path.join(self.dir, "db")
        t.ldb_load(self.db, KEYS)
        self.assertEqual(t.ldb_scan(self.db), KEYS)

    def test_listdir_root(self):
        with t.Mount(self.db) as m:
            self.assertEqual(sorted(os.listdir(m.root)), ["top", "user"])
            self.assertEqual(sorted(os.listdir(m.path("user"))), ["alice", "bob"])

    def test_read_file(self):
        with t.Mount(self.db) as m:
            with open(m.path("user/alice"), "rb") as f:
                self.assertEqual(f.read(), b"hello")

    def test_write_then_read_back_with_ldb(self):
        data = b"carol's value\n\x00\xff"
        with t.Mount(self.db) as m:
            with open(m.path("user/carol"), "wb") as f:
                f.write(data)
            m.unmount()
        self.assertEqual(t.ldb_get(self.db, b"user/carol"), data)
        self.assertEqual(t.ldb_get(self.db, b"user/alice"), b"hello")


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
