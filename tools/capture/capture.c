/*
 * Golden-vector driver: calls libcmap / libquorum / libvotequorum / libcfg / libcpg against a private
 * corosync and prints, on stdout, one "@@{json}" line per fact: the call it is about to make
 * ("step"), what the library returned ("ret") and every callback ("evt"). capture.mjs runs this
 * under strace and pairs the facts with the datagrams seen between two "@@" writes, so the
 * expected fields of each vector come from what this program did and got back, never from a
 * decoder. stdout is unbuffered: each line is exactly one write(2) in the trace.
 *
 * "@@{"k":"wait",...}" asks the driver to change the cluster (start/stop node 2) and waits for
 * a line on stdin.
 *
 * Handles: libqb's hdb makes handle = random() << 32 | slot. We srandom() a fixed seed and
 * replay the same generator privately, so the cookie libcmap sends in TRACK_ADD (a client-side
 * hdb handle the API never returns) is known; every handle the API does return is checked
 * against the same prediction.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <corosync/cfg.h>
#include <corosync/cmap.h>
#include <corosync/cpg.h>
#include <corosync/corotypes.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SEED 20260101u

static struct random_data rd;
static char rstate[128];
static int track_slots[64];
static int failures;

static void out(const char *fmt, ...) {
	char buf[65536];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	/* vsnprintf returns the untruncated length: a cut fact would corrupt the expectations */
	if (n < 0 || n >= (int)sizeof(buf) - 2) abort();
	buf[n++] = '\n';
	/* one write per fact, so the trace shows exactly where it falls */
	if (write(1, buf, n) != n) abort();
}

static const char *hex(const void *p, size_t n) {
	static char bufs[4][40000];
	static int which;
	char *b = bufs[which++ & 3];
	const unsigned char *c = p;
	for (size_t i = 0; i < n && i < 19999; i++) sprintf(b + 2 * i, "%02x", c[i]);
	b[2 * (n < 19999 ? n : 19999)] = 0;
	return b;
}

static uint64_t next_check(void) {
	int32_t r;
	random_r(&rd, &r);
	return (uint64_t)(uint32_t)r;
}

/* an hdb handle the library is about to create in a db whose slot `slot` is the lowest free one */
static uint64_t predict(int slot) { return (next_check() << 32) | (uint64_t)slot; }

static void expect_handle(const char *what, uint64_t got, uint64_t predicted) {
	if (got != predicted) {
		out("@@{\"k\":\"fatal\",\"msg\":\"%s handle %" PRIu64 " != predicted %" PRIu64 "\"}", what, got, predicted);
		failures++;
	}
}

static int track_alloc(void) {
	for (int i = 0; i < 64; i++)
		if (!track_slots[i]) { track_slots[i] = 1; return i; }
	abort();
}

static void wait_driver(const char *what) {
	char line[64];
	out("@@{\"k\":\"wait\",\"what\":\"%s\"}", what);
	if (!fgets(line, sizeof(line), stdin)) abort();
}

/* ------------------------------------------------------------------ cmap */

static uint64_t cookies[64];      /* slot -> cookie */
static uint64_t track_of_slot[64]; /* slot -> daemon track handle */

static void cmap_cb(cmap_handle_t h, cmap_track_handle_t th, int32_t event, const char *key,
		    struct cmap_notify_value nv, struct cmap_notify_value ov, void *ud) {
	int slot = (int)(intptr_t)ud;
	out("@@{\"k\":\"evt\",\"cb\":\"cmap_notify\",\"trackHandle\":\"%" PRIu64 "\",\"cookie\":\"%" PRIu64
	    "\",\"event\":%d,\"key\":\"%s\",\"newType\":%d,\"newLen\":%zu,\"newValue\":\"%s\",\"oldType\":%d,\"oldLen\":%zu,\"oldValue\":\"%s\"}",
	    (uint64_t)th, cookies[slot], event, key, nv.type, nv.len, hex(nv.data, nv.len), ov.type, ov.len,
	    hex(ov.data, ov.len));
	(void)h;
}

static void cmap_dispatch_all(cmap_handle_t h, const char *why) {
	out("@@{\"k\":\"step\",\"op\":\"cmap_dispatch\",\"why\":\"%s\"}", why);
	int rc = cmap_dispatch(h, CS_DISPATCH_ALL);
	out("@@{\"k\":\"ret\",\"rc\":%d}", rc);
}

#define SET(fn, ctype, type, key, val)                                                              \
	do {                                                                                        \
		ctype v_ = (val);                                                                   \
		out("@@{\"k\":\"step\",\"op\":\"cmap_set\",\"key\":\"%s\",\"type\":%d,\"value\":\"%s\"}", key, type, \
		    hex(&v_, sizeof(v_)));                                                          \
		out("@@{\"k\":\"ret\",\"rc\":%d}", fn(h, key, v_));                                  \
	} while (0)

#define GET(fn, ctype, key)                                                                         \
	do {                                                                                        \
		ctype v_;                                                                           \
		memset(&v_, 0, sizeof(v_));                                                         \
		out("@@{\"k\":\"step\",\"op\":\"cmap_get_int\",\"key\":\"%s\"}", key);                 \
		int rc_ = fn(h, key, &v_);                                                          \
		out("@@{\"k\":\"ret\",\"rc\":%d,\"len\":%zu,\"value\":\"%s\"}", rc_, sizeof(v_), hex(&v_, sizeof(v_))); \
	} while (0)

