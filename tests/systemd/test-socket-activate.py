# SPDX-License-Identifier: MIT
"""execd started by systemd-socket-activate (the socket passed as fd 3 with LISTEN_FDS, as
execd.socket does under systemd) serves execctl over the activated socket, creates no socket of
its own, and exits 0 on SIGTERM."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import execd_harness
from execd_harness import execctl


class SocketActivation(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="execd-sa-")
        self.sock = os.path.join(self.tmp, "activated.sock")
        self.rundir = os.path.join(self.tmp, "run")
        os.makedirs(self.rundir)
        self.log = open(os.path.join(self.tmp, "log"), "wb")
        env = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "LISTEN_FDS", "LISTEN_PID"):
            env.pop(k, None)
        # Were execd to ignore the passed socket, it would bind $RUNTIME_DIRECTORY/execd.sock.
        env["RUNTIME_DIRECTORY"] = self.rundir
        self.proc = subprocess.Popen(
            ["systemd-socket-activate", "-l", self.sock, execd_harness.EXECD,
             "--state-dir", os.path.join(self.tmp, "state"), "--config", "/dev/null"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        os.makedirs(os.path.join(self.tmp, "state"))

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def logtext(self):
        with open(os.path.join(self.tmp, "log"), "rb") as f:
            return f.read().decode(errors="replace")

    def test_serves_activated_socket(self):
        # systemd-socket-activate binds the socket, then waits for the first connection before
        # it executes execd: wait (bounded) for the socket node to appear.
        deadline = time.monotonic() + execd_harness.START_TIMEOUT_S
        while not os.path.exists(self.sock):
            self.assertIsNone(self.proc.poll(), self.logtext())
            self.assertLess(time.monotonic(), deadline, "socket never bound")
            time.sleep(0.02)
        # The first connection activates execd; execctl waits for its answer.
        rc, out, err = execctl("--json", "status", socket_path=self.sock)
        self.assertEqual(rc, 0, err + self.logtext())
        st = json.loads(out)
        # systemd-socket-activate execs execd in place: same pid.
        self.assertEqual(st["pid"], self.proc.pid)
        self.assertEqual(st["state"], "running")
        rc, out, err = execctl("tenant", "create", socket_path=self.sock)
        self.assertEqual(rc, 0, err)
        tid = out.strip()
        rc, out, err = execctl("--json", "tenant", "list", socket_path=self.sock)
        self.assertEqual(rc, 0, err)
        self.assertEqual([t["id"] for t in json.loads(out)["tenants"]], [tid])
        rc, out, err = execctl("--json", "list", "--kind", "control_listener",
                               socket_path=self.sock)
        self.assertEqual(rc, 0, err)
        self.assertTrue(json.loads(out)["tasks"])
        self.assertFalse(os.path.exists(os.path.join(self.rundir, "execd.sock")),
                         "execd bound a socket of its own instead of the activated one")
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(execd_harness.STOP_TIMEOUT_S), 0, self.logtext())


if __name__ == "__main__":
    execd_harness.require_binaries()
    if not shutil.which("systemd-socket-activate"):
        execd_harness.skip("systemd-socket-activate not found (Debian package systemd)")
    unittest.main(verbosity=2)
