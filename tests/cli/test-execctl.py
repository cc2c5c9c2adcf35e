# SPDX-License-Identifier: MIT
"""execctl against a real execd: every command and flag, filters, id prefixes (unique,
ambiguous, unknown), daemon-side errors and their exit codes, and --json output that parses and
matches the table."""
import json
import re
import subprocess
import time
import unittest

import execd_harness

# Ids chosen so that prefixes are predictable: "aaaa" is ambiguous, "aaaa0" and "b" are unique.
TA = "aaaa0000000000000000000000000001"
TB = "aaaa1111111111111111111111111112"
TC = "bbbb2222222222222222222222222223"
LA = "cccc0000000000000000000000000001"
LB = "cccc1111111111111111111111111112"
LC = "dddd2222222222222222222222222223"
LS = "55550000000000000000000000000005"  # test_shutdown's
LW = "77770000000000000000000000000007"  # test_timeline_source's

TASK_COLUMNS = ["ID", "KIND", "TENANT", "TIMELINE", "NAME", "STATE", "AGE", "POLLS", "BUSY"]
TASK_KEYS = {"id", "kind", "tenant", "timeline", "name", "state", "cancel_requested", "critical",
             "started_at_ms", "age_ms", "polls", "busy_ns", "max_poll_ns"}


def table(out, columns):
    """Splits a table printed with --no-legend into rows of len(columns) cells. The STATE cell
    may carry " (cancelling)", which we fold back."""
    rows = []
    for line in out.splitlines():
        cells = line.replace(" (cancel", "(cancel").split()
        assert len(cells) >= len(columns), line
        rows.append(cells)
    return rows


