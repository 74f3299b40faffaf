// The capture reader (format v1): header and line validation, streaming over chunks cut
// anywhere, multi-member gzip, and corosync-decode reading captures (plain and gzip).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { run as runChild } from '@corosync-ts/nstest';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CAPTURE_MAX_LINE, CaptureFormatError, CaptureParser, GzipTooLargeError, gunzip, isCaptureFormatError, isGzip, parseCaptureEnd, parseCaptureHeader, parseCaptureRecord, readCapture, scanCapture,
  type CaptureRecord,
} from '../src/capture.js';
import { Frame, hex } from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/corosync-decode.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'codec-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEADER = {
  corosyncCapture: 1,
  start: { unixNs: '1764774000123456789', iso: '2026-12-03T15:00:00.123Z' },
  host: 'node1',
  recorder: { mode: 'tap', name: 'corosync-tap', version: '0.1.0' },
  corosync: '3.1.7',
};
const getReq = Frame.req(2, 288).name(16, 'totem.cluster_name').u64(280, 16n).bytes; // cmap.get request
const getRes = Frame.res(2, 40, 12).bytes; // bare cmap.get error reply (CS_ERR_NOT_EXIST)
const lines = [
  JSON.stringify(HEADER),
  JSON.stringify({ t: 0, conn: 1, pid: 4242, proc: 'corosync-cmapc', service: 'cmap', transport: 'shm', state: 'open' }),
  JSON.stringify({ t: 1520331, conn: 1, pid: 4242, proc: 'corosync-cmapc', service: 'cmap', transport: 'shm', dir: 'req', hex: hex(getReq) }),
  JSON.stringify({ t: 1520911, conn: 1, service: 'cmap', transport: 'shm', dir: 'res', hex: hex(getRes) }),
  JSON.stringify({ t: 9000000, conn: 1, service: 'cmap', transport: 'shm', state: 'closed', by: 'client' }),
];
const text = `${lines.join('\n')}\n`;
const END = { end: { unixNs: '1764774000132456789', iso: '2026-12-03T15:00:00.132Z' }, t: 9000001, frames: 2, dropped: 0, by: 'close' };

