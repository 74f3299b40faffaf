import type { CaptureWriter, Credentials, IpcServer, IpcServerConnection, ServerOptions } from '@corosync-ts/ipc';
import { CmapValueType as T, Errno } from '@corosync-ts/types';
import { readFileSync } from 'node:fs';
import { Cluster, type CreateClusterOptions, type SimNode } from './cluster.js';
import { ManualClock, type Clock } from './clock.js';
import { MockError } from './errors.js';
import { Faults } from './faults.js';
import { NodeServices } from './node-services.js';
import { SERVICES, type ServiceName } from './services/index.js';

const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

export interface MockCorosyncOptions extends CreateClusterOptions {
  /**
   * Prepended to every socket name of the primary endpoint (`<prefix>cmap`). '' binds the real
   * names (cmap, quorum, ...) in the current network namespace, as the CLI does. Default: a
   * unique `cts-mock-<pid>-<n>-`, so an in-process mock never collides with a real daemon.
   */
  prefix?: string;
  /** libqb transport offered to clients (default 'socket'). */
  transport?: 'socket' | 'shm';
  /** Node ids that get their own endpoint (default: the first node of the nodelist). */
  endpoints?: number[] | 'all';
  /**
   * Record every frame of every client served (C clients included) to a capture file: a path
   * (`.gz` = gzip; the mock closes it on close()) or a CaptureWriter from @corosync-ts/ipc.
   */
  capture?: string | CaptureWriter;
  /**
   * Who may connect besides corosync's own rule (uid 0 or gid 0, or a `uidgid.uid.<uid>`,
   * `uidgid.gid.<gid>`, `uidgid.config.uid.<uid>` or `uidgid.config.gid.<gid>` key of type u8 and
   * value 1 in the node's cmap at connect time; everyone else gets -EACCES, CS_ERR_ACCESS).
   * 'any' serves every uid. Default: the mock process's own uid and gid, so a test reaches its
   * own in-process mock without being root; `{}` applies corosync's rule alone.
   */
  allow?: 'any' | { uids?: readonly number[]; gids?: readonly number[] };
  /** Per-connection resource limits of the IPC servers (see `ServerOptions` of @corosync-ts/ipc). */
  limits?: MockLimits;
  /** What cfg reload (`corosync-cfgtool -R`) rereads; default: the config the cluster was made from. */
  configSource?: () => string;
  /**
   * Called with each error caught inside an endpoint (a handler that threw, whose client is
   * dropped: its calls fail with CS_ERR_LIBRARY; a failed listen or accept) when it happens, as
   * corosync would log it; `errors` keeps them too. The CLI writes them to stderr.
   */
  onError?: (err: unknown) => void;
}

export type MockLimits = Pick<ServerOptions, 'maxShmMessageSize' | 'maxQueuedResponseBytes' | 'maxQueuedEventBytes' | 'handshakeTimeout'>;

/** False when ipc refused the frame for its size (EMSGSIZE): what corosync then loses. */
function sent(send: () => void): boolean {
  try {
    send();
    return true;
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'EMSGSIZE') throw e;
    return false;
  }
}

/** What `allow` resolves to: the default lets the mock's own user in. */
function allowList(allow: MockCorosyncOptions['allow']): 'any' | { uids: Set<number>; gids: Set<number> } {
  if (allow === 'any') return 'any';
  if (allow === undefined) return { uids: new Set([process.geteuid?.() ?? 0]), gids: new Set([process.getegid?.() ?? 0]) };
  if (typeof allow !== 'object' || allow === null) throw new MockError('EINVAL', `allow must be 'any' or { uids, gids }`);
  return { uids: new Set(allow.uids ?? []), gids: new Set(allow.gids ?? []) };
}

export interface Endpoint {
  readonly nodeId: number;
  /** Socket name prefix: connect to `${prefix}cmap` etc. */
  readonly prefix: string;
  readonly names: Readonly<Record<ServiceName, string>>;
  readonly services: NodeServices;
  /** Number of open client connections. */
  readonly connectionCount: number;
}

let counter = 0;

class NodeEndpoint implements Endpoint {
  readonly services: NodeServices;
  readonly names: Record<ServiceName, string>;
  private servers: IpcServer[] = [];
  private readonly conns = new Set<IpcServerConnection>();
  private pending: Promise<unknown> = Promise.resolve();
  private closed = false;
  errors: unknown[] = [];

