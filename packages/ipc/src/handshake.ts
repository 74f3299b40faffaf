// The setup exchange on the stream socket @name, both sides (libqb ipc_setup.c): the client
// sends a 24-byte connection request with SO_PASSCRED, the server answers with the 12,328-byte
// connection response naming the transport and its files; both learn the other's credentials.
import { Errno } from '@corosync-ts/types';
import { recordRefusal, type CaptureWriter } from './capture.js';
import { IpcError, abortError } from './errors.js';
import { FdWatch } from './fdwatch.js';
import {
  QB_CONNECTION_REQUEST_SIZE,
  QB_CONNECTION_RESPONSE_SIZE,
  QB_IPC_MSG_AUTHENTICATE,
  QB_IPC_SHM,
  QB_IPC_SOCKET,
  decodeConnectionRequest,
  decodeConnectionResponse,
  encodeConnectionRequest,
  encodeConnectionResponse,
  loadCodec,
  type ConnectionResponse,
} from './frames.js';
import { DISCONNECT, READABLE, native } from './native.js';

export interface Credentials {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * Who may serve a connection, judged on the server's credentials (SO_PEERCRED and the
 * SCM_CREDENTIALS of its setup reply, both must pass): a predicate, or uids/gids of which
 * one must match. Default: root or our own effective uid.
 */
export type ProviderPolicy = ((cred: Credentials) => boolean) | { uids?: readonly number[]; gids?: readonly number[] };

/** libqb's floor for max_msg_size: the connection response must fit. */
export const MIN_MAX_MSG_SIZE = QB_CONNECTION_RESPONSE_SIZE;
/** libqb's ceiling (and corosync's grant when /dev/shm has room). */
export const MAX_MAX_MSG_SIZE = 0x40000000;

export function validateName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0')) {
    throw new IpcError('EINVAL', `invalid IPC service name ${JSON.stringify(name)}`);
  }
  return name;
}

export function providerCheck(policy: ProviderPolicy | undefined): (cred: Credentials) => boolean {
  if (typeof policy === 'function') return policy;
  if (policy !== undefined && (typeof policy !== 'object' || policy === null)) {
    throw new IpcError('EINVAL', 'allowProvider must be a function or { uids?, gids? }');
  }
  const uids = policy ? (policy.uids ?? []) : [0, process.geteuid?.() ?? 0];
  const gids = policy?.gids ?? [];
  for (const id of [...uids, ...gids]) {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new IpcError('EINVAL', `allowProvider: invalid id ${String(id)}`);
  }
  return (c) => uids.includes(c.uid) || gids.includes(c.gid);
}

function credentials(c: readonly number[]): Credentials {
  return { pid: c[0]!, uid: c[1]! >>> 0, gid: c[2]! >>> 0 };
}

// ------------------------------------------------------------------ client side

export interface ClientSetup {
  /** The setup socket: the shm transport's doorbell, and how both sides notice a disconnect. */
  setup: FdWatch;
  res: ConnectionResponse;
  transport: 'socket' | 'shm';
  serverCredentials: Credentials;
  /** The frames as they crossed the socket and when (CaptureWriter.now()), for recorders. */
  request: Uint8Array;
  requestAt: number;
  reply: Uint8Array;
  replyAt: number;
}

export interface ClientSetupOptions {
  maxMessageSize: number;
  trusted: (cred: Credentials) => boolean;
  signal?: AbortSignal | undefined;
  timeout?: number | undefined;
  capture?: CaptureWriter | undefined;
  /** The service name a refused handshake is recorded under. */
  captureService?: string | undefined;
  /** ConnectOptions.compileCodec. */
  compileCodec?: boolean | undefined;
}

