#!/usr/bin/env python3
"""The etcd engine under failures and limits (SPEC section 7), each on its own
3-member cluster: the leader is killed while two mounts write (writes pause
for less than 5 s, every acknowledged write survives, read back through both
mounts and with etcdctl); a value over --max-request-bytes fails with EFBIG,
a directory rename over --max-txn-ops with EXDEV (so mv copies), and a full
cluster (the NOSPACE alarm) with ENOSPC; nothing is ever half applied."""

import errno
import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402
import etcd_testlib as e  # noqa: E402


def setUpModule():
    e.skip_unless_etcd()


read, write = t.read_file, t.write_file


def leader_index(cluster):
    """The position in cluster.endpoints of the current leader."""
    endpoints = cluster.endpoints.split(",")
    out = cluster.etcdctl("endpoint", "status", "-w", "json")
    for status in json.loads(out):
        s = status["Status"]
        if s["header"]["member_id"] == s["leader"]:
            return endpoints.index(status["Endpoint"])
    raise AssertionError("no leader in %s" % out)


class LeaderKillTest(unittest.TestCase):
    def test_leader_killed_while_two_mounts_write(self):
        with e.EtcdCluster() as cluster:
            with t.Mount(cluster.url, options=["prefix=lk/"]) as a, \
                    t.Mount(cluster.url, options=["prefix=lk/"]) as b:
                acknowledged = {}  # relative path -> value, once close returned
                pauses = []
                errors = []
                stop = threading.Event()

                def writer(mount, name):
                    i = 0
                    last = time.monotonic()
                    while not stop.is_set():
                        rel = "%s-%05d" % (name, i)
                        value = b"%s wrote %d\n" % (name.encode(), i)
                        try:
                            write(mount.path(rel), value)
                        except OSError as err:
                            errors.append("%s: %s" % (rel, err))
                            return
                        now = time.monotonic()
                        pauses.append(now - last)
                        last = now
                        acknowledged[rel] = value
                        i += 1

                threads = [threading.Thread(target=writer, args=(a, "a")),
                           threading.Thread(target=writer, args=(b, "b"))]
                for th in threads:
                    th.start()
                time.sleep(2)
                victim = leader_index(cluster)
                killed_at = time.monotonic()
                cluster.kill(victim)
                time.sleep(6)
                stop.set()
                for th in threads:
                    th.join(60)
                self.assertEqual(errors, [])
                longest = max(pauses)
                print("leader (member %d) killed: longest write pause %.2f s, %d writes"
                      % (victim, longest, len(acknowledged)), file=sys.stderr)
                self.assertLess(longest, 5.0)
                # Writes went on after the kill.
                self.assertGreater(len(acknowledged), 20)
                for rel, value in acknowledged.items():
                    self.assertEqual(read(a.path(rel)), value, rel)
                    self.assertEqual(read(b.path(rel)), value, rel)
                keys = set(cluster.keys("lk/"))
                for rel in acknowledged:
                    self.assertIn(("lk/" + rel).encode(), keys)
                del killed_at


class LimitsTest(unittest.TestCase):
    MAX_REQUEST = 256 * 1024
    MAX_TXN_OPS = 16

    def test_efbig_exdev_and_enospc(self):
        flags = ["--max-request-bytes=%d" % self.MAX_REQUEST,
                 "--max-txn-ops=%d" % self.MAX_TXN_OPS,
                 "--quota-backend-bytes=%d" % (16 << 20)]
        with e.EtcdCluster(flags) as cluster:
            with t.Mount(cluster.url, options=["prefix=lim/"]) as m:
                # A value over the request size: EFBIG at close, nothing stored.
                write(m.path("small"), b"fits")
                with self.assertRaises(OSError) as cm:
                    write(m.path("big"), b"b" * (self.MAX_REQUEST + 1))
                self.assertEqual(cm.exception.errno, errno.EFBIG)
                # The create (its own operation) happened; the value did not.
                self.assertEqual(cluster.etcdctl("get", "lim/big", "--print-value-only"), b"\n")
                self.assertEqual(os.stat(m.path("big")).st_size, 0)

                # A directory rename over the txn size: EXDEV, nothing moved;
                # mv then copies it.
                os.mkdir(m.path("dir"))
                for i in range(self.MAX_TXN_OPS):
                    write(m.path("dir/f%02d" % i), b"%d" % i)
                with self.assertRaises(OSError) as cm:
                    os.rename(m.path("dir"), m.path("moved"))
                self.assertEqual(cm.exception.errno, errno.EXDEV)
                self.assertEqual(len(os.listdir(m.path("dir"))), self.MAX_TXN_OPS)
                self.assertFalse(os.path.exists(m.path("moved")))
                t.run(["mv", m.path("dir"), m.path("moved")])
                self.assertFalse(os.path.exists(m.path("dir")))
                self.assertEqual(sorted(os.listdir(m.path("moved"))),
                                 ["f%02d" % i for i in range(self.MAX_TXN_OPS)])
                self.assertEqual(read(m.path("moved/f03")), b"3")
                # A small directory still renames atomically.
                os.mkdir(m.path("few"))
                write(m.path("few/x"), b"x")
                os.rename(m.path("few"), m.path("few2"))
                self.assertEqual(read(m.path("few2/x")), b"x")

                # Fill the cluster: the NOSPACE alarm is ENOSPC, and the
                # daemon keeps serving reads.
                chunk = b"n" * (self.MAX_REQUEST // 2)
                got = None
                for i in range(400):
                    try:
                        write(m.path("fill-%03d" % i), chunk)
                    except OSError as err:
                        got = err.errno
                        break
                self.assertEqual(got, errno.ENOSPC)
                self.assertTrue(m.running())
                self.assertEqual(read(m.path("small")), b"fits")
                self.assertEqual(read(m.path("moved/f03")), b"3")


if __name__ == "__main__":
    t.require_fuse()
    e.require_etcd()
    unittest.main()
