// The client records its own traffic: the `capture` option (path or CaptureWriter, shared by
// handles naming the same file) and COROSYNC_TS_CAPTURE for an unmodified application, against
// the testkit mock over both transports.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, readCapture, type CaptureFrameRecord, type Direction, type Service } from '@corosync-ts/codec-wasm';
import { CaptureWriter } from '@corosync-ts/ipc';
import { run } from '@corosync-ts/nstest';
import { startMockCorosync, type MockCorosync } from '@corosync-ts/testkit';
import { CS_ERR_INVALID_PARAM, CS_TRACK_CURRENT, isCsError } from '@corosync-ts/types';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { CmapHandle, QuorumHandle } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'client-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frames = (recs: Awaited<ReturnType<typeof readCapture>>['records']) => recs.filter((r): r is CaptureFrameRecord => r.kind === 'frame');

for (const transport of ['socket', 'shm'] as const) {
  describe(`capture option over ${transport}`, () => {
    let mock: MockCorosync;
    beforeAll(async () => {
      mock = await startMockCorosync({ nodes: 3, transport });
    });
    afterAll(async () => {
      await mock?.close();
    });

    it('two handles naming one path share the file; every frame of both is recorded and decodes', async () => {
      const file = join(dir, `shared-${transport}.jsonl.gz`);
      const c = await CmapHandle.initialize({ ipcPrefix: mock.prefix, capture: file });
      const q = await QuorumHandle.initialize({ quorumNotify: () => {} }, { ipcPrefix: mock.prefix, capture: file, dispatch: 'manual' });
      expect(await c.getUint32('runtime.votequorum.this_node_id')).toBe(1);
      await q.trackstart(CS_TRACK_CURRENT);
      await q.dispatch(1);
      await c.finalize();
      await q.finalize();
      // Flushed within 100 ms, or at exit; a test reads it sooner through a fresh writer's flush.
      await expect.poll(async () => frames((await readCapture(readFileSync(file))).records).filter((f) => f.dir === 'evt').length, { timeout: 5000 }).toBe(1);
      const cap = await readCapture(readFileSync(file));
      expect(cap.header.recorder).toMatchObject({ mode: 'client', name: '@corosync-ts/client' });
      const fs = frames(cap.records);
      expect(new Set(fs.map((f) => f.conn))).toEqual(new Set([1, 2]));
      expect(new Set(fs.map((f) => f.service))).toEqual(new Set(['cmap', 'quorum'])); // never the mock's prefix
      for (const f of fs) {
        expect(f).toMatchObject({ transport, pid: process.pid });
        decode(Uint8Array.from(Buffer.from(f.hex, 'hex')), { service: f.service as Service, dir: f.dir as Direction });
      }
      const quorum = fs.filter((f) => f.service === 'quorum').map((f) => f.dir);
      expect(quorum.slice(0, 2)).toEqual(['setup', 'setup']);
      expect(quorum.filter((d) => d === 'req').length).toBe(quorum.filter((d) => d === 'res').length);
      expect(cap.records.filter((r) => r.kind === 'state').map((r) => (r.kind === 'state' ? `${r.conn}:${r.state}:${r.by}` : ''))).toEqual(
        expect.arrayContaining(['1:open:undefined', '2:open:undefined', '1:closed:client', '2:closed:client']),
      );
    });

    it('takes a CaptureWriter, and leaves it open for its owner', async () => {
      const w = CaptureWriter.open(join(dir, `writer-${transport}.jsonl`), { mode: 'client', name: 'app', version: '1' });
      const c = await CmapHandle.initialize({ ipcPrefix: mock.prefix, capture: w });
      await c.getString('totem.cluster_name');
      await c.finalize();
      expect(w.closed).toBe(false);
      w.close();
      const cap = await readCapture(readFileSync(w.path));
      expect(cap.header.recorder.name).toBe('app');
      expect(frames(cap.records).map((f) => f.dir)).toEqual(['setup', 'setup', 'req', 'res']);
      expect(cap).toMatchObject({ complete: true, end: { frames: 4, dropped: 0, by: 'close' } });
    });
  });
}

