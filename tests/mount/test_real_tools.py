#!/usr/bin/env python3
"""Real tools on a mount behave as on ext4: tar -x then tar -c, rsync -a in
and back out, git init/add/commit/status, cp -a.

The source tree is /usr/include/linux (about 800 entries) plus a few things it
lacks: symlinks, empty directories, unusual modes, nanosecond times and user.*
xattrs. The ext4 side is a directory under /tmp (the tests skip when /tmp is
not ext4: scripts/posix_parity.py covers that case with a loop image)."""

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

SOURCE = "/usr/include/linux"


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()
    if not os.path.isdir(SOURCE):
        raise unittest.SkipTest("%s is missing (install linux-libc-dev)" % SOURCE)
    fs_type = subprocess.run(["stat", "-f", "-c", "%T", "/tmp"], stdout=subprocess.PIPE,
                             text=True).stdout.strip()
    if fs_type not in ("ext2/ext3", "ext4"):
        raise unittest.SkipTest("/tmp is %s, not ext4" % fs_type)


def make_source(root):
    """A copy of SOURCE with extras, on ext4. Returns its path."""
    src = os.path.join(root, "linux")
    shutil.copytree(SOURCE, src, symlinks=True)
    extra = os.path.join(src, "zz-extra")
    os.makedirs(os.path.join(extra, "empty", "nested-empty"))
    os.makedirs(os.path.join(extra, "private"))
    os.chmod(os.path.join(extra, "private"), 0o700)
    os.makedirs(os.path.join(extra, "shared"))
    os.chmod(os.path.join(extra, "shared"), 0o2775)
    for name, mode, data in (("script.sh", 0o755, b"#!/bin/sh\necho hi\n"),
                             ("secret", 0o600, b"s3cret\n"),
                             ("readonly", 0o444, b"ro\n"),
                             ("empty-file", 0o644, b""),
                             ("binary", 0o640, bytes(range(256)) * 40)):
        path = os.path.join(extra, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
    os.symlink("script.sh", os.path.join(extra, "link-to-file"))
    os.symlink("../zz-extra/shared", os.path.join(extra, "link-to-dir"))
    os.symlink("does/not/exist", os.path.join(extra, "dangling"))
    os.setxattr(os.path.join(extra, "secret"), "user.note", b"kept by rsync -X and cp -a")
    # Times from before this second: rsync leaves a time alone when only its
    # nanoseconds differ, so fresh entries would compare unequal on ext4 too.
    past = 1_700_000_000_123_456_789
    for dirpath, dirnames, filenames in os.walk(extra, topdown=False):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), ns=(past, past), follow_symlinks=False)
        past += 1_000_000_007
    os.utime(extra, ns=(past, past))
    os.utime(os.path.join(extra, "binary"), ns=(1_600_000_000_111_222_333, 1_500_000_000_444_555_666))
    os.utime(os.path.join(extra, "shared"), ns=(1_400_000_000_000_000_001, 1_400_000_000_000_000_001))
    os.utime(os.path.join(extra, "link-to-file"), ns=(1_300_000_000_5, 1_300_000_000_5),
             follow_symlinks=False)
    return src