describe('capture reader', () => {
  it('parses a header and every kind of line', async () => {
    const c = await readCapture(new TextEncoder().encode(text));
    expect(c.header).toEqual(HEADER);
    expect(c.bad).toEqual([]);
    expect(c.records.map((r) => r.kind)).toEqual(['state', 'frame', 'frame', 'state']);
    expect(c.records[1]).toEqual({ kind: 'frame', t: 1520331, conn: 1, pid: 4242, proc: 'corosync-cmapc', service: 'cmap', transport: 'shm', dir: 'req', hex: hex(getReq) });
    expect(c.records[3]).toMatchObject({ kind: 'state', state: 'closed', by: 'client' });
  });

  it("reads flow-control changes, a refused handshake (closed by the server, no open) and a recorder's dropped count", async () => {
    const more = [
      lines[0],
      JSON.stringify({ t: 5, conn: 1, pid: 7, service: 'cpg', transport: 'shm', state: 'flow', level: 2 }),
      JSON.stringify({ t: 6, conn: 1, service: 'cpg', transport: 'shm', state: 'flow', level: 0 }),
      JSON.stringify({ t: 7, conn: 2, service: 'cmap', transport: 'socket', state: 'closed', by: 'server', error: 'EACCES' }),
      JSON.stringify({ t: 8, conn: 1, service: 'cpg', transport: 'shm', state: 'dropped', lines: 12 }),
    ];
    const c = await readCapture(new TextEncoder().encode(`${more.join('\n')}\n`));
    expect(c.bad).toEqual([]);
    expect(c.records).toEqual([
      { kind: 'state', t: 5, conn: 1, pid: 7, service: 'cpg', transport: 'shm', state: 'flow', level: 2 },
      { kind: 'state', t: 6, conn: 1, service: 'cpg', transport: 'shm', state: 'flow', level: 0 },
      { kind: 'state', t: 7, conn: 2, service: 'cmap', transport: 'socket', state: 'closed', by: 'server', error: 'EACCES' },
      { kind: 'state', t: 8, conn: 1, service: 'cpg', transport: 'shm', state: 'dropped', lines: 12 },
    ]);
  });

  it('gives the same records whatever the chunking, even inside a UTF-8 character', () => {
    const withUtf8 = text.replace('"node1"', '"nœud-1"');
    const bytes = new TextEncoder().encode(withUtf8.replace(/\n/g, '\r\n'));
    const all = (chunk: number) => {
      const recs: CaptureRecord[] = [];
      const p = new CaptureParser({ record: (r) => recs.push(r) });
      for (let i = 0; i < bytes.length; i += chunk) p.push(bytes.subarray(i, i + chunk));
      p.end();
      return { host: p.header!.host, recs };
    };
    const whole = all(bytes.length);
    expect(whole.host).toBe('nœud-1');
    for (const n of [1, 2, 3, 7, 64]) expect(all(n)).toEqual(whole);
  });

  it('a line longer than CAPTURE_MAX_LINE is a bad line, skipped without being held, in any chunking; a connection id past 2^31 - 1 is a bad line', () => {
    const long = 'x'.repeat(CAPTURE_MAX_LINE + 3);
    const frame = '{"t":1,"conn":1,"service":"cmap","transport":"shm","dir":"req","hex":"00"}';
    const file = `${text.split('\n')[0]}\n${frame}\n${long}\n${frame.replace('"conn":1', '"conn":2147483648')}\n${frame}\n${long}`;
    for (const chunk of [65536, file.length]) {
      const recs: CaptureRecord[] = [];
      const bad: string[] = [];
      const p = new CaptureParser({ record: (r) => recs.push(r), bad: (e) => bad.push(e.message) });
      for (let i = 0; i < file.length; i += chunk) p.push(file.slice(i, i + chunk));
      p.end();
      expect(recs).toHaveLength(2);
      expect(bad).toEqual([`line 3: longer than ${CAPTURE_MAX_LINE} characters (${CAPTURE_MAX_LINE + 3}): skipped`, 'line 4: "conn" must be an integer from 1 to 2147483647', `line 6: longer than ${CAPTURE_MAX_LINE} characters (${CAPTURE_MAX_LINE + 3}): skipped`]);
    }
    const p = new CaptureParser({});
    p.push(long);
    expect(() => p.end()).toThrow(/line 1: longer than/);
  });

  it('readCapture of a gzip bomb: a GzipTooLargeError, not the whole of it in memory; a long line of zeros within the limit is one bad line', async () => {
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024));
    const head = gzipSync(`${text.split('\n')[0]}\n`);
    await expect(readCapture(Buffer.concat([head, ...Array.from({ length: 5 }, () => member)]), { maxBytes: 64 * 1024 * 1024 })).rejects.toThrow(GzipTooLargeError);
    const r = await readCapture(Buffer.concat([head, member, member]));
    expect(r.bad.map((e) => e.message)).toEqual([`line 2: longer than ${CAPTURE_MAX_LINE} characters (${32 * 1024 * 1024}): skipped`]);
  });

  it('refuses an unknown version, a non-capture and a broken header', () => {
    expect(() => parseCaptureHeader(JSON.stringify({ ...HEADER, corosyncCapture: 2 }))).toThrow(/version 2 is not supported/);
    expect(() => parseCaptureHeader('{"service":"cmap","dir":"req","hex":"00"}')).toThrow(/not a corosync capture/);
    expect(() => parseCaptureHeader(JSON.stringify({ ...HEADER, start: { unixNs: '-1', iso: '' } }))).toThrow(CaptureFormatError);
    expect(() => parseCaptureHeader(JSON.stringify({ ...HEADER, recorder: { ...HEADER.recorder, mode: 'spy' } }))).toThrow(/"mode"/);
    // Unknown fields are ignored.
    expect(parseCaptureHeader(JSON.stringify({ ...HEADER, extra: [1] })).host).toBe('node1');
    const p = new CaptureParser({});
    expect(() => p.end()).toThrow(/no header/);
  });

  it('reports bad lines with their number and field, and keeps reading', async () => {
    const bad = [
      'not json',
      '{"t":-1,"conn":1,"service":"cmap","transport":"shm","dir":"req","hex":"00"}',
      '{"t":1,"conn":0,"service":"cmap","transport":"shm","dir":"req","hex":"00"}',
      '{"t":1,"conn":1,"service":"cmap","transport":"tcp","dir":"req","hex":"00"}',
      '{"t":1,"conn":1,"service":"cmap","transport":"shm","dir":"req","hex":"0A"}',
      '{"t":1,"conn":1,"service":"cmap","transport":"shm","dir":"sideways","hex":"00"}',
      '{"t":1,"conn":1,"service":"cmap","transport":"shm","dir":"req","hex":"00","state":"open"}',
      '{"t":1,"conn":1,"service":"","transport":"shm","state":"open"}',
      '{"t":1.5,"conn":1,"service":"cmap","transport":"shm","state":"open"}',
      '{"t":1,"conn":1,"service":"cmap","transport":"shm","state":"closed","by":"nobody"}',
      '{"t":1,"conn":1,"service":"cmap","transport":"shm","state":"flow"}',
      '{"t":1,"conn":1,"service":"cmap","transport":"shm","state":"dropped","lines":0}',
    ];
    const c = await readCapture(new TextEncoder().encode(`${lines[0]}\n${bad.join('\n')}\n${lines[2]}\n`));
    expect(c.records).toHaveLength(1);
    expect(c.bad.map((e) => [e.line, e.field])).toEqual([
      [2, undefined], [3, 't'], [4, 'conn'], [5, 'transport'], [6, 'hex'], [7, 'dir'], [8, 'state'], [9, 'service'], [10, 't'], [11, 'by'], [12, 'level'], [13, 'lines'],
    ]);
    expect(c.bad.every(isCaptureFormatError)).toBe(true);
    expect(() => parseCaptureRecord('{}', 5)).toThrow(/^line 5: /);
  });

  it('gunzips single and multi-member files (one member per writer flush), and rejects corrupt ones', async () => {
    const single = gzipSync(text);
    expect(isGzip(single)).toBe(true);
    expect(isGzip(new TextEncoder().encode(text))).toBe(false);
    expect(new TextDecoder().decode(await gunzip(single))).toBe(text);
    const multi = Buffer.concat(lines.map((l) => gzipSync(`${l}\n`)));
    expect(new TextDecoder().decode(await gunzip(multi))).toBe(text);
    const c = await readCapture(multi);
    expect(c.records).toHaveLength(4);
    await expect(gunzip(multi.subarray(0, multi.length - 5))).rejects.toThrow();
    const flipped = Buffer.from(multi);
    flipped[flipped.length - 30]! ^= 0xff;
    await expect(gunzip(flipped)).rejects.toThrow();
  });
});

