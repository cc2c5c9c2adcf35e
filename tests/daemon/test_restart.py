# SPDX-License-Identifier: MIT
"""SIGTERM exits 0 with state persisted; a restart restores tenants and timelines and restarts
their tasks; an unfinished create (directory without metadata) is cleaned up at start."""
import os
import sys

from execd_harness import Daemon, check

d = Daemon()
try:
    d.start()
    t = d.ok("tenant.create")["tenant"]["id"]
    t2 = d.ok("tenant.create", {"id": "0123456789abcdef0123456789abcdef"})["tenant"]["id"]
    check(t2 == "0123456789abcdef0123456789abcdef", "explicit id not kept")
    tl1 = d.ok("timeline.create", {"tenant": t})["timeline"]["id"]
    tl2 = d.ok("timeline.create", {"tenant": t, "slot": "s1", "start_lsn": "0/16B3748"})["timeline"]["id"]
    tasks = d.ok("task.list", {"kind": "tenant_manager"})["tasks"]
    check(sorted(x["tenant"] for x in tasks) == sorted([t, t2]), "tenant managers: %r" % tasks, d)
    before_tl = sorted((x["id"], x["tenant"]) for x in d.ok("timeline.list")["timelines"])

    rc = d.stop()
    check(rc == 0, "SIGTERM exit status %d, expected 0" % rc, d)
    for tid in (t, t2):
        check(os.path.isfile(os.path.join(d.state, "tenants", tid, "tenant.json")), "tenant.json missing")
    for tl in (tl1, tl2):
        check(os.path.isfile(os.path.join(d.state, "tenants", t, "timelines", tl, "timeline.json")),
              "timeline.json missing")
    check(not os.path.exists(d.sock), "socket file left behind", d)

    # an unfinished create: a tenant directory without its metadata file, with the create's mark
    # (without the mark it is quarantined instead: test_quarantine.py)
    junk = os.path.join(d.state, "tenants", "ffffffffffffffffffffffffffffffff")
    os.makedirs(os.path.join(junk, "timelines"))
    open(os.path.join(junk, ".creating"), "w").close()

    d.start()
    tenants = sorted(x["id"] for x in d.ok("tenant.list")["tenants"])
    check(tenants == sorted([t, t2]), "tenants after restart: %r" % tenants, d)
    after_tl = sorted((x["id"], x["tenant"]) for x in d.ok("timeline.list")["timelines"])
    check(after_tl == before_tl, "timelines after restart: %r vs %r" % (after_tl, before_tl), d)
    shown = d.ok("timeline.show", {"timeline": tl2})["timeline"]
    check(shown["slot"] == "s1", "slot not restored: %r" % shown, d)
    tasks = d.ok("task.list", {"kind": "tenant_manager"})["tasks"]
    check(sorted(x["tenant"] for x in tasks) == sorted([t, t2]), "tasks not restarted: %r" % tasks, d)
    check(not os.path.exists(junk), "unfinished tenant directory not removed", d)
    check(not os.path.exists(os.path.join(d.state, "quarantine")), "an unfinished create was quarantined", d)
    st = d.ok("status")
    check(st["tenants"] == 2 and st["timelines"] == 2 and st["state"] == "running", "status %r" % st, d)
    rc = d.stop(2)  # SIGINT behaves as SIGTERM
    check(rc == 0, "SIGINT exit status %d" % rc, d)

    # SIGQUIT exits at once (no graceful shutdown); the persisted state is still whole
    d.start()
    rc = d.stop(3)
    check(rc == 128 + 3, "SIGQUIT exit status %d" % rc, d)
    d.start()
    check(len(d.ok("tenant.list")["tenants"]) == 2, "state after SIGQUIT", d)
    check(d.stop() == 0, "exit status", d)
    print("ok")
finally:
    d.cleanup()
