"""Medians, the markdown table and the performance targets of scripts/bench.sh."""

import datetime
import json
import os
import statistics

# key, label, unit; units ending in "(lower is better)" are times and sizes.
WORKLOADS = [
    ("create_1t", "create+write+close 100 B, 1 writer thread ({n} files)", "files/s"),
    ("create_4t", "create+write+close 100 B, 4 writer threads ({n} files)", "files/s"),
    ("fsmark_1t", "fs_mark -s 100, 1 writer ({n10} files)", "files/s"),
    ("fsmark_4t", "fs_mark -s 100 -t 4, 4 writers ({n10} files)", "files/s"),
    ("create_4k", "create+write+close 4 KiB, 1 writer thread", "files/s"),
    ("create_dir", "create+write+close 100 B into one {lsdir}-entry dir", "files/s"),
    ("stat_first", "stat, first access after mount", "files/s"),
    ("stat_warm", "stat, warm", "files/s"),
    ("read100_first", "open+read+close 100 B, first access", "files/s"),
    ("read100_warm", "open+read+close 100 B, warm", "files/s"),
    ("read4k_first", "open+read+close 4 KiB, first access", "files/s"),
    ("read4k_warm", "open+read+close 4 KiB, warm", "files/s"),
    ("read100_ro_first", "open+read+close 100 B, ro mount, first access", "files/s"),
    ("read100_ro_warm", "open+read+close 100 B, ro mount, warm", "files/s"),
    ("lsl_first", "`ls -l` of {lsdir} entries, first access", "ms"),
    ("lsl_warm", "`ls -l` of {lsdir} entries, warm", "ms"),
    ("rootls_1m_first", "list root: {n} keys under {top} children, first", "ms"),
    ("rootls_1m_warm", "list root: {n} keys under {top} children, warm", "ms"),
    ("rootls_10k_first", "list root: {small} keys under {top} children, first", "ms"),
    ("rootls_10k_warm", "list root: {small} keys under {top} children, warm", "ms"),
    ("find_first", "`find -type f` of {n} files, first access", "ms"),
    ("find_warm", "`find -type f` of {n} files, warm", "ms"),
    ("readers4", "4 reader processes, random 100 B files", "files/s"),
    ("unlink", "unlink every file ({n})", "files/s"),
    ("rm_r", "`rm -r` of a {n}-file subtree", "files/s"),
    ("big_seqwrite", "{big} MiB file: sequential write 1 MiB (fio, end_fsync)", "MiB/s"),
    ("big_seqread", "{big} MiB file: sequential read 1 MiB (fio)", "MiB/s"),
    ("big_randread", "{big} MiB file: random read 4 KiB (fio)", "MiB/s"),
    ("big_randwrite", "{big} MiB file: random write 4 KiB (fio, end_fsync)", "MiB/s"),
    ("space", "space after loading {n} x 100 B (du)", "MB"),
]
LOWER_IS_BETTER = {"ms", "MB"}
ASYNC = {"release", "releasedir", "forget"}
TARGETS = ["ext4", "tmpfs", "direct", "floor", "peer", "rocksfs"]
# rocksfs is compared with these, in this order, in every row.
COMPARED = [("ext4", "ext4"), ("floor", "floor"), ("peer", "peer"), ("direct", "direct")]
# A cell with no figure: the workload does not apply to that target (the
# floor has no first access, no ro mount and no disk; the peer's space is
# ext4's; only rocksfs and the floor count their requests) or was not run.
DASH = "—"
# Per-file request targets allow this much above the bound: the lookups of the
# directories above the files, shared by the 1,000 files of a directory.
TOLERANCE = 0.01


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def per_op(samples, field="requests"):
    """The median over samples of each counter in sample[field] divided by the
    sample's ops: {"lookup": 1.0, ...}; None when no sample has counts."""
    counted = [x for x in samples if x.get(field) is not None and x.get("ops")]
    if not counted:
        return None
    kinds = sorted({k for x in counted for k in x[field]})
    return {k: _median([x[field].get(k, 0) / x["ops"] for x in counted]) for k in kinds}


