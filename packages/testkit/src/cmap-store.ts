import {
  CS_OK, CS_ERR_INVALID_PARAM, CS_ERR_NAME_TOO_LONG, CS_ERR_NOT_EXIST,
  CMAP_TRACK_ADD, CMAP_TRACK_DELETE, CMAP_TRACK_MODIFY, CMAP_TRACK_PREFIX,
  CMAP_VALUE_TYPE_SIZE, CMAP_VALUE_MAXLEN, CmapValueType as T,
} from '@corosync-ts/types';
import { invalidateAnswers } from '@corosync-ts/ipc';
import { encodeStored, decodeStored, type CmapJsValue } from './values.js';

export interface CmapItem {
  type: number;
  /** Stored bytes; strings include their trailing NUL, as in icmap. */
  value: Uint8Array;
}

export interface CmapChange {
  /** CMAP_TRACK_ADD / MODIFY / DELETE. */
  event: number;
  key: string;
  newType: number;
  newValue: Uint8Array;
  oldType: number;
  oldValue: Uint8Array;
}

export interface CmapTrack {
  readonly key: string;
  readonly flags: number;
  /** Set to false by untrack; a removed tracker never fires again. */
  active: boolean;
  readonly notify: (change: CmapChange) => void;
}

const EMPTY = new Uint8Array(0);
const NAME_CHAR = /^[A-Za-z0-9._/:-]*$/;

const RO_PREFIXES = [
  'internal_configuration.', 'runtime.services.', 'runtime.config.', 'runtime.totem.', 'uidgid.config.', 'system.', 'nodelist.',
];
const RO_KEYS = new Set([
  'totem.crypto_cipher', 'totem.crypto_hash', 'totem.crypto_model', 'totem.keyfile', 'totem.key', 'totem.secauth',
  'totem.ip_version', 'totem.rrp_mode', 'totem.transport', 'totem.cluster_name', 'totem.netmtu', 'totem.threads',
  'totem.version', 'totem.nodeid', 'totem.clear_node_high_bit', 'config.reload_in_progress',
  'config.totemconfig_reload_in_progress', 'nodelist.local_node_pos', 'quorum.allow_downscale', 'quorum.wait_for_all',
  'quorum.last_man_standing', 'quorum.last_man_standing_window', 'quorum.expected_votes_tracking',
  'quorum.auto_tie_breaker', 'quorum.auto_tie_breaker_node',
]);

/** Keys a cmap client may not change (icmap_is_key_ro): the daemon answers CS_ERR_ACCESS. */
export function isReadOnlyKey(key: string): boolean {
  return RO_KEYS.has(key) || RO_PREFIXES.some((p) => key.startsWith(p));
}

