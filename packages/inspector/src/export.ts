// The JSON export's writer: the selection's rows written as UTF-8 bytes straight into a reused
// buffer. The text is what JSON.stringify of each row object gives (see exportRow in the tests,
// the writer's reference), but no object, no string per row and no second UTF-8 encoding is made
// (a Blob made of strings encodes them again, and a string built by += is flattened first): in
// Chromium those were most of an export's time. Frames are decoded again here (the capture keeps
// only which message each frame is), and their fields are written from the codec's slots.
import { DIR_CODES, SERVICE_CODES, codec, decodedToJSON, runtimeMessages, type RuntimeMessage } from '@corosync-ts/codec-wasm';
import { DIRS, messageName, type Capture } from './model.js';

const utf8 = new TextEncoder();
const HEX = new Uint8Array(512);
for (let b = 0; b < 256; b++) {
  const h = b.toString(16).padStart(2, '0');
  HEX[2 * b] = h.charCodeAt(0);
  HEX[2 * b + 1] = h.charCodeAt(1);
}

/** Fields written from the codec's slots; a message with any other kind goes through decodedToJSON. */
const SIMPLE = new Set(['u8', 'u16', 'u32', 'i32', 'u64', 'i64', 'name', 'chars', 'csName', 'bytes', 'cpgName']);
// codec.number() and friends take field indices below 16
const MAX_SIMPLE_FIELDS = 16;

interface MessageText {
  /** `{"name":"…","id":` */
  head: Uint8Array;
  response: boolean;
  /** `"field":` per field (with a comma before all but the first), or undefined: not simple */
  keys: Uint8Array[] | undefined;
  types: string[];
}

/** Writes rows into a buffer, handing each full buffer to `sink` (which must copy what it keeps). */
export class ExportWriter {
  private buf: Uint8Array<ArrayBuffer>;
  private pos = 0;
  private readonly prefixes = new Map<number, (Uint8Array | undefined)[]>();
  private readonly names = new Map<number, Uint8Array>();
  private readonly messages = new Map<number, MessageText>();
  private readonly svcCode: number[];
  private rows = 0;

  constructor(private readonly c: Capture, private readonly sink: (bytes: Uint8Array<ArrayBuffer>) => void, size = 4 << 20) {
    this.buf = new Uint8Array(size);
    this.svcCode = c.services.map((s) => (SERVICE_CODES as Record<string, number>)[s] ?? -1);
  }

  /** Frame i as the next row of the array. */
  row(i: number): void {
    const c = this.c;
    const len = c.len[i]!;
    this.raw(this.rows++ === 0 ? '[\n{"index":' : ',\n{"index":');
    this.num(i);
    this.raw(',"t":');
    this.num(c.t[i]!);
    this.bytes(this.prefix(i));
    const m = c.msg[i]!;
    this.bytes(this.nameOf(i, m));
    this.raw(',"size":');
    this.num(len);
    const p = c.pair[i]!;
    if (p >= 0) {
      this.raw(',"pair":');
      this.num(p);
      this.raw(',"latencyNs":');
      this.num(Math.abs(c.t[p]! - c.t[i]!));
    }
    this.raw(',"decoded":');
    const off = c.off[i]!;
    if (m >= 0) this.decoded(i, off, len, m);
    else this.raw('null');
    // the builders keep a DecodeError for each frame that failed (msg -1), and only for those
    const e = m === -1 ? c.decodeErrors.get(i) : undefined;
    if (e) {
      this.raw(',"decodeError":');
      this.text(JSON.stringify({ kind: e.kind, field: e.field, offset: e.offset, message: e.message }));
    }
    this.room(2 * len + 16);
    this.raw(',"hex":"');
    this.hex(c.bytes, off, len);
    this.raw('"}');
  }

  /** The array's end; hands the rest of the buffer to the sink. */
  end(): void {
    this.room(8);
    this.raw(this.rows ? '\n]\n' : '[]\n');
    this.flush();
  }

