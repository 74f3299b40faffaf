import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { describeRequiring } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, it } from 'vitest';

// Loads the BUILT ESM (dist/, wasm embedded) into headless Chromium from a loopback HTTP server
// with an import map for @corosync-ts/types: proves the package needs no Node APIs, fs or fetch.
// COROSYNC_TS_CHROMIUM overrides the binary (e.g. to check the CI failure path).
const CHROMIUM = process.env.COROSYNC_TS_CHROMIUM ?? '/usr/bin/chromium';
const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const roots: Record<string, string> = {
  '/codec/': join(pkg, 'dist'),
  '/types/': join(pkg, 'node_modules/@corosync-ts/types/dist'),
};
const available = existsSync(CHROMIUM);

// Two gzip members, as the capture writer flushes them: Chromium's DecompressionStream alone
// stops after the first one, gunzip() must not.
const MULTI_GZIP = Buffer.concat([gzipSync('{"corosyncCapture":1}\n'), gzipSync('second member\n')]).toString('base64');

const PAGE = `<!doctype html><html><head>
<script type="importmap">{"imports":{"@corosync-ts/types":"/types/index.js"}}</script>
<script type="module">
  try {
    const c = await import('/codec/index.js');
    const hex = '03000000000000003400000000000000010000000000000001000000000000000f00000000000000010000000100000000000000';
    const d = c.decode(c.fromHex(hex), { service: 'quorum', dir: 'evt' });
    const get = c.encoders.cmap.req.get({ keyName: 'totem.cluster_name', valueLen: 16n });
    let err = null;
    try { c.decode(new Uint8Array(8), { service: 'cmap', dir: 'res' }); } catch (e) { err = [e.name, e.kind, c.isDecodeError(e)]; }
    const gz = Uint8Array.from(atob('${MULTI_GZIP}'), (ch) => ch.charCodeAt(0));
    const gunzipped = new TextDecoder().decode(await c.gunzip(gz));
    window.__result = { json: c.decodedToJSON(d), getLen: get.length, getHead: c.toHex(get.subarray(0, 16)), err,
      hasProcess: typeof process !== 'undefined', gunzipped };
  } catch (e) {
    window.__result = { failure: String(e && e.stack || e) };
  }
</script></head><body></body></html>`;

function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    for (const [prefix, root] of Object.entries(roots)) {
      if (!url.pathname.startsWith(prefix)) continue;
      const file = normalize(join(root, url.pathname.slice(prefix.length)));
      if (!file.startsWith(root) || !existsSync(file)) break;
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const suite = describeRequiring('headless Chromium', available ? undefined : `${CHROMIUM} not found (apt-get install chromium)`);

suite('browser (headless Chromium)', () => {
  let server: Server;
  let browser: Browser;
  beforeAll(async () => {
    server = await serve();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });

  it('decodes and encodes with the built package, and gunzips a multi-member capture', async () => {
    const page = await browser.newPage();
    const { port } = server.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 30_000 });
    const result = await page.evaluate(() => (window as unknown as { __result: unknown }).__result);
    expect(result).toEqual({
      json: { name: 'quorum.notification', id: 3, size: 52, error: 1, fields: { quorate: 1, ringSeq: '15', viewListEntries: 1, viewList: [1] } },
      getLen: 288,
      getHead: '02000000000000002001000000000000',
      err: ['DecodeError', 'truncated', true],
      hasProcess: false,
      gunzipped: '{"corosyncCapture":1}\nsecond member\n',
    });
    await page.close();
  }, 60_000);
});
