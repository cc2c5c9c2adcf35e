/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_walmsg.c — fuzz harness of the replication stream's messages: what the WAL
 * receiver takes from each CopyData payload the server sends (daemon/wal/walrecv_copy.c's
 * take_msg: wal_msg_parse, then wal_msg_check against the WAL received so far; walfmt.c).
 *
 * Input: an 8-byte big-endian LSN, START_REPLICATION's start, then CopyData payloads, each a
 * 2-byte big-endian length and that many bytes (the last may be cut short: it is taken as it
 * is). Each payload is copied to a buffer of its exact size, so that AddressSanitizer sees any
 * read past it. As in the receiver, the stream ends at the first message refused.
 *
 * Properties: a message is accepted only if it is a complete 'w' or 'k'; the fields are the
 * big-endian integers at the protocol's offsets (decoded again here); the WAL bytes lie inside
 * the message; accepted WAL is contiguous from the start and never passes the last LSN; the
 * positions survive lsn_format/lsn_parse; a standby status update encodes what it is given.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "wal.h"
#include "walfmt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* The stream's position as the receiver keeps it (struct walrecv_stream, wal_timeline). */
struct pos {
	uint64_t pending_end; /* end of the WAL received */
	uint64_t server_lsn;  /* the highest walEnd the server reported */
	uint64_t wal_bytes;   /* WAL accepted, bytes */
};

static void check_lsn_text(uint64_t lsn)
{
	char text[20];
	uint64_t back = 0;
	lsn_format(lsn, text);
	FUZZ_CHECK(lsn_parse(text, &back) == 0 && back == lsn);
}

static void check_status(const struct pos *p)
{
	char r[WAL_STATUS_LEN];
	FUZZ_CHECK(wal_status_build(r, p->pending_end, p->pending_end, 0, -1, 1) == WAL_STATUS_LEN);
	FUZZ_CHECK(r[0] == 'r' && r[33] == 1);
	FUZZ_CHECK(be((const uint8_t *)r + 1, 8) == p->pending_end);
	FUZZ_CHECK(be((const uint8_t *)r + 9, 8) == p->pending_end);
	FUZZ_CHECK(be((const uint8_t *)r + 25, 8) == UINT64_MAX);
}

/* One CopyData payload: @return 0 if taken, -EPROTO if refused (the stream ends). */
static int take(struct pos *p, const uint8_t *msg, size_t n)
{
	struct wal_msg m;
	int r = wal_msg_parse((const char *)msg, n, &m);
	bool complete_w = n >= 25 && msg[0] == 'w', complete_k = n >= 18 && msg[0] == 'k';
	if (r < 0) {
		FUZZ_CHECK(r == -EPROTO && !complete_w && !complete_k);
		return r;
	}
	FUZZ_CHECK(r == 0 && (complete_w || complete_k) && m.type == (char)msg[0]);
	if (m.type == 'w') {
		FUZZ_CHECK(m.start_lsn == be(msg + 1, 8) && m.wal_end == be(msg + 9, 8));
		FUZZ_CHECK((uint64_t)m.send_time_us == be(msg + 17, 8));
		FUZZ_CHECK(m.data == (const char *)msg + 25 && m.len == n - 25);
	} else {
		FUZZ_CHECK(m.wal_end == be(msg + 1, 8) &&
			   (uint64_t)m.send_time_us == be(msg + 9, 8));
		FUZZ_CHECK(m.reply_requested == (msg[17] != 0) && m.len == 0);
	}
	if ((r = wal_msg_check(&m, p->pending_end)) < 0) {
		FUZZ_CHECK(r == -EPROTO && m.type == 'w' && m.len > 0);
		return r;
	}
	if (m.wal_end > p->server_lsn)
		p->server_lsn = m.wal_end;
	if (m.type == 'w' && m.len > 0) {
		/* what take_msg queues: contiguous, and its end does not wrap */
		FUZZ_CHECK(m.start_lsn == p->pending_end);
		FUZZ_CHECK(m.start_lsn + m.len > m.start_lsn);
		p->pending_end = m.start_lsn + m.len;
		p->wal_bytes += m.len;
		/* the data may be read in full (ASan: inside the exact-size copy) */
		volatile uint8_t sum = 0;
		for (size_t i = 0; i < m.len; i++)
			sum ^= (uint8_t)m.data[i];
		(void)sum;
	}
	check_lsn_text(p->pending_end);
	check_lsn_text(p->server_lsn);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pos p = { 0, 0, 0 };
	uint64_t start;
	if (size < 8)
		return 0;
	start = be(data, 8);
	p.pending_end = start;
	data += 8;
	size -= 8;
	while (size > 0) {
		size_t n = size >= 2 ? (size_t)be(data, 2) : 0;
		size_t off = size >= 2 ? 2 : size;
		if (n > size - off)
			n = size - off; /* the last payload, cut short */
		uint8_t *msg = malloc(n ? n : 1);
		FUZZ_CHECK(msg != NULL);
		if (n)
			memcpy(msg, data + off, n);
		int r = take(&p, msg, n);
		free(msg);
		data += off + n;
		size -= off + n;
		if (r < 0)
			break;
	}
	FUZZ_CHECK(p.pending_end - start == p.wal_bytes);
	check_status(&p);
	return 0;
}
