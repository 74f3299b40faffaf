// bench/inspector: the timeline's full redraw on a capture of 1M frames in headless Chromium, the
// time of the page's thread per zoom or pan step (the draw and the canvas's raster of it), pages
// side by side: e.g. main's build and a branch's, step by step interleaved. Same view, same
// picture: each step's pixels are compared across the pages.
//   [DPR=1.5] [STEPS_SHOWN=1] node bench/inspector/timeline.mjs [frames=1000000] [steps=40] [page.html ...]
// STEPS_SHOWN=1 prints each step's time too.
/* global window, document -- page.evaluate callbacks run in the browser */
// Build first: pnpm --filter @corosync-ts/inspector... build. Needs /usr/bin/chromium.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { emitFigures } from '../lib/figures.mjs';
import { writeCapture } from './capture.mjs';
import { redraw, redrawViews } from './timeline-steps.mjs';

const FRAMES = Number(process.argv[2] ?? 1_000_000);
const STEPS = Number(process.argv[3] ?? 40);
// DPR=r: the page at that device pixel ratio (a fractional one takes the timeline's slower path)
const DPR = Number(process.env.DPR ?? 1);
const PAGES = process.argv.length > 4 ? process.argv.slice(4).map((p) => resolve(p)) : [fileURLToPath(new URL('../../packages/inspector/dist/index.html', import.meta.url))];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(tmpdir(), 'bench-inspector-timeline-'));
const browser = await chromium.launch({ executablePath: process.env.COROSYNC_TS_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
try {
  const file = join(dir, 'big.jsonl');
  writeCapture(file, FRAMES);
  const pages = [];
  for (const path of PAGES) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 }, deviceScaleFactor: DPR });
    await page.goto(pathToFileURL(path).href);
    await page.setInputFiles('#file', file);
    await page.waitForFunction(() => window.__inspector.probe.ready || window.__inspector.probe.error, undefined, { timeout: 900_000, polling: 200 });
    const p = await page.evaluate(() => ({ ...window.__inspector.probe, view: window.__inspector.timeline.view }));
    if (p.error || p.frames !== FRAMES) throw new Error(`${path}: ${p.error ?? `${p.frames} frames`}`);
    pages.push({ path, page, view: p.view, ms: [], hashes: [] });
  }
  const steps = redrawViews(pages[0].view.v0, pages[0].view.v1, STEPS);
  // a warm-up pass over the steps (the JIT), then the timed one, the pages' order alternating
  for (const timed of [false, true]) {
    for (let k = 0; k < steps.length; k++) {
      for (const s of k % 2 ? [...pages].reverse() : pages) {
        const r = await redraw(s.page, steps[k]);
        if (!timed) continue;
        s.ms.push(r.ms);
        s.hashes.push(r.hash);
      }
    }
  }
  const load = loadavg()[0].toFixed(1);
  console.log(`timeline redraw, ${FRAMES.toLocaleString('en')} frames, ${steps.length} zoom/pan steps, device pixel ratio ${DPR}, canvas ${await pages[0].page.evaluate(() => `${document.getElementById('timeline').width}x${document.getElementById('timeline').height}`)} (load average ${load}):`);
  for (const s of pages) {
    const sorted = [...s.ms].sort((a, b) => a - b);
    const same = s === pages[0] ? '' : `, picture ${s.hashes.filter((h, k) => h === pages[0].hashes[k]).length}/${steps.length} steps the same as the first page's`;
    if (process.env.STEPS_SHOWN) console.log(s.ms.map((x) => x.toFixed(0)).join(" "));
    console.log(`  ${s.path}: median ${median(s.ms).toFixed(1)} ms, min ${sorted[0].toFixed(1)}, max ${sorted.at(-1).toFixed(1)}${same}`);
  }
  const ours = pages.at(-1);
  emitFigures([
    {
      id: 'inspector.timeline.redraw', area: 'inspector', label: `timeline full redraw at ${FRAMES.toLocaleString('en')} frames (median of ${steps.length} zoom/pan steps)`, unit: 'ms', higherIsBetter: false,
      baseline: pages.length > 1 ? median(pages[0].ms) : null, ours: median(ours.ms), baselineName: pages.length > 1 ? 'first page given' : 'none',
    },
  ]);
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
