// bench/inspector: the inspector's "Export JSON" of a whole 1M-frame capture in headless Chromium:
// the time from the click to the download (or the page's error), the file's size and the longest
// gap between two animation frames meanwhile.
//   node bench/inspector/export.mjs [frames=1000000] [page=packages/inspector/dist/index.html]
/* global window, requestAnimationFrame -- page.evaluate callbacks run in the browser */
// Build first: pnpm --filter @corosync-ts/inspector... build. Needs /usr/bin/chromium.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encoders, toHex } from '@corosync-ts/codec-wasm';
import { chromium } from 'playwright-core';

const FRAMES = Number(process.argv[2] ?? 1_000_000);
const PAGE = process.argv[3] ? resolve(process.argv[3]) : fileURLToPath(new URL('../../packages/inspector/dist/index.html', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bench-inspector-export-'));

// 50 clients polling quorum, as bench/inspector/run.mjs writes it (plain JSON Lines)
const getq = toHex(encoders.quorum.req.getquorate({}));
const getqRes = toHex(encoders.quorum.res.getquorate({ quorate: 1 }));
const note = toHex(encoders.quorum.evt.notification({ quorate: 1, ringSeq: 15n, viewList: [1, 2, 3] }));
const lines = [JSON.stringify({ corosyncCapture: 1, start: { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' }, host: 'bench', recorder: { mode: 'tap', name: 'bench', version: '0' } })];
for (let i = 0; i < FRAMES; i++) {
  const conn = 1 + (i % 50);
  const k = Math.floor(i / 50) % 10;
  const [d, h] = k === 9 ? ['evt', note] : k % 2 === 0 ? ['req', getq] : ['res', getqRes];
  lines.push(`{"t":${i * 20000},"conn":${conn},"pid":${4000 + conn},"proc":"client-${conn}","service":"quorum","transport":"shm","dir":"${d}","hex":"${h}"}`);
}
const file = join(dir, 'big.jsonl');
writeFileSync(file, lines.join('\n') + '\n');
lines.length = 0;

const browser = await chromium.launch({ executablePath: process.env.COROSYNC_TS_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 }, acceptDownloads: true });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(PAGE).href);
  await page.setInputFiles('#file', file);
  await page.waitForFunction(() => window.__inspector.probe.ready || window.__inspector.probe.error, undefined, { timeout: 900_000, polling: 200 });
  // the longest gap between two animation frames while the export runs: how long the page froze
  await page.evaluate(() => {
    const g = (window.__gap = { max: 0 });
    let last = performance.now();
    const tick = (t) => {
      g.max = Math.max(g.max, t - last);
      last = t;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  // the time the page's main thread spent in tasks from the click on (CDP Performance.getMetrics'
  // TaskDuration): the export's own work and the page's drawing, without the waits between them
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const taskMs = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration').value * 1000;
  const cpu0 = await taskMs();
  const cpuMs = async () => (await taskMs()) - cpu0;
  const t0 = Date.now();
  const download = page.waitForEvent('download', { timeout: 900_000 }).then((d) => d);
  const failed = new Promise((res) => {
    page.on('pageerror', res);
    page.on('crash', () => res(new Error('the page crashed')));
  });
  download.catch(() => {});
  await page.click('#export', { noWaitAfter: true });
  const d = await Promise.race([download, failed]);
  const ms = Date.now() - t0;
  if (d && typeof d.path === 'function') {
    const path = await d.path();
    const { gap, exported } = await page.evaluate(() => ({ gap: window.__gap.max, exported: window.__inspector.probe.exported }));
    const cpu = await cpuMs();
    console.log(`export of ${FRAMES.toLocaleString('en')} rows: ${ms} ms to the download (the page's own: ${exported.ms.toFixed(0)} ms in ${exported.pieces} pieces), ${(statSync(path).size / 1048576).toFixed(0)} MB, longest frame gap ${gap.toFixed(0)} ms, main-thread task time ${cpu.toFixed(0)} ms (load average ${loadavg()[0].toFixed(1)})`);
  } else console.log(`export of ${FRAMES.toLocaleString('en')} rows failed after ${ms} ms: ${[...errors, String(d)].join('; ')} (load average ${loadavg()[0].toFixed(1)})`);
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
