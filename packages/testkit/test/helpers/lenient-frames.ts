import { encodeCmapValue, encoders } from '@corosync-ts/codec-wasm';
import { CmapValueType as T } from '@corosync-ts/types';

// Requests corosync reads leniently (fixed offsets, C strings), built from well-formed frames.

const setSize = (f: Uint8Array) => {
  new DataView(f.buffer, f.byteOffset).setInt32(8, f.length, true);
  return f;
};

/** A well-formed frame with `extra` zero bytes appended (header size included). */
export function oversize(frame: Uint8Array, extra: number): Uint8Array {
  const f = new Uint8Array(frame.length + extra);
  f.set(frame);
  return setSize(f);
}

/** A frame whose mar_name_t at `offset` says `length`, whatever its value holds. */
export function nameLength(frame: Uint8Array, length: number, offset = 16): Uint8Array {
  const f = frame.slice();
  new DataView(f.buffer).setUint16(offset, length, true);
  return f;
}

export const stringSet = (key: string, value: string) =>
  encoders.cmap.req.set({ keyName: key, type: T.STRING, value: encodeCmapValue(T.STRING, value) });

export const get = (key: string) => encoders.cmap.req.get({ keyName: key, valueLen: 256n });

/** A cmap.get whose 256-byte key value has no NUL (the valueLen after it is 0, so a C string stops there). */
export function getKeyWithoutNul(fill: string): Uint8Array {
  const f = encoders.cmap.req.get({ keyName: '', valueLen: 0n });
  f.fill(fill.charCodeAt(0), 24, 24 + 256);
  new DataView(f.buffer).setUint16(16, 256, true);
  return f;
}

/** The cmap requests the real-daemon comparison sends on one connection, in order. */
export function cmapLeniencyScript(): Uint8Array[] {
  return [
    oversize(get('totem.cluster_name'), 64),
    // corosync passes key_name.value on as a C string: the length word does not matter to set/get/delete
    nameLength(stringSet('tk.lenient.zero', 'a'), 0),
    get('tk.lenient.zero'),
    nameLength(stringSet('tk.lenient.huge', 'b'), 0xffff),
    nameLength(get('tk.lenient.huge'), 3),
    getKeyWithoutNul('k'),
  ];
}
