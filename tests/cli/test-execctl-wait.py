# SPDX-License-Identifier: MIT
"""execctl list --wait, the task dump, against a real execd: a request parked in
`timeline wait-lsn` shows the seqwait and its LSN, the status task its sleep, the listener its
read on the listening fd; each with function and file:line; a request's parent is its
connection; --json carries the same as `parent` and `await`. Waits are bounded polls of the
daemon's state."""
import json
import subprocess
import unittest

import execd_harness
from execd_harness import EXECCTL, wait_until

TEN = "abab0000000000000000000000000001"
TL = "cdcd0000000000000000000000000001"


class ListWait(execd_harness.DaemonTestCase):
    def tasks(self):
        return self.json("list")["tasks"]

    def test_dump(self):
        self.ok("tenant", "create", "--id", TEN)
        self.ok("timeline", "create", "--tenant", TEN, "--id", TL)  # no source: never advances
        waiter = subprocess.Popen([EXECCTL, "--socket", self.daemon.socket, "timeline", "wait-lsn",
                                   TL, "--lsn", "5/1A2B", "--timeout", "120"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            found = {}

            def parked():
                for t in self.tasks():
                    aw = t.get("await") or {}
                    if aw.get("what") == "seqwait":
                        found["wait"] = t
                return "wait" in found

            wait_until(parked, "a task parked in the seqwait", self.daemon)
            t = found["wait"]
            aw = t["await"]
            self.assertEqual(aw["lsn"], "5/1A2B", aw)
            self.assertEqual(t["kind"], "control_request", t)
            self.assertTrue(aw["function"] and aw["file"].endswith(".c") and aw["line"] > 0, aw)
            tasks = {x["id"]: x for x in self.tasks()}
            parent = tasks.get(t["parent"])
            self.assertIsNotNone(parent, "the request's parent is listed: %r" % t)
            self.assertEqual(parent["name"], "connection", parent)
            self.assertEqual(tasks[parent["id"]]["parent"],
                             [x for x in tasks.values() if x["kind"] == "control_listener"][0]["id"])

            status = [x for x in tasks.values() if x["kind"] == "status"][0]
            self.assertEqual(status["await"]["what"], "sleep", status)
            self.assertTrue(0 <= status["await"]["left_ms"] <= 5000, status)
            self.assertEqual(status["await"]["function"], "status_poll", status)
            listener = [x for x in tasks.values() if x["kind"] == "control_listener"][0]
            self.assertEqual(listener["await"]["what"], "read", listener)
            self.assertGreaterEqual(listener["await"]["fd"], 0, listener)
            self.assertIsNone(listener["parent"], listener)

            out = self.ok("--no-legend", "list", "--wait")
            rows = {line.split()[0]: line for line in out.splitlines()}
            line = rows[str(t["id"])]
            self.assertIn("seqwait for LSN 5/1A2B", line)
            self.assertIn("%s (%s:%d)" % (aw["function"], aw["file"].rsplit("/", 1)[-1], aw["line"]),
                          line)
            self.assertEqual(line.split()[1], str(t["parent"]), line)
            self.assertIn("sleep, ", rows[str(status["id"])])
            self.assertIn("read on fd %d" % listener["await"]["fd"], rows[str(listener["id"])])
            head = self.ok("list", "--wait").splitlines()[0].split()
            self.assertEqual(head[:6], ["ID", "PARENT", "KIND", "NAME", "STATE", "AT"], head)
        finally:
            waiter.kill()
            waiter.wait()


if __name__ == "__main__":
    execd_harness.main()
