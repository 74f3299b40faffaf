import { EventEmitter } from 'node:events';
import { decode, encode, type Decoded, type Service } from '@corosync-ts/codec-wasm';
import type { Connector, IpcClientLike } from '../src/session.js';
import type { Expectation } from '../src/wire.js';

export type Handler = (req: Decoded, ipc: FakeIpc) => Uint8Array | Promise<Uint8Array> | undefined;

/** An IpcError-shaped object, as @corosync-ts/ipc rejects with. */
export function ipcError(code: string, errno: number): Error {
  return Object.assign(new Error(`${code} (fake)`), { name: 'IpcError', code, errno });
}

export function res(name: string, fields: object = {}, error = 1): Uint8Array {
  return encode(name, fields, { dir: 'res', error });
}
export function evt(name: string, fields: object): Uint8Array {
  return encode(name, fields, { dir: 'evt' });
}

/** A transport double: decodes each request, answers with the handler, emits events on demand. */
export class FakeIpc extends EventEmitter implements IpcClientLike {
  fd = 42;
  connected = true;
  closed = false;
  readonly transport = 'socket' as const;
  readonly requests: Decoded[] = [];
  /** What each of `requests` said would answer it (Session's expectation, RequestOptions for ipc). */
  readonly expects: (Expectation | undefined)[] = [];
  /** Frames sent without an answer (send()); `refuse` makes the next ones fail like flow control. */
  readonly sent: Decoded[] = [];
  /** Every frame handed over (request, send, sendNow), whole, as it would go on the wire. */
  readonly frames: Uint8Array[] = [];
  /** Take requests in two pieces (IpcClientLike.gather), as @corosync-ts/ipc does. */
  gather = false;
  /** How many of `frames` came in two pieces. */
  gathered = 0;
  refuse = 0;
  /** The fc_enable_max each of `sent` went with (sendNow's flowControlMax). */
  readonly sentFlowControlMax: (number | undefined)[] = [];
  /** Which requests are refused like flow control (EAGAIN), never sent; `refusedRequests` counts them. */
  refuseRequest: ((req: Decoded) => boolean) | undefined;
  refusedRequests = 0;

  constructor(readonly service: Service, readonly handler: Handler) {
    super();
  }

  /** The whole frame: `frame` then `body`, which only a gathering transport may be given. */
  #whole(frame: Uint8Array, body: Uint8Array | undefined): Uint8Array {
    if (body === undefined) return frame.slice();
    if (!this.gather) throw new Error('a request body given to a transport that does not gather');
    this.gathered++;
    return Buffer.concat([frame, body]);
  }

  async request(frame: Uint8Array, expect?: Expectation): Promise<Uint8Array> {
    if (!this.connected) throw ipcError('ENOTCONN', 107);
    frame = this.#whole(frame, expect?.body);
    const d = decode(frame, { service: this.service, dir: 'req' });
    if (this.refuseRequest?.(d)) {
      this.refusedRequests++;
      throw ipcError('EAGAIN', 11);
    }
    this.frames.push(frame);
    this.requests.push(d);
    this.expects.push(expect);
    const r = await this.handler(d, this);
    if (r === undefined) return new Promise(() => {}); // never answered
    return r;
  }

  async send(frame: Uint8Array, opts?: { flowControlMax?: 1 | 2; body?: Uint8Array }): Promise<void> {
    this.sendNow(frame, opts?.flowControlMax ?? 1, opts?.body);
  }

  sendNow(frame: Uint8Array, flowControlMax?: 1 | 2, body?: Uint8Array): boolean {
    if (!this.connected) throw ipcError('ENOTCONN', 107);
    if (this.refuse > 0) {
      this.refuse--;
      throw ipcError('EAGAIN', 11);
    }
    frame = this.#whole(frame, body);
    this.frames.push(frame);
    this.sent.push(decode(frame, { service: this.service, dir: 'req' }));
    this.sentFlowControlMax.push(flowControlMax);
    return true;
  }

  event(frame: Uint8Array): void {
    this.emit('event', frame);
  }

  /** Events the daemon has sent that the loop has not read yet: pollEvents() emits them. */
  readonly unread: Uint8Array[] = [];

  pollEvents(): void {
    for (const f of this.unread.splice(0)) this.emit('event', f);
  }

  /** An event as @corosync-ts/ipc lends it (borrowEvents): in one buffer, overwritten by the next one. */
  lendEvent(frame: Uint8Array): void {
    const at = 8;
    if (this.#lent.length < at + frame.length) this.#lent = new Uint8Array(at + frame.length);
    this.#lent.set(frame, at);
    this.emit('event', this.#lent.subarray(at, at + frame.length));
    this.#lent.fill(0xee);
  }
  #lent = new Uint8Array(0);

  /** ConnectOptions.eventInto, as the connect was given it. */
  eventInto: ((head: Uint8Array, length: number) => Uint8Array | undefined) | undefined;
  /** Buffers eventInto gave that an event was read into. */
  readonly readInto: Uint8Array[] = [];

  /**
   * An event as the shm transport of @corosync-ts/ipc hands it over: one above 4 KiB read where
   * eventInto says (a view of its first 256 bytes, its length), else lent.
   */
  shmEvent(frame: Uint8Array): void {
    const into = frame.length > 4096 ? this.eventInto?.(frame.subarray(0, 256), frame.length) : undefined;
    if (into === undefined || into.length !== frame.length) return this.lendEvent(frame);
    into.set(frame);
    this.readInto.push(into);
    this.emit('event', into);
  }

  /** The daemon goes away. */
  drop(): void {
    this.connected = false;
    this.emit('disconnect', ipcError('ECONNRESET', 104));
  }

  async close(): Promise<void> {
    this.connected = false;
    this.closed = true;
  }
}

/** A connector handing out FakeIpc instances (one per connect), remembering names and instances. */
export function fakeConnector(service: Service, handler: Handler) {
  const made: FakeIpc[] = [];
  const names: string[] = [];
  let fail: Error[] = [];
  const options: Parameters<Connector>[1][] = [];
  const connect: Connector = async (name, opts) => {
    names.push(name);
    options.push(opts);
    const f = fail.shift();
    if (f) throw f;
    const ipc = new FakeIpc(service, handler);
    ipc.eventInto = opts.eventInto;
    made.push(ipc);
    return ipc;
  };
  return {
    connect,
    made,
    names,
    /** What each connect was asked for (borrowEvents, ...). */
    options,
    get last(): FakeIpc {
      return made[made.length - 1]!;
    },
    failNext(...errors: Error[]) {
      fail = errors;
    },
  };
}

export const tick = () => new Promise<void>((r) => setImmediate(r));
