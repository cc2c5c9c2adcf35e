# SPDX-License-Identifier: MIT
"""The one harness of the Python integration tests (tests/daemon, tests/cli, tests/systemd):
start the real execd in a temporary directory, know when it is ready, talk to it (JSON lines on
its socket, or execctl), stop it.

Readiness is a real event, never a sleep: Daemon.start() waits for READY=1 on a NOTIFY_SOCKET of
the test's own; Daemon.launch() + wait_ready() (for tests that bring their own NOTIFY_SOCKET or
socket activation) ask for `status` in a bounded retry loop until execd answers.

Paths come from the environment set by the Makefiles (AM_TESTS_ENVIRONMENT): EXECD, EXECCTL.
Exit status 77 means skipped (automake's convention), with a message saying what is missing.
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

EXECD = os.environ.get("EXECD", "")
EXECCTL = os.environ.get("EXECCTL", "")
# Generous upper bounds: a slow machine makes a test slow, never wrong. Exceeding one fails.
WAIT = 60.0  # any single event of the daemon
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 90.0
CMD_TIMEOUT_S = 120.0

# What a service manager or a surrounding test run may have set, and execd would act on.
_INHERITED_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
                  "LISTEN_FDNAMES", "INVOCATION_ID", "JOURNAL_STREAM", "STATE_DIRECTORY",
                  "RUNTIME_DIRECTORY")


def skip(msg):
    print("SKIP: " + msg)
    sys.stdout.flush()
    sys.exit(77)


def fail(msg, daemon=None):
    print("FAIL: " + msg)
    if daemon is not None:
        daemon.dump_log()
    sys.exit(1)


def check(cond, msg, daemon=None):
    if not cond:
        fail(msg, daemon)


def require_binaries(daemon=True):
    if not EXECCTL or not os.access(EXECCTL, os.X_OK):
        skip("execctl not built (EXECCTL=%r)" % EXECCTL)
    if daemon and (not EXECD or not os.access(EXECD, os.X_OK)):
        skip("the daemon is not built (EXECD=%r)" % EXECD)


def read_line(s):
    """One response line from socket @s, or None if the peer closed or the read timed out."""
    buf = b""
    while not buf.endswith(b"\n"):
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return None
        if not chunk:
            return None
        buf += chunk
    return buf.decode()


def request(sock_path, command, args=None, timeout=10.0):
    """One protocol request on a fresh connection; returns the decoded response."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall((json.dumps({"version": 1, "id": 1, "command": command,
                               "args": args or {}}) + "\n").encode())
        line = read_line(s)
        if line is None:
            raise ConnectionError("execd closed the connection without answering")
        return json.loads(line)


def wait_until(cond, what, daemon=None):
    """Poll a condition of the daemon's state, with a generous bound that fails the test."""
    deadline = time.monotonic() + WAIT
    delay = 0.001
    while not cond():
        if time.monotonic() > deadline:
            fail("timed out waiting for " + what, daemon)
        time.sleep(delay)  # back-off of a bounded poll, not a synchronisation
        delay = min(delay * 2, 0.05)


