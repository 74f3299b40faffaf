// libsam's child<->supervisor protocol (corosync lib/sam.c, corosync-services.md §8.3). The bytes are
// those libsam writes with write(2), native-endian, x86_64 LP64 sizes (size_t = 8, int = 4).

export const SAM_COMMAND_START = 0;
export const SAM_COMMAND_STOP = 1;
export const SAM_COMMAND_HB = 2;
export const SAM_COMMAND_DATA_STORE = 3;
export const SAM_COMMAND_WARN_SIGNAL_SET = 4;
export const SAM_COMMAND_MARK_FAILED = 5;

export const SAM_REPLY_OK = 0;
export const SAM_REPLY_ERROR = 1;

/** The cmap `state` strings libsam writes. */
export const SAM_CMAP_S_FAILED = 'failed';
export const SAM_CMAP_S_REGISTERED = 'stopped';
export const SAM_CMAP_S_STARTED = 'running';
export const SAM_CMAP_S_Q_WAIT = 'waiting for quorum';

/** What the supervisor's per-child loop decided (sam_parent_action_t). */
export type ParentAction = 'error' | 'recovery' | 'quit' | 'continue';

/** libsam's SAM_RP_MASK: the QUIT/RESTART part of a policy. */
export function policyBase(policy: number): number {
  return policy & ~(0x08 | 0x10);
}

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function encodeCommand(command: number): Uint8Array {
  return Uint8Array.of(command);
}

export function encodeDataStore(data: Uint8Array | null): Uint8Array {
  const size = data === null ? 0 : data.byteLength;
  const out = new Uint8Array(1 + 8 + size);
  out[0] = SAM_COMMAND_DATA_STORE;
  new DataView(out.buffer).setBigUint64(1, BigInt(size), LE);
  if (data !== null) out.set(data, 9);
  return out;
}

export function encodeWarnSignalSet(signal: number): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = SAM_COMMAND_WARN_SIGNAL_SET;
  new DataView(out.buffer).setInt32(1, signal, LE);
  return out;
}

export function encodeReply(error: number, csOk: number): Uint8Array {
  if (error === csOk) return Uint8Array.of(SAM_REPLY_OK);
  const out = new Uint8Array(5);
  out[0] = SAM_REPLY_ERROR;
  new DataView(out.buffer).setInt32(1, error, LE);
  return out;
}

export function readSize(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, LE);
}

export function readInt32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getInt32(0, LE);
}

/**
 * Without fork(), the child cannot inherit the supervisor's memory. What libsam's child inherits
 * travels instead in an environment variable (small scalars) and, for the stored data, as the first
 * bytes on the reply channel: a u64 size and the data, the same layout as a DATA_STORE payload.
 */
export const SAM_CHILD_ENV = 'COROSYNC_TS_SAM_CHILD';

export interface ChildMarker {
  instanceId: number;
  commandFd: number;
  replyFd: number;
  timeInterval: number;
  policy: number;
  warnSignal: number;
  supervisorPid: number;
}

const MARKER_KEYS = ['instanceId', 'commandFd', 'replyFd', 'timeInterval', 'policy', 'warnSignal', 'supervisorPid'] as const;

export function encodeMarker(m: ChildMarker): string {
  return 'v1;' + MARKER_KEYS.map((k) => `${k}=${m[k]}`).join(';');
}

/** undefined when the value is not a marker this version wrote. */
export function parseMarker(text: string): ChildMarker | undefined {
  const parts = text.split(';');
  if (parts.shift() !== 'v1') return undefined;
  const values = new Map<string, number>();
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq < 0) return undefined;
    const v = Number(p.slice(eq + 1));
    if (!Number.isSafeInteger(v)) return undefined;
    values.set(p.slice(0, eq), v);
  }
  const out: Partial<ChildMarker> = {};
  for (const k of MARKER_KEYS) {
    const v = values.get(k);
    if (v === undefined) return undefined;
    out[k] = v;
  }
  return out as ChildMarker;
}
