// The upstream worker: runs in the daemon's network namespace (the thread moves there
// first), so every socket it creates reaches the real corosync. One real connection per
// program connection; requests relayed in order, responses and events sent back as
// they arrive.
import { parentPort, workerData } from 'node:worker_threads';
import { connect, enterNetns, isIpcError, type IpcClient } from '@corosync-ts/ipc';
import { corosyncAllows } from './access.js';
import { packVerdict, type Cred, type FromUpstream, type ToUpstream } from './protocol.js';

interface Data {
  netnsFd: number;
  verdict: SharedArrayBuffer;
  handshakeTimeout: number;
}

const port = parentPort!;
const data = workerData as Data;
enterNetns(data.netnsFd);
const verdicts = new BigInt64Array(data.verdict);

const EACCES = 13;
const ETIMEDOUT = 110;
const EAGAIN = 11;

function post(m: FromUpstream): void {
  if ((m.op === 'res' || m.op === 'evt') && m.frame) port.postMessage(m, [m.frame.buffer as ArrayBuffer]);
  else port.postMessage(m);
}

/** Store a verdict unless a newer seq has been answered already, then wake the main thread. */
function answer(seq: number, verdict: number): void {
  const v = packVerdict(seq, verdict);
  for (;;) {
    const cur = Atomics.load(verdicts, 0);
    if (cur >> 32n >= BigInt(seq)) return;
    if (Atomics.compareExchange(verdicts, 0, cur, v) === cur) break;
  }
  Atomics.notify(verdicts, 0);
}

function errnoOf(e: unknown): number {
  return isIpcError(e) && e.errno > 0 ? e.errno : EAGAIN;
}

class Upstream {
  private client: IpcClient | undefined;
  private closed = false;
  /** Requests held back, in order, while the daemon has flow control on. */
  private readonly held: Uint8Array[] = [];
  private pumping = false;
  private retryDelay = 1;

  constructor(readonly id: number) {}

  attach(client: IpcClient): void {
    this.client = client;
    client.on('event', (frame) => post({ op: 'evt', id: this.id, frame: frame.slice() }));
    client.on('disconnect', (err) => this.gone('server', err.message));
  }

  request(frame: Uint8Array): void {
    if (this.closed || !this.client) return;
    if (this.held.length > 0) this.held.push(frame);
    else this.send(frame, () => this.hold(frame));
  }

  /**
   * Hand one frame to the daemon. A libqb client refuses a send with EAGAIN while the
   * server has flow control on; ours does too, before sending anything, through an
   * already rejected promise. Answers come in the order the requests went out (FIFO).
   */
  private send(frame: Uint8Array, onRefused: () => void): void {
    this.client!.request(frame).then(
      (res) => {
        // corosync sends the events a request causes (a tracked key's change) before its
        // answer, and a program may look for them the moment it has the answer. Our client
        // can see the answer first (its own socket or ring, read by another watcher), so the
        // answer waits one turn of the loop: a poll phase in which every event already
        // queued by the daemon is read and passed on ahead of it.
        const frame = res.slice();
        setImmediate(() => {
          if (!this.closed) post({ op: 'res', id: this.id, frame });
        });
      },
      (err: unknown) => {
        if (this.closed) return;
        if (isIpcError(err, 'EAGAIN')) return onRefused();
        if (isIpcError(err, 'ECONNRESET') || isIpcError(err, 'ENOTCONN')) return this.gone('server', (err as Error).message);
        this.gone('error', `request of ${frame.length} bytes: ${(err as Error).message}`);
      },
    );
  }