def build(suite):
    """The JSON document: sizes, environment, samples and medians."""
    s = suite.size
    entries = {}
    for (workload, target), samples in suite.samples.items():
        e = entries.setdefault(workload, {})
        value = _median([x["value"] for x in samples])
        if workload == "space":
            value = value / 1e6
        e[target] = {"median": value, "samples": samples, "requests_per_op": per_op(samples),
                     "tool": samples[0].get("tool")}
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": "quick" if suite.args.quick else "full",
        "repetitions": s["reps"],
        "sizes": dict(s, n=suite.n, small=s["small_top"] * s["small_per"]),
        "cpus": os.cpu_count(),
        "cpu_placement": {
            "none": "unpinned: daemon, driver and tools share all %d vCPUs" % os.cpu_count(),
            "same": "pinned: daemon, driver and tools all on CPU 0 (taskset)",
            "split": "pinned: driver and tools on CPU 0, daemon on CPU 1 (taskset)",
        }[suite.args.pin],
        "load_start": suite.load_start,
        "load_end": suite.load_end,
        "elapsed_seconds": round(suite.elapsed, 1),
        "mount_options": suite.mount_options,
        "db_options": suite.db_options,
        "cf_options": suite.cf_options,
        "ram_backed": suite.ext4 is not None,
        "notes": suite.notes,
        "peer_skipped": suite.peer_skipped,
        "workloads": entries,
        "targets": evaluate(entries),
    }


def _fmt(v, unit=None):
    if v is None:
        return "n/a"
    if abs(v) >= 1e7:
        return "%.1e" % v
    if unit == "MB" or abs(v) >= 100:
        return "{:,.0f}".format(v)
    if abs(v) >= 10:
        return "%.1f" % v
    if abs(v) >= 1:
        return "%.2f" % v
    return "%.3f" % v


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def _req_summary(reqs):
    """"sync / all" per operation and the breakdown, from requests_per_op."""
    if reqs is None:
        return None, None, ""
    total = sum(v for k, v in reqs.items() if k != "forget")
    sync = sum(v for k, v in reqs.items() if k not in ASYNC)
    parts = ["%s %s" % (k.upper(), _fmt(v)) for k, v in sorted(reqs.items(), key=lambda kv: -kv[1])
             if v >= 0.0005]
    return sync, total, ", ".join(parts)


def _get(entries, workload, target):
    return entries.get(workload, {}).get(target, {})


