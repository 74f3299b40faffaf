// The mock records every client it serves: the unmodified corosync tools (C, libqb) against
// `corosync-mock --capture`, over both transports; every frame decodes and every request has
// its reply. Also the in-process option with a gzip file.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, readCapture, type CaptureFrameRecord, type Direction, type Service } from '@corosync-ts/codec-wasm';
import { connect } from '@corosync-ts/ipc';
import { encoders } from '@corosync-ts/codec-wasm';
import { describeReal, describeRequiring, haveProgram, startNamespace, type Namespace } from '@corosync-ts/nstest';
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
        expect(await mock.stop(), mock.stderr()).toBe(0);
      }
      const c = await readCapture(readFileSync(file));
      expect(c.bad).toEqual([]);
      // Stopped, the mock closed its capture: a clean end, every frame counted.
      expect(c).toMatchObject({ complete: true, end: { by: 'close', dropped: 0 } });
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
    expect(c).toMatchObject({ complete: true, end: { frames: 4, by: 'close' } });
    checkCapture(frames);
  });
});

// A client the mock refuses (uid 65534 without a uidgid rule, as corosync would): the mock's
// capture has both setup frames and the refusal, with the client's pid, and no open.
const TRY_CONNECT = new URL('./fixtures/try-connect.mjs', import.meta.url).pathname;
const PKG = new URL('..', import.meta.url).pathname;
const noSetpriv = process.geteuid?.() !== 0 ? 'needs root for setpriv' : haveProgram('setpriv') ? undefined : 'setpriv not installed';

describeRequiring('root and setpriv', noSetpriv)('the mock records the handshakes it refuses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tk-capture-refused-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const transport of ['socket', 'shm'] as const) {
    test(transport, async () => {
      const file = join(dir, `refused-${transport}.jsonl.gz`);
      const mock = await startMockCorosync({ nodes: 1, transport, capture: file });
      const out = await new Promise<string>((resolve, reject) => {
        execFile('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, TRY_CONNECT, mock.endpoint().names.cmap], { cwd: PKG, timeout: 30_000 },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim())));
      });
      expect(out).toBe('err EACCES');
      await mock.close();
      const c = await readCapture(readFileSync(file));
      const lines = c.records;
      expect(lines.map((r) => (r.kind === 'frame' ? `${r.dir}:${r.hex.length / 2}` : r.state))).toEqual(['setup:24', 'setup:12328', 'closed']);
      expect(lines[2]).toMatchObject({ conn: 1, service: 'cmap', transport, state: 'closed', by: 'server', error: expect.stringMatching(/EACCES/) });
      expect(lines[2]!.pid).toBeGreaterThan(0);
      expect(lines[2]!.pid).not.toBe(process.pid);
      // the setup response carries -EACCES at offset 16
      expect((lines[1] as CaptureFrameRecord).hex.slice(32, 40)).toBe('f3ffffff');
    });
  }
});
