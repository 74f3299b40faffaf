/*
 * Reference run of libcmap / libquorum / libvotequorum: one fixed script of calls, one line per
 * call ("<call> <cs_error_t> [outputs]"). test/cref/ts-ref.mjs performs the same script with
 * @corosync-ts/client and must print the same lines. Handles (iterators, tracks) are random
 * daemon values and are never printed.
 */
#include <corosync/cmap.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define P(...) do { printf(__VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

static void pr_value(int type, const void *data, size_t len)
{
	const unsigned char *b = data;
	switch (type) {
	case 0: printf("-"); break;
	case CMAP_VALUETYPE_INT8: printf("%d", *(const int8_t *)data); break;
	case CMAP_VALUETYPE_UINT8: printf("%u", *(const uint8_t *)data); break;
	case CMAP_VALUETYPE_INT16: printf("%d", *(const int16_t *)data); break;
	case CMAP_VALUETYPE_UINT16: printf("%u", *(const uint16_t *)data); break;
	case CMAP_VALUETYPE_INT32: printf("%d", *(const int32_t *)data); break;
	case CMAP_VALUETYPE_UINT32: printf("%u", *(const uint32_t *)data); break;
	case CMAP_VALUETYPE_INT64: printf("%" PRId64, *(const int64_t *)data); break;
	case CMAP_VALUETYPE_UINT64: printf("%" PRIu64, *(const uint64_t *)data); break;
	case CMAP_VALUETYPE_FLOAT: printf("%g", *(const float *)data); break;
	case CMAP_VALUETYPE_DOUBLE: printf("%g", *(const double *)data); break;
	case CMAP_VALUETYPE_STRING: printf("\"%.*s\"", (int)strnlen(data, len), (const char *)data); break;
	default:
		printf("0x");
		for (size_t i = 0; i < len; i++) printf("%02x", b[i]);
	}
}

static const char *K = "test.cref.";
static char kbuf[512];
static const char *key(const char *s) { snprintf(kbuf, sizeof kbuf, "%s%s", K, s); return kbuf; }

/* ------------------------------------------------------------------------------------ cmap */

static void notify(cmap_handle_t h, cmap_track_handle_t th, int32_t event, const char *key_name,
		   struct cmap_notify_value nv, struct cmap_notify_value ov, void *user_data)
{
	printf("  notify %s event=%d key=%s new=%d/%zu/", (const char *)user_data, event, key_name, nv.type, nv.len);
	pr_value(nv.type, nv.data, nv.len);
	printf(" old=%d/%zu/", ov.type, ov.len);
	pr_value(ov.type, ov.data, ov.len);
	printf("\n");
	fflush(stdout);
}

static void cleanup(cmap_handle_t h)
{
	cmap_iter_handle_t it;
	char name[CMAP_KEYNAME_MAXLEN + 1];
	if (cmap_iter_init(h, K, &it) != CS_OK) return;
	while (cmap_iter_next(h, it, name, NULL, NULL) == CS_OK) cmap_delete(h, name);
	cmap_iter_finalize(h, it);
}

