// fillRect and strokeRect (1 CSS px wide) into an ImageData, with the arithmetic of the canvas's
// own raster (Skia's anti-aliased rect fill and frame: edges in 1/256 px, a coverage per edge
// pixel, each colour blended at once as Skia's 32-bit blitters do). The timeline paints a million
// frames' columns, tens of thousands of little rects: through the canvas each call costs ~0.5 µs
// of the page's thread, here a few pixels of arithmetic. Chromium (which rasterizes a canvas read
// back with getImageData on the CPU with Skia) gives the same pixels either way; the tests
// compare them.

/** A colour as the blitters hold it: premultiplied, 0..255. */
export interface Paint {
  r: number;
  g: number;
  b: number;
  a: number;
}

/**
 * A rect's rows, top T to bottom B (1/256 device px), in whole-pixel columns: per row (3 numbers)
 * the index of its first pixel, the colour at that row's coverage (a pixel's 4 bytes,
 * premultiplied) and what it keeps of the pixel under it (/256). The same for every column of a
 * lane: worked out once per lane.
 */
export type Stamp = Int32Array;

/**
 * A pixel blended: colour c over d, keeping keep/256 of d, each byte on its own (two at a time;
 * the sum never carries from one byte into the next, c's bytes being premultiplied by its alpha).
 */
const over = (c: number, d: number, keep: number): number => (c + ((((d & 0xff00ff) * keep) >>> 8) & 0xff00ff) + ((((d >>> 8) & 0xff00ff) * keep) & 0xff00ff00)) | 0;

/** '#rgb', '#rrggbb' or 'rgba(r,g,b,alpha)', premultiplied as Skia rounds it. */
export function paint(css: string): Paint {
  let c: number[];
  if (css.startsWith('#')) {
    const h = css.length === 4 ? [...css.slice(1)].map((x) => x + x).join('') : css.slice(1);
    c = [0, 2, 4].map((k) => parseInt(h.slice(k, k + 2), 16));
    c.push(255);
  } else {
    const v = css.slice(css.indexOf('(') + 1, -1).split(',').map(Number);
    c = [v[0]!, v[1]!, v[2]!, Math.round(v[3]! * 255)];
  }
  const mul = (x: number, y: number) => {
    const p = x * y + 128;
    return (p + (p >> 8)) >> 8;
  };
  const a = c[3]!;
  return { r: mul(c[0]!, a), g: mul(c[1]!, a), b: mul(c[2]!, a), a };
}

const f32 = Math.fround;

export class Raster {
  /** The pixels, RGBA (every value the blends write is 0..255: no clamping needed), and as 32-bit words. */
  private readonly d: Uint8Array;
  private readonly u: Uint32Array;
  /** img's size, where it is on the canvas, the canvas's size (device pixels) */
  private readonly w: number;
  private readonly h: number;
  private readonly ox: number;
  private readonly oy: number;
  private readonly cw: number;
  private readonly ch: number;
  private readonly s: number;

