// Native half of @corosync-ts/ipc: only what Node itself lacks.
//   * AF_UNIX stream/datagram sockets on 110-byte abstract addresses (libqb pads the
//     name with zeros and always passes sizeof(struct sockaddr_un)); libuv's own
//     handling of abstract names has changed between releases, so we never use it.
//   * SO_PEERCRED / SCM_CREDENTIALS.
//   * uv_poll watchers so those fds live on Node's event loop.
//   * mmap (including the libqb double mapping of a ring's data file), fallocate.
//   * glibc process-shared semaphores (sem_post does the FUTEX_WAKE the libqb peer
//     sleeps on), a bounded wait for a due reply on the loop thread, and a per-ring waiter
//     thread so an unbounded sem_timedwait never runs on the loop.
// Every syscall wrapper returns a negative errno instead of throwing: the protocol
// logic, and therefore the error policy, lives in TypeScript.
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <uv.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHECK(call)                                                           \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      napi_throw_error(env, NULL, "corosync-ts ipc native: " #call " failed"); \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

// A throwing JS handler must surface as an uncaught exception, not vanish.
static void rethrow_pending(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
}

// The longest sleep of a wait on the loop thread (pollWait, waiterWaitTake): wait.ts WAIT_NS.
#define LOOP_WAIT_MAX_NS 5000000

// The int32 form where it fits (every status, count and errno): it makes the Smi directly, where
// napi_create_int64 goes through a double (~50 instructions a call, two calls a shm GET).
static napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  if (v >= INT32_MIN && v <= INT32_MAX) napi_create_int32(env, (int32_t)v, &r);
  else napi_create_int64(env, v, &r);
  return r;
}

// *argc: in, how many argv holds; out, how many the caller passed (argv's rest is undefined).
static int get_args_min(napi_env env, napi_callback_info info, size_t min, size_t *argc, napi_value *argv) {
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok) return -1;
  if (*argc < min) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: missing argument");
    return -1;
  }
  return 0;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  return get_args_min(env, info, want, &argc, argv);
}

static int arg_int(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected a number");
    return -1;
  }
  return 0;
}

// A byte length or offset from JS: any integral number in [0, 2^53) (full off_t /
// size_t range that a double can hold). Anything else (negative, fractional, NaN,
// huge) is -EINVAL for the caller to return, never a silent int32 wrap-around.
static int arg_len(napi_env env, napi_value v, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected a number");
    return -1;
  }
  if (!(d >= 0 && d < 9007199254740992.0) || d != (double)(int64_t)d) return -EINVAL;
  *out = (int64_t)d;
  return 0;
}

// The typed array v of the given type (its element count in *len), or a TypeError naming it.
static int arg_typed(napi_env env, napi_value v, napi_typedarray_type want, const char *name, void **data, size_t *len) {
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  // napi_get_typedarray_info refuses anything but a typed array (napi_invalid_arg): no
  // napi_is_typedarray first.
  if (napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) != napi_ok || t != want) {
    char msg[80];
    snprintf(msg, sizeof msg, "corosync-ts ipc native: expected %s", name);
    napi_throw_type_error(env, NULL, msg);
    return -1;
  }
  return 0;
}

static int arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type t;
  size_t n, off;
  napi_value ab;
  void *p;
  // Fails (napi_invalid_arg) for anything but a typed array, which then may be an ArrayBuffer.
  if (napi_get_typedarray_info(env, v, &t, &n, &p, &ab, &off) == napi_ok) {
    if (t != napi_uint8_array) goto bad;
    *data = p;
    *len = n;
    return 0;
  }
  bool is_ab = false;
  napi_is_arraybuffer(env, v, &is_ab);
  if (is_ab) {
    if (napi_get_arraybuffer_info(env, v, &p, len) != napi_ok) return -1;
    *data = p;
    return 0;
  }
bad:
  napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected a Uint8Array");
  return -1;
}

// libqb: snprintf(sun_path + 1, sizeof(sun_path) - 1, "%s", name) and addrlen 110.
static int abstract_addr(napi_env env, napi_value v, struct sockaddr_un *sa) {
  char name[sizeof(sa->sun_path)];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, name, sizeof(name), &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected a socket name");
    return -1;
  }
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "%s", name);
  return 0;
}

// ---------------------------------------------------------------- fd ownership
// Every fd the addon hands to JS (socket, accept, openShm) belongs to the env that asked for
// it, and is closed with that env if JS has not closed it by then: a worker_threads Worker
// that ends with a connection open would otherwise leave its sockets open for the life of the
// process, and the server would never see the client go. The table is process-wide (any JS
// thread opens and closes) and an entry is cleared before its fd is closed, under the lock,
// so each fd is closed once: by JS or by the env's teardown, never both, and never a number
// the kernel has since given to someone else.
typedef struct {
  napi_env env;  // NULL: not ours
  int sock;      // shut down before the close at teardown, as a clean close does
} fd_slot_t;
static fd_slot_t *fd_slots;
static size_t fd_cap;
static pthread_mutex_t fd_mu = PTHREAD_MUTEX_INITIALIZER;

// Records fd (>= 0) as env's; a negative errno passes through. Without room to record it the
// fd is closed and -ENOMEM returned: an fd nobody would release is not handed out.
static int fd_adopt(napi_env env, int fd, int sock) {
  if (fd < 0) return fd;
  pthread_mutex_lock(&fd_mu);
  if ((size_t)fd >= fd_cap) {
    size_t cap = fd_cap ? fd_cap : 64;
    while (cap <= (size_t)fd) cap *= 2;
    fd_slot_t *n = realloc(fd_slots, cap * sizeof(*n));
    if (!n) {
      pthread_mutex_unlock(&fd_mu);
      close(fd);
      return -ENOMEM;
    }
    memset(n + fd_cap, 0, (cap - fd_cap) * sizeof(*n));
    fd_slots = n;
    fd_cap = cap;
  }
  fd_slots[fd].env = env;
  fd_slots[fd].sock = sock;
  pthread_mutex_unlock(&fd_mu);
  return fd;
}

// Registered when an env loads the addon, before any poller or waiter of that env: hooks run
// LIFO, so by now every waiter thread is joined and every uv_poll handle is closed (which
// takes its fd out of epoll at once), and the fds can go, after the env's /dev/shm files.
static void shm_env_cleanup(napi_env env);

static void fds_env_cleanup(void *arg) {
  napi_env env = *(napi_env *)arg;
  free(arg);
  shm_env_cleanup(env);
  pthread_mutex_lock(&fd_mu);
  for (size_t fd = 0; fd < fd_cap; fd++) {
    if (fd_slots[fd].env != env) continue;
    fd_slots[fd].env = NULL;
    if (fd_slots[fd].sock) shutdown((int)fd, SHUT_RDWR);
    close((int)fd);
  }
  pthread_mutex_unlock(&fd_mu);
}

// socket(kind): 0 = SOCK_STREAM, 1 = SOCK_DGRAM; non-blocking, close-on-exec.
static napi_value n_socket(napi_env env, napi_callback_info info) {
  napi_value a[1];
  int32_t kind;
  if (get_args(env, info, 1, a) || arg_int(env, a[0], &kind)) return NULL;
  int fd = socket(AF_UNIX, (kind ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return make_int(env, fd_adopt(env, fd < 0 ? -errno : fd, 1));
}

static napi_value n_bind(napi_env env, napi_callback_info info) {
  napi_value a[2];
  int32_t fd;
  struct sockaddr_un sa;
  if (get_args(env, info, 2, a) || arg_int(env, a[0], &fd) || abstract_addr(env, a[1], &sa)) return NULL;
  int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
  return make_int(env, r < 0 ? -errno : 0);
}

static napi_value n_connect(napi_env env, napi_callback_info info) {
  napi_value a[2];
  int32_t fd;
  struct sockaddr_un sa;
  if (get_args(env, info, 2, a) || arg_int(env, a[0], &fd) || abstract_addr(env, a[1], &sa)) return NULL;
  int r;
  do r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  while (r < 0 && errno == EINTR);
  return make_int(env, r < 0 ? -errno : 0);
}

static napi_value n_listen(napi_env env, napi_callback_info info) {
  napi_value a[2];
  int32_t fd, backlog;
  if (get_args(env, info, 2, a) || arg_int(env, a[0], &fd) || arg_int(env, a[1], &backlog)) return NULL;
  return make_int(env, listen(fd, backlog) < 0 ? -errno : 0);
}

static napi_value n_accept(napi_env env, napi_callback_info info) {
  napi_value a[1];
  int32_t fd;
  if (get_args(env, info, 1, a) || arg_int(env, a[0], &fd)) return NULL;
  int r;
  do r = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (r < 0 && errno == EINTR);
  return make_int(env, fd_adopt(env, r < 0 ? -errno : r, 1));
}

// close(fd) -> 0 or -errno. -EBADF, closing nothing, for an fd another env owns: its number
// in this env's hands is stale (closed twice), and the fd now is someone else's.
static napi_value n_close(napi_env env, napi_callback_info info) {
  napi_value a[1];
  int32_t fd;
  if (get_args(env, info, 1, a) || arg_int(env, a[0], &fd)) return NULL;
  if (fd < 0) return make_int(env, -EBADF);
  pthread_mutex_lock(&fd_mu);
  if ((size_t)fd < fd_cap && fd_slots[fd].env) {
    if (fd_slots[fd].env != env) {
      pthread_mutex_unlock(&fd_mu);
      return make_int(env, -EBADF);
    }
    fd_slots[fd].env = NULL;
  }
  pthread_mutex_unlock(&fd_mu);
  return make_int(env, close(fd) < 0 ? -errno : 0);
}

static napi_value n_shutdown(napi_env env, napi_callback_info info) {
  napi_value a[1];
  int32_t fd;
  if (get_args(env, info, 1, a) || arg_int(env, a[0], &fd)) return NULL;
  return make_int(env, shutdown(fd, SHUT_RDWR) < 0 ? -errno : 0);
}

static napi_value n_set_passcred(napi_env env, napi_callback_info info) {
  napi_value a[2];
  int32_t fd, on;
  if (get_args(env, info, 2, a) || arg_int(env, a[0], &fd) || arg_int(env, a[1], &on)) return NULL;
  return make_int(env, setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0 ? -errno : 0);
}

// Like libqb's set_sock_size(): only ever grow SO_SNDBUF / SO_RCVBUF towards `size`.
static napi_value n_set_bufsize(napi_env env, napi_callback_info info) {
  napi_value a[2];
  int32_t fd, size;
  if (get_args(env, info, 2, a) || arg_int(env, a[0], &fd) || arg_int(env, a[1], &size)) return NULL;
  int opts[2] = {SO_SNDBUF, SO_RCVBUF};
  for (int i = 0; i < 2; i++) {
    int cur = 0;
    socklen_t l = sizeof(cur);
    if (getsockopt(fd, SOL_SOCKET, opts[i], &cur, &l) < 0) return make_int(env, -errno);
    if (cur <= size && setsockopt(fd, SOL_SOCKET, opts[i], &size, sizeof(size)) < 0) return make_int(env, -errno);
  }
  return make_int(env, 0);
}

static napi_value cred_array(napi_env env, const struct ucred *c) {
  napi_value arr;
  napi_create_array_with_length(env, 3, &arr);
  napi_set_element(env, arr, 0, make_int(env, c->pid));
  napi_set_element(env, arr, 1, make_int(env, c->uid));
  napi_set_element(env, arr, 2, make_int(env, c->gid));
  return arr;
}

// peerCred(fd) -> [pid, uid, gid] (credentials at connect time) or -errno.
static napi_value n_peer_cred(napi_env env, napi_callback_info info) {
  napi_value a[1];
  int32_t fd;
  if (get_args(env, info, 1, a) || arg_int(env, a[0], &fd)) return NULL;
  struct ucred c;
  socklen_t l = sizeof(c);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &l) < 0) return make_int(env, -errno);
  return cred_array(env, &c);
}

enum fd_io { FD_SEND, FD_RECV, FD_RECV_DGRAM };

// (fd, Uint8Array): one non-blocking send or recv on the whole array, retried on EINTR;
// returns the syscall's byte count or -errno.
static napi_value fd_bytes_io(napi_env env, napi_callback_info info, enum fd_io op) {
  napi_value a[2];
  int32_t fd;
  uint8_t *p;
  size_t n;
  if (get_args(env, info, 2, a) || arg_int(env, a[0], &fd) || arg_bytes(env, a[1], &p, &n)) return NULL;
  ssize_t r;
  do r = op == FD_SEND ? send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT)
                       : recv(fd, p, n, MSG_DONTWAIT | (op == FD_RECV_DGRAM ? MSG_TRUNC : 0));
  while (r < 0 && errno == EINTR);
  return make_int(env, r < 0 ? -errno : r);
}

// send(fd, bytes) -> bytes sent or -errno. Never blocks, never raises SIGPIPE.
static napi_value n_send(napi_env env, napi_callback_info info) {
  return fd_bytes_io(env, info, FD_SEND);
}

// sendv(fd, head, body) -> bytes sent or -errno: one datagram of head then body, gathered by the
// kernel (one sendmsg, two iovecs), as libqb's qb_ipcc_sendv: the caller never builds the frame
// whole. Never blocks, never raises SIGPIPE.
static napi_value n_sendv(napi_env env, napi_callback_info info) {
  napi_value a[3];
  int32_t fd;
  uint8_t *h, *b;
  size_t hn, bn;
  if (get_args(env, info, 3, a) || arg_int(env, a[0], &fd) || arg_bytes(env, a[1], &h, &hn) || arg_bytes(env, a[2], &b, &bn))
    return NULL;
  struct iovec iov[2] = {{.iov_base = h, .iov_len = hn}, {.iov_base = b, .iov_len = bn}};
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
  ssize_t r;
  do r = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  return make_int(env, r < 0 ? -errno : r);
}

#define SEND_BATCH 64

// sendBatch(fd, Uint8Array, from, to) -> how many datagrams went (> 0), else -errno of the
// first. bytes[from, to) holds frames back to back as outbox.ts packs them: a 32-bit length,
// the frame, padding to 4 bytes. One sendmmsg for up to SEND_BATCH of them: one syscall, and
// one wake-up of the reader, per batch instead of per frame. A datagram is sent whole or not.
static napi_value n_send_batch(napi_env env, napi_callback_info info) {
  napi_value a[4];
  int32_t fd, from, to;
  uint8_t *p;
  size_t n;
  if (get_args(env, info, 4, a) || arg_int(env, a[0], &fd) || arg_bytes(env, a[1], &p, &n) || arg_int(env, a[2], &from) ||
      arg_int(env, a[3], &to))
    return NULL;
  if (from < 0 || to < from || (size_t)to > n || (from & 3)) return make_int(env, -EINVAL);
  struct mmsghdr msgs[SEND_BATCH];
  struct iovec iov[SEND_BATCH];
  unsigned count = 0;
  for (size_t o = (size_t)from; o < (size_t)to && count < SEND_BATCH; count++) {
    if ((size_t)to - o < 4) return make_int(env, -EINVAL);
    uint32_t len;
    memcpy(&len, p + o, 4);
    if (len > (size_t)to - o - 4) return make_int(env, -EINVAL);
    iov[count] = (struct iovec){.iov_base = p + o + 4, .iov_len = len};
    msgs[count] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[count], .msg_iovlen = 1}};
    o += ((size_t)len + 7) & ~(size_t)3;
  }
  if (count == 0) return make_int(env, 0);
  int r;
  do r = sendmmsg(fd, msgs, count, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  return make_int(env, r < 0 ? -errno : r);
}

// recvDgramInto(fd, Uint8Array) -> length of the next datagram (which may exceed the
// buffer: it was then truncated, and the caller must treat that as a protocol error),
// or -errno. One syscall per datagram, into a buffer the caller reuses.
static napi_value n_recv_dgram_into(napi_env env, napi_callback_info info) {
  return fd_bytes_io(env, info, FD_RECV_DGRAM);
}

// recvInto(fd, Uint8Array) -> bytes read (0 = EOF on a stream) or -errno.
static napi_value n_recv_into(napi_env env, napi_callback_info info) {
  return fd_bytes_io(env, info, FD_RECV);
}

// recvCred(fd, Uint8Array) -> [bytes, pid, uid, gid] (pid -1 when no SCM_CREDENTIALS came) or -errno.
static napi_value n_recv_cred(napi_env env, napi_callback_info info) {
  napi_value a[2];
  int32_t fd;
  uint8_t *p;
  size_t n;
  if (get_args(env, info, 2, a) || arg_int(env, a[0], &fd) || arg_bytes(env, a[1], &p, &n)) return NULL;
  union {
    char buf[CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {p, n};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl.buf;
  mh.msg_controllen = sizeof(ctl.buf);
  ssize_t r;
  do r = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL | MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0) return make_int(env, -errno);
  struct ucred c = {-1, (uid_t)-1, (gid_t)-1};
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
        cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      memcpy(&c, CMSG_DATA(cm), sizeof(c));
      break;
    }
  }
  napi_value arr;
  napi_create_array_with_length(env, 4, &arr);
  napi_set_element(env, arr, 0, make_int(env, r));
  napi_set_element(env, arr, 1, make_int(env, c.pid));
  napi_set_element(env, arr, 2, make_int(env, (int32_t)c.uid));
  napi_set_element(env, arr, 3, make_int(env, (int32_t)c.gid));
  return arr;
}

// fallocate(fd, len) -> 0 or -errno; len is a full 64-bit length (-EINVAL if not one).
static napi_value n_fallocate(napi_env env, napi_callback_info info) {
  napi_value a[2];
  int32_t fd;
  int64_t len;
  if (get_args(env, info, 2, a) || arg_int(env, a[0], &fd)) return NULL;
  int e = arg_len(env, a[1], &len);
  if (e == -1) return NULL;
  if (e < 0 || len == 0) return make_int(env, -EINVAL);
  int r = posix_fallocate(fd, 0, (off_t)len);
  return make_int(env, -r);
}

// Clears what a refused N-API call left pending, for the caller's own answer (-ENOMEM, a TypeError).
static void clear_pending(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
}

// ---------------------------------------------------------------- handles
// The externals lent to JS, one kind per struct: a mapping's and a pinned buffer's `handle`, a
// ring writer, a semaphore waiter, a poller. Each is type-tagged (napi_type_tag_object, N-API 8)
// with its kind's own tag when made, and every function taking one checks that tag before it
// reads the pointer: a handle of another kind (or another addon's external) read as this kind's
// struct would be read past its end, through its pointers, even freed or unmapped through them.
// Except on the path of every request (handle_arg_hot): there the check is the struct's first
// word, which handle_new points at its kind's tag (see there why).
typedef enum { H_MAPPING, H_PINNED, H_RING_WRITER, H_WAITER, H_POLLER, H_KINDS } handle_kind_t;
static const napi_type_tag handle_tags[H_KINDS] = {
    {0x806e2dd252a445ecull, 0x90dfdf66fc4e9697ull},
    {0x2353a0c1e9e8479full, 0x8c253542af4562e0ull},
    {0x8537775144e84310ull, 0x9accf352c2a54503ull},
    {0xc0917a6610304c27ull, 0x899e8ce2697809c2ull},
    {0x36f95b69e25742f9ull, 0xbac17187f16788faull},
};
static const char *const handle_expected[H_KINDS] = {
    "corosync-ts ipc native: expected a mapping",
    "corosync-ts ipc native: expected a pinned buffer",
    "corosync-ts ipc native: expected a ring writer",
    "corosync-ts ipc native: expected a semaphore waiter",
    "corosync-ts ipc native: expected a poller",
};

