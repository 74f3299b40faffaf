// The capture writer: what it writes reads back line for line (plain and gzip, one gzip member
// per flush), it refuses symlinks and non-regular files, and a process that exits flushes.
import { execFileSync } from 'node:child_process';
import { chownSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import { run } from '@corosync-ts/nstest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionCapture } from '../src/capture.js';
import { CaptureWriter } from '../src/capture-writer.js';
import { connect, createServer, type IpcServerConnection } from '../src/index.js';
import { native } from '../src/native.js';
import { header, reqFrame, resFrame, uniqueName, until } from './helpers.js';

const SRC = resolve(__dirname, '../src/capture-writer.ts');
const opts = { mode: 'client', name: 'test', version: '0.0.0' } as const;

function readLines(path: string): Record<string, unknown>[] {
  let raw = readFileSync(path);
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
  const text = raw.toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The end line of a capture, if it has one (only its last line may be one). */
function readEnd(path: string): Record<string, any> | undefined {
  const lines = readLines(path);
  expect(lines.slice(0, -1).filter((l) => l.end !== undefined)).toEqual([]);
  return lines.at(-1)!.end === undefined ? undefined : lines.at(-1);
}

/**
 * A capture's lines but its end line, which, where there is one, must count exactly the frame
 * lines before it and the frames their dropped lines count.
 */
function readCapture(path: string): Record<string, unknown>[] {
  const lines = readLines(path);
  const end = readEnd(path);
  if (!end) return lines;
  lines.pop();
  expect(end.frames).toBe(lines.filter((l) => l.hex !== undefined).length);
  expect(end.dropped).toBe(lines.reduce((n, l) => n + (l.state === 'dropped' ? (l.lines as number) : 0), 0));
  return lines;
}

/** What a child's onError got (recordInChild). */
interface ChildError {
  name: string;
  code?: string;
  message: string;
}

/**
 * A script (dir/child.mts) that records into `path` from a child Node (tsx), and the runner of it:
 * the writer is opened as `w` (unless `onError` is false, every error it reports is pushed to
 * `errors` as a ChildError; otherwise it goes to stderr as a warning), `conn` is a new connection
 * and `frames` one-byte frames 0, 1, ... are recorded on it before `body` runs. The runner passes
 * `args` to the script, adds `env` to the child's and, with `limits`, runs it from a shell that
 * runs those first.
 */
function recordInChild(dir: string, path: string, body: string, o: { frames?: number; onError?: boolean } = {}) {
  const file = join(dir, 'child.mts');
  const onError = o.onError === false ? '' : ', onError: (e) => errors.push({ name: e.name, code: e.code, message: e.message })';
  writeFileSync(
    file,
    `import { CaptureWriter } from ${JSON.stringify(SRC)};
    const errors = [];
    const w = CaptureWriter.open(${JSON.stringify(path)}, { mode: 'client', name: 'child', version: '1'${onError} });
    const conn = w.newConnection();
    for (let i = 0; i < ${o.frames ?? 0}; i++) w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: Uint8Array.of(i) });
    ${body}`,
  );
  return (r: { args?: string[]; env?: NodeJS.ProcessEnv; limits?: string } = {}) => {
    const argv = [process.execPath, '--import', 'tsx', file, ...(r.args ?? [])];
    return run(r.limits ? ['sh', '-c', `${r.limits}; exec "$@"`, 'sh', ...argv] : argv, { timeout: 30_000, env: r.env });
  };
}

/** Gzip members in a file (a header's magic and method byte; a rough count, enough here). */
function gzipMembers(buf: Buffer): number {
  let n = 0;
  for (let i = 0; i + 1 < buf.length; i++) if (buf[i] === 0x1f && buf[i + 1] === 0x8b && buf[i + 2] === 8) n++;
  return n;
}

describe('CaptureWriter', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cts-capture-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a header and frames and states that read back exactly, in a 0600 file', () => {
    const path = join(dir, 'c.jsonl');
    const w = CaptureWriter.open(path, { ...opts, corosync: '3.1.7', host: 'node1' });
    const conn = w.newConnection();
    expect(conn).toBe(1);
    expect(w.newConnection()).toBe(2);
    const req = new Uint8Array([0, 0, 0, 0, 24, 0, 0, 0, 0xff, 0x10]);
    // A subarray: only its own bytes may be recorded.
    const big = new Uint8Array(64).fill(0xab);
    w.state({ conn, service: 'cmap', transport: 'shm', state: 'open', pid: 42, proc: 'a "quoted"\nname' });
    w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: req, pid: 42, proc: 'node' });
    w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'res', bytes: big.subarray(8, 12) });
    w.state({ conn, service: 'cmap', transport: 'shm', state: 'closed', by: 'error', error: 'ECONNRESET: peer "went" away' });
    w.close();
    expect(w.closed).toBe(true);
    w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: req }); // ignored after close
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const lines = readCapture(path);
    expect(lines).toHaveLength(5);
    const [h, open, f1, f2, closed] = lines as [Record<string, any>, ...Record<string, any>[]];
    expect(h.corosyncCapture).toBe(1);
    expect(h.host).toBe('node1');
    expect(h.corosync).toBe('3.1.7');
    expect(h.recorder).toEqual({ mode: 'client', name: 'test', version: '0.0.0' });
    expect(h.start.unixNs).toMatch(/^[0-9]{19}$/);
    expect(Math.abs(Number(BigInt(h.start.unixNs) / 1000000n) - Date.parse(h.start.iso))).toBeLessThanOrEqual(1);
    expect(Math.abs(Date.parse(h.start.iso) - Date.now())).toBeLessThan(60_000);
    expect(open).toEqual({ t: open!.t, conn: 1, pid: 42, proc: 'a "quoted"\nname', service: 'cmap', transport: 'shm', state: 'open' });
    expect(f1).toEqual({ t: f1!.t, conn: 1, pid: 42, proc: 'node', service: 'cmap', transport: 'shm', dir: 'req', hex: '0000000018000000ff10' });
    expect(f2!.hex).toBe('abababab');
    expect(f2).not.toHaveProperty('pid');
    expect(closed).toMatchObject({ state: 'closed', by: 'error', error: 'ECONNRESET: peer "went" away' });
    const ts = [open!.t, f1!.t, f2!.t, closed!.t];
    for (const t of ts) expect(Number.isInteger(t) && t >= 0).toBe(true);
    expect([...ts].sort((a, b) => a - b)).toEqual(ts);
  });

  it('close() ends the file with the end line, once: until when it recorded, frames written and dropped, by close', () => {
    for (const name of ['c.jsonl', 'c.jsonl.gz', 'empty.jsonl']) {
      const path = join(dir, name);
      const w = CaptureWriter.open(path, opts);
      const conn = w.newConnection();
      const n = name.startsWith('empty') ? 0 : 3;
      for (let i = 0; i < n; i++) w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: Uint8Array.of(i) });
      w.state({ conn, service: 'cmap', transport: 'shm', state: 'closed', by: 'client' });
      const before = Date.now();
      w.close();
      w.close();
      w.state({ conn, service: 'cmap', transport: 'shm', state: 'open' });
      const lines = readLines(path);
      const [h, end] = [lines[0] as Record<string, any>, lines.at(-1) as Record<string, any>];
      expect(lines).toHaveLength(n + 3);
      expect(end).toEqual({ end: { unixNs: expect.stringMatching(/^[0-9]{19}$/), iso: expect.any(String) }, t: end.t, frames: n, dropped: 0, by: 'close' });
      // the end's wall clock is the start's plus t, and t is after every other line's
      expect(BigInt(end.end.unixNs) - BigInt(h.start.unixNs)).toBe(BigInt(end.t));
      expect(Math.abs(Number(BigInt(end.end.unixNs) / 1000000n) - Date.parse(end.end.iso))).toBeLessThanOrEqual(1);
      expect(Math.abs(Date.parse(end.end.iso) - before)).toBeLessThan(60_000);
      for (const l of lines.slice(1, -1)) expect(end.t).toBeGreaterThanOrEqual(l.t as number);
    }
  });

  it('gzip: one member per flush, all members read back in order', async () => {
    const path = join(dir, 'c.jsonl.gz');
    const w = CaptureWriter.open(path, opts);
    const conn = w.newConnection();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) w.frame({ conn, service: 'quorum', transport: 'socket', dir: 'evt', bytes: new Uint8Array([round, i]) });
      w.flush();
    }
    // Enough to pass 256 KiB of buffered text: flushed without being asked.
    const frame = new Uint8Array(4096).fill(7);
    for (let i = 0; i < 80; i++) w.frame({ conn, service: 'quorum', transport: 'socket', dir: 'evt', bytes: frame });
    expect(readFileSync(path)[0]).toBe(0x1f);
    // header + 3 rounds + the 256 KiB one, which the writer thread writes on its own
    await expect.poll(() => gzipMembers(readFileSync(path)), { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(5);
    w.close();
    // gzip(1) reads it too (every member, each one's CRC and size checked)
    execFileSync('gzip', ['-t', path]);
    const lines = readCapture(path);
    expect(lines).toHaveLength(1 + 30 + 80);
    expect(lines.slice(1, 31).map((l) => l.hex)).toEqual(
      Array.from({ length: 30 }, (_, k) => Buffer.from([Math.floor(k / 10), k % 10]).toString('hex')),
    );
    expect(lines[110]!.hex).toBe(Buffer.from(frame).toString('hex'));
  });

  it('copies a frame when it is recorded (the caller may reuse its buffer); big frames and state lines keep their order', () => {
    const path = join(dir, 'c.jsonl');
    const w = CaptureWriter.open(path, opts);
    const conn = w.newConnection();
    const buf = new Uint8Array(200 * 1024); // bigger than the writer's batch buffer
    const want: unknown[] = [];
    for (let i = 0; i < 6; i++) {
      const len = i % 2 ? buf.length : 3 + i;
      buf.fill(i, 0, len);
      w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: buf.subarray(0, len), t: i });
      want.push(Buffer.alloc(len, i).toString('hex'));
      buf.fill(0xee); // reused by the caller before any flush
      if (i === 2) {
        w.state({ conn, service: 'cmap', transport: 'shm', state: 'open' });
        want.push('open');
      }
    }
    w.close();
    const lines = readCapture(path).slice(1);
    expect(lines.map((l) => l.hex ?? l.state)).toEqual(want);
    expect(lines.filter((l) => l.hex !== undefined).map((l) => l.t)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('hex: every byte value, at every length and alignment, in all three kinds of frame line', () => {
    const path = join(dir, 'c.jsonl');
    const w = CaptureWriter.open(path, { ...opts, ringBytes: 64 * 1024 });
    const c = new ConnectionCapture(w, 'cmap', 'shm', process.pid);
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const frames: Uint8Array[] = [all, all.subarray(1), all.subarray(3, 254)];
    // every length up to 40: the SSE2 hex goes 16 bytes at a time, the table does the rest
    for (let len = 0; len <= 40; len++) frames.push(Uint8Array.from({ length: len }, (_, i) => (i * 37 + len * 11) & 255));
    // bigger than a quarter of the ring: its bytes reach the writer thread by message
    frames.push(Uint8Array.from({ length: 20 * 1024 + 3 }, (_, i) => (i * 7) & 255));
    for (const f of frames) {
      c.frame('evt', f); // a registered line middle
      w.frame({ conn: c.conn, service: 'cmap', transport: 'shm', dir: 'evt', bytes: f }); // its own middle
    }
    w.close();
    const hex = readCapture(path).slice(1).map((l) => l.hex);
    expect(hex).toEqual(frames.flatMap((f) => [Buffer.from(f).toString('hex'), Buffer.from(f).toString('hex')]));
  });

  it('a backlog goes out in pieces of about 1 MiB of lines, every line whole and in order (gzip: one member each)', () => {
    const path = join(dir, 'c.jsonl.gz');
    // A burst the writer thread cannot have seen before it started (started at the first wake-up).
    const w = CaptureWriter.open(path, { ...opts, ringBytes: 8 * 1024 * 1024 });
    const c = new ConnectionCapture(w, 'cmap', 'shm', process.pid);
    const frame = new Uint8Array(1000);
    const N = 3000;
    for (let i = 0; i < N; i++) {
      new DataView(frame.buffer).setUint32(0, i, true);
      c.frame('req', frame);
    }
    w.close();
    const raw = readFileSync(path);
    const members: number[] = [];
    for (let off = 0; off < raw.length; ) {
      // a bare 10-byte gzip header, the deflate stream, then an 8-byte trailer
      const m = inflateRawSync(raw.subarray(off + 10), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      members.push(m.buffer.length);
      off += 10 + m.engine.bytesWritten + 8;
    }
    const lineBytes = members.slice(1).reduce((a, b) => a + b, 0);
    // each piece: lines up to 1 MiB, then the line that passed it (2,000 hex digits here)
    for (const n of members.slice(1)) expect(n).toBeLessThan(1024 * 1024 + 4096);
    expect(members.length - 1).toBeGreaterThanOrEqual(Math.floor(lineBytes / (1024 * 1024 + 4096)));
    const lines = readCapture(path).slice(1);
    expect(lines.map((l) => Buffer.from(l.hex as string, 'hex').readUInt32LE(0))).toEqual(Array.from({ length: N }, (_, i) => i));
  });

  it("the writer thread maps the ring's pages in ahead of the recorded thread: its frames then take (almost) no page faults", () => {
    // Minor faults of the calling thread (field 10 of /proc/thread-self/stat, after the name).
    const faults = () => Number(readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ')[7]);
    // 448 KiB of the ring's first pass, none of it touched by the recorded thread yet: 112 pages.
    const N = 448;
    // The count is the thread's, not the ring's: a scavenge of V8's young generation on this
    // thread faults its fresh pages in too (CI once counted 208, more than the ring's 112 pages
    // could give). Noise only adds faults, and without the mapping ahead every attempt takes at
    // least the ring's 112: the fewest of a few attempts, each on a fresh ring, is the ring's.
    const attempts: number[] = [];
    for (let a = 0; a < 5 && !(attempts.length > 0 && Math.min(...attempts) < N / 4 / 4); a++) {
      const path = join(dir, `c${a}.jsonl`);
      const w = CaptureWriter.open(path, { ...opts, ringBytes: 8 * 1024 * 1024 });
      const c = new ConnectionCapture(w, 'cmap', 'shm', process.pid);
      // 1 KiB a frame in the ring (24 bytes of entry header)
      const frame = new Uint8Array(1000);
      // The thread maps in as far ahead as the recorded thread has come (up to 1 MiB): 512 KiB
      // written, then a flush. It maps the pages in after writing the lines; the second flush's
      // lines are written only after that (one thread, in turn).
      for (let i = 0; i < 512; i++) c.frame('req', frame);
      w.flush();
      w.flush();
      const before = faults();
      for (let i = 0; i < N; i++) c.frame('req', frame);
      attempts.push(faults() - before);
      w.close();
      expect(readCapture(path).length).toBe(1 + 512 + N);
    }
    expect(Math.min(...attempts), `faults per attempt: ${attempts.join(', ')}`).toBeLessThan(N / 4 / 4);
  });

  it('records flow-control changes of a connection as state lines with their level', () => {
    const path = join(dir, 'c.jsonl');
    const w = CaptureWriter.open(path, opts);
    const c = new ConnectionCapture(w, 'cpg', 'shm', process.pid);
    c.frame('req', Uint8Array.of(1));
    c.flow(2);
    c.flow(0);
    c.closed('client');
    c.flow(1); // after the close: ignored
    w.close();
    const lines = readCapture(path).slice(1);
    expect(lines.map((l) => l.state ?? l.dir)).toEqual(['req', 'flow', 'flow', 'closed']);
    expect(lines[1]).toMatchObject({ conn: 1, service: 'cpg', transport: 'shm', pid: process.pid, state: 'flow', level: 2 });
    expect(lines[2]).toMatchObject({ state: 'flow', level: 0 });
  });

  it('a connection records a flow-control level once, when it changes', () => {
    const path = join(dir, 'c.jsonl');
    const w = CaptureWriter.open(path, opts);
    const c = new ConnectionCapture(w, 'cmap', 'socket', process.pid);
    for (const level of [0, 1, 1, 2, 2, 0, 0]) c.flow(level);
    w.close();
    expect(readCapture(path).slice(1).map((l) => l.level)).toEqual([1, 2, 0]);
  });

  it('overload: frames the writer thread has no room for are counted in a dropped line per connection, never lost silently', () => {
    const path = join(dir, 'c.jsonl');
    // A 64 KiB ring filled in one synchronous burst of 4 MiB: far more than any writer thread
    // drains in the time (it is not even running before the first hand-over).
    const w = CaptureWriter.open(path, { ...opts, ringBytes: 64 * 1024 });
    const a = new ConnectionCapture(w, 'cmap', 'shm', process.pid);
    const b = new ConnectionCapture(w, 'cpg', 'shm', process.pid);
    const frame = new Uint8Array(1024);
    const N = 2048;
    for (let i = 0; i < N; i++) {
      new DataView(frame.buffer).setUint32(0, i, true);
      (i % 2 ? b : a).frame('req', frame);
    }
    // once the writer made room, recording goes on: one more frame each
    w.flush();
    for (const [i, c] of [[N, a], [N + 1, b]] as const) {
      new DataView(frame.buffer).setUint32(0, i, true);
      c.frame('req', frame);
    }
    a.closed('client');
    b.closed('client');
    w.close();
    const lines = readCapture(path).slice(1);
    let dropped = 0;
    for (const [c, svc] of [[1, 'cmap'], [2, 'cpg']] as const) {
      const mine = lines.filter((l) => l.conn === c);
      const kept = mine.filter((l) => l.hex !== undefined).map((l) => Buffer.from(l.hex as string, 'hex').readUInt32LE(0));
      const lost = mine.filter((l) => l.state === 'dropped');
      for (const l of lost) expect(l).toMatchObject({ service: svc, transport: 'shm', pid: process.pid, lines: expect.any(Number) });
      const n = lost.reduce((s, l) => s + (l.lines as number), 0);
      // every frame is either there, in order, or counted
      expect(kept.pop()).toBe(N + c - 1);
      expect(kept.length + n).toBe(N / 2);
      expect([...kept].sort((x, y) => x - y)).toEqual(kept);
      expect(mine.at(-1)).toMatchObject({ state: 'closed' });
      dropped += n;
    }
    expect(dropped).toBeGreaterThan(0);
    expect(readEnd(path)).toMatchObject({ dropped, frames: N + 2 - dropped, by: 'close' });
  });

  it('overload, then quiet: the dropped line comes once there is room, without waiting for the connection\'s next line', async () => {
    // A program that stops sending after a burst (a libcpg program whose deliveries flooded the
    // ring, now waiting): a reader tailing the file must learn of the loss while the writer is open.
    const path = join(dir, 'c.jsonl');
    const w = CaptureWriter.open(path, { ...opts, ringBytes: 64 * 1024 });
    const a = new ConnectionCapture(w, 'cpg', 'shm', process.pid);
    const frame = new Uint8Array(1024);
    for (let i = 0; i < 1024; i++) a.frame('evt', frame);
    let lost = 0;
    try {
      await until(() => {
        const text = readFileSync(path, 'utf8');
        const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((l) => l !== '');
        lost = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.state === 'dropped').reduce((m, l) => m + (l.lines as number), 0);
        return lost > 0 && lost + lines.filter((l) => l.includes('"hex":')).length === 1024;
      });
    } finally {
      w.close();
    }
    expect(readEnd(path)).toMatchObject({ by: 'close', dropped: lost, frames: 1024 - lost });
  });

  it('a small ring wrapped round many times while the writer thread drains it: every frame, in order, nothing dropped', () => {
    const path = join(dir, 'c.jsonl');
    // Bursts of about half the ring, each written out before the next: the recorded thread
    // finds room by the writer thread's tail as it last read it, and reads it again only when
    // a frame does not fit (after each flush, and at every wrap).
    const ring = 16 * 1024;
    const w = CaptureWriter.open(path, { ...opts, ringBytes: ring });
    const c = new ConnectionCapture(w, 'cmap', 'shm', process.pid);
    const want: string[] = [];
    let n = 0;
    for (let burst = 0; burst < 200; burst++) {
      for (let used = 0; used < ring / 2; n++) {
        const f = Uint8Array.from({ length: 4 + ((n * 97) % 700) }, (_, i) => (n + i * 31) & 255);
        new DataView(f.buffer).setUint32(0, n, true);
        c.frame(n % 3 ? 'res' : 'req', f);
        want.push(Buffer.from(f).toString('hex'));
        used += 24 + f.length + 8;
      }
      w.flush();
    }
    w.close();
    const lines = readCapture(path).slice(1);
    expect(lines.filter((l) => l.state === 'dropped')).toEqual([]);
    expect(lines.map((l) => l.hex)).toEqual(want);
    expect(lines.map((l) => l.dir)).toEqual(want.map((_, i) => (i % 3 ? 'res' : 'req')));
    // the bursts went round the ring many times
    expect(want.reduce((s, h) => s + 24 + h.length / 2, 0)).toBeGreaterThan(50 * ring);
  });

  it("a connection's frames that end exactly at the ring's end: the next goes on at 0, every frame in order", () => {
    const path = join(dir, 'c.jsonl');
    const ring = 8192;
    const w = CaptureWriter.open(path, { ...opts, ringBytes: ring });
    const c = new ConnectionCapture(w, 'cmap', 'shm', process.pid);
    // Where the recorded thread writes next (private: which entry ends at the ring's end is its layout's).
    const head = () => (w as unknown as { head: number }).head;
    const want: string[] = [];
    let exact = 0;
    for (let n = 0; n < 300; n++) {
      const at = head();
      // a frame whose entry (24 bytes of header, then the frame) ends at the ring's last byte when
      // that is at most a quarter of the ring away (a bigger one goes to the writer thread by message)
      const left = ring - at;
      const len = left >= 32 && left <= ring / 4 ? left - 24 : 600 + (n % 5) * 8;
      const f = Uint8Array.from({ length: len }, (_, i) => (n * 7 + i) & 255);
      c.frame(n % 2 ? 'res' : 'req', f);
      want.push(Buffer.from(f).toString('hex'));
      if (len === left - 24 && head() === 0) exact++;
      if (n % 3 === 2) w.flush();
    }
    w.close();
    expect(exact).toBeGreaterThan(5);
    const lines = readCapture(path).slice(1);
    expect(lines.filter((l) => l.state === 'dropped')).toEqual([]);
    expect(lines.map((l) => l.hex)).toEqual(want);
  });

  it('a frame larger than the ring is recorded whole, in order', () => {
    const path = join(dir, 'c.jsonl.gz');
    const w = CaptureWriter.open(path, { ...opts, ringBytes: 64 * 1024 });
    const c = new ConnectionCapture(w, 'cpg', 'shm', process.pid);
    const big = new Uint8Array(300 * 1024).fill(0x5a);
    c.frame('req', Uint8Array.of(1));
    c.frame('req', big);
    w.frame({ conn: c.conn, service: 'cpg', transport: 'shm', dir: 'evt', bytes: big.subarray(0, 100 * 1024) });
    c.frame('req', Uint8Array.of(2));
    w.close();
    const lines = readCapture(path).slice(1);
    expect(lines.map((l) => (l.hex as string).length / 2)).toEqual([1, 300 * 1024, 100 * 1024, 1]);
    expect(lines[1]!.hex).toBe(Buffer.from(big).toString('hex'));
  });

  it('close() ends the writer thread, which closes the file (the thread sleeps until it is told)', async () => {
    const path = join(dir, 'c.jsonl');
    const open = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === path;
        } catch {
          return false; // the fd readdir itself used, gone by now
        }
      }).length;
    const w = CaptureWriter.open(path, opts);
    w.frame({ conn: w.newConnection(), service: 'cmap', transport: 'socket', dir: 'req', bytes: new Uint8Array([1]) });
    w.flush(); // the writer thread runs, and has the fd
    expect(open()).toBe(1);
    w.close();
    await expect.poll(open, { timeout: 5000, interval: 10 }).toBe(0);
    expect(readCapture(path)).toHaveLength(2);
  });

  it('flushes buffered lines within about 100 ms without being asked', async () => {
    const path = join(dir, 'c.jsonl');
    const w = CaptureWriter.open(path, opts);
    w.frame({ conn: w.newConnection(), service: 'cmap', transport: 'socket', dir: 'req', bytes: new Uint8Array([1]) });
    expect(readCapture(path)).toHaveLength(1); // only the header so far
    await expect.poll(() => readCapture(path).length, { timeout: 5000, interval: 20 }).toBe(2);
    w.close();
  });

  it('refuses a symlink, a directory, a FIFO and a device, and leaves their targets alone', () => {
    const target = join(dir, 'precious');
    writeFileSync(target, 'keep me');
    const link = join(dir, 'link.jsonl');
    symlinkSync(target, link);
    expect(() => CaptureWriter.open(link, opts)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    expect(() => CaptureWriter.open(sub, opts)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // No reader: the open must fail at once, not block.
    expect(() => CaptureWriter.open(fifo, opts)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
    expect(() => CaptureWriter.open('/dev/null', opts)).toThrow(/not a regular file/);
  });

  it('refuses an existing file another user owns (it would get the cluster data), and leaves it alone', (ctx) => {
    if (process.geteuid?.() !== 0) return ctx.skip(); // chown needs root
    const theirs = join(dir, 'theirs.jsonl');
    writeFileSync(theirs, 'keep me', { mode: 0o644 });
    chownSync(theirs, 65534, 65534);
    expect(() => CaptureWriter.open(theirs, opts)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    expect(readFileSync(theirs, 'utf8')).toBe('keep me');
    expect(statSync(theirs).mode & 0o777).toBe(0o644);
  });

  it('refuses an existing file with other hard links (it would be written through them), and leaves it alone', () => {
    const target = join(dir, 'linked-target');
    writeFileSync(target, 'keep me');
    const linked = join(dir, 'linked.jsonl');
    linkSync(target, linked);
    expect(() => CaptureWriter.open(linked, opts)).toThrow(expect.objectContaining({ code: 'EMLINK' }));
    expect(readFileSync(target, 'utf8')).toBe('keep me');
  });

  it('truncates an existing regular file and makes it 0600', () => {
    const path = join(dir, 'old.jsonl');
    writeFileSync(path, 'x'.repeat(10000), { mode: 0o644 });
    CaptureWriter.open(path, opts).close();
    expect(readCapture(path)).toHaveLength(1);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('stops recording and reports once when writing fails (a file size limit), without throwing at the caller', async () => {
    // The writes fail as on a full disk: EFBIG past a 1 KiB file size limit (SIGXFSZ ignored).
    const path = join(dir, 'c.jsonl');
    const child = recordInChild(
      dir,
      path,
      `const big = new Uint8Array(2048);
      w.frame({ conn, service: 'cmap', transport: 'socket', dir: 'req', bytes: big });
      let threw = false;
      try { w.flush(); } catch { threw = true; }
      const closedAfterFailure = w.closed;
      w.frame({ conn, service: 'cmap', transport: 'socket', dir: 'req', bytes: big });
      w.flush();
      w.close();
      console.log(JSON.stringify({ errors, threw, closedAfterFailure }));`,
    );
    const r = await child({ limits: "trap '' XFSZ; ulimit -f 2" });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\{/);
    const out = JSON.parse(r.stdout) as { errors: ChildError[]; threw: boolean; closedAfterFailure: boolean };
    expect(out.threw).toBe(false);
    expect(out.closedAfterFailure).toBe(true);
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]!.message).toMatch(/EFBIG|too large/i);
    expect(JSON.parse(readFileSync(path, "utf8").split("\n")[0]!)).toMatchObject({ corosyncCapture: 1 });
    // The failure closed the file: close() adds no end line after it.
    expect(readFileSync(path, 'utf8')).not.toMatch(/"end":/);
  });

  for (const gz of [false, true]) {
    it(`a process that exits flushes what it buffered (${gz ? 'gzip' : 'plain'}); a SIGKILL loses only unflushed lines`, async () => {
      const path = join(dir, gz ? 'exit.jsonl.gz' : 'exit.jsonl');
      // Without onError: anything reported goes to stderr, which must stay empty.
      const child = recordInChild(
        dir,
        path,
        `if (process.argv[2] === 'kill') { w.flush(); w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: Uint8Array.of(9) }); process.kill(process.pid, 'SIGKILL'); }
        process.exit(3);`,
        { frames: 5, onError: false },
      );
      const r = await child();
      expect(r.stderr).toBe('');
      expect(r.code).toBe(3);
      expect(readCapture(path).map((l) => l.hex ?? 'header')).toEqual(['header', '00', '01', '02', '03', '04']);
      expect(readEnd(path)).toMatchObject({ frames: 5, dropped: 0, by: 'exit' });

      const k = await child({ args: ['kill'] });
      expect(k.signal).toBe('SIGKILL');
      expect(readCapture(path).map((l) => l.hex ?? 'header')).toEqual(['header', '00', '01', '02', '03', '04']);
      // Killed: no end line tells the reader the recording was cut off.
      expect(readEnd(path)).toBeUndefined();
    });
  }
  it('without the addon in its thread, the writer stops and reports why once, and the recorded program runs on', async () => {
    const path = join(dir, 'noaddon.jsonl');
    const child = recordInChild(
      dir,
      path,
      `w.flush();
      w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: Uint8Array.of(9) });
      w.close();
      console.log(JSON.stringify({ errors, closed: w.closed }));`,
      { frames: 5 },
    );
    const missing = join(dir, 'no-such-addon.node');
    const r = await child({ env: { COROSYNC_TS_IPC_ADDON: missing } });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { errors: ChildError[]; closed: boolean };
    expect(out.closed).toBe(true);
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]!.message).toContain('could not load the native addon');
    expect(out.errors[0]!.message).toContain(missing);
    // the header went out before the thread existed; no line after it
    expect(readCapture(path)).toHaveLength(1);
  });
  // A flush blocks its thread in Atomics.wait, where no 'exit' or 'error' event of the Worker can
  // come: a writer thread that ended early must say so through the shared words itself, or
  // close() waits out its 10 s for lines that never come.
  it('a writer thread that ends before it writes anything fails the flush at once with an IpcError (EPIPE), and the recorded program runs on', async () => {
    const path = join(dir, 'dead.jsonl');
    // What the thread loads as the addon ends the thread: it dies before its first wake-up is served.
    const killer = join(dir, 'exit-thread.js');
    writeFileSync(killer, 'process.exit(7);\n');
    const child = recordInChild(
      dir,
      path,
      `w.close();
      w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: Uint8Array.of(9) });
      console.log(JSON.stringify({ errors, closed: w.closed }));`,
      { frames: 5 },
    );
    const r = await child({ env: { COROSYNC_TS_IPC_ADDON: killer } });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { errors: ChildError[]; closed: boolean };
    expect(out.closed).toBe(true);
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]).toMatchObject({ name: 'IpcError', code: 'EPIPE' });
    expect(out.errors[0]!.message).toContain('exit code 7');
    expect(readCapture(path)).toHaveLength(1);
  });

  // A thread that ends before its first statement (a failed start, a preload that throws) sets
  // none of the shared words, and a flush blocked in Atomics.wait gets no Worker event: it waited
  // out its 10 s. The thread's absence from /proc/self/task ends the wait instead.
  describe('a writer thread that does not start', () => {
    const workerThreads = process.getBuiltinModule('node:worker_threads');
    const RealWorker = workerThreads.Worker;
    afterEach(() => {
      workerThreads.Worker = RealWorker;
    });
    const record = (path: string) => {
      const errors: Error[] = [];
      const w = CaptureWriter.open(path, { ...opts, onError: (e) => errors.push(e) });
      const conn = w.newConnection();
      for (let i = 0; i < 3; i++) w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: Uint8Array.of(i) });
      return { w, conn, errors };
    };
    const expectStartFailure = (errors: Error[], why: RegExp) => {
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ name: 'IpcError', code: 'EPIPE' });
      expect(errors[0]!.message).toMatch(/the capture writer thread did not start/);
      expect(errors[0]!.message).toMatch(/what was recorded is not written/);
      expect(errors[0]!.message).toMatch(why);
    };

    for (const how of ['throws', 'exits'] as const) {
      it(`one that ${how} before its first statement fails the waiting flush with an IpcError (EPIPE), and later flushes at once`, () => {
        // The thread runs something else than the writer's source: what a preload that fails does.
        let started = 0;
        workerThreads.Worker = class extends RealWorker {
          constructor(_src: string, o: ConstructorParameters<typeof RealWorker>[1]) {
            super(how === 'throws' ? "throw new Error('no writer here')" : 'process.exit(9)', o);
            started++;
          }
        } as typeof RealWorker;
        const path = join(dir, `nostart-${how}.jsonl`);
        const { w, conn, errors } = record(path);
        w.flush();
        expect(started).toBe(1);
        expectStartFailure(errors, /did not start;/);
        expect(w.closed).toBe(true);
        w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: Uint8Array.of(9) });
        w.flush();
        w.close();
        expect(started).toBe(1);
        expect(errors).toHaveLength(1);
        expect(readCapture(path)).toHaveLength(1);
      });
    }

    it("one whose end the loop sees first (a timer's wake-up started it) reports it there, typed", async () => {
      workerThreads.Worker = class extends RealWorker {
        constructor(_src: string, o: ConstructorParameters<typeof RealWorker>[1]) {
          super('process.exit(9)', o);
        }
      } as typeof RealWorker;
      const path = join(dir, 'nostart-loop.jsonl');
      const { w, errors } = record(path);
      await until(() => errors.length > 0);
      expectStartFailure(errors, /did not start;/);
      expect(w.closed).toBe(true);
      w.flush();
      expect(errors).toHaveLength(1);
    });

    it('one that cannot be made: the flush reports it and returns, nothing is thrown at the recorder', () => {
      workerThreads.Worker = class {
        constructor() {
          throw Object.assign(new Error('Worker initialization failure: EAGAIN'), { code: 'ERR_WORKER_INIT_FAILED' });
        }
      } as unknown as typeof RealWorker;
      const path = join(dir, 'nospawn.jsonl');
      const { w, conn, errors } = record(path);
      w.flush();
      expectStartFailure(errors, /: Worker initialization failure: EAGAIN;/);
      expect((errors[0] as Error & { cause?: { code?: string } }).cause?.code).toBe('ERR_WORKER_INIT_FAILED');
      // A frame too big for the ring would start the thread at once: nothing throws either.
      w.frame({ conn, service: 'cmap', transport: 'shm', dir: 'req', bytes: new Uint8Array(1 << 22) });
      w.close();
      expect(errors).toHaveLength(1);
      expect(readCapture(path)).toHaveLength(1);
    });

    it("the process's NODE_OPTIONS preloads do not run in the writer thread: one that throws there stops nothing", async () => {
      const path = join(dir, 'preload.jsonl');
      const preload = join(dir, 'preload.cjs');
      // Only in the writer thread (tsx runs a thread of its own): the one with a capture ring.
      writeFileSync(preload, "if (require('node:worker_threads').workerData?.ring) throw new Error('preload: not in the writer');\n");
      const child = recordInChild(dir, path, 'w.close();\nconsole.log(JSON.stringify({ errors }));', { frames: 3 });
      const r = await child({ env: { NODE_OPTIONS: `--require ${preload}` } });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ errors: [] });
      expect(readCapture(path).map((l) => l.hex ?? 'header')).toEqual(['header', '00', '01', '02']);
    });
  });
});

