// The tap's main thread: it moves into the program's network namespace and serves
// corosync's service names there with the libqb server of @corosync-ts/ipc; each program
// connection is mirrored by a real one that the upstream worker (still in the daemon's
// namespace) opens, and every frame is written to the capture as it passes.
import { closeSync, constants as fsc, openSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { CaptureWriter, ConnectionCapture, createServer, enterNetns, unshareNetns, type IpcServer, type IpcServerConnection } from '@corosync-ts/ipc';
import { VERSION } from './version.js';
import { NO_ANSWER, owned, unpackVerdict, VERDICT_BYTES, type Cred, type FromUpstream, type ToUpstream, type Transport } from './protocol.js';

export const DEFAULT_SERVICES = ['cmap', 'cfg', 'cpg', 'quorum', 'votequorum'] as const;

/**
 * Event bytes a program has not taken yet that the tap holds for it. corosync queues a slow
 * reader's events without a bound (its outq); @corosync-ts/ipc's server default, 16 MiB,
 * disconnected a libcpg program that fell 16 of its own 1 MB deliveries behind on a loaded machine
 * (fc.c, bench/tap), a disconnect it would never have had without the tap.
 */
const EVENT_QUEUE_BYTES = 256 << 20;

export interface TapOptions {
  /** Capture file (a `.gz` name is written gzip compressed). Refused if it is a symlink or not a regular file. */
  capture: string;
  /** Service names to serve (default: corosync's five). */
  services?: readonly string[];
  /** Transport offered to the program (default: the one the daemon offers). */
  transport?: Transport;
  /** Serve this network namespace (a /run/netns/NAME or /proc/PID/ns/net path) instead of a new one. */
  netns?: string;
  /** Bound on the daemon's handshake, during which the tap holds the program's (ms, default 10 000). */
  handshakeTimeout?: number;
  /** Diagnostics (denied clients, lost daemon); default: none. */
  log?: (line: string) => void;
}

export class TapError extends Error {
  override readonly name = 'TapError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface Relay {
  id: number;
  conn: IpcServerConnection;
  service: string;
  cap: ConnectionCapture;
  pid: number;
  closedBy: 'server' | 'error' | undefined;
  error: string | undefined;
}

const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 24: 'EMFILE', 28: 'ENOSPC', 38: 'ENOSYS', 110: 'ETIMEDOUT', 111: 'ECONNREFUSED' };
const errnoName = (e: number): string => ERRNO_NAMES[e] ?? `errno ${e}`;

function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * A running tap. Created by startTap(); after it resolves, the calling thread is in the
 * program's network namespace (processes it spawns are there too) until close().
 */
export class Tap {
  /** The transport the daemon offers, and the one the program is served. */
  readonly upstreamTransport: Transport;
  readonly transport: Transport;
  /** The program's network namespace as a path other processes can open (nsenter --net=...). */
  readonly netnsPath: string;
  readonly capture: CaptureWriter;
  private readonly servers: IpcServer[] = [];
  private readonly relays = new Map<number, Relay>();
  private nextId = 1;
  private seq = 0;
  private pending: { id: number; service: string; cred: Cred } | undefined;
  private closing: Promise<void> | undefined;

  /** @internal */
  constructor(
    private readonly worker: Worker,
    private readonly verdicts: BigInt64Array,
    private readonly origFd: number,
    private readonly nsFd: number,
    capture: CaptureWriter,
    upstreamTransport: Transport,
    transport: Transport,
    private readonly opts: TapOptions,
  ) {
    this.capture = capture;
    this.upstreamTransport = upstreamTransport;
    this.transport = transport;
    this.netnsPath = `/proc/${process.pid}/fd/${nsFd}`;
    worker.on('message', (m: FromUpstream) => this.fromUpstream(m));
    worker.on('exit', () => {
      if (this.closing) return;
      // Without its upstream thread nothing can be relayed: end every program connection
      // (they see a disconnect, as if corosync had gone) rather than leave them waiting.
      this.log('the upstream thread ended unexpectedly; closing every relayed connection');
      for (const r of this.relays.values()) {
        r.closedBy = 'error';
        r.error = 'the tap lost its upstream thread';
        r.conn.close();
      }
      void this.close();
    });
  }