static void run_cmap(void)
{
	cmap_handle_t h, hs, hx;
	cs_error_t e;
	char *s = NULL;
	size_t len;
	cmap_value_types_t type;
	char buf[64];
	cmap_iter_handle_t it, it2;
	cmap_track_handle_t t1, t2, t3;
	char name[CMAP_KEYNAME_MAXLEN + 1];
	char longkey[300];

	e = cmap_initialize(&h); P("cmap.initialize %d", e);
	cleanup(h);

	e = cmap_get(h, key("missing"), NULL, &len, &type); P("cmap.get missing %d", e);
	e = cmap_get_string(h, "totem.cluster_name", &s); P("cmap.getString totem.cluster_name %d %s", e, e == CS_OK ? s : ""); free(s); s = NULL;
	e = cmap_get(h, "totem.cluster_name", NULL, &len, &type); P("cmap.getInfo totem.cluster_name %d %zu %d", e, len, type);

	{ int8_t v; e = cmap_set_int8(h, key("i8"), -5); P("cmap.setInt8 %d", e); e = cmap_get_int8(h, key("i8"), &v); P("cmap.getInt8 %d %d", e, v); }
	{ uint8_t v; e = cmap_set_uint8(h, key("u8"), 255); P("cmap.setUint8 %d", e); e = cmap_get_uint8(h, key("u8"), &v); P("cmap.getUint8 %d %u", e, v); }
	{ int16_t v; e = cmap_set_int16(h, key("i16"), -300); P("cmap.setInt16 %d", e); e = cmap_get_int16(h, key("i16"), &v); P("cmap.getInt16 %d %d", e, v); }
	{ uint16_t v; e = cmap_set_uint16(h, key("u16"), 65535); P("cmap.setUint16 %d", e); e = cmap_get_uint16(h, key("u16"), &v); P("cmap.getUint16 %d %u", e, v); }
	{ int32_t v; e = cmap_set_int32(h, key("i32"), -70000); P("cmap.setInt32 %d", e); e = cmap_get_int32(h, key("i32"), &v); P("cmap.getInt32 %d %d", e, v); }
	{ uint32_t v; e = cmap_set_uint32(h, key("u32"), 4000000000u); P("cmap.setUint32 %d", e); e = cmap_get_uint32(h, key("u32"), &v); P("cmap.getUint32 %d %u", e, v); }
	{ int64_t v; e = cmap_set_int64(h, key("i64"), -9000000000000000000LL); P("cmap.setInt64 %d", e); e = cmap_get_int64(h, key("i64"), &v); P("cmap.getInt64 %d %" PRId64, e, v); }
	{ uint64_t v; e = cmap_set_uint64(h, key("u64"), 18000000000000000000ULL); P("cmap.setUint64 %d", e); e = cmap_get_uint64(h, key("u64"), &v); P("cmap.getUint64 %d %" PRIu64, e, v); }
	{ float v; e = cmap_set_float(h, key("flt"), 1.5f); P("cmap.setFloat %d", e); e = cmap_get_float(h, key("flt"), &v); P("cmap.getFloat %d %g", e, v); }
	{ double v; e = cmap_set_double(h, key("dbl"), -2.25); P("cmap.setDouble %d", e); e = cmap_get_double(h, key("dbl"), &v); P("cmap.getDouble %d %g", e, v); }
	e = cmap_set_string(h, key("str"), "hello"); P("cmap.setString %d", e);
	e = cmap_get_string(h, key("str"), &s); P("cmap.getString %d %s", e, e == CS_OK ? s : ""); free(s); s = NULL;
	e = cmap_get(h, key("str"), NULL, &len, &type); P("cmap.getInfo str %d %zu %d", e, len, type);
	e = cmap_set_string(h, key("empty"), ""); P("cmap.setString empty %d", e);
	e = cmap_get_string(h, key("empty"), &s); P("cmap.getString empty %d \"%s\"", e, e == CS_OK ? s : ""); free(s); s = NULL;
	{ const unsigned char bin[5] = { 0, 1, 2, 0xfe, 0xff };
	  e = cmap_set(h, key("bin"), bin, sizeof bin, CMAP_VALUETYPE_BINARY); P("cmap.set binary %d", e);
	  len = sizeof buf; e = cmap_get(h, key("bin"), buf, &len, &type);
	  printf("cmap.get binary %d %zu %d ", e, len, type); pr_value(type, buf, len); printf("\n"); fflush(stdout); }
	e = cmap_set(h, key("bin0"), "", 0, CMAP_VALUETYPE_BINARY); P("cmap.set binary empty %d", e);
	len = sizeof buf; e = cmap_get(h, key("bin0"), buf, &len, &type); P("cmap.get binary empty %d %zu %d", e, len, type);
	/* the big string: more than any first capacity, exercising the two-round-trip path */
	{ char big[3000]; memset(big, 'x', sizeof big - 1); big[sizeof big - 1] = 0;
	  e = cmap_set_string(h, key("big"), big); P("cmap.setString big %d", e);
	  e = cmap_get_string(h, key("big"), &s); P("cmap.getString big %d %zu", e, e == CS_OK ? strlen(s) : 0); free(s); s = NULL; }

	/* wrong types, small buffers, bad lengths */
	{ uint32_t v; e = cmap_get_uint32(h, key("str"), &v); P("cmap.getUint32 of string %d", e); }
	{ uint8_t v; e = cmap_get_uint8(h, key("u32"), &v); P("cmap.getUint8 of uint32 %d", e); }
	e = cmap_get_string(h, key("u32"), &s); P("cmap.getString of uint32 %d", e); s = NULL;
	{ uint32_t v; e = cmap_get_uint32(h, key("big"), &v); P("cmap.getUint32 of big %d", e); }
	len = 2; e = cmap_get(h, key("str"), buf, &len, &type); P("cmap.get capacity 2 %d", e);
	len = 6; e = cmap_get(h, key("str"), buf, &len, &type); P("cmap.get capacity 6 %d %zu %d %s", e, len, type, e == CS_OK ? buf : "");
	e = cmap_set(h, key("bad"), "abc", 3, CMAP_VALUETYPE_UINT32); P("cmap.set u32 len 3 %d", e);
	e = cmap_set(h, key("bad"), "abc", 3, 13); P("cmap.set type 13 %d", e);
	memset(longkey, 'k', 299); longkey[299] = 0;
	e = cmap_set_uint8(h, longkey, 1); P("cmap.set 299-char key %d", e);
	memset(longkey, 'k', 256); longkey[256] = 0;
	e = cmap_get(h, longkey, NULL, &len, &type); P("cmap.get 256-char key %d", e);
	longkey[255] = 0;
	e = cmap_get(h, longkey, NULL, &len, &type); P("cmap.get 255-char key %d", e);
	e = cmap_set_uint8(h, "ab", 1); P("cmap.set key ab %d", e);
	e = cmap_set_uint8(h, "test.cref.a b", 1); P("cmap.set key with space %d", e);

	/* read-only keys */
	e = cmap_set_string(h, "totem.cluster_name", "x"); P("cmap.set totem.cluster_name %d", e);
	e = cmap_set_uint32(h, "runtime.config.totem.token", 1); P("cmap.set runtime.config.totem.token %d", e);
	e = cmap_delete(h, "totem.cluster_name"); P("cmap.delete totem.cluster_name %d", e);
	e = cmap_inc(h, "runtime.config.totem.token"); P("cmap.inc runtime.config.totem.token %d", e);

	/* inc / dec */
	e = cmap_inc(h, key("u8")); P("cmap.inc u8 %d", e);
	{ uint8_t v; e = cmap_get_uint8(h, key("u8"), &v); P("cmap.getUint8 after inc %d %u", e, v); }
	e = cmap_dec(h, key("u8")); P("cmap.dec u8 %d", e);
	{ uint8_t v; e = cmap_get_uint8(h, key("u8"), &v); P("cmap.getUint8 after dec %d %u", e, v); }
	e = cmap_dec(h, key("i8")); P("cmap.dec i8 %d", e);
	e = cmap_inc(h, key("str")); P("cmap.inc string %d", e);
	e = cmap_inc(h, key("flt")); P("cmap.inc float %d", e);
	e = cmap_inc(h, key("missing")); P("cmap.inc missing %d", e);

	{ int8_t v; e = cmap_set_int8(h, key("i8w"), -128); P("cmap.setInt8 -128 %d", e);
	  e = cmap_dec(h, key("i8w")); P("cmap.dec i8w %d", e);
	  e = cmap_get_int8(h, key("i8w"), &v); P("cmap.getInt8 after wrap %d %d", e, v); }

	/* value length limits: 16384 bytes is the most icmap stores */
	{ static unsigned char big[16385];
	  static unsigned char out[16385];
	  for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 7);
	  e = cmap_set(h, key("max"), big, 16384, CMAP_VALUETYPE_BINARY); P("cmap.set binary 16384 %d", e);
	  e = cmap_set(h, key("over"), big, 16385, CMAP_VALUETYPE_BINARY); P("cmap.set binary 16385 %d", e);
	  len = sizeof out; e = cmap_get(h, key("max"), out, &len, &type);
	  P("cmap.get binary 16384 %d %zu %d %d", e, len, type, e == CS_OK && !memcmp(out, big, 16384)); }

	/* delete */
	e = cmap_delete(h, key("empty")); P("cmap.delete %d", e);
	e = cmap_delete(h, key("empty")); P("cmap.delete again %d", e);

	/* iterate */
	e = cmap_iter_init(h, K, &it); P("cmap.iterInit %d", e);
	for (;;) {
		e = cmap_iter_next(h, it, name, &len, &type);
		if (e != CS_OK) break;
		P("cmap.iterNext %d %s %zu %d", e, name, len, type);
	}
	P("cmap.iterNext end %d", e);
	e = cmap_iter_next(h, it, name, &len, &type); P("cmap.iterNext past end %d", e);
	e = cmap_iter_finalize(h, it); P("cmap.iterFinalize %d", e);
	e = cmap_iter_finalize(h, it); P("cmap.iterFinalize again %d", e);
	e = cmap_iter_next(h, it, name, &len, &type); P("cmap.iterNext finalized %d", e);
	e = cmap_iter_init(h, "test.nomatch.", &it2); P("cmap.iterInit nomatch %d", e);
	e = cmap_iter_next(h, it2, name, &len, &type); P("cmap.iterNext nomatch %d", e);
	e = cmap_iter_finalize(h, it2); P("cmap.iterFinalize nomatch %d", e);
	memset(longkey, 'k', 256); longkey[256] = 0;
	e = cmap_iter_init(h, longkey, &it2); P("cmap.iterInit long prefix %d", e);

	/* track */
	e = cmap_track_add(h, key("tr"), CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY, notify, "t1", &t1); P("cmap.trackAdd key %d", e);
	e = cmap_track_add(h, key("p."), CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX, notify, "t2", &t2); P("cmap.trackAdd prefix %d", e);
	e = cmap_track_add(h, key("x"), 16, notify, "bad", &t3); P("cmap.trackAdd type 16 %d", e);
	e = cmap_set_uint32(h, key("tr"), 1); P("cmap.set tr %d", e);
	e = cmap_dispatch(h, CS_DISPATCH_ONE); P("cmap.dispatch ONE %d", e);
	e = cmap_set_string(h, key("tr"), "abc"); P("cmap.set tr string %d", e);
	e = cmap_dispatch(h, CS_DISPATCH_ONE); P("cmap.dispatch ONE %d", e);
	e = cmap_set_string(h, key("tr"), "abc"); P("cmap.set tr same %d", e);
	e = cmap_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING); P("cmap.dispatch ONE_NONBLOCKING %d", e);
	e = cmap_set_uint64(h, key("p.a"), 7); P("cmap.set p.a %d", e);
	e = cmap_dispatch(h, CS_DISPATCH_ONE); P("cmap.dispatch ONE %d", e);
	e = cmap_inc(h, key("p.a")); P("cmap.inc p.a %d", e);
	e = cmap_dispatch(h, CS_DISPATCH_ONE); P("cmap.dispatch ONE %d", e);
	e = cmap_delete(h, key("tr")); P("cmap.delete tr %d", e);
	e = cmap_dispatch(h, CS_DISPATCH_ONE); P("cmap.dispatch ONE %d", e);
	e = cmap_dispatch(h, CS_DISPATCH_ALL); P("cmap.dispatch ALL %d", e);
	e = cmap_track_delete(h, t1); P("cmap.trackDelete %d", e);
	e = cmap_track_delete(h, t1); P("cmap.trackDelete again %d", e);
	e = cmap_set_uint32(h, key("tr"), 2); P("cmap.set tr untracked %d", e);
	e = cmap_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING); P("cmap.dispatch ONE_NONBLOCKING %d", e);
	e = cmap_track_delete(h, t2); P("cmap.trackDelete prefix %d", e);

	/* maps */
	e = cmap_initialize_map(&hs, CMAP_MAP_STATS); P("cmap.initializeMap stats %d", e);
	e = cmap_set_uint32(hs, "stats.test", 1); P("cmap.set stats %d", e);
	e = cmap_delete(hs, "stats.ipcs.global.active"); P("cmap.delete stats %d", e);
	{ uint64_t v; e = cmap_get_uint64(hs, "stats.ipcs.global.active", &v); P("cmap.getUint64 stats.ipcs.global.active %d", e); }
	e = cmap_finalize(hs); P("cmap.finalize stats %d", e);
	e = cmap_initialize_map(&hx, 7); P("cmap.initializeMap 7 %d", e);

	cleanup(h);
	e = cmap_finalize(h); P("cmap.finalize %d", e);
	e = cmap_finalize(h); P("cmap.finalize again %d", e);
	e = cmap_get(h, "totem.cluster_name", NULL, &len, &type); P("cmap.get after finalize %d", e);
	memset(longkey, 'k', 256); longkey[256] = 0;
	e = cmap_get(h, longkey, NULL, &len, &type); P("cmap.get long key after finalize %d", e);
	e = cmap_dispatch(h, CS_DISPATCH_ALL); P("cmap.dispatch after finalize %d", e);
	{ int fd; e = cmap_fd_get(h, &fd); P("cmap.fdGet after finalize %d", e); }
}

