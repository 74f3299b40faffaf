/*
 * The C half of the differential cmap test (test/real-diff-cmap.test.ts): reads one command per
 * line on stdin, performs it through libcmap (and libquorum / libvotequorum for `qgq` / `vqinfo`)
 * and prints one result line per command, "<command as read> <cs_error_t name> [outputs]", plus
 * a line per notification a dispatch delivers. test/cref/diff-cmap.mjs reads the same commands and
 * must print the same lines through @corosync-ts/client. Handles are never printed: they are
 * slots (S: cmap handle, I: iterator, T: track) numbered by the command.
 *
 * Arguments: keys, prefixes and byte strings are `s<text>` (printable ASCII but space), `x<hex>`
 * (x alone is empty) or `r<hh>:<n>` (the byte hh n times); numbers are decimal (floats as JavaScript prints them, NaN, Infinity, -0).
 *
 *   init S | initmap S MAP | fin S
 *   set S TYPE KEY VALUE      cmap_set_<type> (i8 u8 i16 u16 i32 u32 i64 u64 flt dbl)
 *   sets S KEY BYTES          cmap_set_string (BYTES has no NUL)
 *   setraw S TYPE KEY BYTES   cmap_set with any type number
 *   get S KEY CAP             cmap_get; CAP -1 is value == NULL, else a CAP-byte buffer
 *   gett S TYPE KEY | gets S KEY | del S KEY | inc S KEY | dec S KEY
 *   iinit S I PREFIX | inext S I | ifin S I
 *   tadd S T KEY FLAGS | tdel S T
 *   disp S MODE               1 = ONE (only when an event is there within IDLE_MS, else "idle"),
 *                             2 = ALL, 4 = ONE_NONBLOCKING
 *   qgq | vqinfo              quorum_getquorate / votequorum_getinfo(0) on a fresh handle
 *   reset                     finalizes every handle and deletes the keys under test.diff.
 *   end                       prints "end" (the end of a sequence)
 */
#include <corosync/cmap.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diff-common.h"

#define PREFIX "test.diff."

static char line[80000];

static void hex(const void *data, size_t len)
{
	const unsigned char *b = data;
	printf(" x");
	for (size_t i = 0; i < len; i++) printf("%02x", b[i]);
}

/* A `s<text>`, `x<hex>` or `r<hh>:<n>` argument into a malloc'd buffer (NUL-terminated beyond len). */
static unsigned char *bytes_arg(const char *tok, size_t *len)
{
	unsigned char *out;
	if (tok[0] == 's') {
		*len = strlen(tok + 1);
		return (unsigned char *)strdup(tok + 1);
	}
	if (tok[0] == 'r') {
		unsigned int b;
		size_t n;
		sscanf(tok + 1, "%x:%zu", &b, &n);
		out = malloc(n + 1);
		memset(out, (int)b, n);
		out[n] = 0;
		*len = n;
		return out;
	}
	size_t n = strlen(tok + 1) / 2;
	out = malloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned int b;
		sscanf(tok + 1 + 2 * i, "%2x", &b);
		out[i] = (unsigned char)b;
	}
	out[n] = 0;
	*len = n;
	return out;
}

static cmap_handle_t h[NSLOT];
static int h_used[NSLOT];
static cmap_handle_t opened[4096];
static size_t n_opened;
static cmap_iter_handle_t it[NSLOT];
static int it_used[NSLOT];
static cmap_track_handle_t tr[NSLOT];
static int tr_used[NSLOT];
static const char *tr_tag[NSLOT] = { "t0", "t1", "t2", "t3" };

