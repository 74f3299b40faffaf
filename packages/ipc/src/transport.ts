// What IpcClient / IpcServerConnection and a transport (socket.ts, shm.ts) expect of each
// other: the orchestrators keep calls, order and lifecycle; a transport moves frames.
import type { IpcError } from './errors.js';
import type { FdWatch } from './fdwatch.js';
import type { Credentials } from './handshake.js';
import { connectionDir, type PeerFileRules } from './peerfile.js';

/** ConnectOptions.eventInto. */
export type EventInto = (head: Uint8Array, length: number) => Uint8Array | undefined;
/** How many of an event's first bytes ConnectOptions.eventInto sees, at most. */
export const EVENT_INTO_HEAD = 256;

/** The IpcClient a client transport serves. */
export interface ClientLink {
  readonly connected: boolean;
  readonly maxMessageSize: number;
  readonly serverCredentials?: Credentials | undefined;
  /** The setup socket of the handshake, still open. */
  readonly setupWatch: FdWatch;
  /** The server is gone or broke the protocol: fail every call, release the transport. */
  fail(cause: IpcError): void;
  deliverResponse(frame: Uint8Array): void;
  /** The response due next is to be delivered before events queued with it (RequestOptions.answerFirst). */
  readonly answerFirst: boolean;
  /** The frame may be lent (valid only during the call) when this is true (ConnectOptions.borrowEvents). */
  deliverEvent(frame: Uint8Array): void;
  readonly borrowEvents: boolean;
  /** ConnectOptions.eventInto. */
  readonly eventInto: EventInto | undefined;
  listenerCount(event: 'event'): number;
}

export interface ClientTransport {
  /** What qb_ipcc_fd_get() returns: the event socket (socket) or the setup socket (shm). */
  readonly fd: number;
  /**
   * Throws IpcError for a per-call failure (EAGAIN flow control, EMSGSIZE). `reply` false: the
   * server answers nothing (cpg MCAST): the frame goes now, or waits within a small bound (the
   * socket's cork, or behind what a full socket refused), or is refused with EAGAIN when the
   * ring or socket has no room for it; answered requests wait for room in order. `fcMax`: the
   * highest flow-control level that refuses (libqb's fc_enable_max: 1, or 2 for libcpg's
   * multicasts). With `body`, the frame is `frame` then `body`, written out as two pieces (never
   * joined in a buffer unless it must wait).
   */
  send(frame: Uint8Array, reply: boolean, fcMax: number, body?: Uint8Array): void;
  /**
   * Delivers the events the server has sent by now before returning, as libqb's
   * qb_ipcc_event_recv with a 0 timeout reads them: what a C dispatch of the pending events
   * finds, where the loop's own reading may not have come round yet. Nothing while a batch of
   * this transport's is being delivered (a listener calling in): that batch goes on afterwards.
   */
  pollEvents(): void;
  /**
   * Delivers the response the last send() found there already (shm: published by a server that
   * answered during the doorbell), if it did: called once that call is pending.
   */
  deliverAnswered(): void;
  /** The flow-control level the server set (0 off, 1 or 2), as send() reads it: for recorders. */
  readonly flowControl: number;
  /**
   * How much of the server's response channel a response of up to `len` bytes takes, and how
   * much there is: a libqb server that finds the channel full drops the response (it counts a
   * send_retry and moves on), so what is in flight must always fit, even if we read nothing.
   */
  responseCost(len: number): number;
  readonly responseRoom: number;
  /** Release everything; `failed`: the connection failed, and shm looks for files a dead server left. */
  close(failed: boolean): Promise<void>;
}

/** The IpcServerConnection a server transport serves. */
export interface ServerLink {
  readonly closed: boolean;
  readonly credentials: Credentials;
  readonly maxMessageSize: number;
  readonly setup: FdWatch;
  /** maxQueuedResponseBytes / maxQueuedEventBytes of the server. */
  readonly limits: { responses: number; events: number };
  /** Request frames above POOLED_MAX may be views valid until deliver() returns. */
  readonly borrowRequests: boolean;
  /** A request frame arrived (a 0-byte one or QB_IPC_MSG_DISCONNECT means the client leaves). */
  deliver(frame: Uint8Array): void;
  close(): void;
}

export interface ServerTransport {
  readonly queuedResponseBytes: number;
  readonly queuedEventBytes: number;
  /** What the setup reply names. */
  reply(): { connectionType: number; request: string; response: string; event: string };
  /** The setup reply went out: start serving. */
  start(): void;
  respond(frame: Uint8Array): void;
  sendEvent(frame: Uint8Array): void;
  /** Whether a response or event of `len` bytes can cross at all (ServerOptions.sendOversized). */
  carries(len: number): boolean;
  setFlowControl(level: number): void;
  /**
   * The setup socket is readable or writable; `bells`: doorbell bytes the watcher already read
   * for requests it left in the ring (shm).
   */
  onSetupReadable(bells: number): void;
  /** Arm the watcher's native answer to a repeat of `request` (false: not now, e.g. answers wait). */
  answerRepeats(request: Uint8Array, response: Uint8Array): boolean;
  stopAnswering(): void;
  /** Requests the watcher answered natively since the last call. */
  answered(): number;
  destroy(): void;
}

/**
 * What the files a server names must satisfy: all in one directory of /dev/shm, owned by
 * the server's uid (SCM_CREDENTIALS / SO_PEERCRED of the handshake) or ours (libqb servers
 * chown them to the client; whoever runs as our uid can reach us anyway).
 */
export function peerFileRules(client: ClientLink, paths: string[], what: string): PeerFileRules {
  const own = process.geteuid?.() ?? -1;
  const srv = client.serverCredentials?.uid;
  return { dir: connectionDir(paths, what), owners: srv === undefined || srv === own ? [own] : [srv, own] };
}
