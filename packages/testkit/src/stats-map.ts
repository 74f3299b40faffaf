import { CmapValueType as T } from '@corosync-ts/types';
import { CmapStore } from './cmap-store.js';
import type { SimNode } from './cluster.js';
import type { ClientInfo } from './services/connection.js';
import { COROSYNC_SERVICE_ID, type ServiceName } from './services/index.js';

/**
 * The ipc counters corosync keeps per connection (stats.ipcs.service<id>.<pid>.<conn>.*): libqb's
 * qb_ipcs_connection_stats and ipc_glue.c's cs_ipcs_conn_context.
 */
// The per-request counters are numbers (a bigint increment allocates a new one each time) and
// become u64 here: 2^53 requests are out of any connection's reach.
export interface ConnStats {
  info: ClientInfo;
  service: ServiceName;
  /** The connection's address in the daemon, part of its stats key. */
  ptr: bigint;
  /** Requests read (refused ones included). */
  requests: number;
  /** Answers sent. */
  responses: number;
  /** Events that reached the client's channel (`dispatched`; libqb's `events`). */
  dispatched: number;
  /** Requests past the service's table (`invalid_request`). */
  invalid: number;
  /** Requests refused with CS_ERR_TRY_AGAIN (totem queue full, or a fault). */
  overload: number;
  /** Answers or events that found the client's channel full (`send_retries`). */
  sendRetries: number;
  /** Reads that found no request where libqb expected one (`recv_retries`). */
  recvRetries: number;
  /** The flow-control level now (`flow_control`: 0, 1 or 2). */
  flowControl: number;
  /** Changes of that level (`flow_control_count`: on and off each count). */
  flowControlCount: number;
  /** 1 while events wait in the daemon because the channel was full (`queueing`). */
  queueing: number;
  /** Events waiting in the daemon (`queued`). */
  queued: number;
  /** Events sent since queueing started or ended (`sent`). */
  sent: number;
  /** Brings the event counters up to date with what the client took. */
  look?: () => void;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const U32_MAX = 0xffff_ffff;
/** /proc/<pid>/comm holds at most 15 characters. */
const PROCNAME_MAX = 15;
/** knet's MTU towards ourselves, a reachable peer and an unreachable one, as the daemon shows them. */
const MTU_SELF = 65535;
const MTU_UP = 1397;
const MTU_DOWN = 522;

const KNET_HANDLE_KEYS = [
  'rx_compress_time_ave', 'rx_compress_time_max', 'rx_compress_time_min', 'rx_compressed_original_bytes',
  'rx_compressed_packets', 'rx_compressed_size_bytes', 'rx_crypt_packets', 'rx_crypt_time_ave', 'rx_crypt_time_max',
  'rx_crypt_time_min', 'tx_compress_time_ave', 'tx_compress_time_max', 'tx_compress_time_min',
  'tx_compressed_original_bytes', 'tx_compressed_packets', 'tx_compressed_size_bytes', 'tx_crypt_byte_overhead',
  'tx_crypt_packets', 'tx_crypt_time_ave', 'tx_crypt_time_max', 'tx_crypt_time_min', 'tx_uncompressed_packets',
];
const KNET_LINK_KEYS: [string, number][] = [
  ['connected', T.UINT8], ['down_count', T.UINT32], ['enabled', T.UINT8], ['latency_ave', T.UINT32],
  ['latency_max', T.UINT32], ['latency_min', T.UINT32], ['latency_samples', T.UINT32], ['mtu', T.UINT32],
  ...['rx_data', 'rx_ping', 'rx_pmtu', 'rx_pong', 'rx_total'].flatMap((p): [string, number][] => [[`${p}_bytes`, T.UINT64], [`${p}_packets`, T.UINT64]]),
  ['rx_total_retries', T.UINT64],
  ...['tx_data', 'tx_ping', 'tx_pmtu', 'tx_pong'].flatMap((p): [string, number][] => [
    [`${p}_bytes`, T.UINT64], [`${p}_errors`, T.UINT32], [`${p}_packets`, T.UINT64], [`${p}_retries`, T.UINT32],
  ]),
  ['tx_total_bytes', T.UINT64], ['tx_total_errors', T.UINT64], ['tx_total_packets', T.UINT64], ['up_count', T.UINT32],
];
const SRP_KEYS: [string, number][] = [
  ['avg_backlog_calc', T.UINT32], ['avg_token_workload', T.UINT32], ['commit_entered', T.UINT64],
  ['commit_token_lost', T.UINT64], ['consensus_timeouts', T.UINT64], ['continuous_gather', T.UINT32],
  ['continuous_sendmsg_failures', T.UINT32], ['firewall_enabled_or_nic_failure', T.UINT8], ['gather_entered', T.UINT64],
  ['gather_token_lost', T.UINT64], ['mcast_retx', T.UINT64], ['mcast_rx', T.UINT64], ['mcast_tx', T.UINT64],
  ['memb_commit_token_rx', T.UINT64], ['memb_commit_token_tx', T.UINT64], ['memb_join_rx', T.UINT64],
  ['memb_join_tx', T.UINT64], ['memb_merge_detect_rx', T.UINT64], ['memb_merge_detect_tx', T.UINT64],
  ['mtt_rx_token', T.UINT32], ['operational_entered', T.UINT64], ['operational_token_lost', T.UINT64],
  ['orf_token_rx', T.UINT64], ['orf_token_tx', T.UINT64], ['recovery_entered', T.UINT64], ['recovery_token_lost', T.UINT64],
  ['rx_msg_dropped', T.UINT64], ['time_since_token_last_received', T.UINT64], ['token_hold_cancel_rx', T.UINT64],
  ['token_hold_cancel_tx', T.UINT64],
];

/** The stats map (map 1) of a node, computed on demand as corosync does. */
export function buildStatsMap(me: SimNode, conns: Iterable<ConnStats>, activeCount: number, closedCount: bigint): CmapStore {
  const s = new CmapStore();
  s.set('stats.ipcs.global.active', T.UINT64, BigInt(activeCount));
  s.set('stats.ipcs.global.closed', T.UINT64, closedCount);
  for (const c of conns) {
    const p = `stats.ipcs.service${COROSYNC_SERVICE_ID[c.service]}.${c.info.pid}.0x${c.ptr.toString(16)}`;
    s.set(`${p}.dispatched`, T.UINT64, BigInt(c.dispatched));
    s.set(`${p}.flow_control`, T.UINT32, c.flowControl);
    s.set(`${p}.flow_control_count`, T.UINT64, BigInt(c.flowControlCount));
    s.set(`${p}.invalid_request`, T.UINT64, BigInt(c.invalid));
    s.set(`${p}.overload`, T.UINT64, BigInt(c.overload));
    s.set(`${p}.procname`, T.STRING, (c.info.procname ?? '').slice(0, PROCNAME_MAX));
    s.set(`${p}.queued`, T.UINT32, c.queued);
    s.set(`${p}.queueing`, T.INT32, c.queueing);
    s.set(`${p}.recv_retries`, T.UINT64, BigInt(c.recvRetries));
    s.set(`${p}.requests`, T.UINT64, BigInt(c.requests));
    s.set(`${p}.responses`, T.UINT64, BigInt(c.responses));
    s.set(`${p}.send_retries`, T.UINT64, BigInt(c.sendRetries));
    s.set(`${p}.sent`, T.UINT32, c.sent);
  }
  for (const k of KNET_HANDLE_KEYS) s.set(`stats.knet.handle.${k}`, T.UINT64, k.endsWith('_time_min') ? U64_MAX : 0n);
  for (const peer of me.clusterNodes()) {
    const up = peer.id === me.id || (me.running && me.members.includes(peer.id));
    peer.addrs.forEach((_, link) => {
      const p = `stats.knet.node${peer.id}.link${link}`;
      for (const [k, t] of KNET_LINK_KEYS) {
        let v: number | bigint = t === T.UINT64 ? 0n : 0;
        if (k === 'connected') v = up ? 1 : 0;
        else if (k === 'enabled') v = 1;
        else if (k === 'latency_min') v = U32_MAX;
        else if (k === 'mtu') v = peer.id === me.id ? MTU_SELF : up ? MTU_UP : MTU_DOWN;
        else if (k === 'up_count') v = up ? 1 : 0;
        s.set(`${p}.${k}`, t, v);
      }
    });
  }
  s.set('stats.pg.msg_queue_avail', T.UINT32, 0);
  s.set('stats.pg.msg_reserved', T.UINT32, 0);
  for (const [k, t] of SRP_KEYS) s.set(`stats.srp.${k}`, t, t === T.UINT64 ? 0n : 0);
  return s;
}
