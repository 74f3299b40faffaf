/*
 * The C half of the differential quorum / votequorum test (test/real-diff-vq.test.ts): reads one
 * command per line on stdin, performs it through libquorum / libvotequorum and prints one result
 * line per command, "<command as read> <cs_error_t name> [outputs]", plus a line per notification
 * a dispatch delivers. test/cref/diff-vq.mjs reads the same commands and must print the same lines
 * through @corosync-ts/client. Handles are never printed: S is a slot (0..3) numbered by the
 * command; quorum and votequorum slots are separate.
 *
 * Names (qdevice) are `-` (empty), a word of [a-z], or `L<n>` (n times 'q'). A ring is `cur`
 * (the ring the last `reset` read) or `bad` (its seq + 1000); a ring in a notification prints as
 * `cur` when it is that ring, else `other`: ring ids belong to the daemon, not to the calls.
 *
 *   qinit S CB               quorum_initialize; CB 1 = with a callback, 0 = NULL callbacks
 *   qmodel S MODEL CTX       quorum_model_initialize (model 0, 1 or anything else), context CTX
 *   qgetq S | qtstart S FLAGS | qtstop S | qfin S
 *   qdisp S MODE             1 = ONE (only when an event is there within IDLE_MS, else "idle"),
 *                            2 = ALL, 4 = ONE_NONBLOCKING, anything else as given
 *   qcset S CTX | qcget S    quorum_context_set / _get (a number as the pointer)
 *   vinit S CB | vfin S      votequorum_initialize (CB as above) / _finalize
 *   vinfo S NODE             votequorum_getinfo
 *   vsetexp S N | vsetvotes S NODE N
 *   vtstart S CTX FLAGS | vtstop S | vdisp S MODE | vcset S CTX | vcget S
 *   vqreg S NAME | vqunreg S NAME | vqupd S OLD NEW | vqpoll S NAME CAST RING | vqmw S NAME ALLOW
 *   wait_totem               a totem barrier: joins a new cpg group, multicasts and waits for its own
 *                            message. Totem delivers in one order, so every change an earlier call
 *                            sent (setexpected, setvotes, qdevice unregister / update / poll
 *                            answer before the daemon delivers them) has been applied, and its
 *                            notifications sent, once the barrier's message comes back.
 *   reset                    finalizes (and forgets) every handle, unregisters a qdevice, waits for totem, reads
 *                            the ring and prints the state of nodes 0..3 (see the test: a state
 *                            that is not the daemon's first one makes it restart corosync)
 *   end                      prints "end" (the end of a sequence)
 */
#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "diff-common.h"

static char line[4096];
static char echo[4096];
static char namebuf[4][512];

static const char *name_arg(int which, const char *tok)
{
	char *b = namebuf[which];
	if (!strcmp(tok, "-")) b[0] = 0;
	else if (tok[0] == 'L') {
		int n = atoi(tok + 1);
		memset(b, 'q', n);
		b[n] = 0;
	} else snprintf(b, sizeof namebuf[which], "%s", tok);
	return b;
}

static quorum_handle_t qh[NSLOT];
static int q_used[NSLOT];
static votequorum_handle_t vh[NSLOT];
static int v_used[NSLOT];
static uint64_t cur_seq;
static uint32_t cur_node;

static const char *ring_str(uint32_t nodeid, uint64_t seq)
{
	return nodeid == cur_node && seq == cur_seq ? "cur" : "other";
}

static void pr_list(const char *what, uint32_t n, const uint32_t *l)
{
	printf(" %s=", what);
	for (uint32_t i = 0; i < n; i++) printf("%s%u", i ? "," : "", l[i]);
}

static int slot_of_q(quorum_handle_t h)
{
	for (int i = 0; i < NSLOT; i++) if (q_used[i] && qh[i] == h) return i;
	return -1;
}

static int slot_of_v(votequorum_handle_t h)
{
	for (int i = 0; i < NSLOT; i++) if (v_used[i] && vh[i] == h) return i;
	return -1;
}

static void q0(quorum_handle_t h, uint32_t quorate, uint64_t ring_seq, uint32_t n, uint32_t *view)
{
	printf("  q%d quorum.v0 quorate=%u ring_seq=%s", slot_of_q(h), quorate, ring_seq == cur_seq ? "cur" : "other");
	pr_list("view", n, view);
	printf("\n");
}

static void q1(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id ring, uint32_t n, const uint32_t *view)
{
	printf("  q%d quorum.v1 quorate=%u ring=%s", slot_of_q(h), quorate, ring_str(ring.nodeid, ring.seq));
	pr_list("view", n, view);
	printf("\n");
}

