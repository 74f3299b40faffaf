/**
 * Lenient request reading, the way corosync's handlers read: fixed offsets into the request,
 * never checked against its length. Bytes past the end of a short frame read as zero, so a
 * truncated or hostile request can not make the mock read out of bounds.
 */
export class RequestView {
  private readonly dv: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.bytes.length;
  }
  get id(): number {
    return this.i32(0);
  }
  private has(off: number, n: number): boolean {
    return off + n <= this.bytes.length;
  }
  u8(off: number): number {
    return this.has(off, 1) ? this.dv.getUint8(off) : 0;
  }
  i32(off: number): number {
    return this.has(off, 4) ? this.dv.getInt32(off, true) : 0;
  }
  u16len(off: number): number {
    return this.has(off, 2) ? this.dv.getUint16(off, true) : 0;
  }
  u32(off: number): number {
    return this.has(off, 4) ? this.dv.getUint32(off, true) : 0;
  }
  u64(off: number): bigint {
    return this.has(off, 8) ? this.dv.getBigUint64(off, true) : 0n;
  }
  /** A C string of at most `max` bytes starting at `off` (stops at NUL or the frame end). */
  cstr(off: number, max: number): string {
    const end = Math.min(this.bytes.length, off + max);
    if (off >= end) return '';
    const b = this.bytes;
    // key names are nearly always ASCII: build those directly, no decoder round trip
    let ascii = '';
    for (let i = off; i < end; i++) {
      const c = b[i]!;
      if (c === 0) return ascii;
      if (c >= 0x80) {
        const slice = b.subarray(off, end);
        const nul = slice.indexOf(0);
        return latin1OrUtf8(nul >= 0 ? slice.subarray(0, nul) : slice);
      }
      ascii += String.fromCharCode(c);
    }
    return ascii;
  }
  /** `n` bytes at `off`, zero-filled past the end of the frame. */
  bytesAt(off: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    if (off < this.bytes.length) out.set(this.bytes.subarray(off, Math.min(this.bytes.length, off + n)));
    return out;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Key names are bytes to corosync; decode as UTF-8 when valid, else byte-for-byte. */
function latin1OrUtf8(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    return String.fromCharCode(...b);
  }
}
