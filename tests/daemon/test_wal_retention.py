# SPDX-License-Identifier: MIT
"""Retention removes nothing while the timeline's source is unreachable (issue 16): the archive
must not age out during the very outage it exists for.

A timeline streams a few segments with no retention limit; execd stops, and so does PostgreSQL.
execd starts again with limits that would remove every complete segment (1 byte, 1 s): while the
receiver cannot connect, retention passes report themselves paused and every segment stays.
Once PostgreSQL is back and the timeline streams, retention resumes and the segments go.
Then `timeline delete --keep-data` detaches it: its tasks end, `wal get` still serves its WAL,
also after a restart.
"""
import json
import os

from execd_harness import Daemon, check, execctl, require_binaries, wait_until
from pgcluster import PgCluster

require_binaries()
PgCluster.require()

pg = PgCluster.start(port=5474)
d = Daemon()
d2 = None


def ok(daemon, *args):
    rc, out, err = execctl(*args, socket_path=daemon.sock)
    check(rc == 0, "execctl %s: exit %d: %s%s" % (" ".join(args), rc, out, err), daemon)
    return out


def show(daemon, tl):
    return json.loads(ok(daemon, "--json", "timeline", "show", tl))["timeline"]


def segments(daemon, tl):
    t = json.loads(ok(daemon, "--json", "wal", "list", tl))["wal"]["pg_timelines"]
    return t[0]["segments"] if t else 0


try:
    d.start()
    ten = ok(d, "tenant", "create").strip()
    tl = ok(d, "timeline", "create", "--tenant", ten, "--source", pg.conninfo).strip()
    ok(d, "timeline", "wait-lsn", tl, "--lsn", pg.current_lsn(), "--timeout", "60")
    for _ in range(3):
        pg.switch_wal()
    ok(d, "timeline", "wait-lsn", tl, "--lsn", pg.current_lsn(), "--timeout", "60")
    before = segments(d, tl)
    check(before >= 3, "segments streamed: %d" % before, d)
    check(d.stop() == 0, "execd exit status", d)
    pg.stop_server()

    # the same state, limits that would remove every complete segment, the source down
    d2 = Daemon(tmpdir=d.tmp, extra=["--wal-retention-bytes", "1", "--wal-retention-age", "1"])
    d2.start()
    wait_until(lambda: show(d2, tl)["retention_paused"], "retention paused", d2)
    s = show(d2, tl)
    check(s["state"] in ("connecting", "backoff"), "state with the source down: %r" % s, d2)
    check(segments(d2, tl) == before, "a segment was removed while the source was down", d2)

    # the source is back: the timeline streams and retention removes what the limits say
    pg.start_server()
    wait_until(lambda: show(d2, tl)["state"] == "streaming", "streaming again", d2)
    wait_until(lambda: segments(d2, tl) < before, "retention after the outage", d2)
    check(not show(d2, tl)["retention_paused"], "retention still paused", d2)
    with open(d2.logpath) as f:
        log = f.read()
    check("retention paused" in log and "retention resumed" in log, "pause not logged", d2)

    # detach (as `timeline delete --keep-data`): its tasks end, its WAL stays readable, also
    # after a restart, and nothing follows the source any more
    ok(d2, "timeline", "delete", "--keep-data", tl)
    check(show(d2, tl)["state"] == "detached", "state after detach: %r" % show(d2, tl), d2)
    tasks = json.loads(ok(d2, "--json", "list", "--timeline", tl))["tasks"]
    check(not [t for t in tasks if t["kind"] != "control_request"],
          "tasks of a detached timeline: %r" % tasks, d2)
    partial = json.loads(ok(d2, "--json", "wal", "list", tl))["wal"]["pg_timelines"][-1]["partial"]
    out = os.path.join(d.tmp, "out")
    ok(d2, "wal", "get", tl, partial[:24], out)
    check(os.path.getsize(out) == 16 << 20, "wal get after detach", d2)
    check(d2.stop() == 0, "execd exit status", d2)
    d2.start()
    check(show(d2, tl)["state"] == "detached", "detached after a restart", d2)
    ok(d2, "wal", "get", tl, partial[:24], out)
    check(d2.stop() == 0, "execd exit status", d2)
    print("ok")
finally:
    if d2:
        d2.cleanup()
    d.cleanup()
    pg.cleanup()