  /** Hands what the buffer holds to the sink. */
  flush(): void {
    if (this.pos > 0) this.sink(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = new Uint8Array(n);
  }

  /** ASCII text. */
  private raw(s: string): void {
    this.room(s.length);
    const b = this.buf;
    let p = this.pos;
    for (let k = 0; k < s.length; k++) b[p++] = s.charCodeAt(k);
    this.pos = p;
  }

  private bytes(x: Uint8Array): void {
    this.room(x.length);
    const b = this.buf;
    let p = this.pos;
    for (let k = 0; k < x.length; k++) b[p++] = x[k]!;
    this.pos = p;
  }

  /** Any JSON text (UTF-8 takes at most 3 bytes per UTF-16 unit). */
  private text(s: string): void {
    this.room(3 * s.length);
    const b = this.buf;
    const start = this.pos;
    let p = start;
    // ASCII, nearly always, written as it is read: encodeInto costs a view and a call per string
    for (let k = 0; k < s.length; k++) {
      const ch = s.charCodeAt(k);
      if (ch >= 0x80) {
        this.pos = start + utf8.encodeInto(s, b.subarray(start)).written;
        return;
      }
      b[p++] = ch;
    }
    this.pos = p;
  }

  /** A number as JSON.stringify writes it. */
  private num(n: number): void {
    if (!(n >= 0 && n <= 0x1f_ffff_ffff_ffff && Math.floor(n) === n)) return this.text(JSON.stringify(n));
    this.room(16);
    const b = this.buf;
    const start = this.pos;
    let p = start;
    let x = n;
    // the low digits first, then turned round; in 32-bit integers once they fit
    for (; x > 0x7fff_ffff; x = Math.floor(x / 10)) b[p++] = 48 + (x % 10);
    let y = x | 0;
    do {
      const q = (y / 10) | 0;
      b[p++] = 48 + y - 10 * q;
      y = q;
    } while (y > 0);
    this.pos = p;
    for (let l = start, r = p - 1; l < r; l++, r--) {
      const t = b[l]!;
      b[l] = b[r]!;
      b[r] = t;
    }
  }

  private hex(src: Uint8Array, off: number, len: number): void {
    const b = this.buf;
    let p = this.pos;
    for (let k = off; k < off + len; k++) {
      const x = src[k]! << 1;
      b[p++] = HEX[x]!;
      b[p++] = HEX[x + 1]!;
    }
    this.pos = p;
  }

  /** `,"conn":…,"dir":"…","name":` of frame i: the same for every frame of a connection, service and direction. */
  private prefix(i: number): Uint8Array {
    const c = this.c;
    const conn = c.conn[i]!;
    let per = this.prefixes.get(conn);
    if (!per) this.prefixes.set(conn, (per = []));
    const k = c.svc[i]! * 4 + c.dir[i]!;
    let x = per[k];
    if (!x) {
      const ci = c.conns.get(conn);
      // a view of several captures: the frame's file, and the connection's id in it
      const from = ci?.file !== undefined ? { file: c.files![ci.file]!.name, recorder: c.files![ci.file]!.header.recorder.mode } : {};
      const o = { ...from, conn: ci?.fileConn ?? conn, pid: ci?.pid, proc: ci?.proc, service: c.services[c.svc[i]!]!, transport: ci?.transport, dir: DIRS[c.dir[i]!]!, name: 0 };
      // the object's JSON without its opening brace and the placeholder name's value
      per[k] = x = utf8.encode(`,${JSON.stringify(o).slice(1, -1)}`.replace(/0$/, ''));
    }
    return x;
  }

  private nameOf(i: number, m: number): Uint8Array {
    if (m < 0) return utf8.encode(JSON.stringify(messageName(this.c, i)));
    let x = this.names.get(m);
    if (!x) this.names.set(m, (x = utf8.encode(JSON.stringify(runtimeMessages[m]!.name))));
    return x;
  }

  private messageText(m: number): MessageText {
    let t = this.messages.get(m);
    if (!t) {
      const r: RuntimeMessage = runtimeMessages[m]!;
      const simple = r.fields.length <= MAX_SIMPLE_FIELDS && r.fields.every((f) => SIMPLE.has(f.type));
      t = {
        head: utf8.encode(`{"name":${JSON.stringify(r.name)},"id":`),
        response: r.header === 'response',
        keys: simple ? r.fields.map((f, k) => utf8.encode(`${k ? ',' : ''}${JSON.stringify(f.name)}:`)) : undefined,
        types: r.fields.map((f) => f.type),
      };
      this.messages.set(m, t);
    }
    return t;
  }

  /** decodedToJSON(decode(frame i)) as JSON, frame i being message m (its bytes at off, len in the capture's). */
  private decoded(i: number, off: number, len: number, m: number): void {
    const c = this.c;
    const d = c.dir[i]!;
    const input = codec.inputBuffer(Math.max(len, 1));
    // a small frame copied by hand: a view of it per row would cost more than the copy
    if (len <= 256) for (let k = 0; k < len; k++) input[k] = c.bytes[off + k]!;
    else input.set(c.bytes.subarray(off, off + len));
    const got = codec.decodeAt(0, len, d === 3 ? SERVICE_CODES.cmap : this.svcCode[c.svc[i]!]!, d === 3 ? DIR_CODES.setup : d);
    // the capture decoded these bytes to m when it was loaded
    if (got !== m) throw new Error(`frame ${i} no longer decodes as ${runtimeMessages[m]!.name}`);
    const t = this.messageText(m);
    if (!t.keys) {
      const json = decodedToJSON(codec.decoded(m));
      if (runtimeMessages[m]!.errorUnset) delete json.error; // stack garbage, not a result
      return this.text(JSON.stringify(json));
    }
    this.bytes(t.head);
    this.num(codec.headerId());
    this.raw(',"size":');
    this.num(codec.headerSize());
    if (t.response && !runtimeMessages[m]!.errorUnset) {
      this.raw(',"error":');
      this.num(codec.headerError());
    }
    this.raw(',"fields":{');
    for (let f = 0; f < t.keys.length; f++) {
      this.bytes(t.keys[f]!);
      switch (t.types[f]) {
        case 'u64': {
          const v = codec.number(f);
          if (v > Number.MAX_SAFE_INTEGER) this.text(`"${codec.bigint(f)}"`);
          else {
            this.raw('"');
            this.num(v);
            this.raw('"');
          }
          break;
        }
        case 'i64':
          this.text(`"${BigInt.asIntN(64, codec.bigint(f))}"`);
          break;
        case 'name':
        case 'chars':
        case 'csName':
          this.text(JSON.stringify(codec.string(f)));
          break;
        case 'bytes':
        case 'cpgName': {
          const v = codec.bytes(f);
          this.room(2 * v.length + 2);
          this.raw('"');
          this.hex(v, 0, v.length);
          this.raw('"');
          break;
        }
        default:
          this.num(codec.number(f));
      }
    }
    this.raw('}}');
  }
}