static void do_cmap(void) {
	cmap_handle_t h, hs;
	int rc;

	out("@@{\"k\":\"step\",\"op\":\"cmap_initialize\"}");
	rc = cmap_initialize(&h);
	out("@@{\"k\":\"ret\",\"rc\":%d,\"handle\":\"%" PRIu64 "\"}", rc, (uint64_t)h);
	expect_handle("cmap", h, predict(0));

	/* every value type, set then read back */
	SET(cmap_set_int8, int8_t, CMAP_VALUETYPE_INT8, "capture.i8", -5);
	SET(cmap_set_uint8, uint8_t, CMAP_VALUETYPE_UINT8, "capture.u8", 200);
	SET(cmap_set_int16, int16_t, CMAP_VALUETYPE_INT16, "capture.i16", -1234);
	SET(cmap_set_uint16, uint16_t, CMAP_VALUETYPE_UINT16, "capture.u16", 54321);
	SET(cmap_set_int32, int32_t, CMAP_VALUETYPE_INT32, "capture.i32", -123456789);
	SET(cmap_set_uint32, uint32_t, CMAP_VALUETYPE_UINT32, "capture.u32", 4000000000u);
	SET(cmap_set_int64, int64_t, CMAP_VALUETYPE_INT64, "capture.i64", -1234567890123LL);
	SET(cmap_set_uint64, uint64_t, CMAP_VALUETYPE_UINT64, "capture.u64", UINT64_MAX);
	SET(cmap_set_float, float, CMAP_VALUETYPE_FLOAT, "capture.flt", 1.5f);
	SET(cmap_set_double, double, CMAP_VALUETYPE_DOUBLE, "capture.dbl", -2.25);
	{
		const char *s = "hello world";
		out("@@{\"k\":\"step\",\"op\":\"cmap_set\",\"key\":\"capture.str\",\"type\":%d,\"value\":\"%s\"}",
		    CMAP_VALUETYPE_STRING, hex(s, strlen(s)));
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_set_string(h, "capture.str", s));
		out("@@{\"k\":\"step\",\"op\":\"cmap_set\",\"key\":\"capture.empty\",\"type\":%d,\"value\":\"\"}",
		    CMAP_VALUETYPE_STRING);
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_set_string(h, "capture.empty", ""));
	}
	{
		unsigned char bin[] = {0x00, 0x01, 0xfe, 0xff, 0x80};
		out("@@{\"k\":\"step\",\"op\":\"cmap_set\",\"key\":\"capture.bin\",\"type\":%d,\"value\":\"%s\"}",
		    CMAP_VALUETYPE_BINARY, hex(bin, sizeof(bin)));
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_set(h, "capture.bin", bin, sizeof(bin), CMAP_VALUETYPE_BINARY));
	}
	/* errors: read-only key, invalid new key name, wrong length for a fixed type */
	SET(cmap_set_uint32, uint32_t, CMAP_VALUETYPE_UINT32, "totem.nodeid", 7);
	SET(cmap_set_uint32, uint32_t, CMAP_VALUETYPE_UINT32, "ab c", 7);
	{
		unsigned char three[3] = {1, 2, 3};
		out("@@{\"k\":\"step\",\"op\":\"cmap_set\",\"key\":\"capture.bad\",\"type\":%d,\"value\":\"%s\"}",
		    CMAP_VALUETYPE_UINT32, hex(three, 3));
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_set(h, "capture.bad", three, 3, CMAP_VALUETYPE_UINT32));
	}

	GET(cmap_get_int8, int8_t, "capture.i8");
	GET(cmap_get_uint8, uint8_t, "capture.u8");
	GET(cmap_get_int16, int16_t, "capture.i16");
	GET(cmap_get_uint16, uint16_t, "capture.u16");
	GET(cmap_get_int32, int32_t, "capture.i32");
	GET(cmap_get_uint32, uint32_t, "capture.u32");
	GET(cmap_get_int64, int64_t, "capture.i64");
	GET(cmap_get_uint64, uint64_t, "capture.u64");
	GET(cmap_get_float, float, "capture.flt");
	GET(cmap_get_double, double, "capture.dbl");
	GET(cmap_get_uint32, uint32_t, "capture.i8"); /* type mismatch: the library says 7 after a good GET */
	GET(cmap_get_uint32, uint32_t, "capture.missing");
	{
		char *s = NULL;
		out("@@{\"k\":\"step\",\"op\":\"cmap_get_string\",\"key\":\"capture.str\"}");
		rc = cmap_get_string(h, "capture.str", &s);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"value\":\"%s\"}", rc, s ? hex(s, strlen(s) + 1) : "");
		free(s);
	}
	{
		unsigned char buf[64];
		size_t len = sizeof(buf);
		cmap_value_types_t type = 0;
		out("@@{\"k\":\"step\",\"op\":\"cmap_get\",\"key\":\"capture.bin\",\"cap\":%zu}", len);
		rc = cmap_get(h, "capture.bin", buf, &len, &type);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"len\":%zu,\"type\":%d,\"value\":\"%s\"}", rc, len, type, hex(buf, len));
		len = 2; /* smaller than the value: the daemon answers 7 with a bare 40-byte reply */
		out("@@{\"k\":\"step\",\"op\":\"cmap_get\",\"key\":\"capture.bin\",\"cap\":%zu}", len);
		rc = cmap_get(h, "capture.bin", buf, &len, &type);
		out("@@{\"k\":\"ret\",\"rc\":%d}", rc);
		out("@@{\"k\":\"step\",\"op\":\"cmap_get_meta\",\"key\":\"capture.u16\"}");
		len = 0;
		rc = cmap_get(h, "capture.u16", NULL, &len, &type);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"len\":%zu,\"type\":%d}", rc, len, type);
	}

	/* inc / dec (ADJUST_INT +1/-1; the public API has no other step), and their errors */
	out("@@{\"k\":\"step\",\"op\":\"cmap_inc\",\"key\":\"capture.u8\"}");
	out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_inc(h, "capture.u8"));
	out("@@{\"k\":\"step\",\"op\":\"cmap_dec\",\"key\":\"capture.i16\"}");
	out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_dec(h, "capture.i16"));
	out("@@{\"k\":\"step\",\"op\":\"cmap_inc\",\"key\":\"capture.str\"}");
	out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_inc(h, "capture.str"));
	out("@@{\"k\":\"step\",\"op\":\"cmap_dec\",\"key\":\"capture.missing\"}");
	out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_dec(h, "capture.missing"));

	/* iteration over a prefix until CS_ERR_NO_SECTIONS, then finalize (twice: 9 the second time) */
	{
		cmap_iter_handle_t it;
		char key[CMAP_KEYNAME_MAXLEN + 1];
		size_t vlen;
		cmap_value_types_t type;
		out("@@{\"k\":\"step\",\"op\":\"cmap_iter_init\",\"prefix\":\"capture.\"}");
		rc = cmap_iter_init(h, "capture.", &it);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"iter\":\"%" PRIu64 "\"}", rc, (uint64_t)it);
		for (;;) {
			out("@@{\"k\":\"step\",\"op\":\"cmap_iter_next\",\"iter\":\"%" PRIu64 "\"}", (uint64_t)it);
			rc = cmap_iter_next(h, it, key, &vlen, &type);
			if (rc != CS_OK) {
				out("@@{\"k\":\"ret\",\"rc\":%d}", rc);
				break;
			}
			out("@@{\"k\":\"ret\",\"rc\":%d,\"key\":\"%s\",\"len\":%zu,\"type\":%d}", rc, key, vlen, type);
		}
		for (int i = 0; i < 2; i++) {
			out("@@{\"k\":\"step\",\"op\":\"cmap_iter_finalize\",\"iter\":\"%" PRIu64 "\"}", (uint64_t)it);
			out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_iter_finalize(h, it));
		}
		out("@@{\"k\":\"step\",\"op\":\"cmap_iter_init\",\"prefix\":null}");
		rc = cmap_iter_init(h, NULL, &it);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"iter\":\"%" PRIu64 "\"}", rc, (uint64_t)it);
		out("@@{\"k\":\"step\",\"op\":\"cmap_iter_next\",\"iter\":\"%" PRIu64 "\"}", (uint64_t)it);
		rc = cmap_iter_next(h, it, key, &vlen, &type);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"key\":\"%s\",\"len\":%zu,\"type\":%d}", rc, key, vlen, type);
		out("@@{\"k\":\"step\",\"op\":\"cmap_iter_finalize\",\"iter\":\"%" PRIu64 "\"}", (uint64_t)it);
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_iter_finalize(h, it));
	}

	/* tracking: exact key (ADD|MODIFY|DELETE) and a prefix tracker; ADD, MODIFY, DELETE events */
	{
		cmap_track_handle_t t1, t2, t3;
		int s1 = track_alloc();
		cookies[s1] = predict(s1);
		out("@@{\"k\":\"step\",\"op\":\"cmap_track_add\",\"key\":\"capture.tracked\",\"type\":%d,\"cookie\":\"%" PRIu64 "\"}",
		    CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_DELETE, cookies[s1]);
		rc = cmap_track_add(h, "capture.tracked", CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_DELETE, cmap_cb,
				    (void *)(intptr_t)s1, &t1);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"track\":\"%" PRIu64 "\"}", rc, (uint64_t)t1);
		track_of_slot[s1] = t1;

		int s2 = track_alloc();
		cookies[s2] = predict(s2);
		out("@@{\"k\":\"step\",\"op\":\"cmap_track_add\",\"key\":\"capture.\",\"type\":%d,\"cookie\":\"%" PRIu64 "\"}",
		    CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_DELETE | CMAP_TRACK_PREFIX, cookies[s2]);
		rc = cmap_track_add(h, "capture.", CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_DELETE | CMAP_TRACK_PREFIX,
				    cmap_cb, (void *)(intptr_t)s2, &t2);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"track\":\"%" PRIu64 "\"}", rc, (uint64_t)t2);

		/* the root with PREFIX sees everything; an empty key travels as length 0 */
		int s3 = track_alloc();
		cookies[s3] = predict(s3);
		out("@@{\"k\":\"step\",\"op\":\"cmap_track_add\",\"key\":\"\",\"type\":%d,\"cookie\":\"%" PRIu64 "\"}",
		    CMAP_TRACK_DELETE | CMAP_TRACK_PREFIX, cookies[s3]);
		rc = cmap_track_add(h, NULL, CMAP_TRACK_DELETE | CMAP_TRACK_PREFIX, cmap_cb, (void *)(intptr_t)s3, &t3);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"track\":\"%" PRIu64 "\"}", rc, (uint64_t)t3);

		SET(cmap_set_uint32, uint32_t, CMAP_VALUETYPE_UINT32, "capture.tracked", 1);
		SET(cmap_set_uint32, uint32_t, CMAP_VALUETYPE_UINT32, "capture.tracked", 2);
		{
			const char *s = "abc";
			out("@@{\"k\":\"step\",\"op\":\"cmap_set\",\"key\":\"capture.tracked\",\"type\":%d,\"value\":\"%s\"}",
			    CMAP_VALUETYPE_STRING, hex(s, 3));
			out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_set_string(h, "capture.tracked", s));
		}
		cmap_dispatch_all(h, "add, modify, type change");
		out("@@{\"k\":\"step\",\"op\":\"cmap_inc\",\"key\":\"capture.u8\"}");
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_inc(h, "capture.u8"));
		out("@@{\"k\":\"step\",\"op\":\"cmap_delete\",\"key\":\"capture.tracked\"}");
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_delete(h, "capture.tracked"));
		out("@@{\"k\":\"step\",\"op\":\"cmap_delete\",\"key\":\"capture.tracked\"}");
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_delete(h, "capture.tracked"));
		out("@@{\"k\":\"step\",\"op\":\"cmap_delete\",\"key\":\"totem.nodeid\"}");
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_delete(h, "totem.nodeid"));
		cmap_dispatch_all(h, "inc, delete");

		out("@@{\"k\":\"step\",\"op\":\"cmap_track_delete\",\"track\":\"%" PRIu64 "\",\"cookie\":\"%" PRIu64 "\"}",
		    (uint64_t)t1, cookies[s1]);
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_track_delete(h, t1));
		track_slots[s1] = 0;
		out("@@{\"k\":\"step\",\"op\":\"cmap_track_delete\",\"track\":\"%" PRIu64 "\",\"cookie\":\"0\"}", (uint64_t)t1);
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_track_delete(h, t1));
		out("@@{\"k\":\"step\",\"op\":\"cmap_track_delete\",\"track\":\"%" PRIu64 "\",\"cookie\":\"%" PRIu64 "\"}",
		    (uint64_t)t3, cookies[s3]);
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_track_delete(h, t3));
		track_slots[s3] = 0;
		/* an invalid track type is refused by the daemon (7) */
		int s4 = track_alloc();
		cookies[s4] = predict(s4);
		out("@@{\"k\":\"step\",\"op\":\"cmap_track_add\",\"key\":\"capture.x\",\"type\":16,\"cookie\":\"%" PRIu64 "\"}",
		    cookies[s4]);
		rc = cmap_track_add(h, "capture.x", 16, cmap_cb, (void *)(intptr_t)s4, &t1);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"track\":\"0\"}", rc);
		track_slots[s4] = 0;
		(void)t2;
	}

	/* the stats map: SET_CURRENT_MAP 1, a get, and the 19 of a delete there */
	out("@@{\"k\":\"step\",\"op\":\"cmap_initialize_map\",\"map\":1}");
	rc = cmap_initialize_map(&hs, CMAP_MAP_STATS);
	out("@@{\"k\":\"ret\",\"rc\":%d,\"handle\":\"%" PRIu64 "\"}", rc, (uint64_t)hs);
	expect_handle("cmap stats", hs, predict(1));
	{
		cmap_handle_t hsave = h;
		h = hs;
		uint64_t v = 0;
		out("@@{\"k\":\"step\",\"op\":\"cmap_get_int_stats\",\"key\":\"stats.ipcs.global.closed\"}");
		rc = cmap_get_uint64(h, "stats.ipcs.global.closed", &v);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"value\":\"%s\"}", rc, hex(&v, sizeof(v)));
		out("@@{\"k\":\"step\",\"op\":\"cmap_delete\",\"key\":\"stats.ipcs.global.closed\"}");
		out("@@{\"k\":\"ret\",\"rc\":%d}", cmap_delete(h, "stats.ipcs.global.closed"));
		h = hsave;
	}
	cmap_finalize(hs);
	out("@@{\"k\":\"step\",\"op\":\"cmap_finalize\"}");
	cmap_finalize(h);
	out("@@{\"k\":\"ret\",\"rc\":1}");
}

