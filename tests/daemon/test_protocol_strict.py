# SPDX-License-Identifier: MIT
"""The control protocol is strict about what it reads and clean in what it writes (issue 15,
item 5): bytes that are not UTF-8, NUL (raw or escaped), trailing data after the object and
duplicate keys at any depth are `bad_request`; every response line is valid UTF-8 JSON, also
when it quotes the client (an id, a command, an argument) and a message is cut short."""
import json

from execd_harness import Daemon, check, read_line

d = Daemon()


def raw(conn, data):
    """Send @data (bytes, newline added) on @conn; the response line, checked to be strict
    UTF-8 and one JSON object."""
    conn.sendall(data + b"\n")
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = conn.recv(65536)
        check(chunk != b"", "connection closed after %r" % data, d)
        buf += chunk
    try:
        text = buf.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        check(False, "response to %r is not UTF-8 (%s): %r" % (data, e, buf), d)
    return json.loads(text)


def bad(conn, data, what):
    r = raw(conn, data)
    check(r["ok"] is False and r["error"]["code"] == "bad_request",
          "%s: %r -> %r" % (what, data, r), d)
    return r["error"]["message"]


try:
    d.start()
    c = d.connect()
    ok = raw(c, b'{"version":1,"command":"status"}')
    check(ok["ok"] is True, "plain status: %r" % ok, d)

    # NUL: escaped in a value, in a key, in args; raw
    bad(c, b'{"version":1,"command":"status\\u0000evil"}', "NUL in the command")
    bad(c, b'{"version":1,"command":"status","ar\\u0000gs":{}}', "NUL in a key")
    bad(c, b'{"version":1,"command":"tenant.list","args":{"x":["a\\u0000"]}}', "NUL in args")
    bad(c, b'{"version":1,"command":"status","x":"\x00"}', "raw NUL byte")
    # an escaped backslash followed by the text u0000 is no NUL
    r = raw(c, b'{"version":1,"command":"status","x":"\\\\u0000"}')
    check(r["ok"] is True, "escaped backslash + u0000 refused: %r" % r, d)

    # trailing data; trailing whitespace is fine
    bad(c, b'{"version":1,"command":"status"} {}', "a second object")
    bad(c, b'{"version":1,"command":"status"}x', "trailing garbage")
    r = raw(c, b'{"version":1,"command":"status"} \t ')
    check(r["ok"] is True, "trailing whitespace refused: %r" % r, d)

    # duplicate keys at every level (the first would have won)
    msg = bad(c, b'{"version":1,"command":"tenant.create","command":"status"}', "top level")
    check("duplicate key 'command'" in msg, "message names the key: %r" % msg, d)
    bad(c, b'{"version":1,"command":"tenant.list","args":{"a":1,"b":2,"a":3}}', "in args")
    bad(c, b'{"version":1,"id":{"x":[{"k":1,"k":2}]},"command":"status"}', "deep in the id")
    check(d.ok("tenant.list")["tenants"] == [], "a refused request changed state", d)
    r = raw(c, b'{"version":1,"command":"status","args":{},"x":{"args":1}}')
    check(r["ok"] is True, "the same key in different objects refused: %r" % r, d)

    # bytes that are not UTF-8: invalid, overlong, a surrogate, cut short
    for b_ in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80"):
        bad(c, b'{"version":1,"command":"st' + b_ + b'"}', "not UTF-8 %r" % b_)

    # what is echoed stays valid: an id, and a command cut at 64 bytes inside a character
    rid = "ünïcödé ✓ \U0001F600"
    r = raw(c, json.dumps({"version": 1, "id": rid, "command": "status"}).encode())
    check(r["ok"] is True and r["id"] == rid, "id not echoed intact: %r" % r, d)
    cmd = "a" * 63 + "é" + "z"
    r = raw(c, json.dumps({"version": 1, "command": cmd}, ensure_ascii=False).encode())
    check(r["error"]["code"] == "unknown_command", "unknown command: %r" % r, d)
    check("'" + "a" * 63 + "'" in r["error"]["message"], "cut not before the character: %r" % r, d)
    # a message that quotes a long argument is cut at its size limit, never inside a character
    for pad in range(4):
        tid = "x" * pad + "é" * 200
        r = raw(c, json.dumps({"version": 1, "command": "tenant.delete",
                               "args": {"tenant": tid}}, ensure_ascii=False).encode())
        check(r["error"]["code"] == "bad_request" and "\ufffd" not in r["error"]["message"],
              "long quoted argument: %r" % r, d)

    # the connection is still good after all of this
    check(raw(c, b'{"version":1,"command":"status"}')["ok"] is True, "connection unusable", d)
    c.close()
    check(d.stop() == 0, "exit status", d)
    print("ok")
finally:
    d.cleanup()
