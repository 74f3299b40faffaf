/**
 * One benchmark in this process (run.mjs starts one process per case, so each one's JIT sees only
 * its own message and neither side inherits the other cases' polymorphism):
 *   case <name>   per-message decode and encode, sides interleaved, prints one JSON line
 *   bulk          the ~100 MB capture, prints one JSON line
 */
import { readFileSync } from 'node:fs';
import { codec, decode, decodeAll, encode, fromHex } from '@corosync-ts/codec-wasm';
import * as B from './baseline.ts';
import { CASES, K, type Case } from './cases.ts';

const ROUNDS = Number(process.env.CODEC_BENCH_ROUNDS ?? 31);
const BATCH_NS = Number(process.env.CODEC_BENCH_BATCH_MS ?? 5) * 1e6;
let sink = 0;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs the sides interleaved (A B C A B C ...) ROUNDS times; median ns per operation of each. */
function race(sides: Record<string, (iters: number) => number>, opsPerIter: number): Record<string, number> {
  const names = Object.keys(sides);
  const iters: Record<string, number> = {};
  for (const n of names) {
    // calibrate (and warm up): grow the batch until it takes BATCH_NS
    let it = 16;
    for (;;) {
      const t0 = process.hrtime.bigint();
      sink += sides[n]!(it);
      const dt = Number(process.hrtime.bigint() - t0);
      if (dt > BATCH_NS / 4) {
        iters[n] = Math.max(1, Math.round((it * BATCH_NS) / dt));
        break;
      }
      it *= 2;
    }
    sink += sides[n]!(iters[n]!);
  }
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const n of names) {
      const t0 = process.hrtime.bigint();
      sink += sides[n]!(iters[n]!);
      samples[n]!.push(Number(process.hrtime.bigint() - t0) / (iters[n]! * opsPerIter));
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n]!)]));
}

function sumObject(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return v.length;
  if (v instanceof Uint8Array) return v.length;
  if (Array.isArray(v)) {
    let s = 0;
    for (const e of v) s += sumObject(e);
    return s;
  }
  if (typeof v === 'object' && v !== null) {
    let s = 0;
    for (const k in v) s += sumObject((v as Record<string, unknown>)[k]);
    return s;
  }
  return 0;
}