// A new handle of `kind` for data, whose finalizer fin gets data once JS lets go of it. data is a
// struct whose first word is there for the kind (mapping_t, pinned_t, ring_writer_t, waiter_t:
// `kind`; poller_t: its uv handle's `data`, which libuv leaves to its user). 0, *out the handle;
// otherwise an error is thrown and: -1, nothing was made (fin never runs: the caller takes back
// what it had given the handle); -2, the external exists untagged (never accepted by any
// function) and fin runs when it is collected, as for any handle.
static int handle_new(napi_env env, void *data, napi_finalize fin, handle_kind_t kind, napi_value *out, const char *what) {
  const napi_type_tag *tag = &handle_tags[kind];
  memcpy(data, &tag, sizeof(tag));
  if (napi_create_external(env, data, fin, NULL, out) != napi_ok) {
    clear_pending(env);
    napi_throw_error(env, "ERR_CS_IPC_NATIVE", what);
    return -1;
  }
  if (napi_type_tag_object(env, *out, &handle_tags[kind]) != napi_ok) {
    clear_pending(env);
    napi_throw_error(env, "ERR_CS_IPC_NATIVE", what);
    return -2;
  }
  return 0;
}

// The struct behind v if v is a handle of `kind`; else NULL with a TypeError naming the kind.
static void *handle_arg(napi_env env, napi_value v, handle_kind_t kind) {
  bool ok = false;
  void *data = NULL;
  if (napi_check_object_type_tag(env, v, &handle_tags[kind], &ok) == napi_ok && ok &&
      napi_get_value_external(env, v, &data) == napi_ok && data)
    return data;
  // Checking undefined or null leaves the TypeError of their conversion to an object pending.
  clear_pending(env);
  napi_throw_type_error(env, NULL, handle_expected[kind]);
  return NULL;
}

// handle_arg for the functions of every request (ringWrite and waiterWaitTake per shm request,
// pollWait per socket one): the struct's first word instead of the N-API tag, which costs ~180
// instructions a call (callgrind, Node 20 and 24: the call's exception scope, then the tag's
// lookup), two per shm GET, where this is a load and a compare. It tells every handle of this
// addon from the others (each struct begins with that word), and JS values that are no external;
// unlike the tag, it reads the pointer of another addon's external, whose memory it does not
// know: these are the addon's own functions, which only this package's code calls.
static inline __attribute__((always_inline)) void *handle_arg_hot(napi_env env, napi_value v, handle_kind_t kind) {
  void *data = NULL;
  const napi_type_tag *tag = NULL;
  if (napi_get_value_external(env, v, &data) == napi_ok && data) memcpy(&tag, data, sizeof(tag));
  if (tag == &handle_tags[kind]) return data;
  clear_pending(env);
  napi_throw_type_error(env, NULL, handle_expected[kind]);
  return NULL;
}

// ---------------------------------------------------------------- mmap
// A mapping has two owners: the ArrayBuffer JS reads it through, and the `handle`
// external that munmap() is called with. Either may be finalized first (detaching an
// external ArrayBuffer runs its finalizer at once; at teardown the order is arbitrary),
// so the struct lives until both are gone (refs), and only one of them unmaps.
//
// Every live mapping is also listed for the SIGBUS handler below: a peer that
// truncates a file we mapped would otherwise kill the process on the next access.
typedef struct {
  const napi_type_tag *kind;  // handle_new
  void *base;
  size_t len;
  int unmapped;
  int refs;
  int64_t slot;  // index in the SIGBUS registry, -1 once removed
} mapping_t;

// ---- SIGBUS guard
// The handler replaces the whole faulting mapping with anonymous zero pages
// (MAP_FIXED, as Wayland compositors do for client shm pools), marks it faulted and
// bumps a counter that JS reads with one load per ring access; the faulting
// instruction then re-runs on zeros, which every ring check rejects. Faults outside
// our mappings go to the previous handler (or the default action: death, as before).
// The registry is written under a mutex (any JS thread may map) and read lock-free by
// the handler, on whatever thread faulted.
#define REG_CHUNK 1024
#define REG_CHUNKS 4096
typedef struct {
  _Atomic(uintptr_t) base;
  _Atomic(size_t) len;
  atomic_int faulted;
} reg_slot_t;
static reg_slot_t *_Atomic reg_chunks[REG_CHUNKS];
static atomic_size_t reg_used;
static int64_t *reg_free;
static size_t reg_nfree, reg_capfree;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static int sigbus_installed;
static struct sigaction sigbus_prev;
// 8-byte aligned for an Int32Array view; [0] = faults handled so far.
static _Alignas(8) atomic_int sigbus_faults[2];

static reg_slot_t *reg_at(size_t i) {
  reg_slot_t *c = atomic_load(&reg_chunks[i / REG_CHUNK]);
  return c ? &c[i % REG_CHUNK] : NULL;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc) {
  int saved = errno;
  uintptr_t a = (uintptr_t)si->si_addr;
  size_t used = atomic_load(&reg_used);
  for (size_t i = 0; i < used; i++) {
    reg_slot_t *s = reg_at(i);
    if (!s) continue;
    uintptr_t b = atomic_load(&s->base);
    if (!b || a < b) continue;
    size_t len = atomic_load(&s->len);
    if (a - b >= len) continue;
    if (mmap((void *)b, len, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
      atomic_store(&s->faulted, 1);
      atomic_fetch_add(&sigbus_faults[0], 1);
      errno = saved;
      return;
    }
    break;
  }
  errno = saved;
  if ((sigbus_prev.sa_flags & SA_SIGINFO) && sigbus_prev.sa_sigaction) {
    sigbus_prev.sa_sigaction(sig, si, uc);
  } else if (sigbus_prev.sa_handler != SIG_DFL && sigbus_prev.sa_handler != SIG_IGN) {
    sigbus_prev.sa_handler(sig);
  } else {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGBUS, &dfl, NULL);
    // A hardware fault re-runs the instruction and now kills; a sent signal does not.
    if (si->si_code <= 0) raise(sig);
  }
}

// Called with reg_mu held.
static void sigbus_install(void) {
  if (sigbus_installed) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGBUS, &sa, &sigbus_prev) == 0) sigbus_installed = 1;
}

static int64_t reg_add(void *base, size_t len) {
  pthread_mutex_lock(&reg_mu);
  sigbus_install();
  int64_t i = -1;
  if (reg_nfree > 0) {
    i = reg_free[--reg_nfree];
  } else {
    size_t u = atomic_load(&reg_used);
    if (u < (size_t)REG_CHUNK * REG_CHUNKS) {
      if (!atomic_load(&reg_chunks[u / REG_CHUNK])) {
        reg_slot_t *c = calloc(REG_CHUNK, sizeof(reg_slot_t));
        if (c) atomic_store(&reg_chunks[u / REG_CHUNK], c);
      }
      if (atomic_load(&reg_chunks[u / REG_CHUNK])) {
        i = (int64_t)u;
        atomic_store(&reg_used, u + 1);
      }
    }
  }
  if (i >= 0) {
    reg_slot_t *s = reg_at((size_t)i);
    atomic_store(&s->faulted, 0);
    atomic_store(&s->len, len);
    atomic_store(&s->base, (uintptr_t)base);
  }
  pthread_mutex_unlock(&reg_mu);
  return i;
}

// Returns whether the mapping had faulted. Called before munmap.
static int reg_remove(int64_t i) {
  if (i < 0) return 0;
  pthread_mutex_lock(&reg_mu);
  reg_slot_t *s = reg_at((size_t)i);
  atomic_store(&s->base, 0);
  int faulted = atomic_load(&s->faulted);
  if (reg_nfree == reg_capfree) {
    size_t cap = reg_capfree ? 2 * reg_capfree : 256;
    int64_t *f = realloc(reg_free, cap * sizeof(*f));
    if (f) {
      reg_free = f;
      reg_capfree = cap;
    }
  }
  // Without room in the free list the slot is simply never reused.
  if (reg_nfree < reg_capfree) reg_free[reg_nfree++] = i;
  pthread_mutex_unlock(&reg_mu);
  return faulted;
}

// The slot of the live mapping that contains p, or -1.
static int64_t reg_find(const void *p) {
  uintptr_t a = (uintptr_t)p;
  int64_t found = -1;
  pthread_mutex_lock(&reg_mu);
  size_t used = atomic_load(&reg_used);
  for (size_t i = 0; i < used && found < 0; i++) {
    reg_slot_t *s = reg_at(i);
    uintptr_t b = s ? atomic_load(&s->base) : 0;
    if (b && a >= b && a - b < atomic_load(&s->len)) found = (int64_t)i;
  }
  pthread_mutex_unlock(&reg_mu);
  return found;
}

static void waiters_leave(napi_env env, const void *base, size_t len);

static void mapping_unmap(napi_env env, mapping_t *m) {
  if (m->unmapped) return;
  waiters_leave(env, m->base, m->len);
  m->unmapped = 1;
  reg_remove(m->slot);
  m->slot = -1;
  munmap(m->base, m->len);
}

static void mapping_unref(mapping_t *m) {
  if (--m->refs == 0) free(m);
}

static void mapping_buffer_finalize(napi_env env, void *data, void *hint) {
  (void)data;
  mapping_t *m = hint;
  mapping_unmap(env, m);
  mapping_unref(m);
}

static void mapping_handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  mapping_unref(data);
}

// {buffer, handle}: `ab` and a handle of `kind` for `owner`, whose finalizer drops the reference
// the caller took for it (*refs); when the handle cannot be made, that reference is dropped here.
static napi_value buffer_with_handle(napi_env env, napi_value ab, void *owner, napi_finalize fin, handle_kind_t kind, int *refs,
                                     const char *what) {
  napi_value ext, obj;
  int e = handle_new(env, owner, fin, kind, &ext, what);
  if (e == -1) (*refs)--;
  if (e) return NULL;
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "buffer", ab);
  napi_set_named_property(env, obj, "handle", ext);
  return obj;
}

// mmap(fd, length, double) -> {buffer, handle} or -errno. `double` maps the file twice
// back to back (2*length bytes) so that ring chunks crossing the end are contiguous.
// length: any positive integer (64-bit); -EINVAL for anything else, -ENOMEM if too big
// to map or for an ArrayBuffer.
static napi_value n_mmap(napi_env env, napi_callback_info info) {
  napi_value a[3];
  int32_t fd;
  int64_t len64;
  bool dbl = false;
  if (get_args(env, info, 3, a) || arg_int(env, a[0], &fd)) return NULL;
  int e = arg_len(env, a[1], &len64);
  if (e == -1) return NULL;
  napi_get_value_bool(env, a[2], &dbl);
  if (e < 0 || len64 <= 0) return make_int(env, -EINVAL);
  if ((uint64_t)len64 > (dbl ? SIZE_MAX / 4 : SIZE_MAX / 2)) return make_int(env, -ENOMEM);
  size_t len = (size_t)len64;
  size_t total = dbl ? 2 * len : len;
  void *base;
  if (dbl) {
    base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return make_int(env, -errno);
    for (int i = 0; i < 2; i++) {
      void *p = mmap((char *)base + i * len, len, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) {
        int err = errno;
        munmap(base, total);
        return make_int(env, -err);
      }
    }
  } else {
    base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) return make_int(env, -errno);
  }
  mapping_t *m = calloc(1, sizeof(*m));
  if (!m) {
    munmap(base, total);
    return make_int(env, -ENOMEM);
  }
  m->base = base;
  m->len = total;
  // One reference for the buffer's finalizer, one held here and then by the handle.
  m->refs = 2;
  m->slot = reg_add(base, total);
  napi_value ab;
  if (napi_create_external_arraybuffer(env, base, total, mapping_buffer_finalize, m, &ab) != napi_ok) {
    // Node runs the finalizer itself when it refuses (e.g. more than buffer.constants.MAX_LENGTH
    // bytes); when it did not, it never will.
    if (!m->unmapped) {
      mapping_unmap(env, m);
      m->refs--;
    }
    mapping_unref(m);
    clear_pending(env);
    return make_int(env, -ENOMEM);
  }
  return buffer_with_handle(env, ab, m, mapping_handle_finalize, H_MAPPING, &m->refs, "corosync-ts ipc native: cannot create a mapping handle");
}

// The mapping of a {buffer, handle} that mmap() returned; `buffer` is only read here, for munmap
// to check it against the handle's.
static mapping_t *mapping_arg(napi_env env, napi_value v, napi_value *ab) {
  napi_value ext;
  if (napi_get_named_property(env, v, "buffer", ab) != napi_ok || napi_get_named_property(env, v, "handle", &ext) != napi_ok) {
    clear_pending(env);
    napi_throw_type_error(env, NULL, handle_expected[H_MAPPING]);
    return NULL;
  }
  return handle_arg(env, ext, H_MAPPING);
}

// munmap({buffer, handle}) -> 1 if the mapping had been replaced after a SIGBUS, else 0.
// Detaches the buffer (JS can never touch unmapped memory). Repeat calls return 0.
static napi_value n_munmap(napi_env env, napi_callback_info info) {
  napi_value a[1], ab;
  if (get_args(env, info, 1, a)) return NULL;
  mapping_t *m = mapping_arg(env, a[0], &ab);
  if (!m) return NULL;
  int faulted = 0;
  if (!m->unmapped) {
    // Only the mapping's own buffer is detached: with another one beside the handle, the
    // mapping's would stay attached over unmapped memory.
    void *base = NULL;
    size_t len = 0;
    if (napi_get_arraybuffer_info(env, ab, &base, &len) != napi_ok || base != m->base || len != m->len) {
      clear_pending(env);
      napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected a mapping (its own buffer with its handle)");
      return NULL;
    }
    waiters_leave(env, m->base, m->len);
    m->unmapped = 1;
    faulted = reg_remove(m->slot);
    m->slot = -1;
    munmap(m->base, m->len);
    // Detaching runs the buffer finalizer now; it sees `unmapped` and only drops its ref.
    bool detached = false;
    napi_is_detached_arraybuffer(env, ab, &detached);
    if (!detached) napi_detach_arraybuffer(env, ab);
  }
  return make_int(env, faulted);
}

// mappingFaulted({buffer, handle}) -> 1 once a SIGBUS replaced the mapping with zeros.
static napi_value n_mapping_faulted(napi_env env, napi_callback_info info) {
  napi_value a[1], ab;
  if (get_args(env, info, 1, a)) return NULL;
  mapping_t *m = mapping_arg(env, a[0], &ab);
  if (!m) return NULL;
  if (m->unmapped || m->slot < 0) return make_int(env, 0);
  return make_int(env, atomic_load(&reg_at((size_t)m->slot)->faulted));
}

// sigbusCounter() -> ArrayBuffer over the process-wide count of SIGBUS faults handled
// (never freed), so a ring checks for one with a plain load instead of a call.
static napi_value n_sigbus_counter(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value ab;
  CHECK(napi_create_external_arraybuffer(env, (void *)sigbus_faults, sizeof(sigbus_faults), NULL, NULL, &ab));
  return ab;
}

// ---------------------------------------------------------------- /dev/shm files
// Files a peer names are reached from /dev/shm one component at a time, each directory
// opened with O_NOFOLLOW relative to its parent: no symlink anywhere on the way, no
// other filesystem, no "", "." or ".." component. shm_walk leaves *dfd on the parent
// directory of the last component and returns a pointer to that component (in rel), or
// NULL with *err set; root receives the stat of /dev/shm.
static char *shm_walk(char *rel, int *dfd, struct stat *root, int *err) {
  *dfd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*dfd < 0 || fstat(*dfd, root) < 0) {
    *err = -errno;
    return NULL;
  }
  char *comp = rel;
  for (;;) {
    char *slash = strchr(comp, '/');
    if (slash) *slash = 0;
    if (!*comp || !strcmp(comp, ".") || !strcmp(comp, "..")) {
      *err = -EINVAL;
      return NULL;
    }
    if (!slash) return comp;
    struct stat st;
    if (fstatat(*dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      *err = -errno;
      return NULL;
    }
    if (S_ISLNK(st.st_mode)) {
      *err = -ELOOP;
      return NULL;
    }
    int nfd = openat(*dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (nfd < 0) {
      *err = -errno;
      return NULL;
    }
    close(*dfd);
    *dfd = nfd;
    struct stat dst;
    if (fstat(nfd, &dst) < 0 || dst.st_dev != root->st_dev) {
      *err = -EXDEV;
      return NULL;
    }
    comp = slash + 1;
  }
}

static int shm_rel_arg(napi_env env, napi_value v, char *rel, size_t cap) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, rel, cap, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected a path");
    return -1;
  }
  return n >= cap - 1 ? -ENAMETOOLONG : 0;
}

// openShm(rel) -> fd or -errno: open /dev/shm/<rel> read-write for a peer-named file, by
// shm_walk, only if it is a regular file of the /dev/shm filesystem, and O_NONBLOCK so
// that a FIFO or device swapped in after the check can never block the open. -ELOOP: a
// symlink; -EXDEV: another filesystem; -EINVAL: a bad component; -EBADMSG: not a regular
// file. Ownership, link count and size are for the caller: with `stat` (a Float64Array of 3
// or more), the opened file's st_nlink, st_uid and st_size are written to stat[0..2] from the
// fstat made here anyway (a short script's first Node fs.fstatSync cost it ~0.14 ms).
static napi_value n_open_shm(napi_env env, napi_callback_info info) {
  napi_value a[2];
  size_t argc = 2;
  char rel[PATH_MAX];
  double *stat = NULL;
  if (get_args_min(env, info, 1, &argc, a)) return NULL;
  napi_valuetype st_type = napi_undefined;
  if (napi_typeof(env, a[1], &st_type) != napi_ok) return NULL;
  if (st_type != napi_undefined) {
    size_t n = 0;
    if (arg_typed(env, a[1], napi_float64_array, "a Float64Array of 3", (void **)&stat, &n)) return NULL;
    if (n < 3) {
      napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected a Float64Array of 3");
      return NULL;
    }
  }
  int e = shm_rel_arg(env, a[0], rel, sizeof(rel));
  if (e == -1) return NULL;
  if (e < 0) return make_int(env, e);
  int dfd = -1, err = 0, fd = -1;
  struct stat root, st;
  char *last = shm_walk(rel, &dfd, &root, &err);
  if (!last) goto out;
  if (fstatat(dfd, last, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    err = -errno;
    goto out;
  }
  if (S_ISLNK(st.st_mode)) {
    err = -ELOOP;
    goto out;
  }
  if (!S_ISREG(st.st_mode) || st.st_dev != root.st_dev) {
    err = st.st_dev != root.st_dev ? -EXDEV : -EBADMSG;
    goto out;
  }
  fd = openat(dfd, last, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    err = -errno;
    goto out;
  }
  // Swapped between the check and the open: judge what was opened.
  struct stat fst;
  if (fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode) || fst.st_dev != root.st_dev) {
    err = -EBADMSG;
    close(fd);
    fd = -1;
  } else if (stat) {
    stat[0] = (double)fst.st_nlink;
    stat[1] = (double)fst.st_uid;
    stat[2] = (double)fst.st_size;
  }
out:
  if (dfd >= 0) close(dfd);
  return make_int(env, fd >= 0 ? fd_adopt(env, fd, 0) : err);
}

// unlinkShm(rel, dir) -> 0 or -errno: unlink (dir: rmdir) /dev/shm/<rel>, reached by
// shm_walk, so a peer that swapped a directory of the path for a symlink cannot make us
// remove a file of the same name somewhere else.
static void shm_disown(napi_env env, const char *rel);

static napi_value n_unlink_shm(napi_env env, napi_callback_info info) {
  napi_value a[2];
  char rel[PATH_MAX];
  bool dir = false;
  if (get_args(env, info, 2, a)) return NULL;
  napi_get_value_bool(env, a[1], &dir);
  int e = shm_rel_arg(env, a[0], rel, sizeof(rel));
  if (e == -1) return NULL;
  if (e < 0) return make_int(env, e);
  char walk[PATH_MAX];  // shm_walk cuts its path up; rel stays whole for shm_disown
  memcpy(walk, rel, sizeof(rel));
  int dfd = -1, err = 0;
  struct stat root;
  char *last = shm_walk(walk, &dfd, &root, &err);
  if (last && unlinkat(dfd, last, dir ? AT_REMOVEDIR : 0) < 0) err = -errno;
  if (dfd >= 0) close(dfd);
  shm_disown(env, rel);
  return make_int(env, err);
}