describe('corosync-decode reads captures', () => {
  const run = (args: string[], input?: string | Buffer) => runChild([process.execPath, BIN, ...args], { input, timeout: 30_000 });

  for (const kind of ['plain', 'gzip (multi-member)', 'gzip on stdin'] as const) {
    it(`decodes every frame of a ${kind} capture, with t and conn, skipping header, states and the end line`, async () => {
      const f = join(dir, kind === 'plain' ? 'c.jsonl' : 'c.jsonl.gz');
      const all = [...lines, JSON.stringify(END)];
      const data = kind === 'plain' ? Buffer.from(`${all.join('\n')}\n`) : Buffer.concat(all.map((l) => gzipSync(`${l}\n`)));
      writeFileSync(f, data);
      const r = kind === 'gzip on stdin' ? await run([], data) : await run([f]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(out).toHaveLength(2);
      expect(out[0]).toEqual({ t: 1520331, conn: 1, name: 'cmap.get', id: 2, size: 288, fields: { keyName: 'totem.cluster_name', valueLen: '16' } });
      expect(Object.keys(out[1]).slice(0, 2)).toEqual(['t', 'conn']);
      expect(out[1]).toMatchObject({ t: 1520911, conn: 1, name: 'cmap.get', size: 40, error: 12 });
    });
  }

  it('takes the end line silently; says on stderr, in one line, when there is none or its frame count disagrees (exit status as without it)', async () => {
    const end = (frames: number) => JSON.stringify({ ...END, frames });
    const clean = await run([], `${text}${end(2)}\n`);
    expect([clean.code, clean.stderr]).toEqual([0, '']);
    expect(clean.stdout.trim().split('\n')).toHaveLength(2);
    const cut = await run([], text);
    expect(cut.code).toBe(0);
    expect(cut.stderr).toBe('corosync-decode: no end line after line 5: the recording was cut off (recorder killed, a write failed such as on a full disk, or still writing); last line at t=9000000 ns\n');
    const lost = await run([], `${text}${end(3)}\n`);
    expect(lost.code).toBe(0);
    expect(lost.stderr).toBe('corosync-decode: the end line (line 6) counts 3 frames, 2 were read: 1 lost\n');
    const after = await run([], `${text}${end(2)}\n${lines[2]}\n`);
    expect(after.code).toBe(1);
    expect(JSON.parse(after.stdout.trim().split('\n')[2]!).error).toMatchObject({ kind: 'badCapture', message: 'line 7: a line after the end line (line 6)' });
    // Not a capture: no end line expected.
    const plain = await run([], `${JSON.stringify({ service: 'cmap', dir: 'req', hex: hex(getReq) })}\n`);
    expect([plain.code, plain.stderr]).toEqual([0, '']);
  });

  it('refuses a capture version it does not know (exit 2), reports bad capture lines (exit 1)', async () => {
    const v2 = await run([], `${JSON.stringify({ ...HEADER, corosyncCapture: 2 })}\n${lines[2]}\n`);
    expect(v2.code).toBe(2);
    expect(v2.stderr).toMatch(/version 2 is not supported/);
    const bad = await run([], `${lines[0]}\n{"t":1,"conn":1,"service":"cmap","transport":"tcp","dir":"req","hex":"00"}\n${lines[2]}\n`);
    expect(bad.code).toBe(1);
    const out = bad.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out[0].error).toMatchObject({ kind: 'badCapture', field: 'transport' });
    expect(out[1].name).toBe('cmap.get');
    // in a capture, a line without "conn" (corosync-decode's plain input) is a bad capture line, as the reader says: never decoded as a frame the end line then calls lost
    const plainIn = await run([], `${lines[0]}\n${JSON.stringify({ service: 'cmap', dir: 'req', hex: hex(getReq) })}\n`);
    expect(plainIn.code).toBe(1);
    expect(JSON.parse(plainIn.stdout.trim()).error).toEqual({ kind: 'badCapture', message: 'line 2: "t" must be an integer >= 0', field: 't' });
    const corrupt = await run([], Buffer.concat([gzipSync(text).subarray(0, 40)]));
    expect(corrupt.code).toBe(2);
    expect(corrupt.stderr).toMatch(/corosync-decode: /);
  });
});

