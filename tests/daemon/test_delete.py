# SPDX-License-Identifier: MIT
"""A timeline delete (and a tenant delete) leaves no files and no tasks; the id can be reused."""
import os

from execd_harness import Daemon, check, wait_until

d = Daemon()
try:
    d.start()
    t = d.ok("tenant.create")["tenant"]["id"]
    # a source that cannot connect: the WAL receiver runs (retrying) until the delete stops it
    tl = d.ok("timeline.create", {"tenant": t, "source": "host=/nonexistent-execd-test port=1 dbname=x"})["timeline"]["id"]
    keep = d.ok("timeline.create", {"tenant": t})["timeline"]["id"]
    tldir = os.path.join(d.state, "tenants", t, "timelines", tl)
    check(os.path.isdir(tldir), "timeline directory missing", d)
    tasks = [x for x in d.ok("task.list")["tasks"] if x["timeline"] == tl]
    print("tasks of the timeline before delete:", [(x["kind"], x["name"]) for x in tasks])

    r = d.ok("timeline.delete", {"timeline": tl[:6]})
    check(r["timeline"] == tl, "wrong timeline deleted: %r" % r, d)
    check(r["tasks_ended"] == len(tasks), "tasks_ended %r, expected %d" % (r, len(tasks)), d)
    check(not os.path.exists(tldir), "timeline files left behind", d)
    # the delete request itself is bound to the timeline; it ends right after its reply
    wait_until(lambda: not [x for x in d.ok("task.list")["tasks"] if x["timeline"] == tl],
               "no task of the deleted timeline", d)
    left = [x for x in d.ok("task.list")["tasks"] if x["timeline"] == tl and x["kind"] != "control_request"]
    check(left == [], "tasks left behind: %r" % left, d)
    r = d.request("timeline.show", {"timeline": tl})
    check(r["ok"] is False and r["error"]["code"] == "not_found", "show after delete: %r" % r, d)
    check(os.path.isdir(os.path.join(d.state, "tenants", t, "timelines", keep)), "other timeline lost", d)

    # the same id can be created again once the delete finished
    r = d.ok("timeline.create", {"tenant": t, "id": tl})
    check(r["timeline"]["id"] == tl, "re-create: %r" % r, d)

    tdir = os.path.join(d.state, "tenants", t)
    r = d.ok("tenant.delete", {"tenant": t})
    check(r["tenant"] == t and r["tasks_ended"] >= 1, "tenant.delete: %r" % r, d)
    check(not os.path.exists(tdir), "tenant files left behind", d)
    left = [x for x in d.ok("task.list")["tasks"] if x["tenant"] == t and x["kind"] != "control_request"]
    check(left == [], "tenant tasks left behind: %r" % left, d)
    wait_until(lambda: not [x for x in d.ok("task.list")["tasks"] if x["tenant"] == t],
               "no task of the deleted tenant", d)
    check(d.ok("tenant.list")["tenants"] == [], "tenant still listed", d)
    r = d.request("tenant.delete", {"tenant": t})
    check(r["error"]["code"] == "not_found", "second delete: %r" % r, d)
    check(d.stop() == 0, "exit status", d)
    print("ok")
finally:
    d.cleanup()