/* ---------------------------------------------------------------------------------- quorum */

static void q0(quorum_handle_t h, uint32_t quorate, uint64_t ring_seq, uint32_t n, uint32_t *view)
{
	printf("  quorum.v0 quorate=%u ring_seq=%" PRIu64 " view=", quorate, ring_seq);
	for (uint32_t i = 0; i < n; i++) printf("%s%u", i ? "," : "", view[i]);
	printf("\n"); fflush(stdout);
}
static void q1(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id ring, uint32_t n, const uint32_t *view)
{
	printf("  quorum.v1 quorate=%u ring=%u/%" PRIu64 " view=", quorate, ring.nodeid, ring.seq);
	for (uint32_t i = 0; i < n; i++) printf("%s%u", i ? "," : "", view[i]);
	printf("\n"); fflush(stdout);
}
static void pr_list(const char *tag, uint32_t n, const uint32_t *l)
{
	printf(" %s=", tag);
	for (uint32_t i = 0; i < n; i++) printf("%s%u", i ? "," : "", l[i]);
}
static void n1(quorum_handle_t h, struct quorum_ring_id ring, uint32_t m, const uint32_t *ml, uint32_t j, const uint32_t *jl, uint32_t l, const uint32_t *ll)
{
	printf("  quorum.nodelist ring=%u/%" PRIu64, ring.nodeid, ring.seq);
	pr_list("members", m, ml); pr_list("joined", j, jl); pr_list("left", l, ll);
	printf("\n"); fflush(stdout);
}