/** Connect to @name and complete the handshake with a server `opts.trusted` accepts. */
export async function clientSetup(name: string, opts: ClientSetupOptions): Promise<ClientSetup> {
  const n = native();
  const fd = n.socket(0);
  if (fd < 0) throw IpcError.fromErrno(fd, 'socket(AF_UNIX, SOCK_STREAM)');
  const setup = new FdWatch(fd, () => {});
  try {
    // EAGAIN: the listen backlog is full (a burst of clients); the server is alive, so
    // retry briefly before reporting it (libqb would return it at once).
    let r = n.connect(fd, name);
    for (let attempt = 0; r === -Errno.EAGAIN && attempt < 40; attempt++) {
      await new Promise((res) => setTimeout(res, Math.min(5 * (attempt + 1), 50)));
      if (opts.signal?.aborted) throw abortError(opts.signal);
      r = n.connect(fd, name);
    }
    if (r < 0) throw IpcError.fromErrno(r, `connect to abstract socket @${name}`);
    // Ask for the server's credentials with the reply (qb_ipcc_auth_get).
    n.setPassCred(fd, 1);
    const request = encodeConnectionRequest(Math.max(opts.maxMessageSize, MIN_MAX_MSG_SIZE));
    const requestAt = opts.capture?.now() ?? 0;
    const sent = n.send(fd, request);
    if (sent !== QB_CONNECTION_REQUEST_SIZE) {
      throw sent < 0 ? IpcError.fromErrno(sent, 'send connection request') : new IpcError('EAGAIN', 'short send of the connection request');
    }
    // The client's first frames will likely need the codec's module: compiled now, while corosync
    // sets the connection up (milliseconds for shm's rings), rather than before the request went
    // out or at the first call. (The reply itself is read without it.)
    if (opts.compileCodec !== false) loadCodec();
    const { reply, cred } = await readSetupReply(setup, opts);
    const replyAt = opts.capture?.now() ?? 0;
    n.setPassCred(fd, 0);
    // Abstract names are first come, first served: before reading anything the server says,
    // make sure it is who we mean to talk to (what Pacemaker's crm_ipc_is_authentic_process
    // does). SO_PEERCRED is who listened; SCM_CREDENTIALS who sent the reply.
    const pc = n.peerCred(fd);
    if (typeof pc === 'number') throw new IpcError('EACCES', `cannot learn who serves @${name} (SO_PEERCRED: ${IpcError.fromErrno(pc, '').code})`);
    const peer = credentials(pc);
    for (const [how, c] of [['SO_PEERCRED', peer], ['SCM_CREDENTIALS', cred]] as const) {
      if (c && !opts.trusted(c)) {
        throw new IpcError('EACCES', `@${name} is served by pid ${c.pid} running as uid ${c.uid} gid ${c.gid} (${how}), which is not a trusted provider (allowProvider)`);
      }
    }
    const res = decodeConnectionResponse(reply);
    if (res.error !== 0) {
      const err = IpcError.fromErrno(res.error, `server @${name} refused the connection`);
      recordRefusal(opts.capture, { service: opts.captureService ?? name, request, tRequest: requestAt, response: reply, tResponse: replyAt, error: err.message, pid: process.pid });
      throw err;
    }
    if (res.maxMsgSize < MIN_MAX_MSG_SIZE || res.maxMsgSize > MAX_MAX_MSG_SIZE) {
      throw new IpcError('EBADMSG', `server offered an implausible max message size ${res.maxMsgSize}`);
    }
    const transport = res.connectionType === QB_IPC_SOCKET ? 'socket' : res.connectionType === QB_IPC_SHM ? 'shm' : undefined;
    if (!transport) {
      // 2 and 3 are libqb's posix message queues and sysv message queues, which corosync never offers.
      throw new IpcError(res.connectionType === 2 || res.connectionType === 3 ? 'ENOTSUP' : 'EINVAL', `unsupported libqb connection type ${res.connectionType}`);
    }
    return { setup, res, transport, serverCredentials: cred ?? peer, request, requestAt, reply, replyAt };
  } catch (e) {
    setup.close();
    throw e;
  }
}

function readSetupReply(setup: FdWatch, opts: ClientSetupOptions): Promise<{ reply: Uint8Array; cred?: Credentials }> {
  const n = native();
  const reply = new Uint8Array(QB_CONNECTION_RESPONSE_SIZE);
  let got = 0;
  let cred: Credentials | undefined;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: IpcError) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      setup.watch(0);
      if (err) reject(err);
      else resolve(cred ? { reply, cred } : { reply });
    };
    const onAbort = () => finish(abortError(opts.signal!));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeout !== undefined) {
      timer = setTimeout(() => finish(new IpcError('ETIMEDOUT', `no connection response within ${opts.timeout} ms`)), opts.timeout);
    }
    setup.onEvents = (status: number, events: number) => {
      if (status < 0) return finish(IpcError.fromErrno(status, 'poll on the setup socket'));
      for (;;) {
        const r = n.recvCred(setup.fd, reply.subarray(got));
        if (typeof r === 'number') {
          if (r === -Errno.EAGAIN) break;
          return finish(IpcError.fromErrno(r, 'receive connection response'));
        }
        const len = r[0];
        if (len === 0) return finish(new IpcError('ECONNRESET', 'server closed the connection during the handshake'));
        if (!cred && r[1] > 0) cred = credentials(r.slice(1));
        got += len;
        if (got === reply.length) return finish();
      }
      if (events & DISCONNECT) return finish(new IpcError('ECONNRESET', 'server closed the connection during the handshake'));
    };
    try {
      setup.watch(READABLE | DISCONNECT);
    } catch (e) {
      finish(e as IpcError);
    }
  });
}