  // The rejection runs as a microtask, before the main thread's next message is handled
  // (each message is its own callback), so nothing has overtaken the refused frame.
  private hold(frame: Uint8Array): void {
    this.held.unshift(frame);
    // The program's own sends now fail with EAGAIN (CS_ERR_TRY_AGAIN), as they would
    // against the daemon directly; the frame already in flight waits here.
    post({ op: 'flow', id: this.id, level: 1 });
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.held.length > 0 && !this.closed) {
        await new Promise((r) => setTimeout(r, this.retryDelay));
        if (this.closed) return;
        let refused = false;
        this.send(this.held[0]!, () => (refused = true));
        // A refusal is already settled: its handler has run once the microtasks have.
        await new Promise((r) => setImmediate(r));
        if (refused) {
          this.retryDelay = Math.min(this.retryDelay * 2, 50);
          continue;
        }
        this.retryDelay = 1;
        this.held.shift();
        // Send the rest at once unless the daemon turns flow control on again.
        while (this.held.length > 0 && !this.closed && !refused) {
          const f = this.held[0]!;
          this.send(f, () => (refused = true));
          await new Promise((r) => setImmediate(r));
          if (!refused) this.held.shift();
        }
      }
      if (!this.closed) post({ op: 'flow', id: this.id, level: 0 });
    } finally {
      this.pumping = false;
    }
  }

  private gone(by: 'server' | 'error', error: string): void {
    if (this.closed) return;
    void this.close();
    post({ op: 'gone', id: this.id, by, error });
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.held.length = 0;
      this.closing = this.client?.close() ?? Promise.resolve();
    }
    return this.closing;
  }

  private closing: Promise<void> = Promise.resolve();
}

const conns = new Map<number, Upstream>();

async function open(id: number, seq: number, service: string, cred: Cred): Promise<void> {
  const up = new Upstream(id);
  conns.set(id, up);
  let client: IpcClient;
  try {
    client = await connect(service, { timeout: data.handshakeTimeout });
  } catch (e) {
    conns.delete(id);
    answer(seq, isIpcError(e, 'ETIMEDOUT') ? -ETIMEDOUT : -errnoOf(e));
    return;
  }
  // corosync decides on access after its own checks (not ready, no such service, no
  // fds), which the connection above has just passed; then by uid/gid. The daemon sees
  // the tap's credentials, so the tap applies the same rule to the program's.
  let allowed: true | string;
  try {
    allowed = await corosyncAllows(cred, data.handshakeTimeout);
  } catch (e) {
    allowed = `cannot read corosync's uidgid keys: ${(e as Error).message}`;
  }
  if (allowed !== true) {
    conns.delete(id);
    await client.close();
    post({ op: 'denied', id, service, cred, reason: allowed });
    answer(seq, -EACCES);
    return;
  }
  if (!conns.has(id)) {
    // The main thread gave up waiting (or the program left) meanwhile.
    await client.close();
    return;
  }
  up.attach(client);
  answer(seq, 0);
}

async function probe(): Promise<void> {
  try {
    const c = await connect('cmap', { timeout: data.handshakeTimeout });
    // Closed before answering: the main thread may stop this worker right after.
    await c.close();
    post({ op: 'probe', transport: c.transport, maxMessageSize: c.maxMessageSize });
  } catch (e) {
    const code = isIpcError(e) ? e.code : 'EIO';
    // A daemon that answers with a refusal (not ready, service not loaded...) is there;
    // it will answer each program connection for itself. Only an absent one is fatal.
    if (isIpcError(e) && /refused the connection/.test(e.message)) post({ op: 'probe', refused: e.message });
    else post({ op: 'probe', error: (e as Error).message, code });
  }
}

port.on('message', (m: ToUpstream) => {
  switch (m.op) {
    case 'probe':
      void probe();
      break;
    case 'open':
      void open(m.id, m.seq, m.service, m.cred);
      break;
    case 'req':
      conns.get(m.id)?.request(m.frame);
      break;
    case 'close': {
      const up = conns.get(m.id);
      conns.delete(m.id);
      void up?.close();
      break;
    }
    case 'stop':
      // Every connection is closed (its native watchers released) before the thread
      // ends: the thread is left to finish on its own, never terminated with handles open.
      void Promise.all([...conns.values()].map((up) => up.close())).then(() => {
        conns.clear();
        port.close();
      });
      break;
  }
});