static void n1(quorum_handle_t h, struct quorum_ring_id ring, uint32_t m, const uint32_t *ml, uint32_t j, const uint32_t *jl, uint32_t l,
	       const uint32_t *ll)
{
	printf("  q%d quorum.nodelist ring=%s", slot_of_q(h), ring_str(ring.nodeid, ring.seq));
	pr_list("members", m, ml);
	pr_list("joined", j, jl);
	pr_list("left", l, ll);
	printf("\n");
}

static void vq_q(votequorum_handle_t h, uint64_t ctx, uint32_t quorate, uint32_t n, votequorum_node_t *nl)
{
	printf("  v%d votequorum.quorum ctx=%" PRIu64 " quorate=%u nodes=", slot_of_v(h), ctx, quorate);
	for (uint32_t i = 0; i < n; i++) printf("%s%u/%u", i ? "," : "", nl[i].nodeid, nl[i].state);
	printf("\n");
}

static void vq_n(votequorum_handle_t h, uint64_t ctx, votequorum_ring_id_t ring, uint32_t n, uint32_t *nl)
{
	printf("  v%d votequorum.nodelist ctx=%" PRIu64 " ring=%s", slot_of_v(h), ctx, ring_str(ring.nodeid, ring.seq));
	pr_list("nodes", n, nl);
	printf("\n");
}

static void vq_e(votequorum_handle_t h, uint64_t ctx, uint32_t ev)
{
	printf("  v%d votequorum.expectedvotes ctx=%" PRIu64 " expected=%u\n", slot_of_v(h), ctx, ev);
}

static quorum_callbacks_t qcb = { .quorum_notify_fn = q0 };
static quorum_model_v1_data_t qv1 = { .model = QUORUM_MODEL_V1, .quorum_notify_fn = q1, .nodelist_notify_fn = n1 };
static quorum_model_v0_data_t qv0 = { .model = QUORUM_MODEL_V0, .quorum_notify_fn = q0 };
static votequorum_callbacks_t vcb = { .votequorum_quorum_notify_fn = vq_q, .votequorum_expectedvotes_notify_fn = vq_e,
				      .votequorum_nodelist_notify_fn = vq_n };

static void pr_info(cs_error_t e, struct votequorum_info *i)
{
	printf(" %s", errname(e));
	if (e == CS_OK)
		printf(" node=%u state=%u votes=%u expected=%u highest=%u total=%u quorum=%u flags=%u qdevice_votes=%u qdevice_name=%s", i->node_id,
		       i->node_state, i->node_votes, i->node_expected_votes, i->highest_expected, i->total_votes, i->quorum, i->flags,
		       i->qdevice_votes, i->qdevice_name);
}

/* ------------------------------------------------------------------------- the totem barrier */

static int barrier_seen;
static uint32_t barrier_token;

static void barrier_deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid, void *msg, size_t len)
{
	if (pid == (uint32_t)getpid() && len == sizeof barrier_token && !memcmp(msg, &barrier_token, len)) barrier_seen = 1;
}

static cs_error_t wait_totem(void)
{
	cpg_handle_t h;
	cpg_callbacks_t cb = { .cpg_deliver_fn = barrier_deliver };
	struct cpg_name g;
	struct iovec iov = { .iov_base = &barrier_token, .iov_len = sizeof barrier_token };
	cs_error_t e = cpg_initialize(&h, &cb);
	if (e != CS_OK) return e;
	barrier_token++;
	/* a group of its own each time: joining the group this process just left is CS_ERR_TRY_AGAIN until totem delivers the leave */
	g.length = snprintf(g.value, sizeof g.value, "diffvq.%u.%u", (unsigned)getpid(), barrier_token);
	e = cpg_join(h, &g);
	barrier_seen = 0;
	if (e == CS_OK) e = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);
	while (e == CS_OK && !barrier_seen) e = cpg_dispatch(h, CS_DISPATCH_ONE);
	cpg_finalize(h);
	return e;
}

/* ----------------------------------------------------------------------------------- reset */

static void ring_catch(votequorum_handle_t h, uint64_t ctx, votequorum_ring_id_t ring, uint32_t n, uint32_t *nl)
{
	cur_node = ring.nodeid;
	cur_seq = ring.seq;
}