function runCase(c: Case) {
  const mi = codec.messageIndex(c.message, c.dir);
  // K frames at the same offsets in WASM memory and in the baseline's buffer; offset 0 is left for
  // the copy-in side, which writes its frame at the start of the input buffer.
  const BASE = 64 * 1024;
  const offs: number[] = [];
  let at = BASE;
  for (const f of c.frames) {
    offs.push(at);
    at += (f.length + 7) & ~7;
  }
  const input = codec.inputBuffer(at);
  const buf = new Uint8Array(at);
  c.frames.forEach((f, j) => {
    input.set(f, offs[j]);
    buf.set(f, offs[j]);
  });
  const dv = new DataView(buf.buffer);
  const lens = c.frames.map((f) => f.length);
  const { service: svc, dirCode: dir, code } = c;

  // Both sides must decode the same values and encode the same bytes before anything is timed.
  for (let j = 0; j < K; j++) {
    if (codec.decodeAt(offs[j]!, lens[j]!, svc, dir) !== mi) throw codec.lastError();
    const w = c.wasm(offs[j]!);
    if (B.decode(dv, offs[j]!, lens[j]!, svc, dir) !== code) throw new Error(`${c.name}: baseline rejects frame ${j}`);
    const b = c.base(dv, offs[j]!);
    if (w !== b || !Number.isFinite(w)) throw new Error(`${c.name}: consumers disagree on frame ${j}: ${w} vs ${b}`);
    const ob = new Uint8Array(4096);
    const n = c.enc(c.fields[j]!, ob, new DataView(ob.buffer));
    const nw = codec.encodeOutput(mi, c.fields[j]!);
    const same = n === nw && n === lens[j] && codec.outputBuffer().subarray(0, n).every((x, k) => x === ob[k] && x === c.frames[j]![k]);
    if (!same) throw new Error(`${c.name}: encoders disagree on frame ${j}`);
  }

  const frames = c.frames;
  const wasmRead = c.wasm;
  const baseRead = c.base;
  const decodeSides = {
    dataview: (iters: number) => {
      let s = 0;
      for (let i = 0; i < iters; i++) {
        for (let j = 0; j < K; j++) {
          const off = offs[j]!;
          if (B.decode(dv, off, lens[j]!, svc, dir) !== code) throw new Error('baseline decode failed');
          s += baseRead(dv, off);
        }
      }
      return s;
    },
    wasm: (iters: number) => {
      let s = 0;
      for (let i = 0; i < iters; i++) {
        for (let j = 0; j < K; j++) {
          const off = offs[j]!;
          if (codec.decodeAt(off, lens[j]!, svc, dir) !== mi) throw codec.lastError();
          s += wasmRead(off);
        }
      }
      return s;
    },
    wasmCopyIn: (iters: number) => {
      let s = 0;
      for (let i = 0; i < iters; i++) {
        for (let j = 0; j < K; j++) {
          const f = frames[j]!;
          codec.inputBuffer(f.length).set(f);
          if (codec.decodeInput(f.length, svc, dir) !== mi) throw codec.lastError();
          s += wasmRead(0);
        }
      }
      return s;
    },
    decodeApi: (iters: number) => {
      let s = 0;
      const opts = { service: c.message.slice(0, c.message.indexOf('.')) as 'cmap', dir: c.dir };
      for (let i = 0; i < iters; i++) {
        for (let j = 0; j < K; j++) {
          const d = decode(frames[j]!, opts);
          s += d.id + d.size + (d.error ?? 0) + sumObject(d.fields);
        }
      }
      return s;
    },
  };
  const dec = race(decodeSides, K);

  const ob = new Uint8Array(4096);
  const odv = new DataView(ob.buffer);
  const fields = c.fields;
  const enc = c.enc;
  const hdr = c.dir === 'req' ? {} : { dir: c.dir };
  const encodeSides = {
    dataview: (iters: number) => {
      let s = 0;
      for (let i = 0; i < iters; i++) {
        for (let j = 0; j < K; j++) {
          const n = enc(fields[j]!, ob, odv);
          s += n + ob[n - 1]!;
        }
      }
      return s;
    },
    wasm: (iters: number) => {
      let s = 0;
      for (let i = 0; i < iters; i++) {
        for (let j = 0; j < K; j++) {
          const n = codec.encodeOutput(mi, fields[j]!);
          s += n + codec.outputBuffer()[n - 1]!;
        }
      }
      return s;
    },
    encodeApi: (iters: number) => {
      let s = 0;
      for (let i = 0; i < iters; i++) {
        for (let j = 0; j < K; j++) {
          const b = encode(c.message, fields[j]!, hdr);
          s += b.length + b[b.length - 1]!;
        }
      }
      return s;
    },
  };
  const en = race(encodeSides, K);
  return { case: c.name, bytes: lens[0], decode: dec, encode: en };
}

// ------------------------------------------------------------------------------------- bulk

interface Segment { service: number; dir: number; label: string; bytes: Uint8Array }

const SVC = { cmap: 1, quorum: 2, votequorum: 3 } as const;
const DIR = { req: 0, res: 1, evt: 2 } as const;
const SUPPORTED = new Set([
  'cmap/req/cmap.get', 'cmap/req/cmap.set', 'cmap/res/cmap.get', 'cmap/res/cmap.set', 'cmap/res/cmap.error',
  'quorum/evt/quorum.notification', 'quorum/evt/quorum.v1QuorumNotification', 'quorum/evt/quorum.v1NodelistNotification',
  'votequorum/evt/votequorum.quorumNotification', 'votequorum/evt/votequorum.expectedvotesNotification',
  'votequorum/evt/votequorum.nodelistNotification',
]);

