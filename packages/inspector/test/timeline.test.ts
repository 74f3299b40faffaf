// The timeline's picture in real headless Chromium, zoomed and panned: frames drawn where they
// are and nowhere else, a burst at its place, and every pixel the same as the timeline's first
// way of drawing gives (each frame binned on its own, each column's marks a fillRect of the
// canvas: the reference below), on a capture in time order and on one that is not, with lanes
// 22 px and 3.7 px high, a lane's name running into the frames, at a device pixel ratio of 1, 2
// and 1.5.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encoders, toHex } from '@corosync-ts/codec-wasm';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = process.env.COROSYNC_TS_CHROMIUM ?? '/usr/bin/chromium';
const PAGE = fileURLToPath(new URL('../dist/index.html', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'inspector-timeline-'));

const MS = 1_000_000;
/** Where the capture has a burst (conn 2, 300 frames in 3 µs, between two rounds) and where it has no frame at all. */
const BURST = 50.5 * MS;
const GAP = [100 * MS, 150 * MS] as const;

/**
 * `clients` quorum clients polling, a round a millisecond (requests, answers, notifications), every
 * 97th answer TRY_AGAIN and the request after it a retry, conn 5 answered after 300 µs and conn 6
 * after 2.5 ms (latency spans, conn 6's over each other) until 90 ms; a burst on conn 2; a gap
 * with nothing in it; a cmap client's malformed frame; a handshake refused (setup frames, the
 * answer carrying -EACCES); flow control on and off; a close. `unordered`: two frames' times
 * swapped, some 2 ms apart (a capture not in time order). `longName`: a client whose lane's name
 * runs past the names' column.
 */
