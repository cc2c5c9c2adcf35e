# SPDX-License-Identifier: MIT
"""Lifecycle: READY=1, STATUS= with counts, WATCHDOG=1 when the watchdog is on, STOPPING=1 on
SIGTERM; socket activation (sd_listen_fds) through systemd-socket-activate when installed."""
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from execd_test import EXECD, WAIT, Daemon, check, fail, read_line

# ---- sd_notify ----
d = Daemon(env={"WATCHDOG_USEC": "100000"})  # 100 ms: execd pets at half that
try:
    d.start()  # waits for READY=1
    seen = set()
    deadline = time.monotonic() + WAIT
    while not ({"WATCHDOG=1", "STATUS"} <= seen):
        left = deadline - time.monotonic()
        if left <= 0:
            fail("missing notifications, saw %r" % seen, d)
        r, _, _ = select.select([d.notify], [], [], left)
        if r:
            for line in d.notify.recv(4096).decode().split("\n"):
                if line == "WATCHDOG=1":
                    seen.add(line)
                elif line.startswith("STATUS=") and "tenants" in line and "tasks" in line:
                    seen.add("STATUS")
    d.proc.send_signal(15)
    d.wait_notify("STOPPING=1")
    check(d.proc.wait(timeout=WAIT) == 0, "exit status after SIGTERM", d)
finally:
    d.cleanup()

# ---- socket activation ----
act = shutil.which("systemd-socket-activate")
if not act:
    print("socket activation part skipped: systemd-socket-activate not installed")
    print("ok")
    sys.exit(0)
tmp = tempfile.mkdtemp(prefix="execd-test-act-")
try:
    path = os.path.join(tmp, "activated.sock")
    unused = os.path.join(tmp, "unused.sock")
    log = open(os.path.join(tmp, "log"), "wb")
    p = subprocess.Popen([act, "-l", path, EXECD, "--state-dir", os.path.join(tmp, "state"),
                          "--socket", unused], stdout=log, stderr=log)
    deadline = time.monotonic() + WAIT
    while not os.path.exists(path):  # created by systemd-socket-activate itself
        if time.monotonic() > deadline or p.poll() is not None:
            fail("systemd-socket-activate did not create %s" % path)
        time.sleep(0.01)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(WAIT)
    s.connect(path)  # queued in the backlog until execd (started now) accepts it
    s.sendall(b'{"version":1,"command":"status"}\n')
    line = read_line(s)
    s.close()
    check(line is not None and json.loads(line)["ok"] is True, "no answer on the activated socket: %r" % line)
    check(not os.path.exists(unused), "execd bound --socket although a socket was passed")
    p.send_signal(15)
    rc = p.wait(timeout=WAIT)
    log.close()
    if rc != 0:
        sys.stdout.write(open(os.path.join(tmp, "log")).read())
    check(rc == 0, "exit status %d" % rc)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("ok")