  /** Connections currently relayed. */
  get connections(): number {
    return this.relays.size;
  }

  /** @internal */
  async serve(services: readonly string[]): Promise<void> {
    for (const service of services) {
      const server = createServer(service, {
        transport: this.transport,
        maxQueuedEventBytes: EVENT_QUEUE_BYTES,
        authorize: (cred) => this.authorize(service, cred),
      });
      server.on('connection', (conn) => this.accepted(service, conn));
      server.on('error', (err) => this.log(`${service}: ${err.message}`));
      await server.listen();
      this.servers.push(server);
    }
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private post(m: ToUpstream, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(m, transfer ?? []);
  }

  // Runs inside the libqb server's handshake: its return value is the error of the
  // program's setup reply. The daemon's own answer (and corosync's access rule) is
  // awaited synchronously, so the program gets exactly what corosync would have said.
  private authorize(service: string, cred: Cred): number {
    const id = this.nextId++;
    const seq = ++this.seq;
    this.post({ op: 'open', id, seq, service, cred });
    const deadline = Date.now() + (this.opts.handshakeTimeout ?? 10_000) + 1000;
    for (;;) {
      const cur = Atomics.load(this.verdicts, 0);
      const got = unpackVerdict(cur);
      if (got.seq === seq) {
        if (got.verdict === NO_ANSWER) return this.noAnswer(service, cred, id);
        if (got.verdict !== 0) this.refused(service, cred, `corosync refused the connection (${errnoName(-got.verdict)})`);
        if (got.verdict === 0) {
          this.pending = { id, service, cred };
          // 'connection' follows synchronously when the server accepts; if it could not
          // (no memory, the program already gone), the daemon's connection goes too.
          setImmediate(() => {
            if (this.pending?.id === id) {
              this.pending = undefined;
              this.post({ op: 'close', id });
            }
          });
        }
        return got.verdict;
      }
      const left = deadline - Date.now();
      // The worker answers NO_ANSWER by handshakeTimeout; this is for a worker too busy to.
      if (left <= 0) return this.noAnswer(service, cred, id);
      Atomics.wait(this.verdicts, 0, cur, left);
    }
  }

  /** The daemon did not answer in time: the program may try again (EAGAIN, CS_ERR_TRY_AGAIN). */
  private noAnswer(service: string, cred: Cred, id: number): number {
    // Ends the open if the worker is still at it (it lets go of the daemon's connections).
    this.post({ op: 'close', id });
    this.log(`${service}: the daemon did not answer the handshake in time; refusing the program's connection with EAGAIN`);
    this.refused(service, cred, 'the daemon did not answer the handshake in time: refused with EAGAIN', 'error');
    return -11;
  }

  /**
   * A handshake the program did not get: recorded as a connection closed at once, with why
   * (the refusal's bytes go from the tap's own server, not through here).
   */
  private refused(service: string, cred: Cred, error: string, by: 'server' | 'error' = 'server'): void {
    const base = { conn: this.capture.newConnection(), service, transport: this.transport, pid: cred.pid };
    const proc = comm(cred.pid);
    this.capture.state({ ...base, ...(proc !== undefined ? { proc } : {}), state: 'closed', by, error });
  }

  private accepted(service: string, conn: IpcServerConnection): void {
    const p = this.pending;
    this.pending = undefined;
    const c = conn.credentials;
    if (!p || p.service !== service || p.cred.pid !== c.pid || p.cred.uid !== c.uid || p.cred.gid !== c.gid) {
      // Cannot happen with the server's authorize-then-connection order; never relay blind.
      if (p) this.post({ op: 'close', id: p.id });
      conn.close();
      return;
    }
    const cap = new ConnectionCapture(this.capture, service, this.transport, c.pid);
    const relay: Relay = { id: p.id, conn, service, cap, pid: c.pid, closedBy: undefined, error: undefined };
    this.relays.set(p.id, relay);
    const t = this.capture.now();
    cap.opened(conn.handshake.request, t, conn.handshake.response, t);
    conn.on('request', (frame) => {
      cap.frame('req', frame);
      // After this the program's frame is the worker's: recorded above, never read here again.
      const mine = owned(frame);
      this.post({ op: 'req', id: relay.id, frame: mine }, [mine.buffer]);
    });
    conn.on('close', () => {
      this.relays.delete(relay.id);
      const by = relay.closedBy ?? 'client';
      cap.closed(by, relay.error);
      if (by === 'client') this.post({ op: 'close', id: relay.id });
    });
  }

  private fromUpstream(m: FromUpstream): void {
    switch (m.op) {
      case 'res':
      case 'evt': {
        const r = this.relays.get(m.id);
        if (!r || r.conn.closed) return;
        if (m.op === 'evt' && r.conn.queued.events + m.frame.length + r.conn.queueOverhead > EVENT_QUEUE_BYTES) {
          // The server would close it as if the program had left: say why instead (the event
          // is not recorded: the program never gets it).
          return this.drop(r, m.id, `the program left more than ${EVENT_QUEUE_BYTES >> 20} MiB of events untaken`);
        }
        r.cap.frame(m.op, m.frame);
        try {
          if (m.op === 'res') r.conn.respond(m.frame);
          else r.conn.sendEvent(m.frame);
        } catch (e) {
          // Larger than the program's negotiated maximum: it could not have taken it either.
          this.drop(r, m.id, `${m.op === 'res' ? 'response' : 'event'} of ${m.frame.length} bytes not deliverable: ${(e as Error).message}`);
        }
        return;
      }
      case 'flow': {
        const r = this.relays.get(m.id);
        if (r && !r.conn.closed) {
          r.cap.flow(m.level);
          r.conn.setFlowControl(m.level);
        }
        return;
      }
      case 'gone': {
        const r = this.relays.get(m.id);
        if (!r) return;
        r.closedBy = m.by;
        r.error = m.error;
        this.log(`${r.service} connection ${r.cap.conn} (pid ${r.pid}): ${m.by === 'server' ? 'corosync closed it' : 'failed'}: ${m.error}`);
        r.conn.close();
        return;
      }
      case 'denied':
        this.log(`${m.service}: denied connection attempt from ${m.cred.uid}:${m.cred.gid} (pid ${m.cred.pid}): ${m.reason}`);
        return;
      default:
        return;
    }
  }

  /** Ends a program's connection and the daemon's for `error`, recorded and logged as the tap's doing. */
  private drop(r: Relay, id: number, error: string): void {
    r.closedBy = 'error';
    r.error = error;
    this.log(`${r.service} connection ${r.cap.conn}: ${error}`);
    this.post({ op: 'close', id });
    r.conn.close();
  }

  /** Stop serving, close every relayed connection, flush and close the capture. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // The tap, the programs' server, ends what is still open (its upstream thread then closes
      // corosync's ends as it stops).
      for (const r of this.relays.values()) r.closedBy ??= 'server';
      await Promise.all(this.servers.map((s) => s.close()));
      await stopWorker(this.worker);
      this.capture.close();
      // Back to where the thread came from; the program's namespace lives on while
      // anything is still in it.
      enterNetns(this.origFd);
      closeSync(this.nsFd);
      closeSync(this.origFd);
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * The worker closes every connection, then its port; with nothing left on its loop the thread
 * ends by itself, and this resolves once it has. terminate() would now release as much (the ipc
 * addon stops its waiters and watchers and closes the fds of an env that ends), but it would cut
 * off a relayed call in flight instead of letting its connection close as a program's would.
 */
function stopWorker(worker: Worker): Promise<void> {
  if (worker.threadId === -1) return Promise.resolve(); // already ended
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage({ op: 'stop' } satisfies ToUpstream);
  return exited;
}

function openNs(path: string): number {
  try {
    return openSync(path, fsc.O_RDONLY);
  } catch (e) {
    throw new TapError(`cannot open network namespace ${path}: ${(e as Error).message}`, 'ENETNS');
  }
}

/**
 * Start a tap: check the daemon answers, open the capture, move this thread into a new
 * network namespace (or `opts.netns`) and serve corosync's names there. Needs root or
 * CAP_SYS_ADMIN. Spawn the program after this resolves (it inherits the namespace).
 */
export async function startTap(opts: TapOptions): Promise<Tap> {
  const services = opts.services ?? DEFAULT_SERVICES;
  if (services.length === 0) throw new TapError('no services to serve', 'EINVAL');
  if (opts.transport !== undefined && opts.transport !== 'socket' && opts.transport !== 'shm') {
    throw new TapError(`unknown transport ${String(opts.transport)}`, 'EINVAL');
  }
  const origFd = openNs('/proc/thread-self/ns/net');
  let nsFd = -1;
  let capture: CaptureWriter | undefined;
  const shared = new SharedArrayBuffer(VERDICT_BYTES);
  const worker = new Worker(new URL('./upstream.js', import.meta.url), {
    workerData: { netnsFd: origFd, verdict: shared, handshakeTimeout: opts.handshakeTimeout ?? 10_000 },
  });
  let moved = false;
  let tap: Tap | undefined;
  const fail = async (e: unknown): Promise<never> => {
    await stopWorker(worker);
    capture?.close();
    if (moved) enterNetns(origFd);
    if (nsFd >= 0) closeSync(nsFd);
    closeSync(origFd);
    throw e;
  };
  try {
    const probe = await new Promise<FromUpstream & { op: 'probe' }>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new TapError(`the upstream worker exited (${code})`, 'EIO')));
      worker.once('message', resolve);
      worker.postMessage({ op: 'probe' } satisfies ToUpstream);
    });
    worker.removeAllListeners('exit');
    worker.removeAllListeners('error');
    worker.on('error', (e) => opts.log?.(`upstream worker: ${(e as Error).message}`));
    if ('error' in probe) {
      throw new TapError(`cannot reach corosync (@cmap in this network namespace): ${probe.error}`, probe.code);
    }
    let upstream: Transport;
    if ('refused' in probe) {
      // A refusal carries no transport: corosync's default, unless told.
      upstream = 'shm';
      if (!opts.transport) opts.log?.(`corosync refused the probe connection (${probe.refused}); serving the program shm, its default (see --transport)`);
    } else {
      upstream = probe.transport;
    }
    try {
      capture = CaptureWriter.open(opts.capture, {
        mode: 'tap',
        name: 'corosync-tap',
        version: VERSION,
        // The traffic goes on unrecorded (never disturbed); say so once.
        onError: (err) => opts.log?.(`capture to ${opts.capture} stopped: ${err.message}`),
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      const why = code === 'ELOOP' ? 'it is a symbolic link' : (e as Error).message;
      throw new TapError(`refusing capture path ${opts.capture}: ${why}`, code);
    }
    if (opts.netns) {
      nsFd = openNs(opts.netns);
      enterNetns(nsFd);
    } else {
      unshareNetns();
      nsFd = openNs('/proc/thread-self/ns/net');
    }
    moved = true;
    tap = new Tap(worker, new BigInt64Array(shared), origFd, nsFd, capture, upstream, opts.transport ?? upstream, opts);
    await tap.serve(services);
    return tap;
  } catch (e) {
    if (!tap) return fail(e);
    // The tap owns the worker, capture and namespace fds by now.
    await tap.close();
    throw e;
  }
}

export { VERSION };
