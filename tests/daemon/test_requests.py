# SPDX-License-Identifier: MIT
"""Malformed, unknown, mistyped and oversized requests get clear errors; the daemon keeps serving
others and loses no state; several requests on one connection are answered in order."""
import json

from execd_harness import Daemon, check, read_line

d = Daemon()
try:
    d.start()
    t = d.ok("tenant.create", {"id": "aaaa0000000000000000000000000001"})
    d.ok("tenant.create", {"id": "aaaa0000000000000000000000000002"})

    def raw(data, conn=None):
        s = conn or d.connect()
        s.sendall(data)
        line = read_line(s)
        if conn is None:
            s.close()
        check(line is not None, "no response to %r" % data[:80], d)
        return json.loads(line)

    def code(r):
        return None if r.get("ok") else r["error"]["code"]

    check(code(raw(b"{not json\n")) == "bad_request", "malformed JSON")
    check(code(raw(b"[1,2]\n")) == "bad_request", "non-object")
    check(code(raw(b'{"command":"status"}\n')) == "bad_request", "missing version")
    r = raw(b'{"version":2,"id":"x","command":"status"}\n')
    check(code(r) == "unsupported_version" and r["id"] == "x", "version 2: %r" % r)
    r = raw(b'{"version":1,"id":[1,{"a":2}],"command":"no.such"}\n')
    check(code(r) == "unknown_command" and r["id"] == [1, {"a": 2}] and r["error"]["errno"] == 95,
          "unknown command: %r" % r)
    check(code(raw(b'{"version":1,"command":"status","args":[]}\n')) == "bad_request", "args not object")
    check(code(d.request("tenant.create", {"id": "xyz"})) == "bad_request", "bad id")
    check(code(d.request("tenant.create", {"id": 5})) == "bad_request", "id of wrong type")
    check(code(d.request("timeline.create", {})) == "bad_request", "missing tenant")
    r = d.request("timeline.create", {"tenant": "aaaa0000000000000000000000000001", "start_lsn": "zz"})
    check(code(r) == "bad_request", "bad lsn: %r" % r)
    r = d.request("tenant.delete", {"tenant": "aaaa"})
    check(code(r) == "ambiguous" and len(r["error"]["candidates"]) == 2, "ambiguous: %r" % r)
    check(code(d.request("tenant.delete", {"tenant": "ffff"})) == "not_found", "not found")
    check(code(d.request("tenant.create", {"id": "aaaa0000000000000000000000000001"})) == "exists", "exists")
    check(code(d.request("task.cancel", {"id": 999999})) == "not_found", "task.cancel unknown")
    check(code(d.request("task.list", {"kind": "nope"})) == "bad_request", "bad kind")
    check(code(d.request("task.shutdown", {})) == "bad_request", "shutdown without filter")
    r = d.request("timeline.wait_lsn", {"timeline": "abc", "lsn": "0/1"})
    check(code(r) == "not_found", "wait_lsn unknown timeline: %r" % r)

    # oversized: refused with too_large, connection closed; the daemon goes on
    s = d.connect()
    try:
        s.sendall(b"{" + b" " * 70000 + b"}\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    line = read_line(s)
    check(line is not None and code(json.loads(line)) == "too_large", "oversized: %r" % line, d)
    check(read_line(s) is None, "connection not closed after too_large", d)
    s.close()

    # a request of exactly the limit's size minus the newline still parses (padding inside JSON)
    body = b'{"version":1,"command":"status"'
    big = body + b" " * (65536 - len(body) - 2) + b"}\n"
    check(len(big) == 65536, "size")
    check(raw(big).get("ok") is True, "64 KiB request refused", d)

    # empty lines are ignored, CRLF is accepted
    r = raw(b'\n\r\n{"version":1,"id":"crlf","command":"status"}\r\n')
    check(r.get("ok") is True and r["id"] == "crlf", "empty lines / CRLF: %r" % r, d)

    # pipelined requests on one connection: answered in order
    s = d.connect()
    s.sendall(b'{"version":1,"id":1,"command":"status"}\n{"version":1,"id":2,"command":"tenant.list"}\n')
    rf = s.makefile("rb")
    a = json.loads(rf.readline())
    b = json.loads(rf.readline())
    check(a["id"] == 1 and b["id"] == 2 and len(b["result"]["tenants"]) == 2, "pipelining: %r %r" % (a, b), d)
    s.close()

    st = d.ok("status")
    check(st["tenants"] == 2, "state lost: %r" % st, d)

    # wait_lsn on a timeline without a source: 0/0 is reached at once; a far LSN times out
    tl = d.ok("timeline.create", {"tenant": "aaaa0000000000000000000000000001"})["timeline"]["id"]
    r = d.request("timeline.wait_lsn", {"timeline": tl, "lsn": "0/0"})
    check(r["ok"] is True and "flush_lsn" in r["result"], "wait_lsn 0/0: %r" % r, d)
    r = d.request("timeline.wait_lsn", {"timeline": tl, "lsn": "FF/0", "timeout_ms": 50})
    check(code(r) == "timeout", "wait_lsn far: %r" % r, d)

    # task.shutdown all: every task but the listener, this request and its connection
    r = d.ok("task.shutdown", {"all": True, "timeout_ms": 30000})
    check(r["remaining"] == [] and len(r["ended"]) >= 2, "shutdown all: %r" % r, d)
    kinds = [x["kind"] for x in d.ok("task.list")["tasks"]]
    check("tenant_manager" not in kinds and "control_listener" in kinds, "after shutdown all: %r" % kinds, d)
    check(d.ok("status")["tenants"] == 2, "shutdown lost state", d)
    check(d.stop() == 0, "exit status", d)
    print("ok")
finally:
    d.cleanup()
