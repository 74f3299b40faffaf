/**
 * The only place the client touches message layouts: by name through @corosync-ts/codec-wasm.
 * Field shapes follow the codec's catalog (camelCase of the C members).
 */
import { DIR_CODES, SERVICE_CODES, codec, decode, encode } from '@corosync-ts/codec-wasm';
import { CS_ERR_LIBRARY, CS_OK, CsError } from '@corosync-ts/types';
import { toCsError } from './errors.js';

export { encodeCmapValue, decodeCmapValue } from '@corosync-ts/codec-wasm';

/** A typed cmap value: INT8..UINT32/FLOAT/DOUBLE number, INT64/UINT64 bigint, STRING, BINARY. */
export type CmapValue = number | bigint | string | Uint8Array;

export interface RingId {
  nodeid: number;
  seq: bigint;
}

const getFrames = new Map<string, Uint8Array>();

export const req = {
  cmapSet: (keyName: string, type: number, value: Uint8Array) =>
    encode('cmap.set', { keyName, valueLen: BigInt(value.length), type, value }),
  cmapDelete: (keyName: string) => encode('cmap.delete', { keyName }),
  cmapGet: (keyName: string, valueLen: number) => {
    // Polling the same few keys is the common use: their GET frames are encoded once.
    const k = `${valueLen}\0${keyName}`;
    let f = getFrames.get(k);
    if (!f) {
      if (getFrames.size >= 512) getFrames.clear();
      f = encode('cmap.get', { keyName, valueLen: BigInt(valueLen) });
      getFrames.set(k, f);
    }
    return f;
  },
  cmapAdjustInt: (keyName: string, step: number) => encode('cmap.adjustInt', { keyName, step }),
  cmapIterInit: (prefix: string) => encode('cmap.iterInit', { prefix }),
  cmapIterNext: (iterHandle: bigint) => encode('cmap.iterNext', { iterHandle }),
  cmapIterFinalize: (iterHandle: bigint) => encode('cmap.iterFinalize', { iterHandle }),
  cmapTrackAdd: (keyName: string, trackType: number, trackInstHandle: bigint) =>
    encode('cmap.trackAdd', { keyName, trackType, trackInstHandle }),
  cmapTrackDelete: (trackHandle: bigint) => encode('cmap.trackDelete', { trackHandle }),
  cmapSetCurrentMap: (map: number) => encode('cmap.setCurrentMap', { map }),

  quorumGetquorate: () => encode('quorum.getquorate', {}),
  quorumTrackstart: (trackFlags: number) => encode('quorum.trackstart', { trackFlags }),
  quorumTrackstop: () => encode('quorum.trackstop', {}),
  quorumGettype: () => encode('quorum.gettype', {}),
  quorumModelGettype: (model: number) => encode('quorum.modelGettype', { model }),

  vqGetinfo: (nodeid: number) => encode('votequorum.getinfo', { nodeid }),
  vqSetexpected: (expectedVotes: number) => encode('votequorum.setexpected', { expectedVotes }),
  vqSetvotes: (nodeid: number, votes: number) => encode('votequorum.setvotes', { votes, nodeid }),
  vqTrackstart: (context: bigint, trackFlags: number) => encode('votequorum.trackstart', { context, trackFlags }),
  vqTrackstop: () => encode('votequorum.trackstop', {}),
  vqQdeviceRegister: (name: string) => encode('votequorum.qdeviceRegister', { name }),
  vqQdeviceUnregister: (name: string) => encode('votequorum.qdeviceUnregister', { name }),
  vqQdeviceUpdate: (oldname: string, newname: string) => encode('votequorum.qdeviceUpdate', { oldname, newname }),
  vqQdevicePoll: (name: string, castVote: number, ringId: RingId) =>
    encode('votequorum.qdevicePoll', { name, castVote, ringId }),
  vqQdeviceMasterWins: (name: string, allow: number) => encode('votequorum.qdeviceMasterWins', { name, allow }),
};

/** A cmap notification as the client needs it; the value views point into the event frame. */
export interface CmapNotifyFields {
  /** The client's cookie (the client keeps them below 2^53, so a number is exact). */
  trackInstHandle: number;
  keyName: string;
  event: number;
  newValueType: number;
  oldValueType: number;
  newValue: Uint8Array;
  oldValue: Uint8Array;
}

export function decodeEvent(service: 'cmap' | 'quorum' | 'votequorum', frame: Uint8Array) {
  return decode(frame, { service, dir: 'evt' });
}

// ---------------------------------------------------------------------------------- fast paths
// cmap GET answers and notifications are the hot frames: read them through the codec's
// allocation-free accessors instead of building a Decoded object per frame.

const GET_RES = codec.messageIndex('cmap.get', 'res');
const GET_VALUE_LEN = codec.fieldIndex(GET_RES, 'valueLen');
const GET_TYPE = codec.fieldIndex(GET_RES, 'type');
const GET_VALUE = codec.fieldIndex(GET_RES, 'value');
const NOTIFY = codec.messageIndex('cmap.notify', 'evt');
const N = Object.fromEntries(
  ['trackInstHandle', 'keyName', 'event', 'newValueType', 'oldValueType', 'newValue', 'oldValue'].map((f) => [f, codec.fieldIndex(NOTIFY, f)]),
) as Record<keyof CmapNotifyFields, number>;

function decodeInto(frame: Uint8Array, service: number, dir: number, operation: string): number {
  codec.inputBuffer(frame.length).set(frame);
  const m = codec.decodeInput(frame.length, service, dir);
  if (m < 0) throw toCsError(codec.lastError(), operation);
  return m;
}

/** A cmap GET answer: its type, the stored length and a copy of the value bytes. */
export function parseCmapGet(res: Uint8Array, operation: string): { type: number; length: number; bytes: Uint8Array } {
  const m = decodeInto(res, SERVICE_CODES.cmap, DIR_CODES.res, operation);
  const error = codec.headerError();
  if (error !== CS_OK) throw new CsError(error, undefined, { operation });
  if (m !== GET_RES) throw new CsError(CS_ERR_LIBRARY, `unexpected answer ${codec.message(m)?.name}`, { operation });
  const length = codec.number(GET_VALUE_LEN);
  return { type: codec.number(GET_TYPE), length, bytes: codec.bytes(GET_VALUE).slice(0, length) };
}

/**
 * A cmap event: the notification's fields, or undefined for another id. The frame belongs to the
 * caller (ipc hands each event over in its own buffer), so the values are views into it, not copies.
 */
export function parseCmapEvent(frame: Uint8Array, operation: string): CmapNotifyFields | undefined {
  if (decodeInto(frame, SERVICE_CODES.cmap, DIR_CODES.evt, operation) !== NOTIFY) return undefined;
  const nv = codec.dataOffset(N.newValue);
  const ov = codec.dataOffset(N.oldValue);
  return {
    trackInstHandle: codec.number(N.trackInstHandle),
    keyName: codec.string(N.keyName),
    event: codec.number(N.event),
    newValueType: codec.number(N.newValueType),
    oldValueType: codec.number(N.oldValueType),
    newValue: frame.subarray(nv, nv + codec.dataLength(N.newValue)),
    oldValue: frame.subarray(ov, ov + codec.dataLength(N.oldValue)),
  };
}