/* ---------------------------------------------------------------- quorum */

static void q0_cb(quorum_handle_t h, uint32_t quorate, uint64_t seq, uint32_t n, uint32_t *list) {
	char buf[4096] = "";
	for (uint32_t i = 0; i < n; i++) sprintf(buf + strlen(buf), "%s%u", i ? "," : "", list[i]);
	out("@@{\"k\":\"evt\",\"cb\":\"quorum_v0\",\"quorate\":%u,\"ringSeq\":\"%" PRIu64 "\",\"viewList\":[%s]}", quorate,
	    seq, buf);
	(void)h;
}

static void list_json(char *buf, uint32_t n, const uint32_t *l) {
	buf[0] = 0;
	for (uint32_t i = 0; i < n; i++) sprintf(buf + strlen(buf), "%s%u", i ? "," : "", l[i]);
}

static void q1_quorum_cb(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id rid, uint32_t n, const uint32_t *l) {
	char b[4096];
	list_json(b, n, l);
	out("@@{\"k\":\"evt\",\"cb\":\"quorum_v1_quorum\",\"quorate\":%u,\"ringId\":{\"nodeid\":%u,\"seq\":\"%" PRIu64
	    "\"},\"viewList\":[%s]}",
	    quorate, rid.nodeid, rid.seq, b);
	(void)h;
}

static void q1_nodelist_cb(quorum_handle_t h, struct quorum_ring_id rid, uint32_t m, const uint32_t *ml, uint32_t j,
			   const uint32_t *jl, uint32_t l, const uint32_t *ll) {
	char a[4096], b[4096], c[4096];
	list_json(a, m, ml);
	list_json(b, j, jl);
	list_json(c, l, ll);
	out("@@{\"k\":\"evt\",\"cb\":\"quorum_v1_nodelist\",\"ringId\":{\"nodeid\":%u,\"seq\":\"%" PRIu64
	    "\"},\"memberList\":[%s],\"joinedList\":[%s],\"leftList\":[%s]}",
	    rid.nodeid, rid.seq, a, b, c);
	(void)h;
}

static int quorum_dispatch_all(quorum_handle_t h, const char *why) {
	out("@@{\"k\":\"step\",\"op\":\"quorum_dispatch\",\"why\":\"%s\"}", why);
	int rc = quorum_dispatch(h, CS_DISPATCH_ALL);
	out("@@{\"k\":\"ret\",\"rc\":%d}", rc);
	return rc;
}

