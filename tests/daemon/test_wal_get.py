# SPDX-License-Identifier: MIT
"""`execctl wal get` as PostgreSQL's restore_command, `wal list` and `timeline verify`, against a
real PostgreSQL 15 streaming into execd next to pg_receivewal:

 - a compressed segment (execd compresses completed ones with zstd) comes out byte-identical to
   pg_receivewal's; a plain one and a history file as they are; a segment that exists only as
   the open .partial comes out whole, its WAL up to the flush LSN identical to the server's
   pg_wal;
 - a file the timeline does not have: exit 3 (restore_command's "not found"), nothing at DEST;
 - the postgres user in group execd may run it (the descriptor is passed: the 0600 files in the
   0700 state directory stay as they are); without the group it is refused (exit 5);
 - timeline verify passes, and catches one flipped byte inside a record (CRC-32C), reporting
   that record's LSN.
"""
import grp
import json
import os
import re
import shutil
import subprocess
import sys

from execd_harness import Daemon, check, execctl, require_binaries, skip, wait_until
from pgcluster import PG_BINDIR, PgCluster

SEG = 16 << 20
require_binaries()
PgCluster.require()
if not shutil.which("zstd") or not shutil.which("setpriv"):
    skip("zstd or setpriv not installed")


def execd_gid():
    """The gid of group execd, created as sysusers.d/execd.conf would if it is missing."""
    try:
        return grp.getgrnam("execd").gr_gid
    except KeyError:
        pass
    if shutil.which("groupadd"):
        subprocess.run(["groupadd", "--system", "execd"], capture_output=True)
    try:
        return grp.getgrnam("execd").gr_gid
    except KeyError:
        return None


def lsn_int(s):
    hi, lo = s.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def read(path, n=None):
    with open(path, "rb") as f:
        return f.read() if n is None else f.read(n)


gid = execd_gid()  # before execd starts: its socket gets the group
pg = PgCluster.start(port=5473)
d = Daemon()
recv = None


def ctl(*args, **kw):
    return execctl(*args, socket_path=d.sock, **kw)


def ok(*args):
    rc, out, err = ctl(*args)
    check(rc == 0, "execctl %s: exit %d: %s%s" % (" ".join(args), rc, out, err), d)
    return out


def wal_list(tl):
    return json.loads(ok("--json", "wal", "list", tl))["wal"]


def wal_dir(ten, tl):
    return os.path.join(d.state, "tenants", ten, "timelines", tl, "wal")


