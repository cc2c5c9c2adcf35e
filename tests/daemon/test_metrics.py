# SPDX-License-Identifier: MIT
"""--metrics-listen: GET /metrics answers in the Prometheus text format, `promtool check metrics`
accepts the scrape, the counters follow what the daemon does (a tenant created shows up as a
tenant_manager task spawned, the idle listener parked on a read), other paths and methods are refused, a bad address is a usage
error (exit 2) and a port in use stops the start with a clear message (exit 1)."""
import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.request

from execd_harness import Daemon, check

PROMTOOL = shutil.which("promtool")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port, path="/metrics", method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def samples(text):
    """{'name{labels}': value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


port = free_port()
d = Daemon(extra=["--metrics-listen", "127.0.0.1:%d" % port])
try:
    d.start()  # READY=1 comes after the endpoint listens
    status, ctype, text = scrape(port)
    check(status == 200 and ctype.startswith("text/plain; version=0.0.4"), "%r" % ((status, ctype),), d)
    s = samples(text)
    for name in ('execd_tasks{kind="control_listener",state="waiting"}',
                 'execd_tasks_spawned_total{kind="control_listener"}',
                 'execd_task_poll_duration_seconds_count{kind="other"}',
                 "execd_executor_polls_total", "execd_io_uring_submissions_total",
                 "execd_io_uring_completions_total", "execd_io_uring_inflight_operations",
                 'execd_backups_total{result="success"}', "process_cpu_seconds_total",
                 "process_resident_memory_bytes", "process_open_fds",
                 "process_start_time_seconds", "process_threads"):
        check(name in s, "%s missing from the scrape:\n%s" % (name, text), d)
    check(s['execd_tasks_spawned_total{kind="control_listener"}'] == 1, "one listener", d)
    check(s["process_threads"] >= 3 and s["process_open_fds"] > 0, "process metrics", d)
    # the task-dump record, counted: the idle listener is parked on its accept, nothing else
    parked = {k: v for k, v in s.items()
              if k.startswith('execd_tasks_parked{kind="control_listener",') and v}
    check(parked == {'execd_tasks_parked{kind="control_listener",wait="read"}': 1},
          "the listener parked on accept: %r" % parked, d)

    if PROMTOOL:
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=120)
        check(p.returncode == 0, "promtool check metrics: %s%s" % (p.stdout, p.stderr), d)
    else:
        print("promtool not installed: the lint step is skipped")

    before = s.get('execd_tasks_spawned_total{kind="tenant_manager"}')
    d.ok("tenant.create", {})
    s = samples(scrape(port)[2])
    check(s['execd_tasks_spawned_total{kind="tenant_manager"}'] == before + 1,
          "a tenant's manager task is counted", d)
    check(s['execd_tasks{kind="tenant_manager",state="running"}'] +
          s['execd_tasks{kind="tenant_manager",state="waiting"}'] == 1, "one live tenant manager", d)

    for path, method, code in (("/", "GET", 404), ("/metrics", "POST", 405)):
        try:
            scrape(port, path, method)
            check(False, "%s %s must fail" % (method, path), d)
        except urllib.error.HTTPError as e:
            check(e.code == code, "%s %s: %d, expected %d" % (method, path, e.code, code), d)

    # the same port again: execd says why and exits 1
    other = Daemon(extra=["--metrics-listen", "127.0.0.1:%d" % port])
    try:
        other.launch()
        rc = other.proc.wait(120)
        check(rc == 1 and "cannot serve metrics on 127.0.0.1:%d" % port in other.read_log(),
              "port in use: exit %d, log:\n%s" % (rc, other.read_log()))
    finally:
        other.cleanup()
    rc = d.stop()
    check(rc == 0, "execd exited %d" % rc, d)
finally:
    d.cleanup()

for bad in ("localhost:9187", "127.0.0.1", "127.0.0.1:", "[::1:9187", "1.2.3.4:notaport"):
    p = subprocess.run([os.environ["EXECD"], "--metrics-listen", bad], capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 2 and "--metrics-listen" in p.stderr, "%s: %r" % (bad, p))
print("ok")
