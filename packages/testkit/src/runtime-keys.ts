import { catalog } from '@corosync-ts/codec-wasm';
import { CmapValueType as T } from '@corosync-ts/types';
import type { CmapStore } from './cmap-store.js';
import type { ConfigEntry } from './config.js';

/**
 * The services corosync 3.1.7 loads, in its load order, with their corodefs.h numbers: those the
 * catalog describes take their number from it; pload, mon and wd have no client library.
 */
const LOADED_SERVICES = ['cmap', 'cfg', 'cpg', 'quorum', 'pload', 'votequorum', 'mon', 'wd'] as const;
const COROSYNC_IDS: Record<string, number> = {
  pload: 4, mon: 6, wd: 7,
  ...Object.fromEntries(catalog.services.filter((s) => s.corosyncId !== null).map((s) => [s.name, s.corosyncId])),
};
/** Exec message ids each service registers rx/tx counters for (runtime.services.<svc>.<id>.*). */
const EXEC_COUNTERS: Record<string, number> = { cmap: 1, cfg: 5, cpg: 7, pload: 2, votequorum: 4 };
/** The watchdog timeout corosync publishes when the config sets none (seconds). */
const WATCHDOG_TIMEOUT = 6;
/** resources.system.* poll period (ms). */
const RESOURCE_POLL_PERIOD = 3000n;

export interface RuntimeKeyContext {
  hasVotequorum: boolean;
  /** nodelist.local_node_pos, when the config has a nodelist. */
  localNodePos: number | undefined;
  firstAddr: string | undefined;
  configEntries: readonly ConfigEntry[];
  nodeCount: number;
}

/** The keys corosync adds to a fresh cmap at start-up (internal_configuration, resources, runtime.*). */
export function seedRuntimeKeys(c: CmapStore, ctx: RuntimeKeyContext): void {
  const services = LOADED_SERVICES.filter((s) => s !== 'votequorum' || ctx.hasVotequorum);
  services.forEach((s, i) => {
    c.set(`internal_configuration.service.${i}.name`, T.STRING, `corosync_${s}`);
    c.set(`internal_configuration.service.${i}.ver`, T.UINT32, 0);
  });
  if (ctx.localNodePos !== undefined) c.set('nodelist.local_node_pos', T.UINT32, ctx.localNodePos);
  c.set('resources.system.load_15min.current', T.DOUBLE, 0);
  c.set('resources.system.load_15min.last_updated', T.UINT64, 0n);
  c.set('resources.system.load_15min.poll_period', T.UINT64, RESOURCE_POLL_PERIOD);
  c.set('resources.system.load_15min.state', T.STRING, 'stopped');
  c.set('resources.system.memory_used.current', T.INT32, 0);
  c.set('resources.system.memory_used.last_updated', T.UINT64, 0n);
  c.set('resources.system.memory_used.poll_period', T.UINT64, RESOURCE_POLL_PERIOD);
  c.set('resources.system.memory_used.state', T.STRING, 'stopped');
  if (!c.has('resources.watchdog_timeout')) c.set('resources.watchdog_timeout', T.UINT32, WATCHDOG_TIMEOUT);
  c.set('runtime.blackbox.dump_flight_data', T.STRING, 'no');
  c.set('runtime.blackbox.dump_state', T.STRING, 'no');
  c.set('runtime.force_gather', T.STRING, 'no');
  for (const [k, t, v] of totemRuntime(ctx.configEntries, ctx.nodeCount)) c.set(k, t, v);
  for (const s of services) {
    c.set(`runtime.services.${s}.service_id`, T.UINT16, COROSYNC_IDS[s]!);
    const n = EXEC_COUNTERS[s] ?? 0;
    for (let i = 0; i < n; i++) {
      c.set(`runtime.services.${s}.${i}.rx`, T.UINT64, 0n);
      c.set(`runtime.services.${s}.${i}.tx`, T.UINT64, 0n);
    }
  }
  if (!c.has('totem.interface.0.bindnetaddr') && ctx.firstAddr !== undefined) {
    c.set('totem.interface.0.bindnetaddr', T.STRING, ctx.firstAddr);
  }
}

