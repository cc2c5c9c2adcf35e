# SPDX-License-Identifier: MIT
# tests/wal/walstate.sh — sourced: read a timeline's wal/wal.state from shell (two 4 KiB slots
# of JSON padded with NULs; the slot with the highest "seq" is the state; see daemon/wal/walstate.h).
# flush_of FILE: the persisted flush LSN (X/X), or nothing if the file is missing or unreadable.
flush_of() {
	{ tr -d '\000' <"$1"; } 2>/dev/null | awk '
		{ s = -1; if (match($0, /"seq":[0-9]+/)) s = substr($0, RSTART + 6, RLENGTH - 6) + 0; else if (/flush_lsn/) s = 0 }
		s >= 0 && s >= best { best = s; line = $0 }
		END { if (line != "" && match(line, /"flush_lsn":"[0-9A-F]+\/[0-9A-F]+"/)) print substr(line, RSTART + 13, RLENGTH - 14) }' || true
}