static void reset(void)
{
	votequorum_handle_t h;
	votequorum_callbacks_t cb = { .votequorum_nodelist_notify_fn = ring_catch };
	struct votequorum_info info;
	cs_error_t e;

	for (int i = 0; i < NSLOT; i++) {
		if (q_used[i]) quorum_finalize(qh[i]);
		if (v_used[i]) votequorum_finalize(vh[i]);
		/* no stale handle outlives its sequence: a sequence's output must not depend on the ones before */
		q_used[i] = v_used[i] = 0;
		qh[i] = 0;
		vh[i] = 0;
	}
	printf("reset");
	e = votequorum_initialize(&h, &cb);
	if (e != CS_OK) {
		printf(" %s\n", errname(e));
		return;
	}
	if (votequorum_getinfo(h, 0, &info) == CS_OK && info.qdevice_name[0]) votequorum_qdevice_unregister(h, info.qdevice_name);
	e = wait_totem();
	if (e != CS_OK) printf(" wait_totem %s", errname(e));
	/* the daemon queues TRACK_CURRENT's notifications before it answers */
	votequorum_trackstart(h, 0, CS_TRACK_CURRENT);
	votequorum_dispatch(h, CS_DISPATCH_ALL);
	for (unsigned n = 0; n <= 3; n++) {
		e = votequorum_getinfo(h, n, &info);
		printf(" |%u", n);
		pr_info(e, &info);
	}
	votequorum_finalize(h);
	printf("\n");
}

static int slot(const char *tok)
{
	int s = atoi(tok);
	return s >= 0 && s < NSLOT ? s : 0;
}

static void dispatch(int fd_ok, int fd, cs_error_t (*disp)(int), int mode)
{
	cs_error_t e;
	if (mode == CS_DISPATCH_ONE && fd_ok && no_event(fd)) {
		printf("%s idle\n", echo);
		return;
	}
	/* the callbacks print their lines below the command's; its result follows them */
	printf("%s\n", echo);
	e = disp(mode);
	printf("  => %s\n", errname(e));
}

static int cur_slot;
static cs_error_t qdisp(int mode) { return quorum_dispatch(qh[cur_slot], mode); }
static cs_error_t vdisp(int mode) { return votequorum_dispatch(vh[cur_slot], mode); }

