/**
 * The only place the client touches message layouts: by name through @corosync-ts/codec-wasm.
 * Field shapes follow the codec's catalog (camelCase of the C members).
 */
import { decode, encode } from '@corosync-ts/codec-wasm';

export { encodeCmapValue, decodeCmapValue } from '@corosync-ts/codec-wasm';

/** A typed cmap value: INT8..UINT32/FLOAT/DOUBLE number, INT64/UINT64 bigint, STRING, BINARY. */
export type CmapValue = number | bigint | string | Uint8Array;

export interface RingId {
  nodeid: number;
  seq: bigint;
}

export const req = {
  cmapSet: (keyName: string, type: number, value: Uint8Array) =>
    encode('cmap.set', { keyName, valueLen: BigInt(value.length), type, value }),
  cmapDelete: (keyName: string) => encode('cmap.delete', { keyName }),
  cmapGet: (keyName: string, valueLen: number) => encode('cmap.get', { keyName, valueLen: BigInt(valueLen) }),
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

export interface CmapNotifyFields {
  trackInstHandle: bigint;
  keyName: string;
  event: number;
  newValueType: number;
  oldValueType: number;
  newValueLen: bigint;
  oldValueLen: bigint;
  newValue: Uint8Array;
  oldValue: Uint8Array;
}

export function decodeEvent(service: 'cmap' | 'quorum' | 'votequorum', frame: Uint8Array) {
  return decode(frame, { service, dir: 'evt' });
}
