"""Helpers for mounted tests on the etcd engine: a real 3-member etcd cluster
(scripts/etcd_cluster.sh) and etcdctl.

    with EtcdCluster() as cluster:
        cluster.etcdctl("put", "app/k", "v")
        with t.Mount(cluster.url, options=["prefix=app/"]) as m: ...
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import rocksfs_testlib as t


def etcd_problem():
    """Why etcd mounts cannot be tested here, or None if they can (the
    benchmark's check: scripts/bench/engines.py)."""
    sys.path.insert(0, os.path.join(t.source_dir(), "scripts", "bench"))
    import engines
    return engines.etcd_problem(t.build_dir())


def require_etcd():
    """Exit 77 (ctest's SKIP_RETURN_CODE) with "SKIP: reason" when etcd tests cannot run."""
    reason = etcd_problem() or t.fuse_problem()
    if reason:
        print("SKIP: %s" % reason, file=sys.stderr)
        sys.exit(t.SKIP_EXIT_CODE)


def skip_unless_etcd():
    """In setUpModule: skips the module's tests (unittest.SkipTest) with the
    reason when FUSE, the mount binary or the etcd engine is missing."""
    t.skip_unless_fuse()
    t.mount_binary()
    reason = etcd_problem()
    if reason:
        raise unittest.SkipTest(reason)


# Seconds within which a mount's cached names and attributes reflect another
# mount's change (the README's bound: the watch, backed by 1 s timeouts).
BOUND = 1.0


def seen_within(condition, within=BOUND):
    """Seconds until condition() holds, polled; AssertionError past `within`."""
    start = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - start
        if time.monotonic() - start > within:
            raise AssertionError("not seen within %.1f s" % within)
        time.sleep(0.002)


class EtcdCluster:
    """Three etcd members on free 127.0.0.1 ports, started and stopped by
    scripts/etcd_cluster.sh (which kills only the PIDs it recorded)."""

    def __init__(self, flags=()):
        self.dir = tempfile.mkdtemp(prefix="rocksfs-etcd-", dir="/tmp")
        self.script = os.path.join(t.source_dir(), "scripts", "etcd_cluster.sh")
        self.flags = list(flags)
        self.endpoints = None

    @property
    def url(self):
        return "etcd://" + self.endpoints

    def start(self):
        proc = t.run(["bash", self.script, "start", self.dir, *self.flags], timeout=60)
        self.endpoints = proc.stdout.decode().strip()
        return self

    def stop(self):
        t.run(["bash", self.script, "stop", self.dir], check=False, timeout=60)

    def kill(self, member):
        t.run(["bash", self.script, "kill", self.dir, str(member)], timeout=60)

    def pause(self, member):
        """SIGSTOPs the member: it hangs with its connections open (kill
        and restart it afterwards)."""
        with open(os.path.join(self.dir, "m%d.pid" % member)) as f:
            os.kill(int(f.read()), signal.SIGSTOP)

    def restart(self, member):
        t.run(["bash", self.script, "restart", self.dir, str(member)], timeout=60)

    def etcdctl(self, *args, input=None, check=True, endpoints=None):
        """Runs etcdctl against the cluster (or the given "H:P,..." of some
        of its members); returns its stdout (bytes)."""
        env = dict(os.environ, ETCDCTL_API="3")
        proc = subprocess.run(["etcdctl", "--endpoints", endpoints or self.endpoints, *args],
                              input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, timeout=60)
        if check and proc.returncode != 0:
            raise RuntimeError("etcdctl %s failed: %s" % (" ".join(args), proc.stderr.decode()))
        return proc.stdout

    def keys(self, prefix):
        """Every key under prefix, with the prefix, as bytes (etcdctl's hex
        output, so any byte survives)."""
        out = self.etcdctl("get", "--prefix", prefix, "--keys-only", "--hex")
        keys = []
        for line in out.split(b"\n"):
            if line.strip():
                keys.append(bytes.fromhex(line.decode().replace("\\x", "")))
        return keys

    def values(self, prefix):
        """Every key under prefix (with the prefix) and its value, as bytes
        (etcdctl's JSON output, base64 inside, so any byte survives)."""
        out = json.loads(self.etcdctl("get", "--prefix", prefix, "-w", "json"))
        return {base64.b64decode(kv["key"]): base64.b64decode(kv.get("value", ""))
                for kv in out.get("kvs", [])}

    def __enter__(self):
        return self.start()

    def close(self):
        """Stops the members and removes their data (kept with ROCKSFS_KEEP_LOGS)."""
        self.stop()
        if not os.environ.get("ROCKSFS_KEEP_LOGS"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __exit__(self, *exc):
        self.close()
        return False