def evaluate(entries):
    """Each target: name, MET/MISSED/n/a and the measured figures."""
    out = []

    def med(w, t):
        return _get(entries, w, t).get("median")

    def reqs(w):
        return _req_summary(_get(entries, w, "rocksfs").get("requests_per_op"))

    def at_least(w, target, bound, of_w=None):
        """rocksfs's median of w over target's (of of_w), and whether it is
        at least bound; (None, None) when either was not measured."""
        r = _ratio(med(w, "rocksfs"), med(of_w or w, target))
        return r, None if r is None else r >= bound

    def measured(w):
        return med(w, "rocksfs") is not None

    def every(*oks):
        """MISSED when one part is missed, n/a when one is not measured."""
        if any(ok is False for ok in oks):
            return False
        return None if any(ok is None for ok in oks) else True

    def add(name, ok, figures, partial=False):
        """partial: show the figures even when some are missing."""
        status = "n/a" if ok is None else ("MET" if ok else "MISSED")
        if ok is None and figures.count("n/a") >= 2 and not partial:
            figures = "not measured in this run"
        out.append({"target": name, "status": status, "measured": figures})

    def both(a, b):
        return None if a is None or b is None else (a and b)

    r = _ratio(med("read100_warm", "rocksfs"), med("read100_warm", "ext4"))
    sync, total, parts = reqs("read100_warm")
    add("warm open+read+close 100 B, rw: <= 1 sync request per open/close, >= 0.12x ext4",
        both(None if sync is None else sync <= 1.0 + TOLERANCE, None if r is None else r >= 0.12),
        "%s sync (%s all) req/op [%s]; %sx ext4 (%s vs %s files/s)" %
        (_fmt(sync), _fmt(total), parts, _fmt(r), _fmt(med("read100_warm", "rocksfs")),
         _fmt(med("read100_warm", "ext4"))))

    ext4_ro = med("read100_ro_warm", "ext4") or med("read100_warm", "ext4")
    r = _ratio(med("read100_ro_warm", "rocksfs"), ext4_ro)
    sync, total, parts = reqs("read100_ro_warm")
    add("warm open+read+close 100 B, ro: 0 requests, >= 0.67x ext4",
        both(None if total is None else total < 1e-3, None if r is None else r >= 0.67),
        "%s req/op [%s]; %sx ext4 (%s vs %s files/s)" %
        (_fmt(total), parts, _fmt(r), _fmt(med("read100_ro_warm", "rocksfs")), _fmt(ext4_ro)))

    r = _ratio(med("stat_warm", "rocksfs"), med("stat_warm", "ext4"))
    sync, total, parts = reqs("stat_warm")
    add("warm stat: 0 requests, >= 0.67x ext4",
        both(None if total is None else total < 1e-3, None if r is None else r >= 0.67),
        "%s req/op [%s]; %sx ext4 (%s vs %s stats/s)" %
        (_fmt(total), parts, _fmt(r), _fmt(med("stat_warm", "rocksfs")),
         _fmt(med("stat_warm", "ext4"))))

    for label, w in (("rw", "read100_first"), ("ro", "read100_ro_first")):
        sync, total, parts = reqs(w)
        add("first access after mount (%s mount): <= 2 requests per file read" % label,
            None if total is None else total <= 2.0 + TOLERANCE,
            "%s req/file (%s sync) [%s]" % (_fmt(total), _fmt(sync), parts))

    r = _ratio(med("create_1t", "rocksfs"), med("create_1t", "ext4"))
    sync, total, parts = reqs("create_1t")
    add("create 100 B files, 1 writer: <= 3 round trips per file, >= 0.35x ext4",
        both(None if sync is None else sync <= 3.0 + TOLERANCE, None if r is None else r >= 0.35),
        "%s sync (%s all) req/file [%s]; %sx ext4 (%s vs %s files/s)" %
        (_fmt(sync), _fmt(total), parts, _fmt(r), _fmt(med("create_1t", "rocksfs")),
         _fmt(med("create_1t", "ext4"))))

    r = _ratio(med("unlink", "rocksfs"), med("unlink", "ext4"))
    sync, total, parts = reqs("unlink")
    add("unlink: <= 2 round trips per file, >= 0.3x ext4",
        both(None if sync is None else sync <= 2.0 + TOLERANCE, None if r is None else r >= 0.3),
        "%s sync (%s all) req/file [%s]; %sx ext4 (%s vs %s files/s)" %
        (_fmt(sync), _fmt(total), parts, _fmt(r), _fmt(med("unlink", "rocksfs")),
         _fmt(med("unlink", "ext4"))))

    for which in ("first", "warm"):
        w = "lsl_" + which
        r = _ratio(med(w, "rocksfs"), med(w, "ext4"))
        sync, total, parts = reqs(w)
        add("`ls -l` of the big directory (%s): <= 3x ext4's time, no request per entry" % which,
            both(None if r is None else r <= 3.0, None if total is None else total <= 0.1),
            "%sx ext4's time (%s vs %s ms); %s req/entry [%s]" %
            (_fmt(r), _fmt(med(w, "rocksfs")), _fmt(med(w, "ext4")), _fmt(total), parts))

    big, small = med("rootls_1m_first", "rocksfs"), med("rootls_10k_first", "rocksfs")
    r = _ratio(big, small)
    add("root listing, large tree, first access: < 5 ms and <= 2x the small tree's",
        both(None if big is None else big < 5.0, None if r is None else r <= 2.0),
        "%s ms vs %s ms (%sx)" % (_fmt(big), _fmt(small), _fmt(r)))

    a, b = med("space", "rocksfs"), med("space", "ext4")
    r = _ratio(a, b)
    add("space for the 100 B files: <= 1/20 of ext4's",
        None if r is None else r <= 0.05,
        "%s MB vs %s MB (1/%s)" % (_fmt(a, "MB"), _fmt(b, "MB"),
                                   _fmt(1 / r) if r else "n/a"))

    r = _ratio(med("big_seqread", "rocksfs"), med("big_seqread", "ext4"))
    add("sequential read of the big file: >= 0.5x ext4",
        None if r is None else r >= 0.5,
        "%sx ext4 (%s vs %s MiB/s)" % (_fmt(r), _fmt(med("big_seqread", "rocksfs")),
                                       _fmt(med("big_seqread", "ext4"))))

    # Issue 13: every request at the FUSE floor.
    def times(r):
        return "n/a" if r is None else _fmt(r) + "x"

    def rates(w, targets):
        return ", ".join("%s %s" % (t, _fmt(med(w, t))) for t in ("rocksfs",) + targets)

    w = "create_1t"
    (rf, f), (rp, p), (re, e) = (at_least(w, "floor", 0.8), at_least(w, "peer", 2.0),
                                 at_least(w, "ext4", 0.3))
    add("create+write+close 100 B, 1 writer: >= 0.8x floor, >= 2x peer, >= 0.3x ext4",
        every(f, p, e), "%s floor, %s peer, %s ext4 (%s files/s)" %
        (times(rf), times(rp), times(re), rates(w, ("floor", "peer", "ext4"))),
        partial=measured(w))

    r, ok = at_least("create_4t", "rocksfs", 1.6, of_w="create_1t")
    add("create+write+close 100 B, 4 writers: >= 1.6x the 1-writer rate",
        ok, "%sx (%s vs %s files/s)" % (_fmt(r), _fmt(med("create_4t", "rocksfs")),
                                        _fmt(med("create_1t", "rocksfs"))))

    w = "unlink"
    (rf, f), (re, e) = at_least(w, "floor", 0.8), at_least(w, "ext4", 0.35)
    add("unlink: >= 0.8x floor, >= 0.35x ext4", every(f, e),
        "%s floor, %s ext4 (%s files/s)" % (times(rf), times(re), rates(w, ("floor", "ext4"))),
        partial=measured(w))

    w = "read100_warm"
    (rf, f), (re, e) = at_least(w, "floor", 0.8), at_least(w, "ext4", 0.35)
    add("warm open+read+close 100 B, rw: >= 0.8x floor, >= 0.35x ext4", every(f, e),
        "%s floor, %s ext4 (%s files/s)" % (times(rf), times(re), rates(w, ("floor", "ext4"))),
        partial=measured(w))
    return out