describe('the end line', () => {
  const ended = (end: object, extra = '') => new TextEncoder().encode(`${text}${JSON.stringify(end)}\n${extra}`);
  const scan = (bytes: Uint8Array) => {
    const ends: [unknown, number][] = [];
    const bad: [number, string | undefined][] = [];
    const r = scanCapture(bytes, new Uint8Array(bytes.length), { frame() {}, end: (e, n) => ends.push([e, n]), bad: (e) => bad.push([e.line, e.field]) });
    return { ends, bad, complete: r.complete, frames: r.frames, end: r.end, lastT: r.lastT };
  };

  it('is parsed, handed to the sink and makes the capture complete when its frame count matches: parser, readCapture and scanCapture alike', async () => {
    expect(parseCaptureEnd(JSON.stringify(END), 6)).toEqual(END);
    const ends: [unknown, number][] = [];
    const p = new CaptureParser({ end: (e, n) => ends.push([e, n]) });
    p.push(ended(END));
    p.end();
    expect(ends).toEqual([[END, 6]]);
    expect([p.endLine, p.frames, p.complete]).toEqual([END, 2, true]);
    const c = await readCapture(ended(END));
    expect(c).toMatchObject({ end: END, frames: 2, complete: true, bad: [] });
    expect(c.records).toHaveLength(4);
    expect(scan(ended(END))).toEqual({ ends: [[END, 6]], bad: [], complete: true, frames: 2, end: END, lastT: 9000001 });
    // gzip, the end line in a member of its own as the writer puts it
    const gz = Buffer.concat([gzipSync(text), gzipSync(`${JSON.stringify({ ...END, by: 'exit' })}\n`)]);
    expect(await readCapture(gz)).toMatchObject({ end: { by: 'exit' }, complete: true });
  });

  it('one written on a signal names it; a signal member on a close or exit end line is an unknown field, ignored', async () => {
    const bySignal = { ...END, by: 'signal', signal: 'SIGTERM' };
    expect(parseCaptureEnd(JSON.stringify(bySignal), 6)).toEqual(bySignal);
    expect(await readCapture(ended(bySignal))).toMatchObject({ end: bySignal, complete: true, bad: [] });
    expect(scan(ended(bySignal))).toMatchObject({ end: bySignal, complete: true, bad: [] });
    expect(parseCaptureEnd(JSON.stringify({ ...END, signal: 5 }), 6)).toEqual(END);
  });

  it('without one, the capture is not complete (cut off), and the last line read says until when it recorded', async () => {
    expect(await readCapture(new TextEncoder().encode(text))).toMatchObject({ end: undefined, frames: 2, complete: false });
    expect(scan(new TextEncoder().encode(text))).toMatchObject({ ends: [], complete: false, frames: 2, lastT: 9000000 });
  });

  it('a frame count that disagrees with the frames read says lines were lost, without throwing', async () => {
    const lost = new TextEncoder().encode(`${[lines[0], lines[1], lines[3], lines[4]].join('\n')}\n${JSON.stringify(END)}\n`);
    expect(await readCapture(lost)).toMatchObject({ end: END, frames: 1, complete: false, bad: [] });
    expect(scan(lost)).toMatchObject({ complete: false, frames: 1, end: END, bad: [] });
    // A frame line that broke the format is a lost frame too.
    const broken = new TextDecoder().decode(ended(END)).replace('"dir":"res"', '"dir":"sideways"');
    expect(await readCapture(new TextEncoder().encode(broken))).toMatchObject({ frames: 1, complete: false });
  });

  it('a malformed end line is a bad line with its number and field; the capture is not complete', async () => {
    const cases: [object, string][] = [
      [{ ...END, t: -1 }, 't'], [{ ...END, frames: 1.5 }, 'frames'], [{ ...END, dropped: '0' }, 'dropped'], [{ ...END, by: 'kill' }, 'by'],
      [{ ...END, end: { unixNs: 'x', iso: '' } }, 'unixNs'], [{ ...END, end: 5 }, 'end'], [{ ...END, end: { unixNs: '1' } }, 'iso'],
      [{ ...END, by: 'signal' }, 'signal'], [{ ...END, by: 'signal', signal: 15 }, 'signal'], [{ ...END, by: 'signal', signal: 'TERM' }, 'signal'],
    ];
    for (const [e, field] of cases) {
      expect(() => parseCaptureEnd(JSON.stringify(e), 9)).toThrow(CaptureFormatError);
      const c = await readCapture(ended(e));
      expect(c.bad.map((b) => [b.line, b.field])).toEqual([[6, field]]);
      expect(c.complete).toBe(false);
      expect(scan(ended(e)).bad).toEqual([[6, field]]);
    }
  });

  it('a line after the end line is a bad line (not read as a record), and reading goes on to report every one', async () => {
    const after = `${lines[2]}\n\n${JSON.stringify(END)}\n`;
    const c = await readCapture(ended(END, after));
    expect(c.records).toHaveLength(4);
    expect(c.bad.map((b) => [b.line, b.message])).toEqual([[7, 'line 7: a line after the end line (line 6)'], [9, 'line 9: a line after the end line (line 6)']]);
    expect(c).toMatchObject({ end: END, complete: true });
    expect(scan(ended(END, after))).toMatchObject({ bad: [[7, undefined], [9, undefined]], complete: true, frames: 2 });
  });

  it('scanCapture read in pieces carries the end and the frame count from piece to piece', () => {
    const bytes = ended(END, `${lines[2]}\n`);
    const cut = bytes.indexOf(0x0a, bytes.indexOf(0x0a) + 1) + 1;
    const bad: number[] = [];
    const sink = { frame() {}, bad: (e: CaptureFormatError) => bad.push(e.line) };
    const r1 = scanCapture(bytes.subarray(0, cut), new Uint8Array(bytes.length), sink);
    const r2 = scanCapture(bytes.subarray(cut, bytes.length - lines[2]!.length - 1), new Uint8Array(bytes.length), sink, r1);
    const r3 = scanCapture(bytes.subarray(bytes.length - lines[2]!.length - 1), new Uint8Array(bytes.length), sink, r2);
    expect([r1.frames, r2.frames, r3.frames]).toEqual([0, 2, 2]);
    expect([r1.complete, r2.complete, r3.complete]).toEqual([false, true, true]);
    expect(r3.end).toEqual(END);
    expect(bad).toEqual([7]);
  });
});
