// One lane per connection: when each request, reply and event happened. Frames are binned per
// pixel column, so a million of them draw as fast as a few: a column shows every kind it holds,
// and a grey bar under it how many (bursts). The connection-state lines are drawn over the
// frames: flow control as a band from on to off, a refused handshake as a red cross, a close.
// The columns (tens of thousands of 1-pixel rects) are painted into the canvas's pixels by
// raster.ts, the same pixels as fillRect gives, at a fraction of the cost of a canvas call each.
import { fileTitle } from './merge.js';
import { connName, refusedSetup, type Capture, type Mark } from './model.js';
import { paint, Raster, type Paint, type Stamp } from './raster.js';

const LABEL_W = 150;
/** The thinnest lane: many connections make the timeline taller (up to half the window) rather than thinner. */
const MIN_LANE = 3;
const REQ = 1;
const RES = 2;
const EVT = 4;
const ERR = 8;
const TRY = 16;
const BAD = 32;
const RETRY = 64;
const BAND = paint('rgba(176,0,176,0.16)');
const MAGENTA = paint('#b0b');
const BURST = paint('rgba(0,0,0,0.13)');
const LATENCY = paint('rgba(60,120,220,0.25)');
const BLUE = paint('#2a6fdb');
const GREEN = paint('#2e9e4f');
const ORANGE = paint('#e08a00');
const RED = paint('#d22');
const BLACK = paint('#000');
const GRID = paint('#d8dde3');
const STRIPE = paint('rgba(0,20,60,0.04)');

interface Bins {
  cap: Capture;
  count: number;
  rows: Int32Array;
  lanes: number[];
  /** the lanes binned: those that fit in the canvas */
  shown: number;
  v0: number;
  v1: number;
  pw: number;
  bins: Uint8Array;
  counts: Uint32Array;
  most: number;
  /** request-to-answer spans: lane, first column, last column, for each */
  latency: Int32Array;
}

