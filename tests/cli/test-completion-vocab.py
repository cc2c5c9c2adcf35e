#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The bash completion offers exactly the protocol's task kinds and task states.

The lists in cli/execctl.bash-completion are written by hand; this test compares what the
script completes for `--kind` and `--state` with the table in proto/proto.c, printed by
tests/cli/proto_vocab, so that a kind added to the table and forgotten in the script (as
wal_prealloc once was) fails here.
"""
import os
import shutil
import subprocess
import sys
import unittest


def complete(script, *words):
    """What the completion function offers for the last word of `execctl WORDS...`."""
    cmd = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
           '_execctl; printf "%s\\n" "${COMPREPLY[@]}"')
    p = subprocess.run(["bash", "-c", cmd, "bash", script, "execctl"] + list(words),
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, EXECCTL_SOCKET="/nonexistent/execd.sock"))
    if p.returncode != 0:
        raise AssertionError("completion failed: " + p.stderr)
    return sorted(w for w in p.stdout.split("\n") if w)


def table(which):
    """The names of one list of proto.h, in table order."""
    p = subprocess.run([os.environ["PROTO_VOCAB"], which], capture_output=True, text=True,
                       timeout=60, check=True)
    return [w for w in p.stdout.split("\n") if w]


class CompletionMatchesTable(unittest.TestCase):
    def setUp(self):
        self.script = os.environ.get("COMPLETION", "")
        if not self.script or not shutil.which("bash"):
            self.skipTest("no completion script or bash")
        if not os.access(os.environ.get("PROTO_VOCAB", ""), os.X_OK):
            self.skipTest("PROTO_VOCAB does not name the built tests/cli/proto_vocab")

    def test_kinds(self):
        kinds = table("kinds")
        self.assertIn("wal_prealloc", kinds)  # the table itself is read, not an empty list
        self.assertEqual(complete(self.script, "list", "--kind", ""), sorted(kinds))
        self.assertEqual(complete(self.script, "shutdown", "--kind", ""), sorted(kinds))

    def test_states(self):
        states = table("states")
        self.assertEqual(len(states), 4)
        self.assertEqual(complete(self.script, "list", "--state", ""), sorted(states))


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
