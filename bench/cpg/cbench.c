/*
 * C side of bench/cpg: libcpg on the same daemon (or mock) as tsbench.mjs.
 *   cbench tput SIZE N W  join "cpgbench", mcast W unmeasured messages and wait for them, then
 *                         mcast N messages of SIZE bytes (CPG_TYPE_AGREED) as fast as flow
 *                         control allows (CS_ERR_TRY_AGAIN: send again at once) while a dispatch
 *                         thread counts their own deliveries, as corosync's test/cpgbench.c does;
 *                         print "elapsed_ns retries cpu_ns" (first send to the N-th delivery;
 *                         user + system time of both threads meanwhile)
 *   cbench tput SIZE N W BUSY_NS
 *                         the same, with BUSY_NS of busy CPU work before each cpg_mcast_joined of
 *                         the measured burst: libcpg made as costly per message as a sender that
 *                         does more work per message (README "Why a slow sender costs corosync")
 *   tput, environment:    CBENCH_THREADS=1 runs the same bursts on one thread, as the client's
 *                         event loop does: one poll loop on the cpg fd that sends while
 *                         cpg_mcast_joined accepts (CBENCH_BATCH=k: at most k sends between two
 *                         looks at the fd, as the client corks 32 a loop turn; 0, the default: no
 *                         limit) and dispatches CS_DISPATCH_ALL when the fd is readable; a
 *                         TRY_AGAIN ends the sends of that pass (counted, sent again at once after
 *                         a look at the fd)
 *   cbench lat SIZE N W   one message at a time, W unmeasured then N measured round trips (send →
 *                         own delivery), one thread polling the cpg fd (the cheapest wait libcpg
 *                         offers); print "p50_ns p99_ns"
 *   lat, environment:     CBENCH_WAIT=epoll waits in epoll_wait on an epoll set holding the cpg fd
 *                         (as an event loop does) instead of poll; CBENCH_FLIP=K also wakes one
 *                         of two threads of its own every K round trips (ab.mjs CWAITS)
 * Every delivery is checked: from this process, SIZE bytes, its 32-bit sequence number at offset 0
 * equal to the count so far (total order, nothing lost). Exit codes name what failed.
 */
#include <corosync/cpg.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* user + system time of the whole process (both threads) */
static uint64_t cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

static cpg_handle_t handle;
static unsigned int local_nodeid;
static size_t msg_size;
static uint32_t delivered, target;
static uint64_t last_ns;
static int joined;
static int threaded;
static sem_t sem_joined, sem_done;

static void die(int code, const char *what, int res)
{
	fprintf(stderr, "cbench: %s failed: %d\n", what, res);
	exit(code);
}

static void deliver_fn(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
		       void *msg, size_t len)
{
	uint32_t seq;
	if (nodeid != local_nodeid || pid != (uint32_t)getpid()) return;
	if (len != msg_size) die(20, "delivery size", (int)len);
	memcpy(&seq, msg, sizeof seq);
	if (seq != delivered) die(21, "delivery order", (int)seq);
	delivered++;
	if (delivered == target) {
		last_ns = now_ns();
		if (threaded) sem_post(&sem_done);
	}
}

static void confchg_fn(cpg_handle_t h, const struct cpg_name *group,
		       const struct cpg_address *members, size_t n_members,
		       const struct cpg_address *left, size_t n_left,
		       const struct cpg_address *join, size_t n_join)
{
	for (size_t i = 0; i < n_join; i++) {
		if (join[i].nodeid == local_nodeid && join[i].pid == (uint32_t)getpid() && !joined) {
			joined = 1;
			if (threaded) sem_post(&sem_joined);
		}
	}
}

static cpg_callbacks_t callbacks = { .cpg_deliver_fn = deliver_fn, .cpg_confchg_fn = confchg_fn };

static volatile int finishing;

static void *dispatch_thread(void *arg)
{
	cs_error_t res = cpg_dispatch(handle, CS_DISPATCH_BLOCKING);
	/* Before cpg_finalize, a return means the connection is gone: the main thread would wait
	 * for deliveries forever. */
	if (!finishing) die(8, "cpg_dispatch (dispatch thread)", res);
	return NULL;
}

