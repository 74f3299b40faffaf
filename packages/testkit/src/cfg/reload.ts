import { CS_OK, CS_ERR_INVALID_PARAM, CmapValueType as T } from '@corosync-ts/types';
import type { CmapStore } from '../cmap-store.js';
import type { ConfigEntry } from '../config.js';
import { totemRuntime } from '../runtime-keys.js';
import { encodeStored } from '../values.js';

/**
 * What cfg's RELOAD_CONFIG multicasts (exec message 3): the corosync.conf the requester read,
 * parsed, or undefined when it did not parse; `reply` answers the requesting client.
 */
export interface ReloadMessage {
  readonly entries: readonly ConfigEntry[] | undefined;
  readonly reply: (error: number) => void;
}

/** The exec message id of cfg's reload (runtime.services.cfg.3.*). */
export const CFG_EXEC_RELOAD = 3;

/** Where keys missing from the new file are deleted (exec/cfg.c remove_deleted_entries). */
const RELOADED_PREFIXES = ['logging.', 'totem.', 'nodelist.', 'quorum.', 'uidgid.config.', 'nozzle.'];

/**
 * Keys a reload may not change (exec/cfg.c remove_ro_entries): a new value is dropped, the old one
 * stays. The crypto keys are not among them: Debian's knet reconfigures crypto at run time.
 */
const FIXED_AT_START = [
  'totem.version', 'totem.threads', 'totem.ip_version', 'totem.rrp_mode', 'totem.netmtu',
  'totem.interface.ringnumber', 'totem.interface.bindnetaddr', 'totem.interface.mcastaddr', 'totem.interface.broadcast',
  'totem.interface.mcastport', 'totem.interface.ttl', 'totem.transport', 'totem.cluster_name', 'quorum.provider',
  'system.move_to_root_cgroup', 'system.allow_knet_handle_fallback', 'system.sched_rr', 'system.priority',
  'system.qb_ipc_type', 'system.state_dir',
];

interface Staged { type: number; bytes: Uint8Array }

function stage(type: number, value: ConfigEntry['value']): Staged {
  return { type, bytes: encodeStored(type, value) };
}

function sameAsLive(cmap: CmapStore, key: string, s: Staged): boolean {
  const live = cmap.get(key);
  if (live === undefined || live.type !== s.type || live.value.length !== s.bytes.length) return false;
  return live.value.every((b, i) => b === s.bytes[i]);
}

/**
 * One node's exec handler of the reload (message_handler_req_exec_cfg_reload_config): the new
 * keys go live in key order (a tracker sees deletions first, then ADD / MODIFY for what changed),
 * runtime.config.totem.* are derived again, keys fixed at start keep their value, and the
 * config.* flags frame it (votequorum rereads its keys when totemconfig_reload_in_progress
 * drops to 0). A file that did not parse leaves config.totemconfig_reload_in_progress at 1 and
 * config.reload_status as it was, as corosync 3.1.7 does. Returns the answer's cs_error_t.
 */
export function applyReload(cmap: CmapStore, nodeid: number, entries: readonly ConfigEntry[] | undefined): number {
  cmap.set('config.totemconfig_reload_in_progress', T.UINT8, 1);
  if (entries === undefined) return CS_ERR_INVALID_PARAM;
  cmap.set('config.reload_in_progress', T.UINT8, 1);

  const staged = new Map<string, Staged>();
  for (const e of entries) staged.set(e.key, stage(e.type, e.value));
  for (const prefix of RELOADED_PREFIXES) {
    for (const key of cmap.keys(prefix)) if (!staged.has(key)) cmap.delete(key);
  }
  for (const key of FIXED_AT_START) {
    const s = staged.get(key);
    if (s !== undefined && !sameAsLive(cmap, key, s)) staged.delete(key);
  }
  // totemconfig finds this node in the new nodelist again (deleted above, it comes back)
  const positions = new Set<string>();
  let localPos: number | undefined;
  for (const e of entries) {
    const m = /^nodelist\.node\.(\d+)\.nodeid$/.exec(e.key);
    if (m === null) continue;
    positions.add(m[1]!);
    if (Number(e.value) === nodeid) localPos = Number(m[1]);
  }
  if (localPos !== undefined) staged.set('nodelist.local_node_pos', stage(T.UINT32, localPos));
  // the knet ping times of the links are derived at start only (measured: they keep their values)
  for (const [key, type, value] of totemRuntime(entries, positions.size)) {
    if (!key.startsWith('runtime.config.totem.interface.')) staged.set(key, stage(type, value));
  }

  for (const key of [...staged.keys()].sort()) {
    const s = staged.get(key)!;
    cmap.setRaw(key, s.type, s.type === T.STRING ? s.bytes.subarray(0, s.bytes.length - 1) : s.bytes);
  }
  cmap.set('config.reload_status', T.INT32, CS_OK);
  cmap.set('config.totemconfig_reload_in_progress', T.UINT8, 0);
  cmap.set('config.reload_in_progress', T.UINT8, 0);
  return CS_OK;
}