/* ------------------------------------------------------------ votequorum */

static votequorum_ring_id_t last_ring;

static void vq_quorum_cb(votequorum_handle_t h, uint64_t ctx, uint32_t quorate, uint32_t n, votequorum_node_t *l) {
	char b[8192] = "";
	for (uint32_t i = 0; i < n; i++)
		sprintf(b + strlen(b), "%s{\"nodeid\":%u,\"state\":%u}", i ? "," : "", l[i].nodeid, l[i].state);
	out("@@{\"k\":\"evt\",\"cb\":\"votequorum_quorum\",\"context\":\"%" PRIu64 "\",\"quorate\":%u,\"nodeList\":[%s]}", ctx,
	    quorate, b);
	(void)h;
}

static void vq_expected_cb(votequorum_handle_t h, uint64_t ctx, uint32_t ev) {
	out("@@{\"k\":\"evt\",\"cb\":\"votequorum_expectedvotes\",\"context\":\"%" PRIu64 "\",\"expectedVotes\":%u}", ctx, ev);
	(void)h;
}

static void vq_nodelist_cb(votequorum_handle_t h, uint64_t ctx, votequorum_ring_id_t rid, uint32_t n, uint32_t *l) {
	char b[4096];
	list_json(b, n, l);
	last_ring = rid;
	out("@@{\"k\":\"evt\",\"cb\":\"votequorum_nodelist\",\"context\":\"%" PRIu64 "\",\"ringId\":{\"nodeid\":%u,\"seq\":\"%" PRIu64
	    "\"},\"nodeList\":[%s]}",
	    ctx, rid.nodeid, rid.seq, b);
	(void)h;
}

static int vq_dispatch_all(votequorum_handle_t h, const char *why) {
	out("@@{\"k\":\"step\",\"op\":\"votequorum_dispatch\",\"why\":\"%s\"}", why);
	int rc = votequorum_dispatch(h, CS_DISPATCH_ALL);
	out("@@{\"k\":\"ret\",\"rc\":%d}", rc);
	return rc;
}

static void getinfo(votequorum_handle_t h, int nodeid) {
	struct votequorum_info info;
	memset(&info, 0, sizeof(info));
	out("@@{\"k\":\"step\",\"op\":\"votequorum_getinfo\",\"nodeid\":%d}", nodeid);
	int rc = votequorum_getinfo(h, nodeid, &info);
	if (rc != CS_OK) {
		out("@@{\"k\":\"ret\",\"rc\":%d}", rc);
		return;
	}
	out("@@{\"k\":\"ret\",\"rc\":%d,\"nodeid\":%u,\"state\":%u,\"votes\":%u,\"expectedVotes\":%u,\"highestExpected\":%u,"
	    "\"totalVotes\":%u,\"quorum\":%u,\"flags\":%u,\"qdeviceVotes\":%u,\"qdeviceName\":\"%s\"}",
	    rc, info.node_id, info.node_state, info.node_votes, info.node_expected_votes, info.highest_expected,
	    info.total_votes, info.quorum, info.flags, info.qdevice_votes, info.qdevice_name);
}

