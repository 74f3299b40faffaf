/* The C half of the generated cpg/cfg comparison (test/real-diff-cpg.test.ts): reads one command
 * per line on stdin, runs it through libcpg/libcfg and prints one line per command,
 * "<command> -> <cs_error_t> [outputs]", callbacks on their own lines before it. diff-cpg.mjs is
 * the same driver over @corosync-ts/client; both must print the same lines on the same daemon.
 *
 * Determinism: nothing printed depends on handles, pids ("self" alone; the label a `peer` command
 * gave when several drivers run, test/diff-cpg-multi.ts) or ring sequence numbers (printed
 * relative to the ring the probe saw first). What the daemon does later
 * than it answers (a join, leave or message goes through totem; a finalized member leaves when its
 * connection closes) is waited for before the next command, on a private probe handle of its own
 * group: a message of the probe comes back after everything this process caused before it. */
#include <corosync/cpg.h>
#include <corosync/cfg.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 4
#define WAIT_MS 20000

static cpg_handle_t h[SLOTS];
static cpg_iteration_handle_t it[SLOTS];
static corosync_cfg_handle_t f[SLOTS];
static pid_t self;
static int callbacks;
static int cur_slot;

static cpg_handle_t probe;
static struct cpg_name probe_name;
static uint64_t probe_seq;
static int probe_seen;
static int probe_totem_seen;

/* The other drivers of a multi-process run, by pid, and the label each prints as. */
/* a cluster run's six drivers and those started again in their place (test/diff-cpg-cluster.ts) */
#define PEERS 32
static uint32_t peer_pid[PEERS];
static char peer_label[PEERS][16];
static int peers;

static const char *tag(uint32_t pid) {
	for (int i = 0; i < peers; i++)
		if (peer_pid[i] == pid) return peer_label[i];
	return pid == (uint32_t)self ? "self" : pid == 0 ? "0" : "other";
}

static void pr_name(const struct cpg_name *n) {
	printf(" x");
	for (uint32_t i = 0; i < n->length && i < CPG_MAX_NAME_LENGTH; i++) printf("%02x", (unsigned char)n->value[i]);
}

static void pr_list(const char *what, const struct cpg_address *l, size_t n) {
	printf(" %s=", what);
	for (size_t i = 0; i < n; i++) printf("%s%u:%s:%u", i ? "," : "", l[i].nodeid, tag(l[i].pid), l[i].reason);
}

static uint32_t checksum(const unsigned char *p, size_t len) {
	uint32_t sum = 0;
	for (size_t i = 0; i < len; i++) sum = sum * 31 + p[i];
	return sum;
}

static void deliver(cpg_handle_t hh, const struct cpg_name *g, uint32_t nodeid, uint32_t pid, void *msg, size_t len) {
	printf("  %d deliver", cur_slot);
	pr_name(g);
	printf(" node=%u pid=%s len=%zu sum=%u\n", nodeid, tag(pid), len, checksum(msg, len));
	callbacks++;
}

static void confchg(cpg_handle_t hh, const struct cpg_name *g, const struct cpg_address *m, size_t nm,
		    const struct cpg_address *l, size_t nl, const struct cpg_address *j, size_t nj) {
	printf("  %d confchg", cur_slot);
	pr_name(g);
	pr_list("members", m, nm);
	pr_list("left", l, nl);
	pr_list("joined", j, nj);
	printf("\n");
	callbacks++;
}

static void totem(cpg_handle_t hh, struct cpg_ring_id ring, uint32_t n, const uint32_t *list) {
	printf("  %d totem ring=%u+%lld members=", cur_slot, ring.nodeid, (long long)(ring.seq - probe_seq));
	for (uint32_t i = 0; i < n; i++) printf("%s%u", i ? "," : "", list[i]);
	printf("\n");
	callbacks++;
}

/* Other drivers' probes share the group: only this process's own message counts. */
static void probe_deliver(cpg_handle_t hh, const struct cpg_name *g, uint32_t nodeid, uint32_t pid, void *msg, size_t len) {
	if (pid == (uint32_t)self) probe_seen++;
}
static void probe_confchg(cpg_handle_t hh, const struct cpg_name *g, const struct cpg_address *m, size_t nm,
			  const struct cpg_address *l, size_t nl, const struct cpg_address *j, size_t nj) {
}
static void probe_totem(cpg_handle_t hh, struct cpg_ring_id ring, uint32_t n, const uint32_t *list) {
	probe_seq = ring.seq;
	probe_totem_seen = 1;
}