export class Timeline {
  private cap: Capture | null = null;
  private rows: Int32Array = new Int32Array(0);
  private lanes: number[] = [];
  private laneOf = new Map<number, number>();
  private v0 = 0;
  private v1 = 1;
  private sel = -1;
  private drag: { x: number; v0: number; v1: number; moved: boolean } | null = null;
  /** The view was zoomed or panned: loading more frames no longer refits it. */
  private moved = false;
  private binned: Bins | null = null;
  /** The last full painting, without the selection, and what it was painted from. */
  private picture: HTMLCanvasElement | undefined;
  private pictureOf: Bins | null = null;
  private pictureLook = '';
  private drawPending = false;
  /**
   * Per frame of framesOf: its lane << 8 | its kind bits (REQ..RETRY). The kind bits up to
   * kindsDone (a frame's kind never changes once it is in), the lanes (framesLanes') up to
   * lanesDone (worked out again, alone, when the lanes change).
   */
  private laneKind: Int32Array = new Int32Array(0);
  private framesOf: Capture | null = null;
  private framesLanes: number[] = [];
  private kindsDone = 0;
  private lanesDone = 0;
  private readonly inks = new Map<string, { right: number; descent: number }>();
  /** Frames before this one are in time order (the view's rows are found by binary search). */
  private sortedTo = 0;
  /** How many times the frames were binned and painted (the tests check what needs neither). */
  binPasses = 0;
  paints = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onPick: (i: number) => void,
    private readonly onPickMark: (m: Mark) => void,
  ) {
    // Each full draw reads the pixels back and writes them (see draw): a canvas kept on the CPU,
    // rasterized by Skia there, whose pixels raster.ts reproduces.
    canvas.getContext('2d', { willReadFrequently: true });
    canvas.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    canvas.addEventListener('mousedown', (e) => {
      this.drag = { x: e.offsetX, v0: this.v0, v1: this.v1, moved: false };
    });
    // Lanes too thin for their label name their connection in the tooltip.
    canvas.addEventListener('mousemove', (e) => {
      const conn = this.laneAt(e.offsetY);
      const ci = conn === undefined ? undefined : this.cap?.conns.get(conn);
      const title = ci ? `connection ${connName(ci)}: ${ci.proc ?? '?'}${ci.pid ? ` [${ci.pid}]` : ''} ${ci.service}/${ci.transport}${ci.file !== undefined ? ` · ${fileTitle(this.cap!.files![ci.file]!)}` : ''}` : '';
      if (canvas.title !== title) canvas.title = title;
    });
    window.addEventListener('mousemove', (e) => {
      if (!this.drag) return;
      const dx = e.clientX - this.canvas.getBoundingClientRect().left - this.drag.x;
      if (Math.abs(dx) > 3) this.drag.moved = this.moved = true;
      const span = this.drag.v1 - this.drag.v0;
      const shift = (-dx / Math.max(1, this.plotWidth())) * span;
      this.v0 = this.drag.v0 + shift;
      this.v1 = this.drag.v1 + shift;
      this.drawSoon();
    });
    window.addEventListener('mouseup', (e) => {
      if (this.drag && !this.drag.moved && e.target === this.canvas) this.pick(e.offsetX, e.offsetY);
      this.drag = null;
    });
    canvas.addEventListener('dblclick', () => {
      this.moved = false;
      this.resetView();
    });
    // The keyboard's wheel and drag: + and - zoom around the middle, arrows pan a tenth of the view, 0 shows it all.
    canvas.addEventListener('keydown', (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return; // the browser's own zoom and shortcuts
      const span = this.v1 - this.v0;
      const mid = (this.v0 + this.v1) / 2;
      if (e.key === '+' || e.key === '=') this.zoomAt(mid, 0.8);
      else if (e.key === '-' || e.key === '_') this.zoomAt(mid, 1.25);
      else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') this.panBy((e.key === 'ArrowLeft' ? -0.1 : 0.1) * span);
      else if (e.key === '0') {
        this.moved = false;
        this.resetView();
      } else return;
      e.preventDefault();
    });
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  /**
   * fit: show the whole capture again (while it loads) unless the user moved the view. `from`:
   * rows before it are the ones of the last call (a capture growing while it loads), so only
   * the rows after it can bring new lanes.
   */
  setData(cap: Capture, rows: Int32Array, fit = false, onlyConn?: number, from = 0): void {
    const fresh = cap !== this.cap;
    if (fresh) this.moved = false;
    this.cap = cap;
    this.rows = rows;
    const all = fresh || from === 0;
    const known = all ? new Map<number, number>() : this.laneOf;
    const added = new Set<number>();
    let last = -1;
    for (let k = all ? 0 : from; k < rows.length; k++) {
      const cn = cap.conn[rows[k]!]!;
      if (cn !== last && !known.has((last = cn))) added.add(cn);
    }
    // Connections with no frame shown still get a lane for what happened to them (a refusal).
    for (const m of cap.marks) if ((onlyConn === undefined || m.conn === onlyConn) && !known.has(m.conn)) added.add(m.conn);
    // The same lanes stay the same array: what was worked out for them still holds. New ones
    // after the last (connection ids grow as a capture goes on) are appended to a copy, not sorted
    // in again with the others: a capture of a million connections brings thousands per piece.
    if (all) {
      const lanes = [...added].sort((a, b) => a - b);
      if (lanes.length !== this.lanes.length || lanes.some((cn, k) => cn !== this.lanes[k])) {
        this.lanes = lanes;
        this.laneOf = new Map(lanes.map((c, k) => [c, k]));
      }
    } else if (added.size > 0) {
      const more = [...added].sort((a, b) => a - b);
      if (this.lanes.length === 0 || more[0]! > this.lanes.at(-1)!) {
        const n = this.lanes.length;
        this.lanes = this.lanes.concat(more);
        more.forEach((cn, k) => this.laneOf.set(cn, n + k));
      } else {
        this.lanes = this.lanes.concat(more).sort((a, b) => a - b);
        this.laneOf = new Map(this.lanes.map((c, k) => [c, k]));
      }
    }
    // As tall as the lanes need (22 px each), within reason: many connections get thinner lanes,
    // down to MIN_LANE, then a taller timeline, up to half the window.
    const n = this.lanes.length;
    const room = Math.max(240, Math.min(16 + n * MIN_LANE + 4, window.innerHeight / 2));
    this.canvas.style.height = `${Math.round(Math.max(60, Math.min(16 + n * 22 + 4, room)))}px`;
    if (fresh || (fit && !this.moved)) this.resetView();
    else this.draw();
  }

  /** Where mark k is drawn, or null when it is not in view. */
  markPosition(k: number): { x: number; y: number } | null {
    const m = this.cap?.marks[k];
    const lane = m ? this.laneOf.get(m.conn) : undefined;
    if (!m || lane === undefined || m.t < this.v0 || m.t > this.v1) return null;
    const pw = Math.max(1, Math.floor(this.canvas.clientWidth - LABEL_W));
    return { x: LABEL_W + Math.floor(((m.t - this.v0) / (this.v1 - this.v0)) * pw) + 0.5, y: 16 + lane * this.laneHeight() + this.laneHeight() / 2 };
  }

  /** Where frame i is drawn (canvas CSS pixels), or null when it is not in view. */
  positionOf(i: number): { x: number; y: number } | null {
    const c = this.cap;
    const lane = c ? this.laneOf.get(c.conn[i]!) : undefined;
    if (!c || lane === undefined || c.t[i]! < this.v0 || c.t[i]! > this.v1) return null;
    const pw = Math.max(1, Math.floor(this.canvas.clientWidth - LABEL_W));
    return { x: LABEL_W + Math.floor(((c.t[i]! - this.v0) / (this.v1 - this.v0)) * pw) + 0.5, y: 16 + lane * this.laneHeight() + this.laneHeight() / 2 };
  }

  setSelected(i: number): void {
    this.sel = i;
    const c = this.cap;
    if (c && i >= 0) {
      const t = c.t[i]!;
      if (t < this.v0 || t > this.v1) {
        const span = this.v1 - this.v0;
        this.v0 = t - span / 2;
        this.v1 = t + span / 2;
      }
    }
    this.draw();
  }

  private resetView(): void {
    const c = this.cap;
    if (!c || c.count === 0) {
      this.v0 = 0;
      this.v1 = 1;
    } else {
      this.v0 = 0;
      let max = 0;
      for (const ci of c.conns.values()) max = Math.max(max, ci.last);
      this.v1 = Math.max(max, c.count ? c.t[c.count - 1]! : 0) * 1.02 + 1;
    }
    this.draw();
  }

  private plotWidth(): number {
    return this.canvas.clientWidth - LABEL_W;
  }

  /** The lanes that fit in the canvas (MIN_LANE px each at most): the rest are neither binned nor drawn. */
  private shownLanes(): number {
    return Math.min(this.lanes.length, Math.ceil(Math.max(0, this.canvas.clientHeight - 16) / this.laneHeight()));
  }

  private laneHeight(): number {
    return Math.max(MIN_LANE, Math.min(22, (this.canvas.clientHeight - 20) / Math.max(1, this.lanes.length)));
  }

  /** The connection of the lane at y (canvas CSS pixels), if any. */
  laneAt(y: number): number | undefined {
    return y < 16 ? undefined : this.lanes[Math.floor((y - 16) / this.laneHeight())];
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const x = e.offsetX - LABEL_W;
    const w = this.plotWidth();
    this.zoomAt(this.v0 + (Math.max(0, x) / w) * (this.v1 - this.v0), e.deltaY < 0 ? 0.8 : 1.25);
  }

  /** The view f times as long, time `at` where it was. */
  private zoomAt(at: number, f: number): void {
    this.v0 = at - (at - this.v0) * f;
    this.v1 = at + (this.v1 - at) * f;
    if (this.v1 - this.v0 < 1000) this.v1 = this.v0 + 1000; // 1 µs at most zoomed
    this.moved = true;
    this.drawSoon();
  }

  private panBy(dt: number): void {
    this.v0 += dt;
    this.v1 += dt;
    this.moved = true;
    this.drawSoon();
  }

  /** The time in view, ns from the capture's start (for the tests). */
  get view(): { v0: number; v1: number } {
    return { v0: this.v0, v1: this.v1 };
  }

  /**
   * One draw in the next animation frame for all the wheel and drag events until then: a wheel
   * sends several a frame, and on a million frames each draw is a fraction of a second.
   */
  private drawSoon(): void {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => {
      this.drawPending = false;
      this.draw();
    });
  }

  private pick(x: number, y: number): void {
    const c = this.cap;
    if (!c || x < LABEL_W) return;
    const conn = this.laneAt(y);
    if (conn === undefined) return;
    const t = this.v0 + ((x - LABEL_W) / this.plotWidth()) * (this.v1 - this.v0);
    const tol = (4 / this.plotWidth()) * (this.v1 - this.v0);
    let best = -1;
    let bestD = Infinity;
    for (let k = 0; k < this.rows.length; k++) {
      const i = this.rows[k]!;
      if (c.conn[i] !== conn) continue;
      const d = Math.abs(c.t[i]! - t);
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    // A connection-state mark wins over a frame as near as it.
    let mark: Mark | undefined;
    for (const m of c.marks) {
      if (m.conn !== conn) continue;
      const d = Math.abs(m.t - t);
      if (d <= bestD && d <= tol) {
        bestD = d;
        mark = m;
      }
    }
    if (mark) this.onPickMark(mark);
    else if (best >= 0 && bestD <= tol) this.onPick(best);
  }

  /** Brings laneKind (and the time-order check) up to the capture's frames and the lanes. */
  private frames(c: Capture): Int32Array {
    if (c !== this.framesOf) {
      this.framesOf = c;
      this.kindsDone = this.lanesDone = this.sortedTo = 0;
    }
    if (this.framesLanes !== this.lanes) {
      this.framesLanes = this.lanes;
      this.lanesDone = 0;
    }
    if (this.laneKind.length < c.count) this.laneKind = grown(this.laneKind, Math.max(c.count, this.laneKind.length * 2), this.kindsDone);
    const out = this.laneKind;
    for (let i = this.kindsDone; i < c.count; i++) {
      const d = c.dir[i]!;
      let bit = d === 0 || (d === 3 && c.len[i]! <= 24) ? REQ : d === 2 ? EVT : RES;
      if (c.msg[i] === -1) bit |= BAD;
      else if ((d === 1 || d === 2) && c.err[i] !== 1) bit |= c.err[i] === 6 ? TRY : ERR;
      else if (refusedSetup(c, i)) bit |= ERR;
      if (c.retry[i]) bit |= RETRY;
      out[i] = bit;
    }
    this.kindsDone = c.count;
    if (this.lanesDone < c.count) {
      // lanes by connection id through a table (ids are small counters), larger ones through laneOf
      const tab = new Int32Array(Math.min(1 << 16, (this.lanes.at(-1) ?? -1) + 1)).fill(-1);
      this.lanes.forEach((cn, k) => {
        if (cn >= 0 && cn < tab.length) tab[cn] = k;
      });
      for (let i = this.lanesDone; i < c.count; i++) {
        const cn = c.conn[i]!;
        // a frame of no lane (not in the rows) is never binned
        const lane = cn >= 0 && cn < tab.length ? tab[cn]! : (this.laneOf.get(cn) ?? 0);
        out[i] = (lane << 8) | (out[i]! & 0xff);
      }
      this.lanesDone = c.count;
    }
    // the frames in time order so far (the loop stops at once where an earlier call stopped)
    let i = Math.max(1, this.sortedTo);
    while (i < c.count && c.t[i]! >= c.t[i - 1]!) i++;
    this.sortedTo = Math.min(i, c.count);
    return out;
  }

  /**
   * Every frame in view, binned into lanes x pixel columns (a bit per kind, a count), and the
   * request-to-answer spans: one pass over the rows in view (all of them if the capture is not in
   * time order), kept while the rows and the view stay the same: selecting a frame, a mark or a
   * resize of the same width only paints again.
   */
  private bin(c: Capture, pw: number): Bins {
    const key = this.binned;
    const shown = this.shownLanes();
    if (key && key.cap === c && key.count === c.count && key.rows === this.rows && key.lanes === this.lanes && key.shown === shown && key.v0 === this.v0 && key.v1 === this.v1 && key.pw === pw) return key;
    this.binPasses++;
    const laneKind = this.frames(c);
    const { rows, v0, v1 } = this;
    const span = v1 - v0;
    // lanes x columns of the lanes in view only: a million connections' would be gigabytes
    const bins = new Uint8Array(shown * pw);
    const counts = new Uint32Array(shown * pw);
    const below = shown << 8;
    // the first 20,000 spans (they are drawn one over the other: more add little but time)
    const latency = new Int32Array(3 * 20000);
    let spans = 0;
    const t = c.t;
    const pair = c.pair;
    const colOf = (ti: number) => Math.min(pw - 1, Math.floor(((ti - v0) / span) * pw));
    const add = (k: number, col: number) => {
      const i = rows[k]!;
      const x = laneKind[i]!;
      if (x >= below) return;
      const bit = x & 0xff;
      const b = (x >> 8) * pw + col;
      bins[b]! |= bit;
      counts[b]!++;
      // a request (or setup request) answered later
      if (bit & REQ && spans < latency.length) {
        const p = pair[i]!;
        if (p > i) {
          const colEnd = colOf(t[p]!);
          if (colEnd - col >= 2) {
            latency[spans++] = x >> 8;
            latency[spans++] = col;
            latency[spans++] = colEnd;
          }
        }
      }
    };
    if (this.sortedTo === c.count) {
      // In time order: the rows of each column are a run, found by binary search (colOf never
      // decreases with the time), so a frame costs no arithmetic of its own.
      let k = this.firstRow((ti) => ti >= v0, 0, rows.length);
      const to = this.firstRow((ti) => ti > v1, k, rows.length);
      while (k < to) {
        const col = colOf(t[rows[k]!]!);
        const end = col === pw - 1 ? to : this.firstRow((ti) => colOf(ti) > col, k + 1, to);
        for (; k < end; k++) add(k, col);
      }
    } else {
      for (let k = 0; k < rows.length; k++) {
        const ti = t[rows[k]!]!;
        if (ti >= v0 && ti <= v1) add(k, colOf(ti));
      }
    }
    let most = 1;
    for (const n of counts) if (n > most) most = n;
    this.binned = { cap: c, count: c.count, rows, lanes: this.lanes, shown, v0, v1, pw, bins, counts, most, latency: latency.subarray(0, spans) };
    return this.binned;
  }

  /** The first k in [lo, hi) whose frame's time passes the test (false before it, true from it on), or hi. */
  private firstRow(test: (t: number) => boolean, lo: number, hi: number): number {
    const time = this.cap!.t;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (test(time[this.rows[m]!]!)) hi = m;
      else lo = m + 1;
    }
    return lo;
  }

  draw(): void {
    const cv = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const W = cv.clientWidth;
    const H = cv.clientHeight;
    if (cv.width !== Math.round(W * dpr) || cv.height !== Math.round(H * dpr)) {
      cv.width = Math.round(W * dpr);
      cv.height = Math.round(H * dpr);
    }
    const g = cv.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#fff';
    g.fillRect(0, 0, W, H);
    const c = this.cap;
    if (!c || cv.width === 0 || cv.height === 0) return;
    const pw = Math.max(1, Math.floor(W - LABEL_W));
    const lh = this.laneHeight();
    const span = this.v1 - this.v0;
    const binned = this.bin(c, pw);
    const shown = binned.shown;
    // Only the selection changed (a click, a key in the table): the picture of the frames as it
    // was, then the selection over it. Painting a million frames' columns is most of a draw.
    const look = `${cv.width}x${cv.height}:${c.marks.length}:${c.conns.size}`;
    if (this.picture && this.pictureOf === binned && this.pictureLook === look) {
      g.setTransform(1, 0, 0, 1, 0, 0);
      g.drawImage(this.picture, 0, 0);
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      this.drawSelection(c, pw, lh, span);
      return;
    }
    this.paints++;
    // time axis
    g.font = '10px system-ui, sans-serif';
    const step = niceStep(span / 8);
    const grid: number[] = [];
    // how far down the times' text reaches and how far right the lanes' names (CSS px)
    let below = 0;
    let right = 0;
    for (let tt = Math.ceil(this.v0 / step) * step; tt <= this.v1; tt += step) {
      const x = LABEL_W + ((tt - this.v0) / span) * pw;
      grid.push(x);
      g.fillStyle = '#d8dde3';
      g.fillRect(x, 10, 1, H - 10);
      g.fillStyle = '#555';
      const text = fmtTime(tt);
      g.fillText(text, x + 2, 9);
      below = Math.max(below, 9 + this.ink(g, text).descent);
    }
    for (let lane = 0; lane < shown; lane++) {
      const y = 16 + lane * lh;
      if (lane % 2) {
        g.fillStyle = 'rgba(0,20,60,0.04)';
        g.fillRect(LABEL_W, y, pw, lh);
      }
      const ci = c.conns.get(this.lanes[lane]!)!;
      g.fillStyle = '#222';
      if (lh < 9) continue;
      const text = `${connName(ci)} ${ci.proc ?? ''} ${ci.service}`.slice(0, 26);
      g.fillText(text, 4, y + lh / 2 + 3);
      right = Math.max(right, 4 + this.ink(g, text).right);
    }
    // flow control, the count bars, the spans and the frames' marks; the frames' part of the
    // canvas (from the lanes' top, 3 px left of the first column) holds no text unless a name or
    // a time reaches into it (a pixel of margin for the glyphs' anti-aliasing)
    if (Number.isInteger(dpr)) this.paintPixels(g, binned, pw, lh, H, dpr, grid, below > 15 || right > LABEL_W - 4);
    else this.paintCalls(g, binned, pw, lh);
    // refusals, closes and recorder gaps
    for (const m of c.marks) {
      if (m.kind === 'flow' || m.t < this.v0 || m.t > this.v1) continue;
      const lane = this.laneOf.get(m.conn);
      if (lane === undefined) continue;
      const x = LABEL_W + ((m.t - this.v0) / span) * pw;
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
        // a gap in the record: an amber wedge over the lane
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
    this.picture ??= document.createElement('canvas');
    this.picture.width = cv.width;
    this.picture.height = cv.height;
    this.picture.getContext('2d')!.drawImage(cv, 0, 0);
    this.pictureOf = binned;
    this.pictureLook = look;
    this.drawSelection(c, pw, lh, span);
  }

  /**
   * Flow control, the count bars, the spans and the frames' marks at a whole device pixel ratio,
   * into the canvas's pixels (raster.ts): the rects, and the order, of paintCalls.
   */
  private paintPixels(g: CanvasRenderingContext2D, binned: Bins, pw: number, lh: number, H: number, dpr: number, grid: number[], text: boolean): void {
    const { bins, counts, most, latency, shown } = binned;
    const c = binned.cap;
    const cw = g.canvas.width;
    const ch = g.canvas.height;
    const ox = Math.floor((LABEL_W - 3) * dpr);
    const oy = Math.floor(16 * dpr);
    if (ox >= cw || oy >= ch) return;
    // The frames' part of the canvas: its background (white, the time grid, the lanes' stripes:
    // the canvas's rects over again) worked out here rather than read back, unless text is in it.
    let img: ImageData;
    if (text) img = g.getImageData(ox, oy, cw - ox, ch - oy);
    else {
      img = g.createImageData(cw - ox, ch - oy);
      new Uint32Array(img.data.buffer).fill(0xffffffff);
    }
    const px = new Raster(img, dpr, ox, oy, cw, ch);
    if (!text) {
      for (const x of grid) px.fillRect(x, 10, 1, H - 10, GRID);
      for (let lane = 1; lane < shown; lane += 2) px.fillRect(LABEL_W, 16 + lane * lh, pw, lh, STRIPE);
    }
    this.flowBands(c, pw, lh, (x, y, w) => {
      px.fillRect(x, y, w, lh, BAND);
      px.fillRect(x, y, w, 2, MAGENTA);
    });
    // Each column's edges (the same in every lane) and each lane's (the same in every column).
    const x1L = new Int32Array(pw);
    const x1R = new Int32Array(pw);
    const x3L = new Int32Array(pw);
    const x3R = new Int32Array(pw);
    for (let col = 0; col < pw; col++) {
      x1L[col] = px.edge(LABEL_W + col, 'x');
      x1R[col] = px.edge(px.end(LABEL_W + col, 1), 'x');
      x3L[col] = px.edge(LABEL_W + col - 1, 'x');
      x3R[col] = px.edge(px.end(LABEL_W + col - 1, 3), 'x');
    }
    const stampOf = (y: number, h: number, p: Paint) => px.stamp(px.edge(y, 'y'), px.edge(px.end(y, h), 'y'), p);
    // bursts: how many frames each column holds, as a grey bar from the lane's bottom (log scale)
    if (most > 2) {
      const logMost = Math.log2(most);
      for (let lane = 0; lane < shown; lane++) {
        const y = 16 + (lane + 1) * lh;
        const bars = new Map<number, Stamp>();
        for (let col = 0; col < pw; col++) {
          const n = counts[lane * pw + col]!;
          if (n < 2) continue;
          let bar = bars.get(n);
          if (!bar) {
            const h = Math.max(1, (Math.log2(n) / logMost) * (lh - 2));
            bars.set(n, (bar = stampOf(y - h, h, BURST)));
          }
          px.fillStamp(bar, x1L[col]!, x1R[col]!);
        }
      }
    }
    // latency spans (request to its answer), under the marks; a lane's all on the same rows, so
    // each column takes the blend as many times as spans cover it
    const byLane = new Map<number, number[]>();
    for (let k = 0; k < latency.length; k += 3) {
      const l = byLane.get(latency[k]!);
      if (l) l.push(latency[k + 1]!, latency[k + 2]!);
      else byLane.set(latency[k]!, [latency[k + 1]!, latency[k + 2]!]);
    }
    const times = new Int32Array(pw);
    for (const [lane, spans] of byLane) {
      const y = 16 + lane * lh + lh / 2 - 1;
      times.fill(0);
      for (let k = 0; k < spans.length; k += 2) {
        times[spans[k]!]!++;
        if (spans[k + 1]! < pw) times[spans[k + 1]!]!--;
      }
      for (let col = 1; col < pw; col++) times[col]! += times[col - 1]!;
      px.fillTimes(stampOf(y, 2, LATENCY), x1L, x1R, times);
    }
    // The frames' marks. A request, answer or event paints its own pixel column and no other:
    // kind by kind, all the columns of a lane at once, except near an error's 3-pixel mark or a
    // retry's outline (up to 3 columns away), where the columns are painted one after the other,
    // every kind, as they overlap.
    const near = new Uint8Array(pw);
    const list = new Int32Array(pw);
    for (let lane = 0; lane < shown; lane++) {
      const y = 16 + lane * lh;
      const req = stampOf(y + 1, lh / 2 - 1, BLUE);
      const res = stampOf(y + lh / 2, lh / 2 - 1, GREEN);
      const evt = stampOf(y + 1, lh - 2, ORANGE);
      const err = stampOf(y + 1, lh - 2, RED);
      const tried = stampOf(y + 1, lh - 2, MAGENTA);
      const bad = stampOf(y + 1, lh - 2, BLACK);
      const at = lane * pw;
      near.fill(0);
      for (let col = 0; col < pw; col++) {
        if (bins[at + col]! & (ERR | TRY | BAD | RETRY)) near.fill(1, Math.max(0, col - 3), col + 4);
      }
      for (const [bit, st] of [[REQ, req], [RES, res], [EVT, evt]] as const) {
        let n = 0;
        for (let col = 0; col < pw; col++) if (bins[at + col]! & bit && !near[col]) list[n++] = col;
        px.fillColumns(st, x1L, x1R, list, n);
      }
      for (let col = 0; col < pw; col++) {
        const v = bins[at + col]!;
        if (!v || !near[col]) continue;
        const L = x1L[col]!;
        const R = x1R[col]!;
        if (v & REQ) px.fillStamp(req, L, R);
        if (v & RES) px.fillStamp(res, L, R);
        if (v & EVT) px.fillStamp(evt, L, R);
        if (v & ERR) px.fillStamp(err, x3L[col]!, x3R[col]!);
        if (v & TRY) px.fillStamp(tried, x3L[col]!, x3R[col]!);
        if (v & BAD) px.fillStamp(bad, x3L[col]!, x3R[col]!);
        if (v & RETRY) px.strokeRect(LABEL_W + col - 2.5, y + 0.5, 5, lh / 2, MAGENTA);
      }
    }
    g.putImageData(img, ox, oy);
  }

  /**
   * Flow control, for both painters: a band (x, y, width in CSS px, a lane high) from each 'on' to
   * the next 'off' of its connection, or to its last frame.
   */
  private flowBands(c: Capture, pw: number, lh: number, fill: (x: number, y: number, w: number) => void): void {
    const span = this.v1 - this.v0;
    const flowOn = new Map<number, number>();
    const band = (conn: number, from: number, to: number) => {
      const lane = this.laneOf.get(conn);
      if (lane === undefined || to < this.v0 || from > this.v1) return;
      const x0 = LABEL_W + Math.max(0, ((from - this.v0) / span) * pw);
      const x1 = LABEL_W + Math.min(pw, ((to - this.v0) / span) * pw);
      fill(x0, 16 + lane * lh, Math.max(2, x1 - x0));
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
    for (const [conn, on] of flowOn) band(conn, on, c.conns.get(conn)?.last ?? this.v1);
  }

  /**
   * The same at a fractional device pixel ratio, through the canvas: there a column's rects share
   * pixels with its neighbours', so the picture depends on the order of every rect, one by one.
   */
  private paintCalls(g: CanvasRenderingContext2D, binned: Bins, pw: number, lh: number): void {
    const { bins, counts, most, latency, shown } = binned;
    const c = binned.cap;
    this.flowBands(c, pw, lh, (x, y, w) => {
      g.fillStyle = 'rgba(176,0,176,0.16)';
      g.fillRect(x, y, w, lh);
      g.fillStyle = '#b0b';
      g.fillRect(x, y, w, 2);
    });
    if (most > 2) {
      g.fillStyle = 'rgba(0,0,0,0.13)';
      const logMost = Math.log2(most);
      for (let lane = 0; lane < shown; lane++) {
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
    for (let k = 0; k < latency.length; k += 3) g.fillRect(LABEL_W + latency[k + 1]!, 16 + latency[k]! * lh + lh / 2 - 1, latency[k + 2]! - latency[k + 1]!, 2);
    for (let lane = 0; lane < shown; lane++) {
      const y = 16 + lane * lh;
      for (let col = 0; col < pw; col++) {
        const v = bins[lane * pw + col]!;
        if (!v) continue;
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
  }

  /** How far a text's ink reaches right of where it is drawn and below its baseline (CSS px), measured once. */
  private ink(g: CanvasRenderingContext2D, text: string): { right: number; descent: number } {
    let m = this.inks.get(text);
    if (!m) {
      const t = g.measureText(text);
      if (this.inks.size > 1000) this.inks.clear();
      this.inks.set(text, (m = { right: t.actualBoundingBoxRight, descent: t.actualBoundingBoxDescent }));
    }
    return m;
  }

  private drawSelection(c: Capture, pw: number, lh: number, span: number): void {
    const g = this.canvas.getContext('2d')!;
    if (this.sel >= 0 && this.sel < c.count) {
      const x = LABEL_W + ((c.t[this.sel]! - this.v0) / span) * pw;
      const lane = this.laneOf.get(c.conn[this.sel]!);
      g.strokeStyle = '#f0c000';
      g.lineWidth = 2;
      g.strokeRect(x - 3, 16 + (lane ?? 0) * lh, 6, lh);
    }
  }
}

/** A copy of a's first n elements in an array of the given length. */
function grown(a: Int32Array, length: number, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(length);
  b.set(a.subarray(0, n));
  return b;
}

function niceStep(x: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(x, 1)));
  for (const m of [1, 2, 5, 10]) if (p * m >= x) return p * m;
  return p * 10;
}

export function fmtTime(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${Math.round(ns)} ns`;
}
