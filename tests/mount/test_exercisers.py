#!/usr/bin/env python3
"""Standard exercisers on a mount: fio with data verification, and
stress-ng's filesystem stressors. Each test skips with a message when its
tool is not installed (scripts/setup.sh installs both).

- fio: sequential and random writes of a file with --verify=crc32c (read
  back and checked through the writing descriptor), then a --verify_only run
  that checks the committed file through a new open. ioengine psync (write()
  and read()); no mmap engine (shared writable mappings are refused by
  design, see README).
- stress-ng: --dir --dentry --rename --filename --hdd --seek --iomix
  --dirdeep --dirmany together, with --verify, for ROCKSFS_STRESSNG_SECONDS
  (default 15). Sizes are bounded below max_value_size (--hdd-bytes,
  --iomix-bytes, --seek-size: their 1 GiB+ defaults get EFBIG by design);
  --filename uses the POSIX portable character set (its default random
  names include '%' followed by hex digits, which rocksfs refuses with
  EINVAL when they are not the canonical escape of a key, by design).
  Shared writable mappings, which rocksfs refuses, are not used by these
  stressors' --verify paths (the link and mknod stressors are left out;
  tests/mount/test_links_and_special_files.py covers those calls).
Every stressor must finish at least one round, so that its checks ran
(iomix excepted on RocksDB, see ExerciserTest). The daemon must be alive and
answering afterwards, and the DB must pass `ldb checkconsistency`. The
checks are in ExerciserChecks; tests/mount/test_etcd_reliability.py runs
them on an etcd mount.
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

STRESSNG_SECONDS = os.environ.get("ROCKSFS_STRESSNG_SECONDS", "15")


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


class ExerciserChecks:
    """This module's tests, on whatever store a subclass mounts (RocksDB here,
    etcd in test_etcd_reliability.py). A subclass (also a unittest.TestCase)
    gives mount(): a t.Mount of a fresh, empty tree, and check_store(): after
    the unmount, the store checks out as a whole; and may set the sizes."""

    # fio jobs: (name, arguments).
    FIO_JOBS = [("seq", ["--rw=write", "--bs=64k", "--size=32M"]),
                ("rand", ["--rw=randwrite", "--bs=4k", "--size=8M"]),
                ("randbig", ["--rw=randwrite", "--bsrange=1k-128k", "--size=16M"])]
    # stress-ng: run time, --hdd-bytes, --seek-size and --iomix-bytes,
    # --dentries (None: stress-ng's 2048), the stressors left out.
    STRESSNG_SECONDS = STRESSNG_SECONDS
    STRESSNG_BYTES = "16M"
    STRESSNG_DENTRIES = None
    STRESSNG_LEFT_OUT = ()
    # Stressors that may finish no round in the time (exempt from that check).
    STRESSNG_MAY_NOT_FINISH = ()

    def stressng_stressors(self):
        """(stressor, its options) for stress-ng."""
        size = self.STRESSNG_BYTES
        dentries = ["--dentries", str(self.STRESSNG_DENTRIES)] if self.STRESSNG_DENTRIES else []
        every = [("dir", []), ("dentry", dentries), ("rename", []),
                 ("filename", ["--filename-opts", "posix"]),
                 ("hdd", ["--hdd-bytes", size]), ("seek", ["--seek-size", size]),
                 ("iomix", ["--iomix-bytes", size]), ("dirdeep", []), ("dirmany", [])]
        return [(name, opts) for name, opts in every if name not in self.STRESSNG_LEFT_OUT]

    def assertAlive(self, m):
        self.assertTrue(m.running(), "the daemon died:\n%s" % m.log()[-5000:])
        with open(m.path("alive"), "wb") as f:
            f.write(b"yes")
        with open(m.path("alive"), "rb") as f:
            self.assertEqual(f.read(), b"yes")
        os.unlink(m.path("alive"))

    def finish(self, m):
        self.assertAlive(m)
        m.unmount()
        self.check_store()

    @unittest.skipUnless(shutil.which("fio"), "fio is not installed (apt-get install fio)")
    def test_fio_verify_crc32c(self):
        with self.mount() as m:
            os.mkdir(m.path("fio"))
            for name, args in self.FIO_JOBS:
                common = ["fio", "--name=%s" % name, "--directory=%s" % m.path("fio"),
                          "--ioengine=psync", "--fallocate=none", "--verify=crc32c",
                          "--verify_fatal=1", "--randseed=%d" % len(name), *args]
                for extra in ([], ["--verify_only"]):
                    # cwd: fio saves its verify state (local-*-verify.state) there.
                    proc = t.run(common + extra, check=False, timeout=300, cwd=self.dir)
                    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
                    self.assertEqual(proc.returncode, 0, "fio %s %s failed:\n%s\n%s" % (
                        name, " ".join(extra), out[-4000:], m.log()[-3000:]))
                    self.assertIn("err= 0", out)
            self.finish(m)

    @unittest.skipUnless(shutil.which("stress-ng"), "stress-ng is not installed "
                         "(apt-get install stress-ng)")
    def test_stress_ng_filesystem_stressors(self):
        stressors = self.stressng_stressors()
        with self.mount() as m:
            os.mkdir(m.path("stress"))
            cmd = ["stress-ng", "--temp-path", m.path("stress"), "--timeout",
                   self.STRESSNG_SECONDS + "s", "--verify", "--metrics-brief"]
            for name, opts in stressors:
                cmd += ["--" + name, "1", *opts]
            proc = t.run(cmd, check=False, timeout=int(self.STRESSNG_SECONDS) + 240)
            out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
            print(out[-3000:], file=sys.stderr)
            self.assertEqual(proc.returncode, 0, "stress-ng failed (status %d):\n%s\n%s" % (
                proc.returncode, out[-6000:], m.log()[-3000:]))
            self.assertNotIn("fail:", out)
            # Every stressor got through at least one round (its checks ran).
            rounds = dict(re.findall(r"(?:metrc|info): +\[\d+\] +([a-z-]+) +(\d+) +\d+\.\d+ ",
                                     out))
            for name, _ in stressors:
                if name in self.STRESSNG_MAY_NOT_FINISH:
                    continue
                self.assertGreater(int(rounds.get(name, 0)), 0, "stress-ng's %s stressor did "
                                   "not finish a round:\n%s" % (name, out[-3000:]))
            self.finish(m)


class ExerciserTest(ExerciserChecks, t.TempDirTestCase):
    """On a RocksDB database, checked with ldb."""

    # iomix alone on a mount does some 25,000 rounds in 10 s; next to all the
    # other stressors it may finish none in 15 s, waiting on the daemon behind
    # dirdeep's deep tree, where every request costs time in proportion to
    # its depth (README, "Reliability tests").
    STRESSNG_MAY_NOT_FINISH = ("iomix",)

    def mount(self):
        self.db = os.path.join(self.dir, "db")
        return t.Mount(self.db, create=True)

    def check_store(self):
        t.ldb(self.db, "checkconsistency")


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
