/*
 * Requests the corosync libraries never send, made with libqb's public client API
 * (qbipcc.h) so the daemon's answers to them can be captured: unknown request ids (the bare
 * error header), ADJUST_INT with steps other than +-1 (wrap-around), SET_CURRENT_MAP errors,
 * MODEL_GETTYPE with a bad model, TRACKSTART flag variants. Every request struct is memset, so
 * none of its bytes is garbage. Output protocol as capture.c: "@@{json}" lines, one write each;
 * "ret" carries the reply header read through libqb's public struct qb_ipc_response_header.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <qb/qbipc_common.h>
#include <qb/qbipcc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_MSG (8192 * 128)

static int failures;

static void out(const char *fmt, ...) {
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	/* vsnprintf returns the untruncated length: a cut fact would corrupt the expectations */
	if (n < 0 || n >= (int)sizeof(buf) - 2) abort();
	buf[n++] = '\n';
	if (write(1, buf, n) != n) abort();
}

static qb_ipcc_connection_t *conn(const char *svc) {
	out("@@{\"k\":\"step\",\"op\":\"raw_connect\",\"service\":\"%s\"}", svc);
	qb_ipcc_connection_t *c = qb_ipcc_connect(svc, MAX_MSG);
	out("@@{\"k\":\"ret\",\"rc\":%d}", c ? 1 : 0);
	if (!c) {
		failures++;
		exit(1);
	}
	return c;
}

static char reply[MAX_MSG];

/* sends `len` bytes (header filled here) and prints the reply header */
static void call(qb_ipcc_connection_t *c, int32_t id, void *msg, size_t len, const char *stepjson) {
	struct qb_ipc_request_header *h = msg;
	h->id = id;
	h->size = len;
	struct iovec iov = {.iov_base = msg, .iov_len = len};
	out("@@{\"k\":\"step\",\"op\":\"raw\",\"id\":%d%s}", id, stepjson);
	ssize_t n = qb_ipcc_sendv_recv(c, &iov, 1, reply, sizeof(reply), -1);
	if (n < (ssize_t)sizeof(struct qb_ipc_response_header)) {
		out("@@{\"k\":\"fatal\",\"msg\":\"reply %zd\"}", n);
		failures++;
		return;
	}
	struct qb_ipc_response_header *r = (struct qb_ipc_response_header *)reply;
	out("@@{\"k\":\"ret\",\"id\":%d,\"size\":%d,\"error\":%d,\"len\":%zd}", r->id, r->size, r->error, n);
}

/* a bare header with an id the service does not know */
static void unknown(qb_ipcc_connection_t *c, int32_t id) {
	struct qb_ipc_request_header u;
	memset(&u, 0, sizeof(u));
	call(c, id, &u, sizeof(u), ",\"what\":\"unknown\"");
}

/* reads one event and prints its header */
static void event(qb_ipcc_connection_t *c) {
	out("@@{\"k\":\"step\",\"op\":\"raw_event\"}");
	ssize_t n = qb_ipcc_event_recv(c, reply, sizeof(reply), 5000);
	if (n < (ssize_t)sizeof(struct qb_ipc_response_header)) {
		out("@@{\"k\":\"fatal\",\"msg\":\"event %zd\"}", n);
		failures++;
		return;
	}
	struct qb_ipc_response_header *r = (struct qb_ipc_response_header *)reply;
	out("@@{\"k\":\"evt\",\"id\":%d,\"size\":%d,\"error\":%d}", r->id, r->size, r->error);
}

/* mar_name_t as in corosync's mar_gen.h: u16 length, 8-aligned 256 chars */
struct name {
	uint16_t length __attribute__((aligned(8)));
	uint8_t value[256] __attribute__((aligned(8)));
};

static void setname(struct name *n, const char *s) {
	n->length = strlen(s);
	memcpy(n->value, s, strlen(s));
}

