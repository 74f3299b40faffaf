// One lane per connection: when each request, reply and event happened. Frames are binned per
// pixel column, so a million of them draw as fast as a few: a column shows every kind it holds.
import type { Capture } from './model.js';

const LABEL_W = 150;
const REQ = 1;
const RES = 2;
const EVT = 4;
const ERR = 8;
const TRY = 16;
const BAD = 32;

export class Timeline {
  private cap: Capture | null = null;
  private rows: Int32Array = new Int32Array(0);
  private lanes: number[] = [];
  private laneOf = new Map<number, number>();
  private v0 = 0;
  private v1 = 1;
  private sel = -1;
  private drag: { x: number; v0: number; v1: number; moved: boolean } | null = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onPick: (i: number) => void,
  ) {
    canvas.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    canvas.addEventListener('mousedown', (e) => {
      this.drag = { x: e.offsetX, v0: this.v0, v1: this.v1, moved: false };
    });
    window.addEventListener('mousemove', (e) => {
      if (!this.drag) return;
      const dx = e.clientX - this.canvas.getBoundingClientRect().left - this.drag.x;
      if (Math.abs(dx) > 3) this.drag.moved = true;
      const span = this.drag.v1 - this.drag.v0;
      const shift = (-dx / Math.max(1, this.plotWidth())) * span;
      this.v0 = this.drag.v0 + shift;
      this.v1 = this.drag.v1 + shift;
      this.draw();
    });
    window.addEventListener('mouseup', (e) => {
      if (this.drag && !this.drag.moved && e.target === this.canvas) this.pick(e.offsetX, e.offsetY);
      this.drag = null;
    });
    canvas.addEventListener('dblclick', () => this.resetView());
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  setData(cap: Capture, rows: Int32Array): void {
    const fresh = cap !== this.cap;
    this.cap = cap;
    this.rows = rows;
    const seen = new Set<number>();
    for (let k = 0; k < rows.length; k++) seen.add(cap.conn[rows[k]!]!);
    this.lanes = [...seen].sort((a, b) => a - b);
    this.laneOf = new Map(this.lanes.map((c, k) => [c, k]));
    // As tall as the lanes need (22 px each), within reason: many connections get thinner lanes.
    this.canvas.style.height = `${Math.max(60, Math.min(240, 16 + this.lanes.length * 22 + 4))}px`;
    if (fresh) this.resetView();
    else this.draw();
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
      this.v1 = Math.max(max, c.t[c.count - 1]!) * 1.02 + 1;
    }
    this.draw();
  }

  private plotWidth(): number {
    return this.canvas.clientWidth - LABEL_W;
  }

  private laneHeight(): number {
    return Math.max(6, Math.min(22, (this.canvas.clientHeight - 16) / Math.max(1, this.lanes.length)));
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const x = e.offsetX - LABEL_W;
    const w = this.plotWidth();
    const at = this.v0 + (Math.max(0, x) / w) * (this.v1 - this.v0);
    const f = e.deltaY < 0 ? 0.8 : 1.25;
    this.v0 = at - (at - this.v0) * f;
    this.v1 = at + (this.v1 - at) * f;
    if (this.v1 - this.v0 < 1000) this.v1 = this.v0 + 1000; // 1 µs at most zoomed
    this.draw();
  }

  private pick(x: number, y: number): void {
    const c = this.cap;
    if (!c || x < LABEL_W) return;
    const lane = Math.floor((y - 16) / this.laneHeight());
    const conn = this.lanes[lane];
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
    if (best >= 0 && bestD <= tol) this.onPick(best);
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
    if (!c) return;
    const pw = Math.max(1, Math.floor(W - LABEL_W));
    const lh = this.laneHeight();
    const span = this.v1 - this.v0;
    // time axis
    g.font = '10px system-ui, sans-serif';
    const step = niceStep(span / 8);
    for (let tt = Math.ceil(this.v0 / step) * step; tt <= this.v1; tt += step) {
      const x = LABEL_W + ((tt - this.v0) / span) * pw;
      g.fillStyle = '#d8dde3';
      g.fillRect(x, 10, 1, H - 10);
      g.fillStyle = '#555';
      g.fillText(fmtTime(tt), x + 2, 9);
    }
    // bins: lanes x columns, bit per kind
    const bins = new Uint8Array(this.lanes.length * pw);
    const latency: [number, number, number][] = [];
    for (let k = 0; k < this.rows.length; k++) {
      const i = this.rows[k]!;
      const t = c.t[i]!;
      if (t < this.v0 || t > this.v1) continue;
      const col = Math.min(pw - 1, Math.floor(((t - this.v0) / span) * pw));
      const lane = this.laneOf.get(c.conn[i]!)!;
      const d = c.dir[i]!;
      let bit = d === 0 || (d === 3 && c.len[i]! <= 24) ? REQ : d === 2 ? EVT : RES;
      if (c.msg[i] === -1) bit |= BAD;
      else if ((d === 1 || d === 2) && c.err[i] !== 1) bit |= c.err[i] === 6 ? TRY : ERR;
      bins[lane * pw + col]! |= bit;
      const p = c.pair[i]!;
      if ((d === 0 || d === 3) && p > i && latency.length < 20000) {
        const colEnd = Math.min(pw - 1, Math.floor(((c.t[p]! - this.v0) / span) * pw));
        if (colEnd - col >= 2) latency.push([lane, col, colEnd]);
      }
    }
    for (let lane = 0; lane < this.lanes.length; lane++) {
      const y = 16 + lane * lh;
      if (lane % 2) {
        g.fillStyle = 'rgba(0,20,60,0.04)';
        g.fillRect(LABEL_W, y, pw, lh);
      }
      const ci = c.conns.get(this.lanes[lane]!)!;
      g.fillStyle = '#222';
      if (lh >= 9) g.fillText(`${ci.conn} ${ci.proc ?? ''} ${ci.service}`.slice(0, 26), 4, y + lh / 2 + 3);
    }
    // latency spans (request to its answer), under the marks
    g.fillStyle = 'rgba(60,120,220,0.25)';
    for (const [lane, a, b] of latency) g.fillRect(LABEL_W + a, 16 + lane * lh + lh / 2 - 1, b - a, 2);
    for (let lane = 0; lane < this.lanes.length; lane++) {
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
      }
    }
    if (this.sel >= 0 && this.sel < c.count) {
      const x = LABEL_W + ((c.t[this.sel]! - this.v0) / span) * pw;
      const lane = this.laneOf.get(c.conn[this.sel]!);
      g.strokeStyle = '#f0c000';
      g.lineWidth = 2;
      g.strokeRect(x - 3, 16 + (lane ?? 0) * lh, 6, lh);
    }
  }
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
