# SPDX-License-Identifier: MIT
"""execctl shutdown --all on a daemon of its own: every task but the protected ones (control
listener, status; docs/protocol.md "Protected tasks") and the request itself ends within the
timeout; the daemon still answers afterwards.

(execd once matched the connection carrying the request, which then waited for itself until
the timeout; fixed in the daemon, this test keeps it so.)
"""
import unittest

import execd_harness
from execd_harness import DaemonTestCase

TA = "aaaa0000000000000000000000000001"
LA = "cccc0000000000000000000000000001"


class ShutdownAll(DaemonTestCase):
    """execctl shutdown --all on a daemon of its own: every task but the control listener (and
    the request itself) ends; the daemon still answers afterwards and stops cleanly."""

    def test_shutdown_all(self):
        self.ok("tenant", "create", "--id", TA)
        self.ok("timeline", "create", "--tenant", TA, "--id", LA)
        before = self.json("list")["tasks"]
        res = self.json("shutdown", "--all", "--timeout", "30s")
        self.assertEqual(res["remaining"], [])
        ended = {t["id"] for t in res["ended"]}
        protected = ("control_listener", "status", "signal_handler")
        self.assertFalse(set(protected) & {t["kind"] for t in res["ended"]}, res["ended"])
        for t in before:
            if t["kind"] not in protected + ("control_request",):
                self.assertIn(t["id"], ended, t)
        # The listener and the status task survived: execctl still gets answers.
        kinds = {t["kind"] for t in self.json("list")["tasks"]}
        self.assertIn("control_listener", kinds)
        self.assertIn("status", kinds)
        out = self.ok("shutdown", "--all")
        self.assertRegex(out.splitlines()[0], r"^\d+ tasks? ended:$")


if __name__ == "__main__":
    execd_harness.require_binaries()
    execd_harness.main()
