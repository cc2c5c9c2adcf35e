# SPDX-License-Identifier: MIT
"""Ceph's radosgw for the Python integration tests: a thin wrapper of radosgw.sh (the one
fixture; see it for what is started and how), used as a context manager:

    with Radosgw() as rgw:
        rgw.endpoint, rgw.region, rgw.access_key, rgw.secret_key

`rgw.client()` is a small S3 client for the tests' own checks (curl's --aws-sigv4, never execd's
code: a test must not check execd with execd). Skips the test (exit 77, execd_harness.skip) with radosgw.sh's reason when the cluster cannot be
started; the daemons are stopped and the directory removed on leaving the block, also on a
failure inside it.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET

import execd_harness

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class S3Curl:
    """The S3 requests the tests make (path-style, SigV4 by curl), each a curl process: create a
    bucket, list objects, get one, list the multipart uploads in progress."""

    def __init__(self, rgw):
        self.rgw = rgw

    def _curl(self, method, path, query=""):
        url = "%s/%s%s" % (self.rgw.endpoint, urllib.parse.quote(path), "?" + query if query else "")
        p = subprocess.run(["curl", "-sS", "-X", method, "-w", "\n%{http_code}",
                            "--aws-sigv4", "aws:amz:%s:s3" % self.rgw.region,
                            "--user", "%s:%s" % (self.rgw.access_key, self.rgw.secret_key),
                            "-H", "x-amz-content-sha256: " + EMPTY_SHA256, url],
                           capture_output=True, timeout=120)
        body, _, status = p.stdout.rpartition(b"\n")
        if p.returncode != 0 or not status.startswith(b"2"):
            raise AssertionError("S3 %s %s: curl %d, HTTP %s: %s %s" % (
                method, path, p.returncode, status.decode(), body[:300], p.stderr[:300]))
        return body

    def create_bucket(self, bucket):
        self._curl("PUT", bucket)

    def get_object(self, bucket, key):
        return self._curl("GET", bucket + "/" + key)

    def list_objects(self, bucket, prefix=""):
        """{key: (size, etag without quotes)} of every object under prefix (all pages)."""
        out, token = {}, None
        while True:
            q = {"list-type": "2", "prefix": prefix}
            if token:
                q["continuation-token"] = token
            root = ET.fromstring(self._curl("GET", bucket, urllib.parse.urlencode(
                sorted(q.items()), quote_via=urllib.parse.quote)))
            for c in root.iter(S3_NS + "Contents"):
                out[c.findtext(S3_NS + "Key")] = (int(c.findtext(S3_NS + "Size")),
                                                  c.findtext(S3_NS + "ETag").strip('"'))
            token = root.findtext(S3_NS + "NextContinuationToken")
            if root.findtext(S3_NS + "IsTruncated") != "true" or not token:
                return out

    def list_multipart_uploads(self, bucket):
        """The keys of the multipart uploads in progress."""
        root = ET.fromstring(self._curl("GET", bucket, "uploads="))
        return [u.findtext(S3_NS + "Key") for u in root.iter(S3_NS + "Upload")]


RADOSGW_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "radosgw.sh")
START_TIMEOUT_S = 300.0  # generous: a slow machine makes a test slow, never wrong


class Radosgw:
    def __init__(self):
        self.dir = None
        self.env = {}

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="radosgw.")
        try:
            p = subprocess.run([RADOSGW_SH, "start", self.dir], capture_output=True, text=True,
                               timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.stop()
            execd_harness.fail("radosgw.sh start took more than %d s" % START_TIMEOUT_S)
        if p.returncode != 0:
            self.stop()
            if p.returncode == 77:
                execd_harness.skip(p.stderr.strip().splitlines()[-1] if p.stderr.strip()
                                   else "radosgw could not be started")
            execd_harness.fail("radosgw.sh start exited %d: %s" % (p.returncode, p.stderr))
        for line in p.stdout.splitlines():
            name, _, value = line.partition("=")
            self.env[name] = value
        return self

    def stop(self):
        if self.dir is None:
            return
        subprocess.run([RADOSGW_SH, "stop", self.dir], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def _gateway_pid(self):
        with open(os.path.join(self.dir, "pids")) as f:
            pids = f.read().split()
        for pid in pids:
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and os.path.basename(argv[0].decode()) == "radosgw":
                return int(pid), [a.decode() for a in argv if a]
        return None, None

    def stop_gateway(self):
        """Stop radosgw alone (the object store down; monitor and OSD keep the data): SIGTERM,
        waited for. Its command line is kept for start_gateway()."""
        pid, argv = self._gateway_pid()
        if pid is None:
            execd_harness.fail("radosgw is not running")
        self._gateway_argv = argv
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            try:  # reap it if it is our child's child; else just wait for it to go
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)  # polling a process's end, not synchronising with execd

    def start_gateway(self):
        """Start radosgw again with the same data (the object store back), remembered for stop;
        returns once it answers HTTP."""
        log = open(os.path.join(self.dir, "log", "daemons.out"), "ab")
        p = subprocess.Popen(self._gateway_argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        with open(os.path.join(self.dir, "pids"), "a") as f:
            f.write("%d\n" % p.pid)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if subprocess.run(["curl", "-sf", "-o", "/dev/null", self.endpoint + "/"]).returncode == 0:
                return
            time.sleep(0.2)
        execd_harness.fail("radosgw did not answer again")

    def client(self):
        return S3Curl(self)

    @property
    def endpoint(self):
        return self.env["RADOSGW_ENDPOINT"]

    @property
    def region(self):
        return self.env["RADOSGW_REGION"]

    @property
    def access_key(self):
        return self.env["RADOSGW_ACCESS_KEY"]

    @property
    def secret_key(self):
        return self.env["RADOSGW_SECRET_KEY"]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