class Daemon:
    """An execd with its own state directory and socket in a temporary directory.

    Nothing runs until start() (waits for READY=1) or launch() (returns at once). Arguments:
    `extra` (or `extra_args`): more command-line flags; `env`: environment overrides;
    `tmpdir`: use this directory (kept) instead of a new one (removed by cleanup());
    `socket_path`, `state_dir`: instead of TMP/execd.sock, TMP/state; `argv_prefix`: a wrapper
    command (systemd-socket-activate); `use_socket_flag`: pass --socket; `config`: pass
    --config CONFIG (None: no flag); `workers`: pass --workers N (None: no flag).
    """

    def __init__(self, extra=(), env=None, tmpdir=None, extra_args=(), socket_path=None,
                 state_dir=None, argv_prefix=(), use_socket_flag=True, config=None, workers=2):
        if not EXECD:
            skip("EXECD is not set (run through make check)")
        self.own_tmp = tmpdir is None
        self.tmp = tmpdir or tempfile.mkdtemp(prefix="execd-test-")
        os.chmod(self.tmp, 0o755)  # the unprivileged-user tests must reach the socket
        self.sock = socket_path or os.path.join(self.tmp, "execd.sock")
        self.socket = self.sock
        self.state = state_dir or os.path.join(self.tmp, "state")
        self.logpath = self.log_path = os.path.join(self.tmp, "execd.log")
        self.extra = list(extra) + list(extra_args)
        self.env = dict(env or {})
        self.argv_prefix = list(argv_prefix)
        self.use_socket_flag = use_socket_flag
        self.config = config
        self.workers = workers
        self.proc = None
        self.notify = None

    def argv(self):
        argv = self.argv_prefix + [EXECD, "--state-dir", self.state]
        if self.use_socket_flag:
            argv += ["--socket", self.sock]
        if self.config is not None:
            argv += ["--config", self.config]
        argv += ["--log-level", "debug"]
        if self.workers is not None:
            argv += ["--workers", str(self.workers)]
        return argv + self.extra

    def launch(self, notify=False):
        """Start execd and return at once (self). With @notify, on a NOTIFY_SOCKET of ours."""
        env = dict(os.environ)
        for k in _INHERITED_ENV:
            env.pop(k, None)
        if notify:
            npath = os.path.join(self.tmp, "notify")
            if os.path.exists(npath):
                os.unlink(npath)
            self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.notify.bind(npath)
            env["NOTIFY_SOCKET"] = npath
        env.update(self.env)
        with open(self.logpath, "ab") as log:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env)
        return self

    def start(self):
        """Start execd and wait for its READY=1; returns self."""
        self.launch(notify=True)
        self.wait_notify("READY=1")
        return self

    def wait_notify(self, what):
        deadline = time.monotonic() + WAIT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail("no %s from execd within %ds" % (what, WAIT), self)
            r, _, _ = select.select([self.notify], [], [], left)
            if r:
                msg = self.notify.recv(4096).decode()
                if what in msg.split("\n"):
                    return
            if self.proc.poll() is not None:
                fail("execd exited with %d before %s" % (self.proc.returncode, what), self)

    def wait_ready(self):
        """Bounded retry loop: ask for status until execd answers (returns the result), the
        bound passes or execd exits (both raise AssertionError with its log)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("execd exited with %s before serving; log:\n%s"
                                     % (self.proc.returncode, self.read_log()))
            try:
                r = request(self.sock, "status")
                if r.get("ok"):
                    return r["result"]
                last = r
            except (OSError, ValueError) as e:
                last = e
            time.sleep(0.05)  # retry interval of the bounded loop, not a synchronisation
        raise AssertionError("execd did not answer on %s within %ss (last: %r); log:\n%s"
                             % (self.sock, START_TIMEOUT_S, last, self.read_log()))

    def stop(self, sig=signal.SIGTERM):
        """Signal execd and wait for it; returns its exit status. If it does not exit within
        STOP_TIMEOUT_S it is killed and the test fails (AssertionError with the log)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("execd did not exit within %ss of signal %d; log:\n%s"
                                     % (STOP_TIMEOUT_S, sig, self.read_log()))
        if self.notify is not None:
            self.notify.close()
            self.notify = None
        return self.proc.returncode

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(WAIT)
        s.connect(self.sock)
        return s

    def request(self, command, args=None, rid=None, conn=None):
        """Send one request (on @conn, or a connection of its own); the decoded response.
        No response fails the test."""
        own = conn is None
        s = conn or self.connect()
        req = {"version": 1, "command": command}
        if args is not None:
            req["args"] = args
        if rid is not None:
            req["id"] = rid
        try:
            s.sendall((json.dumps(req) + "\n").encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused connections are closed after one response line: read it
        line = read_line(s)
        if own:
            s.close()
        if line is None:
            fail("no response to %s" % command, self)
        return json.loads(line)

    def ok(self, command, args=None):
        r = self.request(command, args)
        check(r.get("ok") is True, "%s %r failed: %r" % (command, args, r), self)
        return r["result"]

    def read_log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode(errors="replace")[-20000:]
        except OSError:
            return ""

    def dump_log(self):
        sys.stdout.write("---- execd log ----\n" + self.read_log() + "-------------------\n")

    def cleanup(self):
        """Kill execd if it still runs; remove the temporary directory if it is ours."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.notify is not None:
            self.notify.close()
            self.notify = None
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    close = cleanup


def spawn(**kw):
    """A launched Daemon as execctl's and systemd's tests run it: --config /dev/null (no
    config file of the machine), the default number of workers, the state directory made
    beforehand, no NOTIFY_SOCKET of ours (pass one in `env`). Keyword arguments: Daemon's."""
    kw.setdefault("config", "/dev/null")
    kw.setdefault("workers", None)
    d = Daemon(**kw)
    os.makedirs(d.state, exist_ok=True)
    return d.launch()


def execctl(*args, socket_path=None, env=None, prefix=(), timeout=CMD_TIMEOUT_S):
    """Runs execctl; returns (exit status, stdout, stderr)."""
    argv = list(prefix) + [EXECCTL]
    if socket_path:
        argv += ["--socket", socket_path]
    argv += list(args)
    e = dict(os.environ)
    e.pop("EXECCTL_SOCKET", None)
    e.update(env or {})
    p = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


class DaemonTestCase(unittest.TestCase):
    """Starts one execd for the test class; self.ctl(...) runs execctl against it."""

    daemon_args = ()

    @classmethod
    def setUpClass(cls):
        cls.daemon = spawn(extra_args=cls.daemon_args)
        try:
            cls.daemon.wait_ready()
        except BaseException:
            cls.daemon.close()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.daemon.stop()
            if rc != 0:
                raise AssertionError("execd exited %s after SIGTERM; log:\n%s"
                                     % (rc, cls.daemon.read_log()))
        finally:
            cls.daemon.close()

    def ctl(self, *args, **kw):
        return execctl(*args, socket_path=self.daemon.socket, **kw)

    def ok(self, *args, **kw):
        rc, out, err = self.ctl(*args, **kw)
        self.assertEqual(rc, 0, "execctl %s: exit %d\nstdout:\n%s\nstderr:\n%s"
                         % (" ".join(args), rc, out, err))
        return out

    def fails(self, code, *args, **kw):
        rc, out, err = self.ctl(*args, **kw)
        self.assertEqual(rc, code, "execctl %s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s"
                         % (" ".join(args), rc, code, out, err))
        self.assertNotEqual(err.strip(), "", "an error must be explained on stderr")
        self.assertNotIn("Usage:", err, "no help dump on error")
        return out, err

    def json(self, *args):
        return json.loads(self.ok("--json", *args))


def main():
    unittest.main(verbosity=2)


class Postgres:
    """A throwaway PostgreSQL 15 cluster for the Python tests: tests/common/pg.sh's, the one the
    shell tests use (as the `postgres` user in a temporary directory, Unix socket only,
    wal_level=replica, trust). start() skips the test (exit 77) where pg.sh's pg_require does;
    `conninfo` is a libpq conninfo for it; psql() runs SQL; stop() removes it."""

    PG_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pg.sh")

    def __init__(self, *conf_lines):
        self.conf_lines = list(conf_lines)
        self.env = None
        self.conninfo = None

    def _sh(self, script, *args):
        """Runs @script after sourcing pg.sh, with this cluster's variables set again (pg.sh
        clears them when sourced)."""
        env = dict(os.environ)
        if self.env is not None:
            env.update(("T_" + k, v) for k, v in self.env.items())
            script = ('PG_DIR=$T_PG_DIR PG_DATA=$T_PG_DATA PG_SOCK=$T_PG_SOCK PG_PORT=$T_PG_PORT; '
                      + script)
        return subprocess.run(["sh", "-c", '. "$0"; ' + script, self.PG_SH] + list(args),
                              capture_output=True, text=True, env=env, timeout=CMD_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)

    def start(self):
        p = self._sh('pg_require; pg_start "$@" >&2 || exit 1; printf "PG_DIR=%s\\nPG_DATA=%s\\n'
                     'PG_SOCK=%s\\nPG_PORT=%s\\nPG_CONNINFO=%s\\nPG_BINDIR=%s\\n" "$PG_DIR" '
                     '"$PG_DATA" "$PG_SOCK" "$PG_PORT" "$PG_CONNINFO" "$PG_BINDIR"',
                     *self.conf_lines)
        if p.returncode == 77:
            skip(p.stderr.strip().replace("SKIP: ", ""))
        if p.returncode != 0:
            fail("cannot start PostgreSQL: " + p.stderr)
        self.env = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
        self.conninfo = self.env["PG_CONNINFO"]
        return self

    def psql(self, sql):
        """Runs @sql as postgres; returns its output (unaligned, tuples only), stripped."""
        p = self._sh('pg_psql -c "$1"', sql)
        if p.returncode != 0:
            fail("psql %r: %s" % (sql, p.stderr))
        return p.stdout.strip()

    def current_lsn(self):
        return self.psql("select pg_current_wal_lsn()")

    def stop(self):
        if self.env is not None:
            self._sh("pg_stop")
            self.env = None


# ---- PostgreSQL 15 for the tests that stream from or back up a real server (as pg.sh) ----

PG_BINDIR = os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin")


def pg_require():
    """Skip (exit 77) unless PostgreSQL 15, the postgres user and root (for runuser) exist."""
    if not os.path.exists(os.path.join(PG_BINDIR, "pg_ctl")):
        skip("postgresql-15 is not installed (apt-get install postgresql-15)")
    if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
        skip("no 'postgres' user (installed by the postgresql-15 package)")
    if os.geteuid() != 0:
        skip("needs root (to run PostgreSQL as the postgres user)")


def as_postgres(argv, check=True, **kw):
    """Run argv as the postgres user, from / (which postgres can enter)."""
    p = subprocess.run(["runuser", "-u", "postgres", "--"] + list(argv), cwd="/",
                       capture_output=True, text=True, timeout=CMD_TIMEOUT_S, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout,
                                                    p.stderr))
    return p


