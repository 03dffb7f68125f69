#!/usr/bin/env python3
"""rocksfs_fsx (tests/fsx/rocksfs_fsx.cc) on a mount: random open, read,
write, truncate, O_APPEND, mmap, fsync, rename and unlink sequences checked
byte for byte against POSIX's model, which rocksfs follows inside a mount
(SPEC section 3): up to 3 descriptors per file at once, each reading what
the others wrote at once (read-your-writes), O_APPEND writes from two
descriptors, sizes through every descriptor right after ftruncate, truncate
and O_TRUNC, stores into shared writable mappings read back through read()
and after munmap, and every file read again after closing and reopening.
Two processes at once, each on its own files, with and without mmap; every
kind of check must have run. After the unmount `ldb` finds each file's last
content in the DB. Then the same seeds on a local directory, to check the
exerciser itself.

Long form: ROCKSFS_FSX_OPS=200000 python3 tests/mount/test_fsx.py
"""

import os
import random
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

OPS = int(os.environ.get("ROCKSFS_FSX_OPS", "10000"))  # per process and mode
SEED = int(os.environ.get("ROCKSFS_FSX_SEED", str(random.randrange(1, 1 << 31))))


def fsx_binary():
    path = os.path.join(t.build_dir(), "rocksfs_fsx")
    if not os.access(path, os.X_OK):
        raise t.TestSetupError("rocksfs_fsx is not built: %s (build the project)" % path)
    return path


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()
    fsx_binary()


def run_parallel(runs):
    """Runs [(args, dir)] at once; returns [(args, status, output)]."""
    procs = []
    for args in runs:
        procs.append((args, subprocess.Popen([fsx_binary(), *args], stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT)))
    results = []
    for args, proc in procs:
        try:
            out, _ = proc.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            out += b"\n(killed after 600 s)"
        results.append((args, proc.returncode, out.decode("utf-8", "replace")))
    return results


class FsxTest(t.TempDirTestCase):
    def check(self, results, where):
        for args, status, output in results:
            print(output.strip(), file=sys.stderr)
            self.assertEqual(status, 0, "rocksfs_fsx %s failed on %s:\n%s"
                             % (" ".join(args), where, output))

    def check_coverage(self, output, mmap):
        """Every kind of check ran (the mapping ones only with mmap)."""
        match = re.search(r"; checks: (.*)\)$", output.strip(), re.M)
        self.assertIsNotNone(match, "no checks line in:\n%s" % output)
        counts = {}
        for item in match.group(1).split(", "):
            label, _, number = item.rpartition(" ")
            counts[label] = int(number)
        for label, count in counts.items():
            if "mapping" in label or "stores" in label:
                if mmap:
                    self.assertGreater(count, 0, "no %s in:\n%s" % (label, output))
                else:
                    self.assertEqual(count, 0, "%s with --no-mmap in:\n%s" % (label, output))
            else:
                self.assertGreater(count, 0, "no %s in:\n%s" % (label, output))
        self.assertGreaterEqual(len(counts), 8, output)

    def seeds(self):
        print("rocksfs_fsx seeds %d and %d (set ROCKSFS_FSX_SEED to repeat)" % (SEED, SEED + 1),
              file=sys.stderr)
        return [SEED, SEED + 1]

    def test_two_processes_on_a_mount_and_on_a_local_directory(self):
        db = os.path.join(self.dir, "db")
        modes = [("mmap", []), ("no-mmap", ["--no-mmap"])]
        seeds = self.seeds()
        with t.Mount(db, create=True) as m:
            for name, flags in modes:
                runs = []
                for i, seed in enumerate(seeds):
                    d = m.path("%s-p%d" % (name, i))
                    os.mkdir(d)
                    runs.append(["--seed", str(seed), "--ops", str(OPS), *flags,
                                 "--manifest", os.path.join(self.dir, "%s-p%d.manifest" % (name, i)),
                                 d])
                results = run_parallel(runs)
                self.check(results, "the mount")
                for args, _, output in results:
                    self.check_coverage(output, mmap=(name == "mmap"))
            self.assertTrue(m.running(), m.log())
            m.unmount()
        # The DB is valid and holds what the exercisers last committed.
        t.ldb(db, "checkconsistency")
        scanned = t.ldb_scan(db)
        for name, _ in modes:
            for i in range(len(seeds)):
                with open(os.path.join(self.dir, "%s-p%d.manifest" % (name, i))) as f:
                    for line in f:
                        fname, size, digest = line.split()
                        key = ("%s-p%d/%s" % (name, i, fname)).encode()
                        self.assertIn(key, scanned)
                        self.assertEqual(len(scanned[key]), int(size), key)
                        self.assertEqual("%016X" % t.fnv1a64(scanned[key]), digest, key)

        # The exerciser itself: the same seeds on a local directory.
        with tempfile.TemporaryDirectory(prefix="rocksfs-fsx-local-") as local:
            runs = []
            for name, flags in modes:
                for i, seed in enumerate(seeds):
                    d = os.path.join(local, "%s-p%d" % (name, i))
                    os.mkdir(d)
                    runs.append(["--seed", str(seed), "--ops", str(OPS), *flags, d])
            self.check(run_parallel(runs), "a local directory")


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
