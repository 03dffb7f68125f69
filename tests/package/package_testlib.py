"""Helpers for the package tests (label "package"; python3 standard library).

What the parsers accept is read from their sources, the one place each option
is defined:
  * mount.rocksfs: the kOptions table of fs/mount_options.cc (every -o NAME,
    also accepted as --NAME), the flags its Parse() adds to CLI11, and the
    version flags of tools/mount_rocksfs.cc;
  * rocksfs: the add_subcommand / add_option / add_flag calls and the help
    and version flags of tools/rocksfs.cc.
Tests that rely on this also run the binaries on what they find (an unknown
name gets "unknown option"), so a scrape that went wrong fails loudly.
"""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "mount"))
import rocksfs_testlib as t  # noqa: E402,F401  (re-exported for the tests)

SKIP_EXIT_CODE = 77


def source_path(*parts):
    return os.path.join(t.source_dir(), *parts)


def read_source(*parts):
    with open(source_path(*parts), encoding="utf-8") as f:
        return f.read()


def binary(name):
    """Path of a built tool (mount.rocksfs, rocksfs); raises if not built."""
    path = os.path.join(t.build_dir(), name)
    if not os.access(path, os.X_OK):
        raise t.TestSetupError("%s is not built: %s does not exist (run scripts/setup.sh)"
                               % (name, path))
    return path


def project_version():
    """The VERSION of project() in CMakeLists.txt: the one place it is set."""
    match = re.search(r"project\(\s*rocksfs\s+VERSION\s+([0-9][0-9.]*)", read_source("CMakeLists.txt"))
    if not match:
        raise t.TestSetupError("no project(rocksfs VERSION x.y.z) in CMakeLists.txt")
    return match.group(1)


def mount_options():
    """{name: arity} for every -o option of mount.rocksfs, arity being
    "kFlag", "kValue" or "kOptionalValue"."""
    table = re.findall(r'\{\s*"([^"]+)",\s*Arity::(k\w+)', read_source("fs", "mount_options.cc"))
    return dict(table)


def _split_flags(spec):
    return [name for name in (part.strip() for part in spec.split(",")) if name.startswith("-")]


def mount_flags():
    """Every flag of mount.rocksfs: -o, -f, -d, ..., -h, --help, -V, --version."""
    parser = read_source("fs", "mount_options.cc")
    flags = []
    for spec in re.findall(r'app\.(?:add_flag|add_option|set_help_flag)\(\s*"(-[^"]*)"', parser):
        flags += _split_flags(spec)
    tool = read_source("tools", "mount_rocksfs.cc")
    version = re.search(r"kVersionFlags\[\]\s*=\s*\{([^}]*)\}", tool)
    if version:
        flags += re.findall(r'"(-[^"]+)"', version.group(1))
    return flags


def rocksfs_cli():
    """(commands, options, positionals) of tools/rocksfs.cc: command names,
    option names (-j, --jobs, ...) and positional argument names (DB, ...)."""
    text = read_source("tools", "rocksfs.cc")
    commands = re.findall(r'add_subcommand\(\s*"([^"]+)"', text)
    options, positionals = [], []
    for spec in re.findall(r'(?:add_option|add_flag|set_version_flag|set_help_all_flag)\(\s*"([^"]+)"', text):
        names = _split_flags(spec)
        if names:
            options += names
        else:
            positionals.append(spec)
    options += ["-h", "--help"]  # CLI11's own help flag, on every command
    return commands, sorted(set(options)), sorted(set(positionals))


def run(cmd, **kwargs):
    """subprocess.run with text output captured; never raises on failure."""
    kwargs.setdefault("timeout", 120)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          **kwargs)


def render_man(path):
    """man -l PATH as plain text, one paragraph per line where groff allows
    (very wide, no hyphenation), and man's warnings."""
    env = dict(os.environ, MANWIDTH="1000", MANROFFOPT="-rHY=0", LC_ALL="C.UTF-8", PAGER="cat")
    proc = run(["man", "--warnings", "-l", path], env=env)
    text = proc.stdout
    # Plain ASCII hyphens for the hyphen and minus glyphs groff may use.
    for glyph in ("\u2010", "\u2011", "\u2212"):
        text = text.replace(glyph, "-")
    return proc.returncode, text, proc.stderr


def require(condition, reason):
    """Exit 77 (ctest: skipped) with "SKIP: reason" unless condition."""
    if not condition:
        print("SKIP: %s" % reason, file=sys.stderr)
        sys.exit(SKIP_EXIT_CODE)


def have(program):
    return shutil.which(program) is not None
