import type { IpcTransport, NodeSpec, QuorumOptions } from './conf.js';
import { startNamespace, type CorosyncProcess, type Namespace } from './namespace.js';
import { waitFor } from './proc.js';

export interface ClusterOptions {
  nodes: number;
  transport?: IpcTransport;
  quorum?: QuorumOptions;
  /** Extra totem settings, e.g. `{ token: 1000 }` for faster partition detection (corosync's defaults otherwise). */
  totem?: Record<string, string | number>;
  /** Node ids whose corosync starts now (default: all). The others only get their namespace. */
  start?: number[];
  /** Votes per node id (quorum_votes). */
  votes?: Record<number, number>;
  /** ms to wait for each stage (default 90 000). */
  timeout?: number;
  debug?: boolean;
}

export interface Cluster {
  readonly size: number;
  /** The "switch" namespace holding the bridge. */
  readonly switchNs: Namespace;
  /** Namespace of node `nodeid` (1-based, equal to the corosync nodeid). */
  node(nodeid: number): Namespace;
  /** ring0 address of node `nodeid` (only reachable inside the cluster's namespaces). */
  address(nodeid: number): string;
  readonly nodelist: readonly NodeSpec[];
  /** Starts corosync on a node that is not running it (e.g. after stop, or one left out by `start`). */
  startNode(nodeid: number, opts?: { timeout?: number }): Promise<CorosyncProcess>;
  stopNode(nodeid: number): Promise<void>;
  /** Cuts node `nodeid`'s link at the switch. */
  isolate(nodeid: number): Promise<void>;
  /** Restores the links of the given nodes (default: every isolated one). */
  heal(...nodeids: number[]): Promise<void>;
  /** Waits until each running node's quorum view equals the given partition it belongs to. */
  waitForPartitions(partitions: number[][], opts?: { timeout?: number }): Promise<void>;
  close(): Promise<void>;
}

const SUBNET = '10.255.0';

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const n = opts.nodes;
  if (!Number.isInteger(n) || n < 1 || n > 200) throw new RangeError(`startCluster: nodes must be 1..200, got ${n}`);
  const timeout = opts.timeout ?? 90_000;
  const nodelist: NodeSpec[] = Array.from({ length: n }, (_, i) => ({
    nodeid: i + 1,
    addr: `${SUBNET}.${i + 1}`,
    votes: opts.votes?.[i + 1],
  }));
  const created: Namespace[] = [];
  const isolated = new Set<number>();

  const sw = await startNamespace({ name: 'switch' });
  created.push(sw);
  try {
    await sw.execOk(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    await sw.execOk(['ip', 'link', 'set', 'br0', 'up']);
    const nodes = await Promise.all(
      nodelist.map(async (spec) => {
        const ns = await startNamespace({ name: `node${spec.nodeid}` });
        created.push(ns);
        const port = `sw${spec.nodeid}`;
        await sw.execOk(['ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(ns.pid)]);
        await sw.execOk(['ip', 'link', 'set', port, 'master', 'br0']);
        await sw.execOk(['ip', 'link', 'set', port, 'up']);
        await ns.execOk(['ip', 'addr', 'add', `${spec.addr}/24`, 'dev', 'eth0']);
        await ns.execOk(['ip', 'link', 'set', 'eth0', 'up']);
        return ns;
      }),
    );

    const node = (nodeid: number): Namespace => {
      const ns = nodes[nodeid - 1];
      if (!ns) throw new RangeError(`no node ${nodeid} in a ${n}-node cluster`);
      return ns;
    };
    const startNode = (nodeid: number, o: { timeout?: number } = {}) =>
      node(nodeid).startCorosync({
        nodeid,
        nodes: nodelist,
        transport: opts.transport ?? 'socket',
        quorum: opts.quorum,
        totem: opts.totem,
        debug: opts.debug,
        waitMembers: 0,
        timeout: o.timeout ?? timeout,
      });
    const running = () => nodelist.map((s) => s.nodeid).filter((id) => node(id).corosyncProcess !== undefined);

    const waitForPartitions = async (partitions: number[][], o: { timeout?: number } = {}) => {
      const want = new Map<number, string>();
      for (const p of partitions) for (const id of p) want.set(id, [...p].sort((a, b) => a - b).join(','));
      const views = new Map<number, string>();
      await waitFor(
        `quorum views ${JSON.stringify(partitions)}`,
        async () => {
          for (const id of running()) {
            const expect = want.get(id);
            if (expect === undefined) continue;
            const view = (await node(id).quorumView()).join(',');
            views.set(id, view);
            if (view !== expect) return false;
          }
          return true;
        },
        {
          timeout: o.timeout ?? timeout,
          detail: () => `last views: ${[...views].map(([id, v]) => `node${id}=[${v}]`).join(' ')}`,
        },
      );
    };

    const toStart = opts.start ?? nodelist.map((s) => s.nodeid);
    await Promise.all(toStart.map((id) => startNode(id)));
    if (toStart.length > 0) await waitForPartitions([toStart]);

    const cluster: Cluster = {
      size: n,
      switchNs: sw,
      nodelist,
      node,
      address: (nodeid) => {
        node(nodeid);
        return `${SUBNET}.${nodeid}`;
      },
      startNode,
      stopNode: (nodeid) => node(nodeid).stopCorosync(),
      async isolate(nodeid) {
        node(nodeid);
        await sw.execOk(['ip', 'link', 'set', `sw${nodeid}`, 'down']);
        isolated.add(nodeid);
      },
      async heal(...ids) {
        const which = ids.length > 0 ? ids : [...isolated];
        for (const id of which) {
          node(id);
          await sw.execOk(['ip', 'link', 'set', `sw${id}`, 'up']);
          isolated.delete(id);
        }
      },
      waitForPartitions,
      async close() {
        await Promise.all(created.map((ns) => ns.close()));
      },
    };
    return cluster;
  } catch (e) {
    await Promise.all(created.map((ns) => ns.close().catch(() => {})));
    throw e;
  }
}
