#!/usr/bin/env python3
"""scripts/bench.sh --quick completes and prints its table and its targets,
with rocksfs beside ext4, the FUSE floor and libfuse's passthrough_ll peer.

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
import rocksfs_testlib as t  # noqa: E402


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()  # fails (not skips) when mount.rocksfs is not built


class BenchQuickTest(unittest.TestCase):
    def test_quick_run_prints_table_and_targets(self):
        script = os.path.join(t.source_dir(), "scripts", "bench.sh")
        with tempfile.TemporaryDirectory(prefix="rocksfs-bench-test-") as out:
            env = dict(os.environ, ROCKSFS_BUILD_DIR=t.build_dir())
            proc = subprocess.run(["bash", script, "--quick", "--out", out], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  timeout=800)
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

if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
