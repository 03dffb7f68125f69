#!/usr/bin/env python3
"""Names people use are literal (README "Keys and paths"): `My%20File.pdf`,
`caf%C3%A9.txt`, `a%2Bb`, `100%` and `50%off.txt` are created, listed,
stat'ed, renamed and read back as themselves, and stored as keys of the same
bytes. Only escapes rocksfs itself writes are decoded, all of the form
`%{...}`: a `%{` that opens none is refused (EINVAL on create, ENOENT on
lookup) and the component holding one is spelled `%{25}{`. Keys that another
RocksDB program (ldb) wrote with NUL, the delimiter or invalid UTF-8 in them
show the `%{HH}` escapes.
"""

import errno
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

PEOPLES_NAMES = ["My%20File.pdf", "caf%C3%A9.txt", "a%2Bb", "100%", "50%off.txt"]


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


write, read = t.write_file, t.read_file


class LiteralNamesTest(t.DbTestCase):
    def test_names_people_use_round_trip(self):
        with t.Mount(self.db, create=True) as m:
            for name in PEOPLES_NAMES:
                # `touch NAME`, then a write through the name.
                with open(m.path(name), "ab"):
                    pass
                write(m.path(name), b"contents of " + name.encode())
            self.assertEqual(sorted(os.listdir(m.root)), sorted(PEOPLES_NAMES))
            for name in PEOPLES_NAMES:
                st = os.stat(m.path(name))
                self.assertEqual(st.st_size, len(b"contents of " + name.encode()), name)
                self.assertEqual(read(m.path(name)), b"contents of " + name.encode())
            # Directories with such names, and renames to and from them.
            os.mkdir(m.path("dir%20one"))
            os.rename(m.path("My%20File.pdf"), m.path("dir%20one/My%2520File.pdf"))
            os.rename(m.path("100%"), m.path("100%%"))
            os.rename(m.path("dir%20one"), m.path("dir%2Btwo"))
            self.assertEqual(os.listdir(m.path("dir%2Btwo")), ["My%2520File.pdf"])
            self.assertEqual(read(m.path("dir%2Btwo/My%2520File.pdf")),
                             b"contents of My%20File.pdf")
            self.assertEqual(sorted(os.listdir(m.root)),
                             sorted(["100%%", "50%off.txt", "a%2Bb", "caf%C3%A9.txt", "dir%2Btwo"]))
            self.assertErrno(errno.ENOENT, os.stat, m.path("100%"))
            m.unmount()
        self.assertEqual(t.ldb_scan(self.db), {
            b"dir%2Btwo/My%2520File.pdf": b"contents of My%20File.pdf",
            b"caf%C3%A9.txt": b"contents of caf%C3%A9.txt",
            b"a%2Bb": b"contents of a%2Bb",
            b"100%%": b"contents of 100%",
            b"50%off.txt": b"contents of 50%off.txt",
        })

    def test_percent_brace_is_an_escape_or_refused(self):
        with t.Mount(self.db, create=True) as m:
            # A "%{" that opens no escape rocksfs writes names no key.
            for bad in ("%{", "x%{y}", "100%{", "%{41}", "%{2f}", "%{FF}%{FE}", "%{}x", "%{@}"):
                self.assertErrno(errno.EINVAL, write, m.path(bad), b"x")
                self.assertErrno(errno.EINVAL, os.mkdir, m.path(bad))
                self.assertErrno(errno.ENOENT, os.stat, m.path(bad))
            # Braces without a '%' before them, and a '%' before anything
            # else, are literal.
            for name in ("{}", "a{b}", "%}", "{%", "%%"):
                write(m.path(name), name.encode())
            # The key "x%{y}" is spelled with its '%' escaped.
            write(m.path("x%{25}{y}"), b"percent brace")
            os.rename(m.path("x%{25}{y}"), m.path("%{25}{41}"))
            self.assertEqual(read(m.path("%{25}{41}")), b"percent brace")
            self.assertEqual(sorted(os.listdir(m.root)),
                             sorted(["{}", "a{b}", "%}", "{%", "%%", "%{25}{41}"]))
            m.unmount()
        self.assertEqual(t.ldb_scan(self.db), {
            b"{}": b"{}", b"a{b}": b"a{b}", b"%}": b"%}", b"{%": b"{%", b"%%": b"%%",
            b"%{41}": b"percent brace"})

    def test_keys_written_by_ldb_show_the_escapes(self):
        keys = {
            b"nul\x00byte": b"nul",                 # NUL
            b"bytes\xff\xfe\x00": b"run",           # invalid UTF-8 and NUL: one group
            b"latin1:caf\xe9": b"latin1",           # invalid UTF-8
            b"utf8:caf\xc3\xa9": b"utf8",           # valid UTF-8 stays
            b"user:alice/home": b"slash",           # '/' inside a component under ':'
            b"pct:My%20File.pdf": b"literal",       # a '%' people use
            b"pct:%{41}": b"escaped percent",       # the '%' rocksfs escapes
            b"blue": b"value of blue", b"blue:x": b"x",  # a key that is also a directory
            b"a::b": b"empty component",
        }
        t.ldb_load(self.db, keys)
        with t.Mount(self.db, options=["delimiter=:"]) as m:
            root = sorted(os.listdir(m.root))
            self.assertEqual(root, sorted(["nul%{00}byte", "bytes%{FFFE00}", "latin1", "utf8",
                                           "user", "pct", "blue", "blue%{@}", "a"]))
            self.assertEqual(os.listdir(m.path("latin1")), ["caf%{E9}"])
            self.assertEqual(os.listdir(m.path("utf8")), ["caf\u00e9"])
            self.assertEqual(os.listdir(m.path("user")), ["alice%{2F}home"])
            self.assertEqual(sorted(os.listdir(m.path("pct"))), ["%{25}{41}", "My%20File.pdf"])
            self.assertEqual(os.listdir(m.path("a")), ["%{}"])
            for path, key in (("nul%{00}byte", b"nul\x00byte"),
                              ("bytes%{FFFE00}", b"bytes\xff\xfe\x00"),
                              ("latin1/caf%{E9}", b"latin1:caf\xe9"),
                              ("utf8/caf\u00e9", b"utf8:caf\xc3\xa9"),
                              ("user/alice%{2F}home", b"user:alice/home"),
                              ("pct/My%20File.pdf", b"pct:My%20File.pdf"),
                              ("pct/%{25}{41}", b"pct:%{41}"),
                              ("blue%{@}", b"blue"),
                              ("a/%{}/b", b"a::b")):
                self.assertEqual(read(m.path(path)), keys[key], path)
            # Writing through an escaped name changes exactly its key.
            write(m.path("user/alice%{2F}home"), b"new")
            write(m.path("user/bob%{2F}home"), b"created")
            self.assertErrno(errno.EINVAL, write, m.path("user/carol:home"), b"x")
            m.unmount()
        scanned = t.ldb_scan(self.db)
        self.assertEqual(scanned[b"user:alice/home"], b"new")
        self.assertEqual(scanned[b"user:bob/home"], b"created")
        self.assertEqual(len(scanned), len(keys) + 1)


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
