# SPDX-License-Identifier: MIT
"""Every message carries the fields of the task that caused it, also when a blocking job logs it
(issue 17, item 5): "tenant created" and "timeline created" are logged on the blocking pool by the
request's create job, "timeline paused" by the pause's. On stderr the fields are inline
(`task=ID/KIND/NAME tenant=... timeline=...`); the journal gets the same as TASK_ID, TASK_KIND,
TASK_NAME, TENANT_ID, TIMELINE_ID (checked under systemd by tests/systemd/test-nspawn.sh). And no
file of daemon/ but task_mgr_blocking.c and main.c (no task there) calls ex_spawn_blocking()."""
import os
import re

import execd_harness
from execd_harness import Daemon, check, fail

# Every blocking job of a task goes through task_mgr_spawn_blocking(), which carries the task's
# identity; ex_spawn_blocking() directly is for what runs outside tasks (main.c's root future).
DAEMON_SRC = os.path.join(os.path.dirname(os.path.abspath(execd_harness.__file__)), "..", "..",
                          "daemon")
for root, _, files in os.walk(DAEMON_SRC):
    for name in files:
        if name.endswith(".c") and name not in ("task_mgr_blocking.c", "main.c"):
            with open(os.path.join(root, name)) as f:
                if "ex_spawn_blocking(" in f.read():
                    fail("%s calls ex_spawn_blocking(): use task_mgr_spawn_blocking()" % name)


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
