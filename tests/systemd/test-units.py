# SPDX-License-Identifier: MIT
"""The systemd integration files, checked offline (no systemd as PID 1 needed):
systemd-analyze verify passes on the generated units; the syscall filter leaves io_uring (and
what the daemon needs) allowed; the exposure score stays low; the sysusers.d and tmpfiles.d
snippets apply to an empty root; the service's ExecStart names the configured bindir."""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get("SYSTEMD_SRCDIR", "")
BUILD = os.environ.get("SYSTEMD_BUILDDIR", "")
MAN_SRCDIR = os.environ.get("MAN_SRCDIR", "")
BINDIR = os.environ.get("BINDIR", "")
EXECD = os.environ.get("EXECD", "")
# execd's default --shutdown-timeout, in seconds (execd(8)).
DAEMON_SHUTDOWN_TIMEOUT_S = 30

# What the daemon needs besides the basics: io_uring for the runtime, sockets for the control
# socket and libpq, fsync/rename for crash-safe state, eventfd/timerfd/signalfd.
NEEDED = ["io_uring_setup", "io_uring_enter", "io_uring_register", "socket", "bind", "listen",
          "accept4", "connect", "sendmsg", "recvmsg", "getsockopt", "fsync", "fdatasync",
          "renameat", "openat", "eventfd2", "timerfd_create", "signalfd4", "clone3", "futex",
          "mmap", "munmap", "sched_getaffinity", "getrandom", "statx", "unlinkat", "mkdirat",
          "ftruncate", "fallocate", "pwrite64", "pread64"]