/* a call whose only result is its cs_error_t */
#define CALL(op, argsfmt, call, ...)                                                   \
	do {                                                                           \
		out("@@{\"k\":\"step\",\"op\":\"" op "\"" argsfmt "}", ##__VA_ARGS__);    \
		out("@@{\"k\":\"ret\",\"rc\":%d}", (call));                                 \
	} while (0)

static void do_quorum_votequorum(void) {
	quorum_handle_t q0, q1;
	votequorum_handle_t vq;
	uint32_t qtype = 0;
	int rc;
	quorum_callbacks_t cb0 = {.quorum_notify_fn = q0_cb};
	quorum_model_v1_data_t v1 = {.model = QUORUM_MODEL_V1, .quorum_notify_fn = q1_quorum_cb,
				     .nodelist_notify_fn = q1_nodelist_cb};
	votequorum_callbacks_t vcb = {.votequorum_quorum_notify_fn = vq_quorum_cb,
				      .votequorum_expectedvotes_notify_fn = vq_expected_cb,
				      .votequorum_nodelist_notify_fn = vq_nodelist_cb};

	out("@@{\"k\":\"step\",\"op\":\"quorum_initialize\"}");
	rc = quorum_initialize(&q0, &cb0, &qtype);
	out("@@{\"k\":\"ret\",\"rc\":%d,\"quorumType\":%u,\"handle\":\"%" PRIu64 "\"}", rc, qtype, (uint64_t)q0);
	expect_handle("quorum v0", q0, predict(0));

	out("@@{\"k\":\"step\",\"op\":\"quorum_model_initialize\",\"model\":1}");
	rc = quorum_model_initialize(&q1, QUORUM_MODEL_V1, (quorum_model_data_t *)&v1, &qtype, NULL);
	out("@@{\"k\":\"ret\",\"rc\":%d,\"quorumType\":%u,\"handle\":\"%" PRIu64 "\"}", rc, qtype, (uint64_t)q1);
	expect_handle("quorum v1", q1, predict(1));

	out("@@{\"k\":\"step\",\"op\":\"votequorum_initialize\"}");
	rc = votequorum_initialize(&vq, &vcb);
	out("@@{\"k\":\"ret\",\"rc\":%d,\"handle\":\"%" PRIu64 "\"}", rc, (uint64_t)vq);
	expect_handle("votequorum", vq, predict(0));

	{
		int quorate = -1;
		out("@@{\"k\":\"step\",\"op\":\"quorum_getquorate\"}");
		rc = quorum_getquorate(q0, &quorate);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"quorate\":%d}", rc, quorate);
	}

	/* snapshots (CURRENT|CHANGES registers too), the second trackstart answers 14 */
	CALL("quorum_trackstart", ",\"flags\":%d", quorum_trackstart(q0, CS_TRACK_CHANGES), CS_TRACK_CHANGES);
	quorum_dispatch_all(q0, "v0 snapshot");
	CALL("quorum_trackstart", ",\"flags\":%d", quorum_trackstart(q1, CS_TRACK_CURRENT | CS_TRACK_CHANGES),
	     CS_TRACK_CURRENT | CS_TRACK_CHANGES);
	quorum_dispatch_all(q1, "v1 snapshot");
	CALL("quorum_trackstart", ",\"flags\":%d", quorum_trackstart(q1, CS_TRACK_CHANGES), CS_TRACK_CHANGES);
	quorum_dispatch_all(q1, "v1 snapshot again (already tracking)");

	CALL("votequorum_trackstart", ",\"context\":\"1234605616436508552\",\"flags\":%d",
	     votequorum_trackstart(vq, 0x1122334455667788ULL, CS_TRACK_CHANGES), CS_TRACK_CHANGES);
	vq_dispatch_all(vq, "snapshot");

	getinfo(vq, 1);
	getinfo(vq, 0);
	getinfo(vq, 2);
	getinfo(vq, 99);

	/* node 2 joins: membership change seen by all three trackers */
	wait_driver("start node 2");
	for (int i = 0; i < 50; i++) {
		usleep(100000);
	}
	quorum_dispatch_all(q0, "node 2 joined");
	quorum_dispatch_all(q1, "node 2 joined");
	vq_dispatch_all(vq, "node 2 joined");
	getinfo(vq, 2);

	/* expected votes: error, then a change (expectedvotes notification) */
	CALL("votequorum_setexpected", ",\"expected\":%d", votequorum_setexpected(vq, 1), 1);
	CALL("votequorum_setexpected", ",\"expected\":%d", votequorum_setexpected(vq, 2), 2);
	usleep(300000);
	vq_dispatch_all(vq, "setexpected");
	quorum_dispatch_all(q0, "setexpected");
	quorum_dispatch_all(q1, "setexpected");
	CALL("votequorum_setvotes", ",\"nodeid\":%d,\"votes\":%d", votequorum_setvotes(vq, 42, 1), 42, 1);
	CALL("votequorum_setvotes", ",\"nodeid\":%d,\"votes\":%d", votequorum_setvotes(vq, 1, 2), 1, 2);
	CALL("votequorum_setvotes", ",\"nodeid\":%d,\"votes\":%d", votequorum_setvotes(vq, 1, 1), 1, 1);
	usleep(300000);
	vq_dispatch_all(vq, "setvotes");
	quorum_dispatch_all(q0, "setvotes");
	quorum_dispatch_all(q1, "setvotes");

	/* qdevice: register, poll (right and wrong ring), master_wins, update, unregister, errors */
	{
		votequorum_ring_id_t bad = last_ring;
		bad.seq += 1000;
		CALL("votequorum_qdevice_unregister", ",\"name\":\"%s\"", votequorum_qdevice_unregister(vq, "capture-qdev"),
		     "capture-qdev");
		CALL("votequorum_qdevice_register", ",\"name\":\"%s\"", votequorum_qdevice_register(vq, "capture-qdev"),
		     "capture-qdev");
		CALL("votequorum_qdevice_register", ",\"name\":\"%s\"", votequorum_qdevice_register(vq, "other-qdev"),
		     "other-qdev");
		CALL("votequorum_qdevice_poll",
		     ",\"name\":\"%s\",\"castVote\":%d,\"ringId\":{\"nodeid\":%u,\"seq\":\"%" PRIu64 "\"}",
		     votequorum_qdevice_poll(vq, "capture-qdev", 1, last_ring), "capture-qdev", 1, last_ring.nodeid,
		     last_ring.seq);
		CALL("votequorum_qdevice_poll",
		     ",\"name\":\"%s\",\"castVote\":%d,\"ringId\":{\"nodeid\":%u,\"seq\":\"%" PRIu64 "\"}",
		     votequorum_qdevice_poll(vq, "capture-qdev", 0, bad), "capture-qdev", 0, bad.nodeid, bad.seq);
		CALL("votequorum_qdevice_master_wins", ",\"name\":\"%s\",\"allow\":%d",
		     votequorum_qdevice_master_wins(vq, "capture-qdev", 1), "capture-qdev", 1);
		getinfo(vq, 1);
		CALL("votequorum_qdevice_update", ",\"oldname\":\"%s\",\"newname\":\"%s\"",
		     votequorum_qdevice_update(vq, "wrong-name", "x"), "wrong-name", "x");
		CALL("votequorum_qdevice_update", ",\"oldname\":\"%s\",\"newname\":\"%s\"",
		     votequorum_qdevice_update(vq, "capture-qdev", "capture-qdev2"), "capture-qdev", "capture-qdev2");
		CALL("votequorum_qdevice_master_wins", ",\"name\":\"%s\",\"allow\":%d",
		     votequorum_qdevice_master_wins(vq, "capture-qdev", 0), "capture-qdev", 0);
		CALL("votequorum_qdevice_unregister", ",\"name\":\"%s\"", votequorum_qdevice_unregister(vq, "capture-qdev2"),
		     "capture-qdev2");
		usleep(300000);
		vq_dispatch_all(vq, "qdevice");
		quorum_dispatch_all(q0, "qdevice");
		quorum_dispatch_all(q1, "qdevice");
	}

	/* node 2 leaves */
	wait_driver("stop node 2");
	for (int i = 0; i < 50; i++) usleep(100000);
	quorum_dispatch_all(q0, "node 2 left");
	quorum_dispatch_all(q1, "node 2 left");
	vq_dispatch_all(vq, "node 2 left");

	CALL("votequorum_trackstop", "", votequorum_trackstop(vq));
	CALL("votequorum_trackstop", "", votequorum_trackstop(vq));
	CALL("quorum_trackstop", "", quorum_trackstop(q0));
	CALL("quorum_trackstop", "", quorum_trackstop(q0));
	CALL("quorum_trackstop", "", quorum_trackstop(q1));
	quorum_finalize(q0);
	quorum_finalize(q1);
	votequorum_finalize(vq);
}

/* ------------------------------------------------------------------- cpg */

#define BIG_LEN 1047553u /* one byte over cpg_max_atomic_msgsize: two fragments */
#define GROUP "capture.grp"

static unsigned char big[BIG_LEN];
static unsigned char pattern_byte(size_t i) { return (unsigned char)((i * 7 + 3) & 0xff); }

static const char *addr_list(const struct cpg_address *l, size_t n) {
	static char bufs[3][8192];
	static int which;
	char *b = bufs[which++ % 3];
	b[0] = 0;
	for (size_t i = 0; i < n; i++)
		sprintf(b + strlen(b), "%s{\"nodeid\":%u,\"pid\":%u,\"reason\":%u}", i ? "," : "", l[i].nodeid, l[i].pid, l[i].reason);
	return b;
}

static int seen_remote_join, seen_nodedown, totem_members = -1;

static void cpg_confchg_cb(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *m, size_t mn,
			   const struct cpg_address *l, size_t ln, const struct cpg_address *j, size_t jn) {
	for (size_t i = 0; i < jn; i++)
		if (j[i].nodeid != 1) seen_remote_join = 1;
	for (size_t i = 0; i < ln; i++)
		if (l[i].reason == CPG_REASON_NODEDOWN) seen_nodedown = 1;
	out("@@{\"k\":\"evt\",\"cb\":\"cpg_confchg\",\"group\":\"%s\",\"members\":[%s],\"left\":[%s],\"joined\":[%s]}",
	    hex(g->value, g->length), addr_list(m, mn), addr_list(l, ln), addr_list(j, jn));
	(void)h;
}

static void cpg_deliver_cb(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid, void *msg, size_t len) {
	if (len == BIG_LEN) {
		/* the reassembled fragments: checked here, the bytes are the pattern the sender wrote */
		int ok = 1;
		for (size_t i = 0; i < len; i++)
			if (((unsigned char *)msg)[i] != pattern_byte(i)) ok = 0;
		out("@@{\"k\":\"evt\",\"cb\":\"cpg_deliver\",\"group\":\"%s\",\"nodeid\":%u,\"pid\":%u,\"msglen\":%zu,\"pattern\":%d}",
		    hex(g->value, g->length), nodeid, pid, len, ok);
	} else {
		out("@@{\"k\":\"evt\",\"cb\":\"cpg_deliver\",\"group\":\"%s\",\"nodeid\":%u,\"pid\":%u,\"msglen\":%zu,\"msg\":\"%s\"}",
		    hex(g->value, g->length), nodeid, pid, len, hex(msg, len));
	}
	(void)h;
}

static void cpg_totem_cb(cpg_handle_t h, struct cpg_ring_id ring, uint32_t n, const uint32_t *list) {
	char b[4096] = "";
	totem_members = (int)n;
	for (uint32_t i = 0; i < n; i++) sprintf(b + strlen(b), "%s%u", i ? "," : "", list[i]);
	out("@@{\"k\":\"evt\",\"cb\":\"cpg_totem_confchg\",\"ringNodeid\":%u,\"ringSeq\":\"%" PRIu64 "\",\"members\":[%s]}",
	    ring.nodeid, ring.seq, b);
	(void)h;
}

