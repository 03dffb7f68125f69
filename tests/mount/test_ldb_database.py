#!/usr/bin/env python3
"""A database written by another RocksDB program (Debian's ldb) mounts as it
is: walking the mount finds every key under exactly one path, the path
decodes back to the key (fs/path_codec.h's escapes), every name is the one a
small model of the encoder gives for its key, and every file holds its value
byte for byte.

Every value equals its key, so a file says which key it stands for; that is
also how a hashed name ("...%{#H}", a component longer than 255 bytes) is
checked: its prefix and FNV-1a hash must match the component the value names.
"""

import collections
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rocksfs_testlib as t  # noqa: E402

DELIMITER = b"/"
NAME_MAX = 255

# Keys that a naive key-to-path mapping gets wrong.
AWKWARD_KEYS = [
    b"blue", b"blue/x",                          # a key that is also a prefix
    b"config", b"config.json", b"config/x",      # siblings sharing a prefix
    b"config-a", b"config\x00z",                 # ...sorting between "config" and "config/"
    b"trail/",                                   # a key ending in the delimiter
    b"both", b"both/", b"both//deep",            # file, empty component, and more
    b"a//b",                                     # an empty component
    b"/leading",                                 # an empty first component
    b"x\xff", b"bin/\xff\xfe\x00",               # bytes that are not UTF-8
    b"nul\x00byte", b"dir\x00/y",                # NUL bytes
    b".rocksfs", b".rocksfs/inner",              # the control directory's name, at the root
    b"sub/.rocksfs",                             # ...and below it (not reserved there)
    b".", b"..", b"dots/./../...",               # "." and ".." components
    b"long/" + b"L" * 300,                       # a component longer than NAME_MAX
    b"long/" + b"L" * 299 + b"M",                # ...sharing its 235-byte prefix
    b"D" * 300 + b"/f",                          # a hashed directory
    b"utf8long/" + "é".encode() * 150,           # hashed: the cut must not split a character
    b"50%off.txt",                               # a '%' that starts no escape
    b"pct/My%20File.pdf", b"pct/caf%C3%A9.txt",  # ...nor do URL-style escapes
    b"pct/a%2Bb", b"pct/%41", b"pct/%@", b"pct/%#", b"pct/%2f", b"pct/x%@",
    b"pct/%", b"pct/%%", b"pct/100%", b"pct/{}", b"pct/%}",
    b"pct/%{", b"pct/%{41}", b"pct/%{@}", b"pct/%{}",  # '%' before '{' would start one
    b"pct/x%{@}", b"pct/%{#0123456789ABCDEF}",
    b"latin1/caf\xe9",                           # a non-UTF-8 component
    b"utf8/caf\xc3\xa9", b"utf8/\xed\xa0\x80",   # valid UTF-8, and a surrogate (invalid)
    b"user/alice", b"user/bob",                  # and some ordinary keys
]


def setUpModule():
    t.skip_unless_fuse()
    t.mount_binary()


# --- a model of fs/path_codec.h ----------------------------------------------

UPPER_HEX = b"0123456789ABCDEF"
Decoded = collections.namedtuple("Decoded", "name component dir_value hashed hash")


def decode_name(name):
    """Decoded(name, component, dir_value, hashed, hash) of one directory
    entry name. For a hashed name, component is only the prefix before "%{#".
    Raises ValueError on a "%{" that opens no escape."""
    if len(name) > NAME_MAX or not name:
        raise ValueError("bad name length %d: %r" % (len(name), name))
    body, dir_value = name, False
    if name.endswith(b"%{@}"):
        body, dir_value = name[:-4], True
    if body == b"%{}":
        return Decoded(name, b"", dir_value, False, 0)
    out, i = bytearray(), 0
    while i < len(body):
        if body[i:i + 2] != b"%{":
            out.append(body[i])
            i += 1
            continue
        end = body.find(b"}", i)
        inner = body[i + 2:end] if end >= 0 else b""
        if inner[:1] == b"#" and end == len(body) - 1 and len(inner) == 17 \
                and all(c in UPPER_HEX for c in inner[1:]):
            return Decoded(name, bytes(out), dir_value, True, int(inner[1:], 16))
        if not inner or len(inner) % 2 or not all(c in UPPER_HEX for c in inner):
            raise ValueError("a %%{ that opens no escape in %r" % name)
        out += bytes.fromhex(inner.decode())
        i = end + 1
    return Decoded(name, bytes(out), dir_value, False, 0)