/**
 * The capture: four streams (cmap requests, cmap responses, quorum events, votequorum events),
 * each ~1/4 of the total, cut from a pool of the captured golden vectors of the hot messages
 * (real corosync 3.1.7 traffic) plus the benchmark's synthetic frames (3, 16 and 64 nodes),
 * drawn in a fixed pseudo-random order.
 */
function buildCapture(total: number): Segment[] {
  const vectorsDir = new URL('../../packages/codec-wasm/test/vectors/', import.meta.url);
  const pools = new Map<string, Uint8Array[]>();
  const add = (service: string, dir: string, f: Uint8Array) => {
    const k = `${service}/${dir}`;
    if (!pools.has(k)) pools.set(k, []);
    pools.get(k)!.push(f);
  };
  for (const file of ['cmap', 'quorum', 'votequorum']) {
    for (const line of readFileSync(new URL(`${file}.jsonl`, vectorsDir), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const v = JSON.parse(line) as { service: string; dir: string; hex: string; name?: string };
      if (SUPPORTED.has(`${v.service}/${v.dir}/${v.name}`)) add(v.service, v.dir, fromHex(v.hex));
    }
  }
  for (const make of Object.values(CASES)) {
    const c = make();
    for (const f of c.frames) add(c.message.slice(0, c.message.indexOf('.')), c.dir, f);
  }
  const segs: Segment[] = [];
  let seed = 12345;
  for (const [k, pool] of pools) {
    const [service, dir] = k.split('/') as [keyof typeof SVC, keyof typeof DIR];
    const bytes = new Uint8Array(Math.floor(total / pools.size));
    let len = 0;
    for (;;) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const f = pool[seed % pool.length]!;
      if (len + f.length > bytes.length) break;
      bytes.set(f, len);
      len += f.length;
    }
    segs.push({ service: SVC[service], dir: DIR[dir], label: `${service} ${dir} (${pool.length} distinct frames)`, bytes: bytes.subarray(0, len) });
  }
  return segs;
}

