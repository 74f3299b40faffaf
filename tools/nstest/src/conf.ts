import { renderCorosyncConf, type ConfQuorum } from '@corosync-ts/types';

export type IpcTransport = 'socket' | 'shm' | 'native';

export interface NodeSpec {
  nodeid: number;
  /** ring0_addr */
  addr: string;
  name?: string;
  /** quorum_votes */
  votes?: number;
}

/** The quorum section of a real daemon's corosync.conf (extra: raw lines, e.g. a `device { ... }` block). */
export interface QuorumOptions extends Omit<ConfQuorum, 'provider' | 'autoTieBreakerNode' | 'expectedVotesTracking' | 'device'> {
  /** `quorum.provider`; null leaves the quorum section without a provider (node always quorate). */
  provider?: 'corosync_votequorum' | null;
  autoTieBreakerNode?: string;
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

/** A corosync.conf for knet over the given addresses, with nothing written outside the namespace's tmpfs mounts. */
export function corosyncConf(o: ConfOptions): string {
  return renderCorosyncConf({
    totem: {
      version: 2,
      cluster_name: o.clusterName ?? 'nstest',
      transport: 'knet',
      crypto_cipher: 'none',
      crypto_hash: 'none',
      ...o.totem,
    },
    logging: {
      to_stderr: o.logToStderr === false ? 'no' : 'yes',
      to_logfile: 'no',
      to_syslog: 'no',
      timestamp: 'on',
      debug: o.debug ? 'on' : 'off',
    },
    quorum: o.quorum ?? {},
    system: { qb_ipc_type: o.transport ?? 'socket' },
    nodes: o.nodes.map((n) => ({ nodeid: n.nodeid, name: n.name, addrs: [n.addr], votes: n.votes })),
    extra: o.extra,
  });
}
