# SPDX-License-Identifier: MIT
"""A real Prometheus server scrapes execd's --metrics-listen on the loopback, and a value of
execd's comes back through Prometheus's HTTP query API (/api/v1/query): the endpoint works for
the consumer it exists for, not only for our own parser. Every wait is a bounded poll of an API
(Prometheus's readiness, then the query), never a sleep. Skips (77) without /usr/bin/prometheus
(Debian package `prometheus`)."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request

from execd_harness import Daemon, check, skip, wait_until

PROMETHEUS = shutil.which("prometheus") or (
    "/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK) else None)
if not PROMETHEUS:
    skip("prometheus is not installed (Debian package prometheus)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    """The body of a 200 answer, or None (not up yet, or any error)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode() if r.status == 200 else None
    except (OSError, urllib.error.URLError):
        return None


def query(prom, expr):
    """The vector result of @expr (a list, empty while nothing was scraped), or None."""
    body = get("http://127.0.0.1:%d/api/v1/query?%s" % (prom, urllib.parse.urlencode({"query": expr})))
    if body is None:
        return None
    r = json.loads(body)
    return r["data"]["result"] if r.get("status") == "success" else None


mport, pport = free_port(), free_port()
tmp = tempfile.mkdtemp(prefix="execd-prom-")
d = Daemon(extra=["--metrics-listen", "127.0.0.1:%d" % mport])
prom = None
try:
    d.start()
    conf = os.path.join(tmp, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: execd\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % mport)
    plog = open(os.path.join(tmp, "prometheus.log"), "wb")
    prom = subprocess.Popen([PROMETHEUS, "--config.file", conf,
                             "--storage.tsdb.path", os.path.join(tmp, "data"),
                             "--web.listen-address", "127.0.0.1:%d" % pport],
                            stdin=subprocess.DEVNULL, stdout=plog, stderr=subprocess.STDOUT)

    def prom_log():
        with open(os.path.join(tmp, "prometheus.log"), "rb") as f:
            return f.read().decode(errors="replace")[-5000:]

    def ready():
        check(prom.poll() is None, "prometheus exited: %s" % prom_log(), d)
        return get("http://127.0.0.1:%d/-/ready" % pport) is not None

    wait_until(ready, "prometheus to be ready", d)
    result = []

    def scraped():
        global result
        result = query(pport, 'execd_tasks_spawned_total{job="execd",kind="control_listener"}') or []
        return len(result) == 1

    wait_until(scraped, "prometheus to scrape execd", d)
    check(result[0]["value"][1] == "1", "one control listener spawned: %r" % result, d)
    up = query(pport, 'up{job="execd"}')
    check(up and up[0]["value"][1] == "1", "the target is up: %r" % up, d)
    threads = query(pport, 'process_threads{job="execd"}')
    check(threads and float(threads[0]["value"][1]) >= 3, "process_threads: %r" % threads, d)
    check(d.stop() == 0, "execd stops cleanly", d)
    print("ok: prometheus read execd_tasks_spawned_total back")
finally:
    if prom is not None and prom.poll() is None:
        prom.terminate()
        try:
            prom.wait(60)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait()
    d.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
