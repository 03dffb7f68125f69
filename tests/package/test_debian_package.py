#!/usr/bin/env python3
"""The Debian package, as a user gets it (issue 15):

* scripts/package.sh builds rocksfs_VERSION-1_ARCH.deb (its own build
  directory: build/package-build, kept between runs);
* lintian reports no error;
* the package holds the binaries, the mount helpers /sbin/mount.rocksfs and
  /sbin/mount.fuse.rocksfs, both manual pages, the bash completion, the
  example fstab line and systemd unit, and depends on librocksdb, libfuse3
  and fuse3;
* installed with `dpkg -i` on this machine: `rocksfs --version` and
  `mount.rocksfs -V` answer, `man -l` renders both installed pages and
  `man -w mount.rocksfs` finds one, `mount -t fuse.rocksfs DB MNT -o ro`
  mounts through the installed helper (the daemon is /usr/bin/mount.rocksfs)
  and serves a key written by ldb, read-only; `dpkg -r` then removes every
  file it installed.

Installing for real needs root, and is done only when it cannot clash with
the machine: when rocksfs is not installed already and no file of the package
exists (a `cmake --install` of rocksfs puts /sbin/mount.rocksfs there). Else
the package goes into a scratch root with `dpkg --root` and the mount step
is skipped with a message: mount(8) looks for helpers in the real /sbin only.
ROCKSFS_PACKAGE_TEST_ROOT=scratch forces the scratch root.
"""

import glob
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import package_testlib as p  # noqa: E402

t = p.t

EXPECTED = {
    "./usr/bin/mount.rocksfs": None,
    "./usr/bin/rocksfs": None,
    "./sbin/mount.rocksfs": "/usr/bin/mount.rocksfs",
    "./sbin/mount.fuse.rocksfs": "/usr/bin/mount.rocksfs",
    "./usr/share/man/man8/mount.rocksfs.8.gz": None,
    "./usr/share/man/man8/mount.fuse.rocksfs.8.gz": "mount.rocksfs.8.gz",
    "./usr/share/man/man1/rocksfs.1.gz": None,
    "./usr/share/bash-completion/completions/rocksfs": None,
    "./usr/share/bash-completion/completions/mount.rocksfs": "rocksfs",
    "./usr/share/doc/rocksfs/examples/fstab": None,
    "./usr/share/doc/rocksfs/examples/mnt-kv.mount": None,
    "./usr/share/doc/rocksfs/copyright": None,
    "./usr/share/doc/rocksfs/changelog.Debian.gz": None,
}


def log(message):
    print("[package test] %s" % message, file=sys.stderr, flush=True)