static long long now_ms(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Dispatches one event of `hh` if one comes within the time left; 0 on a timeout. */
static int dispatch_one_within(cpg_handle_t hh, long long deadline, cs_error_t *e) {
	int fd;
	if (cpg_fd_get(hh, &fd) != CS_OK) {
		*e = cpg_dispatch(hh, CS_DISPATCH_ONE);
		return 1;
	}
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long long left = deadline - now_ms();
	if (left < 0 || poll(&p, 1, (int)left) <= 0) return 0;
	*e = cpg_dispatch(hh, CS_DISPATCH_ONE);
	return 1;
}

static int cfg_dispatch_one_within(corosync_cfg_handle_t hh, long long deadline, cs_error_t *e) {
	int fd;
	if (corosync_cfg_fd_get(hh, &fd) != CS_OK) {
		*e = corosync_cfg_dispatch(hh, CS_DISPATCH_ONE);
		return 1;
	}
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long long left = deadline - now_ms();
	if (left < 0 || poll(&p, 1, (int)left) <= 0) return 0;
	*e = corosync_cfg_dispatch(hh, CS_DISPATCH_ONE);
	return 1;
}

/* Everything this process caused before now has been delivered once the probe's own message is. */
static void barrier(void) {
	struct iovec v = { .iov_base = "b", .iov_len = 1 };
	if (cpg_mcast_joined(probe, CPG_TYPE_AGREED, &v, 1) != CS_OK) { printf("probe mcast failed\n"); exit(2); }
	long long deadline = now_ms() + WAIT_MS;
	probe_seen = 0;
	while (probe_seen < 1) {
		cs_error_t e;
		if (!dispatch_one_within(probe, deadline, &e) || e != CS_OK) { printf("probe lost its message\n"); exit(2); }
	}
}

static int hexval(int c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

/* "-" is NULL; "x<hex>" a name of that many bytes (up to 129: the length field says so, the
 * value holds the first 128). */
static struct cpg_name *parse_name(const char *s, struct cpg_name *n) {
	if (strcmp(s, "-") == 0) return NULL;
	memset(n, 0, sizeof *n);
	if (s[0] != 'x') { printf("bad name %s\n", s); exit(2); }
	size_t len = 0;
	for (const char *p = s + 1; p[0] && p[1]; p += 2) {
		if (len < CPG_MAX_NAME_LENGTH) n->value[len] = (char)(hexval(p[0]) * 16 + hexval(p[1]));
		len++;
	}
	n->length = len;
	return n;
}

static int cpg_in_list(const struct cpg_name *g) {
	struct cpg_address m[CPG_MEMBERS_MAX * 3];
	int count = CPG_MEMBERS_MAX * 3;
	if (cpg_membership_get(probe, (struct cpg_name *)g, m, &count) != CS_OK) return 1;
	for (int i = 0; i < count; i++)
		if (m[i].pid == (uint32_t)self) return 1;
	return 0;
}

/* What each slot joined (its connection leaves that group's member list when it closes). */
static struct cpg_name joined[SLOTS];
static int joined_state[SLOTS]; /* 0 none, 1 joined, 2 left */

static const char *dispatch_mode(const char *m, cs_dispatch_flags_t *fl) {
	if (strcmp(m, "one") == 0) *fl = CS_DISPATCH_ONE;
	else if (strcmp(m, "all") == 0) *fl = CS_DISPATCH_ALL;
	else if (strcmp(m, "nb") == 0) *fl = CS_DISPATCH_ONE_NONBLOCKING;
	else if (strcmp(m, "blocking") == 0) *fl = CS_DISPATCH_BLOCKING;
	else { printf("bad mode %s\n", m); exit(2); }
	return m;
}

static void shutdown_cb(corosync_cfg_handle_t hh, corosync_cfg_shutdown_flags_t flags) {
	printf("  %d shutdown flags=%d\n", cur_slot, flags);
	callbacks++;
}

/* Zero-copy buffers by number; a buffer is used only while libcpg's use of it is defined
 * (the generator never frees one twice nor uses one after its handle is finalized). */
#define ZBUFS 4
static void *zb[ZBUFS];

static unsigned char *payload(size_t len, size_t total, size_t off) {
	unsigned char *p = malloc(len ? len : 1);
	for (size_t i = 0; i < len; i++) p[i] = (unsigned char)((off + i) * 31 + total);
	return p;
}

int main(void) {
	self = getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);
	cpg_model_v1_data_t pm = { .model = CPG_MODEL_V1, .cpg_deliver_fn = probe_deliver, .cpg_confchg_fn = probe_confchg,
				   .cpg_totem_confchg_fn = probe_totem, .flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF };
	if (cpg_model_initialize(&probe, CPG_MODEL_V1, (cpg_model_data_t *)&pm, NULL) != CS_OK) { printf("probe init failed\n"); return 2; }
	parse_name("x646966666370672d70726f6265", &probe_name); /* "diffcpg-probe" */
	if (cpg_join(probe, &probe_name) != CS_OK) { printf("probe join failed\n"); return 2; }
	long long deadline = now_ms() + WAIT_MS;
	while (!probe_totem_seen) { /* it follows the confchg of its own join */
		cs_error_t e;
		if (!dispatch_one_within(probe, deadline, &e) || e != CS_OK) { printf("probe join not seen\n"); return 2; }
	}

	char line[4096];
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0]) continue;
		char cmd[32], a[1024], b[1024], c[1024], d[1024];
		a[0] = b[0] = c[0] = d[0] = 0;
		int n = sscanf(line, "%31s %1023s %1023s %1023s %1023s", cmd, a, b, c, d);
		if (n < 1) continue;
		int s = atoi(a);
		if (s < 0 || s >= SLOTS) s = 0;
		cur_slot = s;
		cs_error_t e = CS_OK;
		char out[2048];
		out[0] = 0;
		int sync = 0;
		struct cpg_name name;
		if (strcmp(cmd, "init") == 0) {
			cpg_callbacks_t cb = { .cpg_deliver_fn = deliver, .cpg_confchg_fn = confchg };
			e = cpg_initialize(&h[s], &cb);
		} else if (strcmp(cmd, "model") == 0) {
			cpg_model_v1_data_t md = { .model = CPG_MODEL_V1, .cpg_deliver_fn = deliver, .cpg_confchg_fn = confchg,
						   .cpg_totem_confchg_fn = atoi(d) ? totem : NULL, .flags = (unsigned)atoi(c) };
			e = cpg_model_initialize(&h[s], atoi(b), (cpg_model_data_t *)&md, NULL);
		} else if (strcmp(cmd, "join") == 0) {
			e = cpg_join(h[s], parse_name(b, &name));
			if (e == CS_OK) { joined[s] = name; joined_state[s] = 1; }
			sync = 1;
		} else if (strcmp(cmd, "leave") == 0) {
			e = cpg_leave(h[s], parse_name(b, &name));
			if (e == CS_OK) joined_state[s] = 2;
			sync = 1;
		} else if (strcmp(cmd, "mcast") == 0) {
			struct iovec v[16];
			int nv = 0;
			size_t total = 0, sizes[16];
			for (char *p = c; *p && nv < 16; nv++) {
				sizes[nv] = strtoul(p, &p, 10);
				total += sizes[nv];
				if (*p == ',') p++;
			}
			size_t off = 0;
			for (int i = 0; i < nv; i++) {
				v[i].iov_base = payload(sizes[i], total, off);
				v[i].iov_len = sizes[i];
				off += sizes[i];
			}
			e = cpg_mcast_joined(h[s], atoi(b), v, nv);
			for (int i = 0; i < nv; i++) free(v[i].iov_base);
			sync = 1;
		} else if (strcmp(cmd, "members") == 0) {
			struct cpg_address m[CPG_MEMBERS_MAX * 3];
			int count = CPG_MEMBERS_MAX * 3;
			e = cpg_membership_get(h[s], parse_name(b, &name), m, &count);
			if (e == CS_OK) {
				int k = snprintf(out, sizeof out, " n=%d members=", count);
				for (int i = 0; i < count && k < (int)sizeof out - 64; i++)
					k += snprintf(out + k, sizeof out - k, "%s%u:%s:%u", i ? "," : "", m[i].nodeid, tag(m[i].pid), m[i].reason);
			}
		} else if (strcmp(cmd, "local") == 0) {
			unsigned int id = 0;
			e = cpg_local_get(h[s], &id);
			if (e == CS_OK) snprintf(out, sizeof out, " %u", id);
		} else if (strcmp(cmd, "maxsize") == 0) {
			uint32_t size = 0;
			e = cpg_max_atomic_msgsize_get(h[s], &size);
			if (e == CS_OK) snprintf(out, sizeof out, " %u", size);
		} else if (strcmp(cmd, "fcstate") == 0) {
			cpg_flow_control_state_t fc = 7;
			e = cpg_flow_control_state_get(h[s], &fc);
			if (e == CS_OK) snprintf(out, sizeof out, " %d", fc);
		} else if (strcmp(cmd, "iinit") == 0) {
			int i = atoi(b) % SLOTS;
			e = cpg_iteration_initialize(h[s], atoi(c), parse_name(d, &name), &it[i]);
		} else if (strcmp(cmd, "inext") == 0) {
			struct cpg_iteration_description_t desc;
			e = cpg_iteration_next(it[s], &desc);
			if (e == CS_OK) {
				int k = snprintf(out, sizeof out, " x");
				for (uint32_t i = 0; i < desc.group.length && i < CPG_MAX_NAME_LENGTH; i++)
					k += snprintf(out + k, sizeof out - k, "%02x", (unsigned char)desc.group.value[i]);
				snprintf(out + k, sizeof out - k, " node=%u pid=%s", desc.nodeid, tag(desc.pid));
			}
		} else if (strcmp(cmd, "ifin") == 0) {
			e = cpg_iteration_finalize(it[s]);
		} else if (strcmp(cmd, "dispatch") == 0) {
			cs_dispatch_flags_t fl;
			dispatch_mode(b, &fl);
			callbacks = 0;
			fflush(stdout);
			e = cpg_dispatch(h[s], fl);
			snprintf(out, sizeof out, " callbacks=%d", callbacks);
		} else if (strcmp(cmd, "until") == 0) {
			int want = atoi(b);
			callbacks = 0;
			deadline = now_ms() + WAIT_MS;
			while (callbacks < want) {
				if (!dispatch_one_within(h[s], deadline, &e)) { snprintf(out, sizeof out, " TIMEOUT callbacks=%d", callbacks); break; }
				if (e != CS_OK) break;
			}
		} else if (strcmp(cmd, "fin") == 0) {
			e = cpg_finalize(h[s]);
			if (e == CS_OK) {
				/* its member entry goes when corosync sees the connection close (not after a
				 * leave, nor for the empty name) */
				if (joined_state[s] == 1 && joined[s].length > 0) {
					deadline = now_ms() + WAIT_MS;
					while (cpg_in_list(&joined[s]))
						if (now_ms() > deadline) { snprintf(out, sizeof out, " STILL-LISTED"); break; }
						else usleep(1000);
				}
				joined_state[s] = 0;
			}
			sync = 1;
		} else if (strcmp(cmd, "zalloc") == 0) {
			int k = atoi(b) % ZBUFS;
			size_t size = strtoul(c, NULL, 10);
			void *buf = NULL;
			e = cpg_zcb_alloc(h[s], size, &buf);
			if (e == CS_OK) {
				zb[k] = buf;
				for (size_t i = 0; i < size; i++) ((unsigned char *)buf)[i] = (unsigned char)(i * 7 + k);
			}
		} else if (strcmp(cmd, "zmcast") == 0) {
			int k = atoi(b) % ZBUFS;
			e = cpg_zcb_mcast_joined(h[s], atoi(c), zb[k], strtoul(d, NULL, 10));
			sync = 1;
		} else if (strcmp(cmd, "zfree") == 0) {
			int k = atoi(b) % ZBUFS;
			e = cpg_zcb_free(h[s], zb[k]);
		} else if (strcmp(cmd, "peer") == 0) {
			if (peers < PEERS) {
				snprintf(peer_label[peers], sizeof peer_label[peers], "%s", a);
				peer_pid[peers++] = strtoul(b, NULL, 10);
			}
		} else if (strcmp(cmd, "whoami") == 0) {
			snprintf(out, sizeof out, " %d", (int)self);
		} else if (strcmp(cmd, "barrier") == 0) {
			sync = 1;
		} else if (strcmp(cmd, "cinit") == 0) {
			corosync_cfg_callbacks_t cb = { .corosync_cfg_shutdown_callback = shutdown_cb };
			e = corosync_cfg_initialize(&f[s], &cb);
		} else if (strcmp(cmd, "clocal") == 0) {
			unsigned int id = 0;
			e = corosync_cfg_local_get(f[s], &id);
			if (e == CS_OK) snprintf(out, sizeof out, " %u", id);
		} else if (strcmp(cmd, "cring") == 0) {
			char **names = NULL, **status = NULL;
			unsigned int count = 0;
			e = corosync_cfg_ring_status_get(f[s], &names, &status, &count);
			if (e == CS_OK) {
				int k = snprintf(out, sizeof out, " %u", count);
				for (unsigned int i = 0; i < count; i++) {
					k += snprintf(out + k, sizeof out - k, " [%s|%s]", names[i], status[i]);
					free(names[i]);
					free(status[i]);
				}
				free(names);
				free(status);
			}
		} else if (strcmp(cmd, "cnode") == 0) {
			struct corosync_cfg_node_status_v1 st;
			memset(&st, 0, sizeof st);
			e = corosync_cfg_node_status_get(f[s], strtoul(b, NULL, 10), atoi(c), &st);
			if (e == CS_OK) {
				int k = snprintf(out, sizeof out, " v=%u node=%u reachable=%u remote=%u external=%u onwire=%u/%u/%u", st.version, st.nodeid,
						 st.reachable, st.remote, st.external, st.onwire_min, st.onwire_max, st.onwire_ver);
				for (int i = 0; i < CFG_MAX_LINKS; i++) {
					struct corosync_knet_link_status_v1 *l = &st.link_status[i];
					if (l->enabled || l->connected || l->mtu)
						k += snprintf(out + k, sizeof out - k, " link%d=%u/%u/%u/%u/%s/%s", i, l->enabled, l->connected, l->dynconnected,
							      l->mtu, l->src_ipaddr, l->dst_ipaddr);
				}
			}
		} else if (strcmp(cmd, "caddrs") == 0) {
			corosync_cfg_node_address_t addr[8];
			int num = -1, max = atoi(c);
			if (max > 8) max = 8;
			e = corosync_cfg_get_node_addrs(f[s], strtoul(b, NULL, 10), max, &num, addr);
			if (e == CS_OK) {
				/* the entries filled: *num is the node's whole count even above max, which the
				 * TypeScript call (an array of at most max entries) does not report */
				int k = snprintf(out, sizeof out, " n=%d", num < max ? num : max);
				for (int i = 0; i < num && i < max; i++) {
					char buf[INET6_ADDRSTRLEN] = "";
					struct sockaddr *sa = (struct sockaddr *)addr[i].address;
					int v4 = addr[i].address_length == sizeof(struct sockaddr_in);
					inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? (void *)&((struct sockaddr_in *)sa)->sin_addr : (void *)&((struct sockaddr_in6 *)sa)->sin6_addr,
						  buf, sizeof buf);
					k += snprintf(out + k, sizeof out - k, " %d/%d/%s", addr[i].address_length, sa->sa_family, buf);
				}
			}
		} else if (strcmp(cmd, "ctrack") == 0) {
			e = corosync_cfg_trackstart(f[s], (uint8_t)atoi(b));
		} else if (strcmp(cmd, "cuntrack") == 0) {
			e = corosync_cfg_trackstop(f[s]);
		} else if (strcmp(cmd, "creload") == 0) {
			e = corosync_cfg_reload_config(f[s]);
		} else if (strcmp(cmd, "creopen") == 0) {
			e = corosync_cfg_reopen_log_files(f[s]);
		} else if (strcmp(cmd, "creply") == 0) {
			e = corosync_cfg_replyto_shutdown(f[s], atoi(b));
		} else if (strcmp(cmd, "cshut") == 0) {
			e = corosync_cfg_try_shutdown(f[s], atoi(b));
		} else if (strcmp(cmd, "ckill") == 0) {
			/* a reason of that many bytes */
			char reason[512];
			size_t len = strtoul(c, NULL, 10);
			if (len >= sizeof reason) len = sizeof reason - 1;
			memset(reason, 'r', len);
			reason[len] = 0;
			e = corosync_cfg_kill_node(f[s], strtoul(b, NULL, 10), reason);
		} else if (strcmp(cmd, "cuntil") == 0) {
			int want = atoi(b);
			callbacks = 0;
			deadline = now_ms() + WAIT_MS;
			while (callbacks < want) {
				if (!cfg_dispatch_one_within(f[s], deadline, &e)) { snprintf(out, sizeof out, " TIMEOUT callbacks=%d", callbacks); break; }
				if (e != CS_OK) break;
			}
		} else if (strcmp(cmd, "cdispatch") == 0) {
			cs_dispatch_flags_t fl;
			dispatch_mode(b, &fl);
			callbacks = 0;
			e = corosync_cfg_dispatch(f[s], fl);
			snprintf(out, sizeof out, " callbacks=%d", callbacks);
		} else if (strcmp(cmd, "cfin") == 0) {
			e = corosync_cfg_finalize(f[s]);
		} else {
			printf("unknown command %s\n", cmd);
			return 2;
		}
		if (sync) barrier();
		printf("%s -> %d%s\n", line, e, out);
	}
	printf("end\n");
	fflush(stdout);
	return 0;
}
