# SPDX-License-Identifier: MIT
"""Refused permission: execctl run as an unprivileged user (nobody, not in group execd)
against a real execd. A socket the user cannot open, and commands the daemon refuses
(permission_denied), both exit 5 with a message on stderr."""
import os
import shutil
import unittest

import execd_harness

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


class Permission(execd_harness.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            execd_harness.skip("needs root and setpriv (util-linux) to run execctl as nobody")
        super().setUpClass()

    def as_nobody(self, *args):
        return execd_harness.execctl(*args, socket_path=self.daemon.socket, prefix=NOBODY)

    def test_socket_refuses_connection(self):
        os.chmod(self.daemon.socket, 0o660)
        rc, out, err = self.as_nobody("status")
        self.assertEqual(rc, 5, out + err)
        self.assertIn(self.daemon.socket, err)
        self.assertIn("Permission denied", err)

    def test_daemon_refuses_commands(self):
        # Let nobody reach the socket: now the daemon's SO_PEERCRED check decides.
        os.chmod(self.daemon.socket, 0o666)
        try:
            for args in (["tenant", "create"], ["shutdown", "--all"], ["cancel", "1"],
                         ["status"], ["list"], ["tenant", "list"], ["timeline", "list"]):
                with self.subTest(args=args):
                    rc, out, err = self.as_nobody(*args)
                    self.assertEqual(rc, 5, out + err)
                    self.assertIn("permission_denied", err)
                    self.assertEqual(out, "")
        finally:
            os.chmod(self.daemon.socket, 0o660)
        # Root still may.
        self.ok("tenant", "list")
        self.assertEqual(self.json("tenant", "list")["tenants"], [])


if __name__ == "__main__":
    execd_harness.require_binaries()
    execd_harness.main()
