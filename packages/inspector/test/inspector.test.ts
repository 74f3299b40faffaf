// The built inspector (dist/index.html) in real headless Chromium, opened from file:// and from a
// loopback server, on captures recorded here by the mock and by the client (both recorders,
// over both transports), plus a hand-made one with a TRY_AGAIN answer and a malformed frame.
// INSPECTOR_SCREENSHOTS=DIR also writes the README's screenshots there.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { encoders, toHex } from '@corosync-ts/codec-wasm';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { describeRequiring, runOk } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { record } from './fixtures.js';

const CHROMIUM = process.env.COROSYNC_TS_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const PKG = fileURLToPath(new URL('..', import.meta.url));
const PAGE = join(PKG, 'dist/index.html');
const SHOTS = process.env.INSPECTOR_SCREENSHOTS;
const dir = mkdtempSync(join(tmpdir(), 'inspector-test-'));

interface Probe { ready: boolean; error?: string; frames?: number; firstTableMs?: number }
type W = { __inspector: { probe: Probe; state: { cap: any; rows: Int32Array; sel: number }; timeline: { binPasses: number; paints: number; view: { v0: number; v1: number }; positionOf(i: number): { x: number; y: number } | null; markPosition(k: number): { x: number; y: number } | null } } };

/** A capture written by hand: a TRY_AGAIN answer, then the retry answered OK, and a malformed frame. */
function handmade(): string {
  const header = { corosyncCapture: 1, start: { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' }, host: 'lab', recorder: { mode: 'tap', name: 'hand', version: '0' } };
  const base = { conn: 1, pid: 77, proc: 'retrier', service: 'cmap', transport: 'shm' };
  const get = toHex(encoders.cmap.req.get({ keyName: 'totem.cluster_name', valueLen: 16n }));
  const tryAgain = toHex(encoders.cmap.res.error({}, { id: 2, error: 6 }));
  const ok = toHex(encoders.cmap.res.get({ valueLen: 4n, type: 11, value: new TextEncoder().encode('lab\0') }));
  const bad = `${get.slice(0, 16)}c8000000${get.slice(24)}`; // a size field of 200 in a 288-byte frame
  const lines = [
    header,
    { t: 1000, ...base, dir: 'req', hex: get },
    { t: 9000, ...base, dir: 'res', hex: tryAgain },
    { t: 2_000_000, ...base, dir: 'req', hex: get },
    { t: 2_004_000, ...base, dir: 'res', hex: ok },
    { t: 3_000_000, ...base, dir: 'req', hex: bad },
  ];
  const file = join(dir, 'handmade.jsonl');
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

/**
 * The timeline's connection states: flow control on then off around a TRY_AGAIN and its retry
 * (conn 1), a handshake refused as the tap records it (a 'closed' line alone, conn 2) and as
 * the client records it (both setup frames, the response carrying -EACCES, conn 3), then frames
 * the recorder dropped on conn 1 (a request before the drop whose answer was lost, an answer
 * after it whose request was lost, then a pair).
 */
function marksCapture(): string {
  const header = { corosyncCapture: 1, start: { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' }, host: 'lab', recorder: { mode: 'tap', name: 'hand', version: '0' } };
  const a = { conn: 1, pid: 71, proc: 'busy', service: 'cpg', transport: 'shm' };
  const b = { conn: 2, pid: 72, proc: 'nobody-tool', service: 'cmap', transport: 'shm' };
  const c = { conn: 3, pid: 73, proc: 'denied', service: 'quorum', transport: 'socket' };
  const get = toHex(encoders.cmap.req.get({ keyName: 'a', valueLen: 8n }));
  const tryAgain = toHex(encoders.cmap.res.error({}, { id: 2, error: 6 }));
  const ok = toHex(encoders.cmap.res.get({ valueLen: 4n, type: 11, value: new TextEncoder().encode('ok\0\0') }));
  const setupReq = 'ffffffff000000001800000000000000000010000000000000'.slice(0, 48);
  const refusal = `ffffffff000000002830000000000000f3ffffff00000000${'00'.repeat(12328 - 24)}`;
  const lines = [
    header,
    { t: 1_000, ...a, service: 'cmap', state: 'open' },
    { t: 100_000, ...a, service: 'cmap', dir: 'req', hex: get },
    { t: 150_000, ...a, service: 'cmap', dir: 'res', hex: tryAgain },
    { t: 200_000, ...a, service: 'cmap', state: 'flow', level: 1 },
    { t: 5_000_000, ...b, state: 'closed', by: 'server', error: 'corosync refused the connection (EACCES)' },
    { t: 6_000_000, ...c, dir: 'setup', hex: setupReq },
    { t: 6_100_000, ...c, dir: 'setup', hex: refusal },
    { t: 6_100_500, ...c, state: 'closed', by: 'server', error: 'server @quorum refused the connection: EACCES' },
    { t: 8_000_000, ...a, service: 'cmap', state: 'flow', level: 0 },
    { t: 8_100_000, ...a, service: 'cmap', dir: 'req', hex: get },
    { t: 8_200_000, ...a, service: 'cmap', dir: 'res', hex: ok },
    { t: 8_300_000, ...a, service: 'cmap', dir: 'req', hex: get },
    { t: 8_500_000, ...a, service: 'cmap', state: 'dropped', lines: 2 },
    { t: 8_550_000, ...a, service: 'cmap', dir: 'res', hex: ok },
    { t: 8_700_000, ...a, service: 'cmap', dir: 'req', hex: get },
    { t: 8_750_000, ...a, service: 'cmap', dir: 'res', hex: ok },
    { t: 9_000_000, ...a, service: 'cmap', state: 'closed', by: 'client' },
  ];
  const file = join(dir, 'marks.jsonl');
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

/** cpg traffic as libcpg makes it: corosync never answers MCAST, so the requests after it pair with the answers after it. */
function cpgCapture(): string {
  const header = { corosyncCapture: 1, start: { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' }, host: 'lab', recorder: { mode: 'tap', name: 'hand', version: '0' } };
  const a = { conn: 1, pid: 81, proc: 'cpgapp', service: 'cpg', transport: 'socket' };
  const e = encoders.cpg;
  const group = 'inspect-group';
  const frames: [string, Uint8Array][] = [
    ['req', e.req.join({ groupName: group, pid: 81, flags: 0 })],
    ['res', e.res.join({})],
    ['evt', e.evt.confchgCallback({ groupName: group, memberList: [{ nodeid: 1, pid: 81, reason: 1 }], leftList: [], joinedList: [{ nodeid: 1, pid: 81, reason: 1 }] })],
    ['req', e.req.mcastJoined({ guarantee: 1, message: new TextEncoder().encode('hello') })],
    ['evt', e.evt.deliverCallback({ groupName: group, nodeid: 1, pid: 81, message: new TextEncoder().encode('hello') })],
    ['req', e.req.membershipGet({ groupName: group })],
    ['res', e.res.membershipGet({ memberCount: 1, memberList: [{ nodeid: 1, pid: 81, reason: 0 }] })],
    ['req', e.req.localGet({})],
    ['res', e.res.localGet({ localNodeid: 1 })],
  ];
  const lines = [header, ...frames.map(([d, f], k) => ({ t: 1_000_000 * (k + 1), ...a, dir: d, hex: toHex(f) }))];
  const file = join(dir, 'cpg.jsonl');
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

/**
 * A capture big enough for the export to take several pieces: n frames of cmap.get request and
 * answer pairs on ten connections, 400 µs apart (20 s in all); conn 11 has a request whose answer the recorder
 * dropped and an answer whose request it dropped; conn 12 has malformed requests (no answer).
 */
function bigCapture(n: number): { file: string; hex: string[] } {
  const header = { corosyncCapture: 1, start: { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' }, host: 'lab', recorder: { mode: 'tap', name: 'big', version: '0' } };
  const get = toHex(encoders.cmap.req.get({ keyName: 'totem.cluster_name', valueLen: 16n }));
  const ok = toHex(encoders.cmap.res.get({ valueLen: 4n, type: 11, value: new TextEncoder().encode('lab\0') }));
  const bad = `${get.slice(0, 16)}c8000000${get.slice(24)}`;
  const conn = (k: number) => ({ conn: k, pid: 1000 + k, proc: `p${k}`, service: 'cmap', transport: 'shm' });
  const lines: string[] = [JSON.stringify(header)];
  const hex: string[] = [];
  const frame = (t: number, k: number, d: string, h: string) => {
    lines.push(JSON.stringify({ t, ...conn(k), dir: d, hex: h }));
    hex.push(h);
  };
  frame(1, 11, 'req', get);
  lines.push(JSON.stringify({ t: 2, ...conn(11), state: 'dropped', lines: 1 }));
  frame(3, 11, 'res', ok);
  for (let j = 0; hex.length < n; j++) {
    const k = 1 + (j % 10);
    if (j % 5000 === 7) frame(hex.length * 400_000, 12, 'req', bad);
    frame(hex.length * 400_000, k, 'req', get);
    frame(hex.length * 400_000, k, 'res', ok);
  }
  const file = join(dir, 'big.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, hex };
}

const suite = describeRequiring('headless Chromium', available ? undefined : `${CHROMIUM} not found (apt-get install chromium)`);

suite('inspector in headless Chromium', () => {
  let browser: Browser;
  // One context for the file, a fresh page per test: opening a page in a new context took ~0.5 s
  // longer than in this one (median of 8 interleaved opens on a loaded 2-core machine; the file
  // opens ~45), and the inspector keeps nothing a context holds (no storage, no cookies; the
  // server forbids caching).
  let context: BrowserContext;
  let server: Server;
  let files: Record<string, string>;
  let held: { head: Buffer; tail: Buffer; released: Promise<void> } | undefined;

  beforeAll(async () => {
    await runOk([process.execPath, join(PKG, 'scripts/build.mjs')], { timeout: 100_000 });
    const shm = await record(dir, 'shm');
    const socket = await record(dir, 'socket');
    files = { mockShm: shm.mock, clientShm: shm.client, mockSocket: socket.mock, clientSocket: socket.client, handmade: handmade(), marks: marksCapture(), cpg: cpgCapture() };
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    context = await browser.newContext();
    server = createServer((req, res) => {
      res.setHeader('cache-control', 'no-store');
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(readFileSync(PAGE));
      if (u.pathname === '/held' && held) {
        // all but the end of the capture at once; the end when the test says so
        res.writeHead(200).write(held.head);
        const h = held;
        return void h.released.then(() => res.end(h.tail));
      }
      const f = files[u.pathname.slice(1)];
      if (f) return void res.writeHead(200).end(readFileSync(f));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh page, at the viewport given or else Playwright's default one (1280 × 720). */
  async function newPage(viewport?: { width: number; height: number }): Promise<Page> {
    const page = await context.newPage();
    if (viewport) await page.setViewportSize(viewport);
    return page;
  }

  async function open(file: string, how: 'picker' | 'drop' = 'picker', hash = ''): Promise<Page> {
    const page = await newPage({ width: 1400, height: 860 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(PAGE).href + hash);
    if (how === 'picker') {
      await page.setInputFiles('#file', file);
    } else {
      const b64 = readFileSync(file).toString('base64');
      await page.evaluate(([data, name]) => {
        const bytes = Uint8Array.from(atob(data!), (ch) => ch.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name!));
        document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, [b64, file.split('/').pop()!]);
    }
    await page.waitForFunction(() => (window as unknown as W).__inspector.probe.ready || (window as unknown as W).__inspector.probe.error, undefined, { timeout: 60_000 });
    expect(errors).toEqual([]);
    return page;
  }

  const summary = (page: Page) =>
    page.evaluate(() => {
      const { state } = (window as unknown as W).__inspector;
      const c = state.cap;
      let reqs = 0;
      let unpaired = 0;
      let undecoded = 0;
      for (let i = 0; i < c.count; i++) {
        if (c.msg[i] < 0) undecoded++;
        if (c.dir[i] === 0 && c.id[i] !== -3) {
          reqs++;
          if (c.pair[i] < 0) unpaired++;
        }
      }
      return { count: c.count, reqs, unpaired, undecoded, conns: c.conns.size, rows: document.querySelectorAll('#rows .row').length, recorder: c.header.recorder.mode };
    });

  /** The table's cells whose text the column cuts. */
  const cutCells = (page: Page) => page.evaluate(() => [...document.querySelectorAll('.row span')].filter((e) => e.scrollWidth > e.clientWidth).map((e) => e.textContent));
  /** The head's cells that do not sit over the first row's. */
  const misaligned = (page: Page) =>
    page.evaluate(() => {
      const head = [...document.querySelectorAll('.row.head span')].map((e) => e.getBoundingClientRect());
      const row = [...document.querySelectorAll('#rows .row:first-child span')].map((e) => e.getBoundingClientRect());
      return head.flatMap((h, k) => (Math.abs(h.left - row[k]!.left) > 0.5 || Math.abs(h.width - row[k]!.width) > 0.5 ? [k] : []));
    });

  for (const [key, how] of [['mockShm', 'picker'], ['clientShm', 'drop'], ['mockSocket', 'drop'], ['clientSocket', 'picker']] as const) {
    it(`opens the ${key} capture (${how}): every frame decoded, every request paired, table and timeline drawn`, async () => {
      const page = await open(files[key]!, how);
      const s = await summary(page);
      expect(s.recorder).toBe(key.startsWith('mock') ? 'mock' : 'client');
      expect(s.undecoded).toBe(0);
      expect(s.unpaired).toBe(0);
      expect(s.reqs).toBeGreaterThan(25);
      expect(s.conns).toBe(3);
      expect(s.rows).toBeGreaterThan(10);
      expect(s.rows).toBeLessThan(s.count); // virtualised: only what is in view (plus a margin)
      const text = await page.locator('#rows').innerText();
      expect(text).toMatch(/cmap\.get/);
      expect(text).toMatch(/µs/);
      // every cell whole, the process (node (vitest 1) [pid]) too; the head's columns line up with the rows'
      expect(await cutCells(page)).toEqual([]);
      expect(await misaligned(page)).toEqual([]);
      // The mock closed its capture: an end line. The client's stays open until this process exits.
      const status = await page.locator('#status').innerText();
      if (key.startsWith('mock')) expect(status).toMatch(/, recorded \S+Z – \S+Z \([\d.]+ m?s\), complete · loaded in /);
      else expect(status).toMatch(/, started \S+Z — no end line: the recording was cut off \(recorder killed, a write failed such as on a full disk, or still writing\); last line at \S+Z \([\d.]+ m?s in\) · loaded in /);
      // the timeline has marks in three lanes
      const lanes = await page.evaluate(() => {
        const { state, timeline } = (window as unknown as W).__inspector;
        const ys = new Set<number>();
        for (let k = 0; k < state.rows.length; k++) {
          const p = timeline.positionOf(state.rows[k]!);
          if (p) ys.add(Math.round(p.y));
        }
        return ys.size;
      });
      expect(lanes).toBe(3);
      if (SHOTS && key === 'mockShm') {
        await page.locator('#rows .row', { hasText: 'cmap.get' }).first().click();
        await page.locator('#d-tree .field', { hasText: 'keyName' }).click();
        await page.screenshot({ path: join(SHOTS, 'main.png') });
      }
      await page.close();
    });
  }

  it('a capture loading in many pieces: the rows shown while it loads are always the filtered ones, in order, a prefix of the final table', async () => {
    // ~24 MiB of lines: the first piece and three or more of 8 MiB
    const file = join(dir, 'pieces.jsonl');
    const req = toHex(encoders.quorum.req.getquorate({}));
    const res = toHex(encoders.quorum.res.getquorate({ quorate: 1 }));
    const header = JSON.stringify({ corosyncCapture: 1, start: { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' }, host: 't', recorder: { mode: 'tap', name: 't', version: '0' } });
    const lines = [header];
    const N = 160_000;
    for (let i = 0; i < N; i++) {
      const conn = 1 + (i % 7);
      lines.push(`{"t":${i * 1000},"conn":${conn},"pid":${100 + conn},"proc":"p${conn}","service":"quorum","transport":"shm","dir":"${(i >> 3) % 2 ? 'res' : 'req'}","hex":"${(i >> 3) % 2 ? res : req}"}`);
    }
    writeFileSync(file, lines.join('\n') + '\n');
    const page = await newPage({ width: 1400, height: 860 });
    await page.goto(pathToFileURL(PAGE).href + '#dir=res');
    // every animation frame while it loads: is what the table holds sorted, all responses?
    await page.evaluate(() => {
      const w = window as unknown as W & { __snap: { n: number; bad: string[]; lens: number[]; heads: number[][] } };
      w.__snap = { n: 0, bad: [], lens: [], heads: [] };
      const tick = () => {
        const { state, probe } = w.__inspector;
        const c = state.cap;
        if (c) {
          const r = state.rows;
          for (let k = 1; k < r.length; k++) if (r[k]! <= r[k - 1]!) w.__snap.bad.push(`unsorted at ${k}`);
          for (let k = 0; k < r.length; k++) if (c.dir[r[k]!] !== 1) w.__snap.bad.push(`row ${k} is frame ${r[k]} of dir ${c.dir[r[k]!]}`);
          w.__snap.lens.push(r.length);
          w.__snap.heads.push(Array.from(r.subarray(Math.max(0, r.length - 5))));
        }
        if (!probe.ready && !probe.error) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await page.setInputFiles('#file', file);
    await page.waitForFunction(() => (window as unknown as W).__inspector.probe.ready || (window as unknown as W).__inspector.probe.error, undefined, { timeout: 120_000 });
    const got = await page.evaluate(() => {
      const w = window as unknown as W & { __snap: { bad: string[]; lens: number[]; heads: number[][] } };
      const r = w.__inspector.state.rows;
      // every snapshot's last rows are where the final table has them
      const prefixOk = w.__snap.heads.every((h, k) => h.every((v, j) => r[w.__snap.lens[k]! - h.length + j] === v));
      return { bad: w.__snap.bad.slice(0, 5), snaps: w.__snap.lens.length, prefixOk, rows: r.length, count: w.__inspector.state.cap.count };
    });
    expect(got.bad).toEqual([]);
    expect(got.prefixOk).toBe(true);
    expect(got.snaps).toBeGreaterThan(0);
    expect(got.count).toBe(N);
    expect(got.rows).toBe(N / 2);
    await page.close();
  });

  /** Everything the page holds about the loaded capture, comparable between two loads. */
  const fullState = (page: Page) =>
    page.evaluate(() => {
      const { state, probe } = (window as unknown as W).__inspector;
      const c = state.cap;
      if (!c) return { error: probe.error };
      const n = c.count;
      const col = (a: ArrayLike<number>) => Array.from((a as Int32Array).subarray(0, n));
      const frames = Array.from({ length: n }, (_, i) => Array.from(c.bytes.subarray(c.off[i], c.off[i] + c.len[i]) as Uint8Array).join(','));
      return {
        n, t: col(c.t), conn: col(c.conn), dir: col(c.dir), svc: col(c.svc), len: col(c.len), msg: col(c.msg), err: col(c.err), id: col(c.id), pair: col(c.pair), retry: col(c.retry),
        frames, services: c.services, conns: [...c.conns.values()], marks: c.marks, bad: c.bad.map((b: Error) => b.message), decodeErrors: [...c.decodeErrors.entries()].map(([i, e]: [number, { kind: string; field?: string; offset?: number }]) => [i, e.kind, e.field, e.offset]),
        rows: Array.from(state.rows), status: document.getElementById('status')!.textContent!.replace(/ · loaded in .*/, ''),
      };
    });

  it('the worker loads every test capture (plain and gzip, file:// and the server) to exactly what the page parses itself (?worker=0)', async () => {
    const gz = join(dir, 'mock-shm.jsonl.gz');
    writeFileSync(gz, gzipSync(readFileSync(files.mockShm!)));
    const bad = join(dir, 'bad-line.jsonl');
    writeFileSync(bad, readFileSync(files.handmade!, 'utf8').replace(/\n(\{"t":9000)/, '\n{"t":oops}\n$1'));
    files.gzMock = gz;
    files.badLine = bad;
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    for (const key of ['gzMock', 'clientSocket', 'badLine', 'marks']) {
      const got: unknown[] = [];
      for (const q of ['', '?worker=0']) {
        for (const how of ['file', 'server'] as const) {
          const page = await newPage();
          const errors: string[] = [];
          page.on('pageerror', (e) => errors.push(String(e)));
          if (how === 'file') {
            await page.goto(pathToFileURL(PAGE).href + q);
            await page.setInputFiles('#file', files[key]!);
          } else {
            await page.goto(`${base}${q || '?'}${q ? '&' : ''}url=${key}`);
          }
          await page.waitForFunction(() => (window as unknown as W).__inspector.probe.ready || (window as unknown as W).__inspector.probe.error, undefined, { timeout: 60_000 });
          expect(errors).toEqual([]);
          const st = await fullState(page);
          // the server's page names the capture by its URL, the picker by its file name
          got.push(JSON.parse(JSON.stringify(st).replaceAll(files[key]!.split('/').pop()!, 'NAME').replaceAll(key, 'NAME')));
          await page.close();
        }
      }
      expect((got[0] as { n: number }).n, key).toBeGreaterThan(0);
      for (const g of got.slice(1)) expect(g, key).toEqual(got[0]);
      if (key === 'badLine') expect((got[0] as { bad: string[] }).bad.join(), key).toMatch(/line 3/);
    }
  }, 400_000);

  it('while a large gzip capture loads in the worker, the page draws frames and handles a click', async () => {
    const req = toHex(encoders.cmap.req.get({ keyName: 'totem.cluster_name', valueLen: 16n }));
    const res = toHex(encoders.cmap.res.get({ valueLen: 4n, type: 11, value: new TextEncoder().encode('lab\0') }));
    const header = JSON.stringify({ corosyncCapture: 1, start: { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' }, host: 't', recorder: { mode: 'tap', name: 't', version: '0' } });
    const lines = [header];
    const N = 80_000;
    for (let i = 0; i < N; i++) lines.push(`{"t":${i * 1000},"conn":${1 + ((i >> 1) % 5)},"pid":9,"proc":"p","service":"cmap","transport":"shm","dir":"${i % 2 ? 'res' : 'req'}","hex":"${i % 2 ? res : req}"}`);
    const gz = gzipSync(lines.join('\n') + '\n');
    let release!: () => void;
    held = { head: gz.subarray(0, gz.length - 64), tail: gz.subarray(gz.length - 64), released: new Promise<void>((r) => (release = r)) };
    const page = await newPage({ width: 1400, height: 860 });
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/?url=held`);
    await page.evaluate(() => {
      const w = window as unknown as W & { __during: { frames: number; clicks: number } };
      w.__during = { frames: 0, clicks: 0 };
      document.getElementById('f-clear')!.addEventListener('click', () => {
        if (!w.__inspector.probe.ready) w.__during.clicks++;
      });
      const tick = () => {
        if (w.__inspector.state.cap && !w.__inspector.probe.ready) w.__during.frames++;
        if (!w.__inspector.probe.ready && !w.__inspector.probe.error) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    // the first piece is on the table; the capture's end is held back, so the load is not over
    await page.waitForFunction(() => (window as unknown as W).__inspector.state.cap || (window as unknown as W).__inspector.probe.error);
    await page.click('#f-clear');
    await page.waitForFunction(() => (window as unknown as W & { __during: { frames: number } }).__during.frames > 1);
    release();
    await page.waitForFunction(() => (window as unknown as W).__inspector.probe.ready || (window as unknown as W).__inspector.probe.error, undefined, { timeout: 120_000 });
    const got = await page.evaluate(() => {
      const w = window as unknown as W & { __during: { frames: number; clicks: number } };
      let unpaired = 0;
      const c = w.__inspector.state.cap;
      for (let i = 0; i < c.count; i++) if (c.pair[i] < 0) unpaired++;
      return { ...w.__during, count: c.count, unpaired, error: w.__inspector.probe.error };
    });
    expect(got.error).toBeUndefined();
    expect(got.count).toBe(N);
    expect(got.unpaired).toBe(0);
    expect(got.clicks).toBe(1);
    expect(got.frames).toBeGreaterThan(1);
    held = undefined;
    await page.close();
  }, 400_000);

  it('scrolls a long table: rows stay few, the right ones appear', async () => {
    const page = await open(files.mockSocket!);
    const n = await page.evaluate(() => (window as unknown as W).__inspector.state.rows.length);
    await page.locator('#scroller').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await page.waitForFunction((last) => document.querySelector(`#rows .row[data-i="${last}"]`) !== null, n - 1);
    expect(await page.locator('#rows .row').count()).toBeLessThan(60);
    await page.close();
  });

  it('selecting a frame draws the selection over the timeline as last painted, without binning or painting every frame again; a zoom does', async () => {
    const page = await open(files.mockSocket!);
    const passes = () => page.evaluate(() => (window as unknown as W).__inspector.timeline.binPasses);
    const paints = () => page.evaluate(() => (window as unknown as W).__inspector.timeline.paints);
    const before = await passes();
    const painted = await paints();
    await page.locator('#rows .row[data-i="3"]').click();
    await page.focus('#scroller');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => (window as unknown as W).__inspector.state.sel)).toBe(5);
    // the selection's box is drawn: yellow (#f0c000) around the frame's place
    const yellow = await page.evaluate(() => {
      const p = (window as unknown as W).__inspector.timeline.positionOf(5)!;
      const dpr = window.devicePixelRatio || 1;
      const d = (document.getElementById('timeline') as HTMLCanvasElement).getContext('2d')!.getImageData(Math.round((p.x - 6) * dpr), Math.round(p.y * dpr), Math.round(12 * dpr), 1).data;
      let n = 0;
      for (let k = 0; k < d.length; k += 4) if (d[k]! > 200 && d[k + 1]! > 150 && d[k + 2]! < 80) n++;
      return n;
    });
    expect(yellow).toBeGreaterThan(0);
    expect(await passes()).toBe(before);
    expect(await paints()).toBe(painted);
    const box = (await page.locator('#timeline').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + 30);
    await page.mouse.wheel(0, -100);
    await expect.poll(passes).toBeGreaterThan(before);
    await page.close();
  });

  it('detail: the tree and the hex highlight each other; pairs link', async () => {
    const page = await open(files.clientShm!);
    await page.locator('#rows .row', { hasText: 'cmap.get' }).first().click();
    await expect.poll(() => page.locator('#d-title').innerText()).toMatch(/cmap\.get \(288 bytes\) · answered by #\d+ after/);
    await page.locator('#d-tree .field', { hasText: 'keyName' }).click();
    expect(await page.locator('#d-hex span.hl').count()).toBe(264); // mar_name_t: u16 length, padding, 256 bytes
    expect(await page.locator('#d-hex span.hl').first().getAttribute('data-b')).toBe('16');
    await page.locator('#d-hex span[data-b="9"]').click(); // inside the header's size field
    expect(await page.locator('#d-tree .field.hl b').innerText()).toBe('size');
    expect(await page.locator('#d-hex span.hl').count()).toBe(4);
    expect(await page.locator('#d-tree').innerText()).toMatch(/valueLen \d+ @280\.\.287/); // a u64, not a string in quotes
    await page.locator('#d-pair').click();
    await expect.poll(() => page.locator('#d-title').innerText()).toMatch(/cmap\.get \(\d+ bytes\) · answers #\d+/);
    expect(await page.locator('#d-tree').innerText()).toMatch(/value "inspect\\u0000" @40\.\.47/); // a cmap string, as text
    await page.close();
  });

  it('filters narrow the table and live in the URL; a shared URL restores them', async () => {
    const page = await open(files.mockShm!);
    await page.selectOption('#f-service', 'quorum');
    const names = await page.evaluate(() => {
      const { state } = (window as unknown as W).__inspector;
      return [...new Set(Array.from(state.rows, (i) => state.cap.services[state.cap.svc[i]]))];
    });
    expect(names).toEqual(['quorum']);
    await page.selectOption('#f-dir', 'evt');
    expect(await page.evaluate(() => location.hash)).toBe('#service=quorum&dir=evt');
    const evts = await page.locator('#rows .row').count();
    expect(evts).toBeGreaterThanOrEqual(1);
    await page.fill('#f-q', 'no-such-text');
    expect(await page.locator('#rows .row').count()).toBe(0);
    await page.fill('#f-q', 'track');
    expect(await page.evaluate(() => location.hash)).toBe('#service=quorum&dir=evt&q=track');
    await page.close();
    // Shared: the same URL over http, the capture fetched through ?url=.
    const { port } = server.address() as AddressInfo;
    const p2 = await newPage();
    await p2.goto(`http://127.0.0.1:${port}/?url=/mockShm#service=cmap&error=12`);
    await p2.waitForFunction(() => (window as unknown as W).__inspector.probe.ready, undefined, { timeout: 60_000 });
    expect(await p2.inputValue('#f-service')).toBe('cmap');
    expect(await p2.inputValue('#f-error')).toBe('12');
    const rows = await p2.locator('#rows .row').allInnerTexts();
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const r of rows) expect(r).toMatch(/12\s+NOT_EXIST/);
    const results = p2.locator('#rows .row span:nth-child(9)');
    for (let k = 0; k < rows.length; k++) expect(await results.nth(k).getAttribute('title')).toBe('12 CS_ERR_NOT_EXIST');
    await p2.close();
  });

  it('TRY_AGAIN and a malformed frame: flagged in the table and the timeline, DecodeError field and offset shown', async () => {
    const page = await open(files.handmade!);
    const rows = await page.locator('#rows .row').allInnerTexts();
    expect(rows).toHaveLength(5);
    expect(rows[1]).toMatch(/6\s+TRY_AGAIN/);
    expect(await page.locator('#rows .row span:nth-child(9)').nth(1).getAttribute('title')).toBe('6 CS_ERR_TRY_AGAIN');
    expect(await page.locator('#rows .row.tryagain').count()).toBe(1);
    expect(rows[4]).toMatch(/DecodeError/);
    expect(await cutCells(page)).toEqual([]); // the message column holds DecodeError too, not only the names decoded
    await page.locator('#rows .row').nth(4).click();
    const err = await page.locator('#d-error').innerText();
    expect(err).toMatch(/DecodeError \(sizeMismatch\).*field size at offset 8/);
    expect(await page.locator('#d-hex span.bad').getAttribute('data-b')).toBe('8');
    // The timeline: clicking the TRY_AGAIN mark selects that frame.
    const pos = await page.evaluate(() => (window as unknown as W).__inspector.timeline.positionOf(1));
    expect(pos).not.toBeNull();
    const box = (await page.locator('#timeline').boundingBox())!;
    await page.mouse.click(box.x + pos!.x, box.y + pos!.y);
    await expect.poll(() => page.evaluate(() => (window as unknown as W).__inspector.state.sel)).toBe(1);
    expect(await page.evaluate(() => location.hash)).toBe('#sel=1');
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'retry-and-malformed.png') });
    await page.close();
  });

  it('timeline: flow control as a band, a retry after TRY_AGAIN, refused handshakes (tap and client style) on their lanes, frames the recorder dropped', async () => {
    const page = await open(files.marks!);
    const s = await page.evaluate(() => {
      const { state } = (window as unknown as W).__inspector;
      const c = state.cap;
      return {
        marks: c.marks.map((m: { kind: string; conn: number; level: number }) => `${m.conn}:${m.kind}:${m.level}`),
        refused: [...c.conns.values()].filter((x: { refused?: string }) => x.refused).map((x: { conn: number }) => x.conn),
        retry: Array.from(c.retry.subarray(0, c.count) as Uint8Array),
        pair: Array.from(c.pair.subarray(0, c.count) as Int32Array),
      };
    });
    expect(s.marks).toEqual(['1:flow:1', '2:refused:0', '3:refused:0', '1:flow:0', '1:dropped:0', '1:closed:0']);
    expect(s.refused).toEqual([2, 3]);
    expect(s.retry).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0]); // the second cmap.get, after the TRY_AGAIN
    // nothing paired across the drop: #6's answer and #7's request are among the lost frames
    expect(s.pair).toEqual([1, 0, 3, 2, 5, 4, -1, -1, 9, 8]);
    const rows = await page.locator('#rows .row').allInnerTexts();
    expect(rows[3]).toMatch(/setup.*refused: EACCES/s);
    expect(rows[4]).toMatch(/retry after TRY_AGAIN/);
    expect(rows[6]).toMatch(/cmap\.get.*dropped\?/s);
    expect(rows[7]).toMatch(/cmap\.get.*dropped\?/s);
    const lat = page.locator('#rows .row span:nth-child(10)');
    expect(await lat.nth(6).getAttribute('title')).toMatch(/^answer dropped\? /);
    expect(await lat.nth(7).getAttribute('title')).toMatch(/^request dropped\? /);
    // no cell the column cuts (the tooltip is for the rare long value, not for these)
    const cut = await page.evaluate(() => [...document.querySelectorAll('.row span')].filter((s) => s.scrollWidth > s.clientWidth).map((s) => s.textContent));
    expect(cut).toEqual([]);
    expect(rows[8]).toMatch(/µs/);
    expect(await page.locator('#rows .row.err').count()).toBe(2); // the TRY_AGAIN answer and the refusal
    expect(await page.locator('#rows .row.retry').count()).toBe(1);
    // Three lanes: conn 2 has no frame, its refusal gives it one.
    const lanes = await page.evaluate(() => {
      const { timeline } = (window as unknown as W).__inspector;
      return [0, 1, 2, 3, 4, 5].map((k) => timeline.markPosition(k)?.y ?? null);
    });
    expect(new Set(lanes.map((y) => Math.round(y!))).size).toBe(3);
    const box = (await page.locator('#timeline').boundingBox())!;
    const pos = (await page.evaluate(() => (window as unknown as W).__inspector.timeline.markPosition(1)))!;
    await page.mouse.click(box.x + pos.x, box.y + pos.y);
    await expect.poll(() => page.locator('#d-title').innerText()).toBe('connection 2 (nobody-tool [72]) cmap at 5.000 ms: handshake refused by the server: corosync refused the connection (EACCES)');
    // The flow band is drawn: magenta pixels between flow on (0.2 ms) and off (8 ms) on lane 1.
    const flowPx = await page.evaluate(() => {
      const { timeline } = (window as unknown as W).__inspector;
      const cv = document.getElementById('timeline') as HTMLCanvasElement;
      const p0 = timeline.markPosition(0)!;
      const p3 = timeline.markPosition(3)!;
      const dpr = window.devicePixelRatio || 1;
      const g = cv.getContext('2d')!;
      const x = Math.round(((p0.x + p3.x) / 2) * dpr);
      const px = g.getImageData(x, Math.round(p0.y * dpr), 1, 1).data;
      return [px[0], px[1], px[2]];
    });
    expect(flowPx[0]! - flowPx[1]!).toBeGreaterThan(10); // more red than green: the magenta band
    expect(flowPx[2]! - flowPx[1]!).toBeGreaterThan(10);
    // The drop: amber over its lane, and clicking it says what was lost.
    const dropPx = await page.evaluate(() => {
      const p = (window as unknown as W).__inspector.timeline.markPosition(4)!;
      const dpr = window.devicePixelRatio || 1;
      const g = (document.getElementById('timeline') as HTMLCanvasElement).getContext('2d')!;
      const px = g.getImageData(Math.round(p.x * dpr), Math.round((p.y - 4) * dpr), 1, 1).data;
      return [px[0], px[1], px[2]];
    });
    expect(dropPx[0]! - dropPx[2]!).toBeGreaterThan(120); // amber: red and green, no blue
    expect(dropPx[1]! - dropPx[2]!).toBeGreaterThan(80);
    const dropAt = (await page.evaluate(() => (window as unknown as W).__inspector.timeline.markPosition(4)))!;
    await page.mouse.click(box.x + dropAt.x, box.y + dropAt.y);
    await expect.poll(() => page.locator('#d-title').innerText()).toBe('connection 1 (busy [71]) cmap at 8.500 ms: the recorder lost 2 frames here (its writer could not keep up): nothing before this point is paired with what comes after it');
    await page.locator('#rows .row[data-i="6"]').click();
    await expect.poll(() => page.locator('#d-title').innerText()).toMatch(/^#6 cmap\.get \(\d+ bytes\) · not paired: the recorder dropped frames after it \(its answer may be one of them\)$/);
    // Errors filter: the refusal counts as an error.
    await page.selectOption('#f-error', 'err');
    expect(await page.locator('#rows .row').count()).toBe(2);
    if (SHOTS) {
      await page.selectOption('#f-error', '');
      await page.screenshot({ path: join(SHOTS, 'timeline-marks.png') });
    }
    await page.close();
  });

  it('cpg: MCAST gets no reply, so it pairs with nothing and the requests after it pair with their own answers; group names and address lists in the detail', async () => {
    const page = await open(files.cpg!);
    const pair = await page.evaluate(() => {
      const c = (window as unknown as W).__inspector.state.cap;
      return Array.from(c.pair.subarray(0, c.count) as Int32Array);
    });
    expect(pair).toEqual([1, 0, -1, -1, -1, 6, 5, 8, 7]);
    expect(await page.locator('#status').innerText()).toMatch(/^cpg\.jsonl: 9 frames, 1 connection, recorded by /);
    expect(await cutCells(page)).toEqual([]); // cpgapp [81] was cut at 1400 px by a fixed-width column
    const lat = await page.locator('#rows .row span:nth-child(10)').allInnerTexts();
    expect(lat[3]).toBe(''); // nothing is due: not 'no reply'
    expect(lat[5]).toBe('1000.0 µs');
    await page.locator('#rows .row[data-i="3"]').click();
    await expect.poll(() => page.locator('#d-title').innerText()).toBe('#3 cpg.mcastJoined (45 bytes) · no reply: corosync does not answer cpg.mcastJoined');
    await page.locator('#rows .row[data-i="5"]').click();
    await expect.poll(() => page.locator('#d-title').innerText()).toMatch(/^#5 cpg\.membershipGet \(152 bytes\) · answered by #6 after /);
    // the group name reads as text, and it and the address lists have their bytes
    await page.locator('#rows .row[data-i="2"]').click();
    const tree = page.locator('#d-tree');
    await expect.poll(() => tree.innerText()).toMatch(/groupName "inspect-group" @24\.\.159/);
    await page.locator('#d-tree .field', { hasText: 'groupName' }).click();
    expect(await page.locator('#d-hex span.hl').count()).toBe(136); // mar_cpg_name_t: u32 length, padding, 128 bytes
    expect(await tree.innerText()).toMatch(/memberList \[1\] @184\.\.207\s+\[0\] \{"nodeid":1,"pid":81,"reason":1\} @184\.\.207/);
    expect(await tree.innerText()).toMatch(/joinedList \[1\] @208\.\.231/); // the left list, empty, sits between them
    await page.locator('#d-hex span[data-b="220"]').click();
    expect(await page.locator('#d-tree .field.hl b').innerText()).toBe('[0]');
    expect(await page.locator('#d-hex span.hl').count()).toBe(24);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'cpg.png') });
    await page.locator('#rows .row[data-i="3"]').click();
    await expect.poll(() => tree.innerText()).toMatch(/message "hello" @40\.\.44/);
    await page.close();
  });

  it('timeline: 120 connections all get a lane in view, each named in the tooltip', async () => {
    const header = { corosyncCapture: 1, start: { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' }, host: 'lab', recorder: { mode: 'tap', name: 'hand', version: '0' } };
    const req = toHex(encoders.quorum.req.getquorate({}));
    const res = toHex(encoders.quorum.res.getquorate({ quorate: 1 }));
    const lines = [JSON.stringify(header)];
    const N = 120;
    for (let k = 1; k <= N; k++) {
      const a = { conn: k, pid: 5000 + k, proc: `client-${k}`, service: 'quorum', transport: 'shm' };
      lines.push(JSON.stringify({ t: k * 10_000, ...a, dir: 'req', hex: req }), JSON.stringify({ t: k * 10_000 + 5_000, ...a, dir: 'res', hex: res }));
    }
    const file = join(dir, 'lanes.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const page = await open(file);
    const got = await page.evaluate(() => {
      const { state, timeline } = (window as unknown as W).__inspector;
      const h = document.getElementById('timeline')!.clientHeight;
      const ys = new Set<number>();
      let outside = 0;
      for (const i of state.rows) {
        const p = timeline.positionOf(i);
        if (!p || p.y > h) outside++;
        else ys.add(p.y);
      }
      return { lanes: ys.size, outside, h, window: window.innerHeight };
    });
    expect(got.outside).toBe(0);
    expect(got.lanes).toBe(N);
    expect(got.h).toBeLessThanOrEqual(got.window / 2);
    const last = (await page.evaluate(() => (window as unknown as W).__inspector.timeline.positionOf((window as unknown as W).__inspector.state.cap.count - 1)))!;
    const box = (await page.locator('#timeline').boundingBox())!;
    await page.mouse.move(box.x + 40, box.y + last.y);
    expect(await page.locator('#timeline').getAttribute('title')).toBe(`connection ${N}: client-${N} [${5000 + N}] quorum/shm`);
    await page.close();
  });

  it('timeline: a burst of wheel events draws once, in the next animation frame', async () => {
    const page = await open(files.mockSocket!);
    const tl = () => page.evaluate(() => {
      const { state, timeline } = (window as unknown as W).__inspector;
      let inView = 0;
      for (const i of state.rows) if (timeline.positionOf(i)) inView++;
      return { passes: timeline.binPasses, inView, rows: state.rows.length };
    });
    const before = await tl();
    await page.evaluate(() => {
      const cv = document.getElementById('timeline')!;
      const r = cv.getBoundingClientRect();
      for (let k = 0; k < 10; k++) cv.dispatchEvent(new WheelEvent('wheel', { deltaY: -100, clientX: r.left + r.width * 0.6, clientY: r.top + 30, bubbles: true, cancelable: true }));
    });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const after = await tl();
    expect(after.passes).toBe(before.passes + 1);
    expect(after.inView).toBeLessThan(before.rows / 2); // zoomed in
    await page.close();
  });

  it('exports the filtered rows as JSON, decoded', async () => {
    const page = await open(files.clientSocket!);
    await page.selectOption('#f-service', 'votequorum');
    const want = await page.evaluate(() => (window as unknown as W).__inspector.state.rows.length);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const out = JSON.parse(readFileSync((await download.path())!, 'utf8')) as any[];
    expect(out).toHaveLength(want);
    expect(out.every((r) => r.service === 'votequorum')).toBe(true);
    const getinfo = out.find((r) => r.name === 'votequorum.getinfo' && r.dir === 'res');
    expect(getinfo.decoded.fields).toMatchObject({ nodeid: 1, expectedVotes: 3 });
    expect(typeof getinfo.latencyNs).toBe('number');
    await page.close();
  });

  it('exports a big selection in pieces: every row, pairs, latency, decode errors and hex; a filtered selection only its rows; a second click cancels', async () => {
    const big = bigCapture(50_000);
    const page = await open(big.file);
    type Probe2 = { exported?: { rows: number; pieces: number } };
    const exported = () => page.evaluate(() => ((window as unknown as W).__inspector.probe as Probe2).exported);
    // Exporting 50,000 rows is seconds of work, several times that on a loaded 2-core machine:
    // the download is waited for within the test's own limit, not Playwright's 30 s default.
    const exportWait = { timeout: 100_000 };
    // One JSON string, not arrays: Playwright serialises an array element by element, seconds for
    // these 100,000 numbers on a loaded machine (a tenth of that as a string).
    const c = JSON.parse(
      await page.evaluate(() => {
        const cap = (window as unknown as W).__inspector.state.cap;
        return JSON.stringify({ count: cap.count, pair: Array.from((cap.pair as Int32Array).subarray(0, cap.count)), t: Array.from((cap.t as Float64Array).subarray(0, cap.count)) });
      }),
    ) as { count: number; pair: number[]; t: number[] };
    const n = big.hex.length;
    expect(c.count).toBe(n);
    // the last rows' index and time (ms) are whole in their columns
    await page.evaluate(() => document.getElementById('scroller')!.scrollTo(0, 1e9));
    await expect.poll(() => page.locator('#rows .row span:first-child').last().innerText()).toBe(String(n - 1));
    const cut = await page.evaluate(() => [...document.querySelectorAll('.row span')].filter((s) => s.scrollWidth > s.clientWidth).map((s) => s.textContent));
    expect(cut).toEqual([]);

    const [download] = await Promise.all([page.waitForEvent('download', exportWait), page.click('#export')]);
    const out = JSON.parse(readFileSync((await download.path())!, 'utf8')) as any[];
    expect((await exported())!.pieces).toBeGreaterThan(5);
    expect(out).toHaveLength(n);
    expect(out.map((r) => r.index)).toEqual([...Array(n).keys()]);
    expect(out.every((r, i) => r.hex === big.hex[i] && r.size === big.hex[i]!.length / 2)).toBe(true);
    expect(out[0]).toMatchObject({ conn: 11, dir: 'req', name: 'cmap.get', proc: 'p11', pid: 1011, transport: 'shm' });
    expect(out[0].pair).toBeUndefined(); // its answer was dropped
    expect(out[1].pair).toBeUndefined(); // its request was dropped
    const paired = out.filter((r) => r.conn <= 10);
    expect(paired.every((r) => r.pair === c.pair[r.index] && r.pair >= 0 && r.latencyNs === Math.abs(c.t[r.pair]! - c.t[r.index]!))).toBe(true);
    expect(paired.every((r) => r.decoded?.fields && r.decodeError === undefined)).toBe(true);
    expect(out[2]).toMatchObject({ name: 'cmap.get', dir: 'req', decoded: { fields: { keyName: 'totem.cluster_name' } } });
    const bad = out.filter((r) => r.conn === 12);
    expect(bad.length).toBe(5);
    expect(bad.every((r) => r.decoded === null && typeof r.decodeError.kind === 'string' && typeof r.decodeError.offset === 'number')).toBe(true);
    expect(await page.locator('#status').innerText()).toBe(`exported ${n.toLocaleString('en')} rows (${(statSync((await download.path())!).size / 1048576).toFixed(1)} MB)`);

    await page.selectOption('#f-conn', '3');
    const want = JSON.parse(await page.evaluate(() => JSON.stringify(Array.from((window as unknown as W).__inspector.state.rows)))) as number[];
    expect(want.length).toBeGreaterThan(4_000);
    const [d2] = await Promise.all([page.waitForEvent('download', exportWait), page.click('#export')]);
    const out2 = JSON.parse(readFileSync((await d2.path())!, 'utf8')) as any[];
    expect(out2.map((r) => r.index)).toEqual(want);
    expect(out2.every((r) => r.conn === 3 && r.hex === big.hex[r.index])).toBe(true);

    // the second click lands while the first piece waits for the page: nothing is downloaded
    await page.selectOption('#f-conn', '');
    let downloads = 0;
    page.on('download', () => downloads++);
    await page.evaluate(() => {
      const b = document.getElementById('export')!;
      b.click();
      b.click();
    });
    await expect.poll(() => page.locator('#status').innerText()).toBe('export cancelled');
    expect(await page.locator('#export').innerText()).toBe('Export JSON');
    expect(downloads).toBe(0);
    await page.close();
  });

  it('keyboard only: Tab reaches the file picker first and then the table, arrows, pages, Home and End move the selection, every control has a name, focus is visible', async () => {
    const page = await open(files.mockShm!);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const focused = () => page.evaluate(() => document.activeElement?.id ?? '');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('file');
    // the picker's own input is out of sight: its label shows the focus
    expect(await page.locator('label.button:has(#file)').evaluate((e) => getComputedStyle(e).outlineStyle)).not.toBe('none');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('add');
    expect(await page.locator('label.button:has(#add)').evaluate((e) => getComputedStyle(e).outlineStyle)).not.toBe('none');
    const order: string[] = [];
    for (let k = 0; k < 20 && !order.includes('scroller'); k++) {
      await page.keyboard.press('Tab');
      order.push(await focused());
    }
    expect(order).toEqual(['', 'f-service', 'f-dir', 'f-msg', 'f-error', 'f-conn', 'f-q', 'f-clear', 'export', 'timeline', 'scroller']); // '': the paste box's summary
    expect(await page.locator('#scroller').evaluate((e) => getComputedStyle(e).outlineStyle)).not.toBe('none');
    const sel = () => page.evaluate(() => (window as unknown as W).__inspector.state.sel);
    await page.keyboard.press('ArrowDown');
    expect(await sel()).toBe(0);
    await page.keyboard.press('ArrowDown');
    expect(await sel()).toBe(1);
    // a page of rows at a time, and the ends; the selected row is in view
    const perPage = await page.evaluate(() => Math.floor(document.getElementById('scroller')!.clientHeight / 22) - 1);
    await page.keyboard.press('PageDown');
    expect(await sel()).toBe(1 + perPage);
    await page.keyboard.press('End');
    const last = await page.evaluate(() => (window as unknown as W).__inspector.state.cap.count - 1);
    expect(await sel()).toBe(last);
    await expect.poll(() => page.locator(`#rows .row.sel[data-i="${last}"]`).isVisible()).toBe(true);
    await page.keyboard.press('PageUp');
    expect(await sel()).toBe(last - perPage);
    await page.keyboard.press('Home');
    expect(await sel()).toBe(0);
    await expect.poll(() => page.locator('#rows .row.sel[data-i="0"]').isVisible()).toBe(true);
    // Enter: to the selected frame's detail, its fields (after "go to pair") and bytes, focus visible; Escape: back, the selection kept
    await page.keyboard.press('Enter');
    expect(await focused()).toBe('d-tree');
    expect(await page.locator('#d-title').innerText()).toMatch(/^#0 qb\.connectionRequest/);
    expect(await page.locator('#d-tree').evaluate((e) => getComputedStyle(e).outlineStyle)).not.toBe('none');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('d-hex');
    await page.keyboard.press('Escape');
    expect(await focused()).toBe('scroller');
    expect(await sel()).toBe(0);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('d-pair');
    await page.keyboard.press('Enter');
    expect(await sel()).toBe(1);
    await page.keyboard.press('Escape');
    expect(await focused()).toBe('scroller');
    // Escape in the text filter: back to the table, the filter kept (the search box's own Escape would clear it)
    await page.locator('#f-q').focus();
    await page.keyboard.type('quorum');
    await expect.poll(() => page.locator('#count').innerText()).not.toMatch(/^(\d+) of \1 /);
    await page.keyboard.press('Escape');
    expect(await focused()).toBe('scroller');
    expect(await page.locator('#f-q').inputValue()).toBe('quorum');
    await page.keyboard.press('Home');
    expect(await page.evaluate(() => (window as unknown as W).__inspector.state.cap.services[(window as unknown as W).__inspector.state.cap.svc[(window as unknown as W).__inspector.state.sel]])).toMatch(/quorum/);
    // a name for every control: a select's options or an input's placeholder are not one
    await page.locator('#paste summary').click();
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('select, input, textarea, button, [tabindex], canvas')]
        .filter((e) => !(e.getAttribute('aria-label') || (e as HTMLInputElement).labels?.length || (!['SELECT', 'INPUT', 'TEXTAREA', 'CANVAS'].includes(e.tagName) && e.textContent!.trim())))
        .map((e) => e.id || e.tagName),
    );
    expect(unnamed).toEqual([]);
    await page.close();
  });

  it('timeline by keyboard: focus visible, a name that says the keys; + and - zoom, arrows pan, 0 shows the whole capture', async () => {
    const page = await open(files.mockShm!);
    const tl = page.locator('#timeline');
    expect(await tl.getAttribute('aria-label')).toMatch(/\+ and − zoom, arrow keys pan, 0 shows the whole capture/);
    await page.locator('#export').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('timeline');
    expect(await tl.evaluate((e) => getComputedStyle(e).outlineStyle)).not.toBe('none');
    const view = () => page.evaluate(() => (window as unknown as W).__inspector.timeline.view);
    const paints = () => page.evaluate(() => (window as unknown as W).__inspector.timeline.paints);
    const whole = await view();
    const span = whole.v1 - whole.v0;
    const p0 = await paints();
    await page.keyboard.press('+');
    let v = await view();
    expect(v.v1 - v.v0).toBeCloseTo(span * 0.8, 0);
    expect((v.v0 + v.v1) / 2).toBeCloseTo((whole.v0 + whole.v1) / 2, 0); // around the middle
    await expect.poll(paints).toBeGreaterThan(p0); // and drawn
    await page.keyboard.press('ArrowRight');
    const right = await view();
    expect(right.v0 - v.v0).toBeCloseTo((v.v1 - v.v0) * 0.1, 0);
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    expect((await view()).v0).toBeCloseTo(v.v0 - (v.v1 - v.v0) * 0.1, 0);
    await page.keyboard.press('-');
    await page.keyboard.press('-');
    v = await view();
    expect(v.v1 - v.v0).toBeCloseTo(span * 0.8 * 1.25 * 1.25, 0);
    await page.keyboard.press('0');
    expect(await view()).toEqual(whole);
    // the keys are the timeline's: the page did not scroll, the table's selection did not move
    expect(await page.evaluate(() => [window.scrollY, (window as unknown as W).__inspector.state.sel])).toEqual([0, -1]);
    await page.close();
  });

  it('a gzip capture cut short (a recorder killed mid-flush) shows the frames before the cut and says where it ends, in the worker and on the page', async () => {
    const gz = readFileSync(files.clientSocket!);
    const cut = join(dir, 'cut.jsonl.gz');
    // Not where a member starts: a cut between two members is a complete file of whole lines.
    let at = Math.floor(gz.length * 0.6);
    if (gz[at] === 0x1f && gz[at + 1] === 0x8b) at++;
    writeFileSync(cut, gz.subarray(0, at));
    const whole = gunzipSync(gz).toString().split('\n').filter((l) => l.includes('"hex"')).length;
    for (const q of ['', '?worker=0']) {
      const page = await newPage({ width: 1400, height: 860 });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(pathToFileURL(PAGE).href + q);
      await page.setInputFiles('#file', cut);
      await page.waitForFunction(() => (window as unknown as W).__inspector.probe.ready || (window as unknown as W).__inspector.probe.error, undefined, { timeout: 60_000 });
      expect(errors).toEqual([]);
      const got = await page.evaluate(() => ({ error: (window as unknown as W).__inspector.probe.error, count: (window as unknown as W).__inspector.state.cap?.count }));
      expect(got.error, q).toBeUndefined();
      expect(got.count, q).toBeGreaterThan(5);
      expect(got.count, q).toBeLessThan(whole);
      expect(await page.locator('#rows .row').count()).toBeGreaterThan(5);
      const status = page.locator('#status');
      expect(await status.innerText()).toMatch(/^cut\.jsonl\.gz: \d+ frames.* — the file ends early \(corrupt or truncated gzip data: unexpected EOF\): these are the frames before that point/);
      expect(await status.getAttribute('class')).toBe('warn');
      expect(await status.evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true); // the warning is not cut off
      await page.close();
    }
    // cut before its first line: nothing to show, the reason
    const page = await newPage();
    await page.goto(pathToFileURL(PAGE).href);
    await page.setInputFiles('#file', { name: 'stub.jsonl.gz', mimeType: 'application/gzip', buffer: gz.subarray(0, 12) });
    await page.waitForFunction(() => (window as unknown as W).__inspector.probe.error);
    expect(await page.locator('#status').innerText()).toBe('cannot open stub.jsonl.gz: corrupt or truncated gzip data: unexpected EOF');
    await page.close();
  });

  it('a narrow window (800 px): all ten columns, rows to read, a detail with its hex whole', async () => {
    const page = await open(files.mockShm!);
    await page.setViewportSize({ width: 800, height: 700 });
    await page.locator('#rows .row', { hasText: 'cmap.get' }).first().click();
    const got = await page.evaluate(() => {
      const table = document.getElementById('table')!.getBoundingClientRect();
      const hex = document.getElementById('d-hex')!;
      return {
        hidden: [...document.querySelectorAll('.row.head span')].filter((e) => e.getBoundingClientRect().right > table.right + 0.5).map((e) => e.textContent),
        rowsInView: Math.floor(document.getElementById('scroller')!.clientHeight / 22),
        hexCut: hex.scrollWidth > hex.clientWidth,
        treeWidth: document.getElementById('d-tree')!.clientWidth,
      };
    });
    expect(got.hidden).toEqual([]);
    // every cell whole, here too: the columns are as wide as this capture's texts, no wider
    expect(await cutCells(page)).toEqual([]);
    expect(await misaligned(page)).toEqual([]);
    expect(got.rowsInView).toBeGreaterThanOrEqual(8);
    expect(got.hexCut).toBe(false);
    expect(got.treeWidth).toBeGreaterThan(300);
    await page.close();
  });

  it('bad lines: the status line names the first, a list under it has them all (capped); a clean capture then has none', async () => {
    const lines = readFileSync(files.handmade!, 'utf8').trimEnd().split('\n');
    const file = join(dir, 'many-bad.jsonl');
    // 250 bad lines among the good ones: each its own line number and reason
    const bad = Array.from({ length: 250 }, (_, k) => (k % 2 ? `{"t":${k},"conn":1}` : `not json ${k}`));
    // and an end line that counts two frames more than are there: lines were lost
    const end = { end: { unixNs: '1764774001000000000', iso: '2025-12-03T15:00:01.000Z' }, t: 1e9, frames: 7, dropped: 0, by: 'close' };
    writeFileSync(file, [lines[0], lines[1], ...bad, ...lines.slice(2), JSON.stringify(end)].join('\n') + '\n');
    const page = await open(file);
    expect(await page.locator('#status').innerText()).toMatch(/, recorded \S+ – 2025-12-03T15:00:01.000Z \(1.000 s\) — lines were lost: the end line counts 7 frames, 5 were read — 250 bad lines \(first: line 3: .*; all listed below\)/);
    const box = page.locator('#bad');
    expect(await box.isVisible()).toBe(true);
    expect(await box.locator('summary').innerText()).toBe('250 bad lines (the first 200 listed)');
    await box.locator('summary').click();
    const items = await box.locator('li').allInnerTexts();
    expect(items.length).toBe(201);
    expect(items[0]).toMatch(/^line 3: /);
    expect(items[1]).toMatch(/^line 4: /);
    expect(items[199]).toMatch(/^line 202: /);
    expect(items[200]).toBe('… and 50 more');
    expect(await page.evaluate(() => (window as unknown as W).__inspector.state.cap.count)).toBe(5); // the good frames all there
    // the next capture, with no bad line, hides the list
    await page.setInputFiles('#file', files.cpg!);
    await page.waitForFunction(() => (window as unknown as W).__inspector.state.cap?.count === 9 && (window as unknown as W).__inspector.probe.ready);
    expect(await box.isVisible()).toBe(false);
    await page.close();
  });

  it('decodes one pasted frame (hex or base64); refuses a bad capture with a clear message', async () => {
    const page = await newPage();
    await page.goto(pathToFileURL(PAGE).href);
    const hex = '03000000000000003400000000000000010000000000000001000000000000000f00000000000000010000000100000000000000';
    await page.locator('#paste summary').click();
    await page.fill('#p-text', Buffer.from(hex, 'hex').toString('base64'));
    await page.selectOption('#p-service', 'quorum');
    await page.selectOption('#p-dir', 'evt');
    await page.click('#p-decode');
    expect(await page.locator('#d-title').innerText()).toBe('quorum.notification (52 bytes)');
    expect(await page.locator('#d-tree').innerText()).toMatch(/viewList\s+\[1\]/);
    // nothing to export yet, and the status says how to get something
    expect(await page.locator('#export').isDisabled()).toBe(true);
    expect(await page.locator('#status').innerText()).toBe('No capture loaded: open one with "Open captures…" or drop it on the page.');
    await page.setInputFiles('#file', files.handmade!);
    await page.waitForFunction(() => (window as unknown as W).__inspector.probe.ready);
    expect(await page.locator('#export').isDisabled()).toBe(false);
    // the status line is cut at the window's edge: its tooltip has all of it
    const status = page.locator('#status');
    expect(await status.getAttribute('title')).toBe(await status.innerText());
    await page.setInputFiles('#file', { name: 'x.jsonl', mimeType: 'text/plain', buffer: gzipSync('{"corosyncCapture":9}\n') });
    await page.waitForFunction(() => (window as unknown as W).__inspector.probe.error);
    expect(await page.locator('#status').innerText()).toMatch(/not a readable capture: line 1: capture format version 9 is not supported/);
    expect(await page.locator('#export').isDisabled()).toBe(true);
    await page.close();
  });
});
