#!/usr/bin/env python3
"""The reliability tests of the RocksDB mounts, run on an etcd mount (SPEC
section 7: the same tests run on both engines), on one 3-member cluster,
with their counts scaled to etcd's speed (an operation costs 5-25 ms here,
against well under one on RocksDB), and the store read back with etcdctl
(`etcdctl get --prefix P`) where the RocksDB tests use ldb:

- test_stress.py's checks (StressChecks): readers, writers, renamers and
  listers at once (no torn value, no name listed twice, no never-touched
  name missed, no call over 5 s), O_APPEND writers from four processes,
  disjoint pwrite writers, read-your-writes across processes, files read
  whole while their directory is listed. After each, what etcdctl shows
  under the prefix is checked as test_stress.py checks the DB, and a fresh
  mount reads exactly the keys etcdctl lists, byte for byte.
- scripts/crash_test.py --etcd: the daemon is killed with SIGKILL under four
  writers and remounted, again and again; after each kill etcdctl shows each
  writer's files exactly as its journal says (every operation whose close or
  rename returned, whole; the one in flight whole or not at all), and so
  does the remount.
- test_exercisers.py's checks (ExerciserChecks): fio --verify=crc32c and
  stress-ng's filesystem stressors with --verify, at sizes under etcd's
  --max-request-bytes (1.5 MiB by default: a file is one value).

ROCKSFS_ETCD_STRESS_SECONDS (default 20), ROCKSFS_ETCD_CRASH_KILLS (default
10) and ROCKSFS_ETCD_CRASH_SECONDS (default 40) set the lengths.
"""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402
import etcd_testlib as e  # noqa: E402
import test_crash  # noqa: E402
import test_exercisers  # noqa: E402
import test_stress  # noqa: E402

CLUSTER = None
STRESS_SECONDS = float(os.environ.get("ROCKSFS_ETCD_STRESS_SECONDS", "20"))
CRASH_KILLS = os.environ.get("ROCKSFS_ETCD_CRASH_KILLS", "10")
CRASH_SECONDS = os.environ.get("ROCKSFS_ETCD_CRASH_SECONDS", "40")


def setUpModule():
    global CLUSTER
    e.skip_unless_etcd()
    CLUSTER = e.EtcdCluster().start()


def tearDownModule():
    if CLUSTER is not None:
        CLUSTER.close()


def files_under(root):
    """Every file under root: relative path (bytes) -> content."""
    out = {}
    for dirpath, _, names in os.walk(os.fsencode(root)):
        for name in names:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, os.fsencode(root))] = t.read_file(path)
    return out


class EtcdTree:
    """A tree of its own on the shared cluster for every test (its own
    prefix); the hooks StressChecks and ExerciserChecks call."""

    def setUp(self):
        super().setUp()
        self.prefix = "%s-%d/" % (self._testMethodName, time.monotonic_ns())

    def mount(self, options=()):
        return t.Mount(CLUSTER.url, options=["prefix=" + self.prefix, *options])

    def stored(self):
        """The keys under the prefix (without it) and their values, with etcdctl."""
        n = len(self.prefix)
        return {k[n:]: v for k, v in CLUSTER.values(self.prefix).items()}

    def check_store(self):
        """A fresh mount (a new daemon) shows exactly the keys etcdctl lists,
        byte for byte."""
        stored = self.stored()
        with self.mount() as fresh:
            seen = files_under(fresh.root)
        self.assertEqual(sorted(seen), sorted(stored), "the files of a fresh mount are not the "
                         "keys etcdctl lists")
        for key, value in stored.items():
            self.assertEqual(seen[key], value, "%r: a fresh mount reads %d bytes, etcdctl %d"
                             % (key, len(seen[key]), len(value)))


class EtcdStressTest(EtcdTree, test_stress.StressChecks, t.TempDirTestCase):
    STRESS_SECONDS = STRESS_SECONDS
    STRESS_MIN_OPS = 800
    APPEND_LINES = 150
    REGION_ROUNDS = 200
    RYW_ROUNDS = 150
    LISTED_SECONDS = 6.0
    LISTED_MIN_FILES = 40


class EtcdExerciserTest(EtcdTree, test_exercisers.ExerciserChecks, t.TempDirTestCase):
    # A file is one etcd value: each stays well under --max-request-bytes.
    FIO_JOBS = [("seq", ["--rw=write", "--bs=64k", "--size=1M"]),
                ("rand", ["--rw=randwrite", "--bs=4k", "--size=1M"]),
                ("randbig", ["--rw=randwrite", "--bsrange=1k-128k", "--size=1M"])]
    STRESSNG_SECONDS = "8"
    STRESSNG_BYTES = "1M"
    # A round of the dentry stressor creates --dentries files (2048 by
    # default), some 75 ms a creation here (stress-ng's own figure): fewer,
    # so that the last round ends soon after the time is up.
    STRESSNG_DENTRIES = 128
    # The filename stressor finished no round in 30 s on etcd (a round
    # creates and unlinks many files), so its checks would never run.
    STRESSNG_LEFT_OUT = ("filename",)


class EtcdCrashTest(EtcdTree, unittest.TestCase):
    def test_kill_9_under_load_loses_nothing_closed(self):
        records = test_crash.run_crash_test(self, CRASH_KILLS, CRASH_SECONDS,
                                            "--etcd", CLUSTER.url, "--prefix", self.prefix)
        # Two records (begin, done) per operation: the writers got work done
        # between the kills, on etcd's time.
        self.assertGreater(records, 40 * int(CRASH_KILLS))


if __name__ == "__main__":
    t.require_fuse()
    e.require_etcd()
    unittest.main()
