#!/usr/bin/env python3
"""End to end on real data: Debian's package index, converted by
scripts/package_index_to_ldb.py and loaded with ldb (the scripts/demo.sh
pipeline, limited to 5,000 packages), mounts and reads as apt reports it:
package/bash/Version is apt-cache policy's Candidate."""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

LIMIT = 5000
PREFERRED_PACKAGE = "bash"


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()
    if shutil.which("apt-cache") is None:
        raise unittest.SkipTest("apt-cache is not installed (not a Debian system)")
    dump = subprocess.run(["apt-cache", "dumpavail"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
    if dump.returncode != 0 or b"Package:" not in dump.stdout:
        raise unittest.SkipTest("apt-cache dumpavail lists no packages (run apt-get update)")


def apt_candidate(package):
    out = t.run(["apt-cache", "policy", package]).stdout.decode()
    for line in out.splitlines():
        fields = line.split()
        if fields[:1] == ["Candidate:"]:
            return fields[1]
    return None


def apt_show_version(package):
    out = t.run(["apt-cache", "show", "--no-all-versions", package]).stdout.decode()
    for line in out.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return None


class PackageIndexTest(t.TempDirTestCase):
    def build_db(self):
        """scripts/demo.sh's pipeline: converter | ldb load --hex. Returns
        (packages, keys) from the converter's --stats-file."""
        db = os.path.join(self.dir, "db")
        stats = os.path.join(self.dir, "stats")
        script = os.path.join(t.source_dir(), "scripts", "package_index_to_ldb.py")
        convert = subprocess.Popen(
            [sys.executable, script, "--quiet", "--limit", str(LIMIT), "--stats-file", stats],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        load = subprocess.run(["ldb", "--db=%s" % db, "--create_if_missing", "load", "--hex",
                               "--disable_wal"], stdin=convert.stdout,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        convert.stdout.close()
        convert_err = convert.stderr.read()
        convert.stderr.close()
        self.assertEqual(convert.wait(timeout=60), 0, convert_err)
        self.assertEqual(load.returncode, 0, load.stderr + load.stdout)
        with open(stats) as f:
            packages, keys, _ = map(int, f.read().split())
        return db, packages, keys

    def test_package_index_mounts_as_apt_reports_it(self):
        db, packages, keys = self.build_db()
        self.assertEqual(packages, LIMIT, "apt knows fewer than %d packages" % LIMIT)
        count = t.ldb(db, "dump", "--count_only")
        self.assertIn("Keys in range: %d" % keys, count)

        with t.Mount(db) as m:
            # The root listing completes and holds the one top-level directory.
            ls = t.run(["ls", m.root], timeout=60)
            self.assertEqual(ls.stdout.decode().split(), ["package"])
            names = os.listdir(m.path("package"))
            self.assertEqual(len(names), packages)
            self.assertEqual(len(set(names)), packages)

            package = PREFERRED_PACKAGE if PREFERRED_PACKAGE in names else sorted(names)[0]
            version = t.run(["cat", m.path("package/%s/Version" % package)]).stdout.decode()
            self.assertEqual(version, apt_candidate(package))
            self.assertEqual(version, apt_show_version(package))
            self.assertEqual(t.run(["cat", m.path("package/%s/Package" % package)]).stdout,
                             package.encode())

            # Every field of the package reads back as ldb wrote it.
            fields = {name: t.run(["cat", m.path("package/%s/%s" % (package, name))]).stdout
                      for name in os.listdir(m.path("package/" + package))}
            # `ls -l` of the whole index finishes too (readdirplus, no per-entry lookups).
            ls_l = t.run(["ls", "-l", m.path("package")], timeout=120)
            self.assertEqual(len(ls_l.stdout.splitlines()), packages + 1)  # + "total N"
            m.unmount()
        for name, value in fields.items():
            self.assertEqual(t.ldb_get(db, ("package/%s/%s" % (package, name)).encode()), value, name)
        self.assertIn("Version", fields)
        self.assertIn("Description", fields)


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
