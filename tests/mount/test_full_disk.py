#!/usr/bin/env python3
"""A full disk (SPEC section 6: ENOSPC, never a crash, nothing closed lost).

The DB lives on a small ext4 filesystem (a 64 MiB loop-mounted image) that
also holds a big filler file. Writes through the mount fill the rest:
  - they fail with ENOSPC (not EIO) and the daemon stays up;
  - everything closed before the disk filled reads back intact;
  - the daemon log has the warning line for the failed commit (the key and
    RocksDB's NoSpace status, errno 28);
  - once the filler is deleted (behind the mount's back), writes succeed
    again without a remount (the store resumes RocksDB after its
    background error);
  - the DB passes `ldb checkconsistency` afterwards.
Skips when loop devices cannot be used (not root, no /dev/loop-control).
"""

import errno
import os
import random
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

MiB = 1 << 20
IMAGE_SIZE = 64 * MiB
HEADROOM = 10 * MiB  # free space left after the filler


def loop_problem():
    if os.geteuid() != 0:
        return "needs root to loop-mount a filesystem image"
    if not os.path.exists("/dev/loop-control"):
        return "/dev/loop-control does not exist (no loop devices)"
    if shutil.which("mkfs.ext4") is None:
        return "mkfs.ext4 is not installed (e2fsprogs)"
    return None


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()
    reason = loop_problem()
    if reason:
        raise unittest.SkipTest(reason)


write, read = t.write_file, t.read_file


def rocksdb_log(db):
    """RocksDB's own LOG lines about errors and recovery."""
    try:
        with open(os.path.join(db, "LOG"), errors="replace") as f:
            lines = [l for l in f if any(w in l for w in ("rror", "ecover", "esum", "space"))]
    except OSError as e:
        return str(e)
    return "".join(lines[-40:])


def value(i, size):
    """size bytes that differ per i and that no compressor can shrink.

    The fill must take its full size on disk: RocksDB compresses SST blocks
    (Snappy by default), and a value of one repeated byte shrinks to almost
    nothing, so 200 such MiB can fit into the 64 MiB disk and never fail.
    """
    return random.Random(i).randbytes(size)


class FullDiskTest(t.TempDirTestCase):
    def setUp(self):
        super().setUp()
        image = os.path.join(self.dir, "disk.img")
        self.small = os.path.join(self.dir, "small")
        os.mkdir(self.small)
        with open(image, "wb") as f:
            f.truncate(IMAGE_SIZE)
        t.run(["mkfs.ext4", "-q", "-F", "-m", "0", image])
        proc = t.run(["mount", "-o", "loop", image, self.small], check=False)
        if proc.returncode != 0:
            self.skipTest("cannot loop-mount an ext4 image: %s"
                          % proc.stderr.decode(errors="replace").strip())
        self.addCleanup(self.unmount_small)

    def unmount_small(self):
        for _ in range(50):
            if subprocess.run(["umount", self.small], stderr=subprocess.DEVNULL).returncode == 0:
                return
            time.sleep(0.1)
        subprocess.run(["umount", "-l", self.small])

    def free_bytes(self):
        st = os.statvfs(self.small)
        return st.f_bavail * st.f_frsize

    def test_enospc_then_recovery_without_remount(self):
        db = os.path.join(self.small, "db")
        filler = os.path.join(self.small, "filler")
        # RocksDB's automatic recovery from a full disk waits for free space
        # of one memtable's worth (write_buffer_size, 64 MiB by default):
        # more than this whole disk. Small memtables fit.
        with t.Mount(db, create=True, options=["cf_options=write_buffer_size=4194304",
                                               "db_options=max_total_wal_size=8388608"]) as m:
            before = {}
            for i in range(20):
                before["before/%02d" % i] = value(i, 20000 + i)
            os.mkdir(m.path("before"))
            for name, data in before.items():
                write(m.path(name), data)

            # Leave a little room, then fill it through the mount.
            with open(filler, "wb") as f:
                f.truncate(0)
                chunk = b"\xff" * MiB
                while self.free_bytes() > HEADROOM + MiB:
                    f.write(chunk)
                    f.flush()
                    os.fsync(f.fileno())
            os.mkdir(m.path("fill"))
            failure = None
            written = []
            for i in range(200):
                name = "fill/%03d" % i
                try:
                    write(m.path(name), value(i, MiB))
                except OSError as e:
                    failure = e
                    break
                written.append(name)
            self.assertIsNotNone(failure, "200 MiB went into a 64 MiB disk")
            self.assertEqual(failure.errno, errno.ENOSPC,
                             "a full disk gave %s, not ENOSPC\n%s" % (failure, m.log()[-3000:]))
            self.assertTrue(m.running(), "the daemon died on a full disk:\n%s" % m.log())

            # Further writes keep failing cleanly; reads keep working.
            with self.assertRaises(OSError) as cm:
                write(m.path("fill/again"), value(1, MiB))
            self.assertEqual(cm.exception.errno, errno.ENOSPC)
            for name, data in before.items():
                self.assertEqual(read(m.path(name)), data, name)
            for name in written:
                self.assertEqual(read(m.path(name)), value(int(name[-3:]), MiB), name)
            self.assertIn("errno 28", m.log())
            self.assertTrue(any("NoSpace" in line and "errno 28" in line
                                for line in m.log().splitlines()),
                            "no NoSpace warning in the daemon log:\n%s" % m.log()[-3000:])

            # Free space behind the mount's back: writes work again.
            os.unlink(filler)
            deadline = time.monotonic() + 30
            while True:
                try:
                    write(m.path("after"), b"written after the disk was freed")
                    break
                except OSError as e:
                    if e.errno != errno.ENOSPC or time.monotonic() > deadline:
                        self.fail("writes did not recover after freeing space: %s\n%s\n"
                                  "RocksDB LOG:\n%s" % (e, m.log()[-3000:], rocksdb_log(db)))
                    time.sleep(0.5)
            self.assertEqual(read(m.path("after")), b"written after the disk was freed")
            write(m.path("after2"), value(7, 3 * MiB))
            self.assertEqual(read(m.path("after2")), value(7, 3 * MiB))
            for name, data in before.items():
                self.assertEqual(read(m.path(name)), data, name)
            self.assertTrue(m.running())
            m.unmount()
        t.ldb(db, "checkconsistency")
        self.assertEqual(t.ldb_get(db, b"after"), b"written after the disk was freed")
        self.assertEqual(t.ldb_get(db, b"before/07"), before["before/07"])


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
