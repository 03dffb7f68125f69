#!/usr/bin/env python3
"""etcd mounts follow other hosts' changes through a watch (SPEC section 7,
issue 14): on a real 3-member cluster, with the kernel told to cache names
and attributes for a minute (so only the watch can make it let go), a stat,
lookup or listing on mount B reflects a create, write, chmod, xattr,
rename, unlink, mkdir or rmdir made on mount A within 1 s; an open of a
value whose mod_revision is unchanged keeps the page cache (no READ), and
one that changed reads the new bytes; the watch resumes on another member
when its member dies, and when the cluster compacted the revision it had to
resume from, every cached name is dropped; a member that hangs with its
connections open is left after the keepalive timeout."""

import contextlib
import json
import os
import statistics
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402
import etcd_testlib as e  # noqa: E402

read, write = t.read_file, t.write_file
lag = e.seen_within
LONG_CACHE = ["attr_timeout=60", "entry_timeout=60"]


def setUpModule():
    e.skip_unless_etcd()


def settle(m):
    """Lets the watch deliver the rest of the events of the changes just seen
    (a txn's data and metadata keys come one by one), then caches f's
    attributes again, so that only later changes can drop them."""
    time.sleep(0.3)
    os.stat(m.path("f"))


class WatchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = e.EtcdCluster().start()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close()

    def setUp(self):
        self.prefix = "w-%s-%d/" % (self._testMethodName, time.monotonic_ns())

    def url(self, first):
        """The cluster's URL with member `first` first: a mount's requests and
        its watch start on the first member that answers."""
        members = self.cluster.endpoints.split(",")
        return "etcd://" + ",".join(members[first:] + members[:first])

    def mount(self, first=0, options=()):
        return t.Mount(self.url(first), options=["prefix=" + self.prefix, *options])

    def test_cached_names_and_attributes_follow_other_hosts_within_the_bound(self):
        lags = []
        with self.mount(1) as a, self.mount(0, LONG_CACHE) as b:
            # A miss that B cached, then a create on A.
            self.assertFalse(os.path.exists(b.path("f")))
            write(a.path("f"), b"one")
            lags.append(lag(lambda: os.path.exists(b.path("f"))))
            self.assertEqual(read(b.path("f")), b"one")
            # Size, mode and xattrs that B cached.
            self.assertEqual(os.stat(b.path("f")).st_size, 3)
            write(a.path("f"), b"longer value")
            lags.append(lag(lambda: os.stat(b.path("f")).st_size == 12))
            os.chmod(a.path("f"), 0o600)
            lags.append(lag(lambda: os.stat(b.path("f")).st_mode & 0o777 == 0o600))
            os.setxattr(a.path("f"), "user.k", b"v")
            lags.append(lag(lambda: os.listxattr(b.path("f")) == ["user.k"]))
            # Directories and listings.
            os.mkdir(a.path("d"))
            lags.append(lag(lambda: os.path.isdir(b.path("d"))))
            self.assertEqual(os.listdir(b.path("d")), [])
            write(a.path("d/x"), b"x")
            lags.append(lag(lambda: os.listdir(b.path("d")) == ["x"]))
            os.rename(a.path("d/x"), a.path("d/y"))
            lags.append(lag(lambda: os.path.exists(b.path("d/y"))
                            and not os.path.exists(b.path("d/x"))))
            os.unlink(a.path("d/y"))
            lags.append(lag(lambda: not os.path.exists(b.path("d/y"))))
            os.rmdir(a.path("d"))
            lags.append(lag(lambda: not os.path.exists(b.path("d"))))
            os.unlink(a.path("f"))
            lags.append(lag(lambda: not os.path.exists(b.path("f"))))
            # etcdctl is another host too.
            self.cluster.etcdctl("put", self.prefix + "from-etcdctl", "e")
            lags.append(lag(lambda: os.path.exists(b.path("from-etcdctl"))))
        print("watch lag over %d changes: median %.1f ms, max %.1f ms"
              % (len(lags), statistics.median(lags) * 1000, max(lags) * 1000), file=sys.stderr)

    def test_page_cache_is_kept_while_the_mod_revision_is_unchanged(self):
        with self.mount(1) as a, self.mount(0) as b:
            write(a.path("f"), b"v" * 5000)
            self.assertEqual(read(b.path("f")), b"v" * 5000)
            # An event of A's write that reaches B between B's lookup and its
            # open drops B's name for f, and with the inode its pages, once:
            # let the events come, then read again.
            settle(b)
            self.assertEqual(read(b.path("f")), b"v" * 5000)
            # Reading the counters costs requests too: measure that first.
            c0 = t.counters(b)
            before = t.counters(b)
            for _ in range(5):
                self.assertEqual(read(b.path("f")), b"v" * 5000)
            after = t.counters(b)

            def delta(name):
                return (after[name] - before[name]) - (before[name] - c0[name])
            self.assertEqual(delta("requests.open"), 5)
            self.assertEqual(delta("requests.read"), 0,
                             "an unchanged value is read from the page cache")
            # A new version, even of the same size, is read again at open.
            write(a.path("f"), b"w" * 5000)
            self.assertEqual(read(b.path("f")), b"w" * 5000)
            self.assertGreater(t.counters(b)["requests.read"], after["requests.read"])
            # And a longer one is read whole, though B had the old size.
            write(a.path("f"), b"x" * 9000)
            self.assertEqual(read(b.path("f")), b"x" * 9000)

    def test_watch_moves_to_another_member_when_its_member_dies(self):
        with self.mount(1) as a, self.mount(0, LONG_CACHE) as b:
            write(a.path("f"), b"1")
            lag(lambda: os.path.exists(b.path("f")))
            self.cluster.kill(0)  # the member B's watch is on
            try:
                write(a.path("f"), b"22")
                self.assertLess(lag(lambda: os.stat(b.path("f")).st_size == 2, within=5), 5)
                write(a.path("g"), b"3")
                lag(lambda: os.path.exists(b.path("g")))
            finally:
                self.cluster.restart(0)

    @contextlib.contextmanager
    def b_member_paused(self):
        """Mounts A (member 1 first) and B (member 0 first, 60 s caches),
        writes f = b"1" through A and waits until B caches it, then stops
        member 0, on which B's watch is: it hangs with its connections open.
        Yields (a, b); kills and restarts member 0 afterwards."""
        with self.mount(1) as a, self.mount(0, LONG_CACHE) as b:
            write(a.path("f"), b"1")
            lag(lambda: os.stat(b.path("f")).st_size == 1)
            settle(b)
            self.cluster.pause(0)
            try:
                yield a, b
            finally:
                self.cluster.kill(0)
                self.cluster.restart(0)

    def test_watch_leaves_a_member_that_stops_answering(self):
        # Only keepalive pings (10 s, 3 s to answer) tell the watch to move on.
        with self.b_member_paused() as (a, b):
            write(a.path("f"), b"22")
            seconds = lag(lambda: os.stat(b.path("f")).st_size == 2, within=25)
            print("watch moved off a hung member after %.1f s" % seconds, file=sys.stderr)

    def test_compacted_watch_drops_every_cached_name(self):
        # While B's member hangs, A writes and the cluster compacts past what
        # B saw...
        with self.b_member_paused() as (a, b):
            write(a.path("f"), b"22")
            others = ",".join(self.cluster.endpoints.split(",")[1:])
            out = self.cluster.etcdctl("get", "x", "-w", "json", endpoints=others)
            revision = json.loads(out)["header"]["revision"]
            self.cluster.etcdctl("compact", str(revision), endpoints=others)
            time.sleep(0.3)
            self.assertEqual(os.stat(b.path("f")).st_size, 1, "B still caches the old size")
            # ...then the member dies: the watch resumes elsewhere, finds its
            # revision compacted, and drops everything.
            self.cluster.kill(0)
            lag(lambda: os.stat(b.path("f")).st_size == 2, within=5)
            self.assertEqual(read(b.path("f")), b"22")

if __name__ == "__main__":
    unittest.main(verbosity=2)
