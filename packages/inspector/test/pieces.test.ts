// linePieces(): a capture read as a stream comes out as pieces of whole lines, in order, with
// nothing lost or added, plain or gzip (many members, as the writers flush), however the
// stream is chunked; a small first piece, then big ones.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { linePieces } from '../src/model.js';

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
  for await (const p of linePieces(src, { inflate: 0 })) out.push(p.slice());
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
    for await (const p of linePieces(streamOf(file.subarray(0, file.length >> 1), 4096), timing)) out.push(p.slice());
    expect(timing.cut).toMatch(/^corrupt or truncated gzip data: /);
    const got = Buffer.concat(out);
    expect(got.length).toBeGreaterThan(plain.length / 3);
    expect(got.equals(Buffer.from(plain.subarray(0, got.length)))).toBe(true);
  });
});