/* one event: wait until the event socket is readable, then dispatch exactly one message */
static void cpg_dispatch_one(cpg_handle_t h, const char *why) {
	int fd;
	struct pollfd p;
	cpg_fd_get(h, &fd);
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, 10000) != 1) {
		out("@@{\"k\":\"fatal\",\"msg\":\"no cpg event for %s\"}", why);
		exit(1);
	}
	out("@@{\"k\":\"step\",\"op\":\"cpg_dispatch\",\"why\":\"%s\"}", why);
	out("@@{\"k\":\"ret\",\"rc\":%d}", cpg_dispatch(h, CS_DISPATCH_ONE));
}

static void cpg_iterate(cpg_handle_t h, int type, const struct cpg_name *g) {
	cpg_iteration_handle_t it;
	struct cpg_iteration_description_t d;
	int rc;
	out("@@{\"k\":\"step\",\"op\":\"cpg_iteration_initialize\",\"type\":%d,\"group\":\"%s\"}", type, g ? hex(g->value, g->length) : "");
	rc = cpg_iteration_initialize(h, type, g, &it);
	out("@@{\"k\":\"ret\",\"rc\":%d}", rc);
	if (rc != CS_OK) return;
	do {
		memset(&d, 0, sizeof(d));
		out("@@{\"k\":\"step\",\"op\":\"cpg_iteration_next\"}");
		rc = cpg_iteration_next(it, &d);
		if (rc == CS_OK)
			out("@@{\"k\":\"ret\",\"rc\":%d,\"group\":\"%s\",\"nodeid\":%u,\"pid\":%u}", rc, hex(d.group.value, d.group.length),
			    d.nodeid, d.pid);
		else
			out("@@{\"k\":\"ret\",\"rc\":%d}", rc);
	} while (rc == CS_OK);
	out("@@{\"k\":\"step\",\"op\":\"cpg_iteration_finalize\"}");
	out("@@{\"k\":\"ret\",\"rc\":%d}", cpg_iteration_finalize(it));
}

static void do_cpg(void) {
	cpg_handle_t h;
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = cpg_deliver_cb,
		.cpg_confchg_fn = cpg_confchg_cb,
		.cpg_totem_confchg_fn = cpg_totem_cb,
		.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
	};
	struct cpg_name g;
	unsigned int nodeid = 0;
	int rc;

	memset(&g, 0, sizeof(g));
	g.length = strlen(GROUP);
	memcpy(g.value, GROUP, g.length);

	out("@@{\"k\":\"step\",\"op\":\"cpg_model_initialize\",\"flags\":%d}", model.flags);
	rc = cpg_model_initialize(&h, CPG_MODEL_V1, (cpg_model_data_t *)&model, NULL);
	out("@@{\"k\":\"ret\",\"rc\":%d}", rc);
	if (rc != CS_OK) exit(1);

	out("@@{\"k\":\"step\",\"op\":\"cpg_local_get\"}");
	rc = cpg_local_get(h, &nodeid);
	out("@@{\"k\":\"ret\",\"rc\":%d,\"nodeid\":%u}", rc, nodeid);

	out("@@{\"k\":\"step\",\"op\":\"cpg_join\",\"group\":\"%s\",\"pid\":%d}", hex(g.value, g.length), getpid());
	out("@@{\"k\":\"ret\",\"rc\":%d}", cpg_join(h, &g));
	cpg_dispatch_one(h, "own join");
	cpg_dispatch_one(h, "initial totem confchg");

	{
		struct iovec iov = {.iov_base = "hello-1", .iov_len = 7};
		out("@@{\"k\":\"step\",\"op\":\"cpg_mcast_joined\",\"guarantee\":%d,\"msg\":\"%s\"}", CPG_TYPE_AGREED, hex("hello-1", 7));
		out("@@{\"k\":\"ret\",\"rc\":%d}", cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1));
		cpg_dispatch_one(h, "own message");
	}

	{
		struct cpg_address members[CPG_MEMBERS_MAX];
		int n = CPG_MEMBERS_MAX;
		out("@@{\"k\":\"step\",\"op\":\"cpg_membership_get\",\"group\":\"%s\"}", hex(g.value, g.length));
		rc = cpg_membership_get(h, &g, members, &n);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"members\":[%s]}", rc, addr_list(members, rc == CS_OK ? n : 0));
	}

	{
		struct iovec iov = {.iov_base = big, .iov_len = BIG_LEN};
		for (size_t i = 0; i < BIG_LEN; i++) big[i] = pattern_byte(i);
		out("@@{\"k\":\"step\",\"op\":\"cpg_mcast_joined\",\"guarantee\":%d,\"pattern\":%u}", CPG_TYPE_FIFO, BIG_LEN);
		out("@@{\"k\":\"ret\",\"rc\":%d}", cpg_mcast_joined(h, CPG_TYPE_FIFO, &iov, 1));
		cpg_dispatch_one(h, "first fragment");
		cpg_dispatch_one(h, "last fragment");
	}

	{
		/* zero copy: the mapping's header holds map_size (int @0) and the daemon's address (@8) */
		void *zbuf = NULL;
		char path[256] = "", line[512];
		FILE *maps;
		out("@@{\"k\":\"step\",\"op\":\"cpg_zcb_alloc\",\"size\":100}");
		rc = cpg_zcb_alloc(h, 100, &zbuf);
		/* the file is unlinked by the daemon at once: its name survives in our mappings */
		maps = fopen("/proc/self/maps", "r");
		while (maps && fgets(line, sizeof(line), maps)) {
			char *p = strstr(line, "/corosync_zerocopy-");
			if (!p) continue;
			while (p > line && p[-1] != ' ') p--;
			sscanf(p, "%255s", path);
		}
		if (maps) fclose(maps);
		{
			const unsigned char *zh = (const unsigned char *)zbuf - 56;
			int map_size;
			uint64_t server;
			memcpy(&map_size, zh, sizeof(map_size));
			memcpy(&server, zh + 8, sizeof(server));
			out("@@{\"k\":\"ret\",\"rc\":%d,\"mapSize\":%d,\"serverAddress\":\"%" PRIu64 "\",\"path\":\"%s\"}", rc, map_size,
			    server, path);
			memcpy(zbuf, "zero-copy", 9);
			out("@@{\"k\":\"step\",\"op\":\"cpg_zcb_mcast_joined\",\"guarantee\":%d,\"msg\":\"%s\",\"serverAddress\":\"%" PRIu64 "\"}",
			    CPG_TYPE_AGREED, hex("zero-copy", 9), server);
			out("@@{\"k\":\"ret\",\"rc\":%d}", cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, zbuf, 9));
			cpg_dispatch_one(h, "zero-copy message");
			out("@@{\"k\":\"step\",\"op\":\"cpg_zcb_free\",\"mapSize\":%d,\"serverAddress\":\"%" PRIu64 "\"}", map_size, server);
			out("@@{\"k\":\"ret\",\"rc\":%d}", cpg_zcb_free(h, zbuf));
		}
	}

	cpg_iterate(h, CPG_ITERATION_ALL, NULL);
	cpg_iterate(h, CPG_ITERATION_NAME_ONLY, NULL);
	cpg_iterate(h, CPG_ITERATION_ONE_GROUP, &g);

	/* another node: its start (totem confchg), a member there joining, its loss (NODEDOWN) */
	wait_driver("cpg member on node 2");
	while (!seen_remote_join || totem_members != 2) cpg_dispatch_one(h, "node 2 and its member");
	wait_driver("isolate node 2");
	while (!seen_nodedown || totem_members != 1) cpg_dispatch_one(h, "node 2 lost");

	out("@@{\"k\":\"step\",\"op\":\"cpg_leave\",\"group\":\"%s\",\"pid\":%d}", hex(g.value, g.length), getpid());
	out("@@{\"k\":\"ret\",\"rc\":%d}", cpg_leave(h, &g));
	cpg_dispatch_one(h, "own leave");

	out("@@{\"k\":\"step\",\"op\":\"cpg_finalize\"}");
	out("@@{\"k\":\"ret\",\"rc\":%d}", cpg_finalize(h));
}

