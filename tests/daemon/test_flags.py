# SPDX-License-Identifier: MIT
"""execd's command line: --help, --version, bad flags exit 2 with a clear message, the config
file is read and flags override it."""
import os
import subprocess
import tempfile

from execd_harness import EXECD, Daemon, check, skip

if not EXECD:
    skip("EXECD is not set")


def run(*args):
    return subprocess.run([EXECD] + list(args), capture_output=True, text=True, timeout=60)


p = run("--version")
check(p.returncode == 0 and p.stdout.startswith("execd "), "--version: %r" % (p,))
p = run("--help")
check(p.returncode == 0 and "--shutdown-timeout" in p.stdout and "--wal-retention-bytes" in p.stdout
      and "--reserved-connections" in p.stdout and "--max-request-timeout" in p.stdout
      and "--wal-compress-jobs" in p.stdout and "--wal-recycle-after" in p.stdout,
      "--help: %r" % (p,))
for bad, what in ((["--bogus"], "unknown option"), (["--workers"], "needs a value"),
                  (["--workers", "0"], "invalid value"), (["--log-level", "loud"], "invalid value"),
                  (["--shutdown-timeout", "x"], "invalid value"), (["extra"], "unexpected argument"),
                  (["--config", "/nonexistent/execd.conf"], "cannot open config file"),
                  (["--max-connections-per-uid", "0"], "invalid value"),
                  (["--max-request-timeout", "0"], "invalid value"),
                  (["--max-request-timeout", "86401"], "invalid value"),
                  (["--socket-group", ""], "invalid value"),
                  (["--wal-compress-jobs", "-1"], "invalid value"),
                  (["--wal-compress-jobs", "1025"], "invalid value"),
                  (["--wal-recycle-after", "86401"], "invalid value"),
                  (["--max-connections", "4", "--reserved-connections", "4"],
                   "must be less than --max-connections")):
    p = run(*bad)
    check(p.returncode == 2 and what in p.stderr, "%r: %r" % (bad, p))

with tempfile.TemporaryDirectory() as tmp:
    conf = os.path.join(tmp, "execd.conf")
    with open(conf, "w") as f:
        f.write("# comment\nmax-connections = 1\nno-such-key = 3\n")
    p = run("--config", conf)
    check(p.returncode == 2 and "unknown key 'no-such-key'" in p.stderr and ":3" in p.stderr,
          "bad config key: %r" % (p,))
    with open(conf, "w") as f:
        f.write("# comment\nmax-connections = 1\nlog-level = \"debug\"\n")
    # the file's max-connections = 1 applies: a second connection is refused
    d = Daemon(extra=["--config", conf])
    try:
        d.start()
        held = d.connect()
        held.sendall(b'{"version":1,"command":"status"}\n')
        from execd_harness import read_line
        check(read_line(held) is not None, "first connection", d)
        r = d.request("status")
        check(r["ok"] is False and r["error"]["code"] == "unavailable", "config not applied: %r" % r, d)
        held.close()
        check(d.stop() == 0, "exit status", d)
    finally:
        d.cleanup()
    # a flag overrides the file
    d = Daemon(extra=["--config", conf, "--max-connections", "5"])
    try:
        d.start()
        held = d.connect()
        held.sendall(b'{"version":1,"command":"status"}\n')
        check(read_line(held) is not None, "first connection", d)
        check(d.request("status")["ok"] is True, "flag did not override the file", d)
        held.close()
        check(d.stop() == 0, "exit status", d)
    finally:
        d.cleanup()
print("ok")
