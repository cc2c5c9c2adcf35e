# SPDX-License-Identifier: MIT
"""Nothing is deleted because something is missing (issue 15): a tenant or timeline directory
whose metadata file is lost is moved into STATE/quarantine with its WAL files, reported in the log
and listed by status (also after the next restart), never removed; only a directory with the mark
of an unfinished create (or an empty one) is removed; a create leaves no mark behind. A state or
tenants directory writable by group or others is refused at start, naming the path and mode."""
import os
import stat

from execd_harness import Daemon, check, execctl, EXECCTL, WAIT

d = Daemon()
try:
    d.start()
    t1 = d.ok("tenant.create")["tenant"]["id"]
    t2 = d.ok("tenant.create")["tenant"]["id"]
    tl1 = d.ok("timeline.create", {"tenant": t1})["timeline"]["id"]
    tl2 = d.ok("timeline.create", {"tenant": t2})["timeline"]["id"]
    tdir = os.path.join(d.state, "tenants")
    for p in (os.path.join(tdir, t1), os.path.join(tdir, t1, "timelines", tl1)):
        check(not os.path.exists(os.path.join(p, ".creating")), "create left its mark in " + p, d)
    st = d.ok("status")
    check(st.get("quarantined") == [], "status before: %r" % st, d)
    check(d.stop() == 0, "exit status", d)

    # WAL of tl1 whose timeline.json is lost; tenant t2 whose tenant.json is lost
    tl1dir = os.path.join(tdir, t1, "timelines", tl1)
    seg = os.path.join(tl1dir, "wal", "000000010000000000000001")
    with open(seg, "wb") as f:
        f.write(b"\xd1\x10" + b"x" * 8190)
    os.unlink(os.path.join(tl1dir, "timeline.json"))
    os.unlink(os.path.join(tdir, t2, "tenant.json"))
    # an unfinished create (its mark) and an empty directory: removed
    unfinished = os.path.join(tdir, "f" * 32)
    os.makedirs(os.path.join(unfinished, "timelines"))
    open(os.path.join(unfinished, ".creating"), "w").close()
    empty = os.path.join(tdir, t1, "timelines", "e" * 32)
    os.makedirs(empty)

    d.start()
    tls = [x["id"] for x in d.ok("timeline.list")["timelines"]]
    check(tls == [], "timelines after the loss: %r" % tls, d)
    tenants = [x["id"] for x in d.ok("tenant.list")["tenants"]]
    check(tenants == [t1], "tenants after the loss: %r" % tenants, d)
    check(not os.path.exists(tl1dir) and not os.path.exists(os.path.join(tdir, t2)),
          "directories without metadata still in place", d)
    check(not os.path.exists(unfinished), "an unfinished create was not removed", d)
    check(not os.path.exists(empty), "an empty directory was not removed", d)
    qdir = os.path.join(d.state, "quarantine")
    names = sorted(n for n in os.listdir(qdir) if not n.endswith(".reason"))
    check(len(names) == 2, "quarantine holds %r" % names, d)
    qtl = [n for n in names if n.startswith(tl1 + ".")]
    qt2 = [n for n in names if n.startswith(t2 + ".")]
    check(len(qtl) == 1 and len(qt2) == 1, "quarantine names %r" % names, d)
    with open(os.path.join(qdir, qtl[0], "wal", "000000010000000000000001"), "rb") as f:
        check(f.read(2) == b"\xd1\x10", "the WAL file of the quarantined timeline changed", d)
    check(os.path.isdir(os.path.join(qdir, qt2[0], "timelines", tl2)),
          "the quarantined tenant lost its timeline", d)
    log = d.read_log()
    check("quarantine" in log and tl1 in log and "nothing was removed" in log,
          "no quarantine log line", d)
    check("removing unfinished tenant directory " + unfinished in log,
          "the unfinished create's removal not logged", d)

    def listed():
        q = d.ok("status")["quarantined"]
        got = {os.path.basename(e["path"]): e["reason"] for e in q}
        check(sorted(got) == names, "status lists %r, not %r" % (q, names), d)
        check("timeline.json is missing" in got[qtl[0]], "reason %r" % got[qtl[0]], d)
        check("tenant.json is missing" in got[qt2[0]], "reason %r" % got[qt2[0]], d)
        for e in q:
            check(e["path"] == os.path.join(qdir, os.path.basename(e["path"])), "path %r" % e, d)
    listed()
    if EXECCTL and os.access(EXECCTL, os.X_OK):
        rc, out, err = execctl("status", socket_path=d.sock)
        check(rc == 0 and "Quarantine: 2" in out and qtl[0] in out, "execctl status: %s%s" % (out, err), d)
    check(d.stop() == 0, "exit status", d)
    d.start()  # still listed after a restart (their reasons are kept beside them)
    listed()
    check(d.stop() == 0, "exit status", d)

    # writable by others, or by the group: refused with the path and mode, exit non-zero
    for path, mode in ((d.state, 0o777), (tdir, 0o770)):
        os.chmod(path, mode)
        d.launch()
        rc = d.proc.wait(WAIT)
        os.chmod(path, 0o750)
        check(rc != 0, "execd started with %s mode %o" % (path, mode), d)
        log = d.read_log()
        check("refusing to start: %s has mode %04o" % (path, mode) in log,
              "no clear refusal for %s mode %o" % (path, mode), d)
    d.start()
    check(d.stop() == 0, "exit status after chmod go-w", d)
    print("ok")
finally:
    d.cleanup()
