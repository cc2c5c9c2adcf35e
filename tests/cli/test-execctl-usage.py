# SPDX-License-Identifier: MIT
"""execctl without a daemon: --help and --version, usage errors (exit 2, one message on stderr,
no help dump), an unreachable socket (exit 4, naming the socket and how to start execd) and a
socket the user may not open (exit 5)."""
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

import execd_harness
from execd_harness import execctl

COMMANDS = [["list"], ["shutdown"], ["cancel"], ["status"], ["tenant"], ["tenant", "create"],
            ["tenant", "list"], ["tenant", "delete"], ["tenant", "detach"], ["tenant", "attach"],
            ["timeline"], ["timeline", "create"],
            ["timeline", "list"], ["timeline", "show"], ["timeline", "delete"],
            ["timeline", "wait-lsn"]]

T = "0123456789abcdef0123456789abcdef"


class Usage(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="execctl-test-")
        # Nothing listens here: any command that got past argument parsing would exit 4.
        self.sock = os.path.join(self.tmp, "none.sock")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def usage_error(self, *args):
        rc, out, err = execctl(*args, socket_path=self.sock)
        self.assertEqual(rc, 2, "execctl %s: exit %d\n%s%s" % (" ".join(args), rc, out, err))
        self.assertEqual(out, "", "nothing on stdout after a usage error")
        self.assertIn("Try 'execctl", err)
        self.assertNotIn("Usage:", err)
        self.assertLessEqual(len(err.splitlines()), 3, err)
        return err

    def test_help_for_every_command(self):
        for cmd in [[]] + COMMANDS:
            for flag in ("--help", "-h"):
                rc, out, err = execctl(*(cmd + [flag]))
                self.assertEqual(rc, 0, (cmd, err))
                self.assertTrue(out.startswith("Usage: execctl"), (cmd, out))
                self.assertEqual(err, "")
                if cmd and cmd[-1] not in ("tenant", "timeline"):
                    self.assertIn(" ".join(cmd), out.splitlines()[0])

    def test_help_before_command(self):
        rc, out, _ = execctl("--help")
        self.assertEqual(rc, 0)
        for c in ("list", "shutdown", "cancel", "status", "tenant", "timeline"):
            self.assertIn("  " + c, out)
        self.assertIn("5 permission denied", out)

    def test_version(self):
        for args in (["--version"], ["list", "--version"]):
            rc, out, _ = execctl(*args)
            self.assertEqual(rc, 0)
            self.assertRegex(out, r"^execctl \d+\.\d+\.\d+")

    def test_usage_errors(self):
        cases = [
            [], ["frobnicate"], ["--bogus", "list"], ["list", "--bogus"], ["list", "extra"],
            ["list", "--kind", "nope"], ["list", "--state", "sleeping"],
            ["list", "--tenant", "xyz"], ["list", "--tenant"], ["list", "--timeline", "g1"],
            ["list", "--tenant", "0" * 33],
            ["shutdown"], ["shutdown", "--all", "--kind", "other"], ["shutdown", "--all",
                                                                     "--timeout", "soon"],
            ["shutdown", "--all", "--timeout", "-1"],
            ["cancel"], ["cancel", "abc"], ["cancel", "-5"], ["cancel", "1", "2"],
            ["status", "now"], ["--socket", "", "status"],
            ["tenant"], ["tenant", "rename"], ["tenant", "create", "--id", "abc"],
            ["tenant", "create", "x"], ["tenant", "delete"], ["tenant", "delete", "zz"],
            ["tenant", "delete", T, "--timeout", "5 years"],
            ["timeline"], ["timeline", "create"], ["timeline", "create", "--tenant", "q"],
            ["timeline", "create", "--tenant", T, "--slot", "s"],
            ["timeline", "create", "--tenant", T, "--source", "host=x", "--create-slot"],
            ["timeline", "create", "--tenant", T, "--source", "host=x", "--start-lsn", "16B"],
            ["timeline", "show"], ["timeline", "show", T, T], ["timeline", "delete"],
            ["timeline", "wait-lsn", T], ["timeline", "wait-lsn", T, "--lsn", "0/XYZ"],
            ["timeline", "wait-lsn", "--lsn", "0/1"],
        ]
        for args in cases:
            with self.subTest(args=args):
                self.usage_error(*args)

    def test_unknown_option_is_named(self):
        err = self.usage_error("tenant", "list", "--colour")
        self.assertIn("--colour", err)
        self.assertIn("execctl tenant list", err)

    def test_unreachable_socket(self):
        rc, out, err = execctl("status", socket_path=self.sock)
        self.assertEqual(rc, 4, err)
        self.assertEqual(out, "")
        self.assertIn(self.sock, err)
        self.assertIn("systemctl start execd", err)

    def test_env_socket(self):
        rc, _, err = execctl("list", env={"EXECCTL_SOCKET": self.sock})
        self.assertEqual(rc, 4, err)
        self.assertIn(self.sock, err)
        # --socket wins over the environment.
        other = os.path.join(self.tmp, "other.sock")
        rc, _, err = execctl("--socket", other, "list", env={"EXECCTL_SOCKET": self.sock})
        self.assertEqual(rc, 4, err)
        self.assertIn(other, err)

    def test_connection_refused(self):
        # A socket node with no listener behind it: ECONNREFUSED is "cannot be reached".
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.sock)
        s.close()
        rc, _, err = execctl("tenant", "list", socket_path=self.sock)
        self.assertEqual(rc, 4, err)
        self.assertIn("refused", err)

    def test_socket_permission_denied(self):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root and setpriv to run as another user")
        os.chmod(self.tmp, 0o755)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.sock)
        s.listen()
        os.chmod(self.sock, 0o600)
        try:
            rc, out, err = execctl("status", socket_path=self.sock,
                                   prefix=["setpriv", "--reuid=65534", "--regid=65534",
                                           "--clear-groups"])
        finally:
            s.close()
        self.assertEqual(rc, 5, err)
        self.assertIn("Permission denied", err)
        self.assertIn(self.sock, err)


