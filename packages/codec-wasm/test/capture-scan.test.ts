// scanCapture(), the byte-level capture reader the inspector uses, must give the same records,
// bad lines and line numbers as the validating CaptureParser on any input: canonical lines, lines
// one edit away from canonical, and arbitrary text.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureParser, SCAN_DIRS, scanCapture, type CaptureEnd, type CaptureRecord } from '../src/capture.js';
import { inSlices } from './helpers.js';

const HEADER = '{"corosyncCapture":1,"start":{"unixNs":"1764774000000000000","iso":"2025-12-03T15:00:00.000Z"},"host":"h","recorder":{"mode":"client","name":"t","version":"0"}}';
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

type Read = { records: [number, CaptureRecord | CaptureEnd][]; bad: [number, string][]; frames: number; complete: boolean } | { error: string };

function viaParser(bytes: Uint8Array): Read {
  const records: [number, CaptureRecord | CaptureEnd][] = [];
  const bad: [number, string][] = [];
  const p = new CaptureParser({ record: (r, n) => records.push([n, r]), end: (e, n) => records.push([n, e]), bad: (e) => bad.push([e.line, e.message]) });
  try {
    p.push(bytes);
    p.end();
  } catch (e) {
    return { error: (e as Error).message };
  }
  return { records, bad, frames: p.frames, complete: p.complete };
}

/** Scans bytes whole, or in pieces cut after the newlines at `cuts` (as a streamed file is read). */
function viaScan(bytes: Uint8Array, cuts: number[] = []): Read {
  const records: [number, CaptureRecord | CaptureEnd][] = [];
  const bad: [number, string][] = [];
  const ends: number[] = [];
  // The first piece holds the header line (a streaming reader's first piece is far longer).
  const headerEnd = new TextDecoder().decode(bytes).indexOf('"version":"0"}}') + 15;
  for (const c of cuts) {
    const nl = bytes.indexOf(0x0a, Math.max(headerEnd, c % (bytes.length + 1)));
    if (nl >= 0 && !ends.includes(nl + 1)) ends.push(nl + 1);
  }
  ends.sort((a, b) => a - b);
  ends.push(bytes.length);
  let from: ReturnType<typeof scanCapture> | undefined;
  let start = 0;
  try {
    for (const end of ends) {
      const piece = bytes.subarray(start, end);
      start = end;
      if (piece.length === 0 && from) continue;
      const out = new Uint8Array(piece.length >> 1);
      from = scanPiece(piece, out, records, bad, from);
    }
  } catch (e) {
    return { error: (e as Error).message };
  }
  return { records, bad, frames: from!.frames, complete: from!.complete };
}

function scanPiece(bytes: Uint8Array, out: Uint8Array, records: [number, CaptureRecord | CaptureEnd][], bad: [number, string][], from: Parameters<typeof scanCapture>[3]) {
  {
    return scanCapture(bytes, out, {
      frame(t, conn, pid, proc, service, transport, dir, at, len, lineNo) {
        const r: CaptureRecord = { kind: 'frame', t, conn, service, transport, dir: SCAN_DIRS[dir]!, hex: toHex(out.subarray(at, at + len)) };
        if (pid >= 0) r.pid = pid;
        if (proc !== undefined) r.proc = proc;
        records.push([lineNo, r]);
      },
      state: (r, n) => records.push([n, r]),
      end: (e, n) => records.push([n, e]),
      bad: (e) => bad.push([e.line, e.message]),
    }, from);
  }
}

const canonical = fc
  .record({
    t: fc.oneof(fc.nat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, 2 ** 53, 1e16)),
    conn: fc.oneof(fc.nat(10), fc.constant(2 ** 31)),
    pid: fc.option(fc.nat(), { nil: undefined }),
    proc: fc.option(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('corosync-cmapct', 'a"b', 'x\\y', 'é', '')), { nil: undefined }),
    service: fc.oneof(fc.constantFrom('cmap', 'quorum', 'votequorum', ''), fc.string({ maxLength: 4 })),
    transport: fc.constantFrom('shm', 'socket', 'udp'),
    dir: fc.constantFrom('req', 'res', 'evt', 'setup', 'rex'),
    hex: fc.oneof(fc.uint8Array({ maxLength: 40 }).map(toHex), fc.constantFrom('0', 'AB', 'zz', '0g')),
  })
  .map((f) => {
    const who = (f.pid !== undefined ? `,"pid":${f.pid}` : '') + (f.proc !== undefined ? `,"proc":${JSON.stringify(f.proc)}` : '');
    return `{"t":${f.t},"conn":${f.conn}${who},"service":${JSON.stringify(f.service)},"transport":"${f.transport}","dir":"${f.dir}","hex":"${f.hex}"}`;
  });

// one edit (insert, delete or replace a character) somewhere in a line
const mutated = fc.tuple(canonical, fc.nat(), fc.constantFrom('del', 'ins', 'rep'), fc.constantFrom('"', '\\', '}', ',', ' ', '0', '-', '.', 'e', '\r', 'é', '\u0000', '\uFEFF')).map(([l, k, op, c]) => {
  const i = k % (l.length + 1);
  if (op === 'del') return l.slice(0, i) + l.slice(i + 1);
  if (op === 'ins') return l.slice(0, i) + c + l.slice(i);
  return l.slice(0, i) + c + l.slice(i + 1);
});

