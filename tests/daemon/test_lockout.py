# SPDX-License-Identifier: MIT
"""A read-only user cannot lock root out of the control socket (issue 15, item 1).

Readers are real non-root uids whose group is the socket's group (--socket-group takes a gid, so
no group has to exist on the machine). Each reader takes every slot it may have with
timeline.wait_lsn requests for an LSN that never comes (timeout_ms 24 h), then hangs up:
- while they hold their slots root's status succeeds: per-uid limits and the slots reserved for
  root and the daemon's user leave room (no wait: the refusals are immediate answers);
- when they hang up, their requests are cancelled and their slots freed (polled: the wait_lsn
  tasks vanish and status counts only root's own connection), long before any timeout;
- with no reservation and a reader that may take every slot, root is refused while the reader
  holds them, and admitted within a second of the hang-up (the bound the issue asks for);
- a mutating request whose client hangs up still completes (rule 5);
- timeout_ms above --max-request-timeout is lowered to it.
"""
import json
import os
import shutil
import subprocess
import sys
import time

from execd_harness import WAIT, Daemon, check, skip, wait_until

if os.geteuid() != 0:
    skip("needs root to run readers as other uids")
if not shutil.which("setpriv"):
    skip("setpriv (util-linux) not found")

GID = 65534  # the socket's group in these tests: --socket-group 65534
NEVER = "FF/0"  # a timeline without a source never reaches it

# Takes up to N slots: `status` first on each connection (its answer says whether the
# connection got a slot), then a wait_lsn that stays in flight. Prints what it got, then waits
# for a line on stdin and exits: exiting closes every socket at once, the hang-up under test.
READER = r'''
import json, socket, sys
path, tl, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
held, refused = [], []
def line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(65536)
        if not c:
            return None
        buf += c
    return json.loads(buf)
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    try:
        s.sendall(b'{"version":1,"command":"status"}\n')
    except OSError:
        pass
    r = line(s)
    if r is None or not r["ok"]:
        refused.append(r["error"] if r else None)
        s.close()
        continue
    s.sendall((json.dumps({"version": 1, "command": "timeline.wait_lsn",
                           "args": {"timeline": tl, "lsn": "FF/0",
                                    "timeout_ms": 86400000}}) + "\n").encode())
    held.append(s)
print(json.dumps({"held": len(held), "refused": refused}), flush=True)
sys.stdin.readline()
'''


