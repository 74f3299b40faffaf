// Several captures in one view (the mock's and the client's of one run, recorded here at once),
// in headless Chromium; and the page's Content-Security-Policy: every feature used from file://
// and from a loopback server without one violation or console error.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { encoders, toHex } from '@corosync-ts/codec-wasm';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { describeRequiring, runOk } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { record, serve } from './fixtures.js';

const CHROMIUM = process.env.COROSYNC_TS_CHROMIUM ?? '/usr/bin/chromium';
const PKG = fileURLToPath(new URL('..', import.meta.url));
const PAGE = join(PKG, 'dist/index.html');
const SHOTS = process.env.INSPECTOR_SCREENSHOTS;
const dir = mkdtempSync(join(tmpdir(), 'inspector-multi-'));

type W = { __inspector: { probe: { ready: boolean; error?: string }; state: { cap: any; rows: Int32Array; files: { name: string; error?: string }[] }; timeline: { positionOf(i: number): { x: number; y: number } | null } }; __csp: string[] };

// started now: a view merges it with the captures recorded here, which are no more than 104 days apart
const NOW_MS = Date.now();
const HEADER = { corosyncCapture: 1, start: { unixNs: String(BigInt(NOW_MS) * 1_000_000n), iso: new Date(NOW_MS).toISOString() }, host: 'lab', recorder: { mode: 'tap', name: 'hand', version: '0' } };
const GET = toHex(encoders.cmap.req.get({ keyName: 'totem.cluster_name', valueLen: 16n }));
const OK = toHex(encoders.cmap.res.get({ valueLen: 4n, type: 11, value: new TextEncoder().encode('lab\0') }));
const lines = (...l: unknown[]): string => l.map((x) => JSON.stringify(x)).join('\n') + '\n';
const frameLines = (file: string): number => (file.endsWith('.gz') ? gunzipSync(readFileSync(file)) : readFileSync(file)).toString().split('\n').filter((l) => l.includes('"hex"')).length;