const otherLine = fc.oneof(
  fc.constantFrom('', '   ', '\r', '{"t":5,"conn":1,"service":"cmap","transport":"shm","state":"open"}', '{"t":6,"conn":1,"service":"cmap","transport":"shm","state":"flow","level":2}', '{"t":6,"conn":1,"service":"cmap","transport":"shm","state":"flow"}', '{"conn":1,"t":5,"service":"cmap","transport":"shm","dir":"req","hex":"00"}', '{"t":1,"conn":1,"service":"cmap","transport":"shm","dir":"req","hex":"00","hex":"01"}', '{"t":1.0,"conn":1,"service":"cmap","transport":"shm","dir":"req","hex":""}', '{"t":01,"conn":1,"service":"cmap","transport":"shm","dir":"req","hex":""}',
    // end lines: valid (with a frame count a fuzzed file may or may not match), malformed
    '{"end":{"unixNs":"1764774000000000001","iso":"2025-12-03T15:00:00.000Z"},"t":9,"frames":2,"dropped":0,"by":"close"}', '{"end":{"unixNs":"1","iso":""},"t":1,"frames":0,"dropped":3,"by":"exit"}', '{"end":{"unixNs":"1","iso":""},"t":1,"frames":0,"dropped":0,"by":"kill"}', '{"end":1}'),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

const line = fc.oneof({ weight: 4, arbitrary: canonical }, { weight: 4, arbitrary: mutated }, { weight: 1, arbitrary: otherLine });

const file = fc.tuple(fc.constantFrom('', '\uFEFF', '\n', '\r\n'), fc.array(line, { maxLength: 12 }), fc.constantFrom('\n', '\r\n'), fc.boolean()).map(([lead, lines, eol, lastEol]) => {
  const body = lines.join(eol) + (lastEol && lines.length ? eol : '');
  return new TextEncoder().encode(`${lead}${HEADER}${eol}${body}`);
});

describe('scanCapture agrees with CaptureParser', () => {
  it('on canonical, mutated and arbitrary lines', async () => {
    await inSlices(3000, (numRuns) => fc.assert(fc.property(file, (bytes) => {
      expect(viaScan(bytes)).toEqual(viaParser(bytes));
    }), { numRuns }), 250);
  }, 120_000);

  it('read in pieces cut at line ends, each later piece given the header and the lines before it', async () => {
    await inSlices(2000, (numRuns) => fc.assert(fc.property(file, fc.array(fc.nat(), { maxLength: 4 }), (bytes, cuts) => {
      expect(viaScan(bytes, cuts)).toEqual(viaParser(bytes));
    }), { numRuns }), 250);
  }, 120_000);

  it('on arbitrary bytes (invalid UTF-8 included) after a header', async () => {
    const head = new TextEncoder().encode(HEADER + '\n');
    await inSlices(2000, (numRuns) => fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        const bytes = new Uint8Array(head.length + tail.length);
        bytes.set(head);
        bytes.set(tail, head.length);
        expect(viaScan(bytes)).toEqual(viaParser(bytes));
      }),
      { numRuns },
    ), 250);
  }, 120_000);

  it('on bad and missing headers', () => {
    for (const text of ['', '\n\n', '{"corosyncCapture":2}\n', 'nonsense\n{"t":1}']) {
      const bytes = new TextEncoder().encode(text);
      expect(viaScan(bytes)).toEqual(viaParser(bytes));
      expect((viaScan(bytes) as { error: string }).error).toBeTruthy();
    }
  });

  it('reads canonical lines without a string per line and places the frames back to back', () => {
    const lines = [HEADER, '{"t":7,"conn":3,"pid":10,"proc":"cmapctl","service":"cmap","transport":"shm","dir":"req","hex":"0a0b"}', '{"t":8,"conn":3,"service":"cmap","transport":"socket","dir":"setup","hex":""}', '{"t":9,"conn":3,"service":"cmap","transport":"shm","state":"closed","by":"client"}', '{"t":10,"conn":4,"service":"quorum","transport":"shm","dir":"evt","hex":"ff"}'];
    const bytes = new TextEncoder().encode(lines.join('\n'));
    const out = new Uint8Array(bytes.length >> 1);
    const seen: unknown[] = [];
    const res = scanCapture(bytes, out, { frame: (...a) => seen.push(a), state: (r) => seen.push(r.state) });
    expect(res.size).toBe(3);
    expect([...out.subarray(0, 3)]).toEqual([10, 11, 255]);
    expect(seen).toEqual([[7, 3, 10, 'cmapctl', 'cmap', 'shm', 0, 0, 2, 2], [8, 3, -1, undefined, 'cmap', 'socket', 3, 2, 0, 3], 'closed', [10, 4, -1, undefined, 'quorum', 'shm', 2, 2, 1, 5]]);
  });

  it('refuses an output buffer too small to hold every frame', () => {
    expect(() => scanCapture(new Uint8Array(10), new Uint8Array(4), { frame() {} })).toThrow(RangeError);
  });
});


