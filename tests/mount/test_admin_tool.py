#!/usr/bin/env python3
"""The rocksfs admin tool against real mounts and real data:

* `rocksfs load` of a real tree (/usr/include/linux) mounts as that tree
  (`diff -r`), and `rocksfs dump` of the mounted DB (a read-only open of a
  live DB) writes the same tree back;
* a tree copied out of a mount (`cp -r`) loads back into the same keys;
* commands that need the DB for writing, on a mounted DB, print one line
  naming the mountpoint and exit non-zero;
* Debian's package index (20,000 packages) round-trips load -> dump
  byte for byte, as tsv, ndjson and sst;
* bad input: one line naming the line number, exit 1, nothing loaded.
"""

import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

LINUX_HEADERS = "/usr/include/linux"
PACKAGE_LIMIT = 20000


def rocksfs_binary():
    path = os.path.join(t.build_dir(), "rocksfs")
    if not os.access(path, os.X_OK):
        raise t.TestSetupError("rocksfs is not built: %s does not exist" % path)
    return path


def rocksfs(*args, check=True, input=None, timeout=300):
    return t.run([rocksfs_binary(), *args], check=check, input=input, timeout=timeout)


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()
    rocksfs_binary()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def diff_trees(a, b):
    proc = subprocess.run(["diff", "-r", "--no-dereference", a, b], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=300)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")[-4000:]


