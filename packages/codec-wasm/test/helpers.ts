// Frames built by hand from field values (pg-protocol style): offsets typed from
// corosync-services.md / libqb-ipc.md, independent of the catalog under test.
export class Frame {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.dv = new DataView(this.bytes.buffer);
  }
  static req(id: number, size: number): Frame {
    return new Frame(size).i32(0, id).i32(8, size);
  }
  static res(id: number, size: number, error = 1): Frame {
    return new Frame(size).i32(0, id).i32(8, size).i32(16, error);
  }
  u8(off: number, v: number): this {
    this.dv.setUint8(off, v);
    return this;
  }
  u16(off: number, v: number): this {
    this.dv.setUint16(off, v, true);
    return this;
  }
  u32(off: number, v: number): this {
    this.dv.setUint32(off, v, true);
    return this;
  }
  i32(off: number, v: number): this {
    this.dv.setInt32(off, v, true);
    return this;
  }
  u64(off: number, v: bigint): this {
    this.dv.setBigUint64(off, v, true);
    return this;
  }
  /** mar_name_t: u16 length, 256 chars at +8. */
  name(off: number, s: string): this {
    const b = new TextEncoder().encode(s);
    this.u16(off, b.length);
    this.bytes.set(b, off + 8);
    return this;
  }
  chars(off: number, s: string): this {
    this.bytes.set(new TextEncoder().encode(s), off);
    return this;
  }
  raw(off: number, b: ArrayLike<number>): this {
    this.bytes.set(b, off);
    return this;
  }
  /** mar_cpg_name_t: u32 length, 128 bytes at +8, no NUL. */
  cpgName(off: number, s: string): this {
    const b = new TextEncoder().encode(s);
    this.u32(off, b.length);
    this.bytes.set(b, off + 8);
    return this;
  }
  /** mar_cpg_address_t entries: nodeid @0, pid @8, reason @16, 24 bytes each. */
  cpgAddrs(off: number, list: { nodeid: number; pid: number; reason: number }[]): this {
    list.forEach((a, i) => this.u32(off + 24 * i, a.nodeid).u32(off + 24 * i + 8, a.pid).u32(off + 24 * i + 16, a.reason));
    return this;
  }
  u32s(off: number, list: number[]): this {
    list.forEach((v, i) => this.u32(off + 4 * i, v));
    return this;
  }
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const bytesOf = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/**
 * Runs `assert` (an fc.assert over `numRuns`) for `runs` runs in slices, with an event-loop turn
 * between slices: tens of thousands of runs in one synchronous fc.assert block the vitest worker for
 * long enough under load that its RPC times out ("Timeout calling onTaskUpdate") and fails the run.
 */
export async function inSlices(runs: number, assert: (numRuns: number) => void, slice = 1000): Promise<void> {
  for (let done = 0; done < runs; done += slice) {
    assert(Math.min(slice, runs - done));
    await new Promise((r) => setImmediate(r));
  }
}
