// The libqb setup frames and headers, through @corosync-ts/codec-wasm (the one place
// that knows frame layouts); this file only maps codec errors to IpcError.
import {
  QB_CONNECTION_REQUEST_SIZE,
  RESPONSE_HEADER,
  codec,
  messages,
  decode,
  encode,
  isDecodeError,
  readRequestHeader as codecReadRequestHeader,
} from '@corosync-ts/codec-wasm';
import { IpcError } from './errors.js';

export {
  QB_CONNECTION_REQUEST_SIZE,
  QB_CONNECTION_RESPONSE_SIZE,
  QB_IPC_MSG_AUTHENTICATE,
  QB_IPC_MSG_DISCONNECT,
  QB_IPC_SHM,
  QB_IPC_SOCKET,
  QB_REQUEST_HEADER_SIZE,
  QB_RESPONSE_HEADER_SIZE,
  // written without the codec's WASM module, which need not be compiled before the request goes out (loadCodec)
  encodeConnectionRequest,
} from '@corosync-ts/codec-wasm';

export interface ConnectionResponse {
  error: number;
  connectionType: number;
  maxMsgSize: number;
  request: string;
  response: string;
  event: string;
}

function asIpcError(e: unknown, what: string): IpcError {
  if (isDecodeError(e)) return new IpcError('EBADMSG', `${what}: ${e.message}`, { cause: e });
  return e instanceof IpcError ? e : new IpcError('EINVAL', `${what}: ${(e as Error).message}`, { cause: e });
}

export function readRequestHeader(b: Uint8Array): { id: number; size: number } {
  try {
    return codecReadRequestHeader(b);
  } catch (e) {
    throw asIpcError(e, 'request header');
  }
}

/** Compiles the codec's WASM module now, if nothing has yet. */
export function loadCodec(): void {
  codec.load();
}

export function decodeConnectionRequest(b: Uint8Array): { id: number; maxMsgSize: number } {
  try {
    // libqb 2.0.6 servers ignore hdr.size here; so do we (the codec would not).
    const req = b.slice(0, QB_CONNECTION_REQUEST_SIZE);
    if (req.length === QB_CONNECTION_REQUEST_SIZE) new DataView(req.buffer).setInt32(8, QB_CONNECTION_REQUEST_SIZE, true);
    const d = decode(req, { dir: 'setup' });
    if (d.name !== 'qb.connectionRequest') throw new IpcError('EBADMSG', `expected a connection request, got ${d.name}`);
    return { id: d.id, maxMsgSize: (d.fields as { maxMsgSize: number }).maxMsgSize };
  } catch (e) {
    throw asIpcError(e, 'connection request');
  }
}

export function decodeConnectionResponse(b: Uint8Array): ConnectionResponse {
  return connectionResponse(b) ?? decodeConnectionResponseByCodec(b);
}

type ResponseSpec = Extract<(typeof messages)[number], { name: 'qb.connectionResponse' }>;
let responseSpec: ResponseSpec | undefined;
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * @internal a connection response read in JavaScript at the catalog's offsets, or undefined for
 * any frame that is not of the exact size with the setup id (the codec then says what is wrong).
 * Each string ends at its first NUL or its array's end and is decoded as the codec decodes it.
 * Why: corosync's answer to every connection, and a client whose calls read their answers without
 * the codec (cmap's GETs) then never compiles the codec's WASM module.
 */
export function connectionResponse(b: Uint8Array): ConnectionResponse | undefined {
  const m = (responseSpec ??= messages.find((x): x is ResponseSpec => x.name === 'qb.connectionResponse')!);
  if (b.length !== m.size) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const header = (name: string) => dv.getInt32(RESPONSE_HEADER.fields.find((f) => f.name === name)!.offset, true);
  if (header('id') !== m.id || header('size') !== m.size) return undefined;
  const field = (name: string) => m.fields.find((f) => f.name === name)!;
  const chars = (name: string) => {
    const f = field(name) as Extract<ResponseSpec['fields'][number], { type: 'chars' }>;
    const s = b.subarray(f.offset, f.offset + f.len);
    const nul = s.indexOf(0);
    return utf8.decode(nul >= 0 ? s.subarray(0, nul) : s);
  };
  return {
    error: header('error'),
    connectionType: dv.getInt32(field('connectionType').offset, true),
    maxMsgSize: dv.getUint32(field('maxMsgSize').offset, true),
    request: chars('request'),
    response: chars('response'),
    event: chars('event'),
  };
}

/** @internal decodeConnectionResponse() through the codec, whatever the frame (the reference in tests). */
export function decodeConnectionResponseByCodec(b: Uint8Array): ConnectionResponse {
  try {
    const d = decode(b, { dir: 'setup' });
    if (d.name !== 'qb.connectionResponse') throw new IpcError('EBADMSG', `expected a connection response, got ${d.name}`);
    const f = d.fields as Omit<ConnectionResponse, 'error'>;
    return {
      error: d.error ?? 0,
      connectionType: f.connectionType,
      maxMsgSize: f.maxMsgSize,
      request: f.request,
      response: f.response,
      event: f.event,
    };
  } catch (e) {
    throw asIpcError(e, 'connection response');
  }
}

export function encodeConnectionResponse(r: ConnectionResponse): Uint8Array {
  if (r.error !== 0) {
    // A refusal carries only the header; every other byte is zero, as libqb sends it.
    return encode(
      'qb.connectionResponse',
      { connectionType: 0, maxMsgSize: 0, connection: 0n, request: '', response: '', event: '' },
      { error: r.error },
    );
  }
  try {
    // `connection` is an opaque server pointer the client ignores; non-zero like libqb's.
    return encode(
      'qb.connectionResponse',
      { connectionType: r.connectionType, maxMsgSize: r.maxMsgSize, connection: 1n, request: r.request, response: r.response, event: r.event },
      { error: 0 },
    );
  } catch (e) {
    throw asIpcError(e, 'connection response');
  }
}