// ---------------------------------------------------------------- /dev/shm file ownership
// What a server connection creates in /dev/shm (its directory, ring and control files) is
// created through Node's fs, and belongs, like the fds above, to the env that created it: a
// Worker that ends with a server connection open would otherwise leave them for the life of
// the process (libqb clients remove a server's files only once its process is dead). JS
// records each path as it creates it (shmOwn) and unlinkShm, the clean close's way out,
// drops the record. What is still recorded when the env ends is removed then, newest first
// (files before their directory), and only if the path still names the very file recorded
// (same device and inode, reached by shm_walk: no symlink followed): a path the peer removed
// and someone has since created again is not ours.
typedef struct shm_rec {
  struct shm_rec *next;
  napi_env env;
  dev_t dev;
  ino_t ino;
  int dir;
  char rel[];
} shm_rec_t;
static shm_rec_t *shm_recs;  // newest first
static pthread_mutex_t shm_mu = PTHREAD_MUTEX_INITIALIZER;

// shmOwn(rel) -> 0 or -errno: record /dev/shm/<rel>, which this env has just created, as its own.
static napi_value n_shm_own(napi_env env, napi_callback_info info) {
  napi_value a[1];
  char rel[PATH_MAX], walk[PATH_MAX];
  if (get_args(env, info, 1, a)) return NULL;
  int e = shm_rel_arg(env, a[0], rel, sizeof(rel));
  if (e == -1) return NULL;
  if (e < 0) return make_int(env, e);
  memcpy(walk, rel, sizeof(rel));
  int dfd = -1, err = 0;
  struct stat root, st;
  char *last = shm_walk(walk, &dfd, &root, &err);
  if (last && fstatat(dfd, last, &st, AT_SYMLINK_NOFOLLOW) < 0) err = -errno;
  if (dfd >= 0) close(dfd);
  if (!last || err) return make_int(env, err);
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return make_int(env, S_ISLNK(st.st_mode) ? -ELOOP : -EBADMSG);
  size_t n = strlen(rel) + 1;
  shm_rec_t *r = malloc(sizeof(*r) + n);
  if (!r) return make_int(env, -ENOMEM);
  r->env = env;
  r->dev = st.st_dev;
  r->ino = st.st_ino;
  r->dir = S_ISDIR(st.st_mode);
  memcpy(r->rel, rel, n);
  pthread_mutex_lock(&shm_mu);
  r->next = shm_recs;
  shm_recs = r;
  pthread_mutex_unlock(&shm_mu);
  return make_int(env, 0);
}

// Drops env's record of the path unlinkShm was asked to remove, if it has one.
static void shm_disown(napi_env env, const char *rel) {
  pthread_mutex_lock(&shm_mu);
  for (shm_rec_t **pp = &shm_recs; *pp; pp = &(*pp)->next) {
    shm_rec_t *r = *pp;
    if (r->env != env || strcmp(r->rel, rel)) continue;
    *pp = r->next;
    free(r);
    break;
  }
  pthread_mutex_unlock(&shm_mu);
}

static void shm_env_cleanup(napi_env env) {
  pthread_mutex_lock(&shm_mu);
  shm_rec_t *mine = NULL, **tail = &mine;
  for (shm_rec_t **pp = &shm_recs; *pp;) {
    shm_rec_t *r = *pp;
    if (r->env != env) {
      pp = &r->next;
      continue;
    }
    *pp = r->next;
    r->next = NULL;
    *tail = r;
    tail = &r->next;
  }
  pthread_mutex_unlock(&shm_mu);
  while (mine) {
    shm_rec_t *r = mine;
    mine = r->next;
    int dfd = -1, err = 0;
    struct stat root, st;
    char *last = shm_walk(r->rel, &dfd, &root, &err);
    if (last && fstatat(dfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == r->dev && st.st_ino == r->ino &&
        (r->dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)))
      unlinkat(dfd, last, r->dir ? AT_REMOVEDIR : 0);
    if (dfd >= 0) close(dfd);
    free(r);
  }
}

// ---------------------------------------------------------------- semaphores
// The semaphore at `off` in the mapping [p, p + len): 0, or -1 with a RangeError pending.
static int sem_in(napi_env env, void *p, size_t len, int32_t off, sem_t **out) {
  if (!p || off < 0 || (size_t)off + sizeof(sem_t) > len || (off & 7)) {
    napi_throw_range_error(env, NULL, "corosync-ts ipc native: semaphore outside the mapping");
    return -1;
  }
  *out = (sem_t *)((char *)p + off);
  return 0;
}

static int sem_arg(napi_env env, napi_value abv, napi_value offv, sem_t **out) {
  void *p;
  size_t len;
  int32_t off;
  if (napi_get_arraybuffer_info(env, abv, &p, &len) != napi_ok || arg_int(env, offv, &off)) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected (ArrayBuffer, offset)");
    return -1;
  }
  return sem_in(env, p, len, off, out);
}

static napi_value n_sem_init(napi_env env, napi_callback_info info) {
  napi_value a[2];
  sem_t *s;
  if (get_args(env, info, 2, a) || sem_arg(env, a[0], a[1], &s)) return NULL;
  return make_int(env, sem_init(s, 1, 0) < 0 ? -errno : 0);
}

// glibc sem_post: atomic increment and FUTEX_WAKE when the peer sleeps in sem_timedwait.
static napi_value n_sem_post(napi_env env, napi_callback_info info) {
  napi_value a[2];
  sem_t *s;
  if (get_args(env, info, 2, a) || sem_arg(env, a[0], a[1], &s)) return NULL;
  return make_int(env, sem_post(s) < 0 ? -errno : 0);
}

static napi_value n_sem_trywait(napi_env env, napi_callback_info info) {
  napi_value a[2];
  sem_t *s;
  if (get_args(env, info, 2, a) || sem_arg(env, a[0], a[1], &s)) return NULL;
  return make_int(env, sem_trywait(s) < 0 ? -errno : 0);
}

// semTakeMany(ab, off, max) -> how many tokens sem_trywait took (0..max), or -errno.
// One crossing for a whole backlog of published chunks instead of one per chunk.
static napi_value n_sem_take_many(napi_env env, napi_callback_info info) {
  napi_value a[3];
  sem_t *s;
  int32_t max;
  if (get_args(env, info, 3, a) || sem_arg(env, a[0], a[1], &s) || arg_int(env, a[2], &max)) return NULL;
  int32_t got = 0;
  while (got < max) {
    if (sem_trywait(s) == 0) {
      got++;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return make_int(env, got > 0 ? got : -errno);
    break;
  }
  return make_int(env, got);
}

// ringReadMany(header: ArrayBuffer, data: ArrayBuffer, into: Uint8Array, from, slots: Int32Array,
// max, maxLen) -> how many chunks were copied out and reclaimed (ring.ts read(), same checks, in order).
// The caller owns the tokens of `max` published chunks. Chunk i lands at into[slots[2i]] (8-byte
// aligned, from `from` on), slots[2i+1] bytes; slots[2*max] says why it stopped before `max`:
// RING_NEED_ROOM (the next chunk, slots[2*max+1] bytes, does not fit what is left of `into`, or
// is longer than maxLen),
// or the check the next chunk failed, which is then left in the ring. One crossing per backlog
// instead of a JS turn of pointer checks and a copy per chunk.
enum { RING_OK, RING_NEED_ROOM, RING_BAD_POINTERS, RING_UNCOMMITTED, RING_BAD_LENGTH, RING_FAULTED };
#define RB_MAGIC_COMMITTED 0xa1a1a1a1u
#define RB_MAGIC_DEAD 0xd0d0d0d0u
#define RB_MAGIC_ALLOC 0xa110ced0u
// ringReadMany's (into, from, slots, maxLen) and its `max`, checked: 0, or -1 with a JS
// exception pending.
typedef struct {
  uint8_t *into;
  size_t into_len;
  int32_t from;
  int32_t *slots;
  size_t slots_len;
  int32_t max, max_len;
} ring_read_args_t;
static int ring_read_args(napi_env env, napi_value into, napi_value from, napi_value slots, napi_value max_len, int32_t max, ring_read_args_t *o) {
  napi_typedarray_type t;
  size_t off;
  napi_value ab;
  o->max = max;
  if (arg_int(env, from, &o->from) || arg_int(env, max_len, &o->max_len)) return -1;
  // napi_get_typedarray_info refuses anything but a typed array: no napi_is_typedarray first.
  if (napi_get_typedarray_info(env, into, &t, &o->into_len, (void **)&o->into, &ab, &off) != napi_ok || t != napi_uint8_array ||
      napi_get_typedarray_info(env, slots, &t, &o->slots_len, (void **)&o->slots, &ab, &off) != napi_ok || t != napi_int32_array) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected (..., Uint8Array, from, Int32Array, max, maxLen)");
    return -1;
  }
  if (!o->into || !o->slots || o->max < 0 || o->max_len < 0 || o->from < 0 || (size_t)o->from > o->into_len ||
      o->slots_len < 2 * (size_t)o->max + 2) {
    napi_throw_range_error(env, NULL, "corosync-ts ipc native: ring read arguments out of range");
    return -1;
  }
  return 0;
}

// The ring's size in words as checked when it was opened (the data is mapped twice: 8 bytes per
// word), not the header's word_size, which the peer can rewrite since; 0 for what is no ring.
static uint32_t ring_words(size_t data_len) {
  size_t ws = data_len / 8;
  return ws < 4 || ws > UINT32_MAX / 4 ? 0 : (uint32_t)ws;
}

// Where the chunk of `len` bytes at word `pos` ends: its length and magic words, then its data
// rounded up to whole words, wrapped (qb_rb's chunk step).
static uint32_t ring_after(uint32_t pos, uint32_t len, uint32_t ws) {
  uint32_t next = pos + 2 + (len >> 2) + ((len & 3) ? 1 : 0);
  return next > ws - 1 ? next % ws : next;
}

// qb_rb_space_free in words, from the write and read pointers (both < ws); with the two equal,
// the ring's semaphore tells full (a chunk posted and not read) from empty.
static uint64_t ring_free_words(uint32_t w, uint32_t r, uint32_t ws, sem_t *sem) {
  if (w > r) return (uint64_t)r - w + ws - 1;
  if (w < r) return r - w - 1;
  return __atomic_load_n((int32_t *)sem, __ATOMIC_SEQ_CST) > 0 ? 0 : ws;
}

// Frees the chunk of `len` bytes read at word `r` as qb_rb does: length word cleared, magic DEAD,
// the read pointer past it.
static void ring_release(uint32_t *hdr, uint32_t *words, uint32_t ws, uint32_t r, uint32_t len) {
  words[r] = 0;
  __atomic_store_n(&words[(r + 1) % ws], RB_MAGIC_DEAD, __ATOMIC_SEQ_CST);
  __atomic_store_n(&hdr[1], ring_after(r, len, ws), __ATOMIC_SEQ_CST);
}

// Writes a chunk of `len` bytes at word `w` (room checked by the caller) and commits it as qb_rb
// does: length word cleared and magic ALLOC, the data, the length, the write pointer, magic
// COMMITTED. The data is mapped twice back to back: a chunk that wraps is written contiguously.
// The caller posts the semaphore.
static void ring_publish(uint32_t *hdr, uint32_t *words, uint32_t ws, uint32_t w, const uint8_t *frame, uint32_t len) {
  uint32_t magic_idx = (w + 1) % ws;
  words[w] = 0;
  __atomic_store_n(&words[magic_idx], RB_MAGIC_ALLOC, __ATOMIC_SEQ_CST);
  memcpy((uint8_t *)words + (size_t)((w + 2) % ws) * 4, frame, len);
  words[w] = len;
  __atomic_store_n(&hdr[0], ring_after(w, len, ws), __ATOMIC_SEQ_CST);
  __atomic_store_n(&words[magic_idx], RB_MAGIC_COMMITTED, __ATOMIC_SEQ_CST);
}

// ringReadMany's work, its arguments checked; the header mapping is at least 12 bytes.
static int32_t ring_read(uint32_t *hdr, void *dp, size_t dl, const ring_read_args_t *o) {
  uint32_t *words = dp;
  uint32_t ws = ring_words(dl);
  int32_t count = 0, status = RING_OK, need = 0, max = o->max;
  size_t used = (size_t)o->from, into_len = o->into_len;
  int32_t *slots = o->slots;
  int faults = atomic_load(&sigbus_faults[0]);
  // The data is mapped twice back to back: a chunk that wraps is contiguous.
  if (ws == 0) status = RING_BAD_POINTERS;
  while (status == RING_OK && count < max) {
    uint32_t w = __atomic_load_n(&hdr[0], __ATOMIC_SEQ_CST);
    uint32_t r = __atomic_load_n(&hdr[1], __ATOMIC_SEQ_CST);
    if (w >= ws || r >= ws) {
      status = RING_BAD_POINTERS;
      break;
    }
    uint32_t magic_idx = (r + 1) % ws;
    if (__atomic_load_n(&words[magic_idx], __ATOMIC_SEQ_CST) != RB_MAGIC_COMMITTED) {
      status = RING_UNCOMMITTED;
      break;
    }
    uint32_t len = words[r];
    uint32_t published = (w - r + ws) % ws;
    if (len > (ws - 3) * 4 || 2 + (len + 3) / 4 > published) {
      status = RING_BAD_LENGTH;
      break;
    }
    if (into_len - used < len || len > (uint32_t)o->max_len) {
      status = RING_NEED_ROOM;
      need = (int32_t)len;
      break;
    }
    memcpy(o->into + used, (uint8_t *)words + (size_t)((r + 2) % ws) * 4, len);
    // A truncated file read as zero pages from here on: this chunk is not what was published.
    if (atomic_load(&sigbus_faults[0]) != faults) {
      status = RING_FAULTED;
      break;
    }
    slots[2 * count] = (int32_t)used;
    slots[2 * count + 1] = (int32_t)len;
    count++;
    used = (used + len + 7) & ~(size_t)7;
    if (used > into_len) used = into_len;
    ring_release(hdr, words, ws, r, len);
  }
  slots[2 * max] = status;
  slots[2 * max + 1] = need;
  return count;
}

static napi_value n_ring_read_many(napi_env env, napi_callback_info info) {
  napi_value a[7];
  void *hp, *dp;
  size_t hl, dl;
  ring_read_args_t o;
  int32_t max;
  if (get_args(env, info, 7, a) || arg_int(env, a[5], &max)) return NULL;
  if (napi_get_arraybuffer_info(env, a[0], &hp, &hl) != napi_ok || napi_get_arraybuffer_info(env, a[1], &dp, &dl) != napi_ok) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected (ArrayBuffer, ArrayBuffer, Uint8Array, from, Int32Array, max, maxLen)");
    return NULL;
  }
  if (ring_read_args(env, a[2], a[3], a[4], a[6], max, &o)) return NULL;
  if (!hp || !dp || hl < 12) {
    napi_throw_range_error(env, NULL, "corosync-ts ipc native: ringReadMany arguments out of range");
    return NULL;
  }
  return make_int(env, ring_read(hp, dp, dl, &o));
}

// The ring ringWrite publishes in (a client's request ring, the mock's response ring), registered
// once (ringWriter): the header and data mappings (a reference held on each mapping_t, whose
// `unmapped` is looked at before each write), the semaphore in the header and the ring's size in
// words from the data's length. Passed with every write, they were two ArrayBuffers and an
// integer through N-API per shm request (~170 instructions, callgrind).
typedef struct {
  const napi_type_tag *kind;  // handle_new
  uint32_t ws;
  mapping_t *hm, *dm;
  sem_t *sem;
} ring_writer_t;

static void ring_writer_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  ring_writer_t *rw = data;
  mapping_unref(rw->hm);
  mapping_unref(rw->dm);
  free(rw);
}

// ringWriter(header: Mapping, semOffset, data: Mapping) -> the handle ringWrite takes. A TypeError
// for what is no mapping, a RangeError for a mapping already unmapped or a semaphore outside the
// header (as every other semaphore function checks it: in the mapping, aligned, which puts both
// pointers in it too).
static napi_value n_ring_writer(napi_env env, napi_callback_info info) {
  napi_value a[3], hab, dab, ext;
  int32_t sem_off;
  if (get_args(env, info, 3, a) || arg_int(env, a[1], &sem_off)) return NULL;
  mapping_t *hm = mapping_arg(env, a[0], &hab);
  if (!hm) return NULL;
  mapping_t *dm = mapping_arg(env, a[2], &dab);
  if (!dm) return NULL;
  sem_t *sem;
  if (hm->unmapped || dm->unmapped) {
    napi_throw_range_error(env, NULL, "corosync-ts ipc native: ringWriter of an unmapped ring");
    return NULL;
  }
  if (sem_in(env, hm->base, hm->len, sem_off, &sem)) return NULL;
  ring_writer_t *rw = calloc(1, sizeof(*rw));
  if (!rw) {
    napi_throw_error(env, "ERR_CS_IPC_NATIVE", "corosync-ts ipc native: out of memory");
    return NULL;
  }
  rw->hm = hm;
  rw->dm = dm;
  rw->sem = sem;
  // What no ring is stays registered and writes nothing (RW_NOT_WRITTEN): the JS path reports it.
  rw->ws = ring_words(dm->len);
  // The finalizer's references, taken before the handle that may run it exists.
  hm->refs++;
  dm->refs++;
  int e = handle_new(env, rw, ring_writer_finalize, H_RING_WRITER, &ext, "corosync-ts ipc native: cannot create a ring writer");
  if (e == -1) ring_writer_finalize(env, rw, NULL);
  return e ? NULL : ext;
}

// ringWrite(writer, frame: Uint8Array, doorbellFd) -> RW_*, or -errno of a failed sem_post. A
// request's chunk publication in one crossing: ring.ts writeChunk() (room, commit), sem_post and
// the doorbell byte (shm.ts ring()), on the common path of a lone request, where the JS path made
// two native calls and seven Atomics builtin calls. Anything unusual is left to that path:
// RW_NOT_WRITTEN (no room, pointers outside the ring) wrote nothing, and it reproduces the
// outcome with its errors; RW_FAULTED committed the chunk unposted while a SIGBUS was absorbed
// (perhaps in another mapping: the JS side tells); RW_UNRUNG and a sem_post failure come after
// the chunk was committed. The doorbell's fd stays an argument: its socket is not the ring's, and
// a number kept here could outlive it and name another file. A ring unmapped since ringWriter
// (closed) is a RangeError, nothing touched.
enum { RW_NOT_WRITTEN, RW_DONE, RW_UNRUNG, RW_FAULTED, RW_ANSWERED };
struct waiter;
typedef struct {
  struct waiter *w;
  void *into;
  size_t into_len;
  int32_t from;
} reply_look_t;
static int reply_look_args(napi_env env, const napi_value *a, reply_look_t *o);
static int waiter_take_ready(struct waiter *w, const reply_look_t *l);
static napi_value n_ring_write(napi_env env, napi_callback_info info) {
  napi_value a[6];
  size_t argc = 6;
  int32_t fd;
  size_t len;
  uint8_t *frame;
  if (get_args_min(env, info, 3, &argc, a)) return NULL;
  ring_writer_t *rw = handle_arg_hot(env, a[0], H_RING_WRITER);
  if (!rw) return NULL;
  if (arg_bytes(env, a[1], &frame, &len) || arg_int(env, a[2], &fd)) return NULL;
  reply_look_t look = {0};
  if (argc >= 6 && reply_look_args(env, a + 3, &look)) return NULL;
  if (rw->hm->unmapped || rw->dm->unmapped) {
    napi_throw_range_error(env, NULL, "corosync-ts ipc native: ringWrite to an unmapped ring");
    return NULL;
  }
  uint32_t *hdr = rw->hm->base;
  uint32_t *words = rw->dm->base;
  uint32_t ws = rw->ws;
  if (ws == 0) return make_int(env, RW_NOT_WRITTEN);
  uint32_t w = __atomic_load_n(&hdr[0], __ATOMIC_SEQ_CST);
  uint32_t r = __atomic_load_n(&hdr[1], __ATOMIC_SEQ_CST);
  if (w >= ws || r >= ws) return make_int(env, RW_NOT_WRITTEN);
  if (ring_free_words(w, r, ws, rw->sem) * 4 < (uint64_t)len + 12) return make_int(env, RW_NOT_WRITTEN);
  int faults = atomic_load(&sigbus_faults[0]);
  ring_publish(hdr, words, ws, w, frame, (uint32_t)len);
  if (atomic_load(&sigbus_faults[0]) != faults) return make_int(env, RW_FAULTED);
  if (sem_post(rw->sem) < 0) return make_int(env, -errno);
  if (fd < 0) return make_int(env, RW_UNRUNG);
  static const uint8_t bell = 0;
  ssize_t n;
  do n = send(fd, &bell, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n != 1) return make_int(env, RW_UNRUNG);
  return make_int(env, look.w && waiter_take_ready(look.w, &look) ? RW_ANSWERED : RW_DONE);
}