try:
    d.start()
    ten = ok("tenant", "create").strip()
    tl = ok("timeline", "create", "--tenant", ten, "--source", pg.conninfo).strip()
    recvdir = os.path.join(d.tmp, "recv")
    os.mkdir(recvdir)
    recv = subprocess.Popen([os.path.join(PG_BINDIR, "pg_receivewal"), "-h", pg.dir, "-p",
                             str(pg.port), "-U", "postgres", "-D", recvdir, "-n",
                             "--synchronous"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ok("timeline", "wait-lsn", tl, "--lsn", pg.current_lsn(), "--timeout", "60")
    for _ in range(3):
        pg.switch_wal()
    pg.psql("insert into filler select g, 'tail' from generate_series(1, 100) g")
    ok("timeline", "wait-lsn", tl, "--lsn", pg.current_lsn(), "--timeout", "60")
    wait_until(lambda: wal_list(tl)["pg_timelines"][0]["compressed"] >= 3,
               "three compressed segments", d)
    w = wal_list(tl)
    t1 = w["pg_timelines"][0]
    check(t1["gaps"] == [] and t1["partial"], "wal list: %r" % w, d)
    partial = t1["partial"][:-len(".partial")]
    first = "%08X%08X%08X" % (1, 0, lsn_int(t1["oldest_lsn"]) // SEG)
    out = os.path.join(d.tmp, "out")

    # a compressed segment: the same bytes as pg_receivewal's
    wait_until(lambda: os.path.exists(os.path.join(recvdir, first)), "pg_receivewal's " + first)
    check(os.path.exists(os.path.join(wal_dir(ten, tl), first + ".zst")), "not compressed", d)
    ok("wal", "get", tl[:8], first, out)
    check(read(out) == read(os.path.join(recvdir, first)), "compressed segment differs", d)
    show = json.loads(ok("--json", "timeline", "show", tl))["timeline"]
    check(show["segments_compressed"] >= 3 and show["compression_ratio"] > 1,
          "show: %r" % show, d)

    # the open segment, served from its .partial: whole, and the server's WAL up to the flush
    ok("wal", "get", tl, partial, out)
    flush_off = lsn_int(w["flush_lsn"]) % SEG
    got = read(out)
    check(len(got) == SEG, "partial segment: %d bytes" % len(got), d)
    check(got[:flush_off] == read(os.path.join(pg.data, "pg_wal", partial), flush_off),
          "partial segment differs from the server's pg_wal", d)

    # not there: exit 3, nothing written
    os.unlink(out)
    rc, _, err = ctl("wal", "get", tl, "0000000100000000000000FF", out)
    check(rc == 3 and "no WAL file" in err and not os.path.exists(out),
          "missing segment: %d %s" % (rc, err), d)
    rc, _, err = ctl("wal", "get", tl, "00000007.history", out)
    check(rc == 3, "missing history file: %d %s" % (rc, err), d)

    # a plain segment and a history file, in a timeline without a source
    tl2 = ok("timeline", "create", "--tenant", ten).strip()
    shutil.copy(os.path.join(recvdir, first), wal_dir(ten, tl2))
    hist = b"1\t0/3000000\tno recovery target specified\n"
    with open(os.path.join(wal_dir(ten, tl2), "00000002.history"), "wb") as f:
        f.write(hist)
    ok("wal", "get", tl2, first, out)
    check(read(out) == read(os.path.join(recvdir, first)), "plain segment differs", d)
    ok("wal", "get", tl2, "00000002.history", out)
    check(read(out) == hist, "history file differs", d)
    # --sync (the file and its directory fsynced) writes the same; it belongs to wal get only
    ok("wal", "get", tl2, first, out, "--sync")
    check(read(out) == read(os.path.join(recvdir, first)), "--sync copy differs", d)
    rc, _, err = ctl("wal", "list", tl2, "--sync")
    check(rc == 2, "wal list --sync: exit %d %s" % (rc, err), d)

    # restore_command as the postgres user, in group execd and not
    pgdir = os.path.join(pg.dir, "restore")
    os.mkdir(pgdir)
    shutil.chown(pgdir, "postgres", "postgres")
    dest = os.path.join(pgdir, "RECOVERYXLOG")
    base = ["setpriv", "--reuid=postgres", "--regid=postgres"]
    cmd = [os.environ["EXECCTL"], "--socket", d.sock, "wal", "get", tl, first, dest]
    p = subprocess.run(base + ["--clear-groups"] + cmd, capture_output=True, text=True)
    check(p.returncode == 5 and not os.path.exists(dest),
          "outside group execd: %d %s" % (p.returncode, p.stderr), d)
    if gid is None:
        print("group execd cannot be created here: the member case is not tested")
    else:
        p = subprocess.run(base + ["--groups=%d" % gid] + cmd, capture_output=True, text=True)
        check(p.returncode == 0, "as postgres in group execd: %s" % p.stderr, d)
        check(read(dest) == read(os.path.join(recvdir, first)), "postgres's copy differs", d)

    # verify: passes; then one byte flipped inside a record of the second segment
    rc, outj, err = ctl("--json", "timeline", "verify", tl)
    v = json.loads(outj)["verify"]
    check(rc == 0 and v["ok"] and v["records"] > 1000 and v["segments"] >= 4,
          "verify: %d %r %s" % (rc, v, err), d)
    second = "%08X%08X%08X" % (1, 0, lsn_int(t1["oldest_lsn"]) // SEG + 1)
    dump = subprocess.run([os.path.join(PG_BINDIR, "pg_waldump"), "-p", recvdir, second, "-n",
                           "500"], capture_output=True, text=True).stdout
    target = None
    for m in re.finditer(r"len \(rec/tot\):\s*\d+/\s*(\d+), tx:\s*\d+, lsn: ([0-9A-F]+/[0-9A-F]+)",
                         dump):
        tot, lsn = int(m.group(1)), lsn_int(m.group(2))
        if tot >= 80 and lsn % 8192 >= 64 and lsn % 8192 + tot <= 8192:
            target = lsn
            break
    check(target is not None, "no record to damage in pg_waldump's output:\n" + dump[:2000], d)
    zst = os.path.join(wal_dir(ten, tl), second + ".zst")
    tmp = os.path.join(d.tmp, second)
    subprocess.run(["zstd", "-q", "-d", "-f", zst, "-o", tmp], check=True)
    with open(tmp, "r+b") as f:
        f.seek(target % SEG + 40)  # inside the record's data (its header is 24 bytes)
        b = f.read(1)
        f.seek(target % SEG + 40)
        f.write(bytes([b[0] ^ 0x20]))
    os.unlink(zst)  # (first: the compressor keeps a .zst and removes the plain one)
    shutil.move(tmp, os.path.join(wal_dir(ten, tl), second))
    rc, outj, err = ctl("--json", "timeline", "verify", tl)
    v = json.loads(outj)["verify"]
    check(rc == 1 and not v["ok"] and lsn_int(v["bad_lsn"]) == target and "CRC" in v["problem"]
          and v["segment"] == second, "flipped byte: %d %r (expected at %X)" % (rc, v, target), d)
    rc, outp, _ = ctl("timeline", "verify", tl)
    check(rc == 1 and "BAD at" in outp, "verify's text: %s" % outp, d)

    recv.terminate()
    recv.wait()
    recv = None
    check(d.stop() == 0, "execd exit status", d)
    print("ok")
finally:
    if recv:
        recv.kill()
        recv.wait()
    d.cleanup()
    pg.cleanup()