/* a member for the corosync-cpgtool runs: a group name cpgtool must escape, until stdin closes */
static void do_cpg_member(const char *group) {
	cpg_handle_t h;
	cpg_callbacks_t cb = {0};
	struct cpg_name g;
	char line[16];
	memset(&g, 0, sizeof(g));
	if (group) {
		g.length = strlen(group);
		memcpy(g.value, group, g.length);
	} else {
		g.length = 13;
		memcpy(g.value, "capture\\tool\x01", g.length);
	}
	if (cpg_initialize(&h, &cb) != CS_OK || cpg_join(h, &g) != CS_OK) exit(1);
	/* its own join confchg: the daemon's process list has the entry now */
	cpg_dispatch(h, CS_DISPATCH_ONE);
	out("@@{\"k\":\"fact\",\"what\":\"member\",\"pid\":%d,\"group\":\"%s\"}", getpid(), hex(g.value, g.length));
	while (fgets(line, sizeof(line), stdin)) {
	}
	cpg_finalize(h);
}

/* ------------------------------------------------------------------- cfg */

static void cfg_shutdown_cb(corosync_cfg_handle_t h, corosync_cfg_shutdown_flags_t flags) {
	out("@@{\"k\":\"evt\",\"cb\":\"cfg_shutdown\",\"flags\":%d}", flags);
	(void)h;
}

static void node_status(corosync_cfg_handle_t h, unsigned int nodeid) {
	struct corosync_cfg_node_status_v1 st;
	char b[16384] = "";
	memset(&st, 0, sizeof(st));
	out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_node_status_get\",\"nodeid\":%u,\"version\":%d}", nodeid, CFG_NODE_STATUS_V1);
	int rc = corosync_cfg_node_status_get(h, nodeid, CFG_NODE_STATUS_V1, &st);
	if (rc != CS_OK) {
		out("@@{\"k\":\"ret\",\"rc\":%d}", rc);
		return;
	}
	for (int i = 0; i < CFG_MAX_LINKS; i++) {
		struct corosync_knet_link_status_v1 *l = &st.link_status[i];
		sprintf(b + strlen(b), "%s{\"enabled\":%u,\"connected\":%u,\"dynconnected\":%u,\"mtu\":%u,\"srcIpaddr\":\"%s\",\"dstIpaddr\":\"%s\"}",
			i ? "," : "", l->enabled, l->connected, l->dynconnected, l->mtu, l->src_ipaddr, l->dst_ipaddr);
	}
	out("@@{\"k\":\"ret\",\"rc\":%d,\"version\":%d,\"nodeid\":%u,\"reachable\":%u,\"remote\":%u,\"external\":%u,\"onwireMin\":%u,"
	    "\"onwireMax\":%u,\"onwireVer\":%u,\"linkStatus\":[%s]}",
	    rc, st.version, st.nodeid, st.reachable, st.remote, st.external, st.onwire_min, st.onwire_max, st.onwire_ver, b);
}

/* every libcfg call that leaves the daemon running; the driver has set cfg.shutdown_timeout */
static void do_cfg_more(corosync_cfg_handle_t h) {
	int rc;
	{
		char **names = NULL, **status = NULL;
		unsigned int count = 0;
		char nb[8192] = "", sb[8192] = "";
		out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_ring_status_get\"}");
		rc = corosync_cfg_ring_status_get(h, &names, &status, &count);
		for (unsigned int i = 0; rc == CS_OK && i < count; i++) {
			sprintf(nb + strlen(nb), "%s\"%s\"", i ? "," : "", names[i]);
			sprintf(sb + strlen(sb), "%s\"%s\"", i ? "," : "", status[i]);
			free(names[i]);
			free(status[i]);
		}
		free(names);
		free(status);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"count\":%u,\"names\":[%s],\"status\":[%s]}", rc, count, nb, sb);
	}
	node_status(h, 1);
	node_status(h, 2);
	node_status(h, 99);
	out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_kill_node\",\"nodeid\":2,\"reason\":\"capture\"}");
	out("@@{\"k\":\"ret\",\"rc\":%d}", corosync_cfg_kill_node(h, 2, "capture"));

	{
		corosync_cfg_handle_t t;
		corosync_cfg_callbacks_t cb = {.corosync_cfg_shutdown_callback = cfg_shutdown_cb};
		int fd;
		struct pollfd p;
		out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_initialize\",\"tracker\":1}");
		out("@@{\"k\":\"ret\",\"rc\":%d}", corosync_cfg_initialize(&t, &cb));
		out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_trackstart\",\"flags\":0}");
		out("@@{\"k\":\"ret\",\"rc\":%d}", corosync_cfg_trackstart(t, 0));
		/* the tracker never answers in time: BUSY once cfg.shutdown_timeout has passed */
		out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_try_shutdown\",\"flags\":%d}", COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST);
		out("@@{\"k\":\"ret\",\"rc\":%d}", corosync_cfg_try_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST));
		corosync_cfg_fd_get(t, &fd);
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, 10000) != 1) {
			out("@@{\"k\":\"fatal\",\"msg\":\"no shutdown callback\"}");
			exit(1);
		}
		out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_dispatch\"}");
		out("@@{\"k\":\"ret\",\"rc\":%d}", corosync_cfg_dispatch(t, CS_DISPATCH_ONE));
		/* the session is over: the daemon answers ACCESS, libcfg reports only the transport */
		out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_replyto_shutdown\",\"response\":%d}", COROSYNC_CFG_SHUTDOWN_FLAG_YES);
		out("@@{\"k\":\"ret\",\"rc\":%d}", corosync_cfg_replyto_shutdown(t, COROSYNC_CFG_SHUTDOWN_FLAG_YES));
		out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_trackstop\"}");
		out("@@{\"k\":\"ret\",\"rc\":%d}", corosync_cfg_trackstop(t));
		corosync_cfg_finalize(t);
	}

	out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_reload_config\"}");
	out("@@{\"k\":\"ret\",\"rc\":%d}", corosync_cfg_reload_config(h));
	out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_reopen_log_files\"}");
	out("@@{\"k\":\"ret\",\"rc\":%d}", corosync_cfg_reopen_log_files(h));
}


/*
 * The first n (at most 8) addresses of corosync_cfg_get_node_addrs as JSON strings of 16
 * bytes in hex (an IPv4 address in the first 4, zeros after), comma-separated, into b; returns
 * the first one's address family (0 if none).
 */