// ---------------------------------------------------------------- sem waiter thread
// One thread per ring whose semaphore we must sleep on (the client's response ring:
// libqb servers post responses without any socket doorbell). JS first waits for a due
// token from the loop (waiterWaitTake); only if that takes too long does it hand the
// wait over (waiterWant), so the common case costs no thread wake-up at all. The
// thread takes tokens with sem_timedwait and reports each batch through a threadsafe
// function; it wakes every 100 ms to notice stop().
typedef struct waiter {
  const napi_type_tag *kind;  // handle_new
  sem_t *sem;
  napi_ref ab_ref;  // keeps the mapping alive while the thread can touch it
  napi_threadsafe_function tsfn;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int64_t want;
  int stop;
  int started;
  // Owners: the JS handle (external) and the threadsafe function. The tsfn finalizer
  // (thread joined) may run long before the handle is collected, and JS may still call
  // waiterWant/waiterWaitTake/waiterStop with it: those see `dead` instead of freed memory.
  int refs;
  int dead;
  // The registry slot of the mapping holding the semaphore (-1: not one of ours), so the
  // thread can tell JS that the header file was truncated under it: the waits would
  // otherwise just time out on zero pages, like a server that never answers.
  int64_t slot;
  int fault_reported;
  // The env whose loop thread created it. `started`, `joined` and `hooked` are only ever read
  // or written on that thread (its hook, its tsfn finalizer, its own mappings' waiters_leave),
  // so the thread is joined once and the struct freed by nobody else while it is in use.
  napi_env env;
  // Set once the thread is joined: by the env cleanup hook (teardown of the env it reports to),
  // the tsfn finalizer or the unmapping of its mapping, whichever comes first.
  int joined;
  int hooked;
  // In the list of live waiters (waiters_leave), until the tsfn finalizer.
  struct waiter *next, *prev;
  // The header mapping the semaphore lies in (its ArrayBuffer is held by ab_ref).
  void *hp;
  size_t hl;
  // The ring waiterWaitTake reads the first chunk of (waiterRing): its data mapping (a reference
  // held on its mapping_t, whose `unmapped` is looked at before each read), the slots the read
  // reports in (an Int32Array held by slots_ref) and the longest chunk it reads. Registered once
  // per connection: passed with every wait, they were two ArrayBuffers, two typed arrays and an
  // integer through N-API per shm call (~600 instructions, callgrind).
  mapping_t *dm;
  napi_ref slots_ref;
  int32_t *slots;
  size_t slots_len;
  int32_t max_len;
} waiter_t;

static void waiter_unref(waiter_t *w) {
  if (--w->refs > 0) return;
  if (w->dm) mapping_unref(w->dm);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
}

static void waiter_call_js(napi_env env, napi_value cb, void *ctx, void *data) {
  (void)ctx;
  if (!env) return;
  napi_value undef, arg;
  napi_get_undefined(env, &undef);
  napi_create_int64(env, (int64_t)(intptr_t)data, &arg);
  napi_call_function(env, undef, cb, 1, &arg, NULL);
  rethrow_pending(env);
}

static void *waiter_main(void *arg) {
  waiter_t *w = arg;
  for (;;) {
    pthread_mutex_lock(&w->mu);
    while (!w->stop && w->want <= 0) pthread_cond_wait(&w->cv, &w->mu);
    int stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    if (stop) break;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    if (sem_timedwait(w->sem, &ts) != 0) {
      if (w->slot >= 0 && !w->fault_reported && atomic_load(&reg_at((size_t)w->slot)->faulted)) {
        w->fault_reported = 1;
        // -2: the mapping was replaced after a SIGBUS; JS fails the connection.
        napi_call_threadsafe_function(w->tsfn, (void *)(intptr_t)-2, napi_tsfn_blocking);
      }
    } else {
      // Every token stands for one published chunk, whoever takes it (this thread or
      // waiterWaitTake on the loop); `want` only decides whether to keep sleeping on it.
      int64_t got = 1;
      pthread_mutex_lock(&w->mu);
      w->want--;
      while (w->want > 0 && got < 1024 && sem_trywait(w->sem) == 0) {
        w->want--;
        got++;
      }
      pthread_mutex_unlock(&w->mu);
      napi_call_threadsafe_function(w->tsfn, (void *)(intptr_t)got, napi_tsfn_blocking);
    }
  }
  // -1 tells JS the thread is gone and the mapping may be released.
  napi_call_threadsafe_function(w->tsfn, (void *)(intptr_t)-1, napi_tsfn_blocking);
  napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
  return NULL;
}

// Tells the thread to stop; it notices within one 100 ms sem_timedwait.
static void waiter_ask_stop(waiter_t *w) {
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

// Stops the thread and waits for it. On w->env's loop thread only.
static void waiter_join(waiter_t *w) {
  if (!w->started || w->joined) return;
  waiter_ask_stop(w);
  pthread_join(w->thread, NULL);
  w->joined = 1;
}

// Live waiters of every env; the links are touched under the mutex, on loop threads only.
static waiter_t *waiters;
static pthread_mutex_t waiters_mu = PTHREAD_MUTEX_INITIALIZER;

static void waiters_unlink(waiter_t *w) {
  pthread_mutex_lock(&waiters_mu);
  if (w->prev) w->prev->next = w->next;
  else if (waiters == w) waiters = w->next;
  if (w->next) w->next->prev = w->prev;
  w->next = w->prev = NULL;
  pthread_mutex_unlock(&waiters_mu);
}

// A mapping of env's is about to be unmapped: every waiter thread whose semaphore is in it stops
// first. JS stops its waiter before it unmaps (ShmClientTransport.close), but an env's teardown
// frees the mapping's ArrayBuffer whenever it likes, thread or not. Only env's own waiters can
// sleep in env's mapping (a waiter is made from the mapping's ArrayBuffer, and Node never hands
// an external ArrayBuffer to another env: posting it copies it, listing it for transfer copies it
// on Node 20 and throws on Node 24). Another env's waiter is never looked at beyond its env, its
// semaphore address and its links: its join state belongs to its own loop thread, which may be
// joining and freeing it right now (reading it here was a data race), and its semaphore address
// may lie in this range anyway (its mapping unmapped and this one made at the same address
// before its tsfn finalizer unlinked it); joining it from here could join a thread twice or a
// freed waiter.
static void waiters_leave(napi_env env, const void *base, size_t len) {
  uintptr_t b = (uintptr_t)base;
  for (;;) {
    waiter_t *hit = NULL;
    pthread_mutex_lock(&waiters_mu);
    for (waiter_t *w = waiters; w; w = w->next) {
      uintptr_t a = (uintptr_t)w->sem;
      if (w->env == env && !w->joined && a >= b && a - b < len) {
        hit = w;
        break;
      }
    }
    pthread_mutex_unlock(&waiters_mu);
    if (!hit) return;
    // Still listed and alive: only this thread's tsfn finalizer unlinks and frees it.
    waiter_join(hit);
  }
}

// The env goes away with the thread still running (a worker_threads Worker that ends or is
// terminated with a shm client open, or whose process exits): Node then releases the
// mapping the thread sleeps on and finalizes the tsfn, whose finalizer would join a thread
// nobody told to stop (a hang), or the thread would touch the unmapped semaphore or the
// deleted tsfn (a SIGSEGV). Hooks run LIFO, this one before the tsfn's own (registered first).
static void waiter_env_cleanup(void *arg) {
  waiter_t *w = arg;
  w->hooked = 0;
  waiter_join(w);
}

static void waiter_tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  waiter_t *w = data;
  waiters_unlink(w);
  if (w->hooked) {
    w->hooked = 0;
    napi_remove_env_cleanup_hook(env, waiter_env_cleanup, w);
  }
  // Every path that finalizes the tsfn has the thread stopping already (it released the tsfn
  // after its last report) or stopped by the hook; the join only waits for its exit.
  waiter_join(w);
  napi_delete_reference(env, w->ab_ref);
  w->ab_ref = NULL;
  if (w->slots_ref) napi_delete_reference(env, w->slots_ref);
  w->slots_ref = NULL;
  w->slots = NULL;
  w->dead = 1;
  waiter_unref(w);
}

static void waiter_handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  waiter_unref(data);
}

// semWaiter(ArrayBuffer, offset, callback(count)) -> handle. callback(-1) once stopped;
// callback(-2) once if the mapping was lost to a SIGBUS (noticed within a wait's 100 ms).
static napi_value n_sem_waiter(napi_env env, napi_callback_info info) {
  napi_value a[3];
  sem_t *s;
  if (get_args(env, info, 3, a) || sem_arg(env, a[0], a[1], &s)) return NULL;
  waiter_t *w = calloc(1, sizeof(*w));
  if (!w) return make_int(env, -ENOMEM);
  napi_get_arraybuffer_info(env, a[0], &w->hp, &w->hl);
  w->sem = s;
  w->env = env;
  w->refs = 1;
  w->slot = reg_find(s);
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  napi_value name;
  napi_create_string_utf8(env, "corosync-ts ipc sem waiter", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, a[0], 1, &w->ab_ref) != napi_ok ||
      napi_create_threadsafe_function(env, a[2], NULL, name, 0, 1, w, waiter_tsfn_finalize, NULL, waiter_call_js,
                                      &w->tsfn) != napi_ok) {
    if (w->ab_ref) napi_delete_reference(env, w->ab_ref);
    waiter_unref(w);
    napi_throw_error(env, "ERR_CS_IPC_NATIVE", "corosync-ts ipc native: cannot create the semaphore waiter");
    return NULL;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  int e = pthread_create(&w->thread, &attr, waiter_main, w);
  pthread_attr_destroy(&attr);
  if (e) {
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
    // The finalizer would join a thread that does not exist: leak-free teardown instead.
    return make_int(env, -e);
  }
  w->started = 1;
  pthread_mutex_lock(&waiters_mu);
  w->next = waiters;
  if (waiters) waiters->prev = w;
  waiters = w;
  pthread_mutex_unlock(&waiters_mu);
  if (napi_add_env_cleanup_hook(env, waiter_env_cleanup, w) == napi_ok) w->hooked = 1;
  napi_value ext;
  w->refs++;
  int he = handle_new(env, w, waiter_handle_finalize, H_WAITER, &ext, "corosync-ts ipc native: cannot create the semaphore waiter handle");
  if (he == -1) w->refs--;
  return he ? NULL : ext;
}

// Once stop() was asked the mapping may be released at any time: nothing touches the
// semaphore or the thread any more.
static int waiter_gone(waiter_t *w) {
  pthread_mutex_lock(&w->mu);
  int gone = w->stop || w->dead;
  pthread_mutex_unlock(&w->mu);
  return gone;
}

// waiterWant(handle, n): the thread should take up to n tokens (absolute, not added).
static napi_value n_waiter_want(napi_env env, napi_callback_info info) {
  napi_value a[2];
  int32_t n;
  if (get_args(env, info, 2, a) || arg_int(env, a[1], &n)) return NULL;
  waiter_t *w = handle_arg(env, a[0], H_WAITER);
  if (!w) return NULL;
  if (waiter_gone(w)) return make_int(env, -ENOTCONN);
  pthread_mutex_lock(&w->mu);
  w->want = n;
  if (n > 0) pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return make_int(env, 0);
}

// waiterRing(handle, dataMapping, slots, maxLen): the ring whose first chunk waiterWaitTake reads
// with its token, once per waiter: the data mapping of the ring whose header holds the semaphore
// (the waiter's), the Int32Array of 4 the read reports in (as ringReadMany's slots with max 1) and
// the longest chunk read. 0; a TypeError or RangeError for anything else, or for a second call.
static napi_value n_waiter_ring(napi_env env, napi_callback_info info) {
  napi_value a[4], dab;
  int32_t max_len;
  if (get_args(env, info, 4, a) || arg_int(env, a[3], &max_len)) return NULL;
  waiter_t *w = handle_arg(env, a[0], H_WAITER);
  if (!w) return NULL;
  mapping_t *m = mapping_arg(env, a[1], &dab);
  if (!m) return NULL;
  napi_typedarray_type t;
  size_t n, off;
  int32_t *slots;
  napi_value sab;
  if (napi_get_typedarray_info(env, a[2], &t, &n, (void **)&slots, &sab, &off) != napi_ok || t != napi_int32_array) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected (waiter, mapping, Int32Array, maxLen)");
    return NULL;
  }
  if (w->dm || w->dead || m->unmapped || !slots || n < 4 || max_len < 0 || ring_words(m->len) == 0) {
    napi_throw_range_error(env, NULL, "corosync-ts ipc native: waiterRing arguments out of range");
    return NULL;
  }
  if (napi_create_reference(env, a[2], 1, &w->slots_ref) != napi_ok) {
    napi_throw_error(env, "ERR_CS_IPC_NATIVE", "corosync-ts ipc native: cannot hold the slots");
    return NULL;
  }
  m->refs++;
  w->dm = m;
  w->slots = slots;
  w->slots_len = n;
  w->max_len = max_len;
  return make_int(env, 0);
}

// waiterWaitTake(handle, max, timeoutNs[, into, from]) -> tokens taken on the loop thread
// (0..max). Takes what is there; if nothing is, sleeps in sem_timedwait for at most timeoutNs (the
// futex libqb's sem_post wakes directly, as libcmap's own blocking wait does: no CPU while asleep,
// no thread hop), then takes whatever else is already there. The waiter thread may sleep on the
// same semaphore: a token is one published chunk, whoever takes it.
// With `into` (an ArrayBuffer) and `from`, once a token is taken the first chunk is read as
// ringReadMany(header, data, into, from, slots, 1, maxLen) does, from the ring waiterRing
// registered: the reply of a GET in the crossing that waited for it, not one more (slots[2] says
// whether it was).
// Under w->mu: up to max tokens the semaphore holds now, each one the thread need no longer take.
static int32_t waiter_take_now(waiter_t *w, int32_t max) {
  int32_t got = 0;
  while (got < max && sem_trywait(w->sem) == 0) {
    if (w->want > 0) w->want--;
    got++;
  }
  return got;
}

// The first chunk of w's registered ring, read into `into` at `from` (slots[2]: whether it was).
static ring_read_args_t first_chunk_args(const waiter_t *w, void *into, size_t into_len, int32_t from) {
  return (ring_read_args_t){.into = into, .into_len = into_len, .from = from, .slots = w->slots, .slots_len = w->slots_len, .max = 1, .max_len = w->max_len};
}

static int32_t wait_take_read(int32_t got, int with_read, waiter_t *w, const ring_read_args_t *o) {
  if (got > 0 && with_read) ring_read(w->hp, w->dm->base, w->dm->len, o);
  return got;
}
static napi_value n_waiter_wait_take(napi_env env, napi_callback_info info) {
  napi_value a[5];
  size_t argc = 5;
  int32_t max, timeout_ns;
  if (get_args_min(env, info, 3, &argc, a)) return NULL;
  if (arg_int(env, a[1], &max) || arg_int(env, a[2], &timeout_ns)) return NULL;
  waiter_t *w = handle_arg_hot(env, a[0], H_WAITER);
  if (!w) return NULL;
  int with_read = argc >= 5;
  ring_read_args_t o;
  if (with_read) {
    void *into;
    size_t into_len;
    int32_t from;
    if (napi_get_arraybuffer_info(env, a[3], &into, &into_len) != napi_ok || arg_int(env, a[4], &from)) {
      napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected (waiter, max, timeoutNs, ArrayBuffer, from)");
      return NULL;
    }
    // A stopped waiter takes nothing, as without `into` (its slots may be released already).
    if (waiter_gone(w)) return make_int(env, 0);
    o = first_chunk_args(w, into, into_len, from);
    // No ring registered, or its data unmapped since (a closed ring: JS stops reading first).
    if (!w->dm || w->dm->unmapped || !o.slots || !o.into || o.from < 0 || (size_t)o.from > o.into_len) {
      napi_throw_range_error(env, NULL, "corosync-ts ipc native: waiterWaitTake ring arguments out of range");
      return NULL;
    }
  } else if (waiter_gone(w)) {
    return make_int(env, 0);
  }
  if (timeout_ns > LOOP_WAIT_MAX_NS) timeout_ns = LOOP_WAIT_MAX_NS;
  pthread_mutex_lock(&w->mu);
  int32_t got = waiter_take_now(w, max);
  pthread_mutex_unlock(&w->mu);
  if (got > 0 || timeout_ns <= 0 || max <= 0) return make_int(env, wait_take_read(got, with_read, w, &o));
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += timeout_ns;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  int r;
  do r = sem_timedwait(w->sem, &ts);
  while (r != 0 && errno == EINTR);
  if (r != 0) return make_int(env, 0);
  pthread_mutex_lock(&w->mu);
  if (w->want > 0) w->want--;
  got = 1 + waiter_take_now(w, max - 1);
  pthread_mutex_unlock(&w->mu);
  return make_int(env, wait_take_read(got, with_read, w, &o));
}

// ringWrite's (waiter, into: ArrayBuffer, from), checked before anything is written.
static int reply_look_args(napi_env env, const napi_value *a, reply_look_t *o) {
  o->w = handle_arg_hot(env, a[0], H_WAITER);
  if (!o->w) return -1;
  if (napi_get_arraybuffer_info(env, a[1], &o->into, &o->into_len) != napi_ok || arg_int(env, a[2], &o->from)) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected (writer, frame, fd, waiter, ArrayBuffer, from)");
    return -1;
  }
  if (!o->into || o->from < 0 || (size_t)o->from > o->into_len) {
    napi_throw_range_error(env, NULL, "corosync-ts ipc native: ringWrite reply arguments out of range");
    return -1;
  }
  return 0;
}

// ringWrite's look for the reply after its doorbell: a server that preempts its client at the
// doorbell (corosync, SCHED_RR 99, on the client's vCPU) has answered by the time send() returns.
// A reply published by then has its token taken and is read as waiterWaitTake reads its first
// chunk (slots[2] says whether it was), in the write's crossing: the loop's wait and its
// crossing are not needed. None there: nothing taken and no syscall (glibc's sem_trywait of a
// zero count is a load); the caller waits as before. Whether one was taken.
static int waiter_take_ready(waiter_t *w, const reply_look_t *l) {
  // No ring registered yet, or its data unmapped since: the wait reads it.
  if (!w->dm || w->dm->unmapped || !w->slots) return 0;
  int got = 0;
  pthread_mutex_lock(&w->mu);
  // A stopped waiter takes nothing (its header may be unmapped, its slots released), as
  // waiterWaitTake.
  if (!w->stop && !w->dead) got = waiter_take_now(w, 1);
  pthread_mutex_unlock(&w->mu);
  if (!got) return 0;
  ring_read_args_t o = first_chunk_args(w, l->into, l->into_len, l->from);
  ring_read(w->hp, w->dm->base, w->dm->len, &o);
  return 1;
}

static napi_value n_waiter_stop(napi_env env, napi_callback_info info) {
  napi_value a[1];
  if (get_args(env, info, 1, a)) return NULL;
  waiter_t *w = handle_arg(env, a[0], H_WAITER);
  if (!w) return NULL;
  if (w->dead) return make_int(env, 0);
  waiter_ask_stop(w);
  return make_int(env, 0);
}

