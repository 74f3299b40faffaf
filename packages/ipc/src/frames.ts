// The libqb setup frames and headers. Layouts come from @corosync-ts/codec-wasm's
// catalog (qb.connectionRequest / qb.connectionResponse); this file only adapts them
// to what the transport needs.
import { IpcError } from './errors.js';

export const QB_REQUEST_HEADER_SIZE = 16;
export const QB_RESPONSE_HEADER_SIZE = 24;
export const QB_CONNECTION_REQUEST_SIZE = 24;
export const QB_CONNECTION_RESPONSE_SIZE = 12328;
export const QB_IPC_MSG_AUTHENTICATE = -1;
export const QB_IPC_MSG_DISCONNECT = -3;
export const QB_IPC_SOCKET = 0;
export const QB_IPC_SHM = 1;

export interface ConnectionResponse {
  error: number;
  connectionType: number;
  maxMsgSize: number;
  request: string;
  response: string;
  event: string;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function readRequestHeader(b: Uint8Array): { id: number; size: number } {
  if (b.length < QB_REQUEST_HEADER_SIZE) throw new IpcError('EBADMSG', `frame of ${b.length} bytes is shorter than a request header`);
  const v = view(b);
  return { id: v.getInt32(0, true), size: v.getInt32(8, true) };
}

export function encodeConnectionRequest(maxMsgSize: number): Uint8Array {
  const b = new Uint8Array(QB_CONNECTION_REQUEST_SIZE);
  const v = view(b);
  v.setInt32(0, QB_IPC_MSG_AUTHENTICATE, true);
  v.setInt32(8, QB_CONNECTION_REQUEST_SIZE, true);
  v.setUint32(16, maxMsgSize, true);
  return b;
}

export function decodeConnectionRequest(b: Uint8Array): { id: number; maxMsgSize: number } {
  const v = view(b);
  return { id: v.getInt32(0, true), maxMsgSize: v.getUint32(16, true) };
}

function cstr(b: Uint8Array, off: number): string {
  const s = b.subarray(off, off + 4096);
  const nul = s.indexOf(0);
  return Buffer.from(nul < 0 ? s : s.subarray(0, nul)).toString('utf8');
}

export function decodeConnectionResponse(b: Uint8Array): ConnectionResponse {
  if (b.length < QB_CONNECTION_RESPONSE_SIZE) throw new IpcError('EBADMSG', 'short connection response');
  const v = view(b);
  if (v.getInt32(0, true) !== QB_IPC_MSG_AUTHENTICATE) throw new IpcError('EBADMSG', 'connection response with a wrong id');
  return {
    error: v.getInt32(16, true),
    connectionType: v.getInt32(24, true),
    maxMsgSize: v.getUint32(28, true),
    request: cstr(b, 40),
    response: cstr(b, 4136),
    event: cstr(b, 8232),
  };
}

export function encodeConnectionResponse(r: ConnectionResponse): Uint8Array {
  const b = new Uint8Array(QB_CONNECTION_RESPONSE_SIZE);
  const v = view(b);
  v.setInt32(0, QB_IPC_MSG_AUTHENTICATE, true);
  v.setInt32(8, QB_CONNECTION_RESPONSE_SIZE, true);
  v.setInt32(16, r.error, true);
  if (r.error === 0) {
    v.setInt32(24, r.connectionType, true);
    v.setUint32(28, r.maxMsgSize, true);
    // `connection` is an opaque server pointer the client ignores; non-zero like libqb's.
    v.setBigUint64(32, 1n, true);
    for (const [off, s] of [[40, r.request], [4136, r.response], [8232, r.event]] as const) {
      const bytes = Buffer.from(s, 'utf8');
      if (bytes.length > 254) throw new IpcError('ENAMETOOLONG', `setup path too long: ${s}`);
      b.set(bytes, off);
    }
  }
  return b;
}