static void run_quorum(void)
{
	quorum_handle_t h, h1, hx;
	quorum_callbacks_t cb = { .quorum_notify_fn = q0 };
	quorum_model_v1_data_t v1 = { .model = QUORUM_MODEL_V1, .quorum_notify_fn = q1, .nodelist_notify_fn = n1 };
	uint32_t type = 99;
	int quorate = -1;
	cs_error_t e;
	const void *ctx;

	e = quorum_initialize(&h, &cb, &type); P("quorum.initialize %d %u", e, type);
	e = quorum_getquorate(h, &quorate); P("quorum.getquorate %d %d", e, quorate);
	e = quorum_trackstart(h, CS_TRACK_CURRENT); P("quorum.trackstart CURRENT %d", e);
	e = quorum_dispatch(h, CS_DISPATCH_ONE); P("quorum.dispatch ONE %d", e);
	e = quorum_trackstart(h, CS_TRACK_CHANGES); P("quorum.trackstart CHANGES %d", e);
	e = quorum_dispatch(h, CS_DISPATCH_ONE); P("quorum.dispatch ONE %d", e);
	e = quorum_trackstart(h, CS_TRACK_CHANGES); P("quorum.trackstart CHANGES again %d", e);
	e = quorum_dispatch(h, CS_DISPATCH_ONE); P("quorum.dispatch ONE %d", e);
	e = quorum_trackstop(h); P("quorum.trackstop %d", e);
	e = quorum_trackstop(h); P("quorum.trackstop again %d", e);
	e = quorum_trackstart(h, CS_TRACK_CHANGES_ONLY); P("quorum.trackstart CHANGES_ONLY %d", e);
	e = quorum_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING); P("quorum.dispatch ONE_NONBLOCKING %d", e);
	e = quorum_dispatch(h, CS_DISPATCH_ALL); P("quorum.dispatch ALL %d", e);
	e = quorum_dispatch(h, 99); P("quorum.dispatch 99 %d", e);
	e = quorum_context_set(h, &cb); P("quorum.contextSet %d", e);
	e = quorum_context_get(h, &ctx); P("quorum.contextGet %d %d", e, ctx == &cb);
	e = quorum_finalize(h); P("quorum.finalize %d", e);
	e = quorum_finalize(h); P("quorum.finalize again %d", e);
	e = quorum_getquorate(h, &quorate); P("quorum.getquorate after finalize %d", e);
	e = quorum_trackstart(h, CS_TRACK_CURRENT); P("quorum.trackstart after finalize %d", e);
	e = quorum_dispatch(h, 99); P("quorum.dispatch 99 after finalize %d", e);

	type = 99;
	e = quorum_model_initialize(&hx, 5, (quorum_model_data_t *)&v1, &type, NULL); P("quorum.modelInitialize 5 %d", e);
	e = quorum_model_initialize(&h1, QUORUM_MODEL_V1, (quorum_model_data_t *)&v1, &type, &v1); P("quorum.modelInitialize V1 %d %u", e, type);
	e = quorum_context_get(h1, &ctx); P("quorum.contextGet %d %d", e, ctx == &v1);
	e = quorum_trackstart(h1, CS_TRACK_CURRENT); P("quorum.trackstart CURRENT %d", e);
	e = quorum_dispatch(h1, CS_DISPATCH_ONE); P("quorum.dispatch ONE %d", e);
	e = quorum_dispatch(h1, CS_DISPATCH_ONE); P("quorum.dispatch ONE %d", e);
	e = quorum_dispatch(h1, CS_DISPATCH_ONE_NONBLOCKING); P("quorum.dispatch ONE_NONBLOCKING %d", e);
	e = quorum_finalize(h1); P("quorum.finalize %d", e);
}