// ---------------------------------------------------------------- pinned buffers
// Memory the addon keeps using between calls (a datagram watcher's receive area, its slots and
// budget), read through cached pointers instead of a typed array looked up per call (that
// lookup was ~2,000 instructions of a GET). It is allocated here and lent to JS as an external
// ArrayBuffer; the buffer's finalizer, the JS handle and every watcher using it each hold a
// reference, and the memory goes with the last. JS detaching or transferring the ArrayBuffer
// therefore never leaves a watcher a dangling pointer.
typedef struct {
  const napi_type_tag *kind;  // handle_new
  int refs;
  void *data;
  size_t len;
} pinned_t;

static void pinned_unref(pinned_t *b) {
  if (--b->refs > 0) return;
  free(b->data);
  free(b);
}

// pinned_unref for a reference that may be absent (NULL).
static void pinned_drop(pinned_t *b) {
  if (b) pinned_unref(b);
}

static void pinned_buffer_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  pinned_unref(hint);
}

static void pinned_handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  pinned_unref(data);
}

// pinned(len) -> {buffer, handle}: len zeroed bytes (8-byte aligned), or -errno.
static napi_value n_pinned(napi_env env, napi_callback_info info) {
  napi_value a[1];
  int64_t len;
  if (get_args(env, info, 1, a)) return NULL;
  int e = arg_len(env, a[0], &len);
  if (e == -1) return NULL;
  if (e < 0 || len <= 0 || len > INT32_MAX) return make_int(env, -EINVAL);
  pinned_t *b = calloc(1, sizeof(*b));
  if (!b) return make_int(env, -ENOMEM);
  b->data = calloc(1, (size_t)len);
  if (!b->data) {
    free(b);
    return make_int(env, -ENOMEM);
  }
  b->len = (size_t)len;
  // One reference for the buffer's finalizer, one held here and then by the handle.
  b->refs = 2;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, b->data, b->len, pinned_buffer_finalize, b, &ab) != napi_ok) {
    // As for mmap: Node has run the finalizer itself if it refused after taking the buffer; when
    // it did not, it never will, so its reference goes too.
    if (b->refs == 2) b->refs--;
    pinned_unref(b);
    clear_pending(env);
    return make_int(env, -ENOMEM);
  }
  return buffer_with_handle(env, ab, b, pinned_handle_finalize, H_PINNED, &b->refs, "corosync-ts ipc native: cannot create a pinned buffer handle");
}

// The pinned buffer of a {buffer, handle} that pinned() returned, with a reference taken for the
// caller; NULL with a TypeError if v is not one, a RangeError (`short_msg`) if it has fewer than
// min_len bytes.
static pinned_t *pinned_take(napi_env env, napi_value v, size_t min_len, const char *short_msg) {
  napi_value ext;
  if (napi_get_named_property(env, v, "handle", &ext) != napi_ok) {
    clear_pending(env);
    napi_throw_type_error(env, NULL, handle_expected[H_PINNED]);
    return NULL;
  }
  pinned_t *b = handle_arg(env, ext, H_PINNED);
  if (!b) return NULL;
  if (b->len < min_len) {
    napi_throw_range_error(env, NULL, short_msg);
    return NULL;
  }
  b->refs++;
  return b;
}

// ---------------------------------------------------------------- uv_poll
// poll(fd, callback(status, events)) -> handle; pollStart(handle, events); pollClose(handle).
// events: 1 readable, 2 writable, 4 disconnect (UV_READABLE/UV_WRITABLE/UV_DISCONNECT).
// ---- repeated requests answered in the poll callback (pollAnswer)
// A server's watcher may hold one ready answer: the exact bytes of a request and the response
// JS gave it. A request with those bytes is then answered here, without entering JavaScript,
// while the process-wide epoch is the one it was armed at (answerInvalidate() moves it: JS calls
// it before anything could change an answer) and its mappings are mapped. Anything else (other
// bytes, no room for the answer, an error) goes to the callback as before, untouched. Socket
// transport: the watcher is the request socket (connected to the response socket) and m[0] the
// control file, whose request counter we lower and response counter we raise as JS does. Shm:
// the watcher is the setup socket (doorbells), m[0..3] the request ring's header and data, the
// response ring's header and data.
#define ANSWER_MAX_REQ 1024
#define ANSWER_MAX_RES (64 * 1024)
enum { ANSWER_NONE, ANSWER_SOCKET, ANSWER_SHM };
typedef struct {
  int kind;
  uint32_t epoch;
  uint8_t *req, *res;
  uint32_t req_len, res_len;
  // Shm: where each ring header's semaphore is.
  int32_t sem_off;
  mapping_t *m[4];
  // Requests answered here since JS last asked (pollAnswered): its per-connection counters.
  double answered;
  // Shm: doorbell bytes read here less chunks taken here since the last callback (answer_shm).
  int32_t debt;
} answer_t;
static uint32_t answer_epoch;

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  int closed;
  // Datagram mode (pollDgram): on readiness the datagrams are received here, before JS
  // runs, into `area` (a pinned buffer the JS side shares between sockets); `slots` (int32)
  // gets an (offset, length) pair per datagram. One crossing per wake-up instead of one per
  // datagram plus one for the final EAGAIN.
  pinned_t *area;
  pinned_t *slots;
  // Optional pinned int32: how many datagrams are expected (responses owed). Once that many
  // arrived the batch ends without the recv that would only say EAGAIN; anything else queued
  // still wakes epoll (level-triggered). <= 0: read to EAGAIN.
  pinned_t *budget;
  // Or the budget is a word of a mapping (the socket transport's control file, whose event
  // counter the server raises once per event sent and the client lowers per event taken, after
  // the batch): the batch ends once it has as many as the word says. 0 or less when the batch
  // starts, or a mapping unmapped since, reads to EAGAIN.
  mapping_t *budget_map;
  size_t budget_off;
  int32_t max_len;
  // Into mode (pollInto): each datagram is peeked first (its first into_head bytes into the area,
  // its length), and one over into_min ends the batch unread, reported with a negative offset
  // (-1 - where its head is): the caller reads it where it wants it (ConnectOptions.eventInto),
  // not into the area and out again. 0: off.
  int32_t into_min;
  int32_t into_head;
  int fd;
  // Owners: the JS handle (external) and the uv handle until its close callback. JS may
  // call pollStart/pollWait/pollClose with a handle whose uv side is long closed.
  int refs;
  // Whether poller_env_cleanup is registered (until pollClose, or the env's teardown).
  int hooked;
  answer_t answer;
  // answer_spin_adaptive: waits still to skip spinning, how many the next failed spin skips, and
  // whether the last spin is still to be judged against the involuntary switches at its start.
  uint32_t spin_skip, spin_backoff;
  int spin_judge;
  long spin_preempted;
} poller_t;

// handle_new's word: the uv handle's `data`, first in uv_handle_t (poll_cb and the close callbacks
// cast the uv handle to the poller: it stays first).
_Static_assert(offsetof(poller_t, handle) == 0 && offsetof(uv_poll_t, data) == 0, "a poller begins with its kind word");

static void poller_unref(poller_t *p) {
  if (--p->refs == 0) free(p);
}

static void poller_handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  poller_unref(data);
}

#define DGRAM_BATCH 64