class Execctl(execd_harness.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sock = cls.daemon.socket
        for t in (TA, TB, TC):
            rc, out, err = execd_harness.execctl("tenant", "create", "--id", t, socket_path=sock)
            assert rc == 0 and out.strip() == t, (rc, out, err)
        for tenant, tl in ((TA, LA), (TA, LB), (TC, LC)):
            rc, out, err = execd_harness.execctl("timeline", "create", "--tenant", tenant, "--id", tl,
                                             socket_path=sock)
            assert rc == 0 and out.strip() == tl, (rc, out, err)

    # --- status -----------------------------------------------------------------------------
    def test_status(self):
        out = self.ok("status")
        self.assertRegex(out, r"^execd \S+ \(protocol 1\)")
        self.assertRegex(out, r"State: running")
        self.assertIn("PID: %d" % self.daemon.proc.pid, out)
        s = self.json("status")
        self.assertEqual(s["protocol"], 1)
        self.assertEqual(s["pid"], self.daemon.proc.pid)
        self.assertEqual(s["state"], "running")
        self.assertGreaterEqual(s["tenants"], 3)
        self.assertGreaterEqual(s["timelines"], 3)
        self.assertIn("Tenants: %d" % s["tenants"], out)

    # --- tenants ----------------------------------------------------------------------------
    def test_tenant_list(self):
        out = self.ok("tenant", "list")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "STATE", "TIMELINES", "AGE"])
        self.assertRegex(lines[-1], r"^\d+ tenants? listed\.$")
        # Shortened ids by default, full ids with --full.
        self.assertIn("aaaa0000 ", out)
        self.assertNotIn(TA, out)
        full = self.ok("tenant", "list", "--full", "--no-legend")
        self.assertIn(TA, full)
        self.assertNotIn("listed", full)
        self.assertNotIn("STATE", full)

    def test_tenant_list_json_matches_table(self):
        data = self.json("tenant", "list")
        rows = table(self.ok("tenant", "list", "--full", "--no-legend"), ["ID", "STATE", "N", "A"])
        self.assertEqual(sorted(r[0] for r in rows), sorted(t["id"] for t in data["tenants"]))
        byid = {t["id"]: t for t in data["tenants"]}
        for r in rows:
            self.assertEqual(r[1], byid[r[0]]["state"])
            self.assertEqual(int(r[2]), byid[r[0]]["timelines"])
        per_tenant = {}
        for tl in self.json("timeline", "list")["timelines"]:
            per_tenant[tl["tenant"]] = per_tenant.get(tl["tenant"], 0) + 1
        for tid, t in byid.items():
            self.assertEqual(t["timelines"], per_tenant.get(tid, 0), tid)

    def test_tenant_create_generated_and_delete(self):
        tid = self.ok("tenant", "create").strip()
        self.assertRegex(tid, r"^[0-9a-f]{32}$")
        j = self.json("tenant", "create")["tenant"]
        self.assertRegex(j["id"], r"^[0-9a-f]{32}$")
        self.assertEqual(j["state"], "active")
        out = self.ok("tenant", "delete", tid)
        self.assertIn(tid, out)
        res = self.json("tenant", "delete", j["id"][:12], "--timeout", "20s")
        self.assertEqual(res["tenant"], j["id"])
        self.assertIsInstance(res["tasks_ended"], int)
        ids = [t["id"] for t in self.json("tenant", "list")["tenants"]]
        self.assertNotIn(tid, ids)
        self.assertNotIn(j["id"], ids)
        self.fails(3, "tenant", "delete", tid)

    def test_tenant_exists(self):
        _, err = self.fails(1, "tenant", "create", "--id", TA)
        self.assertIn("exists", err)

    def test_tenant_prefixes(self):
        # Unique prefix: accepted (upper case too: ids are hex).
        data = self.json("timeline", "list", "--tenant", "aaaa0")
        self.assertEqual(sorted(t["id"] for t in data["timelines"]), sorted([LA, LB]))
        data = self.json("timeline", "list", "--tenant", "B")
        self.assertEqual([t["id"] for t in data["timelines"]], [LC])
        # Ambiguous: exit 1, the candidates named.
        _, err = self.fails(1, "timeline", "list", "--tenant", "aaaa")
        self.assertIn("ambiguous", err)
        self.assertIn(TA, err)
        self.assertIn(TB, err)
        # Unknown: exit 3.
        _, err = self.fails(3, "timeline", "list", "--tenant", "ee")
        self.assertIn("not_found", err)
        self.fails(3, "tenant", "delete", "ee")
        self.fails(1, "tenant", "delete", "aaaa")

    # --- timelines --------------------------------------------------------------------------
    def test_timeline_list(self):
        out = self.ok("timeline", "list")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "TENANT", "STATE", "RECEIVED", "FLUSHED",
                                            "LAG", "SEGMENTS", "DISK"])
        self.assertRegex(lines[-1], r"^\d+ timelines? listed\.$")
        data = self.json("timeline", "list")
        rows = table(self.ok("timeline", "list", "--full", "--no-legend"), ["I"] * 8)
        self.assertEqual(sorted(r[0] for r in rows), sorted(t["id"] for t in data["timelines"]))
        byid = {t["id"]: t for t in data["timelines"]}
        for r in rows:
            self.assertEqual(r[1], byid[r[0]]["tenant"])
            self.assertEqual(r[2], byid[r[0]]["state"])
            self.assertEqual(int(r[6]), byid[r[0]]["segments"])

    def test_timeline_show(self):
        out = self.ok("timeline", "show", "cccc0")
        self.assertRegex(out, r"Timeline: %s" % LA)
        self.assertRegex(out, r"Tenant: %s" % TA)
        for field in ("State:", "Source:", "Received:", "Flushed:", "Lag:", "Segments:",
                      "On disk:"):
            self.assertIn(field, out)
        tl = self.json("timeline", "show", LA[:6])["timeline"]
        self.assertEqual(tl["id"], LA)
        self.assertEqual(tl["tenant"], TA)
        self.assertIsNone(tl["source"])
        self.assertIn("State: %s" % tl["state"], out)
        self.assertIn("Segments: %d" % tl["segments"], out)
        # --timeline instead of the positional, and --tenant narrowing the search.
        self.assertEqual(self.json("timeline", "show", "--timeline", "dd")["timeline"]["id"], LC)
        self.assertEqual(self.json("timeline", "show", "dd", "--tenant", "bb")["timeline"]["id"],
                         LC)
        self.fails(3, "timeline", "show", "dd", "--tenant", "aaaa0")
        _, err = self.fails(1, "timeline", "show", "cccc")
        self.assertIn(LA, err)
        self.assertIn(LB, err)
        self.fails(3, "timeline", "show", "ff")

    def test_timeline_create_delete(self):
        tl = self.ok("timeline", "create", "--tenant", "aaaa1").strip()
        self.assertRegex(tl, r"^[0-9a-f]{32}$")
        self.assertEqual(self.json("timeline", "show", tl)["timeline"]["tenant"], TB)
        self.fails(1, "timeline", "create", "--tenant", TB, "--id", tl)
        self.fails(3, "timeline", "create", "--tenant", "ee")
        self.fails(1, "timeline", "create", "--tenant", "aaaa")
        res = self.json("timeline", "delete", tl, "--timeout", "30s")
        self.assertEqual(res["timeline"], tl)
        self.fails(3, "timeline", "show", tl)
        tl2 = self.json("timeline", "create", "--tenant", TB)["timeline"]["id"]
        out = self.ok("timeline", "delete", tl2[:10], "--tenant", TB[:5])
        self.assertIn(tl2, out)

    def test_timeline_source(self):
        # A source nobody listens on: the timeline exists, its WAL receiver retries, and
        # timeline show reports the source (password removed), slot, state and last error.
        src = "host=%s port=1 user=execd password=sekrit dbname=replication" % self.daemon.tmp
        out = self.ok("timeline", "create", "--tenant", TC, "--id", LW, "--source", src,
                      "--slot", "execd_harness", "--start-lsn", "0/1000000")
        self.assertEqual(out.strip(), LW)
        self.addCleanup(self.ctl, "timeline", "delete", LW)
        tl = self.json("timeline", "show", LW)["timeline"]
        self.assertIn(self.daemon.tmp, tl["source"])
        self.assertNotIn("sekrit", tl["source"])
        self.assertEqual(tl["slot"], "execd_harness")
        self.assertIn(tl["state"], ("connecting", "backoff", "error"))
        out = self.ok("timeline", "show", LW)
        self.assertNotIn("sekrit", out)
        self.assertIn("Slot: execd_harness", out)
        # Its WAL receiver is a task of the timeline (started asynchronously: bounded wait).
        deadline = time.monotonic() + 60
        while not self.json("list", "--timeline", LW, "--kind", "wal_receiver")["tasks"]:
            self.assertLess(time.monotonic(), deadline, "no wal_receiver task")
            time.sleep(0.05)
        rows = table(self.ok("list", "--timeline", "7777", "--no-legend"), TASK_COLUMNS)
        self.assertIn("wal_receiver", [r[1] for r in rows])
        self.assertTrue(all(r[3] == LW[:8] and r[2] == TC[:8] for r in rows), rows)
        # Shut the receiver down by kind and timeline: it ends, cooperatively, in time.
        res = self.json("shutdown", "--timeline", LW, "--kind", "wal_receiver")
        self.assertEqual(res["remaining"], [])
        self.assertEqual([t["kind"] for t in res["ended"]], ["wal_receiver"])
        # The timeline's error is shown on lines of its own, indented.
        for line in self.ok("timeline", "show", LW).splitlines():
            self.assertRegex(line, r"^ *\S")

    def test_timeline_wait_lsn_timeout(self):
        # No source: the flush LSN never reaches 1/0, so the wait times out (exit 1).
        _, err = self.fails(1, "timeline", "wait-lsn", LC, "--lsn", "1/0", "--timeout", "200ms")
        self.assertIn("timeout", err)
        self.fails(3, "timeline", "wait-lsn", "ff", "--lsn", "0/0", "--timeout", "1s")

    def test_timeline_wait_lsn_reached(self):
        # Everything is at or past LSN 0/0.
        out = self.ok("timeline", "wait-lsn", LC, "--lsn", "0/0", "--timeout", "5s")
        self.assertRegex(out.strip(), r"^[0-9A-F]+/[0-9A-F]+$")
        self.assertIn("flush_lsn", self.json("timeline", "wait-lsn", "--timeline", LC,
                                             "--lsn", "0/0"))

    # --- tasks ------------------------------------------------------------------------------
    def test_list_table_and_json(self):
        out = self.ok("list")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), TASK_COLUMNS)
        self.assertRegex(lines[-1], r"^\d+ tasks? listed\.$")
        data = self.json("list")
        self.assertIsInstance(data["tasks"], list)
        for t in data["tasks"]:
            self.assertTrue(TASK_KEYS <= set(t), t)
        kinds = {t["kind"] for t in data["tasks"]}
        self.assertIn("control_listener", kinds)
        # The request listing the tasks is itself a task of kind control_request.
        self.assertIn("control_request", kinds)
        rows = table(self.ok("list", "--full", "--no-legend"), TASK_COLUMNS)
        # Tasks come and go (control requests): the long-lived ones appear in both.
        stable = {t["id"]: t for t in data["tasks"] if t["kind"] != "control_request"}
        seen = {int(r[0]): r for r in rows}
        for tid, t in stable.items():
            self.assertIn(tid, seen, "task %d in --json but not in the table" % tid)
            r = seen[tid]
            self.assertEqual(r[1], t["kind"])
            self.assertEqual(r[2], t["tenant"] or "-")
            self.assertEqual(r[3], t["timeline"] or "-")
            self.assertEqual(r[4], t["name"])

    def test_list_shortens_ids(self):
        data = self.json("list", "--tenant", TA)
        if not data["tasks"]:
            self.skipTest("execd runs no task for a tenant without a source")
        out = self.ok("list", "--tenant", TA, "--no-legend")
        self.assertIn(TA[:8], out)
        self.assertNotIn(TA, out)
        self.assertIn(TA, self.ok("list", "--tenant", TA, "--no-legend", "--full"))

    def test_list_filters(self):
        for kind in ("control_listener", "control_request"):
            data = self.json("list", "--kind", kind)
            self.assertTrue(data["tasks"])
            self.assertTrue(all(t["kind"] == kind for t in data["tasks"]))
            rows = table(self.ok("list", "--kind", kind, "--no-legend"), TASK_COLUMNS)
            self.assertTrue(all(r[1] == kind for r in rows))
        data = self.json("list", "--state", "running")
        self.assertTrue(all(t["state"] == "running" for t in data["tasks"]))
        # The control request answering this runs while it lists.
        self.assertIn("control_request", {t["kind"] for t in data["tasks"]})
        self.assertEqual(self.json("list", "--kind", "wal_receiver", "--tenant", TC)["tasks"], [])
        for t in self.json("list", "--tenant", "aaaa0")["tasks"]:
            self.assertEqual(t["tenant"], TA)
        for t in self.json("list", "--timeline", "dd")["tasks"]:
            self.assertEqual(t["timeline"], LC)
        self.fails(1, "list", "--tenant", "aaaa")
        self.fails(3, "list", "--tenant", "ee")
        self.fails(3, "list", "--timeline", "ff")
        out = self.ok("list", "--kind", "wal_receiver", "--tenant", TC)
        self.assertIn("0 tasks listed.", out)
        self.assertEqual(self.ok("list", "--kind", "wal_receiver", "--tenant", TC,
                                 "--no-legend"), "")

    def test_global_options_anywhere(self):
        a = json.loads(self.ok("--json", "tenant", "list"))
        b = json.loads(self.ok("tenant", "--json", "list"))
        c = json.loads(self.ok("tenant", "list", "--json"))
        self.assertEqual(sorted(t["id"] for t in a["tenants"]),
                         sorted(t["id"] for t in b["tenants"]))
        self.assertEqual(sorted(t["id"] for t in a["tenants"]),
                         sorted(t["id"] for t in c["tenants"]))

    def test_env_socket(self):
        rc, out, err = execd_harness.execctl("status", "--json",
                                         env={"EXECCTL_SOCKET": self.daemon.socket})
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["pid"], self.daemon.proc.pid)

    def test_cancel(self):
        self.fails(3, "cancel", "999999999")
        # A request that waits for an LSN that never comes runs as a control_request task of
        # its own; cancelling that task ends the request (cooperatively) and the client's wait.
        w = subprocess.Popen([execd_harness.EXECCTL, "--socket", self.daemon.socket, "timeline",
                              "wait-lsn", LC, "--lsn", "FF/0", "--timeout", "10min"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # The waiter's task is the control_request attributed to the timeline it waits on
            # (connections are control_request tasks too, without a timeline). Bounded retry.
            deadline = time.monotonic() + 60
            waiter = None
            while waiter is None:
                self.assertLess(time.monotonic(), deadline, "the waiter never showed up")
                tasks = self.json("list", "--kind", "control_request", "--timeline", LC)["tasks"]
                if tasks:
                    self.assertEqual(len(tasks), 1, tasks)
                    waiter = tasks[0]["id"]
                else:
                    time.sleep(0.05)
            out = self.ok("cancel", str(waiter))
            self.assertIn("Cancellation requested for task %d" % waiter, out)
            out, err = w.communicate(timeout=60)
            self.assertNotEqual(w.returncode, 0, "a cancelled wait is not a success: " + out)
            self.assertIn("wait_lsn", err)
        finally:
            if w.poll() is None:
                w.kill()
                w.wait()
        # The cancelled task ends: it leaves the list (or is listed as done).
        deadline = time.monotonic() + 60
        while True:
            left = [t for t in self.json("list", "--kind", "control_request")["tasks"]
                    if t["id"] == waiter and t["state"] != "done"]
            if not left:
                break
            self.assertTrue(left[0]["cancel_requested"])
            self.assertLess(time.monotonic(), deadline, "cancelled task never ended")
            time.sleep(0.05)

    def test_shutdown(self):
        # A fixed id: a random one could share a prefix with those the other tests use.
        tl = self.ok("timeline", "create", "--tenant", TB, "--id", LS).strip()
        self.addCleanup(self.ctl, "timeline", "delete", LS)
        res = self.json("shutdown", "--timeline", tl, "--timeout", "30s")
        self.assertEqual(res["remaining"], [])
        for t in res["ended"]:
            self.assertEqual(t["timeline"], tl)
        out = self.ok("shutdown", "--timeline", tl[:12])
        self.assertRegex(out.splitlines()[0], r"^\d+ tasks? ended:$")
        self.assertEqual(self.ok("shutdown", "--timeline", tl, "--no-legend"), "")
        self.fails(3, "shutdown", "--tenant", "ee")
        self.fails(1, "shutdown", "--timeline", "cccc")
        res = self.json("shutdown", "--kind", "retention_gc", "--tenant", TB, "--timeout", "5s")
        self.assertEqual(res["remaining"], [])


if __name__ == "__main__":
    execd_harness.require_binaries()
    execd_harness.main()
