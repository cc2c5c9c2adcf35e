#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Detach and attach between execd instances, and disaster recovery from the object store alone
(issue 21; docs/remote-storage.md "Detach and attach", "Generations", "Fetching"), against a real
Ceph radosgw (tests/common/radosgw.py: one cluster start for the file; skipped, exit 77, where it
cannot start) and real PostgreSQL 15 servers.

1. Detach and attach: execd #1 streams a server and uploads; `tenant detach` on #1 removes the
   local copy; `tenant attach` on #2 (another state directory, as a second machine) resumes
   streaming from the slot with no gap: after more pgbench, `wal list` on #2 is one contiguous
   range (remote and local segments) and `timeline verify` passes. Attaching on #1 while #2
   holds the tenant is refused ("attached elsewhere").
2. Disaster recovery: execd #3 streams, uploads and takes a base backup; it is killed with
   SIGKILL, its state directory destroyed and the source server with its data directory too.
   #2 refuses the tenant without --force (it is attached to #3), takes it with --force, and
   `execctl restore` rebuilds the database from the object store alone: started with pg_ctl and
   checked by row counts.
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from execd_harness import (EXECCTL, PG_BINDIR, Daemon, PgCluster, as_postgres, execctl,
                           pg_require, skip, wait_until)
from radosgw import Radosgw

if not EXECCTL:
    skip("EXECCTL is not set (run through make check)")
pg_require()
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
BUCKET = "execd-attach"


def ensure_group():
    """Group execd with postgres in it: what a restore_command needs (docs/restore.md)."""
    subprocess.run(["groupadd", "-f", "-r", "execd"], check=True)
    subprocess.run(["usermod", "-a", "-G", "execd", "postgres"], check=True)


def create_bucket(rgw):
    """PUT the bucket with curl's own SigV4 (radosgw wants x-amz-content-sha256)."""
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                        "--aws-sigv4", "aws:amz:%s:s3" % rgw.region,
                        "--user", "%s:%s" % (rgw.access_key, rgw.secret_key),
                        "-H", "x-amz-content-sha256: " + EMPTY_SHA256,
                        "%s/%s" % (rgw.endpoint, BUCKET)],
                       capture_output=True, text=True, timeout=60)
    if p.stdout.strip() not in ("200", "409"):
        raise AssertionError("cannot create bucket: %s %s" % (p.stdout, p.stderr))


class Node:
    """One execd with a state directory of its own: one machine."""

    def __init__(self, base, name):
        self.tmp = os.path.join(base, name)
        os.makedirs(self.tmp)
        self.daemon = Daemon(tmpdir=self.tmp, config="/dev/null")
        self.daemon.start()

    def ctl(self, *args):
        return execctl(*args, socket_path=self.daemon.socket)

    def ok(self, *args):
        rc, out, err = self.ctl(*args)
        if rc != 0:
            raise AssertionError("execctl %s: exit %d\n%s%s\n%s" % (" ".join(args), rc, out, err,
                                                                  self.daemon.read_log()))
        return out

    def json(self, *args):
        return json.loads(self.ok("--json", *args))

    def stop(self, sig=signal.SIGTERM):
        if self.daemon.proc and self.daemon.proc.poll() is None:
            rc = self.daemon.stop(sig)
            if sig == signal.SIGTERM and rc != 0:
                raise AssertionError("execd exited %d:\n%s" % (rc, self.daemon.read_log()))