/* ------------------------------------------------------------------------------ votequorum */

static struct { uint32_t nodeid; uint64_t seq; } last_ring;

static void vq_q(votequorum_handle_t h, uint64_t ctx, uint32_t quorate, uint32_t n, votequorum_node_t *nl)
{
	printf("  votequorum.quorum ctx=%" PRIu64 " quorate=%u nodes=", ctx, quorate);
	for (uint32_t i = 0; i < n; i++) printf("%s%u:%u", i ? "," : "", nl[i].nodeid, nl[i].state);
	printf("\n"); fflush(stdout);
}
static void vq_n(votequorum_handle_t h, uint64_t ctx, votequorum_ring_id_t ring, uint32_t n, uint32_t *nl)
{
	last_ring.nodeid = ring.nodeid; last_ring.seq = ring.seq;
	printf("  votequorum.nodelist ctx=%" PRIu64 " ring=%u/%" PRIu64 " nodes=", ctx, ring.nodeid, ring.seq);
	for (uint32_t i = 0; i < n; i++) printf("%s%u", i ? "," : "", nl[i]);
	printf("\n"); fflush(stdout);
}
static void vq_e(votequorum_handle_t h, uint64_t ctx, uint32_t ev)
{
	P("  votequorum.expectedvotes ctx=%" PRIu64 " expected=%u", ctx, ev);
}

