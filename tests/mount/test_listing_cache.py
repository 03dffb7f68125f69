#!/usr/bin/env python3
"""The kernel keeps directory listings (FOPEN_CACHE_DIR, README "Speed"):
a warm listing sends no READDIR to the daemon, every change of a name made
through the mount shows in the next listing, and a reader whose cached
listing is dropped halfway (a name changed) resumes through its own handle
at the offset another handle handed out, listing no name twice and missing
none that existed throughout. Secondary mounts, whose primary changes names
behind the kernel's back, and ttl= mounts list from the store every time.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


def listing_requests(mount):
    c = t.counters(mount)
    return c["requests.readdir"] + c["requests.readdirplus"]


class ListingCacheTest(t.DbTestCase):
    def test_warm_listing_sends_no_readdir(self):
        t.ldb_load(self.db, [(b"d/f%04d" % i, b"v") for i in range(2000)])
        with t.Mount(self.db) as m:
            d = m.path("d")
            first = sorted(os.listdir(d))
            self.assertEqual(len(first), 2000)
            before = listing_requests(m)
            for _ in range(3):
                self.assertEqual(sorted(os.listdir(d)), first)
            self.assertEqual(listing_requests(m), before, "a warm listing asked the daemon:\n" + m.log())
            m.unmount()

    def test_every_change_through_the_mount_shows_in_the_next_listing(self):
        with t.Mount(self.db, create=True) as m:
            d, other = m.path("d"), m.path("other")
            os.mkdir(d)
            os.mkdir(other)
            expected = set()

            def check(what):
                self.assertEqual(set(os.listdir(d)), expected, what)
                self.assertEqual(set(os.listdir(d)), expected, what + " (warm)")

            check("empty")
            changes = [
                ("create", lambda: t.write_file(os.path.join(d, "a"), b"1"), {"a"}, set()),
                ("mkdir", lambda: os.mkdir(os.path.join(d, "sub")), {"sub"}, set()),
                ("symlink", lambda: os.symlink("a", os.path.join(d, "ln")), {"ln"}, set()),
                ("link", lambda: os.link(os.path.join(d, "a"), os.path.join(d, "hard")),
                 {"hard"}, set()),
                ("mkfifo", lambda: os.mkfifo(os.path.join(d, "fifo")), {"fifo"}, set()),
                ("rename within", lambda: os.rename(os.path.join(d, "ln"), os.path.join(d, "ln2")),
                 {"ln2"}, {"ln"}),
                ("rename out", lambda: os.rename(os.path.join(d, "fifo"),
                                                 os.path.join(other, "fifo")), set(), {"fifo"}),
                ("rename in", lambda: os.rename(os.path.join(other, "fifo"),
                                                os.path.join(d, "fifo2")), {"fifo2"}, set()),
                ("unlink", lambda: os.unlink(os.path.join(d, "hard")), set(), {"hard"}),
                ("rmdir", lambda: os.rmdir(os.path.join(d, "sub")), set(), {"sub"}),
            ]
            for what, change, added, removed in changes:
                change()
                expected |= added
                expected -= removed
                check(what)
            m.unmount()

    def test_reader_resumes_where_it_was_when_names_change(self):
        names = ["f%05d" % i for i in range(6000)]
        t.ldb_load(self.db, [(b"d/" + n.encode(), b"v") for n in names])
        with t.Mount(self.db) as m:
            d = m.path("d")
            self.assertEqual(sorted(os.listdir(d)), names)  # fills the kernel's cache
            seen = []
            with os.scandir(d) as it:  # a new handle, reading the cached listing
                for entry in it:
                    seen.append(entry.name)
                    if len(seen) == 3000:
                        # Drops the cache: the rest comes from the daemon,
                        # resumed at an offset the first handle handed out.
                        os.unlink(os.path.join(d, names[10]))
                        t.write_file(os.path.join(d, "f00010x"), b"new")
                        os.unlink(os.path.join(d, names[5990]))
            self.assertEqual(len(seen), len(set(seen)), "a name was listed twice")
            throughout = set(names) - {names[10], names[5990]}
            self.assertEqual(throughout - set(seen), set(), "names that existed throughout")
            self.assertEqual(set(os.listdir(d)), throughout | {"f00010x"})
            m.unmount()

    def test_secondary_and_ttl_mounts_list_from_the_store(self):
        ttl_db = os.path.join(self.dir, "ttl-db")
        with t.Mount(ttl_db, options=["ttl=3600"], create=True) as m:
            for i in range(10):
                t.write_file(m.path("k%d" % i), b"v")
            os.listdir(m.root)
            before = listing_requests(m)
            os.listdir(m.root)
            self.assertGreater(listing_requests(m), before, "ttl= listing came from a cache")
            m.unmount()
        t.ldb_load(self.db, [(b"k%d" % i, b"v") for i in range(10)])
        with t.Mount(self.db) as primary:
            with t.Mount(self.db, options=["secondary"]) as secondary:
                self.assertNotIn("new", os.listdir(secondary.root))
                t.write_file(primary.path("new"), b"x")
                self.assertTrue(t.wait_until(lambda: "new" in os.listdir(secondary.root),
                                             timeout=5), "the secondary never listed 'new'")
                secondary.unmount()
            primary.unmount()


if __name__ == "__main__":
    unittest.main()
