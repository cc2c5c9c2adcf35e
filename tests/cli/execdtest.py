# SPDX-License-Identifier: MIT
"""Shared helpers of the execctl and systemd integration tests: start the real execd in a
temporary state directory, wait until its control socket answers, run execctl, stop execd.

Paths come from the environment set by the Makefile (AM_TESTS_ENVIRONMENT): EXECD, EXECCTL.
Exit status 77 means skipped (automake's convention), with a message saying what is missing.
"""
import json
import os
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
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 90.0
CMD_TIMEOUT_S = 120.0


def skip(msg):
    print("SKIP: " + msg, file=sys.stderr)
    sys.exit(77)


def require_binaries(daemon=True):
    if not EXECCTL or not os.access(EXECCTL, os.X_OK):
        skip("execctl not built (EXECCTL=%r)" % EXECCTL)
    if daemon and (not EXECD or not os.access(EXECD, os.X_OK)):
        skip("the daemon is not built (EXECD=%r)" % EXECD)


def request(sock_path, command, args=None, timeout=10.0):
    """One protocol request on a fresh connection; returns the decoded response."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall((json.dumps({"version": 1, "id": 1, "command": command,
                               "args": args or {}}) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("execd closed the connection without answering")
            buf += chunk
        return json.loads(buf)


class Daemon:
    """A running execd with its own state directory and socket in a temporary directory."""

    def __init__(self, tmpdir=None, extra_args=(), env=None, socket_path=None, state_dir=None,
                 argv_prefix=(), use_socket_flag=True):
        self.own_tmp = tmpdir is None
        self.tmp = tmpdir or tempfile.mkdtemp(prefix="execd-test-")
        os.chmod(self.tmp, 0o755)  # the unprivileged-user tests must reach the socket
        self.socket = socket_path or os.path.join(self.tmp, "execd.sock")
        self.state = state_dir or os.path.join(self.tmp, "state")
        os.makedirs(self.state, exist_ok=True)
        self.log_path = os.path.join(self.tmp, "execd.log")
        argv = list(argv_prefix) + [EXECD, "--state-dir", self.state]
        if use_socket_flag:
            argv += ["--socket", self.socket]
        argv += ["--config", "/dev/null", "--log-level", "debug"] + list(extra_args)
        e = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
                  "LISTEN_FDNAMES", "INVOCATION_ID", "JOURNAL_STREAM", "STATE_DIRECTORY",
                  "RUNTIME_DIRECTORY"):
            e.pop(k, None)
        e.update(env or {})
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=e,
                                     stdin=subprocess.DEVNULL)

    def wait_ready(self):
        """Bounded retry loop: connect and ask for status until execd answers or the bound
        passes (fails the test) or execd exits (fails at once, with its log)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("execd exited with %s before serving; log:\n%s"
                                     % (self.proc.returncode, self.read_log()))
            try:
                r = request(self.socket, "status")
                if r.get("ok"):
                    return r["result"]
                last = r
            except (OSError, ValueError) as e:
                last = e
            time.sleep(0.05)  # retry interval of the bounded loop, not a synchronisation
        raise AssertionError("execd did not answer on %s within %ss (last: %r); log:\n%s"
                             % (self.socket, START_TIMEOUT_S, last, self.read_log()))

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-20000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM):
        """Signals execd and waits for it; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("execd did not exit within %ss of signal %d; log:\n%s"
                                     % (STOP_TIMEOUT_S, sig, self.read_log()))
        return self.proc.returncode

    def close(self):
        try:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        finally:
            self.log.close()
            if self.own_tmp:
                shutil.rmtree(self.tmp, ignore_errors=True)


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
        cls.daemon = Daemon(extra_args=cls.daemon_args)
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
