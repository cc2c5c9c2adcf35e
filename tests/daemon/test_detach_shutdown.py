# SPDX-License-Identifier: MIT
"""Rule 3 in the daemon (issue 17, item 2): SIGTERM while a detached task is in the middle of a
write. The task is the request task of a timeline.pause (detached from its connection, rule 5);
its write of timeline.json is held half done (written, not yet synced nor renamed) by the fault
injection of daemon/fault.h, which blocks on FIFOs: no sleeps.
 - released after SIGTERM: execd waits for it, the write completes (timeline.json says paused,
   also after a restart), the client gets its response, execd exits 0;
 - never released: at --shutdown-timeout execd names the task in the log and exits 1; the file
   still holds its old content (the write was crash-safe)."""
import json
import os
import signal

from execd_harness import WAIT, Daemon, check, fail, read_line, wait_until


class Held(Exception):
    pass


def on_alarm(signum, frame):
    raise Held()


def fifo_open(path, flags):
    """Open a FIFO of the fault injection, failing the test after WAIT seconds (the alarm)."""
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(WAIT))
    try:
        return os.open(path, flags)
    except Held:
        return None
    finally:
        signal.alarm(0)


def setup(d):
    """A timeline, the FIFOs, and a timeline.pause whose write is now held. Returns the
    connection waiting for the pause's response, the timeline id and its timeline.json."""
    ten = d.ok("tenant.create")["tenant"]["id"]
    tl = d.ok("timeline.create", {"tenant": ten})["timeline"]["id"]
    meta = os.path.join(d.state, "tenants", ten, "timelines", tl, "timeline.json")
    check(os.path.isfile(meta), "no %s" % meta, d)
    fault = d.env["EXECD_FAULT_HOLD_WRITE"]
    os.mkfifo(os.path.join(fault, "reached"))
    os.mkfifo(os.path.join(fault, "release"))
    conn = d.connect()
    conn.sendall((json.dumps({"version": 1, "id": 1, "command": "timeline.pause",
                              "args": {"timeline": tl}}) + "\n").encode())
    fd = fifo_open(os.path.join(fault, "reached"), os.O_RDONLY)
    if fd is None:
        fail("the write of timeline.json was not held", d)
    name = os.read(fd, 256).decode().strip()
    os.close(fd)
    os.unlink(os.path.join(fault, "reached"))  # later writes pass
    check(name == "timeline.json", "held the write of %r" % name, d)
    return conn, tl, meta


def paused_on_disk(meta):
    with open(meta) as f:
        return json.load(f).get("paused") is True


def shutting_down(d):
    d.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "stopping control connections and requests" in d.read_log(),
               "the shutdown to reach the control requests", d)
    check(d.proc.poll() is None, "execd exited while a detached write was held", d)


def released(tmp):
    """SIGTERM while the write is held, then released: it completes, execd exits 0."""
    fault = os.path.join(tmp, "fault1")
    os.mkdir(fault)
    d = Daemon(env={"EXECD_FAULT_HOLD_WRITE": fault})
    try:
        d.start()
        conn, tl, meta = setup(d)
        check(not paused_on_disk(meta), "paused before the write completed", d)
        shutting_down(d)
        fd = fifo_open(os.path.join(fault, "release"), os.O_WRONLY)
        check(fd is not None, "cannot release the write", d)
        os.write(fd, b"go\n")
        os.close(fd)
        # the connection waited for it as well: the response is not lost either
        line = read_line(conn)
        check(line is not None and json.loads(line).get("ok") is True,
              "the pause's response: %r" % line, d)
        rc = d.stop()
        check(rc == 0, "exit status %d after the detached write completed" % rc, d)
        check(paused_on_disk(meta), "the held write did not complete", d)
        check("still running at the shutdown deadline" not in d.read_log(), "a straggler", d)
        conn.close()
        d.start()  # the completed write is what the daemon loads
        check(d.ok("timeline.show", {"timeline": tl})["timeline"]["paused"] is True,
              "not paused after the restart", d)
        check(d.stop() == 0, "exit status", d)
    finally:
        d.cleanup()


def deadline(tmp):
    """SIGTERM while the write is held for good: the straggler is named, execd exits 1."""
    fault = os.path.join(tmp, "fault2")
    os.mkdir(fault)
    d = Daemon(env={"EXECD_FAULT_HOLD_WRITE": fault}, extra=["--shutdown-timeout", "2"])
    try:
        d.start()
        conn, _, meta = setup(d)
        shutting_down(d)
        rc = d.stop()
        log = d.read_log()
        check(rc == 1, "exit status %d with a straggler" % rc, d)
        check("still running at the shutdown deadline" in log and "'timeline.pause'" in log,
              "the straggler is not named", d)
        check(not paused_on_disk(meta), "a write cut short changed timeline.json", d)
        conn.close()
    finally:
        d.cleanup()


base = Daemon()  # only for its temporary directory
try:
    released(base.tmp)
    deadline(base.tmp)
    print("ok")
finally:
    base.cleanup()