// Receive up to DGRAM_BATCH datagrams; returns how many slots were filled. A slot's
// length may exceed max_len (MSG_TRUNC reports the real size: the caller treats it as
// a protocol error), or be a negative errno, which ends the batch. In into mode a last slot
// with a negative offset is a datagram left queued (see poller_t.into_min).
static int32_t recv_batch(poller_t *p) {
  if (!p->area) return 0;
  uint8_t *area = p->area->data;
  int32_t *slots = p->slots->data;
  size_t cap = p->area->len, used = 0;
  int32_t count = 0, limit = DGRAM_BATCH;
  int fd = p->fd;
  if (p->budget) {
    int32_t b = *(int32_t *)p->budget->data;
    if (b > 0 && b < limit) limit = b;
  }
  // The peer's counter is read again before each recv, not once: a burst's events counted while
  // the batch runs are read in it (stopping at the first count cost a loop turn per few events).
  // 0 or less at the start means no budget; a truncated file reads as zeros (SIGBUS guard).
  const int32_t *counter = NULL;
  if (p->budget_map && !p->budget_map->unmapped) {
    counter = (const int32_t *)((const char *)p->budget_map->base + p->budget_off);
    if (__atomic_load_n(counter, __ATOMIC_RELAXED) <= 0) counter = NULL;
  }
  // Room for a maximum-size datagram (+1 to detect an oversized one) before each recv; else
  // for the next one as long as it is (its length peeked): after one event of over 64 KiB,
  // the rest of a backlog would otherwise wait one loop turn each, and corosync busy-retries
  // events that do not fit the socket at real-time priority meanwhile.
  while (count < limit) {
    if (counter && count >= __atomic_load_n(counter, __ATOMIC_RELAXED)) break;
    if (p->into_min > 0) {
      size_t head = (size_t)p->into_head;
      if (cap - used < head) break;
      ssize_t next;
      do next = recv(fd, area + used, head, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
      while (next < 0 && errno == EINTR);
      if (next < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (next > p->into_min && next <= p->max_len) {
        slots[2 * count] = -1 - (int32_t)used;
        slots[2 * count + 1] = (int32_t)next;
        count++;
        break;
      }
      // One that fits another batch waits for it; an error or an oversized one is received
      // below and reported as usual.
      if (next >= 0 && next <= p->max_len && (size_t)next + 1 > cap - used) break;
    } else if (cap - used < (size_t)p->max_len + 1) {
      ssize_t next;
      do next = recv(fd, NULL, 0, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
      while (next < 0 && errno == EINTR);
      if (next < 0 || (size_t)next + 1 > cap - used) break;
    }
    ssize_t r;
    do r = recv(fd, area + used, cap - used, MSG_DONTWAIT | MSG_TRUNC);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      slots[2 * count] = (int32_t)used;
      slots[2 * count + 1] = -errno;
      count++;
      break;
    }
    slots[2 * count] = (int32_t)used;
    slots[2 * count + 1] = r > INT32_MAX ? INT32_MAX : (int32_t)r;
    count++;
    if (r > p->max_len) break;
    used += ((size_t)r + 7) & ~(size_t)7;
  }
  return count;
}

static void answer_clear(answer_t *a) {
  free(a->req);
  free(a->res);
  for (int i = 0; i < 4; i++)
    if (a->m[i]) mapping_unref(a->m[i]);
  double answered = a->answered;
  int32_t debt = a->debt;
  memset(a, 0, sizeof(*a));
  a->answered = answered;
  a->debt = debt;
}

static int answer_live(const answer_t *a) {
  if (a->kind == ANSWER_NONE || __atomic_load_n(&answer_epoch, __ATOMIC_RELAXED) != a->epoch) return 0;
  for (int i = 0; i < 4; i++)
    if (a->m[i] && a->m[i]->unmapped) return 0;
  return 1;
}

// The socket transport: the request peeked, compared, answered, and only then taken, so that
// whatever is not answered here is still there for JS. 1: nothing left for JS.
static int answer_socket(poller_t *p) {
  answer_t *a = &p->answer;
  uint8_t buf[ANSWER_MAX_REQ + 1];
  int32_t *control = a->m[0]->base;
  for (int i = 0; i < DGRAM_BATCH; i++) {
    if (!answer_live(a)) return 0;
    // After an answer, the client's request counter says whether another one is queued (the
    // hint JS uses): no recv only to meet EAGAIN. Level-triggered epoll makes a wrong hint cost
    // a wake-up, never a request.
    if (i > 0 && __atomic_load_n(&control[0], __ATOMIC_SEQ_CST) <= 0) return 1;
    ssize_t r;
    do r = recv(p->fd, buf, a->req_len + 1, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
    while (r < 0 && errno == EINTR);
    if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    if ((size_t)r != a->req_len || memcmp(buf, a->req, a->req_len) != 0) return 0;
    ssize_t n;
    do n = send(p->fd, a->res, a->res_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    // No room (the client does not read), or a peer gone: JS meets the same and does what it does.
    if (n != (ssize_t)a->res_len) return 0;
    do r = recv(p->fd, buf, 1, MSG_DONTWAIT | MSG_TRUNC);
    while (r < 0 && errno == EINTR);
    __atomic_sub_fetch(&control[0], 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&control[2], 1, __ATOMIC_SEQ_CST);
    a->answered++;
  }
  return 1;
}

// The shm transport. A client posts each request's chunk on the request ring's semaphore, then
// sends its doorbell byte on the setup socket. A chunk posted is answered here whether its byte
// has come or not (a token taken, the chunk compared in place; the answer published, chunk,
// commit, sem_post, only when the response ring has room, the request chunk released before it;
// otherwise the token is given back), and the bytes are read only when no chunk is posted, all in
// one recv, so that the socket is readable again only for a request still to come. When the
// client posts its next request while we are preempted at the post that woke it (a plain
// process's usual shape), that request costs no recv. a->debt counts the bytes read less the
// chunks taken, as JS counts its requestDebt; JS gets it with the watcher's next callback. More
// bytes than chunks with none posted is a byte for a chunk JS took: JS settles it. 1: nothing
// left for JS.
static int answer_shm(poller_t *p) {
  answer_t *a = &p->answer;
  uint8_t bells[DGRAM_BATCH];
  for (int answered = 0; answered < DGRAM_BATCH;) {
    if (!answer_live(a)) return 0;
    uint32_t *qh = a->m[0]->base, *qw = a->m[1]->base, *sh = a->m[2]->base, *sw = a->m[3]->base;
    sem_t *qsem = (sem_t *)((char *)qh + a->sem_off), *ssem = (sem_t *)((char *)sh + a->sem_off);
    // The bytes owed are read at the latest once a batch's worth: a client that always has its
    // next request posted before we look would otherwise fill its socket with them, and a libqb
    // client retries a doorbell that does not fit forever.
    if (__atomic_load_n((int32_t *)qsem, __ATOMIC_SEQ_CST) <= 0 || a->debt <= -DGRAM_BATCH) {
      ssize_t r;
      do r = recv(p->fd, bells, sizeof(bells), MSG_DONTWAIT);
      while (r < 0 && errno == EINTR);
      if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      if (r == 0) return 0;
      a->debt += (int32_t)r;
      // a chunk posted since the look above (its byte may be among these)
      if (__atomic_load_n((int32_t *)qsem, __ATOMIC_SEQ_CST) > 0) continue;
      if (a->debt > 0) return 0;
      // fewer than asked for: the socket is empty, wait for the next byte (a full read: more may wait)
      if ((size_t)r < sizeof(bells)) return 1;
      continue;
    }
    uint32_t qws = ring_words(a->m[1]->len), sws = ring_words(a->m[3]->len);
    if (qws == 0 || sws == 0 || sem_trywait(qsem) != 0) return 0;
    int faults = atomic_load(&sigbus_faults[0]);
    uint32_t qr = __atomic_load_n(&qh[1], __ATOMIC_SEQ_CST), qwp = __atomic_load_n(&qh[0], __ATOMIC_SEQ_CST);
    uint32_t sw_ = __atomic_load_n(&sh[0], __ATOMIC_SEQ_CST), sr = __atomic_load_n(&sh[1], __ATOMIC_SEQ_CST);
    int ok = qr < qws && qwp < qws && sw_ < sws && sr < sws;
    uint32_t magic_idx = ok ? (qr + 1) % qws : 0;
    ok = ok && __atomic_load_n(&qw[magic_idx], __ATOMIC_SEQ_CST) == RB_MAGIC_COMMITTED && qw[qr] == a->req_len &&
         2 + (a->req_len + 3) / 4 <= (qwp - qr + qws) % qws &&
         memcmp((uint8_t *)qw + (size_t)((qr + 2) % qws) * 4, a->req, a->req_len) == 0;
    // Room in the response ring, as ringWrite counts it; the client only frees more.
    ok = ok && ring_free_words(sw_, sr, sws, ssem) * 4 >= (uint64_t)a->res_len + 12;
    if (!ok || atomic_load(&sigbus_faults[0]) != faults) {
      sem_post(qsem);
      return 0;
    }
    ring_release(qh, qw, qws, qr, a->req_len);
    ring_publish(sh, sw, sws, sw_, a->res, a->res_len);
    sem_post(ssem);
    a->debt--;
    a->answered++;
    answered++;
  }
  return 1;
}

// Answers given in one callback before the loop gets a turn whatever else is ready (the waits
// below end after the answer that passes it): a client that always has its next repeat queued
// (pipelining) gets about these per loop turn, as many as one answer_* call gives at most.
#define ANSWER_HOLD_MAX DGRAM_BATCH

// After the repeats queued are answered: wait here, in the callback, for this watcher's next
// request or for anything else of the loop, instead of returning to the loop to wait in its
// epoll_wait. Node's loop turn around one wake-up (its check phase's native immediates and
// callback scope, the prepare and idle phases, libuv's bookkeeping) cost more instructions
// than the answer itself (callgrind of the mock's loop thread: ~1,350 per turn in
// CheckImmediate alone), and corosync's loop does none of that between two requests. The
// loop's own work still wakes this wait: its epoll fd is readable when any of its watchers is
// ready (async handles, signals, other connections; this watcher's fd is in it too, so ours
// being readable says nothing of the others: one answer is given first, and the next wait
// sees the others alone), and its timeout is the loop's (0 when an idle handle, a pending
// callback or a closing handle is waiting, or a timer is due). It is 0 too while a watcher
// started earlier in this loop turn (JS in an earlier callback of its batch, a connection just
// accepted) waits for the loop to add its fd to epoll (libuv does that before its epoll_wait),
// whose readiness would not end the wait: uv_backend_timeout() says so since libuv 1.44, older
// than any Node this package supports bundles.
// Before that wait sleeps, it spins for the next request (answer_spin): a client that sleeps for
// its answer, and a server that sleeps for the next request, each cost a wake-up of the other's
// vCPU, and on a VM whose idle vCPUs halt that is most of a GET (~30 µs each way; bench/README.md,
// "The mock's GETs: spinning for the next request"). corosync avoids it by running at RT priority,
// preempting its client on the client's vCPU; a plain process cannot, but seeing a request the
// moment it is posted (in shared memory, before its doorbell or its wake-up) answers it before
// the client waits for it, so that neither sleeps. Bounded: at most SPIN_NS per wait, only right
// after an answer, and a spin that sees nothing skips the next 1, 2, 4 ... SPIN_SKIP_MAX waits'
// spins (a client that thinks between calls, or one that cannot run while we spin on its vCPU,
// costs one spin per that many requests), so a server without quick clients does not spin.
#define SPIN_NS 50000
#define SPIN_SKIP_MAX 1024
// Polls of the fds (the loop's other work, a readable fd the shared words say nothing of) and
// clock reads, in spin iterations: about every 5 µs and 0.5 µs.
#define SPIN_POLL_EVERY 64
#define SPIN_CLOCK_EVERY 8

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

// Whether the client has posted a request: socket, its request counter in the control file (raised
// once the datagram is sent); shm, the request ring's semaphore (posted before the doorbell byte).
static int answer_posted(const answer_t *a) {
  const int32_t *w = a->kind == ANSWER_SOCKET ? (const int32_t *)a->m[0]->base : (const int32_t *)((const char *)a->m[0]->base + a->sem_off);
  return __atomic_load_n(w, __ATOMIC_ACQUIRE) > 0;
}

// 1: this fd is readable (or a request posted), 0: the loop has other work, -1: neither, in time.
static int wait_result(const struct pollfd *fds) {
  return fds[0].revents == POLLIN && !(fds[1].revents & ~POLLIN);
}

static int answer_spin(poller_t *p, struct pollfd *fds) {
  uint64_t end = mono_ns() + SPIN_NS;
  for (uint32_t i = 1;; i++) {
    if (!answer_live(&p->answer)) return -1;
    if (answer_posted(&p->answer)) return 1;
    if (i % SPIN_POLL_EVERY == 0) {
      int n = poll(fds, 2, 0);
      if (n != 0) return n > 0 && wait_result(fds);
    }
    if (i % SPIN_CLOCK_EVERY == 0 && mono_ns() >= end) return -1;
    cpu_relax();
  }
}

// Involuntary switches of this thread so far: a spin that got its request but was preempted by
// the time of the next spin (judged then, after the answer) took a vCPU that was wanted, by the
// client or by other work (a plain process beside busy loops), and counts as one that saw nothing.
static long thread_preempted(void) {
  struct rusage ru;
  return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : -1;
}

static void spin_back_off(poller_t *p) {
  p->spin_backoff = p->spin_backoff == 0 ? 1 : p->spin_backoff >= SPIN_SKIP_MAX / 2 ? SPIN_SKIP_MAX : 2 * p->spin_backoff;
  p->spin_skip = p->spin_backoff;
}

static int answer_spin_adaptive(poller_t *p, struct pollfd *fds) {
  long now = -1;
  if (p->spin_judge) {
    p->spin_judge = 0;
    now = thread_preempted();
    if (now != p->spin_preempted) spin_back_off(p);
    else p->spin_backoff = 0;
  }
  if (p->spin_skip > 0) {
    p->spin_skip--;
    return -1;
  }
  if (now < 0) now = thread_preempted();
  int s = answer_spin(p, fds);
  if (s > 0) {
    p->spin_judge = 1;
    p->spin_preempted = now;
  }
  if (s < 0) spin_back_off(p);
  return s;
}

// spin: the last answer_* call answered (a spin only follows an answer: a posted request it could
// not answer, or a hint without a datagram, must not make it spin on the same words again).
// hold: the loop's turn is due (ANSWER_HOLD_MAX answers given): spin, never sleep, so that the
// loop's epoll_wait finds the next request there rather than sleeping for it; a spin before that
// turn asks only whether the loop has work now, not how long it may wait.
// 1: this fd is readable, or a request is posted.
static int answer_wait(poller_t *p, int spin, int hold) {
  uv_loop_t *loop = p->handle.loop;
  if (!hold) uv_update_time(loop);
  else if (!spin || !answer_live(&p->answer)) return 0;
  int timeout = uv_backend_timeout(loop);
  if (timeout == 0) return 0;
  struct pollfd fds[2] = {{.fd = p->fd, .events = POLLIN}, {.fd = uv_backend_fd(loop), .events = POLLIN}};
  if (spin) {
    int s = answer_spin_adaptive(p, fds);
    if (s >= 0 || hold) return s > 0;
  }
  // A signal (Node's handlers write to a pipe the loop watches) ends the wait: the loop sees it.
  if (poll(fds, 2, timeout) <= 0) return 0;
  return wait_result(fds);
}

static void poll_cb(uv_poll_t *h, int status, int events) {
  poller_t *p = (poller_t *)h;
  napi_env env = p->env;
  int32_t count = 0;
  int dgram = p->area != NULL;
  if (p->answer.kind != ANSWER_NONE && status == 0 && events == UV_READABLE) {
    double first = p->answer.answered, before = first;
    for (;;) {
      if (!(p->answer.kind == ANSWER_SOCKET ? answer_socket(p) : answer_shm(p))) break;
      int answered = p->answer.answered > before;
      before = p->answer.answered;
      int hold = p->answer.answered - first >= ANSWER_HOLD_MAX;
      if (!answer_wait(p, answered, hold) || hold) return;
    }
  }
  if (dgram && status == 0 && (events & UV_READABLE)) {
    count = recv_batch(p);
    // Nothing there (another reader got it, or a spurious wake-up) and nothing else to say.
    if (count == 0 && events == UV_READABLE) return;
  }
  // A shm setup socket: the doorbell count of what answer_shm read and took (JS adds it to its own)
  if (!dgram) {
    count = p->answer.debt;
    p->answer.debt = 0;
  }
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, argv[3];
  napi_get_reference_value(env, p->cb, &cb);
  // napi_make_callback converts the receiver to an object: undefined would throw.
  napi_get_global(env, &recv);
  napi_create_int32(env, status, &argv[0]);
  napi_create_int32(env, events, &argv[1]);
  napi_create_int32(env, count, &argv[2]);
  // make_callback so microtasks (promise resolutions) run right after, as for Node's own I/O.
  napi_make_callback(env, p->ctx, recv, cb, 3, argv, NULL);
  rethrow_pending(env);
  napi_close_handle_scope(env, scope);
}

static void poll_closed(uv_handle_t *h) {
  poller_t *p = (poller_t *)h;
  answer_clear(&p->answer);
  napi_async_destroy(p->env, p->ctx);
  napi_delete_reference(p->env, p->cb);
  pinned_drop(p->area);
  pinned_drop(p->slots);
  pinned_drop(p->budget);
  p->area = p->slots = p->budget = NULL;
  if (p->budget_map) mapping_unref(p->budget_map);
  p->budget_map = NULL;
  poller_unref(p);
}

static napi_value make_poller(napi_env env, int32_t fd, napi_value cbv, poller_t **out);

// The env goes away with the handle open (a worker_threads Worker that ends or is terminated
// with a connection open, or whose process exits): the loop would otherwise go on calling
// poll_cb with that env gone (a SIGSEGV). The handle is closed here; its JS references go with
// the env, so the close callback only frees the rest, whenever the loop runs it.
static void poll_closed_teardown(uv_handle_t *h) {
  poller_t *p = (poller_t *)h;
  answer_clear(&p->answer);
  pinned_drop(p->area);
  pinned_drop(p->slots);
  pinned_drop(p->budget);
  p->area = p->slots = p->budget = NULL;
  if (p->budget_map) mapping_unref(p->budget_map);
  p->budget_map = NULL;
  poller_unref(p);
}

static void poller_env_cleanup(void *arg) {
  poller_t *p = arg;
  p->hooked = 0;
  if (p->closed) return;
  p->closed = 1;
  uv_close((uv_handle_t *)&p->handle, poll_closed_teardown);
}

static void poller_unhook(poller_t *p) {
  if (!p->hooked) return;
  p->hooked = 0;
  napi_remove_env_cleanup_hook(p->env, poller_env_cleanup, p);
}

static napi_value n_poll(napi_env env, napi_callback_info info) {
  napi_value a[2];
  int32_t fd;
  if (get_args(env, info, 2, a) || arg_int(env, a[0], &fd)) return NULL;
  return make_poller(env, fd, a[1], NULL);
}

// pollDgram(fd, callback(status, events, count), area, slots, maxLen, budget | undefined
// [, budgetMapping, budgetOffset]) -> handle: a poller that receives datagrams itself (see
// recv_batch). area, slots and budget are pinned() buffers: maxLen + 1 bytes at least, 128 int32
// slots, one int32. Without a pinned budget, the int32 at byte budgetOffset (4-aligned) of an
// mmap() mapping serves as one. The callback must copy what it keeps out of `area` before
// returning.
static napi_value n_poll_dgram(napi_env env, napi_callback_info info) {
  napi_value a[8];
  size_t argc = 8;
  int32_t fd, max_len;
  if (get_args_min(env, info, 6, &argc, a)) return NULL;
  if (arg_int(env, a[0], &fd) || arg_int(env, a[4], &max_len)) return NULL;
  mapping_t *budget_map = NULL;
  size_t budget_off = 0;
  napi_valuetype t;
  if (napi_typeof(env, a[6], &t) != napi_ok) return NULL;
  if (t != napi_undefined) {
    napi_value ab;
    int64_t off;
    budget_map = mapping_arg(env, a[6], &ab);
    if (!budget_map) return NULL;
    int e = arg_len(env, a[7], &off);
    if (e == -1) return NULL;
    if (e < 0 || budget_map->unmapped || (off & 3) != 0 || (uint64_t)off + sizeof(int32_t) > budget_map->len) {
      napi_throw_range_error(env, NULL, "corosync-ts ipc native: pollDgram's budget word must be an aligned int32 inside a live mapping");
      return NULL;
    }
    budget_off = (size_t)off;
  }
  static const char short_msg[] = "corosync-ts ipc native: pollDgram needs pinned buffers: an area of maxLen + 1 bytes and 128 slots";
  if (max_len < 0) {
    napi_throw_range_error(env, NULL, short_msg);
    return NULL;
  }
  pinned_t *area = pinned_take(env, a[2], (size_t)max_len + 1, short_msg);
  pinned_t *slots = area ? pinned_take(env, a[3], 2 * DGRAM_BATCH * sizeof(int32_t), short_msg) : NULL;
  pinned_t *budget = NULL;
  int ok = slots != NULL;
  if (ok && napi_typeof(env, a[5], &t) == napi_ok && t != napi_undefined) {
    budget = pinned_take(env, a[5], sizeof(int32_t), "corosync-ts ipc native: pollDgram's budget needs 4 bytes");
    ok = budget != NULL;
  }
  poller_t *p = NULL;
  napi_value h = NULL;
  if (ok) h = make_poller(env, fd, a[1], &p);
  if (!p) {
    pinned_drop(area);
    pinned_drop(slots);
    pinned_drop(budget);
    return h;
  }
  p->max_len = max_len;
  p->area = area;
  p->slots = slots;
  p->budget = budget;
  if (budget_map) {
    budget_map->refs++;
    p->budget_map = budget_map;
    p->budget_off = budget_off;
  }
  return h;
}

static napi_value make_poller(napi_env env, int32_t fd, napi_value cbv, poller_t **out) {
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  poller_t *p = calloc(1, sizeof(*p));
  if (!p) return make_int(env, -ENOMEM);
  int r = uv_poll_init(loop, &p->handle, fd);
  if (r < 0) {
    free(p);
    return make_int(env, r);
  }
  p->env = env;
  p->fd = fd;
  p->refs = 1;
  napi_create_reference(env, cbv, 1, &p->cb);
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "corosync-ts:ipc", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &p->ctx);
  napi_value ext;
  p->refs++;
  int e = handle_new(env, p, poller_handle_finalize, H_POLLER, &ext, "corosync-ts ipc native: cannot create a poller handle");
  if (e) {
    if (e == -1) p->refs--;
    p->closed = 1;
    uv_close((uv_handle_t *)&p->handle, poll_closed);
    return NULL;
  }
  if (napi_add_env_cleanup_hook(env, poller_env_cleanup, p) == napi_ok) p->hooked = 1;
  if (out) *out = p;
  return ext;
}

// The poller handle_arg or handle_arg_hot found if it is not closed (NULL: they threw).
static poller_t *poller_open(napi_env env, poller_t *p) {
  if (!p) return NULL;
  if (p->closed) {
    napi_throw_error(env, NULL, "corosync-ts ipc native: poller already closed");
    return NULL;
  }
  return p;
}

static napi_value n_poll_start(napi_env env, napi_callback_info info) {
  napi_value a[2];
  int32_t ev;
  if (get_args(env, info, 2, a) || arg_int(env, a[1], &ev)) return NULL;
  poller_t *p = poller_open(env, handle_arg(env, a[0], H_POLLER));
  if (!p) return NULL;
  int r = ev ? uv_poll_start(&p->handle, ev, poll_cb) : uv_poll_stop(&p->handle);
  return make_int(env, r);
}

// pollWait(handle, timeoutNs, recvFirst = true) -> datagrams received into the watcher's
// area/slots (as for its callback): what is queued, or else what comes within timeoutNs, slept
// for in ppoll on the fd (the daemon's send wakes us directly, as it wakes libcmap blocked in
// poll: no CPU while asleep, no loop turn). recvFirst false (the caller's hint says nothing is
// queued yet) goes to ppoll without the recv that would only say EAGAIN: ppoll returns at once
// if something came meanwhile.
static napi_value n_poll_wait(napi_env env, napi_callback_info info) {
  napi_value a[3];
  size_t argc = 3;
  int32_t timeout_ns;
  bool recv_first = true;
  if (get_args_min(env, info, 2, &argc, a)) return NULL;
  if (arg_int(env, a[1], &timeout_ns)) return NULL;
  if (argc > 2 && napi_get_value_bool(env, a[2], &recv_first) != napi_ok) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected a boolean");
    return NULL;
  }
  poller_t *p = poller_open(env, handle_arg_hot(env, a[0], H_POLLER));
  if (!p) return NULL;
  if (!p->area) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: pollWait needs a datagram poller");
    return NULL;
  }
  if (timeout_ns > LOOP_WAIT_MAX_NS) timeout_ns = LOOP_WAIT_MAX_NS;
  int32_t count = 0;
  if (recv_first || timeout_ns <= 0) {
    count = recv_batch(p);
    if (count > 0 || timeout_ns <= 0) return make_int(env, count);
  }
  struct pollfd pfd = {p->fd, POLLIN, 0};
  struct timespec ts = {0, timeout_ns};
  if (ppoll(&pfd, 1, &ts, NULL) > 0) count = recv_batch(p);
  return make_int(env, count);
}

// pollInto(handle, min, head): into mode for a datagram poller (poller_t.into_min), min 0 turns
// it off. head: how many of a datagram's first bytes are peeked (1..maxLen + 1).
static napi_value n_poll_into(napi_env env, napi_callback_info info) {
  napi_value a[3];
  int32_t min, head;
  if (get_args(env, info, 3, a) || arg_int(env, a[1], &min) || arg_int(env, a[2], &head)) return NULL;
  poller_t *p = poller_open(env, handle_arg(env, a[0], H_POLLER));
  if (!p) return NULL;
  if (!p->area || min < 0 || head < 1 || head > p->max_len + 1) return make_int(env, -EINVAL);
  p->into_min = min;
  p->into_head = head;
  return make_int(env, 0);
}

// pollAnswer(handle, request, response, mappings, semOffset) arms the watcher's answer (see
// answer_t): mappings are [control file] (socket) or [request header, request data, response
// header, response data] (shm). pollAnswer(handle) disarms it. -> 0, or -EINVAL for what it does
// not take (then nothing is armed).
static napi_value n_poll_answer(napi_env env, napi_callback_info info) {
  napi_value a[5];
  size_t argc = 5;
  if (get_args_min(env, info, 1, &argc, a)) return NULL;
  poller_t *p = poller_open(env, handle_arg(env, a[0], H_POLLER));
  if (!p) return NULL;
  answer_clear(&p->answer);
  napi_valuetype t;
  if (argc < 4 || napi_typeof(env, a[1], &t) != napi_ok || t == napi_undefined) return make_int(env, 0);
  uint8_t *req, *res;
  size_t req_len, res_len;
  uint32_t n;
  int32_t sem_off = 0;
  if (arg_bytes(env, a[1], &req, &req_len) || arg_bytes(env, a[2], &res, &res_len)) return NULL;
  if (napi_get_array_length(env, a[3], &n) != napi_ok || (n != 1 && n != 4)) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: pollAnswer takes 1 or 4 mappings");
    return NULL;
  }
  if (n == 4 && (argc < 5 || arg_int(env, a[4], &sem_off))) return NULL;
  if (req_len == 0 || req_len > ANSWER_MAX_REQ || res_len == 0 || res_len > ANSWER_MAX_RES) return make_int(env, -EINVAL);
  mapping_t *m[4] = {NULL, NULL, NULL, NULL};
  for (uint32_t i = 0; i < n; i++) {
    napi_value v, ab;
    if (napi_get_element(env, a[3], i, &v) != napi_ok || !(m[i] = mapping_arg(env, v, &ab))) return NULL;
    if (m[i]->unmapped) return make_int(env, -EINVAL);
  }
  if (n == 1 && m[0]->len < 12) return make_int(env, -EINVAL);
  if (n == 4 && (sem_off < 0 || (sem_off & 7) || (size_t)sem_off + sizeof(sem_t) > m[0]->len || (size_t)sem_off + sizeof(sem_t) > m[2]->len ||
                 m[0]->len < 8 || m[2]->len < 8 || ring_words(m[1]->len) == 0 || ring_words(m[3]->len) == 0))
    return make_int(env, -EINVAL);
  answer_t *an = &p->answer;
  an->req = malloc(req_len);
  an->res = malloc(res_len);
  if (!an->req || !an->res) {
    answer_clear(an);
    return make_int(env, -ENOMEM);
  }
  memcpy(an->req, req, req_len);
  memcpy(an->res, res, res_len);
  an->req_len = (uint32_t)req_len;
  an->res_len = (uint32_t)res_len;
  an->sem_off = sem_off;
  for (uint32_t i = 0; i < n; i++) {
    m[i]->refs++;
    an->m[i] = m[i];
  }
  an->epoch = __atomic_load_n(&answer_epoch, __ATOMIC_RELAXED);
  an->kind = n == 1 ? ANSWER_SOCKET : ANSWER_SHM;
  return make_int(env, 0);
}

// pollAnswered(handle) -> requests answered by the watcher since the last call.
static napi_value n_poll_answered(napi_env env, napi_callback_info info) {
  napi_value a[1], r;
  if (get_args(env, info, 1, a)) return NULL;
  // A closed poller too: what it answered before its close is still to be counted.
  poller_t *p = handle_arg(env, a[0], H_POLLER);
  if (!p) return NULL;
  double n = p->answer.answered;
  p->answer.answered = 0;
  napi_create_double(env, n, &r);
  return r;
}

// answerInvalidate(): every armed answer of the process stops (JS arms again what still holds).
static napi_value n_answer_invalidate(napi_env env, napi_callback_info info) {
  (void)info;
  __atomic_add_fetch(&answer_epoch, 1, __ATOMIC_RELAXED);
  return make_int(env, 0);
}

// Unregisters from epoll synchronously, so the fd may be closed right after. Repeat
// calls (and calls after the close completed) do nothing.
static napi_value n_poll_close(napi_env env, napi_callback_info info) {
  napi_value a[1];
  if (get_args(env, info, 1, a)) return NULL;
  poller_t *p = handle_arg(env, a[0], H_POLLER);
  if (!p) return NULL;
  if (!p->closed) {
    p->closed = 1;
    poller_unhook(p);
    uv_close((uv_handle_t *)&p->handle, poll_closed);
  }
  return make_int(env, 0);
}

// ---------------------------------------------------------------- loop turns
// loopTurns() -> ArrayBuffer over an int32 that a uv_check handle of the calling env's loop
// raises once per loop iteration, after its poll phase (where setImmediate callbacks run):
// JS tells that the loop turned by a plain load instead of a setImmediate per turn, which
// cost a round trip an Immediate, a JS entry with async_hooks' bookkeeping, and a poll phase
// that could not sleep (epoll_wait with timeout 0, then another loop iteration). The handle is
// unreferenced: it never keeps the loop alive. One per env, started on the first call.
typedef struct {
  uv_check_t handle;
  int32_t count;
  // Owners: the ArrayBuffer (its finalizer) and the uv handle (until its close callback).
  int refs;
} turns_t;

static void turns_unref(turns_t *t) {
  if (--t->refs == 0) free(t);
}

static void turns_tick(uv_check_t *h) {
  turns_t *t = (turns_t *)h;
  // Wraps at 2^31 as JS's int32 view does; only a change is ever looked at.
  t->count = (int32_t)((uint32_t)t->count + 1);
}

static void turns_closed(uv_handle_t *h) {
  turns_unref((turns_t *)h);
}

static void turns_buffer_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  turns_unref(hint);
}

// The env goes (a Worker ends): its loop must not keep calling into a handle nobody owns.
static void turns_env_cleanup(void *arg) {
  uv_close((uv_handle_t *)&((turns_t *)arg)->handle, turns_closed);
}

static napi_value n_loop_turns(napi_env env, napi_callback_info info) {
  (void)info;
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  turns_t *t = calloc(1, sizeof(*t));
  if (!t) return make_int(env, -ENOMEM);
  int r = uv_check_init(loop, &t->handle);
  if (r < 0) {
    free(t);
    return make_int(env, r);
  }
  uv_unref((uv_handle_t *)&t->handle);
  uv_check_start(&t->handle, turns_tick);
  t->refs = 1;
  if (napi_add_env_cleanup_hook(env, turns_env_cleanup, t) != napi_ok) {
    uv_close((uv_handle_t *)&t->handle, turns_closed);
    clear_pending(env);
    return make_int(env, -ENOMEM);
  }
  napi_value ab;
  t->refs++;
  if (napi_create_external_arraybuffer(env, &t->count, sizeof(t->count), turns_buffer_finalize, t, &ab) != napi_ok) {
    // As for pinned(): Node ran the finalizer itself if it refused after taking the buffer.
    if (t->refs == 2) t->refs--;
    clear_pending(env);
    return make_int(env, -ENOMEM);
  }
  return ab;
}