/* CBENCH_WAIT=epoll: the single-threaded wait sleeps in epoll_wait on an epoll set holding the
 * cpg fd (as an event loop such as libuv's does) instead of poll(). */
static int epfd = -1;

static int wait_readable(int fd)
{
	if (epfd < 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		return poll(&p, 1, 60000);
	}
	struct epoll_event ev;
	return epoll_wait(epfd, &ev, 1, 60000);
}

/* Single-threaded wait: poll the fd and dispatch until *flag is set (or *count reaches want). */
static void pump_until(volatile int *flag, volatile uint32_t *count, uint32_t want)
{
	int fd;
	cpg_fd_get(handle, &fd);
	while (flag ? !*flag : *count < want) {
		if (wait_readable(fd) <= 0) die(30, "poll (nothing delivered in 60 s)", errno);
		cs_error_t res = cpg_dispatch(handle, CS_DISPATCH_ALL);
		if (res != CS_OK) die(31, "cpg_dispatch", res);
	}
}

/* CBENCH_FLIP=k: every k-th round trip the lat loop also wakes one of two threads of its own that
 * do nothing else (sem_post), the other one each time, as a runtime's main thread wakes its helper
 * threads. Each such wake-up changes the CFS task the loop's thread last woke: the scheduler's
 * wakee_flips, which wake_wide() weighs (corosync's threads, SCHED_RR, do not count there). */
static sem_t sem_flip[2];

static void *flip_thread(void *arg)
{
	for (;;) sem_wait(arg);
	return NULL;
}

static char *data;
static uint64_t busy_ns;

/* BUSY_NS of CPU work: a loop on the clock, never a sleep (the thread must stay runnable). */
static void busy(void)
{
	for (uint64_t t0 = now_ns(); now_ns() - t0 < busy_ns;)
		;
}

static cs_error_t send_one(uint32_t seq, unsigned long *retries)
{
	struct iovec iov = { .iov_base = data, .iov_len = msg_size };
	cs_error_t res;
	memcpy(data, &seq, sizeof seq);
	while ((res = cpg_mcast_joined(handle, CPG_TYPE_AGREED, &iov, 1)) == CS_ERR_TRY_AGAIN) (*retries)++;
	return res;
}

/* CBENCH_THREADS=1: `count` messages from one thread that also dispatches, until their last own
 * delivery. Between two passes over the fd it sends what cpg_mcast_joined accepts (at most `batch`
 * if nonzero); the fd is polled without waiting while messages are left to send. */