static void run(void)
{
	char *op = strtok(line, " ");
	cs_error_t e;
	if (!op) return;
	if (!strcmp(op, "end")) { printf("end\n"); return; }
	if (!strcmp(op, "reset")) { reset(); return; }
	if (!strcmp(op, "wait_totem")) { printf("%s %s\n", echo, errname(wait_totem())); return; }
	int s = slot(next_tok());
	cur_slot = s;
	if (op[0] == 'q' && strcmp(op, "qinit") && strcmp(op, "qmodel") && !q_used[s] && !qh[s]) { printf("%s noslot\n", echo); return; }
	if (op[0] == 'v' && strcmp(op, "vinit") && !v_used[s] && !vh[s]) { printf("%s noslot\n", echo); return; }

	if (!strcmp(op, "qinit")) {
		int with = atoi(next_tok());
		uint32_t type = 99;
		if (q_used[s]) quorum_finalize(qh[s]);
		e = quorum_initialize(&qh[s], with ? &qcb : NULL, &type);
		q_used[s] = e == CS_OK;
		if (e != CS_OK) qh[s] = 0;
		printf("%s %s", echo, errname(e));
		if (e == CS_OK) printf(" type=%u", type);
		printf("\n");
	} else if (!strcmp(op, "qmodel")) {
		int model = atoi(next_tok());
		uintptr_t ctx = strtoull(next_tok(), NULL, 10);
		uint32_t type = 99;
		quorum_model_data_t *md = model == QUORUM_MODEL_V0 ? (quorum_model_data_t *)&qv0 : (quorum_model_data_t *)&qv1;
		if (model != QUORUM_MODEL_V0 && model != QUORUM_MODEL_V1) md = (quorum_model_data_t *)&(quorum_model_v1_data_t){ .model = model };
		if (q_used[s]) quorum_finalize(qh[s]);
		e = quorum_model_initialize(&qh[s], model, md, &type, (void *)ctx);
		q_used[s] = e == CS_OK;
		if (e != CS_OK) qh[s] = 0;
		printf("%s %s", echo, errname(e));
		if (e == CS_OK) printf(" type=%u", type);
		printf("\n");
	} else if (!strcmp(op, "qgetq")) {
		int q = -1;
		e = quorum_getquorate(qh[s], &q);
		printf("%s %s", echo, errname(e));
		if (e == CS_OK) printf(" %d", q);
		printf("\n");
	} else if (!strcmp(op, "qtstart")) {
		e = quorum_trackstart(qh[s], (unsigned)strtoul(next_tok(), NULL, 10));
		printf("%s %s\n", echo, errname(e));
	} else if (!strcmp(op, "qtstop")) {
		printf("%s %s\n", echo, errname(quorum_trackstop(qh[s])));
	} else if (!strcmp(op, "qfin")) {
		e = quorum_finalize(qh[s]);
		q_used[s] = 0;
		printf("%s %s\n", echo, errname(e));
	} else if (!strcmp(op, "qdisp")) {
		int fd = -1;
		int mode = atoi(next_tok());
		int fd_ok = quorum_fd_get(qh[s], &fd) == CS_OK;
		dispatch(fd_ok, fd, qdisp, mode);
	} else if (!strcmp(op, "qcset")) {
		uintptr_t ctx = strtoull(next_tok(), NULL, 10);
		printf("%s %s\n", echo, errname(quorum_context_set(qh[s], (void *)ctx)));
	} else if (!strcmp(op, "qcget")) {
		const void *ctx = (void *)1;
		e = quorum_context_get(qh[s], &ctx);
		printf("%s %s", echo, errname(e));
		if (e == CS_OK) printf(" %" PRIuPTR, (uintptr_t)ctx);
		printf("\n");
	} else if (!strcmp(op, "vinit")) {
		int with = atoi(next_tok());
		if (v_used[s]) votequorum_finalize(vh[s]);
		e = votequorum_initialize(&vh[s], with ? &vcb : NULL);
		v_used[s] = e == CS_OK;
		if (e != CS_OK) vh[s] = 0;
		printf("%s %s\n", echo, errname(e));
	} else if (!strcmp(op, "vfin")) {
		e = votequorum_finalize(vh[s]);
		v_used[s] = 0;
		printf("%s %s\n", echo, errname(e));
	} else if (!strcmp(op, "vinfo")) {
		struct votequorum_info info;
		e = votequorum_getinfo(vh[s], (unsigned)strtoul(next_tok(), NULL, 10), &info);
		printf("%s", echo);
		pr_info(e, &info);
		printf("\n");
	} else if (!strcmp(op, "vsetexp")) {
		e = votequorum_setexpected(vh[s], (unsigned)strtoul(next_tok(), NULL, 10));
		printf("%s %s\n", echo, errname(e));
	} else if (!strcmp(op, "vsetvotes")) {
		unsigned node = (unsigned)strtoul(next_tok(), NULL, 10);
		e = votequorum_setvotes(vh[s], node, (unsigned)strtoul(next_tok(), NULL, 10));
		printf("%s %s\n", echo, errname(e));
	} else if (!strcmp(op, "vtstart")) {
		uint64_t ctx = strtoull(next_tok(), NULL, 10);
		e = votequorum_trackstart(vh[s], ctx, (unsigned)strtoul(next_tok(), NULL, 10));
		printf("%s %s\n", echo, errname(e));
	} else if (!strcmp(op, "vtstop")) {
		printf("%s %s\n", echo, errname(votequorum_trackstop(vh[s])));
	} else if (!strcmp(op, "vdisp")) {
		int fd = -1;
		int mode = atoi(next_tok());
		int fd_ok = votequorum_fd_get(vh[s], &fd) == CS_OK;
		dispatch(fd_ok, fd, vdisp, mode);
	} else if (!strcmp(op, "vcset")) {
		uintptr_t ctx = strtoull(next_tok(), NULL, 10);
		printf("%s %s\n", echo, errname(votequorum_context_set(vh[s], (void *)ctx)));
	} else if (!strcmp(op, "vcget")) {
		void *ctx = (void *)1;
		e = votequorum_context_get(vh[s], &ctx);
		printf("%s %s", echo, errname(e));
		if (e == CS_OK) printf(" %" PRIuPTR, (uintptr_t)ctx);
		printf("\n");
	} else if (!strcmp(op, "vqreg")) {
		printf("%s %s\n", echo, errname(votequorum_qdevice_register(vh[s], name_arg(0, next_tok()))));
	} else if (!strcmp(op, "vqunreg")) {
		printf("%s %s\n", echo, errname(votequorum_qdevice_unregister(vh[s], name_arg(0, next_tok()))));
	} else if (!strcmp(op, "vqupd")) {
		const char *a = name_arg(0, next_tok());
		printf("%s %s\n", echo, errname(votequorum_qdevice_update(vh[s], a, name_arg(1, next_tok()))));
	} else if (!strcmp(op, "vqpoll")) {
		const char *n = name_arg(0, next_tok());
		unsigned cast = (unsigned)strtoul(next_tok(), NULL, 10);
		votequorum_ring_id_t ring = { .nodeid = cur_node, .seq = cur_seq };
		if (!strcmp(next_tok(), "bad")) ring.seq += 1000;
		printf("%s %s\n", echo, errname(votequorum_qdevice_poll(vh[s], n, cast, ring)));
	} else if (!strcmp(op, "vqmw")) {
		const char *n = name_arg(0, next_tok());
		printf("%s %s\n", echo, errname(votequorum_qdevice_master_wins(vh[s], n, (unsigned)strtoul(next_tok(), NULL, 10))));
	} else {
		printf("%s unknown\n", echo);
	}
}

int main(void)
{
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		snprintf(echo, sizeof echo, "%s", line);
		run();
		if (!strcmp(line, "end")) fflush(stdout);
	}
	return 0;
}