static napi_value n_netns_unshare(napi_env env, napi_callback_info info);
static napi_value n_netns_enter(napi_env env, napi_callback_info info);
static napi_value n_sched_round_robin(napi_env env, napi_callback_info info);
static napi_value n_capture_lines(napi_env env, napi_callback_info info);
static napi_value n_capture_line(napi_env env, napi_callback_info info);
static napi_value n_capture_gzip(napi_env env, napi_callback_info info);
static napi_value n_capture_gzip_bound(napi_env env, napi_callback_info info);

#define EXPORT(name, fn)                                         \
  do {                                                           \
    napi_value f;                                                \
    CHECK(napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f)); \
    CHECK(napi_set_named_property(env, exports, name, f));       \
  } while (0)

// The addon is never unloaded. Node dlcloses an addon with its last env: a worker_threads
// Worker that loaded it (the main thread never did) and ends. What outlives the env would then
// run unmapped code or read unmapped data: the SIGBUS handler stays installed (sigaction is
// process-wide), JS may hold the fault counter (static here), and a closed uv handle's callback
// or a stopping waiter thread may still be on their way out. One reference that dlclose never
// drops (RTLD_NODELETE) keeps it mapped until the process ends.
static void pin_addon(void) {
  Dl_info info;
  if (dladdr((void *)pin_addon, &info) && info.dli_fname) dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

static napi_value init(napi_env env, napi_value exports) {
  static pthread_once_t pinned_once = PTHREAD_ONCE_INIT;
  pthread_once(&pinned_once, pin_addon);
  // Its own allocation per load: Node refuses the same (hook, arg) twice in one env.
  napi_env *hook_env = malloc(sizeof(*hook_env));
  if (!hook_env) {
    napi_throw_error(env, "ERR_CS_IPC_NATIVE", "corosync-ts ipc native: out of memory");
    return NULL;
  }
  *hook_env = env;
  if (napi_add_env_cleanup_hook(env, fds_env_cleanup, hook_env) != napi_ok) {
    free(hook_env);
    napi_throw_error(env, "ERR_CS_IPC_NATIVE", "corosync-ts ipc native: cannot register the env cleanup hook");
    return NULL;
  }
  EXPORT("socket", n_socket);
  EXPORT("bind", n_bind);
  EXPORT("connect", n_connect);
  EXPORT("listen", n_listen);
  EXPORT("accept", n_accept);
  EXPORT("close", n_close);
  EXPORT("shutdown", n_shutdown);
  EXPORT("setPassCred", n_set_passcred);
  EXPORT("setBufSize", n_set_bufsize);
  EXPORT("peerCred", n_peer_cred);
  EXPORT("send", n_send);
  EXPORT("sendBatch", n_send_batch);
  EXPORT("sendv", n_sendv);
  EXPORT("recvInto", n_recv_into);
  EXPORT("recvDgramInto", n_recv_dgram_into);
  EXPORT("recvCred", n_recv_cred);
  EXPORT("fallocate", n_fallocate);
  EXPORT("mmap", n_mmap);
  EXPORT("munmap", n_munmap);
  EXPORT("mappingFaulted", n_mapping_faulted);
  EXPORT("sigbusCounter", n_sigbus_counter);
  EXPORT("openShm", n_open_shm);
  EXPORT("unlinkShm", n_unlink_shm);
  EXPORT("shmOwn", n_shm_own);
  EXPORT("semInit", n_sem_init);
  EXPORT("semPost", n_sem_post);
  EXPORT("semTryWait", n_sem_trywait);
  EXPORT("semWaiter", n_sem_waiter);
  EXPORT("waiterWant", n_waiter_want);
  EXPORT("waiterStop", n_waiter_stop);
  EXPORT("waiterWaitTake", n_waiter_wait_take);
  EXPORT("waiterRing", n_waiter_ring);
  EXPORT("semTakeMany", n_sem_take_many);
  EXPORT("ringReadMany", n_ring_read_many);
  EXPORT("ringWriter", n_ring_writer);
  EXPORT("ringWrite", n_ring_write);
  EXPORT("poll", n_poll);
  EXPORT("pinned", n_pinned);
  EXPORT("pollDgram", n_poll_dgram);
  EXPORT("pollStart", n_poll_start);
  EXPORT("pollAnswer", n_poll_answer);
  EXPORT("pollAnswered", n_poll_answered);
  EXPORT("answerInvalidate", n_answer_invalidate);
  EXPORT("pollWait", n_poll_wait);
  EXPORT("pollInto", n_poll_into);
  EXPORT("pollClose", n_poll_close);
  EXPORT("loopTurns", n_loop_turns);
  EXPORT("netnsUnshare", n_netns_unshare);
  EXPORT("netnsEnter", n_netns_enter);
  EXPORT("schedRoundRobin", n_sched_round_robin);
  EXPORT("captureLines", n_capture_lines);
  EXPORT("captureLine", n_capture_line);
  EXPORT("captureGzip", n_capture_gzip);
  EXPORT("captureGzipBound", n_capture_gzip_bound);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

// ---------------------------------------------------------------- network namespaces
// For corosync-tap (@corosync-ts/tap). A socket belongs to the network namespace of
// the thread that creates it, and abstract names are looked up there: a thread that
// moves to another namespace makes its later sockets serve (or reach) that one. Only
// CLONE_NEWNET, which Linux allows per thread in a multithreaded process. Both return
// 0 or -errno and affect the calling thread only.
#include <sched.h>

static napi_value n_netns_unshare(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_int32(env, unshare(CLONE_NEWNET) == 0 ? 0 : -errno, &r);
  return r;
}

// netnsEnter(fd): setns(2) to the namespace of an open /proc/.../ns/net (or
// /run/netns/NAME) file; refuses an fd that is not a network namespace (EINVAL).
static napi_value n_netns_enter(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: netnsEnter(fd) needs an fd");
    return NULL;
  }
  napi_value r;
  napi_create_int32(env, setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno, &r);
  return r;
}

// ---------------------------------------------------------------- realtime scheduling
// For a server that asks to be scheduled as corosync schedules itself (main.c: SCHED_RR
// at sched_get_priority_max unless -p). corosync asks before it creates any thread, so all
// of its threads run SCHED_RR; Node has started its V8 platform workers (GC, compilation)
// long before JS can ask. sched_setscheduler(0, ...) would change the calling thread only,
// and a loop thread at RR 99 that waits for a GC worker left at SCHED_OTHER waits behind
// every busy process of the machine. So every thread of the process changes. Needs
// CAP_SYS_NICE, or an RLIMIT_RTPRIO of at least the priority.
#include <dirent.h>
#include <sys/syscall.h>

// Every thread of the process but `self` to `sp`; passes again while a pass finds a thread
// the previous one did not (one being created inherits its creator's policy, which may not
// have changed yet). 0, or the -errno of the first thread that refused (the calling thread
// and those before it stay changed; the kernel that let the calling thread change lets the
// others, so this is a process without /proc). ESRCH is a thread that exited meanwhile.
static int sched_other_threads(pid_t self, const struct sched_param *sp) {
  for (int pass = 0; pass < 8; pass++) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -errno;
    int changed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      char *end;
      long tid = strtol(e->d_name, &end, 10);
      if (*end || tid <= 0 || tid == self) continue;
      struct sched_param cur;
      if (sched_getscheduler((pid_t)tid) == SCHED_RR && sched_getparam((pid_t)tid, &cur) == 0 &&
          cur.sched_priority == sp->sched_priority)
        continue;
      if (sched_setscheduler((pid_t)tid, SCHED_RR, sp) != 0) {
        if (errno == ESRCH) continue;
        int err = -errno;
        closedir(d);
        return err;
      }
      changed = 1;
    }
    closedir(d);
    if (!changed) return 0;
  }
  return 0;
}

// schedRoundRobin(priority) -> the priority set, or -errno; priority <= 0 means the
// highest SCHED_RR allows (99 on Linux), as corosync asks; one above it is EINVAL. The
// calling thread first: if the kernel refuses it, no thread has changed.
static napi_value n_sched_round_robin(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t prio = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &prio) != napi_ok) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: schedRoundRobin(priority) needs a number");
    return NULL;
  }
  int res;
  int max = sched_get_priority_max(SCHED_RR);
  if (max < 0) {
    res = -errno;
  } else {
    struct sched_param sp = { .sched_priority = prio <= 0 ? max : prio };
    if (sched_setscheduler(0, SCHED_RR, &sp) != 0) res = -errno;
    else {
      int e = sched_other_threads((pid_t)syscall(SYS_gettid), &sp);
      res = e < 0 ? e : sp.sched_priority;
    }
  }
  napi_value r;
  napi_create_int32(env, res, &r);
  return r;
}

// ---------------------------------------------------------------- capture lines
// For the capture writer's thread (src/capture.ts): the ring of entries the recorded thread
// fills becomes JSON Lines here, because building them in JS (hex above all) was most of the
// recorder's cost. Only the bytes-to-text step: which entries exist, when the thread runs, the
// gzip and the write stay in TypeScript. The ring comes from our own recorded thread, yet every
// entry is bounds-checked: a bad one is -EINVAL, never a read outside the ring.

// A ring entry, as capture.ts writes it: i32 kind, i32 bytes, i32 text, i32 spare, f64 t, then
// `text` bytes of line middle (or whole line) and `bytes` bytes of frame, padded to 8 bytes.
#define CAP_HDR 24
#define CAP_INLINE (-1)
#define CAP_TEXT (-2)
#define CAP_PREFIX (-3)
#define CAP_BIG (-4)
#define CAP_WRAP (-5)
// Room for '{"t":', a sign, 20 digits and '"}\n' around a frame line's middle and hex.
#define CAP_LINE_EXTRA 32

static uint16_t cap_hex2[256];
static pthread_once_t cap_hex_once = PTHREAD_ONCE_INIT;

static void cap_hex_init(void) {
  static const char digits[] = "0123456789abcdef";
  for (int b = 0; b < 256; b++) {
    const uint8_t pair[2] = { (uint8_t)digits[b >> 4], (uint8_t)digits[b & 15] };
    memcpy(&cap_hex2[b], pair, 2);
  }
}

// The hex of n bytes at o (2n bytes). The hex is most of a line and most of the writer thread's
// time before the gzip: with SSE2 (every x86-64) 16 bytes at a time, each nibble made a digit by
// adding '0', and 'a' - '0' - 10 more where it is above 9; the table for the rest.
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
static uint8_t *cap_hex(uint8_t *o, const uint8_t *src, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i low4 = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9);
  const __m128i zero = _mm_set1_epi8('0'), past9 = _mm_set1_epi8('a' - '0' - 10);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128((const __m128i *)(src + i));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4);
    __m128i lo = _mm_and_si128(v, low4);
    hi = _mm_add_epi8(_mm_add_epi8(hi, zero), _mm_and_si128(_mm_cmpgt_epi8(hi, nine), past9));
    lo = _mm_add_epi8(_mm_add_epi8(lo, zero), _mm_and_si128(_mm_cmpgt_epi8(lo, nine), past9));
    _mm_storeu_si128((__m128i *)(o + 2 * i), _mm_unpacklo_epi8(hi, lo));
    _mm_storeu_si128((__m128i *)(o + 2 * i + 16), _mm_unpackhi_epi8(hi, lo));
  }
#endif
  for (; i < n; i++) memcpy(o + 2 * i, &cap_hex2[src[i]], 2);
  return o + 2 * n;
}

static size_t cap_line_size(size_t mid_len, size_t n) {
  return CAP_LINE_EXTRA + mid_len + 2 * n;
}

// One frame line at `o`, which has cap_line_size() bytes of room: its end. t is rounded as
// Math.round rounds the times JS hands over (ns since the capture's start).
static uint8_t *cap_write_line(uint8_t *o, double t, const uint8_t *mid, size_t mid_len, const uint8_t *src, size_t n) {
  memcpy(o, "{\"t\":", 5);
  o += 5;
  // floor(t + 0.5) without libm; NaN and times beyond int64 are 0.
  const double h = t + 0.5;
  int64_t r = 0;
  if (h > -9.2e18 && h < 9.2e18) {
    r = (int64_t)h;
    if ((double)r > h) r--;
  }
  uint64_t v = (uint64_t)r;
  if (r < 0) {
    *o++ = '-';
    v = 0 - v;
  }
  uint8_t digits[20];
  int k = 0;
  do {
    digits[k++] = (uint8_t)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (k > 0) *o++ = digits[--k];
  memcpy(o, mid, mid_len);
  o += mid_len;
  o = cap_hex(o, src, n);
  memcpy(o, "\"}\n", 3);
  return o + 3;
}

static int cap_u8(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  return arg_typed(env, v, napi_uint8_array, "a Uint8Array", (void **)data, len);
}

static int cap_i32(napi_env env, napi_value v, int32_t **data, size_t *len) {
  return arg_typed(env, v, napi_int32_array, "an Int32Array", (void **)data, len);
}

// captureLines(ring, io, out, prefixes, prefixAt) turns the ring's entries from io[0] up to
// io[1] into lines written into out from io[2]. prefixAt holds (start, length) pairs of the
// registered line middles in prefixes, io[4] of them. It returns, with io[0] (the entry it
// stopped at) and io[2] (the end of the lines) updated:
//   0  every entry up to io[1] is written;
//   1  out reached io[3] bytes (written out by the caller before going on);
//   2  io[0] is an entry the caller handles itself (a line registration, a frame sent apart);
//   3  out lacks room for the next line: io[5] is the room it needs;
//  -EINVAL  an entry or an argument is out of bounds.
static napi_value n_capture_lines(napi_env env, napi_callback_info info) {
  napi_value a[5];
  uint8_t *ring, *out, *pre;
  int32_t *io, *pat;
  size_t cap, io_len, out_len, pre_len, pat_len;
  if (get_args(env, info, 5, a) || cap_u8(env, a[0], &ring, &cap) || cap_i32(env, a[1], &io, &io_len) ||
      cap_u8(env, a[2], &out, &out_len) || cap_u8(env, a[3], &pre, &pre_len) || cap_i32(env, a[4], &pat, &pat_len))
    return NULL;
  pthread_once(&cap_hex_once, cap_hex_init);
  if (io_len < 6 || cap % 8 != 0 || cap > INT32_MAX || out_len > INT32_MAX) return make_int(env, -EINVAL);
  int64_t pos = io[0], head = io[1], o = io[2], limit = io[3], npre = io[4];
  if (pos < 0 || pos >= (int64_t)cap || pos % 8 != 0 || head < 0 || head >= (int64_t)cap || head % 8 != 0 || o < 0 ||
      o > (int64_t)out_len || npre < 0 || 2 * npre > (int64_t)pat_len)
    return make_int(env, -EINVAL);
  int status = 0;
  while (pos != head) {
    // A wrap marker may sit in the ring's last 8 bytes: only its kind is there.
    int32_t kind;
    memcpy(&kind, ring + pos, sizeof(kind));
    if (kind == CAP_WRAP) {
      pos = 0;
      continue;
    }
    if (pos + CAP_HDR > (int64_t)cap) {
      status = -EINVAL;
      break;
    }
    int32_t hdr[4];
    double t;
    memcpy(hdr, ring + pos, sizeof(hdr));
    memcpy(&t, ring + pos + 16, sizeof(t));
    const int32_t n = hdr[1], tl = hdr[2];
    if (kind == CAP_PREFIX || kind == CAP_BIG) {
      status = 2;
      break;
    }
    if (n < 0 || tl < 0 || pos + CAP_HDR + (int64_t)tl + n > (int64_t)cap || kind < CAP_TEXT || kind >= npre) {
      status = -EINVAL;
      break;
    }
    const uint8_t *text = ring + pos + CAP_HDR;
    size_t need;
    const uint8_t *mid = text;
    size_t mid_len = (size_t)tl;
    if (kind == CAP_TEXT) {
      need = (size_t)tl;
    } else {
      if (kind >= 0) {
        const int32_t ps = pat[2 * kind], pl = pat[2 * kind + 1];
        if (ps < 0 || pl < 0 || (int64_t)ps + pl > (int64_t)pre_len) {
          status = -EINVAL;
          break;
        }
        mid = pre + ps;
        mid_len = (size_t)pl;
      }
      need = cap_line_size(mid_len, (size_t)n);
    }
    if ((int64_t)need > (int64_t)out_len - o) {
      io[5] = need > INT32_MAX ? INT32_MAX : (int32_t)need;
      status = 3;
      break;
    }
    if (kind == CAP_TEXT) {
      memcpy(out + o, text, (size_t)tl);
      o += tl;
    } else {
      o = cap_write_line(out + o, t, mid, mid_len, text + tl, (size_t)n) - out;
    }
    pos += (CAP_HDR + (int64_t)tl + n + 7) & ~(int64_t)7;
    if (pos == (int64_t)cap) pos = 0;
    if (o >= limit) {
      status = 1;
      break;
    }
  }
  io[0] = (int32_t)pos;
  io[2] = (int32_t)o;
  return make_int(env, status);
}

// captureLine(out, o, t, mid, bytes): one frame line written into out at o (a frame that came
// apart from the ring); its end, or -ENOSPC when out lacks the room.
static napi_value n_capture_line(napi_env env, napi_callback_info info) {
  napi_value a[5];
  uint8_t *out, *mid, *src;
  size_t out_len, mid_len, n;
  int64_t o;
  double t;
  if (get_args(env, info, 5, a) || cap_u8(env, a[0], &out, &out_len)) return NULL;
  int bad = arg_len(env, a[1], &o);
  if (bad == -1) return NULL;
  if (napi_get_value_double(env, a[2], &t) != napi_ok) {
    napi_throw_type_error(env, NULL, "corosync-ts ipc native: expected a number");
    return NULL;
  }
  if (cap_u8(env, a[3], &mid, &mid_len) || cap_u8(env, a[4], &src, &n)) return NULL;
  pthread_once(&cap_hex_once, cap_hex_init);
  if (bad < 0 || o > (int64_t)out_len) return make_int(env, -EINVAL);
  if (cap_line_size(mid_len, n) > out_len - (size_t)o) return make_int(env, -ENOSPC);
  return make_int(env, cap_write_line(out + o, t, mid, mid_len, src, n) - out);
}

// ---------------------------------------------------------------- capture: gzip members
// A gzip capture's writer thread compresses lines that repeat almost whole: the same line
// middles, the same frames but for a few bytes, hex runs of zeros. zlib's fastest level searches
// hash chains for every match (~0.6 µs of CPU per recorded cmap get of ~900 bytes, 1.0 with its
// CRC); a greedy match finder that first tries the last match's distance, then one hash slot,
// finds the same matches for a fraction of that. Its symbols go out in blocks of up to GZ_SYMS
// with Huffman codes built for each block (RFC 1951 3.2.7), or the fixed codes where those come
// out shorter. The output is an ordinary gzip member (RFC 1952).

#define GZ_HASH_BITS 14
#define GZ_WINDOW 32768
#define GZ_MAX_MATCH 258

static pthread_once_t gz_once = PTHREAD_ONCE_INIT;

// The members' CRC-32 (RFC 1952: reflected, polynomial 0xEDB88320), computed here while the lines
// are still in cache rather than by node:zlib, whose crc32 took ~3.7 instructions per byte (~0.18
// us of the writer thread's ~1 us per recorded call). Slicing by 8 everywhere; on x86-64 with
// PCLMULQDQ, folding by carry-less multiplication (Gopal et al., "Fast CRC Computation for Generic
// Polynomials Using PCLMULQDQ Instruction", Intel, 2009), chosen at run time from CPUID.
static uint32_t gz_crc_tab[8][256];

static uint32_t gz_crc_slice8(uint32_t c, const uint8_t *p, size_t n) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    v ^= c;
    c = gz_crc_tab[7][v & 0xff] ^ gz_crc_tab[6][(v >> 8) & 0xff] ^ gz_crc_tab[5][(v >> 16) & 0xff] ^
        gz_crc_tab[4][(v >> 24) & 0xff] ^ gz_crc_tab[3][(v >> 32) & 0xff] ^ gz_crc_tab[2][(v >> 40) & 0xff] ^
        gz_crc_tab[1][(v >> 48) & 0xff] ^ gz_crc_tab[0][v >> 56];
  }
