#!/usr/bin/env python3
"""The short form of scripts/crash_test.py: the daemon is killed with SIGKILL
20 times under four writers (create, overwrite, append, rename, unlink) and
remounted each time; every operation whose close() or rename() returned is
there, whole, the one in flight at each kill is there whole or not at all,
and `ldb checkconsistency` passes. About a minute.

Long form: python3 scripts/crash_test.py --kills 200
On etcd: tests/mount/test_etcd_reliability.py (crash_test.py --etcd URL --prefix P).
"""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

KILLS = os.environ.get("ROCKSFS_CRASH_KILLS", "20")
SECONDS = os.environ.get("ROCKSFS_CRASH_SECONDS", "45")


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


def run_crash_test(test, kills, seconds, *args):
    """Runs scripts/crash_test.py (more arguments: args) and asserts that it
    passed every kill; returns the number of journal records (operations
    begun and done) it reports."""
    script = os.path.join(t.source_dir(), "scripts", "crash_test.py")
    proc = subprocess.run([sys.executable, script, "--kills", str(kills), "--seconds",
                           str(seconds), "--build-dir", t.build_dir(), *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    output = proc.stdout.decode("utf-8", "replace")
    print(output[-3000:], file=sys.stderr)
    test.assertEqual(proc.returncode, 0, output[-20000:])
    passed = re.search(r"crash_test: PASSED: (\d+) kills, (\d+) journal records", output)
    test.assertIsNotNone(passed, output[-3000:])
    test.assertEqual(int(passed.group(1)), int(kills))
    return int(passed.group(2))


class CrashTest(unittest.TestCase):
    def test_kill_9_under_load_loses_nothing_closed(self):
        run_crash_test(self, KILLS, SECONDS)


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
