# SPDX-License-Identifier: MIT
"""Secrets never leave the daemon's user, and names reach the server only as PostgreSQL takes them
(issue 15, items 2 and 5), without a PostgreSQL server (tests/wal/test-secrets.sh streams from
one that requires a password):
- a slot name that PostgreSQL would refuse (quotes, upper case, 64 bytes, empty) and a source that
  libpq cannot parse are bad_request, and the reply repeats neither;
- password= and sslpassword= of a source never appear in a reply (create, show, list, the error
  of a failed connection) nor in the log; the rest of the source is shown;
- libpq's multi-line message (an unreachable server) is one log line and one-line "error";
- timeline.json (it holds the source) is 0600, tenant.json 0640; a member of the daemon's group
  finds no secret in any file of the state directory it can read;
- a timeline.json left 0640 by an older execd is made 0600 at start, with a warning;
- a slot name edited into timeline.json is refused when the metadata is loaded."""
import json
import os
import shutil
import stat
import subprocess
import sys

from execd_harness import Daemon, check, wait_until

PW = "pw_3e9a71c0"
SSLPW = "sslpw_b51f06d2"
SECRETS = (PW, SSLPW)


def no_secret(text, what, d):
    for s in SECRETS:
        check(s not in text, "a secret (%s) in %s: %s" % (s, what, text[:2000]), d)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def meta_paths(d, name):
    out = []
    for root, _dirs, files in os.walk(d.state):
        out += [os.path.join(root, f) for f in files if f == name]
    return out


def bad_request(d, args, what):
    r = d.request("timeline.create", args)
    check(r["ok"] is False and r["error"]["code"] == "bad_request",
          "%s accepted: %r" % (what, r), d)
    return json.dumps(r)


def member_reads(d):
    """What a member of the daemon's group (here: the group of the files, root's) can read of
    the state directory, as uid 65534: {path: bytes}; None if that cannot be run."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return None
    gid = os.stat(d.state).st_gid
    reader = r'''
import os, sys, json
out = {}
for root, dirs, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        try:
            with open(p, "rb") as fh:
                out[p] = fh.read().decode("latin-1")
        except OSError:
            pass
print(json.dumps(out))
'''
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--groups=%d" % gid,
                        sys.executable, "-c", reader, d.state],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "group reader failed: %s %s" % (p.stdout, p.stderr), d)
    return json.loads(p.stdout)


d = Daemon()
try:
    d.start()
    ten = d.ok("tenant.create")["tenant"]["id"]

    # names as PostgreSQL takes them; the reply does not repeat the input
    for slot in ('a" x', "Upper", "a-b", "", "s" * 64, "\u00e9t\u00e9"):
        reply = bad_request(d, {"tenant": ten, "slot": slot}, "slot %r" % slot)
        check(slot == "" or json.dumps(slot)[1:-1] not in reply, "bad slot echoed: " + reply, d)
    d.ok("timeline.create", {"tenant": ten, "slot": "s" * 63})
    # a source libpq cannot parse: refused, its text (maybe a password) not repeated
    for src in ("password=%s nosuchkeyword=1" % PW, "postgresql://u:%s%%zz@h/db" % PW):
        no_secret(bad_request(d, {"tenant": ten, "source": src}, "source"), "an error reply", d)

    # a source with secrets that cannot be reached: libpq's multi-line error
    nowhere = os.path.join(d.tmp, "nowhere")
    src = "host=%s port=1 user=repl password=%s sslpassword=%s application_name=x" % (
        nowhere, PW, SSLPW)
    created = d.request("timeline.create", {"tenant": ten, "source": src, "slot": "execd_s"})
    check(created["ok"] is True, "create: %r" % created, d)
    no_secret(json.dumps(created), "the create reply", d)
    tl = created["result"]["timeline"]["id"]
    wait_until(lambda: d.ok("timeline.show", {"timeline": tl})["timeline"]["state"] == "backoff",
               "the unreachable source's backoff", d)
    shown = d.ok("timeline.show", {"timeline": tl})["timeline"]
    check("host='%s'" % nowhere in shown["source"] and "application_name='x'" in shown["source"],
          "the source's other options are not shown: %r" % shown, d)
    check("\n" not in shown["error"] and "Is the server running" in shown["error"],
          "the error is not libpq's message on one line: %r" % shown["error"], d)
    replies = json.dumps(shown) + json.dumps(d.ok("timeline.list")) + json.dumps(d.ok("status"))
    no_secret(replies, "show/list/status", d)

    # files: timeline.json the daemon's user's alone; a group member reads no secret
    for p in meta_paths(d, "timeline.json"):
        check(mode(p) == 0o600, "%s is %04o" % (p, mode(p)), d)
    for p in meta_paths(d, "tenant.json"):
        check(mode(p) == 0o640, "%s is %04o" % (p, mode(p)), d)
    read = member_reads(d)
    if read is None:
        print("not root or no setpriv: the group member's read is not tested")
    else:
        check(any(p.endswith("tenant.json") for p in read),
              "the group member could read nothing (the check would be vacuous): %r" % list(read), d)
        check(not any(p.endswith("timeline.json") for p in read),
              "the group member read a timeline.json", d)
        for p, text in read.items():
            no_secret(text, p, d)
    check(d.stop() == 0, "exit status", d)

    log = d.read_log()
    no_secret(log, "the log", d)
    lines = log.splitlines()
    check(all(line.startswith("execd: ") for line in lines if line),
          "a log line that does not start a message (a multi-line message?): %r"
          % [l for l in lines if l and not l.startswith("execd: ")][:5], d)
    check(any("connecting: " in l and "Is the server running" in l for l in lines),
          "libpq's multi-line error is not one log line", d)

    # an older execd's 0640 timeline.json: 0600 again at start, and said
    metas = meta_paths(d, "timeline.json")
    for p in metas:
        os.chmod(p, 0o640)
    d.start()
    for p in metas:
        check(mode(p) == 0o600, "%s left %04o at start" % (p, mode(p)), d)
    check("was readable by others (mode 0640), now 0600" in d.read_log(), "mode fix not logged", d)
    check(d.stop() == 0, "exit status", d)

    # a slot name edited into timeline.json: refused at load, never sent
    for p in metas:
        with open(p) as f:
            meta = json.load(f)
        if meta.get("slot") == "execd_s":
            meta["slot"] = 'a" x'
            with open(p, "w") as f:
                json.dump(meta, f)
    d.launch()
    try:
        d.wait_ready()
        listed = json.dumps(d.ok("timeline.list"))
        check('a\\" x' not in listed, "a timeline with an invalid slot was loaded", d)
        d.stop()
    except AssertionError:
        pass  # refused to start: the metadata is corrupt (what the log says is checked below)
    d.stop()
    check("is not a valid replication slot name" in d.read_log(),
          "the invalid slot in timeline.json is not reported", d)
    print("ok")
finally:
    d.cleanup()