def run(*argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def unit_lines(path, key):
    vals = []
    with open(path) as f:
        for line in f:
            m = re.match(r"^%s=(.*)$" % re.escape(key), line.strip())
            if m:
                vals.append(m.group(1).strip())
    return vals


_groups = {}


def expand(name):
    """A syscall or @group, expanded recursively with systemd-analyze's own tables."""
    if not name.startswith("@"):
        return {name}
    if name not in _groups:
        p = run("systemd-analyze", "syscall-filter", name)
        if p.returncode != 0:
            raise AssertionError("systemd-analyze syscall-filter %s: %s" % (name, p.stderr))
        out = set()
        lines = [l.strip() for l in p.stdout.splitlines()[1:]]
        for l in lines:
            if l and not l.startswith("#"):
                out |= expand(l)
        _groups[name] = out
    return _groups[name]


class Units(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="execd-units-")
        cls.service = os.path.join(BUILD, "execd.service")
        cls.socket = os.path.join(SRC, "execd.socket")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_execstart_names_bindir(self):
        self.assertEqual(unit_lines(self.service, "ExecStart"),
                         [os.path.join(BINDIR, "execd")])
        with open(self.service) as f:
            self.assertNotIn("@bindir@", f.read())

    def test_verify(self):
        # verify insists that ExecStart's binary exists: lay the units out with ExecStart
        # pointing at the built daemon (or a stand-in while the daemon is not built); the
        # rest of the unit is verified exactly as generated.
        d = os.path.join(self.tmp, "units")
        os.makedirs(d, exist_ok=True)
        binary = EXECD if EXECD and os.access(EXECD, os.X_OK) else os.path.join(self.tmp, "execd")
        if binary != EXECD:
            with open(binary, "w") as f:
                f.write("#!/bin/sh\nexit 0\n")
            os.chmod(binary, 0o755)
        with open(self.service) as f:
            text = f.read()
        text = text.replace("ExecStart=%s/execd" % BINDIR, "ExecStart=%s" % binary)
        with open(os.path.join(d, "execd.service"), "w") as f:
            f.write(text)
        shutil.copy(self.socket, os.path.join(d, "execd.socket"))
        # Documentation=man:... is checked with man(1): show it our pages.
        man = os.path.join(self.tmp, "man")
        for sec, page in (("1", "execctl.1"), ("8", "execd.8")):
            os.makedirs(os.path.join(man, "man" + sec), exist_ok=True)
            shutil.copy(os.path.join(MAN_SRCDIR, page), os.path.join(man, "man" + sec))
        env = dict(os.environ, MANPATH=man)
        args = ["systemd-analyze", "verify"]
        if not shutil.which("man"):
            args.append("--man=no")
        p = run(*args, os.path.join(d, "execd.socket"), os.path.join(d, "execd.service"),
                env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # systemd-analyze also reports some problems as warnings only.
        noise = [l for l in p.stderr.splitlines() if "execd" in l]
        self.assertEqual(noise, [], p.stderr)

    def test_syscall_filter_allows_io_uring(self):
        allow, deny = set(), set()
        for v in unit_lines(self.service, "SystemCallFilter"):
            if v.startswith("~"):
                for n in v[1:].split():
                    deny |= expand(n)
            else:
                for n in v.split():
                    allow |= expand(n)
        allowed = allow - deny
        missing = [s for s in NEEDED if s not in allowed]
        self.assertEqual(missing, [], "filtered out by SystemCallFilter=")
        self.assertNotIn("reboot", allowed)
        self.assertNotIn("setuid", allowed & deny)

    def test_service_settings(self):
        s = self.service
        self.assertEqual(unit_lines(s, "Type"), ["notify"])
        self.assertEqual(unit_lines(s, "StateDirectory"), ["execd"])
        self.assertEqual(unit_lines(s, "RuntimeDirectory"), ["execd"])
        self.assertEqual(unit_lines(s, "Restart"), ["on-failure"])
        self.assertGreater(int(unit_lines(s, "TimeoutStopSec")[0]), DAEMON_SHUTDOWN_TIMEOUT_S)
        self.assertTrue(unit_lines(s, "WatchdogSec"))
        for key, val in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                         ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                         ("PrivateDevices", "yes"), ("MemoryDenyWriteExecute", "yes"),
                         ("CapabilityBoundingSet", "")):
            self.assertEqual(unit_lines(s, key), [val], key)
        fams = unit_lines(s, "RestrictAddressFamilies")[0].split()
        self.assertEqual(sorted(fams), ["AF_INET", "AF_INET6", "AF_UNIX"])
        self.assertEqual(unit_lines(self.socket, "ListenStream"), ["/run/execd/execd.sock"])
        self.assertEqual(unit_lines(self.socket, "SocketMode"), ["0660"])
        self.assertEqual(unit_lines(self.socket, "SocketGroup"), ["execd"])

    def test_exposure(self):
        d = os.path.join(self.tmp, "sec")
        os.makedirs(d, exist_ok=True)
        with open(self.service) as f:
            text = f.read().replace("ExecStart=%s/execd" % BINDIR, "ExecStart=/bin/true")
        with open(os.path.join(d, "execd.service"), "w") as f:
            f.write(text)
        p = run("systemd-analyze", "security", "--offline=yes", "--threshold=20",
                os.path.join(d, "execd.service"))
        if "unrecognized option" in p.stderr:
            self.skipTest("systemd-analyze security --offline needs systemd >= 250")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        m = re.search(r"Overall exposure level for execd.service: ([0-9.]+)", p.stdout)
        self.assertTrue(m, p.stdout)
        self.assertLessEqual(float(m.group(1)), 2.0, p.stdout)

    def test_sysusers_and_tmpfiles(self):
        root = os.path.join(self.tmp, "root")
        os.makedirs(os.path.join(root, "etc"), exist_ok=True)
        with open(os.path.join(SRC, "sysusers.d", "execd.conf")) as f:
            p = run("systemd-sysusers", "--root=" + root, "-", stdin=f)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(root, "etc", "passwd")) as f:
            pw = [l.split(":") for l in f if l.startswith("execd:")]
        with open(os.path.join(root, "etc", "group")) as f:
            gr = [l.split(":") for l in f if l.startswith("execd:")]
        self.assertEqual(len(pw), 1)
        self.assertEqual(len(gr), 1)
        self.assertEqual(pw[0][3], gr[0][2], "execd's primary group is execd")
        self.assertEqual(pw[0][5], "/var/lib/execd")
        if os.geteuid() != 0:
            return  # tmpfiles needs to chown
        with open(os.path.join(SRC, "tmpfiles.d", "execd.conf")) as f:
            p = run("systemd-tmpfiles", "--root=" + root, "--create", "-", stdin=f)
        self.assertEqual(p.returncode, 0, p.stderr)
        st = os.stat(os.path.join(root, "var", "lib", "execd"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o750)
        self.assertEqual(st.st_uid, int(pw[0][2]))
        self.assertTrue(os.path.isdir(os.path.join(root, "run", "execd")))


if __name__ == "__main__":
    for tool in ("systemd-analyze", "systemd-sysusers", "systemd-tmpfiles"):
        if not shutil.which(tool):
            print("SKIP: %s not found (Debian package systemd)" % tool, file=sys.stderr)
            sys.exit(77)
    unittest.main(verbosity=2)