static void burst_single(uint32_t count, uint32_t batch, unsigned long *retries)
{
	int fd;
	uint32_t sent = 0;
	cpg_fd_get(handle, &fd);
	delivered = 0;
	target = count;
	while (delivered < count) {
		for (uint32_t k = 0; sent < count && (!batch || k < batch); k++) {
			memcpy(data, &sent, sizeof sent);
			struct iovec iov = { .iov_base = data, .iov_len = msg_size };
			cs_error_t res = cpg_mcast_joined(handle, CPG_TYPE_AGREED, &iov, 1);
			if (res == CS_ERR_TRY_AGAIN) {
				(*retries)++;
				break;
			}
			if (res != CS_OK) die(6, "cpg_mcast_joined", res);
			sent++;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, sent < count ? 0 : 60000);
		if (r < 0 || (r == 0 && sent == count)) die(30, "poll (nothing delivered in 60 s)", errno);
		if (r > 0) {
			cs_error_t res = cpg_dispatch(handle, CS_DISPATCH_ALL);
			if (res != CS_OK) die(31, "cpg_dispatch", res);
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct cpg_name group = { .value = "cpgbench", .length = 8 };
	pthread_t thread;
	unsigned long retries = 0;
	cs_error_t res;
	if (argc < 5) {
		fprintf(stderr, "usage: cbench tput|lat SIZE N W [BUSY_NS]\n");
		return 2;
	}
	msg_size = strtoul(argv[2], NULL, 10);
	uint32_t n = strtoul(argv[3], NULL, 10), w = strtoul(argv[4], NULL, 10);
	const char *threads = getenv("CBENCH_THREADS");
	threaded = !strcmp(argv[1], "tput") && !(threads && !strcmp(threads, "1"));
	uint32_t batch = getenv("CBENCH_BATCH") ? strtoul(getenv("CBENCH_BATCH"), NULL, 10) : 0;
	if (argc > 5) busy_ns = strtoull(argv[5], NULL, 10);
	if (msg_size < sizeof(uint32_t) || !(data = calloc(1, msg_size))) return 2;
	const char *wait = getenv("CBENCH_WAIT");
	if (wait && strcmp(wait, "poll") && strcmp(wait, "epoll")) {
		fprintf(stderr, "cbench: CBENCH_WAIT is poll or epoll, not %s\n", wait);
		return 2;
	}
	for (size_t i = sizeof(uint32_t); i < msg_size; i++) data[i] = (char)i;
	sem_init(&sem_joined, 0, 0);
	sem_init(&sem_done, 0, 0);
	if ((res = cpg_initialize(&handle, &callbacks)) != CS_OK) die(3, "cpg_initialize", res);
	if ((res = cpg_local_get(handle, &local_nodeid)) != CS_OK) die(4, "cpg_local_get", res);
	if (!threaded && wait && !strcmp(wait, "epoll")) {
		int fd;
		struct epoll_event ev = { .events = EPOLLIN };
		cpg_fd_get(handle, &fd);
		if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			die(9, "epoll", errno);
	}
	if (threaded) pthread_create(&thread, NULL, dispatch_thread, NULL);
	if ((res = cpg_join(handle, &group)) != CS_OK) die(5, "cpg_join", res);
	if (threaded) sem_wait(&sem_joined);
	else pump_until(&joined, NULL, 0);

	if (threaded) {
		/* Warm-up, then the measured burst; the dispatch thread is idle between the two. */
		target = w;
		for (uint32_t i = 0; i < w; i++)
			if ((res = send_one(i, &retries)) != CS_OK) die(6, "cpg_mcast_joined", res);
		if (w) sem_wait(&sem_done);
		delivered = 0;
		target = n;
		retries = 0;
		uint64_t t0 = now_ns(), c0 = cpu_ns();
		for (uint32_t i = 0; i < n; i++) {
			if (busy_ns) busy();
			if ((res = send_one(i, &retries)) != CS_OK) die(6, "cpg_mcast_joined", res);
		}
		sem_wait(&sem_done);
		printf("%" PRIu64 " %lu %" PRIu64 "\n", last_ns - t0, retries, cpu_ns() - c0);
	} else if (!strcmp(argv[1], "tput")) {
		if (w) burst_single(w, batch, &retries);
		retries = 0;
		uint64_t t0 = now_ns(), c0 = cpu_ns();
		burst_single(n, batch, &retries);
		printf("%" PRIu64 " %lu %" PRIu64 "\n", last_ns - t0, retries, cpu_ns() - c0);
	} else {
		uint64_t *rtt = calloc(n ? n : 1, sizeof *rtt);
		uint32_t flip = getenv("CBENCH_FLIP") ? strtoul(getenv("CBENCH_FLIP"), NULL, 10) : 0;
		for (int k = 0; flip && k < 2; k++) {
			sem_init(&sem_flip[k], 0, 0);
			pthread_create(&thread, NULL, flip_thread, &sem_flip[k]);
		}
		for (uint32_t i = 0; i < w + n; i++) {
			if (flip && i % flip == 0) sem_post(&sem_flip[i / flip % 2]);
			target = i + 1;
			uint64_t t0 = now_ns();
			if ((res = send_one(i, &retries)) != CS_OK) die(6, "cpg_mcast_joined", res);
			pump_until(NULL, &delivered, i + 1);
			if (i >= w) rtt[i - w] = last_ns - t0;
		}
		qsort(rtt, n, sizeof *rtt, cmp_u64);
		printf("%" PRIu64 " %" PRIu64 "\n", rtt[n / 2], rtt[(size_t)((n - 1) * 0.99)]);
		free(rtt);
	}
	fflush(stdout);
	/* As in cpgbench, the blocking dispatch thread is not joined: returning ends it. */
	finishing = 1;
	if ((res = cpg_finalize(handle)) != CS_OK) die(7, "cpg_finalize", res);
	free(data);
	return 0;
}
