# SPDX-License-Identifier: MIT
"""Uploads to remote storage (issue 21) against a real Ceph radosgw (tests/common/radosgw.py),
one cluster for the whole file; skipped (77) without radosgw or PostgreSQL 15.

1. A credentials file readable by others is refused, naming the file and the problem, and its
   secret appears neither in the reply nor in the log.
2. A tenant with remote storage streams a PostgreSQL server: its completed segments, a history
   file if any, and a base backup (large enough for a multipart upload) are uploaded and listed
   in index-00000001.json; each listed object has the size and ETag the index says, and its
   bytes are those of the local file (MD5 compared).
3. execd restarts: nothing listed is uploaded again (no "remote: uploaded" line for a listed
   key), and with --wal-retention-bytes 1 the local segments go only once remote.
4. radosgw stops: uploads back off, retention keeps every segment (timeline show says
   retention_held_for_upload) while more WAL comes; radosgw starts again on the same data and
   everything is uploaded; no multipart upload is left in progress. Then a base backup large
   enough for a multipart upload, radosgw stopped during its upload and started again: it is
   uploaded, its ETag a multipart one, and no multipart upload is left in progress.
5. SIGTERM while a large backup uploads: execd stops, no multipart upload is left in progress,
   and the index lists nothing that is not complete.
"""
import hashlib
import json
import os
import re
import signal

from execd_harness import Daemon, check, execctl, require_binaries, skip, wait_until
from pgcluster import PgCluster

from radosgw import Radosgw

require_binaries()
PgCluster.require()

SECRET_MARK = None
BUCKET = "execd-upload"
d = None
pg = None
rgw = Radosgw()


def ok(daemon, *args):
    rc, out, err = execctl(*args, socket_path=daemon.sock)
    check(rc == 0, "execctl %s: exit %d: %s%s" % (" ".join(args), rc, out, err), daemon)
    return out


def show(daemon, tl):
    return json.loads(ok(daemon, "--json", "timeline", "show", tl))["timeline"]


def full_log(daemon):
    with open(daemon.logpath, "rb") as f:
        return f.read().decode(errors="replace")


def s3():
    return rgw.client()


def objects(client, prefix):
    return client.list_objects(BUCKET, prefix)


def index(client, ten, tl):
    key = "tenants/%s/timelines/%s/index-00000001.json" % (ten, tl)
    return json.loads(client.get_object(BUCKET, key))


def in_progress(client):
    return client.list_multipart_uploads(BUCKET)


def make_wal(rows):
    pg.psql("CREATE TABLE IF NOT EXISTS w (a text, b text);"
            "INSERT INTO w SELECT md5(random()::text) || md5(random()::text), "
            "md5(random()::text) FROM generate_series(1, %d)" % rows)
    pg.switch_wal()


def check_listed(client, ten, tl, idx, waldir):
    """Every listed object exists with the listed size and ETag; the bytes of a listed segment
    still local are the local file's."""
    base = "tenants/%s/timelines/%s/" % (ten, tl)
    have = objects(client, base)
    for s in idx["segments"]:
        key = base + "wal/" + s["object"]
        check(key in have, "listed segment %s not in the bucket" % key, d)
        check(have[key] == (s["stored_bytes"], s["etag"]), "size/etag of %s: %r vs %r" %
              (key, have[key], s), d)
        local = os.path.join(waldir, s["object"])
        if os.path.exists(local):
            with open(local, "rb") as f:
                md5 = hashlib.md5(f.read()).hexdigest()
            body = client.get_object(BUCKET, key)
            check(hashlib.md5(body).hexdigest() == md5, "bytes of %s differ" % key, d)
    for b in idx["backups"]:
        for o in b["objects"]:
            key = base + "backups/%s/%s" % (b["id"], o["name"])
            check(have.get(key) == (o["stored_bytes"], o["etag"]), "backup object %s: %r %r" %
                  (key, have.get(key), o), d)
    return have


def segment_files(waldir, names=None):
    return {n for n in (os.listdir(waldir) if names is None else names)
            if re.fullmatch(r"[0-9A-F]{24}(\.zst)?", n)}


def uploaded_keys(text):
    return re.findall(r"remote: uploaded (\S+) \(", text)


