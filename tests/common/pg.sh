# SPDX-License-Identifier: MIT
# tests/common/pg.sh — sourced shell library: a throwaway PostgreSQL 15 cluster for tests and
# benchmarks. initdb refuses root, so the cluster belongs to the `postgres` user; it lives in a
# temporary directory, listens on a Unix socket only (listen_addresses=''), wal_level=replica,
# and trusts local connections (including replication). If postgresql-15 is missing, pg_require
# exits 77 (skipped) with a message.
#
#   . "$srcdir/../common/pg.sh"
#   pg_require                      # exit 77 unless postgresql-15 and the postgres user exist
#   pg_start [extra postgresql.conf lines...]   # sets PG_DIR PG_DATA PG_SOCK PG_PORT PG_CONNINFO
#   pg_psql -c 'select 1'           # psql as postgres on the cluster
#   pg_restart                      # fast restart (for reconnect tests)
#   pg_start_standby; pg_promote_standby   # a streaming standby; promote it (new timeline)
#   pg_stop                         # stop and remove everything (also from an EXIT trap)
#
# Functions never sleep to synchronise: pg_ctl -w waits for the server; loops are bounded.

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
PG_DIR=
PG_DATA=
PG_SOCK=
PG_PORT=${PG_PORT:-5432}
PG_CONNINFO=

pg_require() {
	if [ ! -x "$PG_BINDIR/initdb" ] || [ ! -x "$PG_BINDIR/pg_ctl" ]; then
		echo "SKIP: postgresql-15 is not installed (apt-get install postgresql-15)" >&2
		exit 77
	fi
	if ! id postgres >/dev/null 2>&1; then
		echo "SKIP: no 'postgres' user (installed by the postgresql-15 package)" >&2
		exit 77
	fi
	if [ "$(id -u)" -ne 0 ] && [ "$(id -un)" != postgres ]; then
		echo "SKIP: needs root (to run initdb as the postgres user) or to run as postgres" >&2
		exit 77
	fi
}

# Run a command as the postgres user (directly if we are postgres already).
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		# from /, which postgres can enter (the caller's directory may be root's alone)
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

pg_start() {
	pg_require
	PG_DIR=$(mktemp -d /tmp/execd-pg.XXXXXX) || return 1
	chmod 755 "$PG_DIR"
	PG_DATA=$PG_DIR/data
	PG_SOCK=$PG_DIR
	[ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DIR"
	pg_as "$PG_BINDIR/initdb" -D "$PG_DATA" -U postgres -A trust --no-sync -E UTF8 \
		>"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$PG_SOCK'"
		echo "port = $PG_PORT"
		echo "wal_level = replica"
		echo "max_wal_senders = 60"
		echo "max_replication_slots = 60"
		echo "max_connections = 150"
		echo "fsync = off"
		echo "wal_sender_timeout = 60s"
		echo "logging_collector = off"
		for line in "$@"; do echo "$line"; done
	} | pg_as tee -a "$PG_DATA/postgresql.conf" >/dev/null
	printf 'local all all trust\nlocal replication all trust\n' | pg_as tee "$PG_DATA/pg_hba.conf" >/dev/null
	pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/server.log" -w -t 60 start >/dev/null ||
		{ cat "$PG_DIR/server.log" >&2; return 1; }
	PG_CONNINFO="host=$PG_SOCK port=$PG_PORT user=postgres dbname=postgres"
	export PG_DIR PG_DATA PG_SOCK PG_PORT PG_CONNINFO
}

pg_psql() {
	"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -At -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres "$@"
}

# The server's current insert LSN (X/X).
pg_current_lsn() {
	pg_psql -c 'select pg_current_wal_lsn()'
}

pg_restart() {
	pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/server.log" -w -t 60 -m fast restart >/dev/null
}

pg_stop() {
	[ -n "$PG_DIR" ] || return 0
	if [ -n "${PG_STANDBY_DATA:-}" ] && [ -f "$PG_STANDBY_DATA/postmaster.pid" ]; then
		pg_as "$PG_BINDIR/pg_ctl" -D "$PG_STANDBY_DATA" -w -t 60 -m fast stop >/dev/null 2>&1 ||
			pg_as "$PG_BINDIR/pg_ctl" -D "$PG_STANDBY_DATA" -m immediate stop >/dev/null 2>&1
	fi
	if [ -f "$PG_DATA/postmaster.pid" ]; then
		pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -w -t 60 -m fast stop >/dev/null 2>&1 ||
			pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1
	fi
	rm -rf "$PG_DIR"
	PG_DIR=
}

# pgbench as postgres: pg_pgbench_init SCALE; pg_pgbench ARGS...
pg_pgbench_init() {
	"$PG_BINDIR/pgbench" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -i -q -s "${1:-1}" postgres >/dev/null 2>&1
}
pg_pgbench() {
	"$PG_BINDIR/pgbench" -h "$PG_SOCK" -p "$PG_PORT" -U postgres "$@" postgres
}

# A streaming standby of the running cluster (pg_basebackup -R), on port PG_PORT+1 in the same
# socket directory. Sets PG_STANDBY_DATA, PG_STANDBY_PORT, PG_STANDBY_CONNINFO. pg_stop stops it.
pg_start_standby() {
	PG_STANDBY_DATA=$PG_DIR/standby
	PG_STANDBY_PORT=$((PG_PORT + 1))
	pg_as "$PG_BINDIR/pg_basebackup" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -D "$PG_STANDBY_DATA" \
		-R -X stream -c fast >"$PG_DIR/basebackup.log" 2>&1 || { cat "$PG_DIR/basebackup.log" >&2; return 1; }
	echo "port = $PG_STANDBY_PORT" | pg_as tee -a "$PG_STANDBY_DATA/postgresql.conf" >/dev/null
	pg_as "$PG_BINDIR/pg_ctl" -D "$PG_STANDBY_DATA" -l "$PG_DIR/standby.log" -w -t 60 start >/dev/null ||
		{ cat "$PG_DIR/standby.log" >&2; return 1; }
	PG_STANDBY_CONNINFO="host=$PG_SOCK port=$PG_STANDBY_PORT user=postgres dbname=postgres"
	export PG_STANDBY_DATA PG_STANDBY_PORT PG_STANDBY_CONNINFO
}

pg_psql_standby() {
	"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -At -h "$PG_SOCK" -p "$PG_STANDBY_PORT" -U postgres -d postgres "$@"
}

# Promote the standby (it switches to a new PostgreSQL timeline) and wait until it is done.
pg_promote_standby() {
	pg_as "$PG_BINDIR/pg_ctl" -D "$PG_STANDBY_DATA" -w -t 60 promote >/dev/null
}