const suite = describeRequiring('headless Chromium', existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium)`);

suite('several captures in one view; the Content-Security-Policy', () => {
  let browser: Browser;
  let context: BrowserContext;
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  let origin: string;
  let files: Record<string, string>;

  beforeAll(async () => {
    await runOk([process.execPath, join(PKG, 'scripts/build.mjs')], { timeout: 100_000 });
    const shm = await record(dir, 'shm');
    const bad = join(dir, 'not-a-capture.jsonl');
    writeFileSync(bad, '{}\n');
    // the same connection id as the mock's and client's first, and the largest one
    const hand = join(dir, 'hand.jsonl');
    writeFileSync(hand, lines(HEADER, { t: 1, conn: 1, pid: 9, proc: 'hand', service: 'cmap', transport: 'shm', dir: 'req', hex: GET }, { t: 2, conn: 2 ** 31 - 1, pid: 9, proc: 'hand', service: 'cmap', transport: 'shm', dir: 'res', hex: OK }));
    // zeros with no line end: no header within the longest line a reader keeps
    const bomb = join(dir, 'bomb.jsonl.gz');
    writeFileSync(bomb, gzipSync(Buffer.alloc(24 * 1024 * 1024)));
    files = { mock: shm.mock, client: shm.client, bad, hand, bomb };
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    context = await browser.newContext({ acceptDownloads: true });
    server = await serve((req, res) => {
      res.setHeader('cache-control', 'no-store');
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(readFileSync(PAGE));
      const f = files[u.pathname.slice(1)];
      if (f) return void res.writeHead(200).end(readFileSync(f));
      res.writeHead(404).end();
    });
    origin = server.origin;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([browser?.close(), server?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A page at `url` that collects its errors, console errors and CSP violations (the listener is in before the page's own script). */
  async function load(url: string): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1400, height: 860 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    await page.addInitScript(() => {
      const w = window as unknown as W;
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    await page.goto(url);
    return { page, errors };
  }

  const settled = (page: Page) => page.waitForFunction(() => (window as unknown as W).__inspector.probe.ready || (window as unknown as W).__inspector.probe.error, undefined, { timeout: 60_000 });

  async function openFiles(paths: string[], hash = ''): Promise<{ page: Page; errors: string[] }> {
    const r = await load(pathToFileURL(PAGE).href + hash);
    await r.page.setInputFiles('#file', paths);
    await settled(r.page);
    return r;
  }

  const view = (page: Page) =>
    page.evaluate(() => {
      const c = (window as unknown as W).__inspector.state.cap;
      let ordered = true;
      let switches = 0;
      let crossPairs = 0;
      let unpaired = 0;
      for (let i = 0; i < c.count; i++) {
        if (i > 0 && c.t[i] < c.t[i - 1]) ordered = false;
        if (i > 0 && c.file[i] !== c.file[i - 1]) switches++;
        if (c.pair[i] >= 0 && c.file[c.pair[i]] !== c.file[i]) crossPairs++;
        if (c.dir[i] === 0 && c.id[i] !== -3 && c.pair[i] < 0) unpaired++;
      }
      const perFile = [0, 0];
      for (let i = 0; i < c.count; i++) perFile[c.file[i]]!++;
      return { count: c.count, ordered, switches, crossPairs, unpaired, perFile, conns: [...c.conns.values()].map((ci: { label: string }) => ci.label), files: [...document.querySelectorAll('#files li')].map((e) => e.textContent!) };
    });

  it("the mock's and the client's capture of one run: rows interleaved by time, each file's connections its own and labelled, a header line per file, a file filter in the URL", async () => {
    const { page, errors } = await openFiles([files.mock!, files.client!]);
    const v = await view(page);
    expect(v.perFile).toEqual([frameLines(files.mock!), frameLines(files.client!)]);
    expect(v.ordered).toBe(true);
    // both recorders saw every frame: the two files' rows alternate throughout
    expect(v.switches).toBeGreaterThan(20);
    expect(v.crossPairs).toBe(0);
    expect(v.unpaired).toBe(0);
    expect(v.conns.sort()).toEqual(['A:1', 'A:2', 'A:3', 'B:1', 'B:2', 'B:3']);
    expect(v.files).toHaveLength(2);
    // each file's header and how its recording ended: the mock closed its capture, the client's stays open until this process exits
    expect(v.files[0]).toMatch(/^A: mock-shm\.jsonl \(mock\): \d+ frames, 3 connections, recorded by \S+ \S+ \(mock\) on \S+, recorded 20\S+Z – \S+Z \([\d.]+ m?s\), complete$/);
    expect(v.files[1]).toMatch(/^B: client-shm\.jsonl\.gz \(client\): \d+ frames, 3 connections, recorded by \S+ \S+ \(client\) on \S+, started 20\S+Z — no end line: /);
    expect(await page.locator('#files li').evaluateAll((l) => l.map((e) => e.className))).toEqual(['', 'warn']);
    const conns = await page.locator('#rows .row span:nth-child(3)').allInnerTexts();
    expect(new Set(conns.map((t) => t[0]))).toEqual(new Set(['A', 'B']));
    expect(await page.locator('#rows .row span:nth-child(3)').first().getAttribute('title')).toMatch(/^connection \d of [AB]: .*\((mock|client)\)$/);
    // six lanes on the timeline, one per (file, connection); a lane's tooltip names its file
    const lanes = await page.evaluate(() => {
      const { state, timeline } = (window as unknown as W).__inspector;
      const ys = new Set<number>();
      for (let k = 0; k < state.rows.length; k++) ys.add(Math.round(timeline.positionOf(state.rows[k]!)!.y));
      return [...ys];
    });
    expect(lanes).toHaveLength(6);
    const box = (await page.locator('#timeline').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + lanes[0]!);
    await expect.poll(() => page.locator('#timeline').getAttribute('title')).toMatch(/^connection [AB]:\d: .* · [AB]: (mock-shm\.jsonl \(mock\)|client-shm\.jsonl\.gz \(client\))$/);
    if (SHOTS) {
      await page.locator('#rows .row', { hasText: 'cmap.get' }).first().click();
      await page.screenshot({ path: join(SHOTS, 'multi.png') });
    }
    // the file filter: its rows only, kept in the URL; the URL opens the same view
    await page.selectOption('#f-file', '1');
    expect(page.url()).toMatch(/#.*file=1/);
    const rows = await page.evaluate(() => {
      const { state } = (window as unknown as W).__inspector;
      return { n: state.rows.length, files: [...new Set(Array.from(state.rows, (i) => state.cap.file[i]))] };
    });
    expect(rows).toEqual({ n: v.perFile[1], files: [1] });
    const hash = new URL(page.url()).hash;
    expect(errors).toEqual([]);
    await page.close();
    const again = await openFiles([files.mock!, files.client!], hash);
    expect(await again.page.inputValue('#f-file')).toBe('1');
    expect(await again.page.evaluate(() => (window as unknown as W).__inspector.state.rows.length)).toBe(v.perFile[1]);
    await again.page.close();
  });

  it('bad files beside a good one (no header, a gzip bomb): each its own error in the file list, the good one loads; Add joins a file to the open view', async () => {
    const { page, errors } = await openFiles([files.bad!, files.bomb!, files.hand!]);
    const v = await view(page);
    expect(v.count).toBe(2);
    expect(v.files).toEqual([
      expect.stringMatching(/^not-a-capture\.jsonl: not a readable capture: line 1: /),
      expect.stringMatching(/^bomb\.jsonl\.gz: not a readable capture: line 1: longer than 16 MiB .* so there is no header/),
      expect.stringMatching(/^A: hand\.jsonl \(tap\): 2 frames, 2 connections/),
    ]);
    expect(await page.locator('#status').innerText()).toMatch(/^3 captures \(2 could not be read: see the list\)/);
    await page.setInputFiles('#add', files.mock!);
    await page.waitForFunction(() => (window as unknown as W).__inspector.state.files.length === 4 && (window as unknown as W).__inspector.probe.ready);
    const w = await view(page);
    expect(w.files).toHaveLength(4);
    expect(w.count).toBe(2 + frameLines(files.mock!));
    // hand's connection 1 and mock's connection 1 stay two
    expect(w.conns).toEqual(expect.arrayContaining(['A:1', 'A:2147483647', 'B:1']));
    // the picker again replaces the view; a drop onto Add… adds to it
    await page.setInputFiles('#file', files.hand!);
    await page.waitForFunction(() => (window as unknown as W).__inspector.state.files.length === 1 && (window as unknown as W).__inspector.probe.ready);
    expect(await page.locator('#files').isHidden()).toBe(true);
    await page.evaluate(([data, name]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(data!), (ch) => ch.charCodeAt(0))], name!));
      document.getElementById('add')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, [readFileSync(files.client!).toString('base64'), 'client.jsonl.gz']);
    await page.waitForFunction(() => (window as unknown as W).__inspector.state.files.length === 2 && (window as unknown as W).__inspector.probe.ready);
    expect((await view(page)).files).toEqual([expect.stringMatching(/^A: hand\.jsonl \(tap\)/), expect.stringMatching(/^B: client\.jsonl\.gz \(client\)/)]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('several ?url= from the page\'s own origin load together; one of another origin is refused on its own line', async () => {
    const { page, errors } = await load(`${origin}/?url=/mock&url=/client&url=${encodeURIComponent('http://example.invalid/x.jsonl')}`);
    await settled(page);
    const v = await view(page);
    expect(v.perFile).toEqual([frameLines(files.mock!), frameLines(files.client!)]);
    expect(v.files[2]).toMatch(/^http:\/\/example\.invalid\/x\.jsonl: refused \?url=/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('captures decades apart are refused with the reason on the status line and each file listed, no view on a rounded time axis', async () => {
    const far = join(dir, 'far.jsonl');
    writeFileSync(far, lines({ ...HEADER, start: { unixNs: String(BigInt(HEADER.start.unixNs) - 10_969n * 86_400_000_000_000n - 1n), iso: 'decades ago' } }, { t: 1, conn: 1, service: 'cmap', transport: 'shm', dir: 'req', hex: GET }));
    const a = await openFiles([far, files.hand!]);
    expect(a.page.url()).not.toMatch(/#.*conn=/);
    expect(await a.page.evaluate(() => (window as unknown as W).__inspector.probe.error)).toBe('hand.jsonl ends 10969 days after far.jsonl: one time axis is exact to the nanosecond over 104 days at most; open them separately');
    expect(await a.page.locator('#status').innerText()).toMatch(/^hand\.jsonl ends 10969 days after far\.jsonl: /);
    expect(await a.page.locator('#files li').allInnerTexts()).toEqual([expect.stringMatching(/^far\.jsonl: /), expect.stringMatching(/^hand\.jsonl: /)]);
    expect(a.errors).toEqual([]);
    await a.page.close();
  });

  it('34 files (the same one 32 times, two bad): the 32 good ones open, a bad file takes no place in the view', async () => {
    const { page, errors } = await openFiles([files.bad!, files.bomb!, ...Array.from({ length: 32 }, () => files.hand!)]);
    const v = await view(page);
    expect(v.count).toBe(64);
    expect(v.files).toHaveLength(34);
    expect(v.files.filter((f) => f.includes('not opened'))).toEqual([]);
    expect(v.files[33]).toMatch(/^F32: hand\.jsonl \(tap\): 2 frames/);
    expect(errors).toEqual([]);
    await page.close();
  });

  for (const how of ['file', 'http'] as const) {
    it(`Content-Security-Policy (${how === 'file' ? 'file://' : 'a loopback server'}): open, table, detail, timeline, filters and export without a violation or a console error; the export says each row's file`, async () => {
      const url = how === 'file' ? pathToFileURL(PAGE).href : `${origin}/`;
      const { page, errors } = await load(url);
      await page.setInputFiles('#file', [files.mock!, files.client!]);
      await settled(page);
      await page.locator('#rows .row', { hasText: 'cmap.get' }).first().click();
      await page.locator('#d-tree .field', { hasText: 'keyName' }).click();
      const box = (await page.locator('#timeline').boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.wheel(0, -200);
      await page.selectOption('#f-service', 'cmap');
      await page.fill('#f-q', 'get');
      const want = await page.evaluate(() => (window as unknown as W).__inspector.state.rows.length);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
      const out = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { file: string; recorder: string; conn: number }[];
      expect(out).toHaveLength(want);
      expect(new Set(out.map((r) => `${r.file} ${r.recorder}`))).toEqual(new Set(['mock-shm.jsonl mock', 'client-shm.jsonl.gz client']));
      expect(out.every((r) => r.conn >= 1 && r.conn <= 3)).toBe(true);
      if (how === 'http') {
        // the single-file ?url= path fetches under the policy too
        await page.goto(`${origin}/?url=/hand`);
        await settled(page);
        expect(await page.evaluate(() => (window as unknown as W).__inspector.state.cap.count)).toBe(2);
      }
      expect(await page.evaluate(() => (window as unknown as W).__csp)).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    });
  }

  it('the built page carries the policy as a meta tag before any script or style: no unsafe-inline, no eval', () => {
    const html = readFileSync(PAGE, 'utf8');
    const m = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
    expect(m).not.toBeNull();
    expect(m!.index).toBeLessThan(html.indexOf('<style>'));
    expect(m![1]).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=' 'wasm-unsafe-eval'; style-src 'sha256-[A-Za-z0-9+/]+='; worker-src blob:; connect-src 'self'; base-uri 'none'; form-action 'none'$/);
  });
});
