import { encoders, decode } from '@corosync-ts/codec-wasm';
import { connect, type IpcClient } from '@corosync-ts/ipc';
import { compileC, describeWithPrograms } from '@corosync-ts/nstest';
import { CmapValueType as T } from '@corosync-ts/types';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { startMockCorosync, type MockCorosync } from '../src/index.js';

// The in-process mock's per-connection limits, set small, against hostile libqb clients (C, libqb)
// and raw handshakes; a well-behaved client is served alongside and nothing is left behind.

const until = async (what: string, ok: () => boolean, ms = 30_000) => {
  for (const t0 = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
  }
};
const fds = () => readdirSync('/proc/self/fd').length;
const shmDirs = () => readdirSync('/dev/shm').filter((f) => f.startsWith(`qb-${process.pid}-`));

/** A raw setup connection: sends `bytes`, resolves with what came back before the server closed. */
function rawHandshake(name: string, bytes: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path: `\0${name}` });
    const got: Buffer[] = [];
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => {
      got.push(d);
      // the whole 12328-byte setup reply: a refused one is followed by a close, a granted one is not
      if (Buffer.concat(got).length >= 12328 && Buffer.concat(got).readInt32LE(16) === 0) s.destroy();
    });
    s.on('close', () => resolve(Buffer.concat(got)));
    s.on('error', reject);
  });
}
function connectionRequest(max: number, id = -1): Uint8Array {
  const b = Buffer.alloc(24);
  b.writeInt32LE(id, 0);
  b.writeInt32LE(24, 8);
  b.writeUInt32LE(max >>> 0, 16);
  return b;
}

describeWithPrograms('gcc')('the mock bounds what one client can take', () => {
  let mock: MockCorosync | undefined;
  let probe: string;
  let steady: IpcClient | undefined;
  beforeAll(async () => {
    probe = await compileC(readFileSync(new URL('./fixtures/hostile-probe.c', import.meta.url), 'utf8'), ['qb', 'cmap']);
  }, 120_000);
  afterEach(async () => {
    await steady?.close();
    steady = undefined;
    await mock?.close();
    mock = undefined;
  });
  const servesWell = async () => {
    steady ??= await connect(mock!.endpoint().names.cmap);
    const r = decode(await steady.request(encoders.cmap.req.get({ keyName: 'totem.cluster_name', valueLen: 64n })), { service: 'cmap', dir: 'res' });
    expect(r.error).toBe(1);
  };

  for (const transport of ['socket', 'shm'] as const) {
    test(`${transport}: a tracker that never reads its events is disconnected past maxQueuedEventBytes, others are served`, async () => {
      const before = { fds: fds(), shm: shmDirs().length };
      mock = await startMockCorosync({ nodes: 1, transport, limits: { maxQueuedEventBytes: 256 * 1024 } });
      const ep = mock.endpoint();
      const track = Buffer.from(encoders.cmap.req.trackAdd({ keyName: 'hostile.', trackType: 1 | 2 | 4 | 8, trackInstHandle: 7n })).toString('hex');
      const child = spawn(probe, ['quiet', ep.names.cmap, track], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      const exited = new Promise((r) => child.once('exit', r));
      await until('the tracker', () => out.includes('ready'));
      expect(out).toBe('error=1 ready\n');
      await servesWell();
      const node = mock.cluster.node(1);
      // each change queues one notification (~330 bytes + overhead) for the silent tracker
      for (let i = 0; i < 5000 && ep.connectionCount > 1; i++) {
        node.cmap.set('hostile.k', T.UINT32, i + 1);
        if (i % 100 === 0) await new Promise((r) => setImmediate(r));
      }
      await until('the tracker to be dropped', () => ep.connectionCount === 1);
      await servesWell();
      child.stdin.end('\n');
      await exited;
      expect(out).toMatch(/^error=1 ready\nerror=1 connected=0 events=\d+\n$/);
      await steady!.close();
      steady = undefined;
      await until('no connections', () => ep.connectionCount === 0);
      await mock.close();
      mock = undefined;
      expect({ fds: fds(), shm: shmDirs().length }).toEqual(before);
    }, 120_000);

    test(`${transport}: requests whose answers are never read stop being read past maxQueuedResponseBytes`, async () => {
      mock = await startMockCorosync({ nodes: 1, transport, limits: { maxQueuedResponseBytes: 4096 } });
      const ep = mock.endpoint();
      const flood = spawn(probe, ['flood', ep.names.quorum, '200000'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      flood.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      await servesWell();
      await new Promise((r) => flood.once('exit', r));
      const m = /^sent=(\d+) stalled=1 answers=(\d+) connected=1\n$/.exec(out);
      expect(m, out).not.toBeNull();
      // nothing taken was left unanswered or answered twice: what the client could not read
      // stays in its own queue, never in the mock
      expect(Number(m![2])).toBeLessThanOrEqual(Number(m![1]));
      expect(Number(m![1])).toBeLessThan(200000);
      await servesWell();
      await until('the flooder gone', () => ep.connectionCount === 1);
    }, 120_000);

    test(`${transport}: bogus and greedy handshakes`, async () => {
      mock = await startMockCorosync({ nodes: 1, transport, limits: { handshakeTimeout: 300 } });
      const name = mock.endpoint().names.cmap;
      const before = fds();
      // not an authentication request: closed without a reply, as by libqb
      expect((await rawHandshake(name, connectionRequest(1 << 20, 5))).length).toBe(0);
      // a truncated request is dropped once the handshake times out
      expect((await rawHandshake(name, connectionRequest(1 << 20).subarray(0, 10))).length).toBe(0);
      for (const max of [0x40000000, 0xffffffff, 0x7fffffff]) {
        const reply = await rawHandshake(name, connectionRequest(max));
        expect(reply.length).toBe(12328);
        if (transport === 'shm') {
          expect({ max, error: reply.readInt32LE(16) }).toEqual({ max, error: -28 }); // -ENOSPC, as libqb on a full /dev/shm
        } else {
          expect({ max, error: reply.readInt32LE(16), granted: reply.readUInt32LE(28) }).toEqual({ max, error: 0, granted: max });
        }
      }
      await servesWell();
      await steady!.close();
      steady = undefined;
      await until('no connections', () => mock!.endpoint().connectionCount === 0);
      await until('fds released', () => fds() === before);
      expect(shmDirs()).toEqual([]);
    }, 60_000);
  }
});