static void pr_info(const char *what, cs_error_t e, struct votequorum_info *i)
{
	if (e != CS_OK) { P("%s %d", what, e); return; }
	P("%s %d node=%u state=%u votes=%u expected=%u highest=%u total=%u quorum=%u flags=%u qdevice_votes=%u qdevice_name=\"%s\"",
	  what, e, i->node_id, i->node_state, i->node_votes, i->node_expected_votes, i->highest_expected, i->total_votes,
	  i->quorum, i->flags, i->qdevice_votes, i->qdevice_name);
}

/* setexpected answers before its totem message is delivered; wait for the new quorum so both runs print the same state */
static cs_error_t settled_info(votequorum_handle_t h, unsigned int quorum, struct votequorum_info *info)
{
	cs_error_t e = CS_OK;
	for (int i = 0; i < 200; i++) {
		e = votequorum_getinfo(h, 0, info);
		if (e != CS_OK || info->quorum == quorum) break;
		usleep(10000);
	}
	return e;
}

/* qdevice update and unregister answer before their totem message is delivered (the name changes
 * then); wait for the name so both runs go on from, and print, the same state */
static void settled_qdevice_name(votequorum_handle_t h, const char *name)
{
	struct votequorum_info info;
	for (int i = 0; i < 200; i++) {
		if (votequorum_getinfo(h, 0, &info) != CS_OK || strcmp(info.qdevice_name, name) == 0) break;
		usleep(10000);
	}
}