/* UTF-8 as TextDecoder's fatal mode takes it: no overlong forms, surrogates or code points past U+10FFFF */
static int valid_utf8(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = b[i];
		size_t k;
		unsigned cp, min;
		if (c < 0x80) { i++; continue; }
		else if ((c & 0xe0) == 0xc0) { k = 1; cp = c & 0x1f; min = 0x80; }
		else if ((c & 0xf0) == 0xe0) { k = 2; cp = c & 0x0f; min = 0x800; }
		else if ((c & 0xf8) == 0xf0) { k = 3; cp = c & 0x07; min = 0x10000; }
		else return 0;
		if (i + k >= n) return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((b[i + j] & 0xc0) != 0x80) return 0;
			cp = (cp << 6) | (b[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
		i += k + 1;
	}
	return 1;
}

static void pr_value(struct cmap_notify_value v)
{
	printf("%d/%zu/", v.type, v.len);
	printf("x");
	for (size_t i = 0; i < v.len; i++) printf("%02x", ((const unsigned char *)v.data)[i]);
}

static void notify(cmap_handle_t hh, cmap_track_handle_t th, int32_t event, const char *key_name,
		   struct cmap_notify_value nv, struct cmap_notify_value ov, void *user_data)
{
	printf("  notify %s event=%d key=%s new=", (const char *)user_data, event, key_name);
	pr_value(nv);
	printf(" old=");
	pr_value(ov);
	printf("\n");
	fflush(stdout);
}

static void reset(void)
{
	cmap_handle_t c;
	cmap_iter_handle_t i;
	char name[CMAP_KEYNAME_MAXLEN + 1];
	for (size_t k = 0; k < n_opened; k++) cmap_finalize(opened[k]);
	n_opened = 0;
	memset(h_used, 0, sizeof h_used);
	memset(it_used, 0, sizeof it_used);
	memset(tr_used, 0, sizeof tr_used);
	if (cmap_initialize(&c) != CS_OK) return;
	if (cmap_iter_init(c, PREFIX, &i) == CS_OK) {
		while (cmap_iter_next(c, i, name, NULL, NULL) == CS_OK) cmap_delete(c, name);
		cmap_iter_finalize(c, i);
	}
	cmap_finalize(c);
}

static int typecode(const char *t)
{
	static const char *names[] = { "", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "flt", "dbl" };
	for (int i = 1; i <= 10; i++) if (!strcmp(t, names[i])) return i;
	return 0;
}

static void pr_typed(int type, const void *v)
{
	switch (type) {
	case CMAP_VALUETYPE_INT8: printf(" %d", *(const int8_t *)v); break;
	case CMAP_VALUETYPE_UINT8: printf(" %u", *(const uint8_t *)v); break;
	case CMAP_VALUETYPE_INT16: printf(" %d", *(const int16_t *)v); break;
	case CMAP_VALUETYPE_UINT16: printf(" %u", *(const uint16_t *)v); break;
	case CMAP_VALUETYPE_INT32: printf(" %d", *(const int32_t *)v); break;
	case CMAP_VALUETYPE_UINT32: printf(" %u", *(const uint32_t *)v); break;
	case CMAP_VALUETYPE_INT64: printf(" %" PRId64, *(const int64_t *)v); break;
	case CMAP_VALUETYPE_UINT64: printf(" %" PRIu64, *(const uint64_t *)v); break;
	/* bits, not digits: the printed form is exact and the same in both drivers; a NaN's
	 * payload is not (a JavaScript number keeps none) */
	case CMAP_VALUETYPE_FLOAT:
		if (isnan(*(const float *)v)) printf(" nan"); else hex(v, 4);
		break;
	case CMAP_VALUETYPE_DOUBLE:
		if (isnan(*(const double *)v)) printf(" nan"); else hex(v, 8);
		break;
	}
}

static cs_error_t do_set(cmap_handle_t hh, int type, const char *key, const char *val)
{
	switch (type) {
	case CMAP_VALUETYPE_INT8: return cmap_set_int8(hh, key, (int8_t)strtoll(val, NULL, 10));
	case CMAP_VALUETYPE_UINT8: return cmap_set_uint8(hh, key, (uint8_t)strtoull(val, NULL, 10));
	case CMAP_VALUETYPE_INT16: return cmap_set_int16(hh, key, (int16_t)strtoll(val, NULL, 10));
	case CMAP_VALUETYPE_UINT16: return cmap_set_uint16(hh, key, (uint16_t)strtoull(val, NULL, 10));
	case CMAP_VALUETYPE_INT32: return cmap_set_int32(hh, key, (int32_t)strtoll(val, NULL, 10));
	case CMAP_VALUETYPE_UINT32: return cmap_set_uint32(hh, key, (uint32_t)strtoull(val, NULL, 10));
	case CMAP_VALUETYPE_INT64: return cmap_set_int64(hh, key, (int64_t)strtoll(val, NULL, 10));
	case CMAP_VALUETYPE_UINT64: return cmap_set_uint64(hh, key, (uint64_t)strtoull(val, NULL, 10));
	case CMAP_VALUETYPE_FLOAT: return cmap_set_float(hh, key, (float)strtod(val, NULL));
	case CMAP_VALUETYPE_DOUBLE: return cmap_set_double(hh, key, strtod(val, NULL));
	}
	return CS_ERR_LIBRARY;
}

static cs_error_t do_gett(cmap_handle_t hh, int type, const char *key, void *v)
{
	switch (type) {
	case CMAP_VALUETYPE_INT8: return cmap_get_int8(hh, key, v);
	case CMAP_VALUETYPE_UINT8: return cmap_get_uint8(hh, key, v);
	case CMAP_VALUETYPE_INT16: return cmap_get_int16(hh, key, v);
	case CMAP_VALUETYPE_UINT16: return cmap_get_uint16(hh, key, v);
	case CMAP_VALUETYPE_INT32: return cmap_get_int32(hh, key, v);
	case CMAP_VALUETYPE_UINT32: return cmap_get_uint32(hh, key, v);
	case CMAP_VALUETYPE_INT64: return cmap_get_int64(hh, key, v);
	case CMAP_VALUETYPE_UINT64: return cmap_get_uint64(hh, key, v);
	case CMAP_VALUETYPE_FLOAT: return cmap_get_float(hh, key, v);
	case CMAP_VALUETYPE_DOUBLE: return cmap_get_double(hh, key, v);
	}
	return CS_ERR_LIBRARY;
}

/* The slot's handle; prints "<cmd> noslot" and returns 0 for a slot never initialized. */
static int slot(const char *cmd, int s)
{
	if (s < 0 || s >= NSLOT || !h_used[s]) {
		printf("%s noslot\n", cmd);
		return 0;
	}
	return 1;
}

static void run(char *cmd)
{
	char echo[200];
	cs_error_t e;
	snprintf(echo, sizeof echo, "%.180s", cmd);
	if (strlen(cmd) > 180) strcpy(echo + 180, "...");
	char *op = strtok(cmd, " ");
	if (!op) return;

	if (!strcmp(op, "end")) { printf("end\n"); return; }
	if (!strcmp(op, "reset")) { reset(); printf("reset\n"); return; }
	if (!strcmp(op, "qgq")) {
		quorum_handle_t q;
		quorum_callbacks_t cb = { 0 };
		uint32_t type;
		int quorate = -1;
		e = quorum_initialize(&q, &cb, &type);
		if (e == CS_OK) { e = quorum_getquorate(q, &quorate); quorum_finalize(q); }
		printf("%s %s", echo, errname(e));
		if (e == CS_OK) printf(" %d", quorate);
		printf("\n");
		return;
	}
	if (!strcmp(op, "vqinfo")) {
		votequorum_handle_t v;
		struct votequorum_info i;
		e = votequorum_initialize(&v, NULL);
		if (e == CS_OK) { e = votequorum_getinfo(v, 0, &i); votequorum_finalize(v); }
		printf("%s %s", echo, errname(e));
		if (e == CS_OK)
			printf(" node=%u state=%u votes=%u expected=%u highest=%u total=%u quorum=%u flags=%u",
			       i.node_id, i.node_state, i.node_votes, i.node_expected_votes, i.highest_expected, i.total_votes, i.quorum, i.flags);
		printf("\n");
		return;
	}

	int s = atoi(next_tok());
	if (s < 0 || s >= NSLOT) { printf("%s badslot\n", echo); return; }

	if (!strcmp(op, "init") || !strcmp(op, "initmap")) {
		cmap_handle_t nh;
		e = !strcmp(op, "init") ? cmap_initialize(&nh) : cmap_initialize_map(&nh, atoi(next_tok()));
		if (e == CS_OK) {
			h[s] = nh;
			h_used[s] = 1;
			opened[n_opened++] = nh;
		}
		printf("%s %s\n", echo, errname(e));
		return;
	}
	if (!slot(echo, s)) return;
	cmap_handle_t hh = h[s];

	if (!strcmp(op, "fin")) {
		e = cmap_finalize(hh);
		printf("%s %s\n", echo, errname(e));
	} else if (!strcmp(op, "set")) {
		int type = typecode(next_tok());
		size_t kl;
		char *key = (char *)bytes_arg(next_tok(), &kl);
		e = do_set(hh, type, key, next_tok());
		printf("%s %s\n", echo, errname(e));
		free(key);
	} else if (!strcmp(op, "sets")) {
		size_t kl, vl;
		char *key = (char *)bytes_arg(next_tok(), &kl);
		char *val = (char *)bytes_arg(next_tok(), &vl);
		e = cmap_set_string(hh, key, val);
		printf("%s %s\n", echo, errname(e));
		free(key);
		free(val);
	} else if (!strcmp(op, "setraw")) {
		int type = atoi(next_tok());
		size_t kl, vl;
		char *key = (char *)bytes_arg(next_tok(), &kl);
		unsigned char *val = bytes_arg(next_tok(), &vl);
		e = cmap_set(hh, key, val, vl, type);
		printf("%s %s\n", echo, errname(e));
		free(key);
		free(val);
	} else if (!strcmp(op, "get")) {
		size_t kl;
		char *key = (char *)bytes_arg(next_tok(), &kl);
		long cap = atol(next_tok());
		size_t len = 0;
		cmap_value_types_t type = 0;
		if (cap < 0) {
			e = cmap_get(hh, key, NULL, &len, &type);
			printf("%s %s", echo, errname(e));
			if (e == CS_OK) printf(" type=%d len=%zu", type, len);
		} else {
			/* libcmap copies the stored length whatever the capacity (the daemon refuses a
			 * capacity below it, except 0, which it answers with the length only): the buffer
			 * has room for that and only the bytes within the capacity are printed */
			unsigned char *buf = calloc(1, 16384 + 16);
			len = (size_t)cap;
			e = cmap_get(hh, key, buf, &len, &type);
			printf("%s %s", echo, errname(e));
			if (e == CS_OK) {
				printf(" type=%d len=%zu", type, len);
				hex(buf, len < (size_t)cap ? len : (size_t)cap);
			}
			free(buf);
		}
		printf("\n");
		free(key);
	} else if (!strcmp(op, "gett")) {
		int type = typecode(next_tok());
		size_t kl;
		char *key = (char *)bytes_arg(next_tok(), &kl);
		unsigned char v[16] = { 0 };
		e = do_gett(hh, type, key, v);
		printf("%s %s", echo, errname(e));
		if (e == CS_OK) pr_typed(type, v);
		printf("\n");
		free(key);
	} else if (!strcmp(op, "gets")) {
		size_t kl;
		char *key = (char *)bytes_arg(next_tok(), &kl);
		char *str = NULL;
		e = cmap_get_string(hh, key, &str);
		printf("%s %s", echo, errname(e));
		/* a JavaScript string is text: bytes that are not UTF-8 have no exact counterpart
		 * there (diff-cmap.mjs checks that getString gives TextDecoder's reading of them) */
		if (e == CS_OK) {
			if (valid_utf8((const unsigned char *)str, strlen(str))) hex(str, strlen(str));
			else printf(" (not UTF-8)");
			free(str);
		}
		printf("\n");
		free(key);
	} else if (!strcmp(op, "del") || !strcmp(op, "inc") || !strcmp(op, "dec")) {
		size_t kl;
		char *key = (char *)bytes_arg(next_tok(), &kl);
		e = !strcmp(op, "del") ? cmap_delete(hh, key) : !strcmp(op, "inc") ? cmap_inc(hh, key) : cmap_dec(hh, key);
		printf("%s %s\n", echo, errname(e));
		free(key);
	} else if (!strcmp(op, "iinit")) {
		int i = atoi(next_tok());
		size_t kl;
		char *prefix = (char *)bytes_arg(next_tok(), &kl);
		cmap_iter_handle_t ni;
		e = cmap_iter_init(hh, prefix, &ni);
		if (e == CS_OK) { it[i] = ni; it_used[i] = 1; }
		printf("%s %s\n", echo, errname(e));
		free(prefix);
	} else if (!strcmp(op, "inext") || !strcmp(op, "ifin")) {
		int i = atoi(next_tok());
		if (!it_used[i]) { printf("%s noiter\n", echo); return; }
		if (!strcmp(op, "ifin")) {
			e = cmap_iter_finalize(hh, it[i]);
			printf("%s %s\n", echo, errname(e));
			return;
		}
		char name[CMAP_KEYNAME_MAXLEN + 1];
		size_t len = 0;
		cmap_value_types_t type = 0;
		e = cmap_iter_next(hh, it[i], name, &len, &type);
		printf("%s %s", echo, errname(e));
		/* keys outside the test's prefix are the daemon's own: not part of the comparison */
		if (e == CS_OK) {
			if (!strncmp(name, PREFIX, strlen(PREFIX))) printf(" %s len=%zu type=%d", name, len, type);
			else printf(" (other)");
		}
		printf("\n");
	} else if (!strcmp(op, "tadd")) {
		int t = atoi(next_tok());
		size_t kl;
		char *key = (char *)bytes_arg(next_tok(), &kl);
		int32_t flags = (int32_t)atol(next_tok());
		cmap_track_handle_t nt;
		e = cmap_track_add(hh, key, flags, notify, (void *)tr_tag[t], &nt);
		if (e == CS_OK) { tr[t] = nt; tr_used[t] = 1; }
		printf("%s %s\n", echo, errname(e));
		free(key);
	} else if (!strcmp(op, "tdel")) {
		int t = atoi(next_tok());
		if (!tr_used[t]) { printf("%s notrack\n", echo); return; }
		e = cmap_track_delete(hh, tr[t]);
		printf("%s %s\n", echo, errname(e));
	} else if (!strcmp(op, "disp")) {
		int mode = atoi(next_tok());
		int fd = -1;
		if (mode == CS_DISPATCH_ONE && cmap_fd_get(hh, &fd) == CS_OK && no_event(fd)) {
			printf("%s idle\n", echo);
			return;
		}
		fflush(stdout);
		e = cmap_dispatch(hh, mode);
		printf("%s %s\n", echo, errname(e));
	} else {
		printf("%s unknown\n", echo);
	}
}

int main(void)
{
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		run(line);
		fflush(stdout);
	}
	reset();
	return 0;
}