  constructor(
    readonly node: SimNode,
    readonly prefix: string,
    private readonly transport: 'socket' | 'shm',
    private readonly withVotequorum: boolean,
    private readonly capture: CaptureWriter | undefined,
    private readonly allow: 'any' | { uids: Set<number>; gids: Set<number> },
    private readonly limits: MockLimits,
    configSource: (() => string) | undefined,
    faults: Faults,
    private readonly onError: ((err: unknown) => void) | undefined,
  ) {
    this.services = new NodeServices(node, { faults, ...(configSource ? { configSource } : {}), ...(onError ? { onError } : {}) });
    this.names = Object.fromEntries(SERVICE_NAMES.map((s) => [s, `${prefix}${s}`])) as Record<ServiceName, string>;
    node.listeners.add(this.lifecycle);
  }

  private readonly lifecycle = {
    down: () => void this.queue(() => this.stopServers()),
    up: () => void this.queue(() => this.startServers()),
  };

  /** corosync's cs_ipcs_connection_accept, read against this node's live cmap. */
  private authorize(cred: Credentials): number {
    const { uid, gid } = cred;
    if (this.allow === 'any' || uid === 0 || gid === 0 || this.allow.uids.has(uid) || this.allow.gids.has(gid)) return 0;
    const granted = (key: string) => {
      const item = this.node.cmap.get(key);
      // icmap_get_uint8: a key of any other type does not count, even with value 1
      return item !== undefined && item.type === T.UINT8 && this.node.cmap.getValue(key) === 1;
    };
    if (granted(`uidgid.uid.${uid}`) || granted(`uidgid.config.uid.${uid}`) || granted(`uidgid.gid.${gid}`) || granted(`uidgid.config.gid.${gid}`)) return 0;
    return -Errno.EACCES;
  }

  private report(e: unknown): void {
    this.errors.push(e);
    this.onError?.(e);
  }

