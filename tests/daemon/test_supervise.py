# SPDX-License-Identifier: MIT
"""Critical tasks are protected and a timeline's WAL receiver is supervised (issue 17, item 1),
against a real PostgreSQL 15 (tests/common/pg.sh; skipped, exit 77, without it):
 - task.cancel / task.shutdown of the control listener and the status task are refused with
   `protected` (execctl exit 1), and the daemon goes on answering;
 - task.cancel of a wal_receiver: a new receiver task is started after a backoff and streams on;
 - timeline.pause: no receiver, show says paused, timeline.json says so, a restart keeps it;
   timeline.resume: streams again;
 - task.shutdown of the timeline leaves it stopped (sticky) with the reason shown; resume is the
   way out;
 - an unreachable source: show says since when, and when the next attempt is."""
import json
import os

from execd_harness import Daemon, Postgres, check, execctl, require_binaries, wait_until

require_binaries()
pg = Postgres()
d = Daemon()


def show(tl):
    return d.ok("timeline.show", {"timeline": tl})["timeline"]


def tasks(kind, tl=None):
    args = {"kind": kind}
    if tl:
        args["timeline"] = tl
    return d.ok("task.list", args)["tasks"]


def wait_streaming(tl, what):
    wait_until(lambda: show(tl)["state"] == "streaming", what, d)


def streams_on(tl):
    """The timeline receives what the server writes from now on."""
    pg.psql("create table if not exists t (x int); insert into t select generate_series(1, 1000)")
    lsn = pg.current_lsn()
    r = d.request("timeline.wait_lsn", {"timeline": tl, "lsn": lsn, "timeout_ms": 60000})
    check(r.get("ok") is True, "wait_lsn %s: %r" % (lsn, r), d)


def error_code(r):
    return r.get("error", {}).get("code")


try:
    pg.start()
    d.start()
    ten = d.ok("tenant.create")["tenant"]["id"]
    tl = d.ok("timeline.create", {"tenant": ten, "source": pg.conninfo})["timeline"]["id"]
    wait_streaming(tl, "the timeline to stream")
    streams_on(tl)

    # the daemon's own critical tasks are protected
    for kind in ("control_listener", "status"):
        t = tasks(kind)
        check(len(t) == 1, "one %s task: %r" % (kind, t), d)
        r = d.request("task.cancel", {"id": t[0]["id"]})
        check(error_code(r) == "protected", "cancel of %s: %r" % (kind, r), d)
        r = d.request("task.shutdown", {"kind": kind})
        check(error_code(r) == "protected", "shutdown of %s: %r" % (kind, r), d)
        rc, _, err = execctl("cancel", str(t[0]["id"]), socket_path=d.sock)
        check(rc == 1 and "protected" in err, "execctl cancel %s: %d %s" % (kind, rc, err), d)
        check(not tasks(kind)[0]["cancel_requested"], "%s cancelled anyway" % kind, d)
    check(d.ok("status")["state"] == "running", "status after the refusals", d)

    # a cancelled receiver is restarted after a backoff, and streams on
    old = tasks("wal_receiver", tl)
    check(len(old) == 1, "one receiver: %r" % old, d)
    d.ok("task.cancel", {"id": old[0]["id"]})
    wait_until(lambda: [x["id"] for x in tasks("wal_receiver", tl)] not in ([], [old[0]["id"]]),
               "a new receiver task", d)
    wait_streaming(tl, "the restarted receiver to stream")
    check(show(tl)["restarts"] == 1, "restarts: %r" % show(tl), d)
    streams_on(tl)
    check("restarted as task" in d.read_log(), "no restart in the log", d)

    # pause: persisted before anything stops; no receiver, no GC; show says why
    r = d.ok("timeline.pause", {"timeline": tl})["timeline"]
    check(r["state"] == "paused" and r["paused"] is True, "pause result: %r" % r, d)
    check(not tasks("wal_receiver", tl) and not tasks("retention_gc", tl), "tasks after pause", d)
    meta = [os.path.join(root, "timeline.json") for root, _, files in os.walk(d.state)
            if "timeline.json" in files and root.endswith(tl)]
    check(len(meta) == 1, "timeline.json of %s: %r" % (tl, meta), d)
    with open(meta[0]) as f:
        check(json.load(f).get("paused") is True, "timeline.json not paused", d)
    rc, out, _ = execctl("timeline", "show", tl, socket_path=d.sock)
    check(rc == 0 and "Paused: yes" in out, "execctl timeline show: %s" % out, d)
    check(d.ok("timeline.pause", {"timeline": tl})["timeline"]["paused"], "pause twice", d)

    # ... and kept across a restart of the daemon
    check(d.stop() == 0, "exit status", d)
    d.start()
    check(show(tl)["state"] == "paused", "after restart: %r" % show(tl), d)
    check(not tasks("wal_receiver", tl), "a receiver after restart while paused", d)

    # resume: it streams again
    rc, out, err = execctl("timeline", "resume", tl, socket_path=d.sock)
    check(rc == 0, "execctl timeline resume: %d %s" % (rc, err), d)
    with open(meta[0]) as f:
        check(json.load(f).get("paused") is False, "timeline.json still paused", d)
    wait_streaming(tl, "the resumed timeline to stream")
    streams_on(tl)

    # task.shutdown of the timeline: sticky, nothing restarts it, show says why; resume does
    d.ok("task.shutdown", {"timeline": tl})
    s = show(tl)
    check(s["state"] == "stopped" and "resume" in (s["error"] or ""), "after shutdown: %r" % s, d)
    check(not tasks("wal_receiver", tl), "a receiver after task.shutdown", d)
    d.ok("timeline.resume", {"timeline": tl})
    wait_streaming(tl, "the timeline to stream after shutdown and resume")
    streams_on(tl)

    # an unreachable source: since when, and the next attempt
    bad = d.ok("timeline.create", {"tenant": ten,
                                   "source": "host=%s/nowhere port=1 user=x" % d.tmp})["timeline"]["id"]
    wait_until(lambda: show(bad)["unreachable_since_ms"] is not None, "unreachable_since_ms", d)
    s = show(bad)
    check(s["state"] in ("backoff", "connecting") and s["error"], "unreachable: %r" % s, d)
    wait_until(lambda: show(bad)["retry_at_ms"] is not None, "retry_at_ms in backoff", d)
    rc, out, _ = execctl("timeline", "show", bad, socket_path=d.sock)
    check(rc == 0 and "Unreachable: for" in out, "execctl timeline show: %s" % out, d)
    r = d.request("timeline.resume", {"timeline": "f" * 32})
    check(error_code(r) == "not_found", "resume of no timeline: %r" % r, d)

    check(d.stop() == 0, "exit status", d)
    print("ok")
finally:
    d.cleanup()
    pg.stop()