describe('captureLines and captureLine (the addon half of the writer thread)', () => {
  const n = native() as unknown as {
    captureLines(ring: Uint8Array, io: Int32Array, out: Uint8Array, prefixes: Uint8Array, prefixAt: Int32Array): number;
    captureLine(out: Uint8Array, o: number, t: number, mid: Uint8Array, bytes: Uint8Array): number;
  };
  const EINVAL = -22;
  const ENOSPC = -28;
  const entry = (ring: Uint8Array, at: number, kind: number, bytes: number, text: number, t = 0): void => {
    const dv = new DataView(ring.buffer, ring.byteOffset);
    dv.setInt32(at, kind, true);
    dv.setInt32(at + 4, bytes, true);
    dv.setInt32(at + 8, text, true);
    dv.setFloat64(at + 16, t, true);
  };
  const call = (ring: Uint8Array, io: number[], out = new Uint8Array(1024), pre = new Uint8Array(8), at = Int32Array.of(0, 4)) => {
    const v = Int32Array.from([...io, 0, 0, 0, 0, 0, 0].slice(0, 6));
    return { r: n.captureLines(ring, v, out, pre, at), io: v, out };
  };

  it('writes frame and text lines, rounding times as Math.round does, and stops where the caller must act', () => {
    const ring = new Uint8Array(new SharedArrayBuffer(256));
    entry(ring, 0, 0, 3, 0, 1234.5); // registered middle 0, 3 bytes
    ring.set([0x00, 0xab, 0xff], 24);
    entry(ring, 32, -2, 0, 4); // a whole line of text
    ring.set(Buffer.from('{}\n\n'), 56);
    entry(ring, 64, -3, 0, 2); // a registration: the caller's
    const { r, io, out } = call(ring, [0, 96, 0, 1 << 20, 1], undefined, Buffer.from('MIDx'), Int32Array.of(0, 3));
    expect(r).toBe(2);
    expect(io[0]).toBe(64);
    expect(Buffer.from(out.subarray(0, io[2])).toString()).toBe('{"t":1235MID00abff"}\n{}\n\n');
    const o = n.captureLine(out, 0, -2.5, Buffer.from(','), Uint8Array.of(1));
    expect(Buffer.from(out.subarray(0, o)).toString()).toBe('{"t":-2,01"}\n');
  });

  it('follows a wrap marker in the last 8 bytes of the ring (only its kind fits there)', () => {
    const ring = new Uint8Array(new SharedArrayBuffer(64));
    entry(ring, 0, -2, 0, 3);
    ring.set(Buffer.from('ok\n'), 24);
    new DataView(ring.buffer).setInt32(56, -5, true);
    const { r, io, out } = call(ring, [56, 32, 0, 1 << 20, 0]);
    expect(r).toBe(0);
    expect(io[0]).toBe(32);
    expect(Buffer.from(out.subarray(0, io[2])).toString()).toBe('ok\n');
  });

  it('asks for room instead of writing past the end of out, and stops at the limit', () => {
    const ring = new Uint8Array(new SharedArrayBuffer(256));
    entry(ring, 0, -1, 100, 2);
    entry(ring, 128, -1, 1, 2);
    const small = call(ring, [0, 136, 0, 1 << 20, 0], new Uint8Array(64));
    expect(small.r).toBe(3);
    expect(small.io[5]).toBeGreaterThanOrEqual(2 + 200);
    expect(small.io[2]).toBe(0);
    const limited = call(ring, [0, 136, 0, 1, 0]);
    expect(limited.r).toBe(1);
    expect(limited.io[0]).toBe(128);
    expect(n.captureLine(new Uint8Array(8), 0, 0, Uint8Array.of(), Uint8Array.of(1))).toBe(ENOSPC);
  });

  it('refuses an out-of-bounds position, entry, middle or offset with -EINVAL, reading nothing outside', () => {
    const ring = new Uint8Array(new SharedArrayBuffer(64));
    expect(call(ring, [64, 0, 0, 100, 0]).r).toBe(EINVAL); // position past the ring
    expect(call(ring, [4, 0, 0, 100, 0]).r).toBe(EINVAL); // unaligned
    expect(call(ring, [0, 8, 2000, 100, 0]).r).toBe(EINVAL); // out offset past out
    expect(call(ring, [0, 8, 0, 100, 5]).r).toBe(EINVAL); // more middles than pairs
    entry(ring, 0, -1, 1 << 30, 0); // bytes past the ring
    expect(call(ring, [0, 8, 0, 100, 0]).r).toBe(EINVAL);
    entry(ring, 0, -1, 0, -1); // negative text
    expect(call(ring, [0, 8, 0, 100, 0]).r).toBe(EINVAL);
    entry(ring, 0, 3, 0, 0); // an unregistered middle
    expect(call(ring, [0, 8, 0, 100, 1]).r).toBe(EINVAL);
    entry(ring, 0, 0, 0, 0); // a registered middle outside the prefixes
    expect(call(ring, [0, 8, 0, 100, 1], undefined, new Uint8Array(8), Int32Array.of(6, 4)).r).toBe(EINVAL);
    entry(ring, 0, -9, 0, 0); // no such kind
    expect(call(ring, [0, 8, 0, 100, 0]).r).toBe(EINVAL);
    expect(() => n.captureLines(ring, new Int32Array(6), new Uint8Array(4), new Uint8Array(4), new Uint8Array(4) as unknown as Int32Array)).toThrow(TypeError);
    expect(n.captureLine(new Uint8Array(8), 9, 0, Uint8Array.of(), Uint8Array.of())).toBe(EINVAL);
  });
});

