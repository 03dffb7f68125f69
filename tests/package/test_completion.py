#!/usr/bin/env python3
"""The bash completion (packaging/bash-completion/rocksfs), run in bash with
the built tools first on PATH:

* `mount.rocksfs -o <TAB>` offers every -o option of the parser (with "="
  after those that take a value), `-o ro,th<TAB>` completes the last item of
  a list, and `mount.rocksfs -<TAB>` offers every flag;
* walking `rocksfs <TAB>`, `rocksfs snapshot <TAB>`, ... reaches every command
  of tools/rocksfs.cc, and `rocksfs COMMAND -<TAB>` together offer every
  option.
"""

import os
import shlex
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import package_testlib as p  # noqa: E402

t = p.t
COMPLETION = p.source_path("packaging", "bash-completion", "rocksfs")


def complete(words):
    """COMPREPLY of completing the last of `words` (a command line)."""
    function = "_mount_rocksfs" if words[0] == "mount.rocksfs" else "_rocksfs"
    script = "source %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n%s\nprintf '%%s\\n' \"${COMPREPLY[@]}\"\n" % (
        shlex.quote(COMPLETION), " ".join(shlex.quote(w) for w in words), len(words) - 1, function)
    env = dict(os.environ, PATH=t.build_dir() + os.pathsep + os.environ.get("PATH", ""))
    proc = p.run(["bash", "--norc", "--noprofile", "-c", script], env=env)
    if proc.returncode != 0:
        raise AssertionError("completion of %r failed: %s" % (words, proc.stderr))
    return [line for line in proc.stdout.splitlines() if line]


class CompletionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        p.binary("mount.rocksfs")
        p.binary("rocksfs")

    def test_every_mount_option_is_offered(self):
        offered = complete(["mount.rocksfs", "/srv/db", "/mnt/kv", "-o", ""])
        for name, arity in p.mount_options().items():
            with self.subTest(option=name):
                expected = name + "=" if arity in ("kValue", "kOptionalValue") else name
                self.assertIn(expected, offered)

    def test_last_item_of_a_list_is_completed(self):
        self.assertEqual(complete(["mount.rocksfs", "-o", "ro,thr"]), ["ro,threads="])
        self.assertEqual(complete(["mount.rocksfs", "--max_v"]), ["--max_value_size="])
        self.assertEqual(complete(["mount.rocksfs", "-o", "threads=4"]), [])

    def test_every_mount_flag_is_offered(self):
        offered = complete(["mount.rocksfs", "-"])
        for flag in p.mount_flags():
            with self.subTest(flag=flag):
                self.assertIn(flag, offered)

    def test_every_rocksfs_command_and_option_is_offered(self):
        commands, options, _ = p.rocksfs_cli()
        reached, offered_options = set(), set()
        pending = [[]]
        while pending:
            path = pending.pop()
            offered_options.update(complete(["rocksfs", *path, "-"]))
            for command in complete(["rocksfs", *path, ""]):
                if os.path.exists(command):  # file names: no commands here
                    continue
                reached.add(command)
                pending.append(path + [command])
        self.assertEqual(sorted(set(commands) - reached), [], "commands not offered")
        self.assertEqual(sorted(set(options) - offered_options), [], "options not offered")
        self.assertEqual(complete(["rocksfs", "snap"]), ["snapshot"])


if __name__ == "__main__":
    p.require(p.have("bash"), "bash is not installed")
    unittest.main()
