# SPDX-License-Identifier: MIT
"""Connections beyond --max-connections get one `unavailable` response and are closed; the daemon
keeps serving once connections go away."""
import json

from execd_harness import Daemon, check, read_line

d = Daemon(extra=["--max-connections", "3"])
try:
    d.start()
    held = []
    for i in range(3):
        s = d.connect()
        s.sendall(b'{"version":1,"command":"status"}\n')
        r = json.loads(read_line(s))  # answered: this connection is counted
        check(r["ok"] is True, "held connection %d: %r" % (i, r), d)
        held.append(s)
    for i in range(5):
        s = d.connect()
        line = read_line(s)
        check(line is not None and json.loads(line)["error"]["code"] == "unavailable",
              "connection over the limit: %r" % line, d)
        check(read_line(s) is None, "refused connection not closed", d)
        s.close()
    for s in held:
        s.close()
    # the closed connections are released as their tasks end
    from execd_harness import wait_until
    wait_until(lambda: d.request("status").get("ok") is True, "service after the flood", d)
    check(d.stop() == 0, "exit status", d)
    print("ok")
finally:
    d.cleanup()