def save(out_dir, doc, text):
    """Writes a run's results.json (doc) and results.md (text, its markdown)
    into out_dir, and prints the markdown."""
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(text)
    print(text)


def markdown(doc):
    s = doc["sizes"]
    fmt = dict(n="{:,}".format(s["n"]), n10="{:,}".format(s["n"] // 10), top=s["top"], small="{:,}".format(s["small"]),
               lsdir="{:,}".format(s["lsdir"]), big=s["big_mib"])
    lines = []
    lines.append("rocksfs benchmark, %s mode, %s; median of %d repetition(s); %d vCPUs, %s." %
                 (doc["mode"], doc["date"], doc["repetitions"], doc["cpus"],
                  doc["cpu_placement"]))
    lines.append("Load average %s at the start, %s at the end; %s s in all. "
                 "ext4 and the databases on a RAM-backed ext4 image: %s. rocksfs -o %s." %
                 (doc["load_start"], doc["load_end"], doc["elapsed_seconds"],
                  "yes" if doc["ram_backed"] else "no", ",".join(doc["mount_options"])))
    for note in doc["notes"]:
        lines.append("Note: " + note + ".")
    peer_skipped = doc.get("peer_skipped")
    if peer_skipped:
        lines.append("The peer did not run: %s." % peer_skipped)
    lines.append("")
    lines.append("| workload | unit | ext4 | tmpfs | direct API | floor | peer | rocksfs | "
                 "rocksfs / ext4 | rocksfs / floor | rocksfs / peer | rocksfs / direct | "
                 "rocksfs FUSE req/op: sync (all) | floor FUSE req/op: sync (all) |")
    lines.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    details = []
    for key, label, unit in WORKLOADS:
        e = doc["workloads"].get(key)
        if not e:
            continue
        vals = {t: e.get(t, {}).get("median") for t in TARGETS}

        def cell(t):
            if t == "peer" and peer_skipped:
                return "skipped"
            return DASH if vals[t] is None else _fmt(vals[t], unit)

        def ratio(t):
            r = _ratio(vals["rocksfs"], vals[t])
            return DASH if r is None else _fmt(r)

        reqs = {t: e.get(t, {}).get("requests_per_op") for t in ("rocksfs", "floor")}
        summaries = {t: _req_summary(reqs[t]) for t in reqs}
        req = [DASH if summaries[t][0] is None else
               "%s (%s)" % (_fmt(summaries[t][0]), _fmt(summaries[t][1])) for t in reqs]
        shown_unit = unit + (" (lower is better)" if unit in LOWER_IS_BETTER else "")
        row = ([label.format(**fmt), shown_unit] + [cell(t) for t in TARGETS] +
               [ratio(t) for t, _ in COMPARED] + req)
        lines.append("| " + " | ".join(row) + " |")
        if summaries["rocksfs"][2] or summaries["floor"][2]:
            details.append("| %s | %s | %s |" % (label.format(**fmt),
                                                 summaries["rocksfs"][2] or DASH,
                                                 summaries["floor"][2] or DASH))
    lines.append("")
    lines.append("FUSE requests per operation on the rocksfs and floor mounts (from "
                 "/.rocksfs/stats; sync excludes RELEASE, RELEASEDIR and FORGET, which the "
                 "kernel does not wait for):")
    lines.append("")
    lines.append("| workload | rocksfs | floor |")
    lines.append("|---|---|---|")
    lines += details
    lines.append("")
    lines.append("| target | status | measured |")
    lines.append("|---|---|---|")
    for t in doc["targets"]:
        lines.append("| %s | %s | %s |" % (t["target"], t["status"], t["measured"]))
    lines.append("")
    return "\n".join(lines)
