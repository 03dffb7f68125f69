#!/usr/bin/env python3
"""--version of the built tools:

* `mount.rocksfs --version` and `-V` print "mount.rocksfs (rocksfs) X.Y.Z"
  with X.Y.Z from project() in CMakeLists.txt, then the RocksDB and libfuse
  versions, and exit 0 without touching a mount;
* `rocksfs --version` and `-V` print "rocksfs X.Y.Z" and the RocksDB version;
* the RocksDB and libfuse versions are those of the libraries the binary
  loads: the Debian packages that own them (found with ldd and dpkg -S)
  carry the same upstream versions.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import package_testlib as p  # noqa: E402


def loaded_library_package(binary, soname_prefix):
    """(package, upstream version) of the Debian package owning the library
    `binary` loads whose soname starts with soname_prefix, or None."""
    if not (p.have("ldd") and p.have("dpkg-query")):
        return None
    for line in p.run(["ldd", binary]).stdout.splitlines():
        match = re.match(r"\s*(%s\S*) => (\S+)" % re.escape(soname_prefix), line)
        if not match:
            continue
        owner = p.run(["dpkg", "-S", os.path.realpath(match.group(2))])
        if owner.returncode != 0:
            # usrmerge: dpkg may know the file under /lib rather than /usr/lib.
            path = os.path.realpath(match.group(2)).replace("/usr/lib/", "/lib/", 1)
            owner = p.run(["dpkg", "-S", path])
        if owner.returncode != 0:
            return None
        package = owner.stdout.split(":")[0]
        version = p.run(["dpkg-query", "-W", "-f", "${Version}", package]).stdout
        upstream = re.sub(r"^\d+:", "", version).split("-")[0].split("+")[0]
        return package, upstream
    return None


class VersionTest(unittest.TestCase):
    def check_output(self, program, args, first_line):
        proc = p.run([p.binary(program), *args])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, "")
        lines = proc.stdout.splitlines()
        self.assertEqual(lines[0], first_line)
        return lines

    def test_mount_rocksfs_version_and_V(self):
        version = p.project_version()
        for args in (["--version"], ["-V"], ["/no/db", "/no/mountpoint", "-o", "ro", "-V"]):
            with self.subTest(args=args):
                lines = self.check_output("mount.rocksfs", args,
                                          "mount.rocksfs (rocksfs) %s" % version)
                self.assertRegex(lines[1], r"^RocksDB \d+\.\d+\.\d+$")
                self.assertRegex(lines[2], r"^libfuse \d+\.\d+\.\d+$")
                self.assertEqual(len(lines), 3)

    def test_mount_rocksfs_help_lists_V(self):
        proc = p.run([p.binary("mount.rocksfs"), "--help"])
        self.assertEqual(proc.returncode, 0)
        self.assertRegex(proc.stdout, r"(?m)^  -h, --help .*\n  -V, --version ")

    def test_rocksfs_version_and_V(self):
        version = p.project_version()
        for args in (["--version"], ["-V"]):
            with self.subTest(args=args):
                lines = self.check_output("rocksfs", args, "rocksfs %s" % version)
                self.assertRegex(lines[1], r"^RocksDB \d+\.\d+\.\d+$")
                self.assertEqual(len(lines), 2)

    def test_versions_are_those_of_the_loaded_libraries(self):
        mount = p.binary("mount.rocksfs")
        lines = p.run([mount, "--version"]).stdout.splitlines()
        for soname, line in (("librocksdb.so", lines[1]), ("libfuse3.so", lines[2])):
            with self.subTest(library=soname):
                owner = loaded_library_package(mount, soname)
                if owner is None:
                    self.skipTest("%s: not loaded from a Debian package here" % soname)
                package, upstream = owner
                self.assertEqual(line.split(" ")[1], upstream,
                                 "%s says %r; %s is %s" % (mount, line, package, upstream))


if __name__ == "__main__":
    unittest.main()