static void run_votequorum(void)
{
	votequorum_handle_t h;
	votequorum_callbacks_t cb = { .votequorum_quorum_notify_fn = vq_q, .votequorum_expectedvotes_notify_fn = vq_e,
				      .votequorum_nodelist_notify_fn = vq_n };
	struct votequorum_info info;
	votequorum_ring_id_t ring;
	cs_error_t e;
	char longname[300];

	e = votequorum_initialize(&h, &cb); P("votequorum.initialize %d", e);
	e = votequorum_getinfo(h, 0, &info); pr_info("votequorum.getinfo 0", e, &info);
	e = votequorum_getinfo(h, 1, &info); pr_info("votequorum.getinfo 1", e, &info);
	e = votequorum_getinfo(h, 99, &info); pr_info("votequorum.getinfo 99", e, &info);
	e = votequorum_setexpected(h, 0); P("votequorum.setexpected 0 %d", e);
	e = votequorum_setexpected(h, 5); P("votequorum.setexpected 5 %d", e);
	e = settled_info(h, 3, &info); pr_info("votequorum.getinfo 0", e, &info);
	e = votequorum_setexpected(h, 3); P("votequorum.setexpected 3 %d", e);
	e = settled_info(h, 2, &info); pr_info("votequorum.getinfo 0", e, &info);
	e = votequorum_setvotes(h, 1, 1); P("votequorum.setvotes 1 1 %d", e);
	e = votequorum_setvotes(h, 99, 1); P("votequorum.setvotes 99 1 %d", e);
	e = votequorum_setvotes(h, 0, 0); P("votequorum.setvotes qdevice 0 %d", e);

	e = votequorum_trackstart(h, 42, CS_TRACK_CURRENT); P("votequorum.trackstart 42 CURRENT %d", e);
	e = votequorum_dispatch(h, CS_DISPATCH_ONE); P("votequorum.dispatch ONE %d", e);
	e = votequorum_dispatch(h, CS_DISPATCH_ONE); P("votequorum.dispatch ONE %d", e);
	e = votequorum_trackstart(h, 43, CS_TRACK_CHANGES); P("votequorum.trackstart 43 CHANGES %d", e);
	e = votequorum_dispatch(h, CS_DISPATCH_ONE); P("votequorum.dispatch ONE %d", e);
	e = votequorum_dispatch(h, CS_DISPATCH_ONE); P("votequorum.dispatch ONE %d", e);
	/* a delivered SETEXPECTED notifies the expected votes to trackers, even when unchanged */
	e = votequorum_setexpected(h, 3); P("votequorum.setexpected 3 tracked %d", e);
	e = votequorum_dispatch(h, CS_DISPATCH_ONE); P("votequorum.dispatch ONE %d", e);
	e = votequorum_trackstart(h, 44, CS_TRACK_CHANGES); P("votequorum.trackstart 44 CHANGES again %d", e);
	e = votequorum_dispatch(h, CS_DISPATCH_ONE); P("votequorum.dispatch ONE %d", e);
	e = votequorum_dispatch(h, CS_DISPATCH_ONE); P("votequorum.dispatch ONE %d", e);
	e = votequorum_trackstop(h); P("votequorum.trackstop %d", e);
	e = votequorum_trackstop(h); P("votequorum.trackstop again %d", e);
	e = votequorum_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING); P("votequorum.dispatch ONE_NONBLOCKING %d", e);
	e = votequorum_dispatch(h, 0); P("votequorum.dispatch 0 %d", e);

	/* qdevice */
	memset(longname, 'q', 255); longname[255] = 0;
	e = votequorum_qdevice_register(h, ""); P("votequorum.qdeviceRegister empty %d", e);
	e = votequorum_qdevice_register(h, longname); P("votequorum.qdeviceRegister 255 %d", e);
	e = votequorum_qdevice_unregister(h, "crefq"); P("votequorum.qdeviceUnregister not registered %d", e);
	e = votequorum_qdevice_register(h, "crefq"); P("votequorum.qdeviceRegister %d", e);
	e = votequorum_qdevice_register(h, "crefq"); P("votequorum.qdeviceRegister same %d", e);
	e = votequorum_qdevice_register(h, "other"); P("votequorum.qdeviceRegister other %d", e);
	e = votequorum_getinfo(h, 0, &info); pr_info("votequorum.getinfo registered", e, &info);
	e = votequorum_qdevice_update(h, "wrong", "crefq2"); P("votequorum.qdeviceUpdate wrong %d", e);
	e = votequorum_qdevice_update(h, "crefq", "crefq2"); P("votequorum.qdeviceUpdate %d", e);
	settled_qdevice_name(h, "crefq2");
	ring.nodeid = last_ring.nodeid; ring.seq = last_ring.seq + 1000;
	e = votequorum_qdevice_poll(h, "crefq2", 0, ring); P("votequorum.qdevicePoll bad ring %d", e);
	ring.seq = last_ring.seq;
	e = votequorum_qdevice_poll(h, "wrong", 0, ring); P("votequorum.qdevicePoll wrong name %d", e);
	e = votequorum_qdevice_poll(h, "crefq2", 0, ring); P("votequorum.qdevicePoll %d", e);
	e = votequorum_qdevice_master_wins(h, "crefq2", 1); P("votequorum.qdeviceMasterWins %d", e);
	e = votequorum_qdevice_master_wins(h, "wrong", 0); P("votequorum.qdeviceMasterWins wrong %d", e);
	e = votequorum_getinfo(h, 0, &info); pr_info("votequorum.getinfo polled", e, &info);
	e = votequorum_qdevice_master_wins(h, "crefq2", 0); P("votequorum.qdeviceMasterWins off %d", e);
	e = votequorum_qdevice_unregister(h, "wrong"); P("votequorum.qdeviceUnregister wrong %d", e);
	e = votequorum_qdevice_unregister(h, "crefq2"); P("votequorum.qdeviceUnregister %d", e);
	e = votequorum_qdevice_unregister(h, "crefq2"); P("votequorum.qdeviceUnregister again %d", e);
	settled_qdevice_name(h, "");
	e = votequorum_getinfo(h, 0, &info); pr_info("votequorum.getinfo unregistered", e, &info);

	e = votequorum_finalize(h); P("votequorum.finalize %d", e);
	e = votequorum_finalize(h); P("votequorum.finalize again %d", e);
	e = votequorum_getinfo(h, 0, &info); P("votequorum.getinfo after finalize %d", e);
	e = votequorum_qdevice_register(h, ""); P("votequorum.qdeviceRegister empty after finalize %d", e);
	e = votequorum_trackstop(h); P("votequorum.trackstop after finalize %d", e);
}

