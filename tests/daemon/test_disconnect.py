# SPDX-License-Identifier: MIT
"""A client that disconnects right after sending a request does not cut it short: the operation
happens exactly once (every request runs in a task of its own; neon issue 3478, seed 000)."""
import os

from execd_harness import Daemon, check, wait_until

d = Daemon()
try:
    d.start()

    def send_and_vanish(command, args):
        s = d.connect()
        import json
        s.sendall((json.dumps({"version": 1, "command": command, "args": args}) + "\n").encode())
        s.close()

    def request_tasks(name):
        return [x for x in d.ok("task.list", {"kind": "control_request"})["tasks"] if x["name"] == name]

    tid = "5555aaaa5555aaaa5555aaaa5555aaaa"
    send_and_vanish("tenant.create", {"id": tid})
    wait_until(lambda: not request_tasks("tenant.create") and
               any(x["id"] == tid for x in d.ok("tenant.list")["tenants"]), "the tenant to appear", d)
    tenants = [x["id"] for x in d.ok("tenant.list")["tenants"]]
    check(tenants.count(tid) == 1, "tenant present %d times" % tenants.count(tid), d)
    check(os.path.isfile(os.path.join(d.state, "tenants", tid, "tenant.json")), "not persisted", d)

    # without an id: exactly one new tenant
    send_and_vanish("tenant.create", {})
    wait_until(lambda: len(d.ok("tenant.list")["tenants"]) >= 2 and not request_tasks("tenant.create"),
               "the second tenant", d)
    check(len(d.ok("tenant.list")["tenants"]) == 2, "tenant created more than once", d)

    # a delete whose client vanished still completes, files included
    tl = d.ok("timeline.create", {"tenant": tid})["timeline"]["id"]
    send_and_vanish("timeline.delete", {"timeline": tl})
    wait_until(lambda: not d.ok("timeline.list")["timelines"] and not request_tasks("timeline.delete"),
               "the timeline delete", d)
    check(not os.path.exists(os.path.join(d.state, "tenants", tid, "timelines", tl)), "files left", d)
    check(d.stop() == 0, "exit status", d)
    print("ok")
finally:
    d.cleanup()
