import { REQUEST_HEADER, messages } from './catalog.js';
import { decode, encode } from './codec.js';
import { DecodeError } from './errors.js';
import type { DecodedMessage, Direction, Service } from './types.js';

export const QB_REQUEST_HEADER_SIZE = 16;
export const QB_RESPONSE_HEADER_SIZE = 24;
export const QB_CONNECTION_REQUEST_SIZE = 24;
export const QB_CONNECTION_RESPONSE_SIZE = 12328;
export const QB_IPC_MSG_AUTHENTICATE = -1;
export const QB_IPC_MSG_DISCONNECT = -3;
/** libqb connection_type values of the connection response. */
export const QB_IPC_SOCKET = 0;
export const QB_IPC_SHM = 1;

function need(bytes: Uint8Array, offset: number, n: number, what: string): DataView {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(`${what}: bytes must be a Uint8Array`, { kind: 'badArgument' });
  if (!Number.isInteger(offset) || offset < 0 || offset + n > bytes.length) {
    throw new DecodeError(`${what}: needs ${n} bytes at offset ${offset}, have ${Math.max(0, bytes.length - offset)}`, {
      kind: 'truncated', field: 'header', offset,
    });
  }
  return new DataView(bytes.buffer, bytes.byteOffset + offset, n);
}

/** The id and size of the 16-byte qb_ipc_request_header at `offset`. Throws DecodeError if short. */
export function readRequestHeader(bytes: Uint8Array, offset = 0): { id: number; size: number } {
  const dv = need(bytes, offset, QB_REQUEST_HEADER_SIZE, 'readRequestHeader');
  return { id: dv.getInt32(0, true), size: dv.getInt32(8, true) };
}

/** The id, size and error of the 24-byte qb_ipc_response_header at `offset`. Throws DecodeError if short. */
export function readResponseHeader(bytes: Uint8Array, offset = 0): { id: number; size: number; error: number } {
  const dv = need(bytes, offset, QB_RESPONSE_HEADER_SIZE, 'readResponseHeader');
  return { id: dv.getInt32(0, true), size: dv.getInt32(8, true), error: dv.getInt32(16, true) };
}

/**
 * The libqb connection request (catalog `qb.connectionRequest`), what encode() makes of
 * `{ maxMsgSize }`, written here from the catalog's layout instead of by the WASM module: it is a
 * connection's first frame, and a client that sends it before compiling the module can compile
 * it while the server sets the connection up (`codec.load()`). A value the catalog's u32 does not
 * hold goes through encode(), for the EncodeError encode() throws.
 */
export function encodeConnectionRequest(maxMsgSize: number): Uint8Array {
  if (!Number.isInteger(maxMsgSize) || maxMsgSize < 0 || maxMsgSize > 0xffff_ffff) return encode('qb.connectionRequest', { maxMsgSize });
  const m = connectionRequest();
  const bytes = new Uint8Array(m.size);
  const dv = new DataView(bytes.buffer);
  for (const f of REQUEST_HEADER.fields) dv.setInt32(f.offset, f.name === 'id' ? m.id : m.size, true);
  dv.setUint32(m.fields[0].offset, maxMsgSize, true);
  return bytes;
}

type ConnectionRequestSpec = Extract<(typeof messages)[number], { name: 'qb.connectionRequest' }>;
let requestSpec: ConnectionRequestSpec | undefined;
function connectionRequest(): ConnectionRequestSpec {
  return (requestSpec ??= messages.find((m): m is ConnectionRequestSpec => m.name === 'qb.connectionRequest')!);
}

export interface SplitOptions {
  /** Smallest acceptable frame: 16 for requests (default), 24 for responses and events. */
  minFrameSize?: number;
  /** Largest acceptable size field; anything larger is garbage. Default 16 MiB. */
  maxFrameSize?: number;
}

const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;

/**
 * Splits a byte stream into frames by the header's size field (offset 8). Feed chunks with
 * push(); complete frames come back (copies, so the input can be reused). A size field below
 * minFrameSize or above maxFrameSize means the stream is not frames (garbage or lost sync):
 * push() throws DecodeError kind 'badFrame', and so does every later push() (no resync is
 * possible without a frame marker).
 */
export class FrameSplitter {
  readonly #min: number;
  readonly #max: number;
  #buf = new Uint8Array(0);
  #len = 0;
  #consumed = 0;
  #failed: DecodeError | undefined;

  constructor(opts: SplitOptions = {}) {
    this.#min = opts.minFrameSize ?? QB_REQUEST_HEADER_SIZE;
    this.#max = opts.maxFrameSize ?? DEFAULT_MAX_FRAME;
  }

  /** Bytes received that do not yet form a complete frame. */
  get pending(): number {
    return this.#len;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#failed) throw this.#failed;
    if (!(chunk instanceof Uint8Array)) throw new DecodeError('FrameSplitter.push: chunk must be a Uint8Array', { kind: 'badArgument' });
    if (this.#len + chunk.length > this.#buf.length) {
      const grown = new Uint8Array(Math.max(this.#len + chunk.length, this.#buf.length * 2, 4096));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
    const frames: Uint8Array[] = [];
    let pos = 0;
    const dv = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.length);
    while (this.#len - pos >= 12) {
      const size = dv.getInt32(pos + 8, true);
      if (size < this.#min || size > this.#max) {
        this.#failed = new DecodeError(
          `frame at stream offset ${this.#consumed + pos} has size ${size}, outside ${this.#min}..${this.#max}: not a frame boundary`,
          { kind: 'badFrame', field: 'size', offset: this.#consumed + pos + 8 },
        );
        throw this.#failed;
      }
      if (this.#len - pos < size) break;
      frames.push(this.#buf.slice(pos, pos + size));
      pos += size;
    }
    if (pos > 0) {
      this.#buf.copyWithin(0, pos, this.#len);
      this.#len -= pos;
      this.#consumed += pos;
    }
    return frames;
  }

  /** Declares the end of the stream: throws DecodeError 'truncated' if a partial frame is left. */
  end(): void {
    if (this.#failed) throw this.#failed;
    if (this.#len > 0) {
      throw new DecodeError(`stream ends inside a frame (${this.#len} bytes left at offset ${this.#consumed})`, {
        kind: 'truncated', field: 'size', offset: this.#consumed,
      });
    }
  }
}

/** Splits a complete buffer of concatenated frames. Throws DecodeError on garbage or a partial tail. */
export function splitFrames(bytes: Uint8Array, opts: SplitOptions = {}): Uint8Array[] {
  const s = new FrameSplitter(opts);
  const frames = s.push(bytes);
  s.end();
  return frames;
}

/**
 * Decodes a buffer of concatenated frames of one service and direction (a capture, or golden
 * vectors streamed back to back). Throws DecodeError for garbage, a partial tail or a bad frame.
 */
export function decodeAll(
  bytes: Uint8Array,
  opts: { service?: Service; dir: Direction; maxFrameSize?: number },
): DecodedMessage[] {
  const minFrameSize = opts.dir === 'req' || opts.dir === 'setup' ? QB_REQUEST_HEADER_SIZE : QB_RESPONSE_HEADER_SIZE;
  const split: SplitOptions = { minFrameSize };
  if (opts.maxFrameSize !== undefined) split.maxFrameSize = opts.maxFrameSize;
  return splitFrames(bytes, split).map((f) => decode(f, opts));
}