def _units(component):
    """(bytes, escaped) for each UTF-8 character or escaped byte."""
    i = 0
    while i < len(component):
        c = component[i]
        n = 1 if c < 0x80 else 2 if 0xC2 <= c <= 0xDF else 3 if 0xE0 <= c <= 0xEF \
            else 4 if 0xF0 <= c <= 0xF4 else 0
        unit = component[i:i + n]
        try:
            valid = n > 0 and len(unit) == n and len(unit.decode("utf-8")) == 1
        except UnicodeDecodeError:
            valid = False
        opens_escape = component[i:i + 2] == b"%{"
        if not valid or c in (0, ord("/"), DELIMITER[0]) or opens_escape:
            yield bytes([c]), True
            i += 1
        else:
            yield unit, False
            i += n


def _render(units):
    out, group = bytearray(), False
    for unit, escaped in units:
        if escaped and not group:
            out += b"%{"
        elif group and not escaped:
            out += b"}"
        group = escaped
        out += b"%02X" % unit[0] if escaped else unit
    return bytes(out + (b"}" if group else b""))


def encode_name(component, dir_value, at_root):
    """The name fs/path_codec.h gives a component, written as plainly as can be."""
    suffix = b"%{@}" if dir_value else b""
    if not component:
        return b"%{}" + suffix
    if component in (b".", b"..") or (at_root and component == b".rocksfs"):
        return b"%{2E}" + component[1:] + suffix
    units = list(_units(component))
    if len(_render(units)) + len(suffix) <= NAME_MAX:
        return _render(units) + suffix
    limit = NAME_MAX - len(b"%{#0123456789ABCDEF}") - len(suffix)
    k = max(k for k in range(len(units) + 1) if len(_render(units[:k])) <= limit)
    return _render(units[:k]) + b"%%{#%016X}" % t.fnv1a64(component) + suffix


write, read = t.write_file, t.read_file


# --- walking a mount ------------------------------------------------------------

def walk_mount(test, root):
    """Walks the mount (os.scandir, never into /.rocksfs) and returns the list
    of (key, content) of every file, each key decoded from the file's path.
    Checks on the way: no entry is listed twice, names are at most NAME_MAX,
    no directory is empty, st_size is the content's length, and each hashed
    component is the one the file's value (= its key) names."""
    files = []
    root = os.fsencode(root)

    def visit(dirpath, components):
        with os.scandir(dirpath) as it:
            entries = list(it)
        names = [e.name for e in entries]
        test.assertEqual(len(names), len(set(names)), "duplicate names in %r" % dirpath)
        test.assertTrue(entries, "empty directory %r in an ldb-written DB" % dirpath)
        for entry in entries:
            test.assertLessEqual(len(entry.name), NAME_MAX, entry.name)
            if dirpath == root:
                test.assertNotEqual(entry.name, b".rocksfs", "readdir lists the control directory")
            decoded = decode_name(entry.name)
            if not decoded.hashed:
                test.assertEqual(encode_name(decoded.component, decoded.dir_value, dirpath == root),
                                 entry.name, "not the model's name for its key")
            if entry.is_dir(follow_symlinks=False):
                test.assertFalse(decoded.dir_value, "directory with a %%{@} name: %r" % entry.path)
                visit(entry.path, components + [decoded])
                continue
            test.assertTrue(entry.is_file(follow_symlinks=False), entry.path)
            with open(entry.path, "rb") as f:
                content = f.read()
            test.assertEqual(entry.stat().st_size, len(content), entry.path)
            files.append((entry.path, components + [decoded], content))

    visit(root, [])
    result = []
    for path, components, content in files:
        # A hashed component is resolved from the value (the key it stands for).
        value_parts = content.split(DELIMITER)
        parts = []
        for i, d in enumerate(components):
            if not d.hashed:
                parts.append(d.component)
                continue
            test.assertEqual(len(value_parts), len(components),
                             "%r: value %r does not have the path's depth" % (path, content[:100]))
            full = value_parts[i]
            test.assertTrue(full.startswith(d.component),
                            "%r: hashed prefix %r does not fit %r" % (path, d.component, full))
            test.assertEqual(t.fnv1a64(full), d.hash, "%r: hash of %r" % (path, full))
            test.assertEqual(encode_name(full, d.dir_value, i == 0), d.name,
                             "%r: not the model's hashed name for %r" % (path, full))
            parts.append(full)
        result.append((DELIMITER.join(parts), content))
    return result


