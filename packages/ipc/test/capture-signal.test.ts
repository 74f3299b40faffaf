// A recorded process stopped by SIGTERM, SIGINT or SIGHUP: with no listener of its own it still
// dies of the signal, and its capture keeps what was buffered and ends with the signal's end
// line; with a listener of its own the application decides, and the recorder changes nothing.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../src/capture-writer.ts');
const TSX_API = createRequire(__filename).resolve('tsx/esm/api');
const dir = mkdtempSync(join(tmpdir(), 'cts-capsig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lines(path: string): Record<string, unknown>[] {
  let raw = readFileSync(path);
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
  return raw.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * A child Node that opens a writer on each of `paths` (a copy of the module each with
 * `copies`), records 3 frames on each (buffered: no flush), runs `setup`, says "ready" and then
 * answers each line on stdin with "pong <signals its own listeners got>". Resolves once it is
 * ready, with the child and its end.
 */
async function recorder(name: string, o: { paths: string[]; setup?: string; copies?: boolean }) {
  const file = join(dir, `${name}.mts`);
  writeFileSync(
    file,
    `let got = 0;
    const writers = [];
    for (const [i, path] of ${JSON.stringify(o.paths)}.entries()) {
      const { CaptureWriter } = await import(${JSON.stringify(SRC)} + (${o.copies ?? false} ? '?copy=' + i : ''));
      const w = CaptureWriter.open(path, { mode: 'client', name: 'child', version: '1' });
      const conn = w.newConnection();
      for (let f = 0; f < 3; f++) w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: Uint8Array.of(f) });
      writers.push(w);
    }
    ${o.setup ?? ''}
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', () => process.stdout.write('pong ' + got + '\\n'));
    process.stdout.write('ready\\n');`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal, stderr: err })),
  );
  const said = (what: RegExp) =>
    new Promise<string>((res, rej) => {
      const look = () => {
        const m = what.exec(out);
        if (m) {
          out = out.slice(m.index + m[0].length);
          child.stdout.off('data', more);
          child.off('exit', gone);
          res(m[0]);
        }
      };
      const more = (d: Buffer) => {
        out += d.toString();
        look();
      };
      const gone = () => rej(new Error(`child ended before saying ${what}: ${err}`));
      child.stdout.on('data', more);
      child.once('exit', gone);
      look();
    });
  await said(/ready\n/);
  return { child, ended, said };
}

describe('a recorded process stopped by a signal', () => {
  for (const [sig, gz] of [['SIGTERM', false], ['SIGINT', true], ['SIGHUP', false]] as const) {
    it(`without a listener of its own dies of ${sig}, and its capture keeps the buffered frames and ends by the signal${gz ? ' (gzip)' : ''}`, async () => {
      const path = join(dir, `no-listener-${sig}.jsonl${gz ? '.gz' : ''}`);
      const r = await recorder(`no-listener-${sig}`, { paths: [path] });
      r.child.kill(sig);
      const end = await r.ended;
      expect(end).toEqual({ code: null, signal: sig, stderr: '' });
      const l = lines(path);
      expect(l.map((x) => x.hex ?? Object.keys(x)[0])).toEqual(['corosyncCapture', '00', '01', '02', 'end']);
      expect(l.at(-1)).toMatchObject({ frames: 3, dropped: 0, by: 'signal', signal: sig });
    });
  }

  it('with two copies of the recorder loaded, each ends its capture, and the process still dies of the signal', async () => {
    const paths = [join(dir, 'copy-0.jsonl'), join(dir, 'copy-1.jsonl')];
    const r = await recorder('copies', { paths, copies: true, setup: `if (writers[0].constructor === writers[1].constructor || process.listenerCount('SIGTERM') !== 2) throw new Error('one copy');` });
    r.child.kill('SIGTERM');
    expect(await r.ended).toEqual({ code: null, signal: 'SIGTERM', stderr: '' });
    for (const p of paths) expect(lines(p).at(-1)).toMatchObject({ frames: 3, by: 'signal', signal: 'SIGTERM' });
  });

  it('whose writers are all closed dies of the signal as if never recorded (the recorder no longer listens)', async () => {
    const path = join(dir, 'closed.jsonl');
    const r = await recorder('closed', { paths: [path], setup: `writers[0].close(); if (process.listenerCount('SIGTERM') !== 0) throw new Error('still listening');` });
    r.child.kill('SIGTERM');
    expect(await r.ended).toEqual({ code: null, signal: 'SIGTERM', stderr: '' });
    expect(lines(path).at(-1)).toMatchObject({ frames: 3, by: 'close' });
  });

  it('with its writer in a worker thread, where signals never come, dies of the signal as before: what was flushed is kept, no end line', async () => {
    const path = join(dir, 'worker.jsonl');
    // Node 20 runs a worker without the hooks `--import tsx` registered in the main thread.
    const worker = join(dir, 'worker.mjs');
    writeFileSync(
      worker,
      `import { createRequire } from 'node:module';
      import { parentPort } from 'node:worker_threads';
      createRequire(import.meta.url)(${JSON.stringify(TSX_API)}).register();
      const { CaptureWriter } = await import(${JSON.stringify(SRC)});
      const w = CaptureWriter.open(${JSON.stringify(path)}, { mode: 'client', name: 'child', version: '1' });
      const conn = w.newConnection();
      w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: Uint8Array.of(7) });
      w.flush();
      parentPort.postMessage(process.listenerCount('SIGTERM'));
      setInterval(() => {}, 60_000);`,
    );
    const r = await recorder('in-worker', {
      paths: [],
      setup: `const { Worker } = await import('node:worker_threads');
      const listening = await new Promise((res) => new Worker(${JSON.stringify(worker)}).once('message', res));
      if (listening !== 0 || process.listenerCount('SIGTERM') !== 0) throw new Error('a listener for SIGTERM');`,
    });
    r.child.kill('SIGTERM');
    expect(await r.ended).toEqual({ code: null, signal: 'SIGTERM', stderr: '' });
    expect(lines(path).map((x) => x.hex ?? Object.keys(x)[0])).toEqual(['corosyncCapture', '07']);
  });

  it('with its own listener that exits (once, later), exits as the application says, and the exit flush ends the capture', async () => {
    const path = join(dir, 'app-exits.jsonl');
    const r = await recorder('app-exits', { paths: [path], setup: `process.once('SIGTERM', () => setImmediate(() => process.exit(0)));` });
    r.child.kill('SIGTERM');
    expect(await r.ended).toEqual({ code: 0, signal: null, stderr: '' });
    const l = lines(path);
    expect(l.at(-1)).toMatchObject({ frames: 3, by: 'exit' });
    expect(l.at(-1)!.signal).toBeUndefined();
  });

  it('with its own listener that does not exit, lives on and answers; SIGKILL then leaves no end line', async () => {
    const path = join(dir, 'app-stays.jsonl');
    const r = await recorder('app-stays', { paths: [path], setup: `process.on('SIGTERM', () => { got++; });` });
    r.child.kill('SIGTERM');
    r.child.stdin.write('ping\n');
    // The pong after the signal was handled: the listener ran and the process is still here.
    let pong = await r.said(/pong \d+\n/);
    while (pong === 'pong 0\n') {
      r.child.stdin.write('ping\n');
      pong = await r.said(/pong \d+\n/);
    }
    expect(pong).toBe('pong 1\n');
    expect(r.child.exitCode).toBeNull();
    r.child.kill('SIGKILL');
    expect(await r.ended).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(lines(path).some((x) => x.end !== undefined)).toBe(false);
  });
});