/** runtime.config.totem.* as totemconfig derives them from the config and the node count. */
export function totemRuntime(configEntries: readonly ConfigEntry[], nodes: number): [string, number, number | string][] {
  const get = (k: string) => configEntries.find((e) => e.key === k)?.value;
  const num = (k: string, d: number) => {
    const v = get(k);
    return typeof v === 'number' ? v : d;
  };
  const coefficient = num('totem.token_coefficient', 650);
  let token = num('totem.token', 3000);
  if (nodes > 2) token += (nodes - 2) * coefficient;
  const retransmits = num('totem.token_retransmits_before_loss_const', 4);
  const tokenRetransmit = num('totem.token_retransmit', Math.trunc(token / (retransmits + 0.2)));
  const hold = num('totem.hold', Math.trunc(tokenRetransmit * 0.8 - 1000 / 100));
  const out: [string, number, number | string][] = [
    ['runtime.config.totem.block_unlisted_ips', T.UINT32, get('totem.block_unlisted_ips') === 'no' ? 0 : 1],
    ['runtime.config.totem.cancel_token_hold_on_retransmit', T.UINT32, get('totem.cancel_token_hold_on_retransmit') === 'yes' ? 1 : 0],
    ['runtime.config.totem.consensus', T.UINT32, num('totem.consensus', Math.trunc(1.2 * token))],
    ['runtime.config.totem.downcheck', T.UINT32, num('totem.downcheck', 1000)],
    ['runtime.config.totem.fail_recv_const', T.UINT32, num('totem.fail_recv_const', 2500)],
    ['runtime.config.totem.heartbeat_failures_allowed', T.UINT32, num('totem.heartbeat_failures_allowed', 0)],
    ['runtime.config.totem.hold', T.UINT32, hold],
  ];
  const pong = 2;
  const links = new Set<number>([0]);
  for (const e of configEntries) {
    const m = /^totem\.interface\.(\d+)\./.exec(e.key);
    if (m) links.add(Number(m[1]));
  }
  for (const l of [...links].sort((a, b) => a - b)) {
    out.push([`runtime.config.totem.interface.${l}.knet_ping_interval`, T.UINT32, num(`totem.interface.${l}.knet_ping_interval`, Math.trunc(token / (pong * 2)))]);
    out.push([`runtime.config.totem.interface.${l}.knet_ping_timeout`, T.UINT32, num(`totem.interface.${l}.knet_ping_timeout`, Math.trunc(token / pong))]);
  }
  out.push(
    ['runtime.config.totem.join', T.UINT32, num('totem.join', 50)],
    ['runtime.config.totem.knet_compression_level', T.INT32, num('totem.knet_compression_level', 0)],
    ['runtime.config.totem.knet_compression_model', T.STRING, String(get('totem.knet_compression_model') ?? 'none')],
    ['runtime.config.totem.knet_compression_threshold', T.UINT32, num('totem.knet_compression_threshold', 0)],
    ['runtime.config.totem.knet_mtu', T.UINT32, num('totem.knet_mtu', 0)],
    ['runtime.config.totem.knet_pmtud_interval', T.UINT32, num('totem.knet_pmtud_interval', 30)],
    ['runtime.config.totem.max_messages', T.UINT32, num('totem.max_messages', 17)],
    ['runtime.config.totem.max_network_delay', T.UINT32, num('totem.max_network_delay', 50)],
    ['runtime.config.totem.merge', T.UINT32, num('totem.merge', 200)],
    ['runtime.config.totem.miss_count_const', T.UINT32, num('totem.miss_count_const', 5)],
    ['runtime.config.totem.send_join', T.UINT32, num('totem.send_join', 0)],
    ['runtime.config.totem.seqno_unchanged_const', T.UINT32, num('totem.seqno_unchanged_const', 30)],
    ['runtime.config.totem.token', T.UINT32, token],
    ['runtime.config.totem.token_retransmit', T.UINT32, tokenRetransmit],
    ['runtime.config.totem.token_retransmits_before_loss_const', T.UINT32, retransmits],
    ['runtime.config.totem.token_warning', T.UINT32, num('totem.token_warning', 75)],
    ['runtime.config.totem.window_size', T.UINT32, num('totem.window_size', 50)],
  );
  return out;
}
