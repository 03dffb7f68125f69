#!/usr/bin/env python3
"""The manual pages that help2man built from the tools' --help (build/man):

* both render with `man -l` without a warning, with their NAME, SYNOPSIS,
  the key/path mapping, EXAMPLES and SEE ALSO;
* every option the mount.rocksfs parser accepts (each -o name of the
  kOptions table in fs/mount_options.cc, and each flag) is an item of
  mount.rocksfs(8), and the parser really accepts each one;
* every command, option and argument of tools/rocksfs.cc is in rocksfs(1),
  with a heading for each command.
"""

import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import package_testlib as p  # noqa: E402

t = p.t


def page_path(name):
    return os.path.join(t.build_dir(), "man", name + ".gz")


class ManPagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pages = {}
        for name in ("mount.rocksfs.8", "rocksfs.1"):
            path = page_path(name)
            if not os.path.exists(path):
                raise t.TestSetupError("%s was not built (is help2man installed? run "
                                       "scripts/setup.sh)" % path)
            status, text, warnings = p.render_man(path)
            cls.pages[name] = (status, text, warnings)

    def test_pages_render_without_warnings(self):
        for name, (status, text, warnings) in self.pages.items():
            with self.subTest(page=name):
                self.assertEqual(status, 0, warnings)
                self.assertEqual(warnings.strip(), "", "man --warnings -l %s" % name)
                for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "KEYS AND PATHS",
                                "SEE ALSO"):
                    self.assertRegex(text, r"(?m)^%s$" % heading)
                self.assertIn(p.project_version(), text.splitlines()[-1],
                              "the footer names the version of CMakeLists.txt")

    def test_mount_page_has_name_examples_and_escapes(self):
        text = self.pages["mount.rocksfs.8"][1]
        self.assertRegex(text, r"mount\.rocksfs - mount a RocksDB database as a directory tree")
        self.assertRegex(text, r"(?m)^EXAMPLES$")
        self.assertIn("mount -t fuse.rocksfs /srv/db /mnt/kv -o ro,threads=8", text)
        for escape in ("%XX", "%@", "NAME%@", "PREFIX%#HHHHHHHHHHHHHHHH"):
            self.assertRegex(text, r"(?m)^\s+%s\s" % re.escape(escape))
        self.assertNotIn("RocksDB 7", text.split("KEYS AND PATHS")[0],
                         "no stray version lines in the options")

    def options_part(self):
        """mount.rocksfs(8) from DESCRIPTION to KEYS AND PATHS: what --help made."""
        text = self.pages["mount.rocksfs.8"][1]
        return text[text.index("\nDESCRIPTION\n"):text.index("\nKEYS AND PATHS\n")]

    def test_every_mount_option_is_in_the_page(self):
        options = p.mount_options()
        self.assertGreater(len(options), 40, "the kOptions table of fs/mount_options.cc")
        part = self.options_part()
        for name, arity in options.items():
            with self.subTest(option=name):
                # An item "name", "name=HINT" or "name[=...]", alone or in a
                # comma-separated list of names.
                pattern = r"(?m)(^\s+|, )%s(=\S+|\[=\.\.\.\])?(,|:|\s*$|\s)" % re.escape(name)
                self.assertRegex(part, pattern)

    def test_every_mount_flag_is_in_the_page(self):
        flags = p.mount_flags()
        for flag in ("-o", "-f", "-d", "-h", "--help", "-V", "--version"):
            self.assertIn(flag, flags, "scraped flags: %r" % flags)
        part = self.options_part()
        for flag in flags:
            with self.subTest(flag=flag):
                self.assertRegex(part, r"(?m)^\s+(\S+, )*%s(,| |$)" % re.escape(flag))

    def test_the_parser_accepts_every_option_found(self):
        # Runs the parser on each name: it must not be "unknown". A missing
        # mountpoint stops mount.rocksfs after parsing, before any open.
        mount = p.binary("mount.rocksfs")
        with tempfile.TemporaryDirectory() as d:
            db, mnt = os.path.join(d, "db"), os.path.join(d, "no-such-mountpoint")
            bogus = p.run([mount, db, mnt, "-o", "no_such_option"], cwd=d)
            self.assertIn("unknown option 'no_such_option'", bogus.stderr)
            for name, arity in p.mount_options().items():
                item = name + "=1" if arity == "kValue" else name
                with self.subTest(option=item):
                    proc = p.run([mount, db, mnt, "-o", item], cwd=d)
                    self.assertNotEqual(proc.returncode, 0)  # the mountpoint is missing
                    self.assertNotIn("unknown option", proc.stderr)
                    long_form = p.run([mount, db, mnt, "--" + item], cwd=d)
                    self.assertNotIn("unknown option", long_form.stderr)
            for flag in p.mount_flags():
                args = [flag, "ro"] if flag == "-o" else [flag]
                with self.subTest(flag=flag):
                    proc = p.run([mount, db, mnt, *args], cwd=d)
                    self.assertNotIn("unknown flag", proc.stderr)
                    self.assertNotIn("unknown option", proc.stderr)

    def test_every_rocksfs_command_and_option_is_in_the_page(self):
        commands, options, positionals = p.rocksfs_cli()
        self.assertGreaterEqual(len(commands), 12, "commands in tools/rocksfs.cc: %r" % commands)
        self.assertIn("--help-all", options)
        text = self.pages["rocksfs.1"][1]
        self.assertRegex(text, r"rocksfs - administer a RocksDB database")
        self.assertRegex(text, r"(?m)^COMMANDS$")
        for command in commands:
            with self.subTest(command=command):
                # A heading "rocksfs [PARENT ]COMMAND [OPTIONS] ARGS:".
                self.assertRegex(text, r"(?m)^\s+rocksfs( [a-z]+)* %s( .*)?:$" % re.escape(command))
        for option in options:
            with self.subTest(option=option):
                self.assertRegex(text, r"(?m)^\s+(\S+,)?%s(,| |$)" % re.escape(option))
        for positional in positionals:
            with self.subTest(argument=positional):
                self.assertRegex(text, r"(?m)^\s+%s TEXT REQUIRED$|^\s+rocksfs .* %s( |:)"
                                 % (re.escape(positional), re.escape(positional)))

    def test_rocksfs_page_covers_every_command_the_binary_lists(self):
        # From the other side: the commands rocksfs --help lists, and those of
        # each of them, all have a heading in the page.
        rocksfs = p.binary("rocksfs")
        text = self.pages["rocksfs.1"][1]
        pending = [[]]
        seen = 0
        while pending:
            path = pending.pop()
            help_text = p.run([rocksfs, *path, "--help"]).stdout
            block = re.search(r"(?ms)^Subcommands:\n(.*?)(\n\n|\Z)", help_text)
            for name in re.findall(r"(?m)^  ([a-z]+) ", block.group(1)) if block else []:
                pending.append(path + [name])
                seen += 1
                with self.subTest(command=" ".join(path + [name])):
                    self.assertRegex(text, r"(?m)^\s+rocksfs %s( .*)?:$" % " ".join(path + [name]))
        self.assertGreaterEqual(seen, 12)


if __name__ == "__main__":
    if os.environ.get("ROCKSFS_HELP2MAN", "").endswith("NOTFOUND"):
        p.require(False, "help2man was not found when the build was configured, so no manual "
                         "pages were built (apt-get install help2man, or run scripts/setup.sh)")
    p.require(p.have("man"), "man (man-db) is not installed")
    unittest.main()
