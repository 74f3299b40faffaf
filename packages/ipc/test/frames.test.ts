import { describe, expect, it } from 'vitest';
import { connectionResponse, decodeConnectionResponse, decodeConnectionResponseByCodec, encodeConnectionResponse } from '../src/frames.js';

// The connection response is read in JavaScript (frames.ts connectionResponse) when it is the
// usual frame and left to the codec otherwise. Whatever the fast path takes, the codec must read
// the same; whatever it leaves, decodeConnectionResponse answers or fails as the codec does.

function viaCodec(b: Uint8Array): unknown {
  try {
    return decodeConnectionResponseByCodec(b);
  } catch (e) {
    return { error: (e as { code?: unknown }).code, message: (e as Error).message };
  }
}

function viaDecode(b: Uint8Array): unknown {
  try {
    return decodeConnectionResponse(b);
  } catch (e) {
    return { error: (e as { code?: unknown }).code, message: (e as Error).message };
  }
}

const bases = [
  encodeConnectionResponse({ error: 0, connectionType: 1, maxMsgSize: 1 << 20, request: 'qb-1-2-3/qb-cmap-request', response: 'qb-1-2-3/qb-cmap-response', event: 'qb-1-2-3/qb-cmap-event' }),
  encodeConnectionResponse({ error: 0, connectionType: 0, maxMsgSize: 8192, request: '', response: 'r', event: 'x'.repeat(4095) }),
  encodeConnectionResponse({ error: -111, connectionType: 0, maxMsgSize: 0, request: '', response: '', event: '' }),
];
// Strings without a NUL in their array, and bytes that are not UTF-8.
const odd = bases[0]!.slice();
odd.fill(0x41, 40, 40 + 4096);
odd.set([0xc3, 0x28, 0xff, 0xe2, 0x82], 4136);
bases.push(odd);

describe('connection responses read without the codec', () => {
  it('takes the usual frames, with what the codec reads', () => {
    for (const b of bases) {
      const fast = connectionResponse(b);
      expect(fast).toBeDefined();
      expect(fast).toEqual(viaCodec(b));
    }
    expect(connectionResponse(bases[0]!)).toMatchObject({ connectionType: 1, maxMsgSize: 1 << 20, request: 'qb-1-2-3/qb-cmap-request', event: 'qb-1-2-3/qb-cmap-event' });
    expect(connectionResponse(bases[3]!)!.request).toBe('A'.repeat(4096));
  });

  it('never takes a frame the codec reads otherwise: header and field bytes changed, cut and longer frames', () => {
    let taken = 0;
    let left = 0;
    for (const base of bases) {
      const variants: Uint8Array[] = [];
      for (const i of [...Array(48).keys(), 4135, 4136, 8231, 8232, 12327]) {
        for (const v of [0, 1, 0x28, 0x30, 0x80, 0xff]) {
          const f = base.slice();
          f[i] = v;
          variants.push(f);
        }
      }
      for (const cut of [0, 16, 23, 24, 40, 4136, 12320, 12327]) variants.push(base.slice(0, cut));
      const longer = new Uint8Array(base.length + 8);
      longer.set(base);
      new DataView(longer.buffer).setInt32(8, longer.length, true);
      variants.push(longer);
      for (const f of variants) {
        const fast = connectionResponse(f);
        if (fast === undefined) {
          left++;
          expect(viaDecode(f)).toEqual(viaCodec(f));
        } else {
          taken++;
          expect(viaCodec(f)).toEqual(fast);
        }
      }
    }
    expect(taken).toBeGreaterThan(200);
    expect(left).toBeGreaterThan(50);
  });

  it('reads the strings as the codec does, whatever their bytes', () => {
    for (const bytes of [[0xef, 0xbb, 0xbf, 0x41], [0xf0, 0x9f, 0x98, 0x80], [0xed, 0xa0, 0x80], [0x7f, 0x01]]) {
      const f = bases[0]!.slice();
      f.fill(0, 40, 40 + 4096);
      f.set(bytes, 40);
      expect(connectionResponse(f)).toEqual(viaCodec(f));
    }
  });
});