for (const transport of ['socket', 'shm'] as const) {
  describe(`client and server hooks over ${transport}`, () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'cts-capture-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('both ends record the handshake, every request, response and event, and the close, identically', async () => {
      const sw = CaptureWriter.open(join(dir, 'server.jsonl'), { mode: 'mock', name: 'test', version: '0' });
      const cw = CaptureWriter.open(join(dir, 'client.jsonl.gz'), { mode: 'client', name: 'test', version: '0' });
      const name = uniqueName(transport);
      const server = createServer(name, { transport, capture: sw, captureService: 'cmap' });
      server.on('connection', (c) => {
        c.on('request', (f) => {
          c.respond(resFrame(header(f).id + 1000, f));
          if (header(f).id === 2) c.sendEvent(resFrame(77));
        });
      });
      await server.listen();
      const c = await connect(name, { capture: cw, captureService: 'cmap' });
      const events: Uint8Array[] = [];
      c.on('event', (e) => events.push(e));
      for (let i = 0; i < 3; i++) await c.request(reqFrame(i, 16 + i));
      await until(() => events.length === 1);
      await c.close();
      await until(() => server.connections.size === 0);
      await server.close();
      sw.close();
      cw.close();
      const summary = (lines: Record<string, any>[]) =>
        lines.slice(1).map((l) => (l.hex !== undefined ? `${l.dir}:${l.hex.length / 2}` : `${l.state}`));
      const client = readCapture(join(dir, 'client.jsonl.gz'));
      const srv = readCapture(join(dir, 'server.jsonl'));
      // Frame order between the two channels (a reply and an event) is each side's own.
      const expected = ['setup:24', 'setup:12328', 'open', 'req:16', 'res:40', 'req:17', 'res:41', 'req:18', 'res:42', 'evt:24', 'closed'];
      expect([...summary(client)].sort()).toEqual([...expected].sort());
      expect(summary(client).slice(0, 3)).toEqual(expected.slice(0, 3));
      expect(summary(client).at(-1)).toBe('closed');
      // The server also sees libqb's disconnect request (id -3) where the client sends one.
      expect(summary(srv).slice(0, 3)).toEqual(expected.slice(0, 3));
      expect(summary(srv).at(-1)).toBe('closed');
      for (const l of [...client.slice(1), ...srv.slice(1)]) {
        expect(l).toMatchObject({ conn: 1, service: 'cmap', transport, pid: process.pid });
        expect(typeof l.proc).toBe('string');
      }
      expect(client.at(-1)).toMatchObject({ state: 'closed', by: 'client' });
      const hexes = (lines: Record<string, any>[]) => lines.filter((l) => l.dir === 'req' || l.dir === 'res').map((l) => l.hex).slice(0, 6);
      expect(hexes(srv)).toEqual(hexes(client));
    });

    it('a request sent in two pieces (RequestOptions.body, sendNow) is recorded whole, as the server got it', async () => {
      const sw = CaptureWriter.open(join(dir, 'server.jsonl'), { mode: 'mock', name: 'test', version: '0' });
      const cw = CaptureWriter.open(join(dir, 'client.jsonl'), { mode: 'client', name: 'test', version: '0' });
      const name = uniqueName(transport);
      const server = createServer(name, { transport, capture: sw, captureService: 'cpg' });
      let got = 0;
      server.on('connection', (c) => {
        c.on('request', (f) => {
          got++;
          if (header(f).id !== 2) c.respond(resFrame(header(f).id + 1000));
        });
      });
      await server.listen();
      const c = await connect(name, { capture: cw, captureService: 'cpg' });
      const frames = [reqFrame(2, 70_000, 5), reqFrame(3, 300, 6)];
      for (const f of frames) for (let i = 16; i < f.length; i++) f[i] = (i * 5) & 0xff;
      expect(c.sendNow(frames[0]!.subarray(0, 40), 2, frames[0]!.subarray(40))).toBe(true);
      await c.request(frames[1]!.subarray(0, 24), { body: frames[1]!.subarray(24) });
      await until(() => got === 2);
      await c.close();
      await until(() => server.connections.size === 0);
      await server.close();
      sw.close();
      cw.close();
      const reqs = (lines: Record<string, any>[]) => lines.filter((l) => l.dir === 'req').map((l) => l.hex).slice(0, 2);
      const want = frames.map((f) => Buffer.from(f).toString('hex'));
      expect(reqs(readCapture(join(dir, 'client.jsonl')))).toEqual(want);
      expect(reqs(readCapture(join(dir, 'server.jsonl')))).toEqual(want);
    });

    it('the client records a handshake the server refused: both setup frames and the refusal, then no open', async () => {
      const cw = CaptureWriter.open(join(dir, 'client.jsonl'), { mode: 'client', name: 'test', version: '0' });
      const name = uniqueName(transport);
      const server = createServer(name, { transport, authorize: () => -13 });
      await server.listen();
      await expect(connect(name, { capture: cw, captureService: 'cmap' })).rejects.toMatchObject({ code: 'EACCES' });
      await server.close();
      cw.close();
      const lines = readCapture(join(dir, 'client.jsonl')).slice(1);
      expect(lines.map((l) => (l.hex !== undefined ? `${String(l.dir)}:${(l.hex as string).length / 2}` : l.state))).toEqual(['setup:24', 'setup:12328', 'closed']);
      // The setup response carries -EACCES (f3 ff ff ff) at offset 16.
      expect((lines[1]!.hex as string).slice(32, 40)).toBe('f3ffffff');
      expect(lines[2]).toMatchObject({ conn: 1, service: 'cmap', pid: process.pid, state: 'closed', by: 'server', error: expect.stringMatching(/refused the connection/) });
    });

    it("the server (the mock's recorder) records a handshake it refused: both setup frames and the refusal, then no open", async () => {
      const sw = CaptureWriter.open(join(dir, 'server.jsonl'), { mode: 'mock', name: 'test', version: '0' });
      const name = uniqueName(transport);
      let verdict = -13;
      const server = createServer(name, { transport, authorize: () => verdict, capture: sw, captureService: 'quorum' });
      await server.listen();
      await expect(connect(name)).rejects.toMatchObject({ code: 'EACCES' });
      verdict = 0;
      const c = await connect(name);
      await c.close();
      await until(() => server.connections.size === 0);
      await server.close();
      sw.close();
      const lines = readCapture(join(dir, 'server.jsonl')).slice(1);
      const first = lines.filter((l) => l.conn === 1);
      expect(first.map((l) => (l.hex !== undefined ? `${String(l.dir)}:${(l.hex as string).length / 2}` : l.state))).toEqual(['setup:24', 'setup:12328', 'closed']);
      expect((first[1]!.hex as string).slice(32, 40)).toBe('f3ffffff');
      // the server knows the transport it would have offered, and who asked (SO_PEERCRED)
      expect(first[2]).toMatchObject({ service: 'quorum', transport, pid: process.pid, state: 'closed', by: 'server', error: expect.stringMatching(/EACCES/) });
      expect(typeof first[2]!.proc).toBe('string');
      const second = lines.filter((l) => l.conn === 2).map((l) => l.state ?? l.dir);
      expect(second.slice(0, 3)).toEqual(['setup', 'setup', 'open']);
      expect(second.at(-1)).toBe('closed');
    });

    it('flow control is recorded by the server that sets it and by the client that meets it, with its level', async () => {
      const sw = CaptureWriter.open(join(dir, 'server.jsonl'), { mode: 'mock', name: 'test', version: '0' });
      const cw = CaptureWriter.open(join(dir, 'client.jsonl'), { mode: 'client', name: 'test', version: '0' });
      const name = uniqueName(transport);
      const server = createServer(name, { transport, capture: sw, captureService: 'cpg' });
      let sc: IpcServerConnection | undefined;
      server.on('connection', (c) => {
        sc = c;
        c.on('request', (f) => c.respond(resFrame(header(f).id, f)));
      });
      await server.listen();
      const c = await connect(name, { capture: cw, captureService: 'cpg' });
      await until(() => sc !== undefined);
      await c.request(reqFrame(1, 16));
      sc!.setFlowControl(1);
      sc!.setFlowControl(1); // no change: no line
      await expect(c.request(reqFrame(2, 16))).rejects.toMatchObject({ code: 'EAGAIN' });
      sc!.setFlowControl(2); // stops only cpg-style sends: a request goes
      await c.request(reqFrame(3, 16));
      sc!.setFlowControl(0);
      await c.request(reqFrame(4, 16));
      await c.close();
      await until(() => server.connections.size === 0);
      await server.close();
      sw.close();
      cw.close();
      const seq = (path: string) => readCapture(path).slice(1).filter((l) => l.dir !== 'setup').map((l) => (l.state === 'flow' ? `flow${String(l.level)}` : (l.state ?? l.dir)));
      const srv = seq(join(dir, 'server.jsonl'));
      expect(srv.slice(0, 10)).toEqual(['open', 'req', 'res', 'flow1', 'flow2', 'req', 'res', 'flow0', 'req', 'res']);
      expect(srv.at(-1)).toBe('closed'); // after libqb's disconnect request, where the client sends one
      // the client learns the level when it sends (as a libqb client does): the refused send
      // is not a frame, the mark before it says why
      expect(seq(join(dir, 'client.jsonl'))).toEqual(['open', 'req', 'res', 'flow1', 'flow2', 'req', 'res', 'flow0', 'req', 'res', 'closed']);
      for (const l of readCapture(join(dir, 'client.jsonl')).filter((x) => x.state === 'flow')) expect(l).toMatchObject({ conn: 1, service: 'cpg', transport, pid: process.pid });
    });
  });
}

