# SPDX-License-Identifier: MIT
"""Helpers for the execd integration tests: start the real daemon in a temporary directory,
wait for READY=1 on our own NOTIFY_SOCKET (a real event, not a sleep), talk JSON lines."""
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

EXECD = os.environ.get("EXECD")
WAIT = 60.0  # generous upper bound for any single event; hitting it fails the test


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


def fail(msg, daemon=None):
    print("FAIL: " + msg)
    if daemon is not None:
        daemon.dump_log()
    sys.exit(1)


def check(cond, msg, daemon=None):
    if not cond:
        fail(msg, daemon)


class Daemon:
    def __init__(self, extra=(), env=None):
        if not EXECD:
            skip("EXECD is not set (run through make check)")
        self.tmp = tempfile.mkdtemp(prefix="execd-test-")
        os.chmod(self.tmp, 0o755)
        self.state = os.path.join(self.tmp, "state")
        self.sock = os.path.join(self.tmp, "execd.sock")
        self.logpath = os.path.join(self.tmp, "log")
        self.extra = list(extra)
        self.env = dict(env or {})
        self.proc = None
        self.notify = None

    def start(self):
        npath = os.path.join(self.tmp, "notify")
        if os.path.exists(npath):
            os.unlink(npath)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(npath)
        env = dict(os.environ)
        for k in ("LISTEN_FDS", "LISTEN_PID", "INVOCATION_ID", "JOURNAL_STREAM", "WATCHDOG_USEC",
                  "STATE_DIRECTORY", "RUNTIME_DIRECTORY"):
            env.pop(k, None)
        env["NOTIFY_SOCKET"] = npath
        env.update(self.env)
        log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([EXECD, "--state-dir", self.state, "--socket", self.sock,
                                      "--log-level", "debug", "--workers", "2"] + self.extra,
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        log.close()
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

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("execd did not exit within %ds of signal %d" % (WAIT, sig), self)
        self.notify.close()
        return rc

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(WAIT)
        s.connect(self.sock)
        return s

    def request(self, command, args=None, rid=None, conn=None):
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

    def dump_log(self):
        try:
            with open(self.logpath) as f:
                sys.stdout.write("---- execd log ----\n" + f.read() + "-------------------\n")
        except OSError:
            pass

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def read_line(s):
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


def wait_until(cond, what, daemon=None):
    """Poll a condition of the daemon's state, with a generous bound that fails the test."""
    deadline = time.monotonic() + WAIT
    delay = 0.001
    while not cond():
        if time.monotonic() > deadline:
            fail("timed out waiting for " + what, daemon)
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
