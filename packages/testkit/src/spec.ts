import { ConfigError } from './errors.js';

export interface NodeSpec {
  id: number;
  /** nodelist.node.X.quorum_votes (default 1). */
  votes?: number;
  /** nodelist.node.X.name (default `node<id>`). */
  name?: string;
  /** ring0_addr (default 127.0.0.<id>, or 127.0.<id>>8>.<id&255> above 254). */
  addr?: string;
}

export interface QuorumSpec {
  expectedVotes?: number;
  twoNode?: boolean;
  waitForAll?: boolean;
  lastManStanding?: boolean;
  lastManStandingWindow?: number;
  autoTieBreaker?: boolean;
  /** 'lowest' | 'highest' | list of node ids. */
  autoTieBreakerNode?: 'lowest' | 'highest' | number[];
  allowDownscale?: boolean;
  expectedVotesTracking?: boolean;
  device?: { model: string; votes?: number; timeout?: number; syncTimeout?: number };
}

export interface ClusterSpec {
  /** A node count (ids 1..n) or explicit nodes. */
  nodes: number | NodeSpec[];
  clusterName?: string;
  quorum?: QuorumSpec;
  /** `quorum.provider` (default corosync_votequorum; null for none). */
  provider?: string | null;
}

function addrFor(id: number): string {
  return id <= 254 ? `127.0.0.${id}` : `127.0.${(id >> 8) & 255}.${id & 255 || 1}`;
}

/** Renders a cluster spec as the corosync.conf a real cluster would use. */
export function specToConf(spec: ClusterSpec): string {
  const nodes: NodeSpec[] = typeof spec.nodes === 'number'
    ? Array.from({ length: spec.nodes }, (_, i) => ({ id: i + 1 }))
    : spec.nodes;
  if (nodes.length === 0) throw new ConfigError('a cluster needs at least one node');
  const ids = new Set<number>();
  for (const n of nodes) {
    if (!Number.isInteger(n.id) || n.id < 1 || n.id > 0xffffffff) throw new ConfigError(`invalid node id ${n.id}`);
    if (ids.has(n.id)) throw new ConfigError(`duplicate node id ${n.id}`);
    ids.add(n.id);
  }
  const q = spec.quorum ?? {};
  const b = (v: boolean) => (v ? '1' : '0');
  const lines: string[] = [
    'totem {', '\tversion: 2', `\tcluster_name: ${spec.clusterName ?? 'mockcluster'}`, '\ttransport: knet',
    '\tcrypto_cipher: none', '\tcrypto_hash: none', '}', '',
    'logging {', '\tto_logfile: no', '\tto_syslog: no', '\tto_stderr: no', '\ttimestamp: on', '}', '',
    'quorum {',
  ];
  if (spec.provider !== null) lines.push(`\tprovider: ${spec.provider ?? 'corosync_votequorum'}`);
  if (q.expectedVotes !== undefined) lines.push(`\texpected_votes: ${q.expectedVotes}`);
  if (q.twoNode !== undefined) lines.push(`\ttwo_node: ${b(q.twoNode)}`);
  if (q.waitForAll !== undefined) lines.push(`\twait_for_all: ${b(q.waitForAll)}`);
  if (q.lastManStanding !== undefined) lines.push(`\tlast_man_standing: ${b(q.lastManStanding)}`);
  if (q.lastManStandingWindow !== undefined) lines.push(`\tlast_man_standing_window: ${q.lastManStandingWindow}`);
  if (q.autoTieBreaker !== undefined) lines.push(`\tauto_tie_breaker: ${b(q.autoTieBreaker)}`);
  if (q.autoTieBreakerNode !== undefined) {
    lines.push(`\tauto_tie_breaker_node: ${Array.isArray(q.autoTieBreakerNode) ? q.autoTieBreakerNode.join(' ') : q.autoTieBreakerNode}`);
  }
  if (q.allowDownscale !== undefined) lines.push(`\tallow_downscale: ${b(q.allowDownscale)}`);
  if (q.expectedVotesTracking !== undefined) lines.push(`\texpected_votes_tracking: ${b(q.expectedVotesTracking)}`);
  if (q.device) {
    lines.push('\tdevice {', `\t\tmodel: ${q.device.model}`);
    if (q.device.votes !== undefined) lines.push(`\t\tvotes: ${q.device.votes}`);
    if (q.device.timeout !== undefined) lines.push(`\t\ttimeout: ${q.device.timeout}`);
    if (q.device.syncTimeout !== undefined) lines.push(`\t\tsync_timeout: ${q.device.syncTimeout}`);
    lines.push('\t}');
  }
  lines.push('}', '', 'nodelist {');
  for (const n of nodes) {
    lines.push('\tnode {', `\t\tname: ${n.name ?? `node${n.id}`}`, `\t\tnodeid: ${n.id}`, `\t\tring0_addr: ${n.addr ?? addrFor(n.id)}`);
    if (n.votes !== undefined) lines.push(`\t\tquorum_votes: ${n.votes}`);
    lines.push('\t}');
  }
  lines.push('}', '');
  return lines.join('\n');
}
