/** The quorum section (votequorum(5)) as the mock and the real-daemon test harness write it. */
export interface ConfQuorum {
  /** `provider`: default corosync_votequorum; null writes none (the node is always quorate). */
  provider?: string | null;
  expectedVotes?: number;
  twoNode?: boolean;
  waitForAll?: boolean;
  lastManStanding?: boolean;
  lastManStandingWindow?: number;
  autoTieBreaker?: boolean;
  /** 'lowest', 'highest' or node ids. */
  autoTieBreakerNode?: string | readonly number[];
  allowDownscale?: boolean;
  expectedVotesTracking?: boolean;
  device?: { model: string; votes?: number; timeout?: number; syncTimeout?: number };
  /** Raw lines inside `quorum { }`. */
  extra?: string;
}

export interface ConfNode {
  nodeid: number;
  /** `name` (default `node<nodeid>`). */
  name?: string;
  /** ring0_addr, ring1_addr, ... */
  addrs: readonly string[];
  /** `quorum_votes`. */
  votes?: number;
}

/** A corosync.conf(5): the sections the mock and the test harness use. */
export interface CorosyncConf {
  totem: Readonly<Record<string, string | number>>;
  logging: Readonly<Record<string, string | number>>;
  quorum: ConfQuorum;
  system?: Readonly<Record<string, string | number>>;
  nodes: readonly ConfNode[];
  /** Raw text appended at the end. */
  extra?: string;
}

const flag = (v: boolean) => (v ? '1' : '0');

/** A section; the lines of a nested one arrive already indented, and get one tab more. */
function section(name: string, body: readonly string[]): string[] {
  return [`${name} {`, ...body.map((l) => `\t${l}`), '}'];
}

function entries(o: Readonly<Record<string, string | number>>): string[] {
  return Object.entries(o).map(([k, v]) => `${k}: ${v}`);
}

function quorumLines(q: ConfQuorum): string[] {
  const lines: string[] = [];
  if (q.provider !== null) lines.push(`provider: ${q.provider ?? 'corosync_votequorum'}`);
  if (q.expectedVotes !== undefined) lines.push(`expected_votes: ${q.expectedVotes}`);
  if (q.twoNode !== undefined) lines.push(`two_node: ${flag(q.twoNode)}`);
  if (q.waitForAll !== undefined) lines.push(`wait_for_all: ${flag(q.waitForAll)}`);
  if (q.lastManStanding !== undefined) lines.push(`last_man_standing: ${flag(q.lastManStanding)}`);
  if (q.lastManStandingWindow !== undefined) lines.push(`last_man_standing_window: ${q.lastManStandingWindow}`);
  if (q.autoTieBreaker !== undefined) lines.push(`auto_tie_breaker: ${flag(q.autoTieBreaker)}`);
  if (q.autoTieBreakerNode !== undefined) {
    const n = q.autoTieBreakerNode;
    lines.push(`auto_tie_breaker_node: ${typeof n === 'string' ? n : n.join(' ')}`);
  }
  if (q.allowDownscale !== undefined) lines.push(`allow_downscale: ${flag(q.allowDownscale)}`);
  if (q.expectedVotesTracking !== undefined) lines.push(`expected_votes_tracking: ${flag(q.expectedVotesTracking)}`);
  if (q.device) {
    const d = q.device;
    const dev = [`model: ${d.model}`];
    if (d.votes !== undefined) dev.push(`votes: ${d.votes}`);
    if (d.timeout !== undefined) dev.push(`timeout: ${d.timeout}`);
    if (d.syncTimeout !== undefined) dev.push(`sync_timeout: ${d.syncTimeout}`);
    lines.push(...section('device', dev));
  }
  if (q.extra) lines.push(...q.extra.split('\n'));
  return lines;
}

function nodeLines(n: ConfNode): string[] {
  const lines = [`name: ${n.name ?? `node${n.nodeid}`}`, `nodeid: ${n.nodeid}`, ...n.addrs.map((a, i) => `ring${i}_addr: ${a}`)];
  if (n.votes !== undefined) lines.push(`quorum_votes: ${n.votes}`);
  return section('node', lines);
}

/** Writes a corosync.conf(5): totem, logging, quorum, system and nodelist sections, then `extra`. */
export function renderCorosyncConf(c: CorosyncConf): string {
  const out = [
    ...section('totem', entries(c.totem)), '',
    ...section('logging', entries(c.logging)), '',
    ...section('quorum', quorumLines(c.quorum)), '',
  ];
  if (c.system) out.push(...section('system', entries(c.system)), '');
  out.push(...section('nodelist', c.nodes.flatMap(nodeLines)), '');
  if (c.extra) out.push(c.extra, '');
  return out.join('\n');
}