class PgCluster:
    """A throwaway cluster of the postgres user in `dirpath` (made 0755, owned by postgres):
    data in dirpath/data, listening on a Unix socket in dirpath only, on `port`. With
    `data`, an existing data directory (a restored one) is started instead of a new one."""

    def __init__(self, dirpath, port, data=None):
        self.dir = dirpath
        self.port = port
        self.data = data or os.path.join(dirpath, "data")
        self.conninfo = "host=%s port=%d user=postgres dbname=postgres" % (dirpath, port)
        os.makedirs(dirpath, exist_ok=True)
        os.chmod(dirpath, 0o755)
        shutil.chown(dirpath, "postgres")

    def init(self, *conf):
        as_postgres([os.path.join(PG_BINDIR, "initdb"), "-D", self.data, "-U", "postgres",
                     "-A", "trust", "--no-sync", "-E", "UTF8"])
        lines = ["listen_addresses = ''", "wal_level = replica", "max_wal_senders = 10",
                 "max_replication_slots = 10", "fsync = off"] + list(conf)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\nlocal replication all trust\n")
        return self

    def start(self):
        """pg_ctl start -w; the port and socket directory are given on the command line, so
        that a restored copy of another cluster listens here, not where that one did."""
        p = as_postgres([os.path.join(PG_BINDIR, "pg_ctl"), "-D", self.data, "-w", "-t", "120",
                         "-l", os.path.join(self.dir, "server.log"), "-o",
                         "-p %d -k %s -c listen_addresses=''" % (self.port, self.dir),
                         "start"], check=False)
        if p.returncode != 0:
            with open(os.path.join(self.dir, "server.log"), errors="replace") as f:
                raise AssertionError("pg_ctl start failed:\n%s%s\n%s"
                                     % (p.stdout, p.stderr, f.read()[-6000:]))
        return self

    def psql(self, sql):
        p = subprocess.run([os.path.join(PG_BINDIR, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                            "-At", "-h", self.dir, "-p", str(self.port), "-U", "postgres",
                            "-d", "postgres", "-c", sql],
                           capture_output=True, text=True, timeout=CMD_TIMEOUT_S)
        if p.returncode != 0:
            raise AssertionError("psql %r: %s" % (sql, p.stderr))
        return p.stdout.strip()

    def stop(self, mode="fast"):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            as_postgres([os.path.join(PG_BINDIR, "pg_ctl"), "-D", self.data, "-w", "-t", "60",
                         "-m", mode, "stop"], check=False)
