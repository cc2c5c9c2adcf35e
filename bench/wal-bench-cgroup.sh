# SPDX-License-Identifier: MIT
# bench/wal-bench-cgroup.sh — sourced by bench/wal-bench for --cgroups: each side of the run as a
# service of its own, the layout systemd gives a deployment (execd.service, one service running
# the pg_receivewal processes as barman does, postgresql.service): a CPU cgroup each, all of the
# same weight, so that the CPUs are shared per service and not per thread. Without it everything
# shares the bench's cgroup, and one execd serving N timelines competes with N processes and N
# walsenders thread by thread (docs/benchmarks.md, "CPU share decides the p99").
#   cg_setup           the groups (cgroup v1 "cpu" or v2 with the cpu controller); the bench
#                      itself, and so the server, psql and pgbench it starts, joins "server"
#   cg_join NAME PID   move process PID (all its threads) into group NAME (no-op without --cgroups)
#   cg_cleanup         back to the parent group; the groups are removed (their processes are gone)
CG= CG_PARENT=

cg_setup() {
	if [ -w /sys/fs/cgroup/cpu/cgroup.procs ]; then
		CG_PARENT=/sys/fs/cgroup/cpu
	elif grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		CG_PARENT=/sys/fs/cgroup
		echo +cpu >"$CG_PARENT/cgroup.subtree_control" || return 1
	else
		echo "wal-bench: --cgroups needs a writable cpu cgroup (v1 /sys/fs/cgroup/cpu or v2)" >&2
		return 1
	fi
	CG=$CG_PARENT/wal-bench.$$
	mkdir "$CG" || return 1
	[ ! -f "$CG/cgroup.subtree_control" ] || echo +cpu >"$CG/cgroup.subtree_control"
	mkdir "$CG/server" "$CG/execd" "$CG/receivewal" || return 1
	cg_join server $$
}

cg_join() {
	[ -z "$CG" ] || echo "$2" >"$CG/$1/cgroup.procs"
}

cg_cleanup() {
	[ -n "$CG" ] || return 0
	echo $$ >"$CG_PARENT/cgroup.procs"
	for g in server execd receivewal; do
		# the server's last processes may take a moment to exit after pg_ctl returns
		i=0
		while ! rmdir "$CG/$g" 2>/dev/null && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
	done
	rmdir "$CG" 2>/dev/null || echo "wal-bench: $CG left behind (processes still in it)" >&2
	CG=
}
