import type { FieldsOf, KnetLinkStatus, SpecOf } from '@corosync-ts/codec-wasm';
import { CS_OK, CS_ERR_FAILED_OPERATION, CS_ERR_NOT_EXIST, CS_ERR_NOT_SUPPORTED } from '@corosync-ts/types';

/**
 * What cfg reports of the simulated knet links (exec/cfg.c over libknet's host and link
 * status): a node sees its own links up, the links to the members of its ring connected, and
 * every other configured node's links enabled but down. Link i of a node is its ring<i>_addr.
 */

export const CFG_MAX_LINKS = 8;
export const CFG_NODE_STATUS_V1 = 1;
/** libknet's link MTUs: the local loop, a connected peer (PMTUd over loopback) and a peer never reached. */
const MTU_LOCAL = 65535;
const MTU_CONNECTED = 1397;
const MTU_DOWN = 522;

export interface LinkView {
  readonly id: number;
  readonly addrs: readonly string[];
}

export interface LocalView extends LinkView {
  /** The members of this node's current ring. */
  readonly members: readonly number[];
}

/** struct corosync_cfg_node_status_v1: the catalog's answer to cfg.nodeStatusGet. */
export type NodeStatusV1 = FieldsOf<SpecOf<'cfg.nodeStatusGet', 'res'>>;

const EMPTY_LINK: KnetLinkStatus = { enabled: 0, connected: 0, dynconnected: 0, mtu: 0, srcIpaddr: '', dstIpaddr: '' };

function linkOf(me: LocalView, peer: LinkView, link: number): KnetLinkStatus {
  const src = me.addrs[link];
  const dst = peer.addrs[link];
  if (src === undefined || dst === undefined) return { ...EMPTY_LINK };
  const local = peer.id === me.id;
  const up = local || me.members.includes(peer.id);
  return { enabled: 1, connected: up ? 1 : 0, dynconnected: 0, mtu: local ? MTU_LOCAL : up ? MTU_CONNECTED : MTU_DOWN, srcIpaddr: src, dstIpaddr: dst };
}

/** NODESTATUSGET: the node must be a knet host (any nodelist node; not 0), then version 1. */
export function nodeStatus(me: LocalView, nodes: readonly LinkView[], nodeid: number, version: number): { error: number } | { error: typeof CS_OK; status: NodeStatusV1 } {
  const peer = nodes.find((n) => n.id === nodeid);
  if (peer === undefined) return { error: CS_ERR_FAILED_OPERATION };
  if (version !== CFG_NODE_STATUS_V1) return { error: CS_ERR_NOT_SUPPORTED };
  const local = peer.id === me.id;
  const reachable = local || me.members.includes(peer.id);
  const linkStatus: KnetLinkStatus[] = [];
  for (let i = 0; i < CFG_MAX_LINKS; i++) linkStatus.push(linkOf(me, peer, i));
  return {
    error: CS_OK,
    status: {
      // knet marks a host remote, and negotiates its on-wire version with it, only once it reaches
      // it: corosync 3.1.7 gives remote 0 for a configured node that never came up
      version: CFG_NODE_STATUS_V1, nodeid, reachable: reachable ? 1 : 0, remote: local || !reachable ? 0 : 1, external: 0,
      onwireMin: local || !reachable ? 0 : 1, onwireMax: local || !reachable ? 0 : 1, onwireVer: local || !reachable ? 0 : 1,
      linkStatus,
    },
  };
}

/** RINGSTATUSGET: per local link, "<link> <ip>" and one character per knet host in nodeid order. */
export function ringStatus(me: LocalView, nodes: readonly LinkView[]): { names: string[]; statuses: string[] } {
  const names: string[] = [];
  const statuses: string[] = [];
  const hosts = [...nodes].sort((a, b) => a.id - b.id);
  me.addrs.forEach((addr, link) => {
    names.push(`${link} ${addr}`);
    statuses.push(hosts.filter((h) => h.addrs[link] !== undefined).map((h) => {
      if (h.id === me.id) return 'n';
      const s = linkOf(me, h, link);
      return String(s.enabled | (s.connected << 1) | (s.dynconnected << 2));
    }).join(''));
  });
  return { names, statuses };
}

/** An address of corosync.conf as GET_NODE_ADDRS carries it (16 bytes, IPv4 in the first 4). */
export function ipBytes(addr: string): { family: number; bytes: Uint8Array } | undefined {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
  if (v4) {
    const b = new Uint8Array(16);
    for (let i = 0; i < 4; i++) b[i] = Number(v4[i + 1]) & 255;
    return { family: 2, bytes: b };
  }
  if (addr.includes(':')) {
    const b = new Uint8Array(16);
    const [head, tail = ''] = addr.split('::') as [string, string?];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t].slice(0, 8);
    groups.forEach((g, i) => {
      const v = Number.parseInt(g || '0', 16) & 0xffff;
      b[i * 2] = v >> 8;
      b[i * 2 + 1] = v & 255;
    });
    return { family: 10, bytes: b };
  }
  return undefined;
}

/**
 * GET_NODE_ADDRS: node 0 is the local node. An unknown node (or one without addresses) is
 * NOT_EXIST, and the daemon then sends its reply buffer's stale family and count: `last` is what
 * the previous answer of this node carried.
 */
export function nodeAddrs(me: LinkView, nodes: readonly LinkView[], nodeid: number, last: { family: number; numAddrs: number }):
  { error: number; family: number; numAddrs: number; addrs: Uint8Array[] } {
  const target = nodes.find((n) => n.id === (nodeid || me.id));
  const parsed = (target?.addrs ?? []).map(ipBytes).filter((a) => a !== undefined)
    // corosync skips addresses whose first two bytes are zero (an ss_family cast bug)
    .filter((a) => a.bytes[0] !== 0 || a.bytes[1] !== 0)
    .slice(0, CFG_MAX_LINKS);
  if (parsed.length === 0) return { error: CS_ERR_NOT_EXIST, family: last.family, numAddrs: last.numAddrs, addrs: [] };
  return { error: CS_OK, family: parsed[0]!.family, numAddrs: parsed.length, addrs: parsed.map((a) => a.bytes) };
}
