#!/usr/bin/env python3
"""The etcd engine, mounted (SPEC section 7): on a real 3-member etcd cluster,
keys written with etcdctl appear as files byte for byte and the mount's files
are exactly the keys under its prefix; two mounts (two daemons, as two hosts
would run) see each other's creates, writes, renames, rmdirs and xattrs;
every open sees what a close on the other mount wrote before it started
(close-to-open); bad sources and RocksDB-only options fail with one line;
mount -t fuse.rocksfs works; ttl= keys expire (etcd leases); stored
snapshots are revisions every mount sees; `rocksfs stat` and `dump` read
etcd:// too; losing the quorum fails calls with EIO after
the timeout and the same mount works again once the quorum is back."""

import errno
import json
import os
import shutil
import statistics
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402
import etcd_testlib as e  # noqa: E402

CLUSTER = None


def setUpModule():
    global CLUSTER
    e.skip_unless_etcd()
    CLUSTER = e.EtcdCluster().start()


def tearDownModule():
    if CLUSTER is not None:
        CLUSTER.close()


read, write = t.read_file, t.write_file


def tree(root):
    """Every file under root, relative, as bytes paths."""
    out = set()
    for dirpath, _, files in os.walk(os.fsencode(root)):
        for name in files:
            out.add(os.path.relpath(os.path.join(dirpath, name), os.fsencode(root)))
    return out


