import type { FieldsOf, MessageSpec, RingId, RuntimeMessage } from '@corosync-ts/codec-wasm';

/** mar_name_t: a u16 length, then the value at the next 8-byte boundary. */
const MAR_NAME_VALUE = 8;
const MAR_NAME_MAX = 256;
/** mar_cpg_name_t: a u32 length, then 128 bytes at +8. */
const CPG_NAME_VALUE = 8;
const CPG_NAME_MAX = 128;

type KeysWhere<F, V> = { [K in keyof F]-?: F[K] extends V ? K : never }[keyof F] & string;

/**
 * A request read through its catalog layout, the way corosync's handlers read it: each field at
 * its catalog offset, never checked against the frame's length. This is why the mock does not use
 * the codec's `decode()`, which refuses a frame whose size disagrees with the layout: corosync
 * accepts short and oversize requests alike. Bytes past the end of a short frame read as zero, so
 * a truncated or hostile request can not make the mock read out of bounds; strings stop at their
 * NUL or at the end of their field, as the C string functions the daemon uses would.
 *
 * Field names are typed by the catalog: `req.num('trackFlags')` compiles only for a numeric field
 * of that message.
 */
export class RequestView<M extends MessageSpec = MessageSpec, F = FieldsOf<M>> {
  private readonly dv: DataView;
  constructor(readonly bytes: Uint8Array, readonly message: RuntimeMessage) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private field(name: string) {
    const f = this.message.fields[this.message.fieldIndex[name]!];
    if (f === undefined) throw new Error(`${this.message.name} has no field ${name}`);
    return f;
  }

  private has(off: number, n: number): boolean {
    return off + n <= this.bytes.length;
  }

  /** A u8/u16/u32/i32 field. */
  num(name: KeysWhere<F, number>): number {
    const f = this.field(name);
    const o = f.offset;
    switch (f.type) {
      case 'u8': return this.has(o, 1) ? this.dv.getUint8(o) : 0;
      case 'u16': return this.has(o, 2) ? this.dv.getUint16(o, true) : 0;
      case 'u32': return this.has(o, 4) ? this.dv.getUint32(o, true) : 0;
      case 'i32': return this.has(o, 4) ? this.dv.getInt32(o, true) : 0;
      default: throw new Error(`${this.message.name}.${name} is a ${f.type}, not a number`);
    }
  }

  /** A u64/i64 field. */
  big(name: KeysWhere<F, bigint>): bigint {
    const f = this.field(name);
    if (!this.has(f.offset, 8)) return 0n;
    return f.type === 'i64' ? this.dv.getBigInt64(f.offset, true) : this.dv.getBigUint64(f.offset, true);
  }

  /**
   * A `name` (mar_name_t) or `chars` (char[N]) field as the daemon's C code sees it: the bytes up
   * to the first NUL. A mar_name_t's length word is ignored (corosync passes `value` on as a C
   * string); a char[N] is read up to N-1 bytes, its last byte being the terminator's room.
   */
  str(name: KeysWhere<F, string>): string {
    const f = this.field(name);
    if (f.type === 'name') return this.cstr(f.offset + MAR_NAME_VALUE, MAR_NAME_MAX);
    if (f.type === 'chars') return this.cstr(f.offset, f.len - 1);
    throw new Error(`${this.message.name}.${name} is a ${f.type}, not a string`);
  }

  /** The length word of a mar_name_t field (corosync tests it for "no prefix given"). */
  nameLength(name: KeysWhere<F, string>): number {
    const o = this.field(name).offset;
    return this.has(o, 2) ? this.dv.getUint16(o, true) : 0;
  }

  /** A `bytes` field: as many bytes as its count field says, zero-filled past the end of the frame. */
  bytesOf(name: KeysWhere<F, Uint8Array>): Uint8Array {
    const f = this.field(name);
    const countField = this.message.fields[f.count];
    if (countField === undefined) throw new Error(`${this.message.name}.${name} has no count field`);
    const n = Number(countField.type === 'u64' ? this.big(countField.name as KeysWhere<F, bigint>) : this.num(countField.name as KeysWhere<F, number>));
    const out = new Uint8Array(n);
    if (f.offset < this.bytes.length) out.set(this.bytes.subarray(f.offset, Math.min(this.bytes.length, f.offset + n)));
    return out;
  }

  /**
   * A `bytes` field as far as the frame holds it: at most its count, never past the frame's end
   * (a count from a hostile frame must not size an allocation; cpg MCAST delivers msglen bytes).
   * A view, not a copy (a cpg delivery of 1 MiB was copied here once more than it needed): what
   * keeps it past the handler copies it, the frame may be lent (cpg: CpgConn.keepLent).
   */
  bytesIn(name: KeysWhere<F, Uint8Array>): Uint8Array {
    const f = this.field(name);
    const countField = this.message.fields[f.count];
    if (countField === undefined) throw new Error(`${this.message.name}.${name} has no count field`);
    const n = Number(countField.type === 'u64' ? this.big(countField.name as KeysWhere<F, bigint>) : this.num(countField.name as KeysWhere<F, number>));
    if (f.offset >= this.bytes.length) return new Uint8Array(0);
    return this.bytes.subarray(f.offset, Math.min(this.bytes.length, f.offset + n));
  }

  /**
   * A `cpgName` field (mar_cpg_name_t: u32 length, the bytes at +8): `length` bytes, any bytes.
   * A length over 128 gives 129 bytes, enough for the daemon's NAME_TOO_LONG.
   */
  cpgName(name: KeysWhere<F, Uint8Array>): Uint8Array {
    const f = this.field(name);
    if (f.type !== 'cpgName') throw new Error(`${this.message.name}.${name} is a ${f.type}, not a cpgName`);
    const len = Math.min(this.has(f.offset, 4) ? this.dv.getUint32(f.offset, true) : 0, CPG_NAME_MAX + 1);
    const out = new Uint8Array(len);
    const start = f.offset + CPG_NAME_VALUE;
    if (start < this.bytes.length) out.set(this.bytes.subarray(start, Math.min(this.bytes.length, start + len)));
    return out;
  }

  /** A `ringId` field (mar_ring_id: u32 nodeid, u64 seq at +8). */
  ring(name: KeysWhere<F, RingId>): RingId {
    const o = this.field(name).offset;
    return {
      nodeid: this.has(o, 4) ? this.dv.getUint32(o, true) : 0,
      seq: this.has(o + 8, 8) ? this.dv.getBigUint64(o + 8, true) : 0n,
    };
  }

  /** A C string of at most `max` bytes starting at `off` (stops at NUL or the frame end). */
  private cstr(off: number, max: number): string {
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
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Key names are bytes to corosync; decode as UTF-8 when valid, else byte-for-byte. */
export function latin1OrUtf8(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    return String.fromCharCode(...b);
  }
}