class AdminToolTest(t.TempDirTestCase):
    def one_line_error(self, proc):
        """The stderr of a failed command: exactly one line starting "rocksfs: "."""
        self.assertNotEqual(proc.returncode, 0)
        err = proc.stderr.decode()
        lines = err.strip("\n").split("\n")
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith("rocksfs: "), err)
        return lines[0]

    @unittest.skipUnless(os.path.isdir(LINUX_HEADERS), LINUX_HEADERS + " is missing")
    def test_load_real_tree_then_mount_and_dump(self):
        db = os.path.join(self.dir, "db")
        out = rocksfs("load", "--create", db, LINUX_HEADERS)
        self.assertRegex(out.stderr.decode(), r"^loaded \d+ keys \(\d+ bytes\) in [\d.]+ s "
                                              r"\(\d+ keys/s\)\n$")
        files = sum(len(f) for _, _, f in os.walk(LINUX_HEADERS))
        self.assertIn("loaded %d keys" % files, out.stderr.decode())

        with t.Mount(db) as m:
            code, text = diff_trees(LINUX_HEADERS, m.root)
            self.assertEqual(code, 0, text)

            # Read-only commands work on the mounted DB...
            dumped = os.path.join(self.dir, "dumped")
            out = rocksfs("dump", db, dumped)
            self.assertIn("is mounted at %s" % m.root, out.stderr.decode())
            code, text = diff_trees(LINUX_HEADERS, dumped)
            self.assertEqual(code, 0, text)
            stat = json.loads(rocksfs("stat", "--json", db).stdout)
            self.assertEqual(stat["mounted_at"], m.root)
            self.assertEqual(stat["column_families"][0]["name"], "default")
            rocksfs("snapshot", "list", db)

            # ...and a dump sees what the mount committed before it started,
            # flushed to an SST file or only in the WAL.
            with open(m.path("written-through-mount"), "wb") as f:
                f.write(b"fresh")
            out = rocksfs("dump", db, "-", "--format", "tsv", "--prefix", "written-")
            self.assertEqual(out.stdout, b"written-through-mount\tfresh\n")

            # Commands that need the DB for writing say where it is mounted.
            line = self.one_line_error(rocksfs("snapshot", "create", db, "s1", check=False))
            self.assertEqual(line, "rocksfs: %s is mounted at %s; take the snapshot there with: "
                                   "mkdir %s/.rocksfs/snapshots/s1" % (db, m.root, m.root))
            line = self.one_line_error(rocksfs("load", db, LINUX_HEADERS, check=False))
            self.assertEqual(line, "rocksfs: %s is mounted at %s; copy files into the mount "
                                   "instead, or unmount first" % (db, m.root))
            # A backup of a mounted DB goes through a read-only open.
            out = rocksfs("backup", "create", db, os.path.join(self.dir, "backups"))
            self.assertIn("created backup 1", out.stdout.decode())

        # Unmounted: the snapshot works, and dumps of it match.
        rocksfs("snapshot", "create", db, "s1")
        self.assertEqual(rocksfs("snapshot", "list", db).stdout.decode().split("\t")[0], "s1")
        from_snapshot = os.path.join(self.dir, "from-snapshot")
        rocksfs("dump", db, from_snapshot, "--snapshot", "s1")
        os.unlink(os.path.join(from_snapshot, "written-through-mount"))
        code, text = diff_trees(LINUX_HEADERS, from_snapshot)
        self.assertEqual(code, 0, text)

        restored = os.path.join(self.dir, "restored")
        rocksfs("backup", "restore", os.path.join(self.dir, "backups"), restored)
        with t.Mount(restored, options=["ro"]) as m:
            self.assertEqual(read_bytes(m.path("written-through-mount")), b"fresh")
            code, text = diff_trees(from_snapshot, m.root)
            self.assertEqual(code, 1, text)  # only written-through-mount differs
            self.assertIn("Only in %s: written-through-mount" % m.root, text)

    def test_tree_copied_out_of_a_mount_loads_back_into_the_same_keys(self):
        db = os.path.join(self.dir, "db")
        keys = {
            b"user/alice": b"a",
            b"blue": b"value of blue",
            b"blue/x": b"x",
            b"config.json": b"{}",
            b"x\x00y": b"nul",
            b"bytes\xff\xfe": b"fffe",
            b"50%off.txt": b"percent",
            b"My%20File.pdf": b"literal",
            b"%41": b"literal too",
            b"%{41}": b"escaped",
            b".rocksfs": b"reserved",
            b"a//b": b"empty component",
            b"deep/er/and/deeper": b"\x00\x01\x02",
        }
        t.ldb_load(db, keys)
        copy = os.path.join(self.dir, "copy")
        with t.Mount(db, options=["ro"]) as m:
            t.run(["cp", "-r", m.root + "/.", copy])
        db2 = os.path.join(self.dir, "db2")
        rocksfs("load", "--create", db2, copy)
        self.assertEqual(t.ldb_scan(db2), keys)

        # And dump writes the tree the mount shows.
        dumped = os.path.join(self.dir, "dumped")
        rocksfs("dump", db2, dumped)
        code, text = diff_trees(copy, dumped)
        self.assertEqual(code, 0, text)

    def test_package_index_round_trips_through_dump(self):
        if shutil.which("apt-cache") is None:
            self.skipTest("apt-cache is not installed")
        source = os.path.join(self.dir, "index.tsv")
        script = os.path.join(t.source_dir(), "scripts", "package_index_to_ldb.py")
        stats = os.path.join(self.dir, "stats")
        with open(source, "wb") as f:
            proc = subprocess.run([sys.executable, script, "--quiet", "--format", "tsv",
                                   "--limit", str(PACKAGE_LIMIT), "--stats-file", stats],
                                  stdout=f, stderr=subprocess.PIPE, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        packages, keys, _ = map(int, read_bytes(stats).split())
        if packages == 0:
            self.skipTest("apt-cache dumpavail lists no packages (run apt-get update)")

        db = os.path.join(self.dir, "db")
        out = rocksfs("load", "--create", "--jobs", "2", db, source)
        self.assertIn("loaded %d keys" % keys, out.stderr.decode())
        self.assertIn("Keys in range: %d" % keys, t.ldb(db, "dump", "--count_only"))

        # tsv: byte for byte the converter's output.
        dumped = os.path.join(self.dir, "dump.tsv")
        rocksfs("dump", db, dumped)
        expected = read_bytes(source)
        self.assertTrue(expected == read_bytes(dumped), "dump differs from the loaded tsv")
        # ndjson and sst: load the dump into a new DB, dump that as tsv.
        for fmt in ("ndjson", "sst"):
            dump = os.path.join(self.dir, "dump." + fmt)
            rocksfs("dump", db, dump)
            db2 = os.path.join(self.dir, "db-" + fmt)
            rocksfs("load", "--create", db2, dump)
            again = rocksfs("dump", db2, "-", "--format", "tsv").stdout
            self.assertTrue(again == expected, "%s round trip differs" % fmt)

        # The loaded DB mounts and reads as the index says.
        with t.Mount(db, options=["ro"]) as m:
            name = sorted(os.listdir(m.path("package")))[0]
            for line in expected.split(b"\n"):
                if line.startswith(b"package/%s/Package\t" % name.encode()):
                    self.assertEqual(read_bytes(m.path("package/%s/Package" % name)),
                                     line.split(b"\t", 1)[1])
                    break
            else:
                self.fail("no Package field for %s" % name)

    def test_bad_input_is_one_line_naming_the_line_and_loads_nothing(self):
        db = os.path.join(self.dir, "db")
        rocksfs("load", "--create", db, "-", "--format", "tsv", input=b"existing\t1\n")
        bad = b"".join(b"k%d\tv\n" % i for i in range(1000)) + b"broken line\n"
        proc = rocksfs("load", db, "-", "--format", "tsv", input=bad, check=False)
        self.assertEqual(proc.returncode, 1)
        line = self.one_line_error(proc)
        self.assertIn("<stdin>:1001:", line)
        self.assertIn("nothing was loaded", line)
        self.assertEqual(t.ldb_scan(db), {b"existing": b"1"})

        ndjson = os.path.join(self.dir, "in.ndjson")
        with open(ndjson, "wb") as f:
            f.write(b'{"key": "a", "value": "b"}\n{"key": "a", "value": 7}\n')
        line = self.one_line_error(rocksfs("load", db, ndjson, check=False))
        self.assertIn("in.ndjson:2:", line)
        self.assertEqual(t.ldb_scan(db), {b"existing": b"1"})

        line = self.one_line_error(rocksfs("load", os.path.join(self.dir, "nodb"), ndjson,
                                           check=False))
        self.assertIn("use --create", line)
        self.one_line_error(rocksfs("load", db, "--no-such-option", check=False))

    def test_every_command_has_help_with_an_example(self):
        for command in (["load"], ["dump"], ["stat"], ["snapshot"], ["snapshot", "create"],
                        ["snapshot", "list"], ["snapshot", "delete"], ["backup"],
                        ["backup", "create"], ["backup", "list"], ["backup", "restore"],
                        ["backup", "purge"]):
            out = rocksfs(*command, "--help").stdout.decode()
            self.assertIn("Example", out, command)
            self.assertIn("rocksfs " + command[0], out, command)


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
