# SPDX-License-Identifier: MIT
# bench/wal-bench-scale.sh — sourced by bench/wal-bench: section 4, "scale" (issue 18, item 3).
# N timelines in the running execd and N pg_receivewal --synchronous processes, each follower
# with a physical slot of its own (sc_e<i>, sc_r<i>), follow one pgbench run at a fixed rate
# (--rate TPS, --seconds S). Per round and kind of follower:
#   - the server's flush_lag of every walsender of that kind, sampled every 100 ms inside the
#     server: mean, p99 and max over all samples of all followers of the kind, and how many
#     followers had a sample over 1 s (or were more than 1 s of WAL behind at some sample);
#   - CPU time over the pgbench run: utime + stime of execd (all its threads, io-wq workers
#     included) and the sum over the pg_receivewal processes, from /proc/PID/stat;
#   - RSS: execd's, and per timeline (RSS - RSS before the timelines) / N; the pg_receivewal
#     processes' total and per process;
#   - execd's threads, its own and io-wq workers, at the end of the round (and with 1 timeline
#     after a short load, before the others are created).
# Rounds reconnect all followers of one kind, then all of the other, rotated each round (the
# walsenders connected last are served first, see section 2). The load average is read before
# and after each round (the machine may be shared).
# Uses from wal-bench: C, EP, TEN, NICE, start_execd, rss_kb, out, threads, PIDS, N, SECS, RATE,
# ROUNDS, RECV_FIRST, EXECD_ONLY, W.

KINDS="execd pg_receivewal"
[ "$EXECD_ONLY" = 0 ] || KINDS=execd
for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
PIDS=
pg_psql -c "create or replace function execd_bench_lag_pid(secs float8, step float8)
	returns table(app text, pid int, behind numeric, lag_ms float8) language plpgsql as \$\$
	declare t_end timestamptz := clock_timestamp() + secs * interval '1 second';
	begin
		while clock_timestamp() < t_end loop
			return query select application_name::text, r.pid, pg_current_wal_lsn() - flush_lsn,
				coalesce(extract(epoch from flush_lag) * 1000, 0)::float8 from pg_stat_replication r;
			perform pg_sleep(step);
		end loop;
	end \$\$" >/dev/null
sc_streaming() { # $1 = application_name: its walsenders streaming
	pg_psql -c "select count(*) from pg_stat_replication where application_name = '$1' and state = 'streaming'"
}
sc_wait() { # $1 = application_name, $2 = count: wait (300 s at most) until that many stream
	i=0
	until [ "$(sc_streaming "$1")" -ge "$2" ]; do
		i=$((i + 1)); [ $i -lt 3000 ] || { echo "$1: $(sc_streaming "$1") of $2 streaming after 300 s" >&2; exit 1; }
		sleep 0.1
	done
}
sc_gone() { # $1 = application_name: wait (60 s at most) until none of its walsenders is left
	i=0
	until [ "$(pg_psql -c "select count(*) from pg_stat_replication where application_name = '$1'")" = 0 ]; do
		i=$((i + 1)); [ $i -lt 600 ] || { echo "$1 did not disconnect" >&2; exit 1; }
		sleep 0.1
	done
}
sc_cpu() { # clock ticks of utime + stime of the processes given (0 for one that is gone)
	s=0
	for p in "$@"; do
		t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true)
		s=$((s + ${t:-0}))
	done
	echo $s
}
sc_connect() { # appends "kind: ms" (from the start to all N streaming) to $W/sconn
	c0=$(date +%s%3N)
	case $1 in
	execd) start_execd; sc_wait execd "$N" ;;
	pg_receivewal)
		for i in $(seq 1 "$N"); do
			mkdir -p "$W/sr$i"
			"$PG_BINDIR/pg_receivewal" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -D "$W/sr$i" \
				--slot "sc_r$i" --synchronous -n 2>/dev/null &
			PIDS="$PIDS $!"
			cg_join receivewal $!
		done
		sc_wait pg_receivewal "$N" ;;
	esac
	echo "$1 $(( $(date +%s%3N) - c0 ))" >>"$W/sconn"
}
sc_connected() { case $1 in execd) [ -n "$EP" ] ;; pg_receivewal) [ -n "$PIDS" ] ;; esac; }
sc_disconnect() {
	case $1 in
	execd) kill -TERM "$EP"; wait "$EP" || { echo "execd exited $? at SIGTERM" >&2; exit 1; }; EP= ;;
	pg_receivewal) for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done; PIDS= ;;
	esac
	sc_gone "$1"
}

pg_psql -c "select count(pg_create_physical_replication_slot('sc_e' || g, true)) from generate_series(1, $N) g" >/dev/null
[ "$EXECD_ONLY" = 1 ] ||
	pg_psql -c "select count(pg_create_physical_replication_slot('sc_r' || g, true)) from generate_series(1, $N) g" >/dev/null
# A slot reserves WAL from the last checkpoint's redo pointer, which pgbench's initialisation left
# some 150 MiB back: every follower of both kinds would copy that before streaming (75 GiB per
# kind at 500; a run filled the disk). The slots are advanced to the server's position instead
# of a checkpoint, which would make pgbench's first updates of every page full-page images, ten
# times the WAL of the steady state, in the measured window.
pg_psql -c "select count(pg_replication_slot_advance(slot_name, pg_current_wal_lsn()))
	from pg_replication_slots where slot_name ~ '^sc_[er][0-9]+$'" >/dev/null