static int addrs_json(char *b, const corosync_cfg_node_address_t *addrs, int n) {
	int family = 0;
	b[0] = 0;
	for (int i = 0; i < n && i < 8; i++) {
		const struct sockaddr_storage *ss = (const struct sockaddr_storage *)addrs[i].address;
		unsigned char raw[16];
		memset(raw, 0, sizeof(raw));
		if (i == 0) family = ss->ss_family;
		if (ss->ss_family == AF_INET)
			memcpy(raw, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		else if (ss->ss_family == AF_INET6)
			memcpy(raw, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		sprintf(b + strlen(b), "%s\"%s\"", i ? "," : "", hex(raw, 16));
	}
	return family;
}

static void do_cfg(void) {
	corosync_cfg_handle_t h;
	unsigned int nodeid = 0;
	int rc;
	corosync_cfg_node_address_t addrs[8];
	int n = 0;

	out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_initialize\"}");
	rc = corosync_cfg_initialize(&h, NULL);
	out("@@{\"k\":\"ret\",\"rc\":%d,\"handle\":\"%" PRIu64 "\"}", rc, (uint64_t)h);
	expect_handle("cfg", h, predict(0));

	out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_local_get\"}");
	rc = corosync_cfg_local_get(h, &nodeid);
	out("@@{\"k\":\"ret\",\"rc\":%d,\"nodeid\":%u}", rc, nodeid);

	for (int which = 0; which < 3; which++) {
		unsigned int target = which == 0 ? 0 : which == 1 ? 2 : 99;
		memset(addrs, 0, sizeof(addrs));
		out("@@{\"k\":\"step\",\"op\":\"corosync_cfg_get_node_addrs\",\"nodeid\":%u}", target);
		rc = corosync_cfg_get_node_addrs(h, target, 8, &n, addrs);
		if (rc != CS_OK) {
			out("@@{\"k\":\"ret\",\"rc\":%d}", rc);
			continue;
		}
		char b[4096];
		int family = addrs_json(b, addrs, n);
		out("@@{\"k\":\"ret\",\"rc\":%d,\"family\":%d,\"numAddrs\":%d,\"addrs\":[%s]}", rc, family, n, b);
	}
	do_cfg_more(h);
	corosync_cfg_finalize(h);
}


/* ---------------------------------------------------------------- oracle */

/*
 * Facts a stock-tool run is about to read, obtained through the API in the same (unchanging)
 * cluster state: they are what the tool's replies and events must contain.
 */
static uint32_t oracle_view[64];
static uint32_t oracle_view_n;

static void oracle_v0_cb(quorum_handle_t h, uint32_t quorate, uint64_t seq, uint32_t n, uint32_t *list) {
	oracle_view_n = n;
	memcpy(oracle_view, list, n * sizeof(uint32_t));
	q0_cb(h, quorate, seq, n, list);
}

static void do_oracle(void) {
	cmap_handle_t ch;
	quorum_handle_t qh;
	votequorum_handle_t vh;
	corosync_cfg_handle_t cfh;
	uint32_t qtype = 0;
	int quorate = 0;
	quorum_callbacks_t cb0 = {.quorum_notify_fn = oracle_v0_cb};
	votequorum_callbacks_t vcb = {.votequorum_quorum_notify_fn = vq_quorum_cb,
				      .votequorum_nodelist_notify_fn = vq_nodelist_cb};

	if (cmap_initialize(&ch) != CS_OK || quorum_initialize(&qh, &cb0, &qtype) != CS_OK ||
	    votequorum_initialize(&vh, &vcb) != CS_OK || corosync_cfg_initialize(&cfh, NULL) != CS_OK) {
		out("@@{\"k\":\"fatal\",\"msg\":\"oracle cannot connect\"}");
		failures++;
		return;
	}
	{
		char *prov = NULL;
		uint32_t me = 0;
		cmap_get_string(ch, "quorum.provider", &prov);
		cmap_get_uint32(ch, "runtime.votequorum.this_node_id", &me);
		out("@@{\"k\":\"fact\",\"what\":\"cmap\",\"provider\":\"%s\",\"thisNodeId\":%u}", prov ? prov : "", me);
		free(prov);
	}
	{
		cmap_iter_handle_t it;
		char key[CMAP_KEYNAME_MAXLEN + 1];
		size_t len;
		cmap_value_types_t type;
		/* the keys corosync-cfgtool -s walks, and what it reads of them */
		static const char *const prefixes[][2] = {{"nodelist.node.", "nodelistKey"}, {"totem.interface.", "interfaceKey"},
							  {"totem.transport", "transportKey"}};
		for (int p = 0; p < 3; p++) {
			cmap_iter_init(ch, prefixes[p][0], &it);
			while (cmap_iter_next(ch, it, key, &len, &type) == CS_OK) {
				unsigned char buf[512];
				size_t l = sizeof(buf);
				cmap_value_types_t t2;
				cmap_get(ch, key, buf, &l, &t2);
				out("@@{\"k\":\"fact\",\"what\":\"%s\",\"key\":\"%s\",\"len\":%zu,\"type\":%d,\"value\":\"%s\"}",
				    prefixes[p][1], key, len, type, hex(buf, l));
				if (p == 0 && !strcmp(key + strlen(key) - 7, ".nodeid") && l == 4) {
					uint32_t id;
					memcpy(&id, buf, 4);
					node_status(cfh, id);
				}
			}
			cmap_iter_finalize(ch, it);
		}
	}
	quorum_getquorate(qh, &quorate);
	out("@@{\"k\":\"fact\",\"what\":\"quorum\",\"quorumType\":%u,\"quorate\":%d}", qtype, quorate);
	quorum_trackstart(qh, CS_TRACK_CURRENT);
	quorum_dispatch(qh, CS_DISPATCH_ALL);
	votequorum_trackstart(vh, 0, CS_TRACK_CURRENT);
	votequorum_dispatch(vh, CS_DISPATCH_ALL);
	getinfo(vh, 0);
	for (uint32_t i = 0; i < oracle_view_n; i++) {
		getinfo(vh, oracle_view[i]);
		corosync_cfg_node_address_t addrs[8];
		int n = 0;
		memset(addrs, 0, sizeof(addrs));
		if (corosync_cfg_get_node_addrs(cfh, oracle_view[i], 8, &n, addrs) == CS_OK) {
			char b[4096];
			int family = addrs_json(b, addrs, n);
			out("@@{\"k\":\"fact\",\"what\":\"addrs\",\"nodeid\":%u,\"family\":%d,\"numAddrs\":%d,\"addrs\":[%s]}",
			    oracle_view[i], family, n, b);
		}
	}
	cmap_finalize(ch);
	quorum_finalize(qh);
	votequorum_finalize(vh);
	corosync_cfg_finalize(cfh);
}

int main(int argc, char **argv) {
	const char *what = argc > 1 ? argv[1] : "all";
	setvbuf(stdout, NULL, _IONBF, 0);
	srandom(SEED);
	initstate_r(SEED, rstate, sizeof(rstate), &rd);
	if (!strcmp(what, "cmap") || !strcmp(what, "all")) do_cmap();
	if (!strcmp(what, "quorum") || !strcmp(what, "all")) do_quorum_votequorum();
	if (!strcmp(what, "cfg") || !strcmp(what, "all")) do_cfg();
	if (!strcmp(what, "cpg") || !strcmp(what, "all")) do_cpg();
	if (!strcmp(what, "cpg-member")) do_cpg_member(argc > 2 ? argv[2] : NULL);
	if (!strcmp(what, "oracle")) do_oracle();
	out("@@{\"k\":\"done\",\"failures\":%d}", failures);
	return failures ? 1 : 0;
}
