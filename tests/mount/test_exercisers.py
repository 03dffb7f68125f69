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
The daemon must be alive and answering afterwards, and the DB must pass
`ldb checkconsistency`.
"""

import os
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


class ExerciserTest(t.TempDirTestCase):
    def assertAlive(self, m):
        self.assertTrue(m.running(), "the daemon died:\n%s" % m.log()[-5000:])
        with open(m.path("alive"), "wb") as f:
            f.write(b"yes")
        with open(m.path("alive"), "rb") as f:
            self.assertEqual(f.read(), b"yes")
        os.unlink(m.path("alive"))

    def finish(self, m, db):
        self.assertAlive(m)
        m.unmount()
        t.ldb(db, "checkconsistency")

    @unittest.skipUnless(shutil.which("fio"), "fio is not installed (apt-get install fio)")
    def test_fio_verify_crc32c(self):
        db = os.path.join(self.dir, "db")
        with t.Mount(db, create=True) as m:
            os.mkdir(m.path("fio"))
            jobs = [("seq", ["--rw=write", "--bs=64k", "--size=32M"]),
                    ("rand", ["--rw=randwrite", "--bs=4k", "--size=8M"]),
                    ("randbig", ["--rw=randwrite", "--bsrange=1k-128k", "--size=16M"])]
            for name, args in jobs:
                common = ["fio", "--name=%s" % name, "--directory=%s" % m.path("fio"),
                          "--ioengine=psync", "--fallocate=none", "--verify=crc32c",
                          "--verify_fatal=1", "--randseed=%d" % len(name), *args]
                for extra in ([], ["--verify_only"]):
                    proc = t.run(common + extra, check=False, timeout=300)
                    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
                    self.assertEqual(proc.returncode, 0, "fio %s %s failed:\n%s\n%s" % (
                        name, " ".join(extra), out[-4000:], m.log()[-3000:]))
                    self.assertIn("err= 0", out)
            self.finish(m, db)

    @unittest.skipUnless(shutil.which("stress-ng"), "stress-ng is not installed "
                         "(apt-get install stress-ng)")
    def test_stress_ng_filesystem_stressors(self):
        db = os.path.join(self.dir, "db")
        with t.Mount(db, create=True) as m:
            os.mkdir(m.path("stress"))
            cmd = ["stress-ng", "--temp-path", m.path("stress"), "--timeout",
                   STRESSNG_SECONDS + "s", "--verify", "--metrics-brief",
                   "--dir", "1", "--dentry", "1", "--rename", "1",
                   "--filename", "1", "--filename-opts", "posix",
                   "--hdd", "1", "--hdd-bytes", "16M",
                   "--seek", "1", "--seek-size", "16M",
                   "--iomix", "1", "--iomix-bytes", "16M",
                   "--dirdeep", "1", "--dirmany", "1"]
            proc = t.run(cmd, check=False, timeout=int(STRESSNG_SECONDS) + 240)
            out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
            print(out[-3000:], file=sys.stderr)
            self.assertEqual(proc.returncode, 0, "stress-ng failed (status %d):\n%s\n%s" % (
                proc.returncode, out[-6000:], m.log()[-3000:]))
            self.assertNotIn("fail:", out)
            self.finish(m, db)


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
