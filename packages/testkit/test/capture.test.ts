// The mock records every client it serves: the unmodified corosync tools (C, libqb) against
// `corosync-mock --capture`, over both transports; every frame decodes and every request has
// its reply. Also the in-process option with a gzip file.
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, readCapture, type CaptureFrameRecord, type Direction, type Service } from '@corosync-ts/codec-wasm';
import { connect } from '@corosync-ts/ipc';
import { encoders } from '@corosync-ts/codec-wasm';
import { describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { afterAll, describe, expect, test } from 'vitest';
import { startMockCorosync } from '../src/index.js';
import { startMockIn } from './helpers/mockns.js';

const CONF = readFileSync(new URL('./fixtures/three-nodes.conf', import.meta.url), 'utf8');

/** Every frame decodes, and on every connection each request (but libqb's disconnect) has one reply. */
function checkCapture(frames: CaptureFrameRecord[]): void {
  const owed = new Map<number, number>();
  for (const f of frames) {
    const bytes = Uint8Array.from(Buffer.from(f.hex, 'hex'));
    if (f.dir === 'req' && new DataView(bytes.buffer).getInt32(0, true) === -3) continue;
    expect(() => decode(bytes, { service: f.service as Service, dir: f.dir as Direction }), `${f.service} ${f.dir} ${f.hex.slice(0, 32)}`).not.toThrow();
    if (f.dir === 'req') owed.set(f.conn, (owed.get(f.conn) ?? 0) + 1);
    if (f.dir === 'res') owed.set(f.conn, (owed.get(f.conn) ?? 0) - 1);
  }
  for (const [conn, n] of owed) expect(n, `connection ${conn}: unanswered requests`).toBe(0);
}

describeReal('corosync-mock --capture records the unmodified corosync tools', () => {
  let ns: Namespace;
  afterAll(async () => {
    await ns?.close();
  });

  for (const transport of ['shm', 'socket'] as const) {
    test(`corosync-cmapctl and corosync-quorumtool over ${transport}`, async () => {
      ns ??= await startNamespace({ name: 'tk-capture' });
      const file = join(ns.dir, `mock-${transport}.jsonl.gz`);
      const mock = await startMockIn(ns, CONF, ['--transport', transport, '--capture', file]);
      try {
        expect((await ns.exec(['corosync-cmapctl', '-g', 'totem.cluster_name'], { timeout: 30_000 })).code).toBe(0);
        // Exit status 2 = not quorate: only node 1 of 3 is up, as with one real daemon.
        expect(await ns.exec(['corosync-quorumtool', '-s'], { timeout: 30_000 })).toMatchObject({ code: 2, stdout: expect.stringMatching(/Quorum information/) });
        expect((await ns.exec(['corosync-cmapctl', 'runtime.votequorum'], { timeout: 30_000 })).code).toBe(0);
      } finally {
        expect(await mock.stop()).toBe(0);
      }
      const c = await readCapture(readFileSync(file));
      expect(c.bad).toEqual([]);
      expect(c.header.recorder).toMatchObject({ mode: 'mock', name: '@corosync-ts/testkit' });
      const frames = c.records.filter((r): r is CaptureFrameRecord => r.kind === 'frame');
      const procs = new Set(frames.map((f) => f.proc));
      // /proc/PID/comm keeps 15 characters.
      expect(procs).toEqual(new Set(['corosync-cmapct', 'corosync-quorum']));
      expect(new Set(frames.map((f) => f.service))).toEqual(new Set(['cmap', 'quorum', 'votequorum', 'cfg']));
      expect(frames.every((f) => f.transport === transport && typeof f.pid === 'number')).toBe(true);
      const conns = new Set(c.records.map((r) => r.conn));
      for (const conn of conns) {
        const lines = c.records.filter((r) => r.conn === conn);
        expect(lines.slice(0, 3).map((l) => (l.kind === 'frame' ? l.dir : l.state))).toEqual(['setup', 'setup', 'open']);
        expect(lines.at(-1)).toMatchObject({ kind: 'state', state: 'closed' });
        const ts = lines.map((l) => l.t);
        expect([...ts].sort((a, b) => a - b)).toEqual(ts);
      }
      checkCapture(frames);
      expect(frames.filter((f) => f.dir === 'req').length).toBeGreaterThan(10);
    }, 120_000);
  }
});

describe('startMockCorosync({ capture })', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tk-capture-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('records our own clients in-process, and closes the file with the mock', async () => {
    const file = join(dir, 'inproc.jsonl');
    const mock = await startMockCorosync({ nodes: 3, capture: file });
    const q = await connect(`${mock.prefix}quorum`);
    await q.request(encoders.quorum.req.getquorate({}));
    await q.close();
    await mock.close();
    const c = await readCapture(readFileSync(file));
    const frames = c.records.filter((r): r is CaptureFrameRecord => r.kind === 'frame');
    expect(frames.map((f) => `${f.service}:${f.dir}`)).toEqual(['quorum:setup', 'quorum:setup', 'quorum:req', 'quorum:res']);
    expect(frames[0]!.pid).toBe(process.pid);
    checkCapture(frames);
  });
});