describe('captureGzip (the writer thread\'s gzip members)', () => {
  const n = native() as unknown as {
    captureGzip(src: Uint8Array, len: number, out: Uint8Array): number;
    captureGzipBound(len: number): number;
  };
  const EINVAL = -22;
  const ENOSPC = -28;
  const gz = (src: Buffer): Buffer => {
    const out = Buffer.alloc(n.captureGzipBound(src.length));
    const len = n.captureGzip(src, src.length, out);
    expect(len).toBeGreaterThan(0);
    return out.subarray(0, len);
  };
  // Lines as a recorded cmap get makes them: the same middles, frames differing in a few bytes.
  const lines = (count: number): Buffer => {
    let s = '';
    for (let i = 0; i < count; i++) {
      const hex = Buffer.alloc(288, 0);
      hex.writeUInt32LE(Math.imul(i, 0x9e3779b1) >>> 0, 16);
      s += `{"t":${1_000_000 + i * 3517},"conn":1,"pid":4242,"service":"cmap","transport":"shm","dir":"req","hex":"${hex.toString('hex')}"}\n`;
    }
    return Buffer.from(s);
  };

  it('inflates back to its input, for every kind of input: empty, short, incompressible, every byte value, runs, repeated lines', () => {
    const inputs: Buffer[] = [Buffer.alloc(0), Buffer.from('a'), Buffer.from('abc'), Buffer.from('abcd'), Buffer.from('abcdabcdabcd')];
    for (const len of [5, 12, 13, 258, 259, 262, 517, 70_000]) inputs.push(randomBytes(len), Buffer.alloc(len, 0x30), Buffer.alloc(len, 0xff));
    inputs.push(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 255)));
    inputs.push(lines(3000));
    // Repeats whose distance is exactly the window's 32 KiB, and just past it.
    const block = randomBytes(600);
    inputs.push(Buffer.concat([block, randomBytes(32768 - 600), block]), Buffer.concat([block, randomBytes(32769 - 600), block]));
    // Short random repeats at every distance up to 40.
    const fuzz = Buffer.alloc(50_000);
    for (let i = 0; i < fuzz.length; i++) fuzz[i] = i > 40 && (i * 2654435761) % 10 !== 0 ? fuzz[i - 1 - ((i * 40503) % 40)]! : 97 + (i % 5);
    inputs.push(fuzz);
    // Many blocks of symbols: skewed counts (deep Huffman trees), and one byte value almost alone.
    inputs.push(Buffer.from(Array.from({ length: 200_000 }, (_, i) => Math.min(255, Math.floor(Math.log2(1 + ((Math.imul(i, 0x9e3779b1) >>> 0) % 65536)) ** 2)))));
    inputs.push(Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i % 9973 === 0 ? 1 : 0))));
    for (const src of inputs) {
      const g = gz(src);
      // RFC 1952: deflate, no name or other extras, then CRC-32 and size little-endian
      expect([...g.subarray(0, 4)]).toEqual([0x1f, 0x8b, 8, 0]);
      expect(g.readUInt32LE(g.length - 8)).toBe(crc32(src));
      expect(g.readUInt32LE(g.length - 4)).toBe(src.length);
      expect(gunzipSync(g).equals(src)).toBe(true);
    }
  });

  it('its CRC-32 is zlib\'s at every length up to 300 and at each alignment, and over several MiB', () => {
    // the folding path takes 64 bytes and more, 16 at a time, and leaves the rest to the byte tables
    const big = randomBytes((3 << 20) + 64);
    for (let len = 0; len <= 300; len++) {
      for (const at of [0, 1, 7, 13]) {
        const src = big.subarray(at, at + len);
        const g = gz(src);
        expect(g.readUInt32LE(g.length - 8)).toBe(crc32(src));
      }
    }
    for (const len of [1 << 20, (1 << 20) + 15, 3 << 20]) {
      const src = big.subarray(3, 3 + len);
      const g = gz(src);
      expect(g.readUInt32LE(g.length - 8)).toBe(crc32(src));
      expect(gunzipSync(g).equals(src)).toBe(true);
    }
  });

  it('compresses repeated capture lines no worse than zlib level 1', () => {
    const src = lines(3000);
    const g = gz(src);
    expect(g.length).toBeLessThanOrEqual(gzipSync(src, { level: 1 }).length);
    const dir = mkdtempSync(join(tmpdir(), 'cts-gz-'));
    try {
      // gzip(1) reads two of them back to back as one file, as a capture is written
      const path = join(dir, 'two.gz');
      writeFileSync(path, Buffer.concat([g, gz(Buffer.from('last\n'))]));
      execFileSync('gzip', ['-t', path]);
      expect(execFileSync('gzip', ['-dc', path], { maxBuffer: 1 << 24 }).equals(Buffer.concat([src, Buffer.from('last\n')]))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses too small an output, a length past the input or a bad one, writing nothing', () => {
    const src = randomBytes(1000);
    const out = new Uint8Array(n.captureGzipBound(1000) - 1);
    expect(n.captureGzip(src, 1000, out)).toBe(ENOSPC);
    expect(out.every((b) => b === 0)).toBe(true);
    const big = new Uint8Array(n.captureGzipBound(2000));
    expect(n.captureGzip(src, 1001, big)).toBe(EINVAL);
    expect(n.captureGzip(src, -1, big)).toBe(EINVAL);
    expect(n.captureGzip(src, 1.5, big)).toBe(EINVAL);
    expect(n.captureGzipBound(-1)).toBe(EINVAL);
    expect(big.every((b) => b === 0)).toBe(true);
    expect(() => n.captureGzip(src, 10, new Int32Array(100) as unknown as Uint8Array)).toThrow(TypeError);
  });
});