class EtcdMountTest(unittest.TestCase):
    def setUp(self):
        # Every test its own prefix: its own tree on the shared cluster.
        self.prefix = "t-%s-%d/" % (self._testMethodName, time.monotonic_ns())

    def mount(self, *options):
        return t.Mount(CLUSTER.url, options=["prefix=" + self.prefix, *options])

    def test_etcdctl_keys_appear_byte_for_byte(self):
        every_byte = bytes(range(256))
        keys = {
            "plain": b"hello\n",
            "dir/sub/deep.txt": b"deep",
            "with space": b"s",
            "50%off.txt": b"%",
            "My%20File.pdf": b"pdf",
            "caf\u00e9.txt": "\u00e9".encode(),
            "binary": every_byte,
            "empty": b"",
        }
        for key, value in keys.items():
            if value:
                CLUSTER.etcdctl("put", self.prefix + key, input=value)
            else:  # etcdctl wants a value argument for an empty one
                CLUSTER.etcdctl("put", self.prefix + key, "")
        # etcdctl adds no newline on stdin input: check what etcd holds.
        self.assertEqual(CLUSTER.etcdctl("get", self.prefix + "binary", "--print-value-only"),
                         every_byte + b"\n")
        with self.mount() as m:
            self.assertEqual(tree(m.root), {os.fsencode(k) for k in keys})
            for key, value in keys.items():
                self.assertEqual(read(m.path(key)), value, key)
                self.assertEqual(os.stat(m.path(key)).st_size, len(value), key)
            # What the mount writes is what etcdctl shows, and nothing of
            # rocksfs's own (directory markers, metadata) lies under the prefix.
            os.mkdir(m.path("new"))
            write(m.path("new/from-mount"), b"x\x00y")
            os.mkdir(m.path("empty-dir"))
            os.chmod(m.path("plain"), 0o600)
            os.setxattr(m.path("plain"), "user.k", b"v")
            self.assertEqual(
                sorted(CLUSTER.keys(self.prefix)),
                sorted((self.prefix + k).encode() for k in [*keys, "new/from-mount"]))
            self.assertEqual(CLUSTER.etcdctl("get", self.prefix + "new/from-mount",
                                             "--print-value-only"), b"x\x00y\n")
            os.unlink(m.path("with space"))
            self.assertNotIn((self.prefix + "with space").encode(), CLUSTER.keys(self.prefix))

    def test_two_mounts_see_each_others_changes(self):
        with self.mount() as a, self.mount() as b:
            write(a.path("f"), b"one")
            self.assertEqual(read(b.path("f")), b"one")
            write(b.path("f"), b"two, longer")
            self.assertEqual(read(a.path("f")), b"two, longer")
            self.assertEqual(os.stat(a.path("f")).st_size, len(b"two, longer"))

            os.mkdir(a.path("d"))
            self.assertTrue(os.path.isdir(b.path("d")))
            write(b.path("d/x"), b"x")
            os.rename(a.path("d"), a.path("e"))
            # B cached the name "d": the watch drops it (see test_etcd_watch).
            e.seen_within(lambda: not os.path.exists(b.path("d")))
            self.assertEqual(read(b.path("e/x")), b"x")
            os.rename(b.path("e/x"), b.path("f2"))
            self.assertEqual(sorted(os.listdir(a.path())), ["e", "f", "f2"])
            os.rmdir(a.path("e"))
            e.seen_within(lambda: not os.path.exists(b.path("e")))
            self.assertEqual(sorted(os.listdir(b.path())), ["f", "f2"])

            os.setxattr(a.path("f"), "user.color", b"blue")
            self.assertEqual(os.getxattr(b.path("f"), "user.color"), b"blue")
            os.chmod(b.path("f"), 0o640)
            e.seen_within(lambda: os.stat(a.path("f")).st_mode & 0o777 == 0o640)

            os.unlink(b.path("f"))
            e.seen_within(lambda: not os.path.exists(a.path("f")))
            # rmdir of a directory that holds a key the other mount made.
            os.mkdir(a.path("g"))
            write(b.path("g/k"), b"k")
            with self.assertRaises(OSError) as cm:
                os.rmdir(a.path("g"))
            self.assertEqual(cm.exception.errno, errno.ENOTEMPTY)

    def test_close_to_open_on_every_open(self):
        opens = []
        with self.mount() as a, self.mount() as b:
            for i in range(40):
                writer, reader = (a, b) if i % 2 == 0 else (b, a)
                # Sizes go up and down, so a stale size would show.
                value = (b"%d:" % i) * (1 + (i * 37) % 50)
                write(writer.path("shared"), value)
                start = time.monotonic()
                with open(reader.path("shared"), "rb") as f:
                    opens.append(time.monotonic() - start)
                    self.assertEqual(f.read(), value, "open %d" % i)
                self.assertEqual(os.stat(reader.path("shared")).st_size, len(value))
        print("open on the other mount (lookup + linearizable reads): median %.2f ms, "
              "max %.2f ms over %d opens" % (statistics.median(opens) * 1000,
                                             max(opens) * 1000, len(opens)), file=sys.stderr)

    def test_snapshots_are_revisions_other_mounts_see(self):
        with self.mount() as a, self.mount() as b:
            write(a.path("f"), b"before")
            os.mkdir(a.path(".rocksfs/snapshots/s1"))
            write(a.path("f"), b"after, longer")
            write(a.path("g"), b"new")
            self.assertEqual(read(a.path(".rocksfs/snapshots/s1/f")), b"before")
            # Another host sees it, read-only.
            self.assertEqual(os.listdir(b.path(".rocksfs/snapshots")), ["s1"])
            self.assertEqual(read(b.path(".rocksfs/snapshots/s1/f")), b"before")
            self.assertEqual(os.listdir(b.path(".rocksfs/snapshots/s1")), ["f"])
            with self.assertRaises(OSError) as cm:
                write(b.path(".rocksfs/snapshots/s1/f"), b"no")
            self.assertEqual(cm.exception.errno, errno.EROFS)
        # It survives remounts; once compacted past, reading it is EIO.
        with self.mount() as c:
            self.assertEqual(read(c.path(".rocksfs/snapshots/s1/f")), b"before")
            revision = json.loads(CLUSTER.etcdctl("get", self.prefix + "g", "-w", "json"))
            CLUSTER.etcdctl("compact", str(revision["header"]["revision"]))
            with self.assertRaises(OSError) as cm:
                os.listdir(c.path(".rocksfs/snapshots/s1"))
                read(c.path(".rocksfs/snapshots/s1/f"))
            self.assertEqual(cm.exception.errno, errno.EIO)
            self.assertEqual(read(c.path("f")), b"after, longer")
            os.rmdir(c.path(".rocksfs/snapshots/s1"))
            self.assertEqual(os.listdir(c.path(".rocksfs/snapshots")), [])

    def test_ttl_keys_expire_through_leases(self):
        with self.mount("ttl=2") as m, self.mount() as other:
            write(m.path("brief"), b"soon gone")
            self.assertEqual(read(other.path("brief")), b"soon gone")
            write(other.path("kept"), b"no ttl here")
            start = time.monotonic()
            self.assertTrue(t.wait_until(lambda: not os.path.exists(other.path("brief")),
                                         timeout=10))
            took = time.monotonic() - start
            self.assertGreaterEqual(took, 1.0)
            self.assertEqual(CLUSTER.keys(self.prefix + "brief"), [])
            self.assertEqual(read(m.path("kept")), b"no ttl here")

    def test_rocksfs_stat_and_dump_on_etcd(self):
        tool = os.path.join(t.build_dir(), "rocksfs")
        with self.mount() as m:
            os.mkdir(m.path("a"))
            write(m.path("a/x"), b"ax")
            write(m.path("t"), b"before")
            os.mkdir(m.path(".rocksfs/snapshots/n1"))
            write(m.path("t"), b"after")
        stat = t.run([tool, "stat", CLUSTER.url, "--etcd-prefix", self.prefix]).stdout.decode()
        self.assertRegex(stat, r"\ndefault +data +2 ")
        self.assertIn("n1", stat)
        self.assertIn("prefix: " + self.prefix, stat)
        with t.tempdir() as out:
            t.run([tool, "dump", CLUSTER.url, os.path.join(out, "now"), "--etcd-prefix",
                   self.prefix])
            self.assertEqual(read(os.path.join(out, "now/a/x")), b"ax")
            self.assertEqual(read(os.path.join(out, "now/t")), b"after")
            t.run([tool, "dump", CLUSTER.url, os.path.join(out, "then"), "--etcd-prefix",
                   self.prefix, "--snapshot", "n1"])
            self.assertEqual(read(os.path.join(out, "then/t")), b"before")
        tsv = t.run([tool, "dump", CLUSTER.url, "-", "--format", "tsv", "--etcd-prefix",
                     self.prefix]).stdout
        self.assertEqual(tsv, b"a/x\tax\nt\tafter\n")
        proc = t.run([tool, "stat", CLUSTER.url], check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"--etcd-prefix", proc.stderr)

    def test_bad_sources_and_options_fail_with_one_line(self):
        mnt = t.tempdir()
        path = mnt.__enter__()
        self.addCleanup(mnt.__exit__, None, None, None)
        cases = [
            (["etcd://", path, "-o", "prefix=p/"], "no HOST:PORT"),
            (["etcd://host-without-port", path, "-o", "prefix=p/"], "no port"),
            (["etcd://127.0.0.1:99999", path, "-o", "prefix=p/"], "1..65535"),
            (["etcd://127.0.0.1:%d" % 1, path, "-o", "prefix=p/,timeout=1"], "cannot reach"),
            ([CLUSTER.url, path], "missing -o prefix=P"),
            ([CLUSTER.url, path, "-o", "prefix=p/,db_options=x=1"], "is for RocksDB"),
            ([CLUSTER.url, path, "-o", "prefix=p/,create"], "is for RocksDB"),
        ]
        for args, part in cases:
            start = time.monotonic()
            proc = t.run([t.mount_binary(), *args], check=False, timeout=60)
            took = time.monotonic() - start
            err = proc.stderr.decode()
            self.assertNotEqual(proc.returncode, 0, args)
            self.assertIn(part, err, args)
            self.assertEqual(err.count("\n"), 1, err)
            self.assertLess(took, 10, args)
            self.assertFalse(t.is_mounted(path))

    def test_mount_t_fuse_rocksfs(self):
        if shutil.which("mount") is None or os.geteuid() != 0:
            self.skipTest("mount(8) as root is needed")
        helper = "/sbin/mount.fuse.rocksfs"
        if not os.path.lexists(helper):
            os.symlink(t.mount_binary(), helper)
            self.addCleanup(os.unlink, helper)
        mnt = t.tempdir()
        path = mnt.__enter__()
        self.addCleanup(mnt.__exit__, None, None, None)
        self.addCleanup(t.force_unmount, path)
        CLUSTER.etcdctl("put", self.prefix + "k", "via mount(8)")
        t.run(["mount", "-t", "fuse.rocksfs", CLUSTER.url, path, "-o", "prefix=" + self.prefix],
              timeout=60)
        self.assertEqual(read(os.path.join(path, "k")), b"via mount(8)")
        t.run(["umount", path], timeout=60)
        self.assertFalse(t.is_mounted(path))