try:
    rgw.start()
    client = s3()
    client.create_bucket(BUCKET)
    pg = PgCluster.start(port=5483)
    d = Daemon(workers=2)
    d.start()
    creds = os.path.join(d.tmp, "creds")
    secret = rgw.secret_key
    with open(creds, "w") as f:
        f.write("[default]\naccess_key_id = %s\nsecret_access_key = %s\n" %
                (rgw.access_key, secret))
    # over https with the gateway's own CA (--remote-ca-file) when it serves TLS, else http
    endpoint = rgw.env.get("RADOSGW_TLS_ENDPOINT") or rgw.endpoint
    remote = ["--remote-endpoint", endpoint, "--remote-bucket", BUCKET,
              "--remote-region", rgw.region, "--remote-credentials", creds]
    if endpoint != rgw.endpoint:
        remote += ["--remote-ca-file", rgw.env["RADOSGW_CA_FILE"]]

    # 1. a credentials file readable by others
    os.chmod(creds, 0o644)
    rc, out, err = execctl("tenant", "create", *remote, socket_path=d.sock)
    check(rc == 5, "a 0644 credentials file: exit %d (%s%s)" % (rc, out, err), d)
    check(creds in err and "0644" in err, "the message names the file and mode: %s" % err, d)
    check(secret not in out + err and secret not in full_log(d), "the secret leaked", d)
    os.chmod(creds, 0o600)

    # 2. stream, upload, verify
    ten = ok(d, "tenant", "create", *remote).strip()
    tl = ok(d, "timeline", "create", "--tenant", ten, "--source", pg.conninfo,
            "--slot", "upl", "--create-slot").strip()
    waldir = os.path.join(d.state, "tenants", ten, "timelines", tl, "wal")
    ok(d, "timeline", "wait-lsn", tl, "--lsn", pg.current_lsn(), "--timeout", "60")
    make_wal(400000)
    make_wal(10)
    ok(d, "timeline", "wait-lsn", tl, "--lsn", pg.current_lsn(), "--timeout", "120")

    def caught_up():
        r = show(d, tl)["remote"]
        return r["state"] == "ok" and r["segments"] >= 3 and r["lag_bytes"] < 16 << 20
    wait_until(caught_up, "segments uploaded", d)
    rem = show(d, tl)["remote"]
    check(rem["segments"] >= 3 and rem["generation"] == 1, "remote extent: %r" % rem, d)
    idx = index(client, ten, tl)
    check(idx["generation"] == 1 and not idx["detached"], "index header: %r" % idx, d)
    check(len(idx["segments"]) >= 3, "segments listed: %d" % len(idx["segments"]), d)
    check("password" not in json.dumps(idx["timeline_meta"]), "meta: %r" % idx, d)
    check_listed(client, ten, tl, idx, waldir)
    check(os.path.exists(os.path.join(d.state, "tenants", ten, "timelines", tl,
                                      "remote_index.json")), "local copy of the index", d)
    check(not in_progress(client), "multipart uploads left: %r" % in_progress(client), d)
    ttl = json.loads(ok(d, "--json", "list", "--kind", "remote_upload"))
    check(len(ttl["tasks"]) == 1, "one remote_upload task: %r" % ttl, d)

    # 3. restart: resume without uploading again; retention after upload only
    listed_before = set(uploaded_keys(full_log(d)))
    check(d.stop() == 0, "execd exit status", d)
    mark = len(full_log(d))
    before_gc = sorted(os.listdir(waldir))
    d = Daemon(tmpdir=d.tmp, extra=["--wal-retention-bytes", "1"])
    d.own_tmp = True
    d.start()
    make_wal(20000)
    ok(d, "timeline", "wait-lsn", tl, "--lsn", pg.current_lsn(), "--timeout", "120")
    wait_until(lambda: show(d, tl)["remote"]["lag_bytes"] < 16 << 20 and
               show(d, tl)["remote"]["state"] == "ok", "caught up after the restart", d)
    again = set(uploaded_keys(full_log(d)[mark:])) & listed_before
    check(not again, "uploaded again after the restart: %r" % sorted(again), d)
    idx = index(client, ten, tl)
    listed = {s["name"] for s in idx["segments"]}
    def trimmed():
        kept = [n for n in os.listdir(waldir) if n[:24] in listed and not n.endswith(".partial")]
        trimmed.last = (kept, show(d, tl))
        return not show(d, tl)["retention_held_for_upload"] and not kept
    trimmed.last = None
    wait_until(trimmed, "retention removed the uploaded segments", d)
    removed = segment_files(waldir, before_gc) - segment_files(waldir)
    check(removed, "retention removed nothing", d)
    listed = {x["name"] for x in index(client, ten, tl)["segments"]}
    check({n[:24] for n in removed} <= listed, "removed but not remote: %r" %
          sorted({n[:24] for n in removed} - listed), d)

    # 4. radosgw down: back-off, nothing removed, then everything uploaded
    rgw.stop_gateway()
    before = sorted(os.listdir(waldir))
    make_wal(40000)
    make_wal(10)
    ok(d, "timeline", "wait-lsn", tl, "--lsn", pg.current_lsn(), "--timeout", "120")
    wait_until(lambda: show(d, tl)["remote"]["state"] == "backoff" and
               show(d, tl)["retention_held_for_upload"], "back-off and retention held", d)
    s = show(d, tl)
    check(s["remote"]["last_error"], "last_error: %r" % s["remote"], d)
    # over the 1-byte limit, kept: at least one complete segment besides the open one
    check(s["remote"]["lag_bytes"] > 0 and s["segments"] >= 2, "local kept: %r" % s, d)
    check({n[:24] for n in segment_files(waldir, before)} <=
          {n[:24] for n in segment_files(waldir)},
          "a segment was removed while radosgw was down", d)
    rgw.start_gateway()
    wait_until(lambda: show(d, tl)["remote"]["state"] == "ok" and
               show(d, tl)["remote"]["lag_bytes"] < 16 << 20 and
               not show(d, tl)["retention_held_for_upload"], "uploads resumed", d)
    check_listed(client, ten, tl, index(client, ten, tl), waldir)
    check(not in_progress(client), "multipart uploads left: %r" % in_progress(client), d)

    # a base backup, large enough for a multipart upload (no backup before: it would hold
    # the WAL from its start locally, whatever remote storage has)
    # radosgw stops during its upload (after its small files, when the multipart upload of
    # base.tar.zst starts): back-off, then the upload completes once radosgw is back
    bid = ok(d, "backup", "create", tl, "--wait", "--timeout", "300").split()[0]
    wait_until(lambda: any(k.endswith("/backups/%s/backup.json" % bid)
                           for k in uploaded_keys(full_log(d)[mark:])),
               "the backup's upload started", d)
    rgw.stop_gateway()
    if show(d, tl)["remote"]["backups"] == 0:
        wait_until(lambda: show(d, tl)["remote"]["state"] == "backoff", "back-off", d)
    rgw.start_gateway()
    wait_until(lambda: show(d, tl)["remote"]["backups"] >= 1, "the backup uploaded", d)
    idx = index(client, ten, tl)
    tar = [o for o in idx["backups"][0]["objects"] if o["name"] == "base.tar.zst"]
    check(tar and tar[0]["stored_bytes"] > 16 << 20 and "-" in tar[0]["etag"],
          "base.tar.zst in multipart: %r" % idx["backups"], d)
    check_listed(client, ten, tl, idx, waldir)

    # 5. SIGTERM during a large backup's upload
    bid = ok(d, "backup", "create", tl, "--wait", "--timeout", "300").split()[0]
    wait_until(lambda: any(k.endswith("/backups/%s/backup.json" % bid)
                           for k in uploaded_keys(full_log(d)[mark:])),
               "the second backup's upload started", d)
    check(d.stop(signal.SIGTERM) == 0, "execd exit status after SIGTERM", d)
    check(not in_progress(client), "multipart uploads left after SIGTERM: %r" %
          in_progress(client), d)
    idx = index(client, ten, tl)
    check_listed(client, ten, tl, idx, waldir)
    log = full_log(d)
    check(len(idx["backups"]) == 2 or "aborted the multipart upload" in log,
          "neither completed nor aborted: %r" % idx["backups"], d)
    check(secret not in log, "the secret is in the log", d)
    print("ok: %d segments, %d backups remote" % (len(idx["segments"]), len(idx["backups"])))
finally:
    if d is not None:
        d.cleanup()
    if pg is not None:
        pg.cleanup()
    rgw.stop()