class Completion(unittest.TestCase):
    """The bash completion script completes commands, sub-commands and option values."""

    def complete(self, *words):
        script = os.environ.get("COMPLETION", "")
        if not script or not shutil.which("bash"):
            self.skipTest("no completion script or bash")
        words = ["execctl"] + list(words)
        cmd = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
               '_execctl; printf "%s\\n" "${COMPREPLY[@]}"')
        p = subprocess.run(["bash", "-c", cmd, "bash", script] + words, capture_output=True,
                           text=True, timeout=60, env=dict(os.environ, EXECCTL_SOCKET=self.sock))
        self.assertEqual(p.returncode, 0, p.stderr)
        return sorted(w for w in p.stdout.split("\n") if w)

    def setUp(self):
        self.sock = "/nonexistent/execd.sock"

    def test_commands(self):
        self.assertEqual(self.complete("t"), ["tenant", "timeline"])
        self.assertEqual(self.complete("timeline", "w"), ["wait-lsn"])
        self.assertEqual(self.complete("tenant", ""),
                         ["attach", "create", "delete", "detach", "list"])

    def test_options_and_values(self):
        self.assertEqual(self.complete("shutdown", "--a"), ["--all"])
        self.assertEqual(self.complete("list", "--kind", "wal_"),
                         ["wal_compress", "wal_flush", "wal_prealloc", "wal_receiver"])
        self.assertEqual(self.complete("list", "--state", "r"), ["running"])
        self.assertIn("--create-slot", self.complete("timeline", "create", "--c"))
        self.assertIn("--force", self.complete("tenant", "attach", "--f"))
        # Ids come from the daemon; none reachable: no candidates, no error.
        self.assertEqual(self.complete("tenant", "delete", ""), [])


if __name__ == "__main__":
    execd_harness.require_binaries(daemon=False)
    execd_harness.main()