function capture(name: string, clients: number, unordered = false, longName = false): string {
  const header = { corosyncCapture: 1, start: { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' }, host: 'lab', recorder: { mode: 'tap', name: 'hand', version: '0' } };
  const getq = toHex(encoders.quorum.req.getquorate({}));
  const yes = toHex(encoders.quorum.res.getquorate({ quorate: 1 }));
  const again = toHex(encoders.quorum.res.getquorate({ quorate: 0 }, { error: 6 }));
  const note = toHex(encoders.quorum.evt.notification({ quorate: 1, ringSeq: 15n, viewList: [1, 2, 3] }));
  const get = toHex(encoders.cmap.req.get({ keyName: 'a', valueLen: 8n }));
  const bad = `${get.slice(0, 16)}c8000000${get.slice(24)}`;
  const setupReq = 'ffffffff000000001800000000000000000010000000000000'.slice(0, 48);
  const refusal = `ffffffff000000002830000000000000f3ffffff00000000${'00'.repeat(12328 - 24)}`;
  const who = (conn: number) => ({ conn, pid: 100 + conn, proc: `client-${conn}`, service: 'quorum', transport: 'shm' });
  const lines: object[] = [];
  let answers = 0;
  // a round: each client asks, is answered, sometimes notified
  const round = (t: number, k: number) => {
    for (let conn = 1; conn <= clients; conn++) {
      lines.push({ t: t + conn * 1000, ...who(conn), dir: 'req', hex: getq });
      const late = t < 90 * MS ? (conn === 5 ? 300_000 : conn === 6 ? 2_500_000 : 0) : 0;
      lines.push({ t: t + conn * 1000 + 400 + late, ...who(conn), dir: 'res', hex: ++answers % 97 === 0 ? again : yes });
      if (k % 7 === conn) lines.push({ t: t + conn * 1000 + 700, ...who(conn), dir: 'evt', hex: note });
    }
  };
  let k = 0;
  for (let t = 0; t < GAP[0]; t += MS) round(t, k++);
  for (let n = 0; n < 300; n++) lines.push({ t: BURST + n * 10, ...who(2), dir: 'evt', hex: note });
  lines.push({ t: 60 * MS + 100, conn: 1001, pid: 107, proc: 'badcmap', service: 'cmap', transport: 'socket', dir: 'req', hex: bad });
  lines.push({ t: 70 * MS, ...who(3), state: 'flow', level: 1 });
  lines.push({ t: 80 * MS, ...who(3), state: 'flow', level: 0 });
  for (let t = GAP[1]; t < 250 * MS; t += MS) round(t, k++);
  lines.push({ t: 200 * MS, conn: 1002, pid: 108, proc: 'denied', service: 'quorum', transport: 'socket', dir: 'setup', hex: setupReq });
  lines.push({ t: 200 * MS + 100_000, conn: 1002, pid: 108, proc: 'denied', service: 'quorum', transport: 'socket', dir: 'setup', hex: refusal });
  lines.push({ t: 251 * MS, ...who(4), state: 'closed', by: 'client' });
  // a lane's name long enough to reach into the frames' part of the canvas
  if (longName) lines.push({ t: 30 * MS, conn: 1003, pid: 109, proc: 'W'.repeat(30), service: 'quorum', transport: 'shm', dir: 'req', hex: getq });
  lines.sort((a, b) => (a as { t: number }).t - (b as { t: number }).t);
  if (unordered) {
    const [a, b] = [lines[300] as { t: number }, lines[330] as { t: number }];
    [a.t, b.t] = [b.t, a.t];
  }
  const file = join(dir, name);
  writeFileSync(file, [header, ...lines].map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

type TL = {
  v0: number;
  v1: number;
  sel: number;
  binPasses: number;
  view: { v0: number; v1: number };
  positionOf(i: number): { x: number; y: number } | null;
  draw(): void;
};
type W = { __inspector: { probe: { ready: boolean; error?: string }; state: { cap: { t: Float64Array; conn: Int32Array; count: number } }; timeline: TL } };

/**
 * In the page: the timeline's picture of the view [v0, v1] against the reference's (the same
 * bins and the same fillRect calls the timeline made before it painted pixels itself), every
 * pixel; the number that differ and the first of them.
 */
async function compare(page: Page, v0: number, v1: number): Promise<{ differ: number; first?: string; pixels: number; painted: number }> {
  return page.evaluate(
    ({ v0, v1 }) => {
      const tl = (window as unknown as W).__inspector.timeline as unknown as Record<string, any>;
      tl.sel = -1;
      tl.v0 = v0;
      tl.v1 = v1;
      tl.pictureOf = null;
      const cv = document.getElementById('timeline') as HTMLCanvasElement;
      // a blank canvas, as the reference's: where the white does not cover a whole device pixel
      // (the last row at a ratio of 1.5), what shows depends on what was drawn before
      cv.width = cv.width; // eslint-disable-line no-self-assign
      tl.draw();
      const got = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
      // ---- the reference: the timeline's code before it painted pixels itself ----
      const ref = document.createElement('canvas');
      ref.width = cv.width;
      ref.height = cv.height;
      const g = ref.getContext('2d', { willReadFrequently: true })!;
      const dpr = window.devicePixelRatio || 1;
      const W = cv.clientWidth;
      const H = cv.clientHeight;
      const LABEL_W = 150;
      const [REQ, RES, EVT, ERR, TRY, BAD, RETRY] = [1, 2, 4, 8, 16, 32, 64];
      const c = tl.cap;
      const lanes: number[] = tl.lanes;
      const laneOf: Map<number, number> = tl.laneOf;
      const rows: Int32Array = tl.rows;
      const pw = Math.max(1, Math.floor(W - LABEL_W));
      const lh = tl.laneHeight();
      const span = v1 - v0;
      const bins = new Uint8Array(lanes.length * pw);
      const counts = new Uint32Array(lanes.length * pw);
      let most = 1;
      const latency: [number, number, number][] = [];
      for (let k = 0; k < rows.length; k++) {
        const i = rows[k]!;
        const t = c.t[i];
        if (t < v0 || t > v1) continue;
        const col = Math.min(pw - 1, Math.floor(((t - v0) / span) * pw));
        const lane = laneOf.get(c.conn[i])!;
        const d = c.dir[i];
        let bit = d === 0 || (d === 3 && c.len[i] <= 24) ? REQ : d === 2 ? EVT : RES;
        if (c.msg[i] === -1) bit |= BAD;
        else if ((d === 1 || d === 2) && c.err[i] !== 1) bit |= c.err[i] === 6 ? TRY : ERR;
        else if (c.dir[i] === 3 && c.len[i] > 24 && c.err[i] < 0) bit |= ERR;
        if (c.retry[i]) bit |= RETRY;
        const b = lane * pw + col;
        bins[b]! |= bit;
        if (++counts[b]! > most) most = counts[b]!;
        const p = c.pair[i];
        if ((d === 0 || d === 3) && p > i && latency.length < 20000) {
          const colEnd = Math.min(pw - 1, Math.floor(((c.t[p] - v0) / span) * pw));
          if (colEnd - col >= 2) latency.push([lane, col, colEnd]);
        }
      }
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.fillStyle = '#fff';
      g.fillRect(0, 0, W, H);
      g.font = '10px system-ui, sans-serif';
      const niceStep = (x: number) => {
        const p = 10 ** Math.floor(Math.log10(Math.max(x, 1)));
        for (const m of [1, 2, 5, 10]) if (p * m >= x) return p * m;
        return p * 10;
      };
      const fmtTime = (ns: number) => (ns >= 1e9 ? `${(ns / 1e9).toFixed(3)} s` : ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(1)} µs` : `${Math.round(ns)} ns`);
      const step = niceStep(span / 8);
      for (let tt = Math.ceil(v0 / step) * step; tt <= v1; tt += step) {
        const x = LABEL_W + ((tt - v0) / span) * pw;
        g.fillStyle = '#d8dde3';
        g.fillRect(x, 10, 1, H - 10);
        g.fillStyle = '#555';
        g.fillText(fmtTime(tt), x + 2, 9);
      }
      for (let lane = 0; lane < lanes.length; lane++) {
        const y = 16 + lane * lh;
        if (lane % 2) {
          g.fillStyle = 'rgba(0,20,60,0.04)';
          g.fillRect(LABEL_W, y, pw, lh);
        }
        const ci = c.conns.get(lanes[lane]!)!;
        g.fillStyle = '#222';
        if (lh >= 9) g.fillText(`${ci.conn} ${ci.proc ?? ''} ${ci.service}`.slice(0, 26), 4, y + lh / 2 + 3);
      }
      const flowOn = new Map<number, number>();
      const band = (conn: number, from: number, to: number) => {
        const lane = laneOf.get(conn);
        if (lane === undefined || to < v0 || from > v1) return;
        const x0 = LABEL_W + Math.max(0, ((from - v0) / span) * pw);
        const x1 = LABEL_W + Math.min(pw, ((to - v0) / span) * pw);
        g.fillStyle = 'rgba(176,0,176,0.16)';
        g.fillRect(x0, 16 + lane * lh, Math.max(2, x1 - x0), lh);
        g.fillStyle = '#b0b';
        g.fillRect(x0, 16 + lane * lh, Math.max(2, x1 - x0), 2);
      };
      for (const m of c.marks) {
        if (m.kind !== 'flow') continue;
        const on = flowOn.get(m.conn);
        if (m.level > 0 && on === undefined) flowOn.set(m.conn, m.t);
        else if (m.level === 0 && on !== undefined) {
          band(m.conn, on, m.t);
          flowOn.delete(m.conn);
        }
      }
      for (const [conn, on] of flowOn) band(conn, on, c.conns.get(conn)?.last ?? v1);
      if (most > 2) {
        g.fillStyle = 'rgba(0,0,0,0.13)';
        const logMost = Math.log2(most);
        for (let lane = 0; lane < lanes.length; lane++) {
          const y = 16 + (lane + 1) * lh;
          for (let col = 0; col < pw; col++) {
            const n = counts[lane * pw + col]!;
            if (n > 1) {
              const h = Math.max(1, (Math.log2(n) / logMost) * (lh - 2));
              g.fillRect(LABEL_W + col, y - h, 1, h);
            }
          }
        }
      }
      g.fillStyle = 'rgba(60,120,220,0.25)';
      for (const [lane, a, b] of latency) g.fillRect(LABEL_W + a, 16 + lane * lh + lh / 2 - 1, b - a, 2);
      let painted = 0;
      for (let lane = 0; lane < lanes.length; lane++) {
        const y = 16 + lane * lh;
        for (let col = 0; col < pw; col++) {
          const v = bins[lane * pw + col]!;
          if (!v) continue;
          painted++;
          const x = LABEL_W + col;
          if (v & REQ) { g.fillStyle = '#2a6fdb'; g.fillRect(x, y + 1, 1, lh / 2 - 1); }
          if (v & RES) { g.fillStyle = '#2e9e4f'; g.fillRect(x, y + lh / 2, 1, lh / 2 - 1); }
          if (v & EVT) { g.fillStyle = '#e08a00'; g.fillRect(x, y + 1, 1, lh - 2); }
          if (v & ERR) { g.fillStyle = '#d22'; g.fillRect(x - 1, y + 1, 3, lh - 2); }
          if (v & TRY) { g.fillStyle = '#b0b'; g.fillRect(x - 1, y + 1, 3, lh - 2); }
          if (v & BAD) { g.fillStyle = '#000'; g.fillRect(x - 1, y + 1, 3, lh - 2); }
          if (v & RETRY) { g.strokeStyle = '#b0b'; g.lineWidth = 1; g.strokeRect(x - 2.5, y + 0.5, 5, lh / 2); }
        }
      }
      for (const m of c.marks) {
        if (m.kind === 'flow' || m.t < v0 || m.t > v1) continue;
        const lane = laneOf.get(m.conn);
        if (lane === undefined) continue;
        const x = LABEL_W + ((m.t - v0) / span) * pw;
        const y = 16 + lane * lh;
        if (m.kind === 'refused') {
          g.strokeStyle = '#d22';
          g.lineWidth = 2;
          const r = Math.min(5, lh / 2 - 1);
          g.beginPath();
          g.moveTo(x - r, y + lh / 2 - r);
          g.lineTo(x + r, y + lh / 2 + r);
          g.moveTo(x + r, y + lh / 2 - r);
          g.lineTo(x - r, y + lh / 2 + r);
          g.stroke();
        } else if (m.kind === 'dropped') {
          g.fillStyle = '#e69500';
          g.beginPath();
          g.moveTo(x - 4, y + 1);
          g.lineTo(x + 4, y + 1);
          g.lineTo(x, y + lh - 1);
          g.fill();
        } else {
          const ci = c.conns.get(m.conn);
          g.fillStyle = ci?.closedBy === 'client' ? '#888' : '#d22';
          g.fillRect(x, y + 1, 2, lh - 2);
        }
      }
      // ---- end of the reference ----
      const want = g.getImageData(0, 0, ref.width, ref.height).data;
      let differ = 0;
      let first: string | undefined;
      for (let i = 0; i < want.length; i += 4) {
        if (got[i] === want[i] && got[i + 1] === want[i + 1] && got[i + 2] === want[i + 2] && got[i + 3] === want[i + 3]) continue;
        if (differ++ === 0) first = `pixel ${(i / 4) % ref.width},${Math.floor(i / 4 / ref.width)}: ${[...got.slice(i, i + 4)]}, reference ${[...want.slice(i, i + 4)]}`;
      }
      return { differ, first, pixels: want.length / 4, painted };
    },
    { v0, v1 },
  );
}

describe.skipIf(!existsSync(CHROMIUM) || !existsSync(PAGE))('timeline picture (Chromium)', () => {
  let browser: Browser;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    files.ordered = capture('ordered.jsonl', 6);
    files.unordered = capture('unordered.jsonl', 6, true);
    // lanes a few device pixels high: rects within one pixel row
    files.thin = capture('thin.jsonl', 60);
    files.named = capture('named.jsonl', 6, false, true);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(file: string, deviceScaleFactor = 1): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 }, deviceScaleFactor });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(PAGE).href);
    await page.setInputFiles('#file', file);
    await page.waitForFunction(() => (window as unknown as W).__inspector.probe.ready || (window as unknown as W).__inspector.probe.error, undefined, { timeout: 60_000 });
    expect(errors).toEqual([]);
    return page;
  }

  /** The views: all of it, zoomed in on the burst, panned both ways, on the gap, partly before the start. */
  function views(v0: number, v1: number): [number, number][] {
    const out: [number, number][] = [[v0, v1]];
    for (const f of [0.3, 0.05, 0.004]) out.push([BURST - (v1 - v0) * f * 0.4, BURST + (v1 - v0) * f * 0.6]);
    const [a, b] = out[2]!;
    out.push([a + (b - a) * 0.37, b + (b - a) * 0.37], [a - (b - a) * 0.81, b - (b - a) * 0.81]);
    out.push([GAP[0] - 5 * MS, GAP[1] + 5 * MS], [-30 * MS, 90 * MS]);
    // from a frame's time and to one (conn 1's request of the 20th round, the burst's first)
    out.push([20 * MS + 1000, 22 * MS + 1000], [BURST - 2 * MS, BURST]);
    return out;
  }

  for (const [name, dpr] of [['ordered', 1], ['unordered', 1], ['ordered', 2], ['ordered', 1.5], ['thin', 1], ['thin', 2], ['named', 1], ['named', 2]] as const) {
    it(`every pixel the same as drawing each column with fillRect: ${name} capture, device pixel ratio ${dpr}`, async () => {
      const page = await open(files[name]!, dpr);
      const whole = await page.evaluate(() => (window as unknown as W).__inspector.timeline.view);
      for (const [v0, v1] of views(whole.v0, whole.v1)) {
        const r = await compare(page, v0, v1);
        expect(r.painted, `view ${v0}..${v1}`).toBeGreaterThan(0);
        expect({ view: [v0, v1], differ: r.differ, first: r.first }).toEqual({ view: [v0, v1], differ: 0, first: undefined });
      }
      await page.close();
    }, 120_000);
  }

  it('filtered, then not: the lanes change, the pixels are still the reference\'s', async () => {
    const page = await open(files.ordered!);
    const whole = await page.evaluate(() => (window as unknown as W).__inspector.timeline.view);
    const lanes = () => page.evaluate(() => ((window as unknown as W).__inspector.timeline as unknown as { lanes: number[] }).lanes.join(','));
    const all = await lanes();
    for (const [filter, value] of [['#f-conn', '3'], ['#f-conn', ''], ['#f-dir', 'evt'], ['#f-dir', '']] as const) {
      await page.selectOption(filter, value);
      if (filter === '#f-conn') await expect.poll(lanes).toBe(value === '' ? all : value);
      for (const [v0, v1] of [[whole.v0, whole.v1], [BURST - 3 * MS, BURST + 1 * MS]] as const) {
        const r = await compare(page, v0, v1);
        expect({ filter, value, view: [v0, v1], differ: r.differ, first: r.first }).toEqual({ filter, value, view: [v0, v1], differ: 0, first: undefined });
      }
    }
    await page.close();
  }, 120_000);

  it('zoomed and panned: the burst where its frames are, drawn and counted; nothing where no frame is', async () => {
    const page = await open(files.ordered!);
    const tl = (p: Page) => p.evaluate(() => (window as unknown as W).__inspector.timeline.view);
    const focus = page.locator('#timeline');
    await focus.focus();
    // zoom in around the middle, then pan until the burst is in view, by keys
    for (let k = 0; k < 6; k++) await page.keyboard.press('+');
    await expect.poll(async () => (await tl(page)).v1 - (await tl(page)).v0).toBeLessThan(100 * MS);
    for (let k = 0; k < 40; k++) {
      const v = await tl(page);
      if (v.v0 < BURST - (v.v1 - v.v0) * 0.2) break;
      await page.keyboard.press('ArrowLeft');
      await expect.poll(async () => (await tl(page)).v0).toBeLessThan(v.v0);
    }
    const got = await page.evaluate(
      ({ burst, gap0, gap1 }) => {
        const { state, timeline } = (window as unknown as W).__inspector;
        const tl = timeline as unknown as Record<string, any>;
        tl.draw(); // the last key's draw, now
        const c = state.cap;
        let first = -1;
        for (let i = 0; i < c.count; i++) if (c.t[i] === burst) first = i;
        const at = timeline.positionOf(first)!;
        const cv = document.getElementById('timeline') as HTMLCanvasElement;
        const g = cv.getContext('2d')!;
        const lh: number = tl.laneHeight();
        const lane = Math.floor((at.y - 16) / lh);
        // one column of the lane, top to bottom: how saturated each pixel is (a frame's colour), how dark (the count bar)
        const column = (x: number) => {
          const d = g.getImageData(Math.floor(x), Math.ceil(16 + lane * lh), 1, Math.floor(lh) - 1).data;
          const px = [];
          for (let k = 0; k < d.length; k += 4) px.push({ sat: Math.max(d[k]!, d[k + 1]!, d[k + 2]!) - Math.min(d[k]!, d[k + 1]!, d[k + 2]!), sum: d[k]! + d[k + 1]! + d[k + 2]! });
          return px;
        };
        const { v0, v1 } = timeline.view;
        const pw = Math.floor(cv.clientWidth - 150);
        const xOf = (t: number) => 150 + ((t - v0) / (v1 - v0)) * pw;
        // every column of the gap in view (not its edges' columns), every lane: no frame's colour
        let coloured = 0;
        let gapColumns = 0;
        const all = g.getImageData(0, 16, cv.width, cv.height - 16).data;
        for (let x = Math.ceil(Math.max(150, xOf(gap0))) + 2; x < Math.min(150 + pw, xOf(gap1)) - 2; x++) {
          gapColumns++;
          for (let y = 0; y < cv.height - 16; y++) {
            const k = (y * cv.width + x) * 4;
            if (Math.max(all[k]!, all[k + 1]!, all[k + 2]!) - Math.min(all[k]!, all[k + 1]!, all[k + 2]!) > 40) coloured++;
          }
        }
        return { x: at.x, expectX: xOf(burst), lane, conn: tl.lanes[lane], burst: column(at.x), before: column(at.x - 3), gapColumns, coloured, most: tl.binned.most };
      },
      { burst: BURST, gap0: GAP[0], gap1: GAP[1] },
    );
    expect(got.conn).toBe(2);
    expect(Math.abs(got.x - got.expectX)).toBeLessThanOrEqual(1);
    // the burst's column: orange (an event) in its lane, and the darkest there of its count bar
    expect(Math.max(...got.burst.map((p) => p.sat))).toBeGreaterThan(150);
    expect(got.most).toBeGreaterThanOrEqual(300);
    // three columns before it (a quiet stretch of conn 2 this close up): nothing of a frame
    expect(Math.max(...got.before.map((p) => p.sat))).toBeLessThan(40);
    expect(got.gapColumns).toBeGreaterThan(10);
    expect(got.coloured).toBe(0);
    await page.close();
  }, 120_000);
});