/* A daemon without a quorum provider: QUORUM_FREE, always quorate, no votequorum service. */
static void run_free(void)
{
	quorum_handle_t h;
	votequorum_handle_t vh;
	quorum_callbacks_t cb = { .quorum_notify_fn = q0 };
	uint32_t type = 99;
	int quorate = -1;
	cs_error_t e;

	e = quorum_initialize(&h, &cb, &type); P("quorum.initialize %d %u", e, type);
	e = quorum_getquorate(h, &quorate); P("quorum.getquorate %d %d", e, quorate);
	e = quorum_trackstart(h, CS_TRACK_CURRENT); P("quorum.trackstart CURRENT %d", e);
	e = quorum_dispatch(h, CS_DISPATCH_ONE); P("quorum.dispatch ONE %d", e);
	e = quorum_finalize(h); P("quorum.finalize %d", e);
	e = votequorum_initialize(&vh, NULL); P("votequorum.initialize %d", e);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	if (!strcmp(what, "all") || !strcmp(what, "cmap")) run_cmap();
	if (!strcmp(what, "all") || !strcmp(what, "quorum")) run_quorum();
	if (!strcmp(what, "all") || !strcmp(what, "votequorum")) run_votequorum();
	if (!strcmp(what, "free")) run_free();
	return 0;
}
