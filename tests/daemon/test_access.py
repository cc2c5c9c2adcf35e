# SPDX-License-Identifier: MIT
"""An unprivileged uid is refused mutating requests with permission_denied (SO_PEERCRED), and the
refusal is logged. The socket's mode is opened up here so that the daemon's own check, not the
file system, is what refuses."""
import json
import os
import shutil
import subprocess
import sys

from execd_harness import Daemon, check, skip

if os.geteuid() != 0:
    skip("needs root to run a client as uid 65534")
if not shutil.which("setpriv"):
    skip("setpriv (util-linux) not found")

CLIENT = r'''
import json, socket, sys
out = []
for cmd in ("tenant.create", "status"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(sys.argv[1])
    s.sendall((json.dumps({"version": 1, "command": cmd}) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(4096)
        if not c:
            break
        buf += c
    out.append(json.loads(buf))
print(json.dumps(out))
'''

d = Daemon()
try:
    d.start()
    os.chmod(d.sock, 0o666)
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        sys.executable, "-c", CLIENT, d.sock], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "client failed: %s %s" % (p.stdout, p.stderr), d)
    create, status = json.loads(p.stdout)
    check(create["ok"] is False and create["error"]["code"] == "permission_denied"
          and create["error"]["errno"] == 13, "mutating request not refused: %r" % create, d)
    # not in group execd either: read-only requests are refused too
    check(status["ok"] is False and status["error"]["code"] == "permission_denied",
          "read-only request by a stranger: %r" % status, d)
    check(d.ok("tenant.list")["tenants"] == [], "a refused request changed state", d)
    # root (this process) may
    d.ok("tenant.create")
    with open(d.logpath) as f:
        check("refused 'tenant.create' from uid 65534" in f.read(), "refusal not logged", d)
    # a member of group execd (where that group exists) may read but not mutate
    try:
        import grp
        gid = grp.getgrnam("execd").gr_gid
    except KeyError:
        gid = None
        print("group execd does not exist: the read-only member case is not tested")
    if gid is not None:
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--groups=%d" % gid,
                            sys.executable, "-c", CLIENT, d.sock], capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, "member client failed: %s %s" % (p.stdout, p.stderr), d)
        create, status = json.loads(p.stdout)
        check(create["error"]["code"] == "permission_denied", "member mutating: %r" % create, d)
        check(status["ok"] is True, "member read-only refused: %r" % status, d)
    check(d.stop() == 0, "exit status", d)
    print("ok")
finally:
    d.cleanup()