class LdbDatabaseTest(t.TempDirTestCase):
    def check_mount_shows(self, keys, options=()):
        """Load keys (value = key) with ldb, mount, walk; every key exactly once."""
        db = os.path.join(self.dir, "db")
        t.ldb_load(db, {k: k for k in keys})
        scanned = t.ldb_scan(db)
        self.assertEqual(sorted(scanned), sorted(set(keys)))
        with t.Mount(db, options=options) as m:
            walked = walk_mount(self, m.root)
        walked_keys = collections.Counter(k for k, _ in walked)
        expected = collections.Counter(scanned.keys())
        missing = expected - walked_keys
        extra = walked_keys - expected
        if missing or extra:
            self.fail("%d keys missing from the walk, e.g. %r\n%d keys shown but not in the DB, e.g. %r"
                      % (len(missing), sorted(missing)[:10], len(extra), sorted(extra)[:10]))
        for key, content in walked:
            self.assertEqual(content, scanned[key], "content of key %r" % key)
        return db

    def test_awkward_keys_each_appear_once(self):
        self.check_mount_shows(AWKWARD_KEYS)

    def test_known_names(self):
        # The names the README promises, checked directly.
        db = os.path.join(self.dir, "db")
        t.ldb_load(db, {k: k for k in AWKWARD_KEYS})
        with t.Mount(db) as m:
            root = set(os.listdir(m.root))
            for name in ("blue", "blue%{@}", "config", "config%{@}", "config.json", "trail",
                         "a", "%{}", "%{2E}rocksfs", "%{2E}", "%{2E}.", "50%off.txt", "x%{FF}",
                         "nul%{00}byte", "user"):
                self.assertIn(name, root)
            self.assertNotIn(".rocksfs", root)
            self.assertTrue(os.path.isdir(m.path("blue")))
            self.assertEqual(os.listdir(m.path("blue")), ["x"])
            self.assertEqual(read(m.path("blue%{@}")), b"blue")
            self.assertEqual(read(m.path("trail/%{}")), b"trail/")
            self.assertEqual(read(m.path("a/%{}/b")), b"a//b")
            self.assertEqual(read(m.path("%{2E}rocksfs%{@}")), b".rocksfs")
            self.assertEqual(read(m.path("sub/.rocksfs")), b"sub/.rocksfs")
            self.assertEqual(read(m.path("bin/%{FFFE00}")), b"bin/\xff\xfe\x00")
            self.assertEqual(read(m.path("dir%{00}/y")), b"dir\x00/y")
            self.assertEqual(sorted(os.listdir(m.path("pct"))), sorted([
                "My%20File.pdf", "caf%C3%A9.txt", "a%2Bb", "%41", "%@", "%#", "%2f", "x%@",
                "%", "%%", "100%", "{}", "%}", "%{25}{", "%{25}{41}", "%{25}{@}", "%{25}{}",
                "x%{25}{@}", "%{25}{#0123456789ABCDEF}"]))
            self.assertEqual(read(m.path("pct/My%20File.pdf")), b"pct/My%20File.pdf")
            self.assertEqual(read(m.path("pct/%{25}{41}")), b"pct/%{41}")
            self.assertEqual(read(m.path("latin1/caf%{E9}")), b"latin1/caf\xe9")
            self.assertEqual(read(m.path("utf8/café")), "utf8/café".encode())

    def test_escaped_names_lead_back_to_their_keys(self):
        # Writing, creating and removing through escaped names changes
        # exactly the key each name stands for.
        long_key = b"long/" + b"L" * 300
        db = os.path.join(self.dir, "db")
        t.ldb_load(db, {b"blue": b"old", b"blue/x": b"x", long_key: b"long", b"x\xff": b"ff",
                        b"nul\x00byte": b"nul", b"a//b": b"ab", b"latin1/caf\xe9": b"cafe"})
        with t.Mount(db) as m:
            write(m.path("blue%{@}"), b"new value")
            self.assertEqual(read(m.path("blue%{@}")), b"new value")
            [hashed] = os.listdir(m.path("long"))
            self.assertEqual(len(hashed), NAME_MAX)
            write(m.path("long/" + hashed), b"rewritten")
            write(m.path("x%{FF}"), b"FF")
            os.unlink(m.path("nul%{00}byte"))
            write(m.path("a/%{}/c"), b"ac")             # key "a//c"
            write(m.path("a/%{}%{@}"), b"value of a/")  # key "a/", next to directory "a/"
            write(m.path("new%{00}key%{FF}"), b"nk")    # escapes in a created name
            write(m.path("My%20File.pdf"), b"literal")  # no escape: the key as typed
            os.rename(m.path("latin1/caf%{E9}"), m.path("latin1/caf%{E8}"))
            m.unmount()
        self.assertEqual(t.ldb_scan(db), {
            b"blue": b"new value", b"blue/x": b"x", long_key: b"rewritten", b"x\xff": b"FF",
            b"a//b": b"ab", b"a//c": b"ac", b"a/": b"value of a/", b"new\x00key\xff": b"nk",
            b"My%20File.pdf": b"literal", b"latin1/caf\xe8": b"cafe"})

    # When the directory "blue" goes away through the mount (rename or
    # rmdir), its key's value is listed as "blue" again and the name
    # "blue%{@}" must stop resolving at once (one key, one path), even with
    # the default entry_timeout.
    def test_dir_value_name_goes_when_the_directory_goes(self):
        db = os.path.join(self.dir, "db")
        t.ldb_load(db, {b"blue": b"bv", b"blue/x": b"x", b"a": b"av", b"a/y": b"y"})
        with t.Mount(db) as m:
            self.assertEqual(read(m.path("blue%{@}")), b"bv")
            self.assertEqual(read(m.path("a%{@}")), b"av")
            os.rename(m.path("blue"), m.path("green"))
            os.unlink(m.path("a/y"))
            os.rmdir(m.path("a"))
            self.assertEqual(sorted(os.listdir(m.root)), ["a", "blue", "green"])
            self.assertEqual(read(m.path("blue")), b"bv")
            self.assertEqual(read(m.path("a")), b"av")
            stale = [name for name in ("blue%{@}", "a%{@}") if os.path.lexists(m.path(name))]
            m.unmount()
        self.assertEqual(t.ldb_scan(db), {b"blue": b"bv", b"green/x": b"x", b"a": b"av"})
        self.assertEqual(stale, [], "names still resolving after their directory went")

    def test_random_binary_keys(self):
        seed = int(os.environ.get("ROCKSFS_TEST_SEED", "20261121"))
        rng = random.Random(seed)
        # Bytes that matter to the codec, often; any byte, sometimes.
        special = b"/%{}.@#\x00\xffAF0914a\xc3\xa9\xe2\x82\xac"
        keys = set()
        while len(keys) < 500:
            length = rng.choice([1, 2, 3, 4, 6, 8, 12, 20, 40])
            if rng.random() < 0.03:
                length = rng.randint(250, 320)  # a hashed component, sometimes
            key = bytes(rng.choice(special) if rng.random() < 0.6 else rng.randrange(256)
                        for _ in range(length))
            keys.add(key)
        keys = sorted(keys)
        try:
            self.check_mount_shows(keys)
        except AssertionError as e:
            raise AssertionError("%s\n(ROCKSFS_TEST_SEED=%d)" % (e, seed)) from None

    def test_random_colliding_keys(self):
        # Short keys over a tiny alphabet: most keys are prefixes of others,
        # share empty components, or look like escapes.
        seed = int(os.environ.get("ROCKSFS_TEST_SEED", "20261121"))
        rng = random.Random(seed)
        alphabet = [b"a", b"/", b"%", b"{", b"}", b"@", b".", b"#", b"2", b"E", b"\x00", b"\xff"]
        keys = set()
        while len(keys) < 800:
            keys.add(b"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 7))))
        try:
            self.check_mount_shows(sorted(keys))
        except AssertionError as e:
            raise AssertionError("%s\n(ROCKSFS_TEST_SEED=%d)" % (e, seed)) from None


if __name__ == "__main__":
    t.require_fuse()
    unittest.main()
