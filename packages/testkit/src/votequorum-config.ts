import { CmapValueType as T, VOTEQUORUM_QDEVICE_DEFAULT_SYNC_TIMEOUT, VOTEQUORUM_QDEVICE_DEFAULT_TIMEOUT } from '@corosync-ts/types';
import type { CmapStore } from './cmap-store.js';

/** last_man_standing_window default (ms). */
export const LMS_WINDOW_DEFAULT = 10000;

/** icmap_get_uint8: undefined when the key is missing or of another type. */
export function u8(store: CmapStore, key: string): number | undefined {
  const it = store.get(key);
  return it !== undefined && it.type === T.UINT8 ? it.value[0] : undefined;
}

/** icmap_get_uint32. */
export function u32(store: CmapStore, key: string): number | undefined {
  const it = store.get(key);
  if (it === undefined || it.type !== T.UINT32) return undefined;
  return new DataView(it.value.buffer, it.value.byteOffset, 4).getUint32(0, true);
}

/** icmap_get_string. */
export function str(store: CmapStore, key: string): string | undefined {
  const it = store.get(key);
  if (it === undefined || it.type !== T.STRING) return undefined;
  const nul = it.value.indexOf(0);
  return new TextDecoder().decode(nul >= 0 ? it.value.subarray(0, nul) : it.value);
}

/** votequorum_read_nodelist_configuration: our votes, the node count and the sum of their votes. */
export interface NodelistConfig { votes: number; count: number; expected: number }

export function readNodelist(store: CmapStore): NodelistConfig | undefined {
  const ourPos = u32(store, 'nodelist.local_node_pos');
  if (ourPos === undefined) return undefined;
  let count = 0;
  let expected = 0;
  let votes = 0;
  let last = -1;
  for (const key of store.keys('nodelist.node.')) {
    const m = /^nodelist\.node\.(\d+)\.\S+$/.exec(key);
    if (!m) continue;
    const pos = Number(m[1]);
    if (pos === last) continue;
    last = pos;
    count++;
    const v = u32(store, `nodelist.node.${pos}.quorum_votes`) ?? 1;
    expected += v;
    if (pos === ourPos) votes = v;
  }
  return { votes, count, expected };
}

/** auto_tie_breaker_node as a node list: corosync's strtol loop, which stops at the first 0 or unparsable item. */
export function parseAtbList(s: string): number[] {
  const list: number[] = [];
  let rest = s;
  for (;;) {
    const m = /^\s*([+-]?\d+)/.exec(rest);
    const n = m ? Number.parseInt(m[1]!, 10) : 0;
    if (!n) break;
    list.push(n);
    rest = rest.slice(m![0].length);
  }
  return list;
}

/** Every key votequorum_readconfig reads, with corosync's defaults; the engine decides what they mean. */
export interface VqConfigKeys {
  /** quorum.expected_votes (0: unset). */
  expectedVotes: number;
  nodelist: NodelistConfig | undefined;
  /** quorum.votes, used without a nodelist. */
  votes: number;
  /** quorum.device.model; a device is configured when it is non-empty. */
  deviceModel: string | undefined;
  /** quorum.device.votes; -1 when unset. */
  deviceVotes: number;
  deviceTimeout: number;
  deviceSyncTimeout: number;
  twoNode: number;
  allowDownscale: number;
  /** quorum.wait_for_all; undefined means "follow two_node". */
  waitForAll: number | undefined;
  lastManStanding: number;
  lmsWindow: number;
  evTracking: number;
  autoTieBreaker: number;
  autoTieBreakerNode: string | undefined;
}

export function readVqConfigKeys(store: CmapStore): VqConfigKeys {
  return {
    expectedVotes: u32(store, 'quorum.expected_votes') ?? 0,
    nodelist: readNodelist(store),
    votes: u32(store, 'quorum.votes') ?? 1,
    deviceModel: str(store, 'quorum.device.model'),
    deviceVotes: u32(store, 'quorum.device.votes') ?? -1,
    deviceTimeout: u32(store, 'quorum.device.timeout') ?? VOTEQUORUM_QDEVICE_DEFAULT_TIMEOUT,
    deviceSyncTimeout: u32(store, 'quorum.device.sync_timeout') ?? VOTEQUORUM_QDEVICE_DEFAULT_SYNC_TIMEOUT,
    twoNode: u8(store, 'quorum.two_node') ?? 0,
    allowDownscale: u8(store, 'quorum.allow_downscale') ?? 0,
    waitForAll: u8(store, 'quorum.wait_for_all'),
    lastManStanding: u8(store, 'quorum.last_man_standing') ?? 0,
    lmsWindow: u32(store, 'quorum.last_man_standing_window') ?? LMS_WINDOW_DEFAULT,
    evTracking: u8(store, 'quorum.expected_votes_tracking') ?? 0,
    autoTieBreaker: u8(store, 'quorum.auto_tie_breaker') ?? 0,
    autoTieBreakerNode: str(store, 'quorum.auto_tie_breaker_node'),
  };
}
