#!/usr/bin/env python3
"""Convert Debian's package index into `ldb load --hex` input.

Source: `apt-cache dumpavail` (default), which prints one deb822 stanza per
package: the candidate version, i.e. exactly the version `apt-cache policy
NAME` reports as "Candidate". `--input FILE` reads any deb822 text instead
(`-` for stdin), e.g. a saved dumpavail or a decompressed Packages file (with
a Packages file that lists several versions of one package, the first stanza
wins and the others are counted as duplicates).

Every field of every stanza becomes one key:

    package/NAME/FIELD  ->  value of FIELD
    package/bash/Version -> 5.2.15-2+b13

Values are the raw deb822 field values, as bytes, without any decoding:
  * the text after "Field:" on the first line, with the whitespace right
    after the colon removed and the line's trailing newline dropped;
  * continuation lines (those starting with a space or a tab) are appended
    as "\\n" + the line exactly as it is, KEEPING their leading space (so a
    multi-line Description/Tag value reads back exactly as it appears in
    `apt-cache show`, minus the "Field: " prefix);
  * no trailing newline is added: `cat package/bash/Version` prints the
    version and nothing else, byte-for-byte what `ldb get` returns.
A field whose first line is empty therefore starts with "\\n".

Output (stdout): lines `0xKEYHEX ==> 0xVALUEHEX`, sorted by key bytes,
the format `ldb --db=DB --create_if_missing load --hex` reads. A summary
(packages, keys, bytes) goes to stderr. With `--format tsv`, lines
`KEY<TAB>VALUE` instead, sorted the same way, in the escaped form
`rocksfs load --format tsv` reads and `rocksfs dump --format tsv` writes
(backslash, TAB, LF, CR and NUL by name, other control bytes, DEL and
invalid UTF-8 as backslash-x-HH, valid UTF-8 as it is), so a dump of the
loaded DB is byte-identical.

Options: --limit N keeps the first N packages (in source order), for fast
tests; --stats-file F also writes "PACKAGES KEYS BYTES" to F; --prefix
changes the "package/" prefix; --delimiter changes the byte between NAME
and FIELD (default "/").
"""

import argparse
import subprocess
import sys


def parse_stanzas(data: bytes):
    """Yield lists of (field_name, value) byte pairs, one list per stanza."""
    stanza = []
    name = None
    value_lines = None

    def finish_field():
        if name is not None:
            stanza.append((name, b"\n".join(value_lines)))

    for raw in data.split(b"\n"):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if not line.strip():
            # Blank line: end of stanza.
            finish_field()
            if stanza:
                yield stanza
            stanza, name, value_lines = [], None, None
            continue
        if line[:1] in (b" ", b"\t"):
            if name is None:
                raise ValueError("continuation line without a field: %r" % line[:80])
            value_lines.append(line)
            continue
        if line.startswith(b"#") and name is None and not stanza:
            continue  # deb822 comment before a stanza
        colon = line.find(b":")
        if colon <= 0:
            raise ValueError("not a deb822 field line: %r" % line[:80])
        finish_field()
        name = line[:colon]
        value_lines = [line[colon + 1:].lstrip(b" \t")]
    finish_field()
    if stanza:
        yield stanza


def tsv_escape(data: bytes) -> bytes:
    """The TSV field escaping of `rocksfs dump --format tsv` (kv/record_codec.h)."""
    named = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"}
    out = []
    for ch in data.decode("utf-8", errors="surrogateescape"):
        code = ord(ch)
        if ch in named:
            out.append(named[ch])
        elif 0xDC80 <= code <= 0xDCFF:  # a byte of invalid UTF-8
            out.append("\\x%02X" % (code - 0xDC00))
        elif code < 0x20 or code == 0x7F:
            out.append("\\x%02X" % code)
        else:
            out.append(ch)
    return "".join(out).encode("utf-8")


def read_source(path):
    if path is None:
        proc = subprocess.run(["apt-cache", "dumpavail"], stdout=subprocess.PIPE, check=True)
        return proc.stdout
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", help="deb822 file to read instead of `apt-cache dumpavail` ('-' = stdin)")
    ap.add_argument("--limit", type=int, default=None, help="keep only the first N packages")
    ap.add_argument("--prefix", default="package/", help="key prefix (default: package/)")
    ap.add_argument("--delimiter", default="/", help="byte between package name and field (default: /)")
    ap.add_argument("--output", default="-", help="output file (default: stdout)")
    ap.add_argument("--format", choices=("ldb", "tsv"), default="ldb",
                    help="ldb: `ldb load --hex` lines (default); tsv: `rocksfs load --format tsv` lines")
    ap.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    ap.add_argument("--stats-file", help="also write 'PACKAGES KEYS BYTES' to this file")
    args = ap.parse_args(argv)
    if args.limit is not None and args.limit < 0:
        ap.error("--limit must be >= 0")

    prefix = args.prefix.encode()
    delim = args.delimiter.encode()
    data = read_source(args.input)

    pairs = {}
    packages = 0
    duplicates = 0
    seen = set()
    for stanza in parse_stanzas(data):
        if args.limit is not None and packages >= args.limit:
            break
        pkg = next((v for k, v in stanza if k == b"Package"), None)
        if not pkg:
            raise ValueError("stanza without a Package field: %r" % (stanza[:2],))
        if pkg in seen:
            duplicates += 1
            continue
        seen.add(pkg)
        packages += 1
        for field, value in stanza:
            key = prefix + pkg + delim + field
            if key in pairs:
                # A field repeated within a stanza is invalid deb822; keep the first.
                duplicates += 1
                continue
            pairs[key] = value

    out = sys.stdout.buffer if args.output == "-" else open(args.output, "wb")
    total = 0
    try:
        buf = []
        for key in sorted(pairs):
            value = pairs[key]
            total += len(key) + len(value)
            if args.format == "tsv":
                buf.append(tsv_escape(key) + b"\t" + tsv_escape(value) + b"\n")
            else:
                buf.append(b"0x" + key.hex().encode() + b" ==> 0x" + value.hex().encode() + b"\n")
            if len(buf) >= 4096:
                out.writelines(buf)
                buf.clear()
        out.writelines(buf)
        out.flush()
    finally:
        if out is not sys.stdout.buffer:
            out.close()
    if args.stats_file:
        with open(args.stats_file, "w") as f:
            f.write("%d %d %d\n" % (packages, len(pairs), total))
    if not args.quiet:
        print("package_index_to_ldb: %d packages, %d keys, %.1f MiB of keys+values%s"
              % (packages, len(pairs), total / 1048576.0,
                 (", %d duplicates skipped" % duplicates) if duplicates else ""),
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(1)
    except (ValueError, OSError, subprocess.CalledProcessError) as e:
        print("package_index_to_ldb: error: %s" % e, file=sys.stderr)
        sys.exit(1)
