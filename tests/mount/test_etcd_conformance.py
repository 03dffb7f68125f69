#!/usr/bin/env python3
"""The POSIX checks of the RocksDB mounts, run on an etcd mount (SPEC section
7: the same tests run on both engines): scripts/posix_parity.py against
ext4 with the same allow-list, and rocksfs_fsx (two processes, with and
without mmap) checked against POSIX's model, its files then read back
through a second, fresh mount."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402
import etcd_testlib as e  # noqa: E402

CLUSTER = None
OPS = int(os.environ.get("ROCKSFS_ETCD_FSX_OPS", "1000"))


def setUpModule():
    global CLUSTER
    e.skip_unless_etcd()
    CLUSTER = e.EtcdCluster().start()


def tearDownModule():
    if CLUSTER is not None:
        CLUSTER.close()


class EtcdConformanceTest(t.TempDirTestCase):
    def test_posix_parity_on_etcd(self):
        os.chmod(self.dir, 0o755)  # uid 65534 must reach the mount point
        mountpoint = os.path.join(self.dir, "mnt")
        os.mkdir(mountpoint)
        with t.Mount(CLUSTER.url, options=["prefix=parity/", "allow_other", "default_permissions"],
                     mountpoint=mountpoint) as m:
            script = os.path.join(t.source_dir(), "scripts", "posix_parity.py")
            proc = subprocess.run([sys.executable, script, "--mount", m.root],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=600)
            print(proc.stdout.splitlines()[-1] if proc.stdout else "", file=sys.stderr)
            self.assertEqual(proc.returncode, 0, "posix_parity.py found differences:\n%s\n%s"
                             % (proc.stdout, m.log()[-4000:]))
            self.assertNotIn(" SKIP", proc.stdout, "the uid-65534 cases did not run")
            self.assertTrue(m.running())

    def test_fsx_on_etcd(self):
        fsx = os.path.join(t.build_dir(), "rocksfs_fsx")
        if not os.access(fsx, os.X_OK):
            raise t.TestSetupError("%s is not built" % fsx)
        runs = [("mmap", ["--seed", "11"]), ("no-mmap", ["--seed", "12", "--no-mmap"])]
        with t.Mount(CLUSTER.url, options=["prefix=fsx/"]) as m:
            procs = []
            for name, args in runs:
                d = m.path(name)
                os.mkdir(d)
                manifest = os.path.join(self.dir, name + ".manifest")
                procs.append(subprocess.Popen(
                    [fsx, *args, "--ops", str(OPS), "--manifest", manifest, d],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
            for proc in procs:
                out, _ = proc.communicate(timeout=900)
                print(out.strip().splitlines()[-1] if out.strip() else "", file=sys.stderr)
                self.assertEqual(proc.returncode, 0, out[-4000:])
            self.assertTrue(m.running(), m.log())
        # Another mount (a fresh daemon) reads back what the exercisers left.
        with t.Mount(CLUSTER.url, options=["prefix=fsx/"]) as fresh:
            for name, _ in runs:
                with open(os.path.join(self.dir, name + ".manifest")) as f:
                    lines = [line.split() for line in f if line.strip()]
                self.assertTrue(lines, name)
                for fname, size, digest in lines:
                    with open(fresh.path("%s/%s" % (name, fname)), "rb") as g:
                        data = g.read()
                    self.assertEqual(len(data), int(size), fname)
                    self.assertEqual("%016X" % t.fnv1a64(data), digest, fname)


if __name__ == "__main__":
    t.require_fuse()
    e.require_etcd()
    unittest.main()