// ------------------------------------------------------------------ server side

/** Reads a client's 24-byte connection request and its credentials, then hands them on. */
export class ServerHandshake {
  private readonly buf = new Uint8Array(QB_CONNECTION_REQUEST_SIZE);
  private got = 0;
  private cred: Credentials | undefined;
  private readonly setup: FdWatch;
  private readonly timer: NodeJS.Timeout;

  constructor(
    fd: number,
    timeout: number,
    /** The request is complete (or the client gave up: `req` undefined, the fd already closed). */
    private readonly done: (hs: ServerHandshake, req?: { setup: FdWatch; request: Uint8Array; cred: Credentials }) => void,
  ) {
    native().setPassCred(fd, 1);
    this.setup = new FdWatch(fd, (st, ev) => this.onEvents(st, ev));
    try {
      this.setup.watch(READABLE | DISCONNECT);
    } catch (e) {
      this.setup.close();
      throw e;
    }
    this.timer = setTimeout(() => this.abort(), timeout);
    this.timer.unref();
  }

  abort(): void {
    clearTimeout(this.timer);
    this.setup.close();
    this.done(this);
  }

  private onEvents(status: number, events: number): void {
    const n = native();
    if (status < 0) return this.abort();
    for (;;) {
      const r = n.recvCred(this.setup.fd, this.buf.subarray(this.got));
      if (typeof r === 'number') {
        if (r === -Errno.EAGAIN) break;
        return this.abort();
      }
      if (r[0] === 0) return this.abort();
      if (!this.cred && r[1] > 0) this.cred = credentials(r.slice(1));
      this.got += r[0];
      if (this.got === this.buf.length) {
        clearTimeout(this.timer);
        n.setPassCred(this.setup.fd, 0);
        let cred = this.cred;
        if (!cred) {
          const pc = n.peerCred(this.setup.fd);
          if (typeof pc === 'number') return this.abort();
          cred = credentials(pc);
        }
        this.setup.watch(0);
        this.done(this, { setup: this.setup, request: this.buf, cred });
        return;
      }
    }
    if (events & DISCONNECT) this.abort();
  }
}

/**
 * The max_msg_size a connection request asks for, or undefined when it is not an
 * authentication request (libqb closes those without a reply).
 */
export function requestedMaxMessageSize(req: Uint8Array): number | undefined {
  let request: { id: number; maxMsgSize: number };
  try {
    request = decodeConnectionRequest(req);
  } catch {
    return undefined;
  }
  return request.id === QB_IPC_MSG_AUTHENTICATE ? request.maxMsgSize >>> 0 : undefined;
}

/** Send a refusal (-errno in the reply header, the C client's cs_error_t comes from it) and close. */
/** Sends the setup reply that refuses a connection and closes it; returns the reply (for recorders). */
export function refuseConnection(setup: FdWatch, errno: number): Uint8Array {
  const reply = encodeConnectionResponse({ error: -Math.abs(errno), connectionType: 0, maxMsgSize: 0, request: '', response: '', event: '' });
  native().send(setup.fd, reply);
  setup.close();
  return reply;
}

/** The setup reply that accepts a connection, sent whole: a libqb 2.0.6 client cannot take a split one. */
export function acceptConnection(setup: FdWatch, reply: Omit<ConnectionResponse, 'error'>): Uint8Array | undefined {
  const bytes = encodeConnectionResponse({ error: 0, ...reply });
  return native().send(setup.fd, bytes) === QB_CONNECTION_RESPONSE_SIZE ? bytes : undefined;
}
