export type IpcTransport = 'socket' | 'shm' | 'native';

export interface NodeSpec {
  nodeid: number;
  /** ring0_addr */
  addr: string;
  name?: string;
  /** quorum_votes */
  votes?: number;
}

export interface QuorumOptions {
  /** `quorum.provider`; null leaves the quorum section without a provider (node always quorate). */
  provider?: 'corosync_votequorum' | null;
  expectedVotes?: number;
  twoNode?: boolean;
  waitForAll?: boolean;
  lastManStanding?: boolean;
  lastManStandingWindow?: number;
  autoTieBreaker?: boolean;
  autoTieBreakerNode?: string;
  allowDownscale?: boolean;
  /** Raw lines inside `quorum { }` (e.g. a `device { ... }` block). */
  extra?: string;
}

export interface ConfOptions {
  /** The IPC transport corosync offers its clients (`system.qb_ipc_type`). Default 'socket'. */
  transport?: IpcTransport;
  clusterName?: string;
  nodes: NodeSpec[];
  quorum?: QuorumOptions;
  /** Extra `totem { }` settings, e.g. `{ token: 1000 }`. */
  totem?: Record<string, string | number>;
  /** corosync's own log on stderr (captured by the harness); default true. */
  logToStderr?: boolean;
  debug?: boolean;
  /** Raw text appended at the end of the file. */
  extra?: string;
}

function yesNo(v: boolean): string {
  return v ? '1' : '0';
}

/** A corosync.conf for knet over the given addresses, with nothing written outside the namespace's tmpfs mounts. */
export function corosyncConf(o: ConfOptions): string {
  const totem: Record<string, string | number> = {
    version: 2,
    cluster_name: o.clusterName ?? 'nstest',
    transport: 'knet',
    crypto_cipher: 'none',
    crypto_hash: 'none',
    ...o.totem,
  };
  const q = o.quorum ?? {};
  const quorumLines: string[] = [];
  if (q.provider !== null) quorumLines.push(`provider: ${q.provider ?? 'corosync_votequorum'}`);
  if (q.expectedVotes !== undefined) quorumLines.push(`expected_votes: ${q.expectedVotes}`);
  if (q.twoNode !== undefined) quorumLines.push(`two_node: ${yesNo(q.twoNode)}`);
  if (q.waitForAll !== undefined) quorumLines.push(`wait_for_all: ${yesNo(q.waitForAll)}`);
  if (q.lastManStanding !== undefined) quorumLines.push(`last_man_standing: ${yesNo(q.lastManStanding)}`);
  if (q.lastManStandingWindow !== undefined) quorumLines.push(`last_man_standing_window: ${q.lastManStandingWindow}`);
  if (q.autoTieBreaker !== undefined) quorumLines.push(`auto_tie_breaker: ${yesNo(q.autoTieBreaker)}`);
  if (q.autoTieBreakerNode !== undefined) quorumLines.push(`auto_tie_breaker_node: ${q.autoTieBreakerNode}`);
  if (q.allowDownscale !== undefined) quorumLines.push(`allow_downscale: ${yesNo(q.allowDownscale)}`);
  if (q.extra) quorumLines.push(q.extra);

  const nodes = o.nodes
    .map((n) => {
      const lines = [`name: ${n.name ?? `node${n.nodeid}`}`, `nodeid: ${n.nodeid}`, `ring0_addr: ${n.addr}`];
      if (n.votes !== undefined) lines.push(`quorum_votes: ${n.votes}`);
      return `  node {\n${lines.map((l) => `    ${l}\n`).join('')}  }\n`;
    })
    .join('');

  const section = (name: string, lines: string[]) => `${name} {\n${lines.map((l) => `  ${l}\n`).join('')}}\n`;
  return (
    section(
      'totem',
      Object.entries(totem).map(([k, v]) => `${k}: ${v}`),
    ) +
    section('logging', [
      `to_stderr: ${o.logToStderr === false ? 'no' : 'yes'}`,
      'to_logfile: no',
      'to_syslog: no',
      'timestamp: on',
      `debug: ${o.debug ? 'on' : 'off'}`,
    ]) +
    section('quorum', quorumLines) +
    section('system', [`qb_ipc_type: ${o.transport ?? 'socket'}`]) +
    `nodelist {\n${nodes}}\n` +
    (o.extra ? `${o.extra}\n` : '')
  );
}
