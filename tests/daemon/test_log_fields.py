# SPDX-License-Identifier: MIT
"""Every message carries the fields of the task that caused it, also when a blocking job logs it
(issue 17, item 5): "tenant created" and "timeline created" are logged on the blocking pool by the
request's create job, "timeline paused" by the pause's. On stderr the fields are inline
(`task=ID/KIND/NAME tenant=... timeline=...`); the journal gets the same as TASK_ID, TASK_KIND,
TASK_NAME, TENANT_ID, TIMELINE_ID (checked under systemd by tests/systemd/test-nspawn.sh)."""
import re

from execd_harness import Daemon, check


def line_of(d, msg):
    lines = [x for x in d.read_log().splitlines() if x.endswith(": " + msg)]
    check(len(lines) == 1, "one line ending in %r: %r" % (msg, lines), d)
    return lines[0]


d = Daemon()
try:
    d.start()
    ten = d.ok("tenant.create")["tenant"]["id"]
    tl = d.ok("timeline.create", {"tenant": ten})["timeline"]["id"]
    d.ok("timeline.pause", {"timeline": tl})
    for msg, name, tenant, timeline in (("tenant created", "tenant.create", ten, None),
                                        ("timeline created", "timeline.create", ten, tl),
                                        ("timeline paused", "timeline.pause", ten, tl)):
        line = line_of(d, msg)
        check(re.search(r" task=\d+/control_request/%s " % re.escape(name), line),
              "no task fields in %r" % line, d)
        check(" tenant=%s" % tenant in line, "no tenant in %r" % line, d)
        if timeline:
            check(" timeline=%s" % timeline in line, "no timeline in %r" % line, d)
    check(d.stop() == 0, "exit status", d)
    print("ok")
finally:
    d.cleanup()