  /**
   * img: the canvas's pixels (opaque) from (ox, oy), of a canvas cw x ch; scale: its transform
   * (devicePixelRatio). The rects are the canvas's (clipped to the canvas, as Skia clips them),
   * the pixels outside img left out.
   */
  constructor(img: ImageData, scale: number, ox = 0, oy = 0, cw = img.width, ch = img.height) {
    this.d = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.length);
    this.u = new Uint32Array(img.data.buffer, img.data.byteOffset, img.data.length >> 2);
    this.w = img.width;
    this.h = img.height;
    this.ox = ox;
    this.oy = oy;
    this.cw = cw;
    this.ch = ch;
    this.s = f32(scale);
  }

  /** Pixels x, y..y+n-1 (the canvas's) covered a/255 by p. */
  private blitV(x: number, y: number, n: number, a: number, p: Paint): void {
    x -= this.ox;
    y -= this.oy;
    if (x < 0 || x >= this.w || a <= 0) return;
    if (y < 0) {
      n += y;
      y = 0;
    }
    if (y + n > this.h) n = this.h - y;
    let { r, g, b, a: pa } = p;
    if (a !== 255) {
      const k = a + 1;
      r = (r * k) >> 8;
      g = (g * k) >> 8;
      b = (b * k) >> 8;
      pa = (pa * k) >> 8;
    }
    const keep = 256 - pa;
    const d = this.d;
    const stride = this.w * 4;
    for (let o = (y * this.w + x) * 4, end = o + n * stride; o < end; o += stride) {
      d[o] = r + ((d[o]! * keep) >> 8);
      d[o + 1] = g + ((d[o + 1]! * keep) >> 8);
      d[o + 2] = b + ((d[o + 2]! * keep) >> 8);
    }
  }

  private rect(x: number, y: number, w: number, h: number, p: Paint): void {
    for (let k = 0; k < w; k++) this.blitV(x + k, y, h, 255, p);
  }

  /** One row of pixels, L..R in 1/256 px, covered a/255 (the partial first and last). */
  private scanline(L: number, y: number, R: number, a: number, p: Paint): void {
    if (L >> 8 === (R - 1) >> 8) return this.blitV(L >> 8, y, 1, (a * (R - L)) >> 8, p);
    let x = L >> 8;
    if (L & 0xff) this.blitV(x++, y, 1, (a * (256 - (L & 0xff))) >> 8, p);
    for (const end = R >> 8; x < end; x++) this.blitV(x, y, 1, a, p);
    if (R & 0xff) this.blitV(R >> 8, y, 1, (a * (R & 0xff)) >> 8, p);
  }

  /** The rect L, T, R, B (edges in 1/256 device px, see edge()), its inside too unless inner is false. */
  fill8(L: number, T: number, R: number, B: number, p: Paint, inner = true): void {
    if (L >= R || T >= B) return;
    let top = T >> 8;
    if (top === (B - 1) >> 8) return this.scanline(L, top, R, B - T - 1, p);
    if (T & 0xff) this.scanline(L, top++, R, 256 - (T & 0xff), p);
    const bot = B >> 8;
    if (bot > top) {
      let x = L >> 8;
      if (x === (R - 1) >> 8) this.blitV(x, top, bot - top, R - L - 1, p);
      else {
        if (L & 0xff) this.blitV(x++, top, bot - top, 256 - (L & 0xff), p);
        if (inner) this.rect(x, top, (R >> 8) - x, bot - top, p);
        if (R & 0xff) this.blitV(R >> 8, top, bot - top, R & 0xff, p);
      }
    }
    if (B & 0xff) this.scanline(L, bot, R, B & 0xff, p);
  }

  /**
   * A fill's edge at CSS px v as the canvas computes it: in float, scaled to device pixels,
   * clipped to the canvas (an edge outside it becomes the canvas's, which changes the coverage of
   * a 1-pixel rect), to 16.16 fixed (truncated), to 1/256 px (rounded).
   */
  edge(v: number, axis: 'x' | 'y'): number {
    const d = Math.min(axis === 'x' ? this.cw : this.ch, Math.max(0, f32(f32(v) * this.s)));
    return (Math.trunc(d * 65536) + 128) >> 8;
  }

  /** The far edge of a rect from v, size n, as the canvas adds them (in float). */
  end(v: number, n: number): number {
    return f32(f32(v) + f32(n));
  }

  /** The rows of a rect from T to B in p (see Stamp), clipped to the canvas. */
  stamp(T: number, B: number, p: Paint): Stamp {
    const rows: number[] = [];
    // a pixel's bytes in memory order (RGBA) as one word, whatever the machine's byte order
    const bytes = new Uint8Array(4);
    const word = new Int32Array(bytes.buffer);
    const add = (y: number, a: number) => {
      y -= this.oy;
      if (y < 0 || y >= this.h || a <= 0) return;
      const k = a === 255 ? 256 : a + 1;
      bytes.set([(p.r * k) >> 8, (p.g * k) >> 8, (p.b * k) >> 8, (p.a * k) >> 8]);
      rows.push(y * this.w, word[0]!, 256 - bytes[3]!);
    };
    if (T < B) {
      // the coverage fill8 gives each row of a whole pixel
      let top = T >> 8;
      if (top === (B - 1) >> 8) add(top, B - T - 1);
      else {
        if (T & 0xff) add(top++, 256 - (T & 0xff));
        const bot = B >> 8;
        for (; top < bot; top++) add(top, 255);
        if (B & 0xff) add(bot, B & 0xff);
      }
    }
    return Int32Array.from(rows);
  }

  /** fill8(L, T, R, B, p) of the stamp's T, B and p, L and R whole pixels (multiples of 256). */
  fillStamp(rows: Stamp, L: number, R: number): void {
    const u = this.u;
    const x0 = Math.max(0, (L >> 8) - this.ox);
    const x1 = Math.min(this.w, (R >> 8) - this.ox);
    for (let j = 0; j < rows.length; j += 3) {
      const c = rows[j + 1]!;
      const keep = rows[j + 2]!;
      for (let i = rows[j]! + x0, end = rows[j]! + x1; i < end; i++) u[i] = over(c, u[i]!, keep);
    }
  }

  /**
   * fillStamp(rows, L[c], R[c]) times[c] times over for each column c (the same blend again and
   * again on the same pixels, so the order of the columns does not matter).
   */
  fillTimes(rows: Stamp, L: Int32Array, R: Int32Array, times: Int32Array): void {
    const u = this.u;
    const w = this.w;
    const ox = this.ox;
    for (let j = 0; j < rows.length; j += 3) {
      const at = rows[j]!;
      const c = rows[j + 1]!;
      const keep = rows[j + 2]!;
      // The pixels a row passes mostly start alike (the lane's background): from one, the blend
      // again and again goes d, f(d), f(f(d)), ... down to a pixel it leaves as it is (each byte
      // goes one way, a byte at a time), so each start's orbit is worked out once.
      let start = -1;
      const orbit: number[] = [];
      for (let col = 0; col < times.length; col++) {
        const n = times[col]!;
        if (n <= 0) continue;
        for (let i = at + Math.max(0, (L[col]! >> 8) - ox), end = at + Math.min(w, (R[col]! >> 8) - ox); i < end; i++) {
          const d = u[i]!;
          if (d !== start) {
            start = d;
            orbit.length = 0;
            orbit.push(d);
            for (let e = over(c, d, keep) >>> 0; e !== orbit.at(-1); e = over(c, e, keep) >>> 0) orbit.push(e);
          }
          u[i] = orbit[Math.min(n, orbit.length - 1)]!;
        }
      }
    }
  }

  /**
   * fillStamp(rows, L[c], R[c]) for each column c of cols[0..n), row by row: for rects that share
   * no pixel (the order among them does not matter).
   */
  fillColumns(rows: Stamp, L: Int32Array, R: Int32Array, cols: Int32Array, n: number): void {
    const u = this.u;
    const w = this.w;
    const ox = this.ox;
    for (let j = 0; j < rows.length; j += 3) {
      const at = rows[j]!;
      const c = rows[j + 1]!;
      const keep = rows[j + 2]!;
      for (let k = 0; k < n; k++) {
        const col = cols[k]!;
        for (let i = at + Math.max(0, (L[col]! >> 8) - ox), end = at + Math.min(w, (R[col]! >> 8) - ox); i < end; i++) u[i] = over(c, u[i]!, keep);
      }
    }
  }

  /** The canvas's fillRect(x, y, w, h) (w, h > 0). */
  fillRect(x: number, y: number, w: number, h: number, p: Paint): void {
    this.fill8(this.edge(x, 'x'), this.edge(y, 'y'), this.edge(this.end(x, w), 'x'), this.edge(this.end(y, h), 'y'), p);
  }

  /** The canvas's strokeRect(x, y, w, h) at lineWidth 1. */
  strokeRect(x: number, y: number, w: number, h: number, p: Paint): void {
    const s = this.s;
    const x0 = f32(x);
    const y0 = f32(y);
    const l = f32(x0 * s);
    const t = f32(y0 * s);
    const r = f32(f32(x0 + f32(w)) * s);
    const b = f32(f32(y0 + f32(h)) * s);
    const half = f32(s * 0.5);
    const rest = f32(s - half);
    const to8 = (v: number) => Math.trunc(f32(v * 256));
    // the outer edge, anti-aliased; the band between the edges' pixels, solid; the inner edge
    let L = to8(f32(l - half));
    let T = to8(f32(t - half));
    let R = to8(f32(r + half));
    let B = to8(f32(b + half));
    this.fill8(L, T, R, B, p, false);
    const oL = (L + 0xff) >> 8;
    const oT = (T + 0xff) >> 8;
    const oR = R >> 8;
    const oB = B >> 8;
    L = to8(f32(l + rest));
    T = to8(f32(t + rest));
    R = to8(f32(r - rest));
    B = to8(f32(b - rest));
    const solid = (x0: number, y0: number, x1: number, y1: number) => {
      if (x0 < x1 && y0 < y1) this.rect(x0, y0, x1 - x0, y1 - y0, p);
    };
    if (L >= R || T >= B) return solid(oL, oT, oR, oB);
    const iL = L >> 8;
    const iT = T >> 8;
    const iR = (R + 0xff) >> 8;
    const iB = (B + 0xff) >> 8;
    solid(oL, oT, oR, iT);
    solid(oL, iT, iL, iB);
    solid(iR, iT, oR, iB);
    solid(oL, iB, oR, oB);
    this.innerEdge(L, T, R, B, p);
  }

  /** The inner edge of a frame: the pixels it crosses, covered by what lies outside it. */
  private innerEdge(L: number, T: number, R: number, B: number, p: Paint): void {
    const inv = (a: number, b: number) => {
      const q = a * b + 128;
      return a + b - ((q + (q >> 8)) >> 8);
    };
    const row = (y: number, a: number) => {
      if (L >> 8 === (R - 1) >> 8) return this.blitV(L >> 8, y, 1, inv(a, R - L), p);
      let x = L >> 8;
      if (L & 0xff) this.blitV(x++, y, 1, inv(a, L & 0xff), p);
      for (const end = R >> 8; x < end; x++) this.blitV(x, y, 1, a, p);
      if (R & 0xff) this.blitV(R >> 8, y, 1, inv(a, ~R & 0xff), p);
    };
    let top = T >> 8;
    // both inner edges in one row: what the stroke leaves of that row is 1 - (B - T)
    if (top === (B - 1) >> 8) return row(top, 256 - (B - T));
    if (T & 0xff) row(top++, T & 0xff);
    const bot = B >> 8;
    if (bot > top) {
      if (L & 0xff) this.blitV(L >> 8, top, bot - top, L & 0xff, p);
      if (R & 0xff) this.blitV(R >> 8, top, bot - top, ~R & 0xff, p);
    }
    if (B & 0xff) row(bot, ~B & 0xff);
  }
}