base=$(rss_kb "$EP")
# one timeline, a short load: execd's threads with one busy timeline
t=$(C timeline create --tenant "$TEN" --source "$PG_CONNINFO" --slot sc_e1)
sc_wait execd 1
pg_pgbench -n -R "$RATE" -T 3 -c 4 -j 2 >/dev/null 2>&1
C timeline wait-lsn "$t" --lsn "$(pg_current_lsn)" --timeout 60 >/dev/null
own1=$(threads own) iowq1=$(threads iowq)
t0=$(date +%s%3N)
for i in $(seq 2 "$N"); do
	C timeline create --tenant "$TEN" --source "$PG_CONNINFO" --slot "sc_e$i" >/dev/null
done
sc_wait execd "$N"
out "### Scale: $N timelines in one execd$([ "$EXECD_ONLY" = 1 ] || echo " vs $N pg_receivewal --synchronous"), pgbench at $RATE tps for $SECS s"
out ""
out "$N timelines created and streaming in $(( $(date +%s%3N) - t0 )) ms. flush_lag sampled every"
out "100 ms inside the server over all walsenders of each kind; CPU = utime + stime over the pgbench"
out "run (execd: all its threads; pg_receivewal: the sum of the processes); >1 s = followers with a"
out "flush_lag sample over 1 s; load = load average (1 min) before-after the round."
out "execd's nice: $NICE."
out ""
out "| round | load | order | follower | tps | samples | flush_lag mean | p99 | max | >1 s | bytes behind max | CPU | RSS total | RSS per follower | threads own / io-wq |"
out "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
NK=$(echo $KINDS | wc -w)
for round in $(seq 1 "$ROUNDS"); do
	rot=$(( (round - 1 + RECV_FIRST) % NK ))
	order=$(echo $KINDS $KINDS | cut -d' ' -f$((rot + 1))-$((rot + NK)))
	if [ "$round" -gt 1 ] || [ "${order%% *}" != execd ]; then
		for k in $KINDS; do ! sc_connected "$k" || sc_disconnect "$k"; done
	fi
	for k in $order; do sc_connected "$k" || sc_connect "$k"; done
	load0=$(cut -d' ' -f1 /proc/loadavg)
	ce0=$(sc_cpu "$EP") cr0=$(sc_cpu $PIDS)
	pg_pgbench -n -R "$RATE" -T "$SECS" -c 4 -j 2 >"$W/pgbench.log" 2>&1 &
	BENCH=$!
	pg_psql -F ' ' -c "select * from execd_bench_lag_pid($SECS, 0.1)" >"$W/slag"
	wait $BENCH
	ce1=$(sc_cpu "$EP") cr1=$(sc_cpu $PIDS)
	load1=$(cut -d' ' -f1 /proc/loadavg)
	tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$W/pgbench.log" | head -1)
	hz=$(getconf CLK_TCK)
	for k in $KINDS; do
		case $k in
		execd) cpu=$((ce1 - ce0)) rss=$(rss_kb "$EP"); per=$(( (rss - base) / N ))
			thr="$(threads own) / $(threads iowq)" ;;
		pg_receivewal) cpu=$((cr1 - cr0)) rss=0
			for p in $PIDS; do rss=$((rss + $(rss_kb "$p" 2>/dev/null || echo 0))); done
			per=$((rss / N)) thr=- ;;
		esac
		grep "^$k " "$W/slag" | sort -k4,4g | awk -v pre="| $round | $load0-$load1 | $(echo $order | tr ' ' ',') | $k | ${tps%.*} " \
			-v cpu="$cpu" -v hz="$hz" -v rss="$rss" -v per="$per" -v thr="$thr" '
			{ n++; l[n] = $4; s += $4; if ($3 > bm) bm = $3; if ($4 > 1000) late[$2] = 1 }
			END {
				if (!n) { printf "%s| 0 | - | - | - | - | - | - | - | - | - |\n", pre; exit }
				p = int(n * 0.99); if (p < 1) p = 1
				for (x in late) nl++
				printf "%s| %d | %.2f ms | %.2f ms | %.2f ms | %d | %d B | %.2f s | %.1f MiB | %d KiB | %s |\n",
					pre, n, s / n, l[p], l[n], nl, bm, cpu / hz, rss / 1024, per, thr
			}' | tee -a "$OUT" "$W/srows"
	done
done
out ""
out "execd's threads with 1 timeline after a short load: $own1 own / $iowq1 io-wq workers."
out ""
out "Time from start to all $N streaming (execd: a restart of execd; pg_receivewal: $N processes"
if [ -s "$W/sconn" ]; then conn="$(tr '\n' ' ' <"$W/sconn")ms"; else conn="none (no reconnection)"; fi
out "started at once), in each round's order: $conn"
if [ "$EXECD_ONLY" = 0 ]; then
	out ""
	out "Same-round ratios, execd / pg_receivewal (flush_lag p99; CPU):"
	out ""
	awk -F'|' '{ gsub(/ /, "", $5) }
		$5 == "execd" { p[$2] = $9 + 0; c[$2] = $13 + 0 } $5 == "pg_receivewal" { q[$2] = $9 + 0; d[$2] = $13 + 0 }
		END { for (r in p) if (r in q) printf "- round%s: p99 %.2f, CPU %.2f\n", r, (q[r] > 0 ? p[r] / q[r] : 0), (d[r] > 0 ? c[r] / d[r] : 0) }' \
		"$W/srows" | sort | tee -a "$OUT"
fi
out ""
for k in $KINDS; do ! sc_connected "$k" || [ "$k" = execd ] || sc_disconnect "$k"; done