class QuorumTest(unittest.TestCase):
    """Its own cluster: members die here."""

    def test_lost_quorum_is_eio_after_the_timeout_and_recovers(self):
        with e.EtcdCluster() as cluster:
            with t.Mount(cluster.url, options=["prefix=q/", "timeout=2"]) as m:
                write(m.path("before"), b"acknowledged")
                # A minority lost: a pause, no error.
                cluster.kill(0)
                start = time.monotonic()
                write(m.path("one-down"), b"still fine")
                self.assertLess(time.monotonic() - start, 5)
                # The quorum lost: EIO after the timeout, and the daemon lives.
                cluster.kill(1)
                start = time.monotonic()
                with self.assertRaises(OSError) as cm:
                    write(m.path("no-quorum"), b"lost")
                took = time.monotonic() - start
                self.assertEqual(cm.exception.errno, errno.EIO)
                self.assertLess(took, 15)
                self.assertTrue(m.running())
                print("EIO after %.1f s without quorum (timeout=2)" % took, file=sys.stderr)
                # Back: the same mount works, and what was acknowledged is there.
                cluster.restart(0)
                cluster.restart(1)
                self.assertTrue(t.wait_until(lambda: self._writes(m), timeout=30))
                self.assertEqual(read(m.path("before")), b"acknowledged")
                self.assertEqual(read(m.path("one-down")), b"still fine")
            self.assertEqual(cluster.etcdctl("get", "q/before", "--print-value-only"),
                             b"acknowledged\n")

    @staticmethod
    def _writes(m):
        try:
            write(m.path("after"), b"back")
            return read(m.path("after")) == b"back"
        except OSError:
            return False


if __name__ == "__main__":
    t.require_fuse()
    e.require_etcd()
    unittest.main()
