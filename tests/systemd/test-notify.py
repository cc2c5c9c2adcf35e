# SPDX-License-Identifier: MIT
"""sd_notify: with NOTIFY_SOCKET set, execd sends READY=1 (once serving), STATUS=... (with the
counts of tenants and tasks), and on SIGTERM STOPPING=1, in that order, all from the daemon's
own pid; with WATCHDOG_USEC (with WATCHDOG_PID = its pid, or without WATCHDOG_PID) it sends
WATCHDOG=1, and without them it does not. Socket activation (sd_listen_fds) through
systemd-socket-activate: execd serves the passed socket and binds no --socket of its own.

(One test: tests/daemon/test_notify.py, which checked the same lifecycle, is merged here.)"""
import json
import os
import shutil
import signal
import socket
import struct
import sys
import tempfile
import time
import unittest

import execd_harness
from execd_harness import execctl, read_line


class Listener:
    """A datagram socket playing systemd's notification socket; keeps the sender's pid
    (SCM_CREDENTIALS) with every message, as systemd does to check NotifyAccess=."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.messages = []  # (pid, [lines])

    def receive_until(self, pred, timeout, proc=None):
        """Receives until pred(line) holds for a line; fails after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching notification within %ss; got %r"
                                     % (timeout, self.messages))
            self.sock.settimeout(min(left, 1.0))
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                if proc is not None and proc.poll() is not None:
                    raise AssertionError("execd exited (%s) before notifying; got %r"
                                         % (proc.returncode, self.messages))
                continue
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid, _, _ = struct.unpack("iII", payload[:12])
            lines = data.decode().split("\n")
            self.messages.append((pid, [l for l in lines if l]))
            if any(pred(l) for l in lines):
                return

    def lines(self):
        return [l for _, ls in self.messages for l in ls]

    def close(self):
        self.sock.close()


class Notify(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="execd-notify-")
        self.listener = Listener(os.path.join(self.tmp, "notify.sock"))

    def tearDown(self):
        self.listener.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, env, watchdog_pid=False):
        prefix = []
        if watchdog_pid:
            # WATCHDOG_PID must be the daemon's pid: the shell's $$ survives its exec.
            prefix = ["sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"', "sh"]
        d = execd_harness.spawn(tmpdir=self.tmp, argv_prefix=prefix,
                             env=dict(env, NOTIFY_SOCKET=self.listener.path))
        self.addCleanup(d.close)
        return d

    def run_daemon(self, d):
        l = self.listener
        l.receive_until(lambda s: s == "READY=1", execd_harness.START_TIMEOUT_S, d.proc)
        # READY=1 means served: execctl gets an answer at once.
        rc, out, err = execctl("status", socket_path=d.socket)
        self.assertEqual(rc, 0, err + d.read_log())
        return l

    def stop(self, d):
        d.proc.send_signal(signal.SIGTERM)
        self.listener.receive_until(lambda s: s == "STOPPING=1", execd_harness.STOP_TIMEOUT_S,
                                    d.proc)
        self.assertEqual(d.stop(), 0, d.read_log())

    def check_order(self, d):
        lines = self.listener.lines()
        self.assertIn("READY=1", lines)
        self.assertIn("STOPPING=1", lines)
        ready, stopping = lines.index("READY=1"), lines.index("STOPPING=1")
        self.assertLess(ready, stopping, lines)
        status = [i for i, s in enumerate(lines) if s.startswith("STATUS=")]
        self.assertTrue(status, "no STATUS= sent: %r" % lines)
        self.assertLess(status[0], stopping, lines)
        self.assertTrue(all(len(s) > len("STATUS=") for s in lines if s.startswith("STATUS=")))
        # NotifyAccess=main: every message comes from the daemon's own pid.
        self.assertEqual({pid for pid, _ in self.listener.messages}, {d.proc.pid})

    def test_ready_status_stopping(self):
        d = self.start({})
        self.run_daemon(d)
        self.stop(d)
        self.check_order(d)
        self.assertNotIn("WATCHDOG=1", self.listener.lines(),
                         "WATCHDOG=1 sent although no watchdog was asked for")

    def test_watchdog(self):
        # 2 s: execd pings at half the interval, so one arrives well within the bound below.
        d = self.start({"WATCHDOG_USEC": "2000000"}, watchdog_pid=True)
        self.run_daemon(d)
        self.listener.receive_until(lambda s: s == "WATCHDOG=1", 60, d.proc)
        lines = self.listener.lines()
        self.assertLess(lines.index("READY=1"), lines.index("WATCHDOG=1"))
        self.stop(d)
        self.check_order(d)

    def test_watchdog_without_pid_and_status_counts(self):
        # No WATCHDOG_PID: systemd's rule is that the watchdog then applies to whoever reads
        # WATCHDOG_USEC. 100 ms: execd pets at half that.
        d = self.start({"WATCHDOG_USEC": "100000"})
        self.run_daemon(d)
        self.listener.receive_until(lambda s: s == "WATCHDOG=1", 60, d.proc)
        self.listener.receive_until(lambda s: s.startswith("STATUS=") and "tenants" in s
                                    and "tasks" in s, 60, d.proc)
        self.stop(d)
        self.check_order(d)


class SocketActivation(unittest.TestCase):
    def test_activated_socket_is_served_and_socket_flag_ignored(self):
        act = shutil.which("systemd-socket-activate")
        if not act:
            self.skipTest("systemd-socket-activate not installed")
        tmp = tempfile.mkdtemp(prefix="execd-test-act-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "activated.sock")
        unused = os.path.join(tmp, "unused.sock")
        d = execd_harness.spawn(tmpdir=tmp, argv_prefix=[act, "-l", path], socket_path=unused)
        self.addCleanup(d.close)
        deadline = time.monotonic() + execd_harness.START_TIMEOUT_S
        while not os.path.exists(path):  # created by systemd-socket-activate itself
            self.assertTrue(time.monotonic() < deadline and d.proc.poll() is None,
                            "systemd-socket-activate did not create %s" % path)
            time.sleep(0.01)  # bounded poll for another process's file, not a synchronisation
        # the file appears at bind(), before listen(): until then a connect is refused
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(execd_harness.WAIT)
            try:
                s.connect(path)  # queued in the backlog until execd (started now) accepts it
                break
            except ConnectionRefusedError:
                s.close()
                self.assertTrue(time.monotonic() < deadline and d.proc.poll() is None,
                                "systemd-socket-activate never listened on %s" % path)
                time.sleep(0.01)  # bounded poll for another process's listen, as above
        s.sendall(b'{"version":1,"command":"status"}\n')
        line = read_line(s)
        s.close()
        self.assertTrue(line is not None and json.loads(line)["ok"] is True,
                        "no answer on the activated socket: %r" % line)
        self.assertFalse(os.path.exists(unused),
                         "execd bound --socket although a socket was passed")
        self.assertEqual(d.stop(), 0, d.read_log())


if __name__ == "__main__":
    execd_harness.require_binaries()
    unittest.main(verbosity=2)
