# SPDX-License-Identifier: MIT
"""Base backups and point-in-time restore from a timeline, with a real PostgreSQL 15 (issue 16):
restores to an LSN, to a time and to the latest point, each started with pg_ctl and checked by
row counts, after the source's data directory is destroyed; restore_command run as the postgres
user in group execd; the restored directory passes pg_verifybackup; targets outside the
timeline are refused; a backup cancelled midway and SIGTERM during a backup leave nothing
listed as complete; retention with small limits keeps what the kept backup needs."""
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from execd_harness import (EXECCTL, PG_BINDIR, Daemon, PgCluster, as_postgres, execctl,
                           pg_require, skip, wait_until)

if not EXECCTL:
    skip("EXECCTL is not set (run through make check)")
pg_require()


def ensure_group():
    """Group execd with postgres in it: what a restore_command needs (docs/restore.md)."""
    subprocess.run(["groupadd", "-f", "-r", "execd"], check=True)
    subprocess.run(["usermod", "-a", "-G", "execd", "postgres"], check=True)


def has_wal_get():
    """`execctl wal get` (another part of issue 16) may not be in this build yet."""
    rc, _, _ = execctl("wal", "get", "--help")
    return rc == 0


class Env:
    """A source server, an execd following it, helpers to run execctl and restore."""

    def __init__(self, base, port, daemon_args=(), daemon_env=None):
        self.base = base
        self.daemon_env = daemon_env
        self.daemon = None
        self.src = PgCluster(os.path.join(base, "src"), port)
        self.daemon_args = list(daemon_args)
        self.port = port
        self.src.init().start()
        self.start_daemon()
        self.tenant = self.ok("tenant", "create").strip()
        self.tl = self.ok("timeline", "create", "--tenant", self.tenant, "--source",
                          self.src.conninfo, "--slot", "execd_test", "--create-slot").strip()

    def start_daemon(self, extra=()):
        tmp = os.path.join(self.base, "execd")
        os.makedirs(tmp, exist_ok=True)
        self.daemon = Daemon(tmpdir=tmp, config="/dev/null", env=self.daemon_env,
                             extra_args=self.daemon_args + list(extra))
        self.daemon.start()

    def ctl(self, *args, prefix=()):
        return execctl(*args, socket_path=self.daemon.socket, prefix=prefix)

    def ok(self, *args):
        rc, out, err = self.ctl(*args)
        if rc != 0:
            raise AssertionError("execctl %s: exit %d\n%s%s\n%s" % (" ".join(args), rc, out, err,
                                                                  self.daemon.read_log()))
        return out

    def json(self, *args):
        return json.loads(self.ok("--json", *args))

    def json_rc(self, *args):
        """--json output whatever the exit status (timeline verify exits 1 on a finding)."""
        _, out, _ = self.ctl("--json", *args)
        return json.loads(out)

    def backups(self):
        return self.json("backup", "list", self.tl)["backups"]

    def tldir(self):
        return glob.glob(os.path.join(self.daemon.state, "tenants", "*", "timelines",
                                      self.tl + "*"))[0]

    def flush(self):
        """Wait until execd has flushed everything the source has written."""
        lsn = self.src.psql("select pg_current_wal_lsn()")
        self.ok("timeline", "wait-lsn", self.tl, "--lsn", lsn, "--timeout", "60")
        return lsn

    def restore(self, name, *target):
        """execctl restore as postgres (in group execd) into a new directory; returns it."""
        if as_postgres(["test", "-x", EXECCTL], check=False).returncode != 0:
            # restore_command runs this execctl as postgres too: no fallback as root helps
            raise unittest.SkipTest("the postgres user cannot execute %s (a build under a "
                                    "directory it cannot enter, e.g. a 0700 mktemp dir); "
                                    "build in a world-readable checkout" % EXECCTL)
        d = os.path.join(self.base, name)
        os.makedirs(d)
        shutil.chown(d, "postgres")
        p = as_postgres([EXECCTL, "--socket", self.daemon.socket, "restore", self.tl, "--to", d]
                        + list(target), check=False)
        if p.returncode != 0:
            raise AssertionError("restore %r: %s%s" % (target, p.stdout, p.stderr))
        if not has_wal_get():
            self.fallback_restore_command(d)
        return d

    def fallback_restore_command(self, d):
        """Without `execctl wal get` in this build: a snapshot of the timeline's WAL that
        postgres can read, and a cp in its place (the .partial as the segment, as wal get
        serves it)."""
        snap = os.path.join(self.base, "walsnap-" + os.path.basename(d))
        shutil.copytree(os.path.join(self.tldir(), "wal"), snap)
        subprocess.run(["chown", "-R", "postgres", snap], check=True)
        with open(os.path.join(d, "postgresql.auto.conf"), "a") as f:
            f.write("restore_command = 'cp %s/%%f %%p 2>/dev/null || cp %s/%%f.partial %%p'\n"
                    % (snap, snap))

    def count_restored(self, d, port):
        """Start the restored directory with pg_ctl, count the rows, stop it."""
        pg = PgCluster(os.path.join(self.base, "run-" + os.path.basename(d)), port, data=d)
        pg.start()
        try:
            wait_until(lambda: pg.psql("select pg_is_in_recovery()") == "f",
                       "the restored server to promote")
            return int(pg.psql("select count(*) from t"))
        finally:
            pg.stop()

    def close(self):
        try:
            if self.daemon and self.daemon.proc:
                rc = self.daemon.stop()
                self.daemon.close()
                self.daemon = None
                if rc != 0:
                    raise AssertionError("execd exited %d" % rc)
        finally:
            self.src.stop("immediate")


