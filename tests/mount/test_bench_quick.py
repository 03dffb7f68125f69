#!/usr/bin/env python3
"""scripts/bench.sh --quick completes and prints its table and its targets,
with rocksfs beside ext4, the FUSE floor and libfuse's passthrough_ll peer;
scripts/bench.sh --engine etcd --quick prints RocksDB beside etcd, with etcd's
round trips.

Timing is never asserted: the machine running the tests is shared and noisy.
This only keeps the benchmark suite from rotting.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_testlib  # noqa: E402
import rocksfs_testlib as t  # noqa: E402


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()  # fails (not skips) when mount.rocksfs is not built


def bench(out, *args, timeout=800):
    """Runs scripts/bench.sh ARGS --out OUT; returns the CompletedProcess (text)."""
    script = os.path.join(t.source_dir(), "scripts", "bench.sh")
    env = dict(os.environ, ROCKSFS_BUILD_DIR=t.build_dir())
    return subprocess.run(["bash", script, *args, "--out", out], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


class BenchQuickTest(unittest.TestCase):
    def test_quick_run_prints_table_and_targets(self):
        with tempfile.TemporaryDirectory(prefix="rocksfs-bench-test-") as out:
            proc = bench(out, "--quick")
            self.assertEqual(proc.returncode, 0,
                             "bench.sh --quick failed:\n%s" % proc.stderr[-4000:])
            self.assertIn("| workload | unit | ext4 | tmpfs | direct API | floor | peer "
                          "| rocksfs |", proc.stdout)
            for column in ("rocksfs / ext4", "rocksfs / floor", "rocksfs / peer"):
                self.assertIn(column, proc.stdout)
            self.assertIn("| target | status | measured |", proc.stdout)
            for row in ("create+write+close 100 B, 1 writer thread", "stat, warm",
                        "open+read+close 100 B, warm", "unlink every file"):
                self.assertIn(row, proc.stdout)
            with open(os.path.join(out, "results.json")) as f:
                doc = json.load(f)
            self.assertEqual(doc["mode"], "quick")
            self.assertIn("rocksfs", doc["workloads"]["stat_warm"])
            self.assertTrue(doc["targets"])
            self.assert_floor_and_peer(doc, proc.stdout)

    def assert_floor_and_peer(self, doc, table):
        """The floor measured every workload issue 13 compares it on, with its
        requests counted; the peer too, or the report says why it did not run."""
        workloads = doc["workloads"]
        for workload in ("create_1t", "create_4t", "unlink", "read100_warm", "stat_warm"):
            floor = workloads[workload].get("floor")
            self.assertIsNotNone(floor, "no floor figure for %s" % workload)
            self.assertGreater(floor["median"], 0, workload)
            # {} when the floor saw no request (a warm stat): counted all the same.
            self.assertIsNotNone(floor["requests_per_op"],
                                 "no floor request counts for %s" % workload)
        skipped = doc["peer_skipped"]
        if skipped is None:
            for workload in ("create_1t", "unlink", "read100_warm"):
                peer = workloads[workload].get("peer")
                self.assertIsNotNone(peer, "no peer figure for %s" % workload)
                self.assertGreater(peer["median"], 0, workload)
        else:
            self.assertIn("The peer did not run: " + skipped, table)
            for entry in workloads.values():
                self.assertNotIn("peer", entry)
        names = [t["target"] for t in doc["targets"]]
        self.assertTrue(any("0.8x floor" in name for name in names), names)


class BenchEtcdTest(unittest.TestCase):
    def test_etcd_engine_beside_rocksdb(self):
        """Every workload has a figure on both engines, and a create costs
        etcd round trips (Range and Txn), counted from /.rocksfs/stats."""
        reason = etcd_testlib.etcd_problem()
        if reason:
            raise unittest.SkipTest(reason)
        with tempfile.TemporaryDirectory(prefix="rocksfs-bench-etcd-test-") as out:
            proc = bench(out, "--engine", "etcd", "--quick", "--reps", "1", "--files", "10",
                         timeout=300)
            self.assertEqual(proc.returncode, 0,
                             "bench.sh --engine etcd failed:\n%s" % proc.stderr[-4000:])
            self.assertIn("| workload | per | RocksDB ms/op | etcd ms/op | etcd / RocksDB |",
                          proc.stdout)
            rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")
                    for line in proc.stdout.splitlines() if line.startswith("| ")}
            for label in ("create+write+close 100 B", "open+read+close 100 B, warm",
                          "stat, warm", "unlink",
                          "list the directory of 10 files (readdir), first access"):
                self.assertIn(label, rows)
                self.assertNotIn("—", rows[label][2:5], label)  # RocksDB, etcd, ratio
            with open(os.path.join(out, "results.json")) as f:
                doc = json.load(f)
            create = doc["workloads"]["create"]
            self.assertGreater(create["rocksdb"]["ms_per_op"], 0)
            self.assertGreater(create["etcd"]["ms_per_op"], 0)
            trips = create["etcd"]["etcd_per_op"]
            self.assertGreater(trips.get("etcd.txn", 0), 0, trips)
            self.assertGreater(trips.get("etcd.range", 0), 0, trips)
            self.assertFalse(create["rocksdb"]["etcd_per_op"])  # RocksDB has none


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
