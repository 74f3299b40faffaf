// A capture file is input from strangers (attached to a bug report, or named by a link's ?url=):
// the inspector in headless Chromium must give a clear error or a bounded, correct view, never
// run what the file holds, hang, crash the tab or show a wrong decode as right.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { encoders, toHex } from '@corosync-ts/codec-wasm';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { describeRequiring, runOk } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, it } from 'vitest';

const CHROMIUM = process.env.COROSYNC_TS_CHROMIUM ?? '/usr/bin/chromium';
const PKG = fileURLToPath(new URL('..', import.meta.url));
const PAGE = join(PKG, 'dist/index.html');
const dir = mkdtempSync(join(tmpdir(), 'inspector-hostile-'));

type W = { __inspector: { probe: { ready: boolean; error?: string }; state: { cap: any; rows: Int32Array } }; __pwned?: unknown };

const HEADER = { corosyncCapture: 1, start: { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' }, host: 'lab', recorder: { mode: 'tap', name: 'hand', version: '0' } };
const GET = toHex(encoders.cmap.req.get({ keyName: 'totem.cluster_name', valueLen: 16n }));
const OK = toHex(encoders.cmap.res.get({ valueLen: 4n, type: 11, value: new TextEncoder().encode('lab\0') }));
const base = { conn: 1, pid: 7, proc: 'app', service: 'cmap', transport: 'shm' };
const lines = (...l: unknown[]): string => l.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('\n') + '\n';

const suite = describeRequiring('headless Chromium', existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium)`);

suite('the inspector given hostile captures', () => {
  let browser: Browser;
  let context: BrowserContext;
  let server: Server;
  let origin: string;
  const hits: string[] = [];

  beforeAll(async () => {
    await runOk([process.execPath, join(PKG, 'scripts/build.mjs')], { timeout: 100_000 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    context = await browser.newContext();
    server = createServer((req, res) => {
      hits.push(`${req.headers.host} ${req.url}`);
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(readFileSync(PAGE));
      // a capture any origin may read: the page must still not fetch it from another origin
      if (u.pathname === '/c.jsonl') return void res.writeHead(200, { 'access-control-allow-origin': '*' }).end(lines(HEADER, { t: 1, ...base, dir: 'req', hex: GET }));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens `content` with the file picker; resolves once it is loaded or refused, with the page's own errors. */
  async function open(name: string, content: string | Buffer, timeout = 30_000): Promise<{ page: Page; errors: string[]; ms: number }> {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1400, height: 860 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('crash', () => errors.push('crash'));
    await page.goto(pathToFileURL(PAGE).href);
    const file = join(dir, name);
    writeFileSync(file, content);
    const t0 = Date.now();
    await page.setInputFiles('#file', file);
    await page.waitForFunction(() => (window as unknown as W).__inspector.probe.ready || (window as unknown as W).__inspector.probe.error, undefined, { timeout });
    return { page, errors, ms: Date.now() - t0 };
  }

  const probe = (page: Page) => page.evaluate(() => (window as unknown as W).__inspector.probe);
  const frames = (page: Page) =>
    page.evaluate(() => {
      const c = (window as unknown as W).__inspector.state.cap;
      const out: { conn: number; service: string; msg: number; pair: number }[] = [];
      for (let i = 0; i < c.count; i++) out.push({ conn: c.conn[i], service: c.services[c.svc[i]], msg: c.msg[i], pair: c.pair[i] });
      return { out, bad: c.bad.map((b: Error) => b.message) as string[] };
    });

  it('HTML and script in every string field are shown as text: table, tooltips, filters, status, detail, marks and exported JSON', async () => {
    const x = (k: string) => `<img src=x onerror="window.__pwned='${k}'"><script>window.__pwned='${k}'</script>"\u2028\\`;
    const header = { ...HEADER, host: x('host'), recorder: { mode: 'tap', name: x('name'), version: x('version') }, corosync: x('corosync'), start: { ...HEADER.start, iso: x('iso') } };
    const evil = { ...base, proc: x('proc') };
    const content = lines(
      header,
      { t: 1, ...evil, dir: 'req', hex: GET },
      { t: 2, ...evil, dir: 'res', hex: OK },
      { t: 3, ...evil, service: x('service'), dir: 'req', hex: GET },
      { t: 4, ...evil, state: 'closed', by: 'error', error: x('error') },
      '{"t":5,"conn":1,"service":"cmap","transport":"shm","dir":"req","hex":"zz<img src=x onerror=window.__pwned=1>"}',
    );
    const { page, errors } = await open('xss.jsonl', content);
    expect(errors).toEqual([]);
    await page.locator('#rows .row').first().click();
    await page.locator('#rows .row').nth(2).click();
    const html = await page.evaluate(() => ({
      imgs: document.querySelectorAll('img').length,
      scripts: document.querySelectorAll('script').length,
      pwned: (window as unknown as W).__pwned,
      status: document.getElementById('status')!.textContent,
      rows: document.getElementById('rows')!.textContent,
      titles: [...document.querySelectorAll('#rows span')].map((s) => s.getAttribute('title')).join(' '),
      options: [...document.querySelectorAll('#filters option')].map((o) => o.textContent).join(' '),
      bad: document.getElementById('bad')!.textContent,
      detail: document.getElementById('detail')!.textContent,
    }));
    expect(html.pwned).toBeUndefined();
    expect(html.imgs).toBe(0);
    expect(html.scripts).toBe(1); // the page's own
    for (const k of ['host', 'name', 'version', 'corosync']) expect(html.status).toContain(x(k));
    // the start's instant is told from its unixNs, not from the file's iso string
    expect(html.status).not.toContain(x('iso'));
    expect(html.status).toContain('started 2025-12-03T15:00:00.000Z');
    expect(html.rows).toContain(x('proc'));
    expect(html.rows).toContain(x('service'));
    expect(html.titles).toContain(x('proc'));
    expect(html.options).toContain(x('service'));
    expect(html.bad).toContain('"hex" must be lowercase hex');
    expect(html.detail).toContain(x('service'));
    // the state line's error, as the mark's text
    const mark = await page.evaluate(() => (window as unknown as W).__inspector.state.cap.marks[0].text);
    expect(mark).toContain(x('error'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const out = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { proc: string; service: string }[];
    expect(out.map((r) => r.proc)).toEqual([x('proc'), x('proc'), x('proc')]);
    expect(out[2]!.service).toBe(x('service'));
    expect(await page.evaluate(() => (window as unknown as W).__pwned)).toBeUndefined();
    await page.close();
  });

  it('?url= loads a capture of its own origin only: another origin, javascript: and data: are refused with a reason, never fetched', async () => {
    const other = origin.replace('127.0.0.1', 'localhost');
    const cases = [`${other}/c.jsonl`, 'javascript:window.__pwned=1', `data:text/plain,${encodeURIComponent(lines(HEADER))}`, '//localhost/c.jsonl'];
    for (const u of cases) {
      const page = await context.newPage();
      hits.length = 0;
      await page.goto(`${origin}/?url=${encodeURIComponent(u)}`);
      await page.waitForFunction(() => (window as unknown as W).__inspector.probe.ready || (window as unknown as W).__inspector.probe.error);
      expect((await probe(page)).error, u).toMatch(/^refused \?url=.*: only a capture of this page's own origin/);
      expect(await page.evaluate(() => (window as unknown as W).__pwned)).toBeUndefined();
      expect(hits.filter((h) => h.includes(' /c.jsonl'))).toEqual([]);
      await page.close();
    }
    // the page's own origin, absolute or relative, still loads
    for (const u of [`${origin}/c.jsonl`, 'c.jsonl']) {
      const page = await context.newPage();
      await page.goto(`${origin}/?url=${encodeURIComponent(u)}`);
      await page.waitForFunction(() => (window as unknown as W).__inspector.probe.ready || (window as unknown as W).__inspector.probe.error);
      expect((await probe(page)).error).toBeUndefined();
      expect(await page.evaluate(() => (window as unknown as W).__inspector.state.cap.count)).toBe(1);
      await page.close();
    }
  });

  it('a line of 24 MiB among good ones is one bad line, skipped in bounded time; the frames around it load', async () => {
    const huge = Buffer.alloc(24 * 1024 * 1024, 'a');
    const content = Buffer.concat([Buffer.from(lines(HEADER, { t: 1, ...base, dir: 'req', hex: GET })), huge, Buffer.from('\n' + lines({ t: 2, ...base, dir: 'res', hex: OK }))]);
    const { page, errors, ms } = await open('long-line.jsonl', content);
    expect(errors).toEqual([]);
    const f = await frames(page);
    expect(f.out.map((x) => x.msg >= 0 && x.pair >= 0)).toEqual([true, true]);
    expect(f.bad).toEqual([expect.stringMatching(/^line 3: longer than 16 MiB/)]);
    expect(ms).toBeLessThan(20_000);
    await page.close();
  });

  it('a frame line of 4 MiB (a cpg message of 2 MB) loads in about the time its bytes take, not once per chunk', async () => {
    const big = toHex(encoders.cpg.req.mcastJoined({ guarantee: 1, msglen: 2_000_000, message: new Uint8Array(2_000_000) }));
    const l = [HEADER];
    for (let k = 0; k < 10; k++) l.push({ t: k, ...base, service: 'cpg', dir: 'req', hex: big } as never);
    const { page, errors, ms } = await open('big-frames.jsonl', lines(...l));
    expect(errors).toEqual([]);
    expect((await frames(page)).out.every((x) => x.msg >= 0)).toBe(true);
    expect(ms).toBeLessThan(5_000);
    await page.close();
  });

  it('a gzip bomb (64 MiB of zeros in 64 KB, a line of zeros as long as the file) ends with a clear error in bounded time and memory, the tab alive', async () => {
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024));
    const bomb = Buffer.concat([gzipSync(Buffer.from(lines(HEADER))), ...Array.from({ length: 4 }, () => member)]);
    const { page, errors, ms } = await open('bomb.jsonl.gz', bomb, 60_000);
    expect(errors).toEqual([]);
    const f = await frames(page);
    expect(f.out).toEqual([]);
    expect(f.bad[0]).toMatch(/^line 2: longer than 16 MiB/);
    expect(ms).toBeLessThan(30_000);
    await page.close();
  });

  it('deeply nested JSON is a bad line, not a crash', async () => {
    const deep = `{"t":1,"conn":1,"service":"cmap","transport":"shm","dir":"req","hex":"${GET}","x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const deepObj = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const { page, errors } = await open('deep.jsonl', lines(HEADER, deep, deepObj, { t: 2, ...base, dir: 'req', hex: GET }));
    expect(errors).toEqual([]);
    const f = await frames(page);
    expect(f.out.length).toBeGreaterThanOrEqual(1);
    expect(f.out.at(-1)!.msg).toBeGreaterThanOrEqual(0);
    await page.close();
  });

  it('numbers out of range: a connection id past 2^31 - 1 is a bad line, never merged with another connection; times and pids out of range are bad lines', async () => {
    const content = lines(
      HEADER,
      { t: 1, ...base, dir: 'req', hex: GET },
      { t: 2, ...base, conn: 2 ** 32 + 1, dir: 'req', hex: GET }, // wraps to connection 1 in 32 bits
      { t: 3, ...base, conn: 2 ** 31, dir: 'res', hex: OK }, // negative in 32 bits
      '{"t":-5,"conn":1,"service":"cmap","transport":"shm","dir":"req","hex":"00"}',
      '{"t":99999999999999999999,"conn":1,"service":"cmap","transport":"shm","dir":"req","hex":"00"}',
      '{"t":NaN,"conn":1,"service":"cmap","transport":"shm","dir":"req","hex":"00"}',
      '{"t":4,"conn":1,"pid":-1,"service":"cmap","transport":"shm","dir":"req","hex":"00"}',
      '{"t":4,"conn":1,"pid":1e300,"service":"cmap","transport":"shm","dir":"req","hex":"00"}',
      { t: 5, ...base, dir: 'res', hex: OK },
    );
    const { page, errors } = await open('numbers.jsonl', content);
    expect(errors).toEqual([]);
    const f = await frames(page);
    // request 0 answered by the last line, on connection 1 alone
    expect(f.out).toEqual([{ conn: 1, service: 'cmap', msg: expect.any(Number), pair: 1 }, { conn: 1, service: 'cmap', msg: expect.any(Number), pair: 0 }]);
    expect(f.bad).toHaveLength(7);
    expect(f.bad.slice(0, 2)).toEqual([expect.stringMatching(/"conn" must be an integer from 1 to 2147483647/), expect.stringMatching(/"conn" must be an integer from 1 to 2147483647/)]);
    expect(await page.evaluate(() => (window as unknown as W).__inspector.state.cap.conns.size)).toBe(1);
    await page.close();
  });

  it('300 distinct service names: each frame keeps its own service, a cmap.get after them is still cmap', async () => {
    const l: unknown[] = [HEADER];
    for (let k = 0; k < 300; k++) l.push({ t: k, ...base, conn: k + 2, service: `svc${k}`, dir: 'req', hex: GET });
    l.push({ t: 400, ...base, dir: 'req', hex: GET });
    const { page, errors } = await open('services.jsonl', lines(...l));
    expect(errors).toEqual([]);
    const f = await frames(page);
    const last = f.out.at(-1);
    // each frame's service is the line's, or the line is refused: never another line's service
    expect(f.out.slice(0, -1).every((x, k) => x.service === `svc${k}`)).toBe(true);
    expect(f.bad.length).toBe(300 - (f.out.length - 1));
    expect(f.bad[0]).toMatch(/a service name more \("svc\d+"\) than the 256 different ones a capture may have/);
    expect(last).toMatchObject({ conn: 1, service: 'cmap' });
    expect(last!.msg).toBeGreaterThanOrEqual(0);
    await page.close();
  });

  it('frames whose declared sizes lie decode as DecodeErrors, never as the message they claim to be', async () => {
    const withSize = (hex: string, size: number) => `${hex.slice(0, 16)}${Buffer.from(Int32Array.of(size).buffer).toString('hex')}${hex.slice(24)}`;
    const liars = [withSize(GET, 0x7fffffff), withSize(GET, -1), withSize(GET, 8), withSize(GET, GET.length / 2 + 4), GET.slice(0, 40), withSize(OK, 24)];
    const l: unknown[] = [HEADER];
    liars.forEach((hex, k) => l.push({ t: k, ...base, conn: k + 1, dir: k === 5 ? 'res' : 'req', hex }));
    const { page, errors } = await open('liars.jsonl', lines(...l));
    expect(errors).toEqual([]);
    const f = await frames(page);
    expect(f.out.map((x) => x.msg)).toEqual(liars.map(() => -1));
    await page.locator('#rows .row').first().click();
    expect(await page.locator('#d-error').innerText()).toMatch(/^DecodeError/);
    await page.close();
  });

  it("cpg deliveries carry stack garbage where a result would be (corosync never sets it): no result, no error, in the table, timeline, filters, detail and export", async () => {
    const cpg = { ...base, service: 'cpg' };
    const deliver = (error: number) => toHex(encoders.cpg.evt.deliverCallback({ groupName: 'g', msglen: 2, nodeid: 1, pid: 7, message: new Uint8Array(2) }, { error }));
    const content = lines(HEADER, { t: 1, ...cpg, dir: 'evt', hex: deliver(9) }, { t: 2, ...cpg, dir: 'evt', hex: deliver(0x20ca1e80) }, { t: 3, ...base, dir: 'res', hex: toHex(encoders.cmap.res.error({}, { id: 2, error: 9 })) });
    const { page, errors } = await open('deliver.jsonl', content);
    expect(errors).toEqual([]);
    const rows = await page.locator('#rows .row').evaluateAll((r) => r.map((x) => ({ err: x.classList.contains('err'), result: x.children[8]!.textContent })));
    // the cmap answer's 9 is a real CS_ERR_BAD_HANDLE; the deliveries' are not
    expect(rows).toEqual([{ err: false, result: '' }, { err: false, result: '' }, { err: true, result: '9 BAD_HANDLE' }]);
    await page.selectOption('#f-error', 'err');
    expect(await page.locator('#count').innerText()).toBe('1 of 3 frames');
    await page.selectOption('#f-error', '');
    await page.locator('#rows .row').first().click();
    expect(await page.locator('#d-tree').innerText()).toMatch(/error 9 \(never set by corosync for this event; the library ignores it\)/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const out = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { decoded: { error?: number } }[];
    expect(out.map((r) => r.decoded.error)).toEqual([undefined, undefined, 9]);
    await page.close();
  });

  it('100,000 frames on 100,000 connections load in seconds (a million in about the time a million frames take), the connection list and the timeline bounded', async () => {
    const req = toHex(encoders.quorum.req.getquorate({}));
    const l: string[] = [JSON.stringify(HEADER)];
    for (let k = 1; k <= 100_000; k++) l.push(`{"t":${k * 1000},"conn":${k},"pid":${k},"proc":"p${k}","service":"quorum","transport":"shm","dir":"req","hex":"${req}"}`);
    const { page, errors, ms } = await open('conns.jsonl', `${l.join('\n')}\n`, 60_000);
    expect(errors).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as W).__inspector.state.cap.conns.size)).toBe(100_000);
    expect(await page.locator('#f-conn option').count()).toBeLessThan(2100);
    // a connection named by a shared link is in the list even past its first 2,000
    await page.evaluate(() => (location.hash = '#conn=99999'));
    await expect.poll(() => page.locator('#count').innerText()).toBe('1 of 100,000 frames');
    expect(ms).toBeLessThan(15_000); // 21 s before, binning and drawing every connection's lane
    await page.close();
  });

  it('not a capture (a PNG, an HTML page, an empty file, {}, a future version, corrupt gzip): a clear error, nothing shown', async () => {
    const cases: [string, string | Buffer, RegExp][] = [
      ['x.png', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), /^not a readable capture: line 1: not JSON/],
      ['x.html', '<!doctype html><script>window.__pwned=1</script>\n', /^not a readable capture: line 1: not JSON/],
      ['empty.jsonl', '', /^not a readable capture: line 1: empty capture/],
      ['obj.jsonl', '{}\n', /^not a readable capture: line 1: not a corosync capture/],
      ['v2.jsonl', lines({ ...HEADER, corosyncCapture: 2 }), /^not a readable capture: line 1: capture format version 2 is not supported/],
      ['bad.gz', Buffer.from('1f8b0800000000000003ffffffff', 'hex'), /corrupt or truncated gzip data/],
    ];
    for (const [name, content, want] of cases) {
      const { page, errors } = await open(name, content);
      expect(errors).toEqual([]);
      expect((await probe(page)).error, name).toMatch(want);
      expect(await page.evaluate(() => (window as unknown as W).__pwned)).toBeUndefined();
      await page.close();
    }
  });
});