function runBulk(total: number) {
  const segs = buildCapture(total);
  const bytes = segs.reduce((s, g) => s + g.bytes.length, 0);
  let frames = 0;
  const dvs = segs.map((g) => new DataView(g.bytes.buffer, g.bytes.byteOffset, g.bytes.length));
  for (const [i, g] of segs.entries()) {
    const nb = B.walk(dvs[i]!, g.bytes.length, g.service, g.dir);
    const input = codec.inputBuffer(g.bytes.length);
    input.set(g.bytes);
    const nw = codec.decodeStream(g.bytes.length, g.service, g.dir);
    if (nw < 0) throw codec.lastError();
    if (nb !== nw || B.walkSum !== codec.streamSum() || codec.streamConsumed() !== g.bytes.length) {
      throw new Error(`bulk ${g.label}: baseline ${nb} frames sum ${B.walkSum}, wasm ${nw} sum ${codec.streamSum()}`);
    }
    frames += nb;
  }
  const sides = {
    dataview: () => {
      let s = 0;
      for (let i = 0; i < segs.length; i++) s += B.walk(dvs[i]!, segs[i]!.bytes.length, segs[i]!.service, segs[i]!.dir);
      return s;
    },
    // copy each stream into WASM memory (one copy per stream), then one call walks it
    wasmStream: () => {
      let s = 0;
      for (const g of segs) {
        codec.inputBuffer(g.bytes.length).set(g.bytes);
        s += codec.decodeStream(g.bytes.length, g.service, g.dir);
      }
      return s;
    },
  };
  // The streaming use: the capture arrives in 256 KiB reads, each appended to the bytes a previous
  // call left unconsumed (a frame cut by the read) and walked by one decodeStream() call.
  const CHUNK = 256 * 1024;
  let chunkSum = 0;
  const chunked = () => {
    let frames = 0;
    let sum = 0;
    for (const g of segs) {
      let carry = 0;
      for (let off = 0; off < g.bytes.length; off += CHUNK) {
        const n = Math.min(CHUNK, g.bytes.length - off);
        const input = codec.inputBuffer(carry + n);
        input.set(g.bytes.subarray(off, off + n), carry);
        const k = codec.decodeStream(carry + n, g.service, g.dir);
        if (k < 0) throw codec.lastError();
        frames += k;
        sum = (sum + codec.streamSum()) >>> 0;
        const used = codec.streamConsumed();
        carry = carry + n - used;
        input.copyWithin(0, used, used + carry);
      }
      if (carry !== 0) throw new Error('capture ends inside a frame');
    }
    chunkSum = sum;
    return frames;
  };
  {
    // check: the chunked walk sees every frame once
    let want = 0;
    let wantSum = 0;
    for (const [i, g] of segs.entries()) {
      want += B.walk(dvs[i]!, g.bytes.length, g.service, g.dir);
      wantSum = (wantSum + B.walkSum) >>> 0;
    }
    if (chunked() !== want || chunkSum !== wantSum) throw new Error('chunked walk disagrees with the baseline');
  }
  const samples: Record<string, number[]> = { dataview: [], wasmChunked: [], wasmStream: [], wasmStreamInMemory: [], copyIn: [] };
  const rounds = Math.max(3, Math.min(9, ROUNDS));
  for (let r = 0; r < rounds + 1; r++) {
    const t0 = process.hrtime.bigint();
    sink += sides.dataview();
    const t1 = process.hrtime.bigint();
    sink += sides.wasmStream();
    const t2 = process.hrtime.bigint();
    sink += chunked();
    const t3 = process.hrtime.bigint();
    // the same walk with the bytes already in WASM memory: only the decodeStream() calls are timed
    let inMem = 0;
    let copy = 0;
    for (const g of segs) {
      const c0 = process.hrtime.bigint();
      codec.inputBuffer(g.bytes.length).set(g.bytes);
      const c1 = process.hrtime.bigint();
      sink += codec.decodeStream(g.bytes.length, g.service, g.dir);
      inMem += Number(process.hrtime.bigint() - c1);
      copy += Number(c1 - c0);
    }
    if (r === 0) continue; // warm-up round
    samples.dataview!.push(Number(t1 - t0));
    samples.wasmStream!.push(Number(t2 - t1));
    samples.wasmChunked!.push(Number(t3 - t2));
    samples.wasmStreamInMemory!.push(inMem);
    samples.copyIn!.push(copy);
  }
  // reference: the object API over the same capture (allocates a frame copy and an object per frame)
  let api = 0;
  for (const g of segs) {
    const opts = { service: (['', 'cmap', 'quorum', 'votequorum'] as const)[g.service] as 'cmap', dir: (['req', 'res', 'evt'] as const)[g.dir]! };
    const t0 = process.hrtime.bigint();
    sink += decodeAll(g.bytes, opts).length;
    api += Number(process.hrtime.bigint() - t0);
  }
  const ms = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v) / 1e6]));
  return { bulk: true, bytes, frames, segments: segs.map((g) => g.label), rounds, ms: { ...ms, decodeAllOnce: api / 1e6 } };
}

const [mode, arg] = process.argv.slice(2);
if (mode === 'case') {
  const make = CASES[arg!];
  if (!make) throw new Error(`unknown case ${arg}; cases: ${Object.keys(CASES).join(', ')}`);
  process.stdout.write(JSON.stringify(runCase(make())) + '\n');
} else if (mode === 'bulk') {
  process.stdout.write(JSON.stringify(runBulk(Number(arg ?? 100e6))) + '\n');
} else if (mode === 'list') {
  process.stdout.write(JSON.stringify(Object.keys(CASES)) + '\n');
} else {
  throw new Error('usage: bench.ts case <name> | bulk [bytes] | list');
}
if (sink === 0.5) process.stdout.write(''); // keeps the sink observable
