// linePieces(): a capture read as a stream comes out as pieces of whole lines, in order, with
// nothing lost or added, plain or gzip (many members, as the writers flush), however the
// stream is chunked; a small first piece, then big ones.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_LINE, linePieces } from '../src/model.js';

function text(lines: number): Uint8Array {
  let s = '';
  for (let i = 0; i < lines; i++) s += `{"t":${i},"conn":${1 + (i % 7)},"service":"cmap","transport":"shm","dir":"req","hex":"${'ab'.repeat(i % 300)}"}\n`;
  return new TextEncoder().encode(s);
}

function streamOf(bytes: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

function members(bytes: Uint8Array, size: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(gzipSync(bytes.subarray(at, at + size)));
  return Buffer.concat(parts);
}

async function collect(src: ReadableStream<Uint8Array> | Uint8Array): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const p of linePieces(src, { inflate: 0 })) {
    if (!(p instanceof Uint8Array)) throw new Error(`a line of ${p.skipped} bytes skipped`);
    out.push(p.slice());
  }
  return out;
}

describe('linePieces', () => {
  const plain = text(40_000); // ~13 MB
  for (const [label, file] of [['plain', plain], ['gzip, a member per 64 KiB', members(plain, 65536)], ['gzip, one member', gzipSync(plain)]] as const) {
    for (const chunk of [97, 4096, 65536, 1 << 24]) {
      if (chunk === 97 && file.length > 1 << 20) continue; // tiny chunks only where it stays quick
      it(`${label}, stream chunks of ${chunk} bytes: whole lines, in order, nothing lost`, async () => {
        const pieces = await collect(streamOf(file, chunk));
        expect(Buffer.concat(pieces).equals(Buffer.from(plain))).toBe(true);
        for (const p of pieces) expect(p.at(-1)).toBe(0x0a);
        expect(pieces[0]!.length).toBeLessThan(512 * 1024);
        expect(pieces.length).toBeGreaterThan(2);
      });
    }
  }
  it('a line longer than MAX_LINE is skipped in its place, not held: the lines around it come whole, plain and gzip', async () => {
    const long = 'x'.repeat(MAX_LINE + 5);
    const file = new TextEncoder().encode(`{"a":1}\n${long}\n{"b":2}\n${long}`);
    for (const src of [file, gzipSync(file)]) {
      const got: (string | number)[] = [];
      for await (const p of linePieces(streamOf(src, 65536), { inflate: 0 })) got.push(p instanceof Uint8Array ? Buffer.from(p).toString() : p.skipped);
      expect(got).toEqual(['{"a":1}\n', MAX_LINE + 5, '{"b":2}\n', MAX_LINE + 5]);
    }
  });
  it('long lines in small chunks are not joined or searched again at every chunk: 40 lines of 2 MB in 64 KiB chunks, each byte copied and searched a few times at most', async () => {
    const line = `${'ab'.repeat(1_000_000)}\n`;
    const file = new TextEncoder().encode(line.repeat(40));
    // Counted, not timed (a timed test fails on a loaded machine): joining a 2 MB line's parts
    // again at each of its 32 chunks would copy ~17 times its bytes, searching from its start ~16.
    const { set, indexOf } = Uint8Array.prototype;
    let copied = 0;
    let searched = 0;
    Uint8Array.prototype.set = function (this: Uint8Array, src: ArrayLike<number>, offset?: number) {
      copied += src.length;
      return set.call(this, src, offset);
    };
    Uint8Array.prototype.indexOf = function (this: Uint8Array, value: number, from = 0) {
      const at = indexOf.call(this, value, from);
      searched += (at < 0 ? this.length : at + 1) - Math.max(0, from);
      return at;
    };
    let pieces: Uint8Array[];
    try {
      pieces = await collect(streamOf(file, 65536));
    } finally {
      Uint8Array.prototype.set = set;
      Uint8Array.prototype.indexOf = indexOf;
    }
    expect({ copied: copied / file.length < 3, searched: searched / file.length < 3 }).toEqual({ copied: true, searched: true });
    expect(Buffer.concat(pieces).equals(Buffer.from(file))).toBe(true);
  });
  it('a tiny file and a file without a final newline', async () => {
    const small = new TextEncoder().encode('{"a":1}\n{"b":2}');
    expect(Buffer.concat(await collect(streamOf(small, 3))).toString()).toBe('{"a":1}\n{"b":2}');
    expect(await collect(new Uint8Array(0))).toEqual([]);
    expect(Buffer.concat(await collect(gzipSync(small))).toString()).toBe('{"a":1}\n{"b":2}');
  });
  it('gzip data cut short ends the pieces there, with the reason: what came before it is kept', async () => {
    const file = members(plain, 65536);
    const timing: { inflate: number; cut?: string } = { inflate: 0 };
    const out: Uint8Array[] = [];
    for await (const p of linePieces(streamOf(file.subarray(0, file.length >> 1), 4096), timing)) if (p instanceof Uint8Array) out.push(p.slice());
    expect(timing.cut).toMatch(/^corrupt or truncated gzip data: /);
    const got = Buffer.concat(out);
    expect(got.length).toBeGreaterThan(plain.length / 3);
    expect(got.equals(Buffer.from(plain.subarray(0, got.length)))).toBe(true);
  });
  it('gzip cut at any byte says so, and keeps only whole lines: fflate alone ends some cuts (between deflate blocks, in a header) without an error', async () => {
    // Members of whole lines, as the recorders write them: a cut between two is a complete file.
    const lines = Buffer.from(text(60)).toString().split(/(?<=\n)/);
    const parts = [lines.slice(0, 20), lines.slice(20, 41), lines.slice(41)].map((l) => gzipSync(l.join('')));
    const file = Buffer.concat(parts);
    const ends = new Map([[parts[0]!.length, 20], [parts[0]!.length + parts[1]!.length, 41]]);
    const silent: number[] = [];
    for (let n = 2; n < file.length; n++) { // one byte cannot say it is gzip
      const timing: { inflate: number; cut?: string } = { inflate: 0 };
      const got = Buffer.concat(await collect2(file.subarray(0, n), timing)).toString();
      if (ends.has(n)) {
        expect(timing.cut, `cut at ${n}`).toBeUndefined();
        expect(got).toBe(lines.slice(0, ends.get(n)).join(''));
        continue;
      }
      if (timing.cut === undefined) silent.push(n);
      else expect(timing.cut).toBe('corrupt or truncated gzip data: unexpected EOF');
      expect(got, `cut at ${n}`).toBe(lines.slice(0, got.split('\n').length - 1).join(''));
    }
    expect(silent).toEqual([]);
    const timing: { inflate: number; cut?: string } = { inflate: 0 };
    expect(Buffer.concat(await collect2(file, timing)).toString()).toBe(lines.join(''));
    expect(timing.cut).toBeUndefined();
  });
});

async function collect2(src: Uint8Array, timing: { inflate: number; cut?: string }): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const p of linePieces(src, timing)) if (p instanceof Uint8Array) out.push(p.slice());
  return out;
}
