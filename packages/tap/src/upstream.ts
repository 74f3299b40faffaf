// The upstream worker: runs in the daemon's network namespace (the thread moves there
// first), so every socket it creates reaches the real corosync. One real connection per
// program connection; requests relayed in order, responses and events sent back as
// they arrive.
import { parentPort, workerData } from 'node:worker_threads';
import { connect, enterNetns, isIpcError, type IpcClient } from '@corosync-ts/ipc';
import { corosyncAllows, left } from './access.js';
import { NO_ANSWER, packVerdict, type Cred, type FromUpstream, type ToUpstream } from './protocol.js';
import { Upstream } from './relay.js';

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

const conns = new Map<number, Upstream>();

async function open(id: number, seq: number, service: string, cred: Cred): Promise<void> {
  const up = new Upstream(id, service, post);
  conns.set(id, up);
  const signal = up.opening.signal;
  // handshakeTimeout bounds the whole open, as it bounds the main thread's wait for it: with a
  // timeout per step, a daemon slow at each one kept the worker (and close()) busy long after
  // the program had been refused.
  const deadline = Date.now() + data.handshakeTimeout;
  let client: IpcClient | undefined;
  let verdict: number;
  try {
    client = await connect(service, { timeout: left(deadline), signal });
    // corosync decides on access after its own checks (not ready, no such service, no
    // fds), which the connection above has just passed; then by uid/gid. The daemon sees
    // the tap's credentials, so the tap applies the same rule to the program's.
    let allowed: true | string;
    try {
      allowed = await corosyncAllows(cred, deadline, signal);
    } catch (e) {
      if (isIpcError(e, 'ETIMEDOUT') || isIpcError(e, 'ABORT_ERR')) throw e;
      allowed = `cannot read corosync's uidgid keys: ${(e as Error).message}`;
    }
    if (allowed === true) verdict = 0;
    else {
      post({ op: 'denied', id, service, cred, reason: allowed });
      verdict = -EACCES;
    }
  } catch (e) {
    verdict = isIpcError(e, 'ETIMEDOUT') ? NO_ANSWER : -errnoOf(e);
  }
  if (verdict !== 0 || signal.aborted) {
    conns.delete(id);
    await client?.close();
    // Aborted: the main thread no longer waits for this answer.
    if (!signal.aborted) answer(seq, verdict);
    return;
  }
  up.attach(client!);
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
      // Every connection is closed (its fds too, and the daemon sees it go) before the
      // thread ends on its own: see stopWorker() in tap.ts for why it is not terminated.
      void Promise.all([...conns.values()].map((up) => up.close())).then(() => {
        conns.clear();
        port.close();
      });
      break;
  }
});
