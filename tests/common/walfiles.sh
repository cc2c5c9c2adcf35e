# SPDX-License-Identifier: MIT
# tests/common/walfiles.sh — sourced by shell tests that read a timeline's WAL directory while
# execd runs. A complete segment is stored as NAME or, once compressed, as NAME.zst; the
# compression links NAME.zst before it removes NAME (docs/wal.md), so a segment listed as NAME
# may be NAME.zst by the time it is read, and never neither.
#   wal_segments DIR             # the names of DIR's complete segments, once each, sorted
#   wal_segment_copy DIR NAME TO # segment NAME of DIR, as it holds it, into file TO (1 if gone)
wal_segments() {
	ls "$1" | sed -n 's/^\([0-9A-F]\{24\}\)\(\.zst\)\{0,1\}$/\1/p' | sort -u
}
wal_segment_copy() {
	cp "$1/$2" "$3" 2>/dev/null || zstd -q -d -c "$1/$2.zst" >"$3" 2>/dev/null
}
