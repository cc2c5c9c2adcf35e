# SPDX-License-Identifier: MIT
"""A throwaway PostgreSQL 15 cluster for the Python integration tests: what tests/common/pg.sh
does for the shell tests, next to execd_harness (which starts execd). initdb refuses root, so the
cluster belongs to the `postgres` user, in a temporary directory, on a Unix socket only,
wal_level=replica, trust for local (replication) connections. Nothing sleeps to synchronise:
pg_ctl -w waits for the server.

    pg = PgCluster.start(port=5470)     # skips (exit 77) without postgresql-15 or root
    pg.psql("select 1"); pg.current_lsn(); pg.stop_server(); pg.start_server(); pg.cleanup()
"""
import os
import shutil
import subprocess
import tempfile

from execd_harness import skip

PG_BINDIR = os.environ.get("PG_BINDIR") or "/usr/lib/postgresql/15/bin"


def as_postgres(argv, **kw):
    """Run argv as the postgres user (from /, which postgres can enter)."""
    return subprocess.run(["runuser", "-u", "postgres", "--"] + list(argv), cwd="/",
                          capture_output=True, text=True, timeout=300, **kw)


class PgCluster:
    def __init__(self, port):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="execd-pgpy.")
        os.chmod(self.dir, 0o755)
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self.conninfo = "host=%s port=%d user=postgres dbname=postgres" % (self.dir, port)

    @staticmethod
    def require():
        if not os.access(os.path.join(PG_BINDIR, "initdb"), os.X_OK):
            skip("postgresql-15 is not installed (apt-get install postgresql-15)")
        if os.geteuid() != 0:
            skip("needs root (to run initdb as the postgres user)")
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            skip("no 'postgres' user (installed by the postgresql-15 package)")

    @classmethod
    def start(cls, port, extra_conf=()):
        cls.require()
        pg = cls(port)
        p = as_postgres([os.path.join(PG_BINDIR, "initdb"), "-D", pg.data, "-U", "postgres",
                         "-A", "trust", "--no-sync", "-E", "UTF8"])
        if p.returncode != 0:
            pg.cleanup()
            raise AssertionError("initdb failed: " + p.stdout + p.stderr)
        conf = ["listen_addresses = ''", "unix_socket_directories = '%s'" % pg.dir,
                "port = %d" % port, "wal_level = replica", "max_wal_senders = 10",
                "max_replication_slots = 10", "fsync = off", "wal_keep_size = 1GB",
                "logging_collector = off"] + list(extra_conf)
        with open(os.path.join(pg.data, "postgresql.conf"), "a") as f:
            f.write("\n".join(conf) + "\n")
        with open(os.path.join(pg.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\nlocal replication all trust\n")
        pg.start_server()
        return pg

    def pg_ctl(self, *args):
        p = as_postgres([os.path.join(PG_BINDIR, "pg_ctl"), "-D", self.data, "-l",
                         os.path.join(self.dir, "server.log"), "-w", "-t", "60"] + list(args))
        if p.returncode != 0:
            raise AssertionError("pg_ctl %s failed: %s%s" % (args, p.stdout, p.stderr))

    def start_server(self):
        self.pg_ctl("start")

    def stop_server(self):
        self.pg_ctl("-m", "fast", "stop")

    def psql(self, sql):
        p = subprocess.run([os.path.join(PG_BINDIR, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                            "-At", "-h", self.dir, "-p", str(self.port), "-U", "postgres",
                            "-d", "postgres", "-c", sql],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise AssertionError("psql %r failed: %s" % (sql, p.stderr))
        return p.stdout.strip()

    def current_lsn(self):
        return self.psql("select pg_current_wal_lsn()")

    def switch_wal(self):
        """Write some WAL and end the segment; returns the LSN after the switch."""
        self.psql("create table if not exists filler(x int, y text); "
                  "insert into filler select g, repeat(md5(g::text), 10) "
                  "from generate_series(1, 5000) g")
        self.psql("select pg_switch_wal()")
        return self.current_lsn()

    def cleanup(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            as_postgres([os.path.join(PG_BINDIR, "pg_ctl"), "-D", self.data, "-m", "immediate",
                         "-w", "-t", "60", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)