#endif
  for (; n > 0; p++, n--) c = gz_crc_tab[0][(c ^ *p) & 0xff] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

// x^(k) mod P, bit-reflected, for the fold distances of the paper: 4 x 128 bits (k1, k2), 128 bits
// (k3, k4), 64 to 32 bits (k5); and P' and mu' for the Barrett reduction.
#define GZ_K1 0x154442bd4ull
#define GZ_K2 0x1c6e41596ull
#define GZ_K3 0x1751997d0ull
#define GZ_K4 0x0ccaa009eull
#define GZ_K5 0x163cd6124ull
#define GZ_P 0x1db710641ull
#define GZ_MU 0x1f7011641ull

__attribute__((target("pclmul,sse4.1"))) static inline __m128i gz_fold(__m128i x, __m128i k, __m128i next) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next);
}

__attribute__((target("pclmul,sse4.1"))) static uint32_t gz_crc_clmul(uint32_t c, const uint8_t *p, size_t n) {
  if (n < 64) return gz_crc_slice8(c, p, n);
  const __m128i k12 = _mm_set_epi64x((long long)GZ_K2, (long long)GZ_K1);
  const __m128i k34 = _mm_set_epi64x((long long)GZ_K4, (long long)GZ_K3);
  __m128i x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi32_si128((int)c));
  __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
  __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
  __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
  for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
    x0 = gz_fold(x0, k12, _mm_loadu_si128((const __m128i *)p));
    x1 = gz_fold(x1, k12, _mm_loadu_si128((const __m128i *)(p + 16)));
    x2 = gz_fold(x2, k12, _mm_loadu_si128((const __m128i *)(p + 32)));
    x3 = gz_fold(x3, k12, _mm_loadu_si128((const __m128i *)(p + 48)));
  }
  __m128i x = gz_fold(gz_fold(gz_fold(x0, k34, x1), k34, x2), k34, x3);
  for (; n >= 16; p += 16, n -= 16) x = gz_fold(x, k34, _mm_loadu_si128((const __m128i *)p));
  // 128 bits to 64, 64 to 32, then Barrett's reduction to the 32-bit remainder.
  const __m128i lo32 = _mm_set_epi32(0, 0, 0, -1);
  x = _mm_xor_si128(_mm_srli_si128(x, 8), _mm_clmulepi64_si128(x, k34, 0x10));
  x = _mm_xor_si128(_mm_srli_si128(x, 4), _mm_clmulepi64_si128(_mm_and_si128(x, lo32), _mm_set_epi64x(0, (long long)GZ_K5), 0x00));
  const __m128i pmu = _mm_set_epi64x((long long)GZ_MU, (long long)GZ_P);
  __m128i t = _mm_and_si128(_mm_clmulepi64_si128(_mm_and_si128(x, lo32), pmu, 0x10), lo32);
  x = _mm_xor_si128(x, _mm_clmulepi64_si128(t, pmu, 0x00));
  return gz_crc_slice8((uint32_t)_mm_extract_epi32(x, 1), p, n);
}
#endif

static uint32_t (*gz_crc_run)(uint32_t, const uint8_t *, size_t) = gz_crc_slice8;

static void gz_crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    gz_crc_tab[0][i] = c;
  }
  for (int t = 1; t < 8; t++)
    for (int i = 0; i < 256; i++) gz_crc_tab[t][i] = (gz_crc_tab[t - 1][i] >> 8) ^ gz_crc_tab[0][gz_crc_tab[t - 1][i] & 0xff];
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_PCLMUL) && (c & bit_SSE4_1)) gz_crc_run = gz_crc_clmul;
#endif
}

static uint32_t gz_crc32(const uint8_t *p, size_t n) {
  return ~gz_crc_run(0xffffffffu, p, n);
}

static uint32_t gz_reverse(uint32_t code, int bits) {
  uint32_t r = 0;
  for (int i = 0; i < bits; i++) r |= ((code >> i) & 1u) << (bits - 1 - i);
  return r;
}

// Length symbols 257..285 (RFC 1951 3.2.5): each one's first length and extra bits.
static const uint16_t gz_len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t gz_len_xbits[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static uint8_t gz_len_sym[GZ_MAX_MATCH + 1]; // length -> symbol - 257
// The fixed Huffman code (RFC 1951 3.2.6): literal/length symbols 0..287, then distances 0..29.
static uint8_t gz_fixed_len[288 + 30];
static uint16_t gz_fixed_code[288 + 30];

typedef struct {
  uint8_t *o;
  uint64_t acc;
  int n;
} gz_bits;

// Appends up to 32 bits; whole 32-bit words go out as they fill (the caller leaves 4 bytes of slack).
static inline void gz_put(gz_bits *b, uint64_t v, int bits) {
  b->acc |= v << b->n;
  b->n += bits;
  if (b->n >= 32) {
    uint32_t w = (uint32_t)b->acc;
    uint8_t le[4] = {(uint8_t)w, (uint8_t)(w >> 8), (uint8_t)(w >> 16), (uint8_t)(w >> 24)};
    memcpy(b->o, le, 4);
    b->o += 4;
    b->acc >>= 32;
    b->n -= 32;
  }
}

static inline uint32_t gz_load32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline uint64_t gz_load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

// How many bytes at a equal those at b, up to max (b < a; the ranges may overlap).
static inline size_t gz_extend(const uint8_t *a, const uint8_t *b, size_t max) {
  size_t k = 0;
  while (k + 8 <= max) {
    uint64_t x = gz_load64(a + k) ^ gz_load64(b + k);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (x) return k + ((size_t)__builtin_ctzll(x) >> 3);
#else
    if (x) return k + ((size_t)__builtin_clzll(x) >> 3);
#endif
    k += 8;
  }
  while (k < max && a[k] == b[k]) k++;
  return k;
}

// Dynamic-Huffman blocks (RFC 1951 3.2.7): the symbols of up to GZ_SYMS matches and literals are
// kept, counted, and written with codes built for them.
#define GZ_SYMS 16384

// Distance symbol and its extra bits (count, value) of distance d (1..32768).
static inline int gz_dist_sym(uint32_t d, int *eb, uint32_t *ev) {
  const uint32_t x = d - 1;
  if (x < 4) {
    *eb = 0;
    *ev = 0;
    return (int)x;
  }
  const int nb = 31 - __builtin_clz(x);
  *eb = nb - 1;
  *ev = x & ((1u << (nb - 1)) - 1);
  return 2 * nb + (int)((x >> (nb - 1)) & 1);
}

// Code lengths (at most limit bits) of a Huffman code for freq[0..n); 0 for unused symbols. At
// least two symbols must be used. Too deep a tree is rebuilt from halved counts.
static void gz_build_lengths(const uint32_t *freq_in, int n, int limit, uint8_t *len) {
  uint32_t freq[286];
  for (int i = 0; i < n; i++) freq[i] = freq_in[i];
  for (;;) {
    // leaves sorted by count (insertion sort: at most 286)
    int leaf[286], nl = 0;
    for (int i = 0; i < n; i++) {
      if (freq[i] == 0) continue;
      int j = nl++;
      while (j > 0 && freq[leaf[j - 1]] > freq[i]) {
        leaf[j] = leaf[j - 1];
        j--;
      }
      leaf[j] = i;
    }
    // nodes 0..nl-1 are the leaves in order, nl.. the internal ones (made in weight order)
    uint64_t w[2 * 286];
    int parent[2 * 286];
    for (int i = 0; i < nl; i++) w[i] = freq[leaf[i]];
    int li = 0, ii = nl, next = nl;
    while (next < 2 * nl - 1) {
      int pick[2];
      for (int k = 0; k < 2; k++) {
        if (li < nl && (ii >= next || w[li] <= w[ii])) pick[k] = li++;
        else pick[k] = ii++;
      }
      w[next] = w[pick[0]] + w[pick[1]];
      parent[pick[0]] = parent[pick[1]] = next;
      next++;
    }
    int depth[2 * 286];
    depth[2 * nl - 2] = 0;
    int maxd = 0;
    for (int i = 2 * nl - 3; i >= 0; i--) {
      depth[i] = depth[parent[i]] + 1;
      if (depth[i] > maxd) maxd = depth[i];
    }
    if (maxd <= limit) {
      memset(len, 0, (size_t)n);
      for (int i = 0; i < nl; i++) len[leaf[i]] = (uint8_t)depth[i];
      return;
    }
    for (int i = 0; i < n; i++)
      if (freq[i]) freq[i] = (freq[i] >> 1) | 1;
  }
}

// Canonical codes (RFC 1951 3.2.2), bit-reversed for LSB-first output.
static void gz_codes(const uint8_t *len, int n, uint16_t *code) {
  uint16_t count[16] = {0}, next[16];
  for (int i = 0; i < n; i++) count[len[i]]++;
  count[0] = 0;
  uint32_t c = 0;
  for (int b = 1; b < 16; b++) {
    c = (c + count[b - 1]) << 1;
    next[b] = (uint16_t)c;
  }
  for (int i = 0; i < n; i++)
    if (len[i]) code[i] = (uint16_t)gz_reverse(next[len[i]]++, len[i]);
}

static void gz_init(void) {
  // 258 has a symbol of its own (285) although 284's range would reach it.
  for (int len = 3; len <= GZ_MAX_MATCH; len++) {
    int k = 28;
    if (len < 258)
      for (k = 27; gz_len_base[k] > len; k--) {
      }
    gz_len_sym[len] = (uint8_t)k;
  }
  for (int s = 0; s < 288; s++) gz_fixed_len[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
  for (int s = 0; s < 30; s++) gz_fixed_len[288 + s] = 5;
  gz_codes(gz_fixed_len, 288, gz_fixed_code);
  gz_codes(gz_fixed_len + 288, 30, gz_fixed_code + 288);
  gz_crc_init();
}

// A block's symbols in the given codes (literal/length lc, ll; distance dc, dl), then its end.
static void gz_syms(gz_bits *b, const uint32_t *syms, size_t nsyms, const uint16_t *lc, const uint8_t *ll, const uint16_t *dc, const uint8_t *dl) {
  for (size_t i = 0; i < nsyms; i++) {
    const uint32_t s = syms[i];
    if (s < 256) {
      gz_put(b, lc[s], ll[s]);
      continue;
    }
    const uint32_t len = s >> 16, dist = s & 0xffff;
    const int k = gz_len_sym[len];
    gz_put(b, lc[257 + k] | (uint64_t)(len - gz_len_base[k]) << ll[257 + k], ll[257 + k] + gz_len_xbits[k]);
    int eb;
    uint32_t ev;
    const int d = gz_dist_sym(dist, &eb, &ev);
    gz_put(b, dc[d] | (uint64_t)ev << dl[d], dl[d] + eb);
  }
  gz_put(b, lc[256], ll[256]);
}

// At least two used symbols, as every decoder accepts (zlib's trees.c does the same).
static void gz_two(uint32_t *freq, int n) {
  int used = 0;
  for (int i = 0; i < n && used < 2; i++) used += freq[i] != 0;
  for (int i = 0; used < 2 && i < n; i++)
    if (freq[i] == 0) freq[i] = 1, used++;
}

// One block of syms, whose symbol counts are fl (literal/length) and fd (distance): left zeroed for
// the next block.
static void gz_block(gz_bits *b, const uint32_t *syms, size_t nsyms, uint32_t *fl, uint32_t *fd, int last) {
  fl[256] = 1;
  gz_two(fl, 286);
  gz_two(fd, 30);
  uint8_t ll[286 + 30];
  uint8_t *dl = ll + 286;
  uint16_t lc[286], dc[30];
  gz_build_lengths(fl, 286, 15, ll);
  gz_build_lengths(fd, 30, 15, dl);
  gz_codes(ll, 286, lc);
  gz_codes(dl, 30, dc);
  int hlit = 286, hdist = 30;
  while (hlit > 257 && ll[hlit - 1] == 0) hlit--;
  while (hdist > 1 && dl[hdist - 1] == 0) hdist--;
  // the code lengths, one sequence, run-length coded: symbol | extra << 8
  uint8_t seq[286 + 30];
  memcpy(seq, ll, (size_t)hlit);
  memcpy(seq + hlit, dl, (size_t)hdist);
  const int ns = hlit + hdist;
  uint16_t rle[286 + 30];
  int nr = 0;
  uint32_t fc[19] = {0};
  for (int i = 0; i < ns;) {
    const uint8_t v = seq[i];
    int run = 1;
    while (i + run < ns && seq[i + run] == v) run++;
    int left = run;
    if (v == 0) {
      while (left >= 11) {
        const int r = left > 138 ? 138 : left;
        rle[nr++] = (uint16_t)(18 | (r - 11) << 8), fc[18]++;
        left -= r;
      }
      if (left >= 3) rle[nr++] = (uint16_t)(17 | (left - 3) << 8), fc[17]++, left = 0;
    } else {
      rle[nr++] = v, fc[v]++, left--;
      while (left >= 3) {
        const int r = left > 6 ? 6 : left;
        rle[nr++] = (uint16_t)(16 | (r - 3) << 8), fc[16]++;
        left -= r;
      }
    }
    while (left > 0) rle[nr++] = v, fc[v]++, left--;
    i += run;
  }
  gz_two(fc, 19);
  uint8_t cl[19];
  uint16_t cc[19];
  gz_build_lengths(fc, 19, 7, cl);
  gz_codes(cl, 19, cc);
  static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
  int hclen = 19;
  while (hclen > 4 && cl[order[hclen - 1]] == 0) hclen--;
  // The fixed codes instead when they come out shorter (a few symbols, or counts a Huffman code
  // cannot beat by the size of its own description): so no block exceeds the fixed coding.
  uint64_t dyn = 17 + 3 * (uint64_t)hclen, fixed = 3;
  for (int i = 0; i < nr; i++) {
    const int s = rle[i] & 0xff;
    dyn += cl[s] + (s == 16 ? 2 : s == 17 ? 3 : s == 18 ? 7 : 0);
  }
  for (int i = 0; i < 286; i++) {
    dyn += (uint64_t)fl[i] * ll[i];
    fixed += (uint64_t)fl[i] * gz_fixed_len[i];
  }
  for (int i = 0; i < 30; i++) {
    dyn += (uint64_t)fd[i] * dl[i];
    fixed += (uint64_t)fd[i] * gz_fixed_len[288 + i];
  }
  memset(fl, 0, 286 * sizeof *fl);
  memset(fd, 0, 30 * sizeof *fd);
  if (fixed <= dyn) {
    gz_put(b, (uint64_t)(last ? 1 : 0) | 1u << 1, 3);
    gz_syms(b, syms, nsyms, gz_fixed_code, gz_fixed_len, gz_fixed_code + 288, gz_fixed_len + 288);
    return;
  }
  gz_put(b, (uint64_t)(last ? 1 : 0) | 2u << 1 | (uint64_t)(hlit - 257) << 3 | (uint64_t)(hdist - 1) << 8 | (uint64_t)(hclen - 4) << 13, 17);
  for (int i = 0; i < hclen; i++) gz_put(b, cl[order[i]], 3);
  for (int i = 0; i < nr; i++) {
    const int s = rle[i] & 0xff, x = rle[i] >> 8;
    gz_put(b, cc[s], cl[s]);
    if (s == 16) gz_put(b, (uint64_t)x, 2);
    else if (s == 17) gz_put(b, (uint64_t)x, 3);
    else if (s == 18) gz_put(b, (uint64_t)x, 7);
  }
  gz_syms(b, syms, nsyms, lc, ll, dc, dl);
}

// Room captureGzip needs for n bytes: at worst every byte a 9-bit fixed-code literal, and a block
// header and end code per GZ_SYMS - 1 symbols.
static size_t gz_bound(size_t n) {
  return 10 + n + n / 8 + 3 * (n / (GZ_SYMS - 1) + 2) + 4 + 8;
}

// One gzip member of src[0..n) at out; its size.
static size_t gz_member(uint8_t *out, const uint8_t *src, size_t n) {
  const uint32_t crc = gz_crc32(src, n);
  static const uint8_t head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 3}; // deflate, fastest, Unix
  memcpy(out, head, 10);
  gz_bits b = {out + 10, 0, 0};
  uint32_t tab[1 << GZ_HASH_BITS];
  memset(tab, 0, sizeof tab);
  uint32_t syms[GZ_SYMS];
  uint32_t fl[286], fd[30];
  memset(fl, 0, sizeof fl);
  memset(fd, 0, sizeof fd);
  size_t ns = 0;
  size_t i = 0, rep = 0;
  const size_t end = n > 3 ? n - 3 : 0;
  for (;;) {
    if (ns >= GZ_SYMS - 1) {
      gz_block(&b, syms, ns, fl, fd, 0);
      ns = 0;
    }
    if (i >= end) break;
    const uint32_t cur = gz_load32(src + i);
    const uint32_t h = (cur * 2654435761u) >> (32 - GZ_HASH_BITS);
    const size_t cand = tab[h];
    tab[h] = (uint32_t)i;
    size_t dist = 0;
    if (rep != 0 && rep <= i && gz_load32(src + i - rep) == cur) dist = rep;
    else if (cand < i && i - cand <= GZ_WINDOW && gz_load32(src + cand) == cur) dist = i - cand;
    if (dist == 0) {
      fl[src[i]]++;
      syms[ns++] = src[i];
      i++;
      continue;
    }
    size_t max = n - i;
    if (max > GZ_MAX_MATCH) max = GZ_MAX_MATCH;
    const size_t len = 4 + gz_extend(src + i + 4, src + i + 4 - dist, max - 4);
    fl[257 + gz_len_sym[len]]++;
    int eb;
    uint32_t ev;
    fd[gz_dist_sym((uint32_t)dist, &eb, &ev)]++;
    syms[ns++] = (uint32_t)(len << 16 | dist);
    rep = dist;
    i += len;
  }
  for (; i < n; i++) {
    if (ns >= GZ_SYMS) {
      gz_block(&b, syms, ns, fl, fd, 0);
      ns = 0;
    }
    fl[src[i]]++;
    syms[ns++] = src[i];
  }
  gz_block(&b, syms, ns, fl, fd, 1);
  while (b.n > 0) {
    *b.o++ = (uint8_t)b.acc;
    b.acc >>= 8;
    b.n = b.n > 8 ? b.n - 8 : 0;
  }
  const uint32_t isize = (uint32_t)n;
  const uint8_t tail[8] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24),
                           (uint8_t)isize, (uint8_t)(isize >> 8), (uint8_t)(isize >> 16), (uint8_t)(isize >> 24)};
  memcpy(b.o, tail, 8);
  return (size_t)(b.o + 8 - out);
}
// captureGzip(src, n, out): src's first n bytes as one gzip member written at out[0]; its size,
// or -ENOSPC when out has fewer than captureGzipBound(n) bytes, -EINVAL for a bad n.
static napi_value n_capture_gzip(napi_env env, napi_callback_info info) {
  napi_value a[3];
  uint8_t *src, *out;
  size_t src_len, out_len;
  int64_t n;
  if (get_args(env, info, 3, a) || cap_u8(env, a[0], &src, &src_len)) return NULL;
  int bad = arg_len(env, a[1], &n);
  if (bad == -1 || cap_u8(env, a[2], &out, &out_len)) return NULL;
  if (bad < 0 || n > (int64_t)src_len || n > INT32_MAX) return make_int(env, -EINVAL);
  if (gz_bound((size_t)n) > out_len) return make_int(env, -ENOSPC);
  pthread_once(&gz_once, gz_init);
  return make_int(env, (int64_t)gz_member(out, src, (size_t)n));
}

// captureGzipBound(n): the room captureGzip needs for n bytes.
static napi_value n_capture_gzip_bound(napi_env env, napi_callback_info info) {
  napi_value a[1];
  int64_t n;
  if (get_args(env, info, 1, a)) return NULL;
  int bad = arg_len(env, a[0], &n);
  if (bad == -1) return NULL;
  if (bad < 0 || n > INT32_MAX) return make_int(env, -EINVAL);
  return make_int(env, (int64_t)gz_bound((size_t)n));
}
