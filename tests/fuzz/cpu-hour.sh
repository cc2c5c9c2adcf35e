#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/fuzz/cpu-hour.sh HARNESS RUNDIR SEEDDIR [CPU_SECONDS] — a long fuzzing run that stops after
# CPU_SECONDS (default 3600) of the harness's CPU time, not wall-clock time: on a shared machine
# libFuzzer's -max_total_time would give it much less. Runs libFuzzer under nice -n 10 in one
# process (-fork=0), with leak detection, its new inputs in RUNDIR/corpus (seeded from SEEDDIR,
# which is only read), crash/leak/timeout files in RUNDIR, its output in RUNDIR/fuzz.log and,
# at the end, RUNDIR/result: the CPU seconds used, the exit status and why it ended.
# A watcher polls /proc/<pid>/stat (utime + stime: every thread of the process) and sends SIGINT
# at the limit; libFuzzer then prints its final stats and exits. Start it detached, e.g.
#   nohup setsid tests/fuzz/cpu-hour.sh build-fuzz/tests/fuzz/fuzz_ctl /work/fuzz-runs/ctl \
#       tests/fuzz/ctl >/dev/null 2>&1 &
set -eu
[ $# -ge 3 ] || { echo "usage: $0 HARNESS RUNDIR SEEDDIR [CPU_SECONDS]" >&2; exit 2; }
harness=$(realpath "$1")
mkdir -p "$2/corpus" "$2/tmp"
dir=$(realpath "$2")
seed=$(realpath "$3")
limit=${4:-3600}
tck=$(getconf CLK_TCK)
cd "$dir"
rm -f result
# TMPDIR: where fuzz_ctl makes its state directory (left behind if the run is interrupted)
TMPDIR=$dir/tmp nice -n 10 "$harness" -fork=0 -max_total_time=604800 -max_len=8192 \
	-detect_leaks=1 -print_final_stats=1 -artifact_prefix="$dir/" \
	corpus "$seed" >fuzz.log 2>&1 &
pid=$!
echo "$pid" >fuzz.pid
cpu_s() {
	# fields 14 and 15 of /proc/<pid>/stat, counted after the command name's ')'
	sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk -v t="$tck" '{ printf "%d", ($12 + $13) / t }'
}
used=0
reason=exited
while kill -0 "$pid" 2>/dev/null; do
	now=$(cpu_s) || now=
	[ -n "$now" ] && used=$now
	# keep the main thread at nice 10 should something renice it (its threads inherited 10)
	renice -n 10 -p "$pid" >/dev/null 2>&1 || :
	if [ "$used" -ge "$limit" ]; then
		reason=cpu-limit
		kill -INT "$pid" 2>/dev/null || :
		break
	fi
	sleep 10
done
rc=0
wait "$pid" || rc=$?
echo "cpu_seconds=$used limit=$limit exit=$rc reason=$reason ended=$(date -u +%FT%TZ)" >result