def setup_env(cls, port, prepare, daemon_args=(), daemon_env=None):
    """cls.tmp and cls.env, prepared by @prepare(env); everything is stopped on a failure."""
    ensure_group()
    cls.tmp = tempfile.mkdtemp(prefix="execd-backup-")
    os.chmod(cls.tmp, 0o755)
    cls.env = None
    try:
        cls.env = Env(cls.tmp, port, daemon_args, daemon_env)
        prepare(cls.env)
    except BaseException:
        teardown_env(cls)
        raise


def teardown_env(cls):
    try:
        if cls.env:
            cls.env.close()
        else:
            PgCluster(os.path.join(cls.tmp, "src"), 0).stop("immediate")
    finally:
        shutil.rmtree(cls.tmp, ignore_errors=True)


class TestRestore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        setup_env(cls, 5611, cls.prepare)

    @classmethod
    def prepare(cls, e):
        src = e.src
        src.psql("create table t(i int); insert into t select generate_series(1, 100)")
        cls.backup = e.ok("backup", "create", e.tl, "--wait").strip()
        src.psql("insert into t select generate_series(1, 100)")
        cls.lsn = src.psql("select pg_current_wal_lsn()")
        cls.time = src.psql("select clock_timestamp()")
        src.psql("insert into t select generate_series(1, 100)")
        src.psql("select pg_switch_wal()")
        src.psql("insert into t select generate_series(1, 100)")  # in the open segment
        e.flush()
        # the source is gone: everything below comes from execd alone
        src.stop("immediate")
        shutil.rmtree(src.data)

    @classmethod
    def tearDownClass(cls):
        teardown_env(cls)

    def test_backup_listed_complete(self):
        b = [x for x in self.env.backups() if x["id"] == self.backup]
        self.assertEqual(len(b), 1)
        self.assertEqual(b[0]["state"], "complete")
        self.assertTrue(b[0]["start_lsn"] and b[0]["end_lsn"] and b[0]["bytes"] > 0)

    def test_restore_to_lsn(self):
        d = self.env.restore("to-lsn", "--lsn", self.lsn)
        self.assertEqual(self.env.count_restored(d, 5612), 200)

    def test_restore_to_time(self):
        d = self.env.restore("to-time", "--time", self.time)
        self.assertEqual(self.env.count_restored(d, 5613), 200)

    def test_restore_latest_verifies(self):
        d = self.env.restore("latest", "--latest")
        p = as_postgres([os.path.join(PG_BINDIR, "pg_verifybackup"), "-n", d], check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # rows flushed by execd just before, from the open (.partial) segment, are there
        self.assertEqual(self.env.count_restored(d, 5614), 400)

    def test_targets_outside_refused(self):
        for target, words in ((("--lsn", "0/10"), "before the oldest base backup"),
                              (("--lsn", "FFFF/0"), "after the timeline's flushed LSN"),
                              (("--time", "2001-01-01 00:00:00Z"), "before the oldest"),
                              (("--backup", "nosuch"), "no complete backup")):
            d = os.path.join(self.tmp, "refused")
            rc, out, err = self.env.ctl("restore", self.env.tl, "--to", d, *target)
            self.assertNotEqual(rc, 0, target)
            self.assertIn(words, err)
            self.assertEqual(os.listdir(d), [], "a refused restore writes nothing")
            os.rmdir(d)

    def test_verify_checks_backups_against_manifests(self):
        """timeline verify: the WAL from the backup, and each backup against its manifest;
        a copy of the backup with a damaged manifest, then with a file's checksum changed
        (the manifest's SHA-256 recomputed), is reported with the file, exit 1."""
        e = self.env
        v = e.json("timeline", "verify", e.tl)["verify"]
        self.assertTrue(v["ok"], v)
        self.assertEqual(v["from"], "oldest_backup")
        self.assertEqual([b["id"] for b in v["backups"]], [self.backup])
        self.assertTrue(v["backups"][0]["ok"] and v["backups"][0]["files"] > 100, v)
        self.assertIsNone(v["backup_problem"])
        show = e.json("timeline", "show", e.tl)["timeline"]
        self.assertEqual(show["backups"], 1)
        self.assertGreater(show["backup_bytes"], 0)
        self.assertEqual(show["total_bytes_on_disk"],
                         show["bytes_on_disk"] + show["backup_bytes"])
        bdir = os.path.join(e.tldir(), "backups")
        copy = os.path.join(bdir, "20000101T000000Z")
        shutil.copytree(os.path.join(bdir, self.backup), copy)
        try:
            man = os.path.join(copy, "backup_manifest")
            with open(man, "rb") as f:
                text = f.read()
            with open(man, "wb") as f:  # one byte of a path changed, the checksum line not
                f.write(text.replace(b'"Path": "PG_VERSION"', b'"Path": "PG_VERSIOM"', 1))
            rc, out, _ = e.ctl("timeline", "verify", e.tl)
            self.assertEqual(rc, 1, out)
            self.assertIn("20000101T000000Z BAD: backup_manifest", out)
            # a file's CRC-32C changed in a manifest whose own SHA-256 is made to match
            m = json.loads(text)
            entry = next(x for x in m["Files"] if x["Path"] == "PG_VERSION")
            wrong = "%08x" % (int(entry["Checksum"], 16) ^ 1)
            body = text[:text.rindex(b"\n", 0, len(text) - 1) + 1]
            body = body.replace(('"Checksum": "%s"' % entry["Checksum"]).encode(),
                                ('"Checksum": "%s"' % wrong).encode(), 1)
            with open(man, "wb") as f:
                f.write(body + b'"Manifest-Checksum": "%s"}\n'
                        % hashlib.sha256(body).hexdigest().encode())
            v = e.json_rc("timeline", "verify", e.tl)["verify"]
            self.assertFalse(v["ok"])
            self.assertEqual(v["backup_problem"]["id"], "20000101T000000Z")
            self.assertEqual(v["backup_problem"]["file"], "PG_VERSION")
            self.assertIn("CRC-32C", v["backup_problem"]["problem"])
            self.assertTrue([b for b in v["backups"] if b["id"] == self.backup][0]["ok"])
        finally:
            shutil.rmtree(copy)


class TestBackupLifecycle(unittest.TestCase):
    """Cancellation, SIGTERM, and retention with small limits, on one server and daemon."""

    @classmethod
    def setUpClass(cls):
        # some 16 MB of data: at 32 kB/s the backup is still streaming when it is stopped
        setup_env(cls, 5621, lambda e: subprocess.run(
            [os.path.join(PG_BINDIR, "pgbench"), "-i", "-q", "-s", "1", "-h", e.src.dir,
             "-p", "5621", "-U", "postgres", "postgres"], check=True, capture_output=True))

    @classmethod
    def tearDownClass(cls):
        teardown_env(cls)

    def tmp_dirs(self):
        return glob.glob(os.path.join(self.env.tldir(), "backups", ".tmp-*"))

    def start_slow_backup(self):
        """A backup that streams at 32 kB/s; returns once its tar has bytes on disk."""
        bid = self.env.ok("backup", "create", self.env.tl, "--max-rate", "32").strip()
        tar = os.path.join(self.env.tldir(), "backups", ".tmp-" + bid, "base.tar.zst")
        wait_until(lambda: os.path.exists(tar) and os.path.getsize(tar) > 0,
                   "the backup to stream", self.env.daemon)
        tasks = self.env.json("list", "--kind", "basebackup")["tasks"]
        self.assertEqual(len(tasks), 1)
        return bid, tasks[0]["id"]

    def complete(self):
        return [b for b in self.env.backups() if b["state"] == "complete"]

    def test_1_cancel_midway(self):
        bid, task = self.start_slow_backup()
        self.assertEqual([b["state"] for b in self.env.backups()], ["running"])
        self.env.ok("cancel", str(task))
        wait_until(lambda: not self.env.json("list", "--kind", "basebackup")["tasks"],
                   "the backup task to end", self.env.daemon)
        self.assertEqual(self.env.backups(), [])
        self.assertEqual(self.tmp_dirs(), [], "a cancelled backup leaves no files")

    def test_2_sigterm_midway(self):
        self.start_slow_backup()
        self.assertEqual(self.env.daemon.stop(), 0)
        self.env.daemon.close()
        self.env.start_daemon()
        self.assertEqual(self.complete(), [])
        self.assertEqual(self.tmp_dirs(), [])

    def test_2b_crash_midway(self):
        """kill -9 leaves the temporary directory; the next start removes it."""
        self.start_slow_backup()
        self.assertEqual(len(self.tmp_dirs()), 1)
        self.env.daemon.stop(signal.SIGKILL)
        self.env.daemon.close()
        self.env.start_daemon()
        self.assertEqual(self.complete(), [])
        wait_until(lambda: not self.tmp_dirs(), "the leftover to be removed at start",
                   self.env.daemon)

    def test_3_retention_keeps_the_backup_restorable(self):
        env = self.env
        env.daemon.stop()
        env.daemon.close()
        env.start_daemon(["--keep-backups", "1", "--wal-retention-bytes", "1"])
        src = env.src
        src.psql("create table t(i int); insert into t select generate_series(1, 10)")
        first = env.ok("backup", "create", env.tl, "--wait").strip()
        for _ in range(3):
            src.psql("insert into t select generate_series(1, 10); select pg_switch_wal()")
        second = env.ok("backup", "create", env.tl, "--wait").strip()
        self.assertEqual([b["id"] for b in self.complete()], [second], "--keep-backups 1")
        src.psql("insert into t select generate_series(1, 10); select pg_switch_wal()")
        src.psql("insert into t select generate_series(1, 10)")
        env.flush()
        # the 1-byte limit wants every complete segment gone; the backup's stay, reported
        wait_until(lambda: env.json("timeline", "show", env.tl)["timeline"]["retention_held"],
                   "retention to report WAL held for the backup", env.daemon)
        d = env.restore("retained", "--latest")
        self.assertEqual(env.count_restored(d, 5622), 60)
        self.assertNotEqual(first, second)


class TestBackupCommitPoint(unittest.TestCase):
    """Cancelled, or SIGTERM, at the last moment: the whole backup is written (backup.json
    too) but not yet renamed into place; the write is held there (EXECD_FAULT_HOLD_WRITE,
    daemon/fault.h) while the test acts, so nothing depends on timing."""

    @classmethod
    def setUpClass(cls):
        cls.fault = tempfile.mkdtemp(prefix="execd-bbfault-")
        setup_env(cls, 5641, lambda e: e.src.psql("create table t(i int)"),
                  daemon_env={"EXECD_FAULT_HOLD_WRITE": cls.fault})

    @classmethod
    def tearDownClass(cls):
        try:
            teardown_env(cls)
        finally:
            shutil.rmtree(cls.fault, ignore_errors=True)

    def hold_backup(self):
        """Start a backup; return once its task is held with backup.json written."""
        reached = os.path.join(self.fault, "reached")
        os.mkfifo(reached)
        os.mkfifo(os.path.join(self.fault, "release"))
        self.env.ok("backup", "create", self.env.tl)

        def stuck(*_):
            raise AssertionError("the backup never reached its commit point:\n"
                                 + self.env.daemon.read_log())
        old = signal.signal(signal.SIGALRM, stuck)
        signal.alarm(120)  # a bound on a blocking open, not a synchronisation
        try:
            while True:  # other crash-safe writes may pass the hold point first: let them go
                with open(reached) as f:  # blocks until a write is held
                    name = f.read().strip()
                if name == "backup.json":
                    break
                self.release()
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        os.unlink(reached)  # later writes pass

    def release(self):
        with open(os.path.join(self.fault, "release"), "w"):
            pass

    def tearDown(self):
        """After a failure, let any write held (or about to be) go on: without the release
        FIFO it does not wait, and a reader of "reached" lets a blocked writer past."""
        release, reached = (os.path.join(self.fault, n) for n in ("release", "reached"))
        if os.path.exists(release):
            os.unlink(release)
        if os.path.exists(reached):
            fd = os.open(reached, os.O_RDONLY | os.O_NONBLOCK)
            os.close(fd)
            os.unlink(reached)

    def leftovers(self):
        return glob.glob(os.path.join(self.env.tldir(), "backups", ".tmp-*"))

    def test_1_cancel_at_commit(self):
        e = self.env
        self.hold_backup()
        tasks = e.json("list", "--kind", "basebackup")["tasks"]
        self.assertEqual(len(tasks), 1)
        self.assertEqual([b["state"] for b in e.backups()], ["running"])
        e.ok("cancel", str(tasks[0]["id"]))
        self.release()
        os.unlink(os.path.join(self.fault, "release"))
        wait_until(lambda: not e.json("list", "--kind", "basebackup")["tasks"],
                   "the backup task to end", e.daemon)
        self.assertEqual(e.backups(), [])
        self.assertEqual(self.leftovers(), [])

    def test_2_sigterm_at_commit(self):
        e = self.env
        self.hold_backup()
        e.daemon.proc.send_signal(signal.SIGTERM)

        def cancelled():
            log = e.daemon.read_log()
            i = log.rfind("stopping timeline tasks")
            return i >= 0 and "shutdown: cancelled" in log[i:]
        wait_until(cancelled, "the shutdown to cancel the timeline's tasks", e.daemon)
        self.release()
        os.unlink(os.path.join(self.fault, "release"))
        self.assertEqual(e.daemon.proc.wait(60), 0)
        e.daemon.stop()
        e.daemon.close()
        e.start_daemon()
        self.assertEqual(e.backups(), [])
        self.assertEqual(self.leftovers(), [])


class TestScheduledBackups(unittest.TestCase):
    """--basebackup-interval: backups are taken without `backup create`, again and again."""

    @classmethod
    def setUpClass(cls):
        setup_env(cls, 5631, lambda e: e.src.psql("create table t(i int)"),
                  ["--basebackup-interval", "1", "--keep-backups", "3"])

    @classmethod
    def tearDownClass(cls):
        teardown_env(cls)

    def test_interval_takes_backups(self):
        e = self.env
        complete = lambda: [b for b in e.backups() if b["state"] == "complete"]
        # the scheduler's pass (every 10 s) finds the new timeline without a backup
        wait_until(lambda: len(complete()) >= 1, "a scheduled backup", e.daemon)
        first = complete()[0]
        self.assertTrue(first["start_lsn"] and first["end_lsn"] and first["bytes"] > 0)
        # and once the newest is older than the interval, the next one
        wait_until(lambda: len(complete()) >= 2, "a second scheduled backup", e.daemon)
        ids = [b["id"] for b in complete()]
        self.assertEqual(len(set(ids)), len(ids))


if __name__ == "__main__":
    unittest.main(verbosity=2)