def check(cmd, timeout=300, **kwargs):
    proc = p.run(cmd, timeout=timeout, **kwargs)
    if proc.returncode != 0:
        raise AssertionError("%s failed (status %d):\n%s\n%s" % (
            " ".join(cmd), proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
    return proc


def package_contents(deb):
    """{path: link target or None} from dpkg-deb -c."""
    contents = {}
    for line in check(["dpkg-deb", "-c", deb]).stdout.splitlines():
        fields = line.split(None, 5)
        name = fields[5]
        target = None
        if " -> " in name:
            name, target = name.split(" -> ", 1)
        contents[name] = target
    return contents


def installed_status():
    proc = p.run(["dpkg-query", "-W", "-f", "${Status}", "rocksfs"])
    return proc.stdout.strip() if proc.returncode == 0 else ""


class DebianPackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.output = tempfile.mkdtemp(prefix="rocksfs-deb-")
        env = dict(os.environ,
                   ROCKSFS_PACKAGE_BUILD_DIR=os.path.join(t.build_dir(), "package-build"))
        start = time.monotonic()
        proc = p.run(["bash", p.source_path("scripts", "package.sh"), "--no-lintian",
                      "--output-dir", cls.output], env=env, timeout=1500)
        cls.build_seconds = time.monotonic() - start
        if proc.returncode != 0:
            shutil.rmtree(cls.output, ignore_errors=True)
            raise AssertionError("scripts/package.sh failed (status %d):\n%s\n%s" % (
                proc.returncode, proc.stdout[-6000:], proc.stderr[-6000:]))
        log("scripts/package.sh took %.0f s" % cls.build_seconds)
        debs = glob.glob(os.path.join(cls.output, "rocksfs_*.deb"))
        if len(debs) != 1:
            raise AssertionError("expected one rocksfs_*.deb in %s, found %r" % (cls.output, debs))
        cls.deb = debs[0]
        cls.contents = package_contents(cls.deb)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.output, ignore_errors=True)

    def field(self, name):
        return check(["dpkg-deb", "--field", self.deb, name]).stdout.strip()

    def test_name_and_version_come_from_cmakelists(self):
        version = p.project_version()
        self.assertEqual(self.field("Package"), "rocksfs")
        self.assertEqual(self.field("Version"), version + "-1")
        arch = check(["dpkg", "--print-architecture"]).stdout.strip()
        self.assertEqual(os.path.basename(self.deb), "rocksfs_%s-1_%s.deb" % (version, arch))

    def test_lintian_reports_no_errors(self):
        if not p.have("lintian"):
            self.skipTest("lintian is not installed (scripts/setup.sh installs it)")
        proc = p.run(["lintian", "--fail-on", "error", self.deb], timeout=600)
        log("lintian:\n" + proc.stdout)
        errors = [line for line in proc.stdout.splitlines() if line.startswith("E:")]
        self.assertEqual(errors, [])
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_contents(self):
        for path, target in EXPECTED.items():
            with self.subTest(path=path):
                self.assertIn(path, self.contents)
                self.assertEqual(self.contents[path], target)
        # Nothing under /usr/local, nothing that is not ours.
        for path in self.contents:
            with self.subTest(path=path):
                self.assertFalse(path.startswith("./usr/local"), path)

    def test_depends_on_the_debian_runtime_packages(self):
        depends = [d.strip().split(" ")[0] for d in self.field("Depends").split(",")]
        for pattern in (r"librocksdb\d", r"libfuse3-\d", r"fuse3$", r"libspdlog", r"libc6$"):
            with self.subTest(dependency=pattern):
                self.assertTrue(any(re.match(pattern, d) for d in depends), depends)

    # -- install, use, remove ---------------------------------------------------

    def install_mode(self):
        """("real", None) or ("scratch", reason)."""
        if os.environ.get("ROCKSFS_PACKAGE_TEST_ROOT") == "scratch":
            return "scratch", "ROCKSFS_PACKAGE_TEST_ROOT=scratch"
        if os.geteuid() != 0:
            return "scratch", "not root"
        status = installed_status()
        if status and not status.endswith("not-installed"):
            return "scratch", "package rocksfs is on this machine already (%s)" % status
        present = [path[1:] for path, target in self.contents.items()
                   if not path.endswith("/") and os.path.lexists(path[1:])]
        if present:
            return "scratch", "files of the package exist already: %s" % ", ".join(present)
        return "real", None

    def test_install_use_and_remove(self):
        mode, reason = self.install_mode()
        if mode == "real":
            self.install_for_real()
        else:
            log("installing into a scratch root with dpkg --root (%s)" % reason)
            self.install_into_scratch_root(reason)

    def install_for_real(self):
        files = [path[1:] for path in self.contents if not path.endswith("/")]
        dirs = [path[1:].rstrip("/") for path in self.contents if path.endswith("/")]
        new_dirs = [d for d in dirs if d and not os.path.lexists(d)]
        start = time.monotonic()
        self.addCleanup(self.remove_if_installed)
        check(["dpkg", "-i", self.deb])
        log("dpkg -i took %.1f s" % (time.monotonic() - start))
        listed = check(["dpkg", "-L", "rocksfs"]).stdout.split()
        for path in files:
            self.assertIn(path, listed)
            self.assertTrue(os.path.lexists(path), path)

        self.check_versions("/usr/bin/rocksfs", "/sbin/mount.rocksfs")
        self.check_man("/usr/share/man/man8/mount.rocksfs.8.gz", "/usr/share/man/man1/rocksfs.1.gz")
        found = check(["man", "-w", "mount.rocksfs"]).stdout.strip()
        self.assertEqual(found, "/usr/share/man/man8/mount.rocksfs.8.gz")
        self.check_mount_through_helper()

        start = time.monotonic()
        check(["dpkg", "-r", "rocksfs"])
        log("dpkg -r took %.1f s" % (time.monotonic() - start))
        left = [path for path in files + new_dirs if os.path.lexists(path)]
        self.assertEqual(left, [], "files dpkg -r left behind")
        status = installed_status()  # "" once dpkg has forgotten the package
        self.assertTrue(status == "" or status.endswith("not-installed"), status)

    def remove_if_installed(self):
        status = installed_status()
        if status and not status.endswith("not-installed"):
            log("cleanup: dpkg --purge rocksfs")
            p.run(["dpkg", "--purge", "rocksfs"])

    def check_versions(self, rocksfs, mount_helper):
        version = p.project_version()
        proc = check([rocksfs, "--version"])
        self.assertEqual(proc.stdout.splitlines()[0], "rocksfs %s" % version)
        proc = check([mount_helper, "-V"])
        lines = proc.stdout.splitlines()
        self.assertEqual(lines[0], "mount.rocksfs (rocksfs) %s" % version)
        self.assertRegex(lines[1], r"^RocksDB \d")
        self.assertRegex(lines[2], r"^libfuse \d")

    def check_man(self, mount_page, rocksfs_page):
        for page, name in ((mount_page, "mount.rocksfs - mount a RocksDB database"),
                           (rocksfs_page, "rocksfs - administer a RocksDB database")):
            with self.subTest(page=page):
                status, text, warnings = p.render_man(page)
                self.assertEqual(status, 0, warnings)
                self.assertIn(name, text)
                self.assertIn("threads=N" if "mount" in name else "snapshot create", text)

    def check_mount_through_helper(self):
        problem = t.fuse_problem()
        if problem:
            log("SKIPPED the mount step: %s" % problem)
            return
        if not (p.have("mount") and p.have("umount")):
            log("SKIPPED the mount step: mount/umount (util-linux) are not installed")
            return
        if not p.have("ldb"):
            log("SKIPPED the mount step: ldb (rocksdb-tools) is not installed")
            return
        with t.tempdir() as d:
            db, mnt = os.path.join(d, "db"), os.path.join(d, "mnt")
            os.mkdir(mnt)
            t.ldb_put(db, b"user/alice", b"hello from ldb")
            self.addCleanup(t.force_unmount, mnt)
            start = time.monotonic()
            proc = p.run(["mount", "-t", "fuse.rocksfs", db, mnt, "-o", "ro"], timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            log("mount -t fuse.rocksfs took %.2f s" % (time.monotonic() - start))
            try:
                self.assertTrue(t.is_mounted(mnt))
                with open("/proc/self/mountinfo") as f:
                    line = next(l for l in f if l.split(" ")[4] == os.path.realpath(mnt))
                self.assertIn(" - fuse.rocksfs ", line)
                self.assertIn(" ro,", line.split(" - ")[0] + ",")
                pids = t.daemon_pids(mnt)
                self.assertEqual(len(pids), 1, pids)
                self.assertEqual(os.readlink("/proc/%d/exe" % pids[0]), "/usr/bin/mount.rocksfs",
                                 "the daemon is the installed binary")
                with open(os.path.join(mnt, "user", "alice"), "rb") as f:
                    self.assertEqual(f.read(), b"hello from ldb")
                with self.assertRaises(OSError) as cm:
                    open(os.path.join(mnt, "new"), "wb").close()
                self.assertEqual(cm.exception.errno, 30)  # EROFS
            finally:
                p.run(["umount", mnt], timeout=60)
            self.assertFalse(t.is_mounted(mnt))
            self.assertTrue(t.wait_until(lambda: not t.pid_alive(pids[0]), timeout=20),
                            "the daemon did not exit after umount")

    def install_into_scratch_root(self, reason):
        root = tempfile.mkdtemp(prefix="rocksfs-root-")
        self.addCleanup(shutil.rmtree, root, True)
        admin = os.path.join(root, "var", "lib", "dpkg")
        for sub in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, sub))
        for name in ("status", "available"):
            open(os.path.join(admin, name), "w").close()
        dpkg = ["dpkg", "--root=" + root, "--log=/dev/null", "--force-depends",
                "--force-script-chrootless"]
        if os.geteuid() != 0:
            dpkg.append("--force-not-root")
        check(dpkg + ["-i", self.deb])
        files = [path[1:] for path in self.contents if not path.endswith("/")]
        for path in files:
            self.assertTrue(os.path.lexists(root + path), path)
        self.check_versions(root + "/usr/bin/rocksfs", root + "/usr/bin/mount.rocksfs")
        self.check_man(root + "/usr/share/man/man8/mount.rocksfs.8.gz",
                       root + "/usr/share/man/man1/rocksfs.1.gz")
        log("SKIPPED the mount -t fuse.rocksfs step: installed into a scratch root (%s), and "
            "mount(8) runs helpers from the real /sbin only" % reason)
        check(dpkg + ["-r", "rocksfs"])
        left = [path for path in files if os.path.lexists(root + path)]
        self.assertEqual(left, [], "files dpkg -r left behind")


if __name__ == "__main__":
    p.require(p.have("dpkg-deb") and p.have("dpkg"), "not a Debian system (no dpkg-deb)")
    unittest.main()