/** icmap's check for a NEW key: 3..255 characters from [A-Za-z0-9._/:-]. */
export function isValidNewKeyName(key: string): boolean {
  return key.length >= 3 && key.length <= 255 && NAME_CHAR.test(key);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte-wise (strcmp) order; for the ASCII key alphabet UTF-16 code unit order is the same. */
function lowerBound(arr: string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One node's icmap: typed values in trie order, live prefix iterators and libqb-trie style
 * tracking (exact key, or PREFIX for everything below a string; deeper notifiers first).
 */
export class CmapStore {
  private readonly items = new Map<string, CmapItem>();
  private readonly sorted: string[] = [];
  /**
   * qb's trie counts references to a key's node: the map's own, and one per iterator standing on
   * it. A delete drops one, and the key goes (DELETE notified then) when none is left: deleted
   * under an iterator it stays, answers GETs and is iterated, until the iterator moves on or is
   * finalized. The count of keys whose count is not 1.
   */
  private readonly refs = new Map<string, number>();
  private readonly tracks = new Map<string, CmapTrack[]>();

  /** Bumped by every change; lets a reader know nothing changed since it last looked. */
  version = 0;

  /** Whether a transport may answer GETs from this map's state by itself (ipc's answerRepeats) since its last change. */
  private answered = false;

  /** Before a transport answers from this map's state by itself: its next change stops that. */
  markAnswered(): void {
    this.answered = true;
  }

  /** Before anything reads the change: the answers the transports give by themselves stop. */
  private changed(): void {
    this.version++;
    this.retire();
  }

  /** The map is replaced (a node's restart): what was answered from it stops. */
  retire(): void {
    if (!this.answered) return;
    this.answered = false;
    invalidateAnswers();
  }

  get size(): number {
    return this.items.size;
  }

  get(key: string): CmapItem | undefined {
    return this.items.get(key);
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  /** The JS value of a key, or undefined. */
  getValue(key: string): CmapJsValue | undefined {
    const it = this.items.get(key);
    return it === undefined ? undefined : decodeStored(it.type, it.value);
  }

  /** Snapshot of all keys in iteration order. */
  keys(prefix = ''): string[] {
    const start = lowerBound(this.sorted, prefix);
    const out: string[] = [];
    for (let i = start; i < this.sorted.length && this.sorted[i]!.startsWith(prefix); i++) out.push(this.sorted[i]!);
    return out;
  }

  /**
   * icmap_set_r with raw wire bytes: value rules, "unchanged → nothing happens", new-key name
   * check. Returns a cs_error_t. Does not check read-only keys (that is the cmap service's job).
   */
  setRaw(key: string, type: number, value: Uint8Array): number {
    const len = value.length;
    if (len > CMAP_VALUE_MAXLEN) return CS_ERR_INVALID_PARAM;
    let stored: Uint8Array;
    if (type === T.STRING) {
      const nul = value.indexOf(0);
      // Past the end of the wire value corosync's buffer reads as more string, so strlen >= len there.
      const strlen = nul >= 0 ? nul : len;
      if (len > strlen + 1) return CS_ERR_INVALID_PARAM;
      const n = Math.min(strlen, len);
      stored = new Uint8Array(n + 1);
      stored.set(value.subarray(0, n));
    } else if (type === T.BINARY) {
      stored = value.slice();
    } else {
      const size = CMAP_VALUE_TYPE_SIZE[type];
      // Unknown types are accepted with length 0 (icmap_get_valuetype_len returns 0 for them).
      if ((size ?? 0) !== len) return CS_ERR_INVALID_PARAM;
      stored = value.slice();
    }
    const old = this.items.get(key);
    if (old !== undefined) {
      if (old.type === type && bytesEqual(old.value, stored)) return CS_OK;
    } else if (!isValidNewKeyName(key)) {
      return CS_ERR_NAME_TOO_LONG;
    }
    const item: CmapItem = { type, value: stored };
    this.changed();
    this.items.set(key, item);
    if (old === undefined) this.sorted.splice(lowerBound(this.sorted, key), 0, key);
    this.fire(key, old === undefined ? CMAP_TRACK_ADD : CMAP_TRACK_MODIFY, item, old);
    return CS_OK;
  }

  /** Typed convenience for daemon-side writes (bypasses nothing but the wire encoding). */
  set(key: string, type: number, value: CmapJsValue): number {
    const b = encodeStored(type, value);
    return this.setRaw(key, type, type === T.STRING ? b.subarray(0, b.length - 1) : b);
  }

  delete(key: string): number {
    if (!this.items.has(key)) return CS_ERR_NOT_EXIST;
    this.unref(key);
    return CS_OK;
  }

  private ref(key: string): void {
    this.refs.set(key, (this.refs.get(key) ?? 1) + 1);
  }

  private unref(key: string): void {
    const n = (this.refs.get(key) ?? 1) - 1;
    if (n === 1) this.refs.delete(key);
    else if (n > 0) this.refs.set(key, n);
    else {
      this.refs.delete(key);
      this.remove(key);
    }
  }

  private remove(key: string): void {
    const old = this.items.get(key);
    if (old === undefined) return;
    this.items.delete(key);
    this.changed();
    this.sorted.splice(lowerBound(this.sorted, key), 1);
    this.fire(key, CMAP_TRACK_DELETE, undefined, old);
  }

  /** icmap_adjust_int: integer types, wrapping in the type's width, stored through a normal set; float, double, string and binary refused. */
  adjustInt(key: string, step: number): number {
    const it = this.items.get(key);
    if (it === undefined) return CS_ERR_NOT_EXIST;
    // icmap_adjust_int_r's switch has no default: a type it does not know is left as it is, CS_OK
    if (it.type < T.INT8 || it.type > T.BINARY) return CS_OK;
    const size = CMAP_VALUE_TYPE_SIZE[it.type];
    if (size === undefined || it.type === T.FLOAT || it.type === T.DOUBLE) return CS_ERR_INVALID_PARAM;
    const bits = BigInt(size * 8);
    const mask = (1n << bits) - 1n;
    const dv = new DataView(it.value.buffer, it.value.byteOffset, it.value.byteLength);
    let cur: bigint;
    switch (size) {
      case 1: cur = BigInt(dv.getUint8(0)); break;
      case 2: cur = BigInt(dv.getUint16(0, true)); break;
      case 4: cur = BigInt(dv.getUint32(0, true)); break;
      default: cur = dv.getBigUint64(0, true); break;
    }
    const next = (cur + BigInt(step)) & mask;
    const out = new Uint8Array(size);
    const ov = new DataView(out.buffer);
    switch (size) {
      case 1: ov.setUint8(0, Number(next)); break;
      case 2: ov.setUint16(0, Number(next), true); break;
      case 4: ov.setUint32(0, Number(next), true); break;
      default: ov.setBigUint64(0, next, true); break;
    }
    return this.setRaw(key, it.type, out);
  }

  /**
   * A live prefix iterator: each next() returns the first key after the previous one that still
   * exists, so deleting while iterating works and keys added ahead of the cursor are seen. It
   * holds a reference to the key it stands on (see `refs`) until it moves on or close().
   */
  iterate(prefix: string): { next(): string | undefined; close(): void } {
    let last: string | undefined;
    let done = false;
    const leave = () => {
      if (last !== undefined && !done) this.unref(last);
    };
    return {
      next: () => {
        if (done) return undefined;
        let i = last === undefined ? lowerBound(this.sorted, prefix) : lowerBound(this.sorted, last);
        if (last !== undefined && this.sorted[i] === last) i++;
        const k = this.sorted[i];
        if (k === undefined || !k.startsWith(prefix)) {
          leave();
          done = true;
          return undefined;
        }
        this.ref(k);
        leave();
        last = k;
        return k;
      },
      close: () => {
        leave();
        done = true;
      },
    };
  }

  /** Registers a notifier on a trie node (`key` '' = root). */
  track(key: string, flags: number, notify: (c: CmapChange) => void): CmapTrack {
    const t: CmapTrack = { key, flags, active: true, notify };
    let list = this.tracks.get(key);
    if (list === undefined) this.tracks.set(key, (list = []));
    list.push(t);
    return t;
  }

  untrack(t: CmapTrack): void {
    t.active = false;
    const list = this.tracks.get(t.key);
    if (list === undefined) return;
    const i = list.indexOf(t);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.tracks.delete(t.key);
  }

  private fire(key: string, event: number, now: CmapItem | undefined, old: CmapItem | undefined): void {
    if (this.tracks.size === 0) return;
    const change: CmapChange = {
      event, key,
      newType: now?.type ?? 0, newValue: now?.value ?? EMPTY,
      oldType: old?.type ?? 0, oldValue: old?.value ?? EMPTY,
    };
    const due: CmapTrack[] = [];
    // The key's own node: newest exact notifier first, then the prefix notifiers.
    const own = this.tracks.get(key);
    if (own !== undefined) {
      for (let i = own.length - 1; i >= 0; i--) {
        const t = own[i]!;
        if (!(t.flags & CMAP_TRACK_PREFIX) && t.flags & event) due.push(t);
      }
      for (const t of own) if (t.flags & CMAP_TRACK_PREFIX && t.flags & event) due.push(t);
    }
    // Then up the trie to the root: only PREFIX notifiers, deeper ones first.
    for (let len = key.length - 1; len >= 0; len--) {
      const list = this.tracks.get(key.slice(0, len));
      if (list === undefined) continue;
      for (const t of list) if (t.flags & CMAP_TRACK_PREFIX && t.flags & event) due.push(t);
    }
    for (const t of due) if (t.active) t.notify(change);
  }
}