def tree(root, xattrs=False):
    """{relative path: what must be preserved} for every entry below root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            entry = {"mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
                     "mtime_ns": st.st_mtime_ns}
            if stat.S_ISLNK(st.st_mode):
                entry["target"] = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                entry["size"] = st.st_size
                with open(path, "rb") as f:
                    entry["sha1"] = hashlib.sha1(f.read()).hexdigest()
            if xattrs and not stat.S_ISLNK(st.st_mode):
                entry["xattrs"] = {n: os.getxattr(path, n) for n in sorted(os.listxattr(path))
                                   if n.startswith("user.")}
            out[os.path.relpath(path, root)] = entry
    return out


class RealToolsTest(t.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.ext4 = os.path.join(self.dir, "ext4")
        os.mkdir(self.ext4)
        self.src = make_source(self.ext4)
        self.mount = t.Mount(os.path.join(self.dir, "db"), create=True)
        self.mount.start()
        self.addCleanup(self.mount.__exit__, None, None, None)

    def assertSameTree(self, expected, actual, what):
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        self.assertFalse(missing or extra, "%s: missing %s, extra %s" % (what, missing[:10],
                                                                         extra[:10]))
        differing = ["%s: %s != %s" % (p, expected[p], actual[p])
                     for p in sorted(expected) if expected[p] != actual[p]]
        self.assertFalse(differing, "%s: %d entries differ:\n%s" % (
            what, len(differing), "\n".join(differing[:10])))

    def test_tar_extract_then_create_lists_as_on_ext4(self):
        tarball = os.path.join(self.dir, "src.tar")
        t.run(["tar", "-C", self.ext4, "-cf", tarball, "linux"])
        listings = {}
        for name, root in (("rocksfs", self.mount.root), ("ext4", os.path.join(self.dir, "x"))):
            os.makedirs(root, exist_ok=True)
            t.run(["tar", "-C", root, "-xpf", tarball])
            again = os.path.join(self.dir, name + ".tar")
            t.run(["tar", "-C", root, "-cf", again, "linux"])
            lines = t.run(["tar", "-tvf", again, "--full-time"]).stdout.decode().splitlines()
            # readdir order is the filesystem's own (rocksfs: sorted by key;
            # ext4: by hash), so tar -c stores entries in different orders:
            # compare the sorted listings. Everything else (modes, owners,
            # sizes, times to the second, link targets) must be identical.
            listings[name] = sorted(lines)
        self.assertEqual(len(listings["rocksfs"]), len(listings["ext4"]))
        self.assertEqual(listings["rocksfs"], listings["ext4"])
        t.run(["diff", "-r", "--no-dereference", os.path.join(self.dir, "x", "linux"),
               self.mount.path("linux")])

    def test_rsync_in_and_back_out_is_identical(self):
        inside = self.mount.path("copy")
        out = os.path.join(self.dir, "out")
        t.run(["rsync", "-aX", self.src + "/", inside + "/"])
        t.run(["rsync", "-aX", inside + "/", out + "/"])
        t.run(["diff", "-r", "--no-dereference", self.src, out])
        expected = tree(self.src, xattrs=True)
        self.assertSameTree(expected, tree(inside, xattrs=True), "rsync -aX into the mount")
        self.assertSameTree(expected, tree(out, xattrs=True), "rsync -aX back out")
        # A second rsync finds nothing to transfer: sizes and times match.
        again = t.run(["rsync", "-aXi", self.src + "/", inside + "/"]).stdout.decode()
        self.assertEqual(again.strip(), "", "rsync saw changes: %s" % again[:2000])

    def test_git_commit_leaves_a_clean_status(self):
        repo = self.mount.path("repo")
        shutil.copytree(os.path.join(self.src, "zz-extra"), repo, symlinks=True)
        shutil.copytree(os.path.join(SOURCE, "netfilter"), os.path.join(repo, "netfilter"))
        git = ["git", "-C", repo, "-c", "user.name=rocksfs test", "-c",
               "user.email=test@rocksfs.invalid", "-c", "init.defaultBranch=main"]
        t.run(git + ["init", "-q"])
        t.run(git + ["add", "-A"])
        t.run(git + ["commit", "-q", "-m", "first"])
        self.assertEqual(t.run(git + ["status", "--porcelain"]).stdout.decode(), "")
        with open(os.path.join(repo, "secret"), "ab") as f:
            f.write(b"more\n")
        os.unlink(os.path.join(repo, "readonly"))
        self.assertEqual(sorted(t.run(git + ["status", "--porcelain"]).stdout.decode()
                                .splitlines()), [" D readonly", " M secret"])
        t.run(git + ["commit", "-q", "-am", "second"])
        self.assertEqual(t.run(git + ["status", "--porcelain"]).stdout.decode(), "")
        log = t.run(git + ["log", "--format=%s"]).stdout.decode().split()
        self.assertEqual(log, ["second", "first"])
        t.run(git + ["fsck", "--no-progress"])
        # The repository survives a remount: still clean.
        self.mount.unmount()
        self.mount = t.Mount(os.path.join(self.dir, "db"))
        self.mount.start()
        self.addCleanup(self.mount.__exit__, None, None, None)
        repo = self.mount.path("repo")
        git[2] = repo
        self.assertEqual(t.run(git + ["status", "--porcelain"]).stdout.decode(), "")

    def test_cp_a_preserves_modes_times_symlinks_and_xattrs(self):
        inside = self.mount.path("cp")
        out = os.path.join(self.dir, "cp-out")
        t.run(["cp", "-a", self.src, inside])
        t.run(["cp", "-a", inside, out])
        expected = tree(self.src, xattrs=True)
        self.assertSameTree(expected, tree(inside, xattrs=True), "cp -a into the mount")
        self.assertSameTree(expected, tree(out, xattrs=True), "cp -a back out")


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
