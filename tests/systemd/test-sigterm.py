# SPDX-License-Identifier: MIT
"""SIGTERM while timelines are busy (requests in flight, a long wait on an LSN that never
comes) makes execd exit 0; everything it acknowledged is persisted: a new execd on the same
state directory has the same tenants and timelines."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import execd_harness

TENANTS = ["%032x" % (0x1000 + i) for i in range(3)]


class Sigterm(unittest.TestCase):
    def test_sigterm_busy_persists(self):
        tmp = tempfile.mkdtemp(prefix="execd-sigterm-")
        self.addCleanup(shutil.rmtree, tmp, True)
        d = execd_harness.spawn(tmpdir=tmp)
        self.addCleanup(d.close)
        d.wait_ready()
        sock = d.socket
        timelines = {}
        for t in TENANTS:
            rc, out, err = execd_harness.execctl("tenant", "create", "--id", t, socket_path=sock)
            self.assertEqual(rc, 0, err)
            timelines[t] = []
            for _ in range(2):
                rc, out, err = execd_harness.execctl("timeline", "create", "--tenant", t,
                                                 socket_path=sock)
                self.assertEqual(rc, 0, err)
                timelines[t].append(out.strip())
        before_tl = json.loads(execd_harness.execctl("--json", "timeline", "list",
                                                 socket_path=sock)[1])["timelines"]
        # Busy: waiters that will never be satisfied, each a task of its own in the daemon.
        waiters = [subprocess.Popen([execd_harness.EXECCTL, "--socket", sock, "timeline", "wait-lsn",
                                     tl, "--lsn", "FF/0", "--timeout", "10min"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for tls in timelines.values() for tl in tls]
        # Wait (bounded) until the daemon runs all of them, seen as control_request tasks.
        deadline = time.monotonic() + 60
        while True:
            rc, out, err = execd_harness.execctl("--json", "list", "--kind", "control_request",
                                             socket_path=sock)
            self.assertEqual(rc, 0, err)
            # A waiting request is attributed to its timeline (connections and this listing
            # are control_request tasks too, without a timeline).
            if len([t for t in json.loads(out)["tasks"] if t["timeline"]]) >= len(waiters):
                break
            self.assertLess(time.monotonic(), deadline, "waiters never showed up:\n" + out)
            time.sleep(0.05)
        self.assertEqual(d.stop(signal.SIGTERM), 0, d.read_log())
        for w in waiters:
            out, err = w.communicate(timeout=60)
            # Cut short by the shutdown: not a success, not a hang.
            self.assertNotEqual(w.returncode, 0, out + err)
        d.close()

        # A new daemon on the same state directory sees everything that was acknowledged.
        d2 = execd_harness.spawn(tmpdir=tmp)
        self.addCleanup(d2.close)
        d2.wait_ready()
        rc, out, err = execd_harness.execctl("--json", "tenant", "list", socket_path=d2.socket)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(t["id"] for t in json.loads(out)["tenants"]), sorted(TENANTS))
        rc, out, err = execd_harness.execctl("--json", "timeline", "list", socket_path=d2.socket)
        self.assertEqual(rc, 0, err)
        after = {t["id"]: t for t in json.loads(out)["timelines"]}
        self.assertEqual(sorted(after), sorted(t["id"] for t in before_tl))
        for t in before_tl:
            self.assertEqual(after[t["id"]]["tenant"], t["tenant"])
            self.assertEqual(after[t["id"]]["flush_lsn"], t["flush_lsn"])
        self.assertEqual(d2.stop(), 0, d2.read_log())


if __name__ == "__main__":
    execd_harness.require_binaries()
    unittest.main(verbosity=2)