  get nodeId(): number {
    return this.node.id;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Serialises listen/close so a quick kill/start never races. */
  queue(op: () => Promise<void>): Promise<void> {
    const p = this.pending.then(op, op).catch((e: unknown) => { this.report(e); });
    this.pending = p;
    return p;
  }

  async idle(): Promise<void> {
    let p: Promise<unknown>;
    do {
      p = this.pending;
      await p;
    } while (p !== this.pending);
  }

  async startServers(): Promise<void> {
    if (this.closed || this.servers.length || !this.node.running) return;
    // corosync creates a votequorum server only with the votequorum provider
    const services = SERVICE_NAMES.filter((s) => s !== 'votequorum' || this.withVotequorum);
    const servers: IpcServer[] = [];
    // loaded on first use: the simulator and the handlers work without the native ipc addon
    const { createServer } = await import('@corosync-ts/ipc');
    try {
      for (const svc of services) {
        const server = createServer(this.names[svc], {
          // corosync queues a client's unread events until its memory runs out: 64 of its largest
          // (1 MiB) cpg deliveries, not ipc's default 16, before the mock gives up on the client.
          maxQueuedEventBytes: 64 << 20,
          // handlers copy what they keep of a request (cpg: CpgConn.keepLent)
          borrowRequests: true,
          ...this.limits, transport: this.transport, maxMessageSize: 0, sendOversized: true, authorize: (cred) => this.authorize(cred),
          ...(this.capture ? { capture: this.capture, captureService: svc } : {}),
        });
        server.on('connection', (c) => this.accept(svc, c));
        server.on('error', (e) => { this.report(e); });
        await server.listen();
        servers.push(server);
      }
    } catch (e) {
      await Promise.allSettled(servers.map((s) => s.close()));
      throw e;
    }
    this.servers = servers;
  }

  async stopServers(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    for (const c of [...this.conns]) c.close();
    await Promise.allSettled(servers.map((s) => s.close()));
  }

  private accept(svc: ServiceName, c: IpcServerConnection): void {
    if (!this.node.running) {
      c.close();
      return;
    }
    this.conns.add(c);
    const cred = c.credentials;
    let procname: string | undefined;
    try {
      procname = readFileSync(`/proc/${cred.pid}/comm`, 'utf8').trim();
    } catch {}
    let eventsStuck = false;
    const sink = {
      maxMessageSize: c.maxMessageSize,
      queueOverhead: c.queueOverhead,
      // corosync sends answers and events whatever size was granted: ipc sends what the
      // transport carries (sendOversized) and throws EMSGSIZE for the rest, which corosync loses.
      respond: (f: Uint8Array) => {
        if (!c.closed) sent(() => c.respond(f));
      },
      sendEvent: (f: Uint8Array) => {
        if (c.closed || eventsStuck) return;
        // Over shm, exec/ipc_glue.c queues an event the ring cannot take and retries it with
        // qb_ipcs_event_send(), which refuses it for its size and stops the retries for good:
        // that event and every later one stay queued, the connection stays up.
        if (!sent(() => c.sendEvent(f))) eventsStuck = this.transport === 'shm';
      },
      // ipc sends an event or queues a copy before sendEvent() returns
      takesViews: true,
      backlog: () => c.queued,
      setFlowControl: (level: 0 | 1 | 2) => c.setFlowControl(level),
      answerRepeats: (req: Uint8Array, res: Uint8Array) => { c.answerRepeats(req, res); },
      answered: () => c.answered(),
    };
    const conn = this.services.connect(svc, sink, { ...cred, procname, transport: this.transport }, () => c.close());
    c.on('request', (frame) => {
      try {
        conn.handle(frame);
      } catch (e) {
        // a handler bug must not take the daemon down: drop only this client
        this.report(e);
        c.close();
      }
    });
    c.on('close', () => {
      this.conns.delete(c);
      conn.close();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.node.listeners.delete(this.lifecycle);
    await this.queue(() => this.stopServers());
    this.services.dispose();
  }
}

/** A running mock corosync: a simulated cluster whose nodes serve the corosync IPC services. */
export class MockCorosync {
  readonly cluster: Cluster;
  /** Faults injected into every endpoint's dispatch: TRY_AGAIN answers, flow control, delayed events, a node killed mid-call. */
  readonly faults: Faults;
  private readonly eps = new Map<number, NodeEndpoint>();
  /** The capture file the mock opened itself (closed with the mock). */
  private ownCapture: CaptureWriter | undefined;

  private constructor(cluster: Cluster) {
    this.cluster = cluster;
    this.faults = new Faults(cluster.clock, (id) => cluster.nodes.some((n) => n.id === id));
  }

  get clock(): Clock {
    return this.cluster.clock;
  }

  /** The primary endpoint's prefix. */
  get prefix(): string {
    return this.endpoint().prefix;
  }

  /** @internal */
  static async start(opts: MockCorosyncOptions): Promise<MockCorosync> {
    const cluster = new Cluster({ ...opts, clock: opts.clock ?? new ManualClock() });
    const mock = new MockCorosync(cluster);
    const prefix = opts.prefix ?? `cts-mock-${process.pid}-${++counter}-`;
    let capture: CaptureWriter | undefined;
    if (typeof opts.capture === 'string') {
      const { CaptureWriter } = await import('@corosync-ts/ipc');
      const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
      capture = mock.ownCapture = CaptureWriter.open(opts.capture, { mode: 'mock', name: '@corosync-ts/testkit', version });
    } else {
      capture = opts.capture;
    }
    const allow = allowList(opts.allow);
    const ids = opts.endpoints === 'all' ? cluster.nodes.map((n) => n.id) : opts.endpoints ?? [cluster.nodes[0]!.id];
    ids.forEach((id, i) => {
      const node = cluster.node(id);
      const p = i === 0 ? prefix : `${prefix}node${id}-`;
      mock.eps.set(id, new NodeEndpoint(node, p, opts.transport ?? 'socket', cluster.hasVotequorum, capture, allow, opts.limits ?? {}, opts.configSource, mock.faults, opts.onError));
    });
    try {
      for (const ep of mock.eps.values()) await ep.queue(() => ep.startServers());
      for (const ep of mock.eps.values()) if (ep.errors.length) throw ep.errors[0];
    } catch (e) {
      await mock.close();
      throw e;
    }
    return mock;
  }

  /** The endpoint of a node (default: the primary one). */
  endpoint(nodeId?: number): Endpoint {
    const ep = nodeId === undefined ? this.eps.values().next().value : this.eps.get(nodeId);
    if (ep === undefined) throw new MockError('ENOENDPOINT', `node ${nodeId} has no endpoint (see the endpoints option)`);
    return ep;
  }

  /**
   * The cluster's totem step (what answered calls multicast is delivered, see Cluster.settle),
   * then lets queued notifications reach clients and servers finish (re)starting after kill/start.
   */
  async settle(): Promise<void> {
    await this.cluster.settle();
    for (const ep of this.eps.values()) await ep.idle();
    await new Promise<void>((r) => setImmediate(r));
  }

  /** Errors caught inside endpoints (failed listen, handler bugs); empty in a healthy run. */
  get errors(): unknown[] {
    return [...this.eps.values()].flatMap((e) => [...e.errors, ...e.services.errors]);
  }

  async close(): Promise<void> {
    for (const ep of this.eps.values()) await ep.close();
    // after the endpoints: lifting flow control on a closing connection would serve what it held
    this.faults.clear();
    this.ownCapture?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Starts a mock corosync serving every endpoint over the libqb IPC protocol. */
export function startMockCorosync(opts: MockCorosyncOptions): Promise<MockCorosync> {
  return MockCorosync.start(opts);
}