class TestAttach(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ensure_group()
        cls.tmp = tempfile.mkdtemp(prefix="execd-attach-")
        os.chmod(cls.tmp, 0o755)
        cls.nodes, cls.servers = [], []
        cls.rgw = Radosgw()
        try:
            cls.rgw.start()
            create_bucket(cls.rgw)
            cls.creds = os.path.join(cls.tmp, "credentials")
            with open(os.open(cls.creds, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write("access_key_id = %s\nsecret_access_key = %s\n"
                        % (cls.rgw.access_key, cls.rgw.secret_key))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            for n in cls.nodes:
                if n.daemon.proc and n.daemon.proc.poll() is None:
                    n.daemon.stop()
                n.daemon.close()
            for s in cls.servers:
                s.stop("immediate")
        finally:
            cls.rgw.stop()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def node(self, name):
        n = Node(self.tmp, name)
        self.nodes.append(n)
        return n

    def server(self, name, port):
        s = PgCluster(os.path.join(self.tmp, name), port).init()
        self.servers.append(s)
        return s.start()

    def remote(self, prefix):
        return ["--remote-endpoint", self.rgw.endpoint, "--remote-bucket", BUCKET,
                "--remote-region", self.rgw.region, "--remote-prefix", prefix,
                "--remote-credentials", self.creds]

    def stream(self, node, src, prefix):
        tenant = node.ok("tenant", "create", *self.remote(prefix)).strip()
        tl = node.ok("timeline", "create", "--tenant", tenant, "--source", src.conninfo,
                     "--slot", "execd_attach", "--create-slot").strip()
        return tenant, tl

    @staticmethod
    def flush(node, src, tl):
        lsn = src.psql("select pg_current_wal_lsn()")
        node.ok("timeline", "wait-lsn", tl, "--lsn", lsn, "--timeout", "120")
        return lsn

    @staticmethod
    def pgbench(src, *args):
        p = subprocess.run([os.path.join(PG_BINDIR, "pgbench"), "-h", src.dir, "-p",
                            str(src.port), "-U", "postgres"] + list(args) + ["postgres"],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise AssertionError("pgbench %s: %s" % (args, p.stderr))

    @staticmethod
    def remote_flush(node, tl):
        """The timeline's remote flush position as timeline show reports it (0 if none)."""
        t = node.json("timeline", "show", tl)["timeline"]
        lsn = (t.get("remote") or {}).get("flush_lsn")
        return TestAttach.lsn_int(lsn) if lsn else 0

    @staticmethod
    def lsn_int(lsn):
        hi, lo = lsn.split("/")
        return (int(hi, 16) << 32) | int(lo, 16)

    def test_1_detach_then_attach_elsewhere(self):
        n1, n2 = self.node("execd1"), self.node("execd2")
        src = self.server("src1", 5631)
        tenant, tl = self.stream(n1, src, "attach")
        self.pgbench(src, "-i", "-s", "2")
        src.psql("select pg_switch_wal()")
        self.pgbench(src, "-t", "300", "-c", "2")
        self.flush(n1, src, tl)
        before = n1.json("wal", "list", tl)["wal"]

        out = n1.ok("tenant", "detach", tenant)
        self.assertIn("Detached tenant", out)
        self.assertEqual(n1.json("tenant", "list")["tenants"], [])
        self.assertEqual(glob.glob(os.path.join(n1.daemon.state, "tenants", tenant + "*")), [])

        res = n2.json("tenant", "attach", tenant, *self.remote("attach"))
        self.assertEqual(res["tenant"], tenant)
        self.assertEqual(len(res["timelines"]), 1)
        att = res["timelines"][0]
        self.assertEqual(att["id"], tl)
        self.assertIsNone(att["gap"])
        # the detach uploaded the open segment up to the flush LSN; attach put it into wal/ and
        # resumes exactly there
        self.assertTrue(att["partial_fetched"], att)
        self.assertEqual(att["resume_lsn"], att["remote_flush_lsn"])
        self.assertGreaterEqual(self.lsn_int(att["remote_flush_lsn"]),
                                self.lsn_int(before["flush_lsn"]))
        # a segment that is remote only is served by wal get (restore_command) from the bucket
        oldest = before["pg_timelines"][0]
        seg = "%08X%08X%08X" % (oldest["pg_timeline"], self.lsn_int(oldest["oldest_lsn"]) >> 32,
                                (self.lsn_int(oldest["oldest_lsn"]) & 0xFFFFFFFF) >> 24)
        got = os.path.join(self.tmp, "fetched-" + seg)
        n2.ok("wal", "get", tl, seg, got)
        self.assertEqual(os.path.getsize(got), 16 << 20)
        # restorable at once, before anything streamed on #2: the same range as on #1
        wl = n2.json("wal", "list", tl)["wal"]["pg_timelines"][0]
        self.assertEqual(wl["oldest_lsn"], before["pg_timelines"][0]["oldest_lsn"])
        self.assertEqual(wl["gaps"], [])

        # streaming resumes from the slot where #1 stopped: no gap
        self.pgbench(src, "-t", "300", "-c", "2")
        src.psql("select pg_switch_wal()")
        self.pgbench(src, "-t", "100", "-c", "1")
        end = self.flush(n2, src, tl)
        wl = n2.json("wal", "list", tl)["wal"]["pg_timelines"]
        self.assertEqual(len(wl), 1)
        self.assertEqual(wl[0]["gaps"], [], wl)
        self.assertEqual(wl[0]["oldest_lsn"], before["pg_timelines"][0]["oldest_lsn"])
        self.assertGreaterEqual(self.lsn_int(wl[0]["newest_lsn"]), self.lsn_int(end))
        v = n2.json("timeline", "verify", tl)["verify"]
        self.assertTrue(v["ok"], v)

        # a tenant that is not in the bucket (a wrong id or prefix) is not created there
        rc, out, err = n2.ctl("tenant", "attach", "0" * 31 + "1", *self.remote("attach"))
        self.assertEqual(rc, 3, out + err)
        self.assertIn("no tenant", err)

        # #2 holds the tenant: #1 may not take it back
        rc, out, err = n1.ctl("tenant", "attach", tenant, *self.remote("attach"))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("attached elsewhere", err)
        self.assertEqual(n1.json("tenant", "list")["tenants"], [])
        n1.stop()
        n2.stop()
        src.stop()

    def test_2_disaster_recovery(self):
        n3, n4 = self.node("execd3"), self.node("execd4")
        src = self.server("src2", 5632)
        tenant, tl = self.stream(n3, src, "dr")
        src.psql("create table t(i int); insert into t select generate_series(1, 1000)")
        n3.ok("backup", "create", tl, "--wait")
        src.psql("insert into t select generate_series(1, 500)")
        src.psql("select pg_switch_wal()")
        want = self.lsn_int(self.flush(n3, src, tl))
        wait_until(lambda: self.remote_flush(n3, tl) >= want,
                   "the uploads to reach the switch", n3.daemon)
        backups = n3.json("backup", "list", tl)["backups"]
        self.assertEqual(len(backups), 1)

        # the machine is lost: execd killed, its state directory and the source destroyed
        n3.stop(signal.SIGKILL)
        shutil.rmtree(n3.daemon.state)
        src.stop("immediate")
        shutil.rmtree(src.data)

        rc, out, err = n4.ctl("tenant", "attach", tenant, *self.remote("dr"))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("attached elsewhere", err)
        res = n4.json("tenant", "attach", tenant, *self.remote("dr"), "--force")
        self.assertEqual(res["timelines"][0]["id"], tl)
        self.assertGreaterEqual(self.lsn_int(res["timelines"][0]["remote_flush_lsn"]), want)

        d = os.path.join(self.tmp, "restored")
        os.makedirs(d)
        shutil.chown(d, "postgres")
        if as_postgres(["test", "-x", EXECCTL], check=False).returncode != 0:
            raise unittest.SkipTest("the postgres user cannot execute %s" % EXECCTL)
        p = as_postgres([EXECCTL, "--socket", n4.daemon.socket, "restore", tl, "--to", d,
                         "--latest"], check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + n4.daemon.read_log())
        pg = PgCluster(os.path.join(self.tmp, "run-restored"), 5633, data=d)
        self.servers.append(pg)
        pg.start()
        wait_until(lambda: pg.psql("select pg_is_in_recovery()") == "f",
                   "the restored server to promote")
        self.assertEqual(int(pg.psql("select count(*) from t")), 1500)
        pg.stop()
        n4.stop()


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
