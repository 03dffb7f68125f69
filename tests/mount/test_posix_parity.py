#!/usr/bin/env python3
"""POSIX parity: scripts/posix_parity.py runs the same system calls on a fresh
mount (-o allow_other,default_permissions, so that its uid-65534 cases run)
and on ext4, and must find no difference outside its allow-list (each entry
explained in README's "Differences from ext4")."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


class PosixParityTest(t.TempDirTestCase):
    def test_no_unexplained_difference_from_ext4(self):
        # uid 65534 must reach the mount point: every directory above it 0755.
        os.chmod(self.dir, 0o755)
        mountpoint = os.path.join(self.dir, "mnt")
        os.mkdir(mountpoint)
        options = ["allow_other", "default_permissions"]
        with t.Mount(os.path.join(self.dir, "db"), options=options, create=True,
                     mountpoint=mountpoint) as m:
            script = os.path.join(t.source_dir(), "scripts", "posix_parity.py")
            proc = subprocess.run([sys.executable, script, "--mount", m.root],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=300)
            print(proc.stdout)
            self.assertEqual(proc.returncode, 0, "posix_parity.py found differences:\n%s\n%s"
                             % (proc.stdout, m.log()[-4000:]))
            self.assertNotIn(" SKIP", proc.stdout, "the uid-65534 cases did not run")
            self.assertTrue(m.running())


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