describe('capture errors and the environment variable', () => {
  it('an explicit path that cannot be opened fails initialize with CS_ERR_INVALID_PARAM, nothing written through a symlink', async () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'keep');
    const link = join(dir, 'link.jsonl');
    symlinkSync(target, link);
    const mock = await startMockCorosync({ nodes: 1 });
    try {
      await expect(CmapHandle.initialize({ ipcPrefix: mock.prefix, capture: link })).rejects.toSatisfy((e) => isCsError(e, CS_ERR_INVALID_PARAM));
      expect(readFileSync(target, 'utf8')).toBe('keep');
      expect(mock.endpoint().connectionCount).toBe(0);
    } finally {
      await mock.close();
    }
  });

  it('COROSYNC_TS_CAPTURE records an unmodified application (%p = its pid), flushed at exit; a bad path only warns', async () => {
    const script = join(dir, 'app.mts');
    const src = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    writeFileSync(script, `
      import { startMockCorosync } from ${JSON.stringify(fileURLToPath(new URL('../node_modules/@corosync-ts/testkit/dist/index.js', import.meta.url)))};
      import { CmapHandle } from ${JSON.stringify(src)};
      const mock = await startMockCorosync({ nodes: 1 });
      const h = await CmapHandle.initialize({ ipcPrefix: mock.prefix });
      console.log(await h.getString('totem.cluster_name'));
      await h.finalize();
      await mock.close();
      process.exit(0);
    `);
    const app = (env: string) =>
      run([process.execPath, '--import', 'tsx', script], {
        cwd: fileURLToPath(new URL('..', import.meta.url)), timeout: 60_000, env: { COROSYNC_TS_CAPTURE: env },
      });
    const r = await app(join(dir, 'env-%p.jsonl'));
    expect(r.code, r.stderr).toBe(0);
    const file = join(dir, `env-${r.pid}.jsonl`);
    expect(existsSync(file)).toBe(true);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ corosyncCapture: 1, recorder: { mode: 'client' } });
    expect(lines.filter((l) => l.hex).map((l) => l.dir)).toEqual(['setup', 'setup', 'req', 'res']);
    expect(lines[1]).toMatchObject({ pid: r.pid, service: 'cmap' });
    // The shared file stays open for later handles: the exit flush ends it.
    expect(lines.at(-1)).toMatchObject({ frames: 4, dropped: 0, by: 'exit' });

    const bad = await app(join(dir, 'no-such-dir', 'x.jsonl'));
    expect(bad.code, bad.stderr).toBe(0);
    expect(bad.stdout.trim()).not.toBe('');
    expect(bad.stderr).toMatch(/CorosyncCaptureWarning: COROSYNC_TS_CAPTURE=.*not recording/);
  }, 120_000);

  it('COROSYNC_TS_CAPTURE: an unmodified application stopped by SIGTERM dies of it, and its capture keeps its frames and ends by the signal', async () => {
    const script = join(dir, 'stopped.mts');
    writeFileSync(script, `
      import { CmapHandle } from ${JSON.stringify(fileURLToPath(new URL('../src/index.ts', import.meta.url)))};
      const h = await CmapHandle.initialize({ ipcPrefix: process.env.MOCK_PREFIX });
      await h.getString('totem.cluster_name');
      console.log('ready');
      setInterval(() => {}, 60_000);
    `);
    const file = join(dir, 'stopped.jsonl');
    // The daemon in a process of its own, as corosync is: one in the application's process would
    // die of the signal with it and leave its connection's files in /dev/shm, as a killed corosync does.
    const mock = await startMockCorosync({ nodes: 1 });
    onTestFinished(() => mock.close());
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)), env: { ...process.env, COROSYNC_TS_CAPTURE: file, MOCK_PREFIX: mock.prefix }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ended = new Promise<[number | null, NodeJS.Signals | null]>((res) => child.once('exit', (code, sig) => res([code, sig])));
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && res());
      void ended.then(() => rej(new Error(`the application ended before it was ready: ${stderr}`)));
    });
    child.kill('SIGTERM');
    expect(await ended, stderr).toEqual([null, 'SIGTERM']);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.hex).map((l) => l.dir)).toEqual(['setup', 'setup', 'req', 'res']);
    expect(lines.at(-1)).toMatchObject({ frames: 4, dropped: 0, by: 'signal', signal: 'SIGTERM' });
  }, 60_000);
});