class Reader:
    def __init__(self, d, uid, tl, n):
        self.p = subprocess.Popen(["setpriv", "--reuid=%d" % uid, "--regid=%d" % GID,
                                   "--clear-groups", sys.executable, "-c", READER, d.sock, tl,
                                   str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        out = self.p.stdout.readline()
        check(out != "", "reader uid %d failed" % uid, d)
        self.got = json.loads(out)

    def hang_up(self):
        self.p.stdin.write("\n")
        self.p.stdin.flush()
        self.p.wait(WAIT)


def waiting(d):
    return [t for t in d.ok("task.list", {"kind": "control_request"})["tasks"]
            if t["name"] == "timeline.wait_lsn"]


def timeline(d):
    ten = d.ok("tenant.create")["tenant"]["id"]
    return d.ok("timeline.create", {"tenant": ten})["timeline"]["id"]


def settled(d):
    """Wait until only the asking connection is open: the server notices the end of the
    harness's earlier connections on its own time, and the readers' counts must not depend on
    it."""
    wait_until(lambda: d.ok("status")["connections"] == 1, "earlier connections to close", d)


def refused_codes(reader):
    return [(e or {}).get("code") for e in reader.got["refused"]]


# ---- per-uid limits and reserved slots: root is never refused ----
d = Daemon(extra=["--socket-group", str(GID), "--max-connections", "10",
                  "--reserved-connections", "4", "--max-connections-per-uid", "3"])
try:
    d.start()
    os.chmod(d.sock, 0o666)  # the daemon's own checks, not the file's mode, are under test
    tl = timeline(d)
    settled(d)
    a = Reader(d, 65534, tl, 5)
    check(a.got["held"] == 3 and refused_codes(a) == ["unavailable"] * 2,
          "reader A: %r" % a.got, d)
    check("--max-connections-per-uid" in a.got["refused"][0]["message"], "A: %r" % a.got, d)
    b = Reader(d, 65533, tl, 5)
    check(b.got["held"] == 3, "reader B: %r" % b.got, d)
    # 6 of 10 slots are taken: the last 4 are root's and the daemon user's
    c = Reader(d, 65532, tl, 2)
    check(c.got["held"] == 0 and refused_codes(c) == ["unavailable"] * 2, "C: %r" % c.got, d)
    check("--reserved-connections" in c.got["refused"][0]["message"], "C: %r" % c.got, d)
    c.hang_up()
    wait_until(lambda: len(waiting(d)) == 6, "the readers' 6 wait_lsn requests", d)
    st = d.request("status")
    check(st["ok"] is True and st["result"]["connections"] >= 7,
          "root's status while the readers hold their slots: %r" % st, d)
    a.hang_up()
    b.hang_up()
    # cancelled, not timed out (24 h; lowered to the default maximum, 1 h): the tasks end and
    # the slots are free, only root's own connection is left
    wait_until(lambda: not waiting(d) and d.ok("status")["connections"] == 1,
               "the readers' requests and slots to go after the hang-up", d)
    a = Reader(d, 65534, tl, 3)
    check(a.got["held"] == 3, "reader A again after the hang-up: %r" % a.got, d)
    a.hang_up()
    with open(d.logpath) as f:
        log = f.read()
    check("hung up before the reply" in log, "hang-up not logged", d)
    check("timeline.wait_lsn: cancelled" not in log, "cancellation warned about", d)
    check(d.stop() == 0, "exit status", d)
finally:
    d.cleanup()

# ---- no reservation, a reader that may take everything: out within a second of the hang-up
d = Daemon(extra=["--socket-group", str(GID), "--max-connections", "4",
                  "--reserved-connections", "0", "--max-connections-per-uid", "4"])
try:
    d.start()
    os.chmod(d.sock, 0o666)
    tl = timeline(d)
    settled(d)
    a = Reader(d, 65534, tl, 5)
    check(a.got["held"] == 4 and refused_codes(a) == ["unavailable"], "reader: %r" % a.got, d)
    r = d.request("status")
    check(r["ok"] is False and r["error"]["code"] == "unavailable", "root admitted: %r" % r, d)
    a.hang_up()
    hung_up = time.monotonic()
    while True:
        r = d.request("status")
        if r["ok"]:
            break
        # the bound the issue demands: root kept out no more than a second after the hang-up
        check(time.monotonic() - hung_up < 1.0, "root still refused 1 s after the hang-up", d)
        time.sleep(0.01)  # retry interval of the bounded loop, not a synchronisation
    wait_until(lambda: not waiting(d), "the cancelled requests to end", d)
    check(d.stop() == 0, "exit status", d)
finally:
    d.cleanup()

# ---- a mutating request whose client hangs up completes; long waits are bounded ----
d = Daemon(extra=["--max-request-timeout", "0.2"])
try:
    d.start()
    ids = ["%032x" % (0xabc0 + i) for i in range(5)]
    for tid in ids:
        s = d.connect()
        s.sendall((json.dumps({"version": 1, "command": "tenant.create",
                               "args": {"id": tid}}) + "\n").encode())
        s.close()  # at once: the request is read, then the hang-up is seen while it runs

    def created():
        return [t["id"] for t in d.ok("tenant.list")["tenants"]]
    wait_until(lambda: sorted(created()) == ids and
               not [t for t in d.ok("task.list", {"kind": "control_request"})["tasks"]
                    if t["name"] == "tenant.create"], "the five tenants", d)
    for tid in ids:
        check(os.path.isfile(os.path.join(d.state, "tenants", tid, "tenant.json")),
              "tenant %s not persisted" % tid, d)
    tl = d.ok("timeline.create", {"tenant": ids[0]})["timeline"]["id"]
    r = d.request("timeline.wait_lsn", {"timeline": tl, "lsn": NEVER, "timeout_ms": 86400000})
    check(r["ok"] is False and r["error"]["code"] == "timeout" and
          "200 ms" in r["error"]["message"], "timeout_ms not lowered: %r" % r, d)
    r = d.request("timeline.wait_lsn", {"timeline": tl, "lsn": NEVER, "timeout_ms": 86400001})
    check(r["ok"] is False and r["error"]["code"] == "bad_request", "over 24 h: %r" % r, d)
    check(d.stop() == 0, "exit status", d)
    print("ok")
finally:
    d.cleanup()