static void do_cmap(void) {
	qb_ipcc_connection_t *c = conn("cmap");
	{
		struct { struct qb_ipc_request_header h __attribute__((aligned(8))); int32_t map __attribute__((aligned(8))); } m;
		memset(&m, 0, sizeof(m));
		m.map = 7;
		call(c, 9, &m, sizeof(m), ",\"what\":\"setCurrentMap\",\"map\":7");
	}
	{
		struct {
			struct qb_ipc_request_header h __attribute__((aligned(8)));
			struct name key __attribute__((aligned(8)));
			uint64_t value_len __attribute__((aligned(8)));
			uint8_t type __attribute__((aligned(8)));
			uint8_t value[8] __attribute__((aligned(8)));
		} m;
		memset(&m, 0, sizeof(m));
		setname(&m.key, "raw.u8");
		m.value_len = 1;
		m.type = 2;
		m.value[0] = 250;
		call(c, 0, &m, 296 + 1, ",\"what\":\"set\",\"key\":\"raw.u8\",\"type\":2,\"value\":\"fa\"");
		memset(&m, 0, sizeof(m));
		setname(&m.key, "raw.i8");
		m.value_len = 1;
		m.type = 1;
		m.value[0] = 0;
		call(c, 0, &m, 296 + 1, ",\"what\":\"set\",\"key\":\"raw.i8\",\"type\":1,\"value\":\"00\"");
	}
	{
		struct {
			struct qb_ipc_request_header h __attribute__((aligned(8)));
			struct name key __attribute__((aligned(8)));
			int32_t step __attribute__((aligned(8)));
		} m;
		memset(&m, 0, sizeof(m));
		setname(&m.key, "raw.u8");
		m.step = 10;
		call(c, 3, &m, sizeof(m), ",\"what\":\"adjustInt\",\"key\":\"raw.u8\",\"step\":10");
		memset(&m, 0, sizeof(m));
		setname(&m.key, "raw.i8");
		m.step = -130;
		call(c, 3, &m, sizeof(m), ",\"what\":\"adjustInt\",\"key\":\"raw.i8\",\"step\":-130");
	}
	{
		struct {
			struct qb_ipc_request_header h __attribute__((aligned(8)));
			struct name key __attribute__((aligned(8)));
			uint64_t value_len __attribute__((aligned(8)));
		} m;
		memset(&m, 0, sizeof(m));
		setname(&m.key, "raw.u8");
		m.value_len = 16;
		call(c, 2, &m, sizeof(m), ",\"what\":\"get\",\"key\":\"raw.u8\",\"cap\":16");
		out("@@{\"k\":\"fact\",\"value\":\"%02x\"}", (unsigned char)reply[40]);
		memset(&m, 0, sizeof(m));
		setname(&m.key, "raw.i8");
		m.value_len = 16;
		call(c, 2, &m, sizeof(m), ",\"what\":\"get\",\"key\":\"raw.i8\",\"cap\":16");
		out("@@{\"k\":\"fact\",\"value\":\"%02x\"}", (unsigned char)reply[40]);
	}
	{
		/* an open iterator makes SET_CURRENT_MAP busy */
		struct { struct qb_ipc_request_header h __attribute__((aligned(8))); struct name prefix __attribute__((aligned(8))); } it;
		memset(&it, 0, sizeof(it));
		setname(&it.prefix, "raw.");
		call(c, 4, &it, sizeof(it), ",\"what\":\"iterInit\",\"prefix\":\"raw.\"");
		uint64_t handle;
		memcpy(&handle, reply + sizeof(struct qb_ipc_response_header), 8);
		out("@@{\"k\":\"fact\",\"iterHandle\":\"%" PRIu64 "\"}", handle);
		struct { struct qb_ipc_request_header h __attribute__((aligned(8))); int32_t map __attribute__((aligned(8))); } m;
		memset(&m, 0, sizeof(m));
		m.map = 1;
		call(c, 9, &m, sizeof(m), ",\"what\":\"setCurrentMap\",\"map\":1");
		struct { struct qb_ipc_request_header h __attribute__((aligned(8))); uint64_t handle __attribute__((aligned(8))); } f;
		memset(&f, 0, sizeof(f));
		f.handle = handle;
		char js[128];
		snprintf(js, sizeof(js), ",\"what\":\"iterFinalize\",\"iterHandle\":\"%" PRIu64 "\"", handle);
		call(c, 6, &f, sizeof(f), js);
		f.handle = handle ^ 0x5555000000000000ULL; /* a stale handle: 9 */
		snprintf(js, sizeof(js), ",\"what\":\"iterNext\",\"iterHandle\":\"%" PRIu64 "\"", (uint64_t)f.handle);
		call(c, 5, &f, sizeof(f), js);
	}
	unknown(c, 42);
	qb_ipcc_disconnect(c);
}

static void do_quorum(void) {
	qb_ipcc_connection_t *c = conn("quorum");
	struct { struct qb_ipc_request_header h __attribute__((aligned(8))); uint32_t v __attribute__((aligned(8))); } m;
	memset(&m, 0, sizeof(m));
	m.v = 7;
	call(c, 4, &m, sizeof(m), ",\"what\":\"modelGettype\",\"model\":7");
	memset(&m, 0, sizeof(m));
	m.v = 0;
	call(c, 1, &m, sizeof(m), ",\"what\":\"trackstart\",\"flags\":0");
	m.v = 1;
	call(c, 1, &m, sizeof(m), ",\"what\":\"trackstart\",\"flags\":1");
	event(c);
	unknown(c, 99);
	qb_ipcc_disconnect(c);
}

static void do_votequorum(void) {
	qb_ipcc_connection_t *c = conn("votequorum");
	struct {
		struct qb_ipc_request_header h __attribute__((aligned(8)));
		uint64_t context __attribute__((aligned(8)));
		uint32_t flags __attribute__((aligned(8)));
	} m;
	memset(&m, 0, sizeof(m));
	m.context = 0xfedcba9876543210ULL;
	m.flags = 1;
	call(c, 3, &m, sizeof(m), ",\"what\":\"trackstart\",\"context\":\"18364758544493064720\",\"flags\":1");
	event(c);
	event(c);
	unknown(c, 77);
	qb_ipcc_disconnect(c);
}

static void do_cfg(void) {
	qb_ipcc_connection_t *c = conn("cfg");
	struct qb_ipc_request_header u;
	memset(&u, 0, sizeof(u));
	call(c, 6, &u, sizeof(u), ",\"what\":\"localGet\"");
	call(c, 1, &u, sizeof(u), ",\"what\":\"ringReenable\"");
	unknown(c, 42);
	qb_ipcc_disconnect(c);
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	do_cmap();
	do_quorum();
	do_votequorum();
	do_cfg();
	out("@@{\"k\":\"done\",\"failures\":%d}", failures);
	return failures ? 1 : 0;
}
