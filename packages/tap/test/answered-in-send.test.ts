// The upstream relay against an shm daemon that answers during the doorbell, as corosync
// (SCHED_RR 99) does when it shares the upstream worker's vCPU: the client then takes the answer
// in the send's own crossing, and request() returns with the call answered, no longer in flight.
// The relay took that for a refused send and stopped relaying the program's requests (the tap
// hung cmapctl, quorumtool, cfgtool and the C programs over shm on a loaded machine).
// An in-process server cannot answer during the doorbell (it runs on this thread), so the
// addon's ringWrite is wrapped, as @corosync-ts/ipc's own fast-answer test does: the answer is
// published where a preempting server would publish it. No namespace or daemon needed.
// The package keeps its addon to itself (its dist is one bundle), so the wrapper goes in as the
// addon is loaded: process.dlopen, which the package calls on its first connection.
import { connect, createServer, type IpcClient, type IpcServer, type IpcServerConnection } from '@corosync-ts/ipc';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { FromUpstream } from '../src/protocol.js';
import { Upstream } from '../src/relay.js';

const REQ = 24;
const EVENT_ID = 7;

/** A request (16-byte header) carrying `seq`. */
function request(seq: number): Uint8Array {
  const f = new Uint8Array(REQ);
  const v = new DataView(f.buffer);
  v.setInt32(8, REQ, true);
  v.setBigUint64(16, BigInt(seq), true);
  return f;
}

const seqOf = (f: Uint8Array, at: number) => Number(new DataView(f.buffer, f.byteOffset).getBigUint64(at, true));

/** A response or event (24-byte header, CS_OK) carrying the seq of `req`. */
function reply(req: Uint8Array, id = 1): Uint8Array {
  const f = new Uint8Array(32);
  const v = new DataView(f.buffer);
  v.setInt32(0, id, true);
  v.setInt32(8, 32, true);
  v.setInt32(16, 1, true);
  f.set(req.subarray(16, 24), 24);
  return f;
}

/** Every third seq's answer comes after an event about it, as a tracked key's change comes before the answer of the set. */
const withEvent = (seq: number) => seq % 3 === 0;

let server: IpcServer;
let client: IpcClient;
let conn: IpcServerConnection;
/** Whether the server answers in the client's doorbell (the wrapped ringWrite), not when it reads the request. */
let atDoorbell = false;
/** Seqs answered at the doorbell: the server skips them when it reads them. */
let early: Set<number>;
/** ringWrites whose crossing took the answer (ring.ts RW_ANSWERED). */
let answeredInSend = 0;

function answer(req: Uint8Array, publish: (f: Uint8Array) => void): void {
  if (withEvent(seqOf(req, 16))) conn.sendEvent(reply(req, EVENT_ID));
  publish(reply(req));
}

type RingWrite = (...a: unknown[]) => number;
/** What a wrapped ringWrite does before the addon's: publish the answer of the request it writes. */
let beforeWrite: ((a: unknown[]) => void) | undefined;
const dlopen = process.dlopen.bind(process);
process.dlopen = (module: { exports?: { ringWrite?: RingWrite } }, filename: string, flags?: number) => {
  if (flags === undefined) dlopen(module, filename);
  else dlopen(module, filename, flags);
  const ringWrite = module.exports?.ringWrite;
  if (!ringWrite) return;
  module.exports!.ringWrite = (...a: unknown[]) => {
    beforeWrite?.(a);
    const r = ringWrite(...a);
    // ring.ts RW_ANSWERED: the send's crossing took the answer.
    if (r === 4) answeredInSend++;
    return r;
  };
};

beforeEach(async () => {
  early = new Set();
  atDoorbell = false;
  answeredInSend = 0;
  beforeWrite = (a) => {
    // A client request (a doorbell fd): answered before the doorbell returns. The server's
    // transport ringing no doorbell (-1) is publishing an answer itself.
    if (!atDoorbell || (a[2] as number) < 0) return;
    const req = a[1] as Uint8Array;
    early.add(seqOf(req, 16));
    // Not conn.respond(): that counts requests read, and this one is not read yet.
    answer(req, (f) => (conn as unknown as { impl: { respond(f: Uint8Array): void } }).impl.respond(f));
  };
  const name = `cts-tap-answered-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  server = createServer(name, { transport: 'shm' });
  server.on('connection', (c) => {
    conn = c;
    c.on('request', (f) => {
      if (!early.delete(seqOf(f, 16))) answer(f, (r) => c.respond(r));
    });
  });
  await server.listen();
  client = await connect(name);
  expect(client.transport).toBe('shm');
});

afterEach(async () => {
  await client?.close();
  await server?.close();
  beforeWrite = undefined;
});

test('a program calling one call after another, and in bursts, gets every answer in order, each after its event, when the daemon answers within the send', async () => {
  const TOTAL = 400;
  const posted: FromUpstream[] = [];
  let sent = 0;
  let outstanding = 0;
  let bursts = 0;
  // The program sends its next call once it has the answers of the last ones (cmapctl's
  // iteration), four at once every fifth time.
  const program = () => {
    const n = Math.min(++bursts % 5 === 1 ? 4 : 1, TOTAL - sent);
    for (let i = 0; i < n; i++) {
      outstanding++;
      up.request(request(++sent));
    }
  };
  const up = new Upstream(1, 'cmap', (m) => {
    posted.push(m);
    if (m.op === 'res' && --outstanding === 0) program();
  });
  up.attach(client);
  // The first call registers the response ring with the client's waiter: never answered in its send.
  program();
  atDoorbell = true;
  const answers = () => posted.filter((m) => m.op === 'res').map((m) => seqOf(m.frame, 24));
  const deadline = Date.now() + 5000;
  while (answers().length < TOTAL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const got = answers();
  expect(got.length, `answers stopped after seq ${got.at(-1)} (${answeredInSend} taken in the send)`).toBe(TOTAL);
  expect(got).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
  // Each event reaches the program before the answer of the call that caused it.
  const order = posted.flatMap((m) => (m.op === 'res' ? [`res ${seqOf(m.frame, 24)}`] : m.op === 'evt' ? [`evt ${seqOf(m.frame, 24)}`] : []));
  for (let seq = 3; seq <= TOTAL; seq += 3) expect(order.indexOf(`evt ${seq}`)).toBeLessThan(order.indexOf(`res ${seq}`));
  expect(posted.filter((m) => m.op !== 'res' && m.op !== 'evt')).toEqual([]);
  // The path under test was taken, many times over.
  expect(answeredInSend).toBeGreaterThan(TOTAL / 4);
  await up.close();
});
