import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeReal, startCluster, waitFor, type Cluster } from '@corosync-ts/nstest';
import { buildDist, script } from './real-helpers.js';

interface Ev { kind: string; quorate?: boolean; view?: number[]; members?: number[]; joined?: number[]; left?: number[]; nodes?: number[] }

/** What corosync-quorumtool -s says on a node: quorate, and the member ids. */
async function quorumtool(cluster: Cluster, nodeid: number): Promise<{ quorate: boolean; members: number[] }> {
  const r = await cluster.node(nodeid).exec(['corosync-quorumtool', '-s', '-p'], { timeout: 20_000 });
  const q = /^Quorate:\s+(Yes|No)/m.exec(r.stdout);
  if (!q || (r.code !== 0 && r.code !== 2)) throw new Error(`quorumtool on node ${nodeid}: ${r.code} ${r.stdout}${r.stderr}`);
  const members = r.stdout
    .split('Membership information')[1]!
    .split('\n')
    .map((l) => /^\s+(\d+)\s+\d+\s+\S+/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  return { quorate: q[1] === 'Yes', members };
}

for (const transport of ['socket', 'shm'] as const) {
describeReal(`a real 3-node cluster (${transport}): partition and heal, TypeScript vs corosync-quorumtool`, () => {
  let cluster: Cluster;
  const watchers = new Map<number, { child: ChildProcess; events: Ev[] }>();
  // corosync-quorumtool -m on every node, next to our watcher: its displays are the reference transitions
  const monitors = new Map<number, { child: ChildProcess; out: string }>();

  beforeAll(async () => {
    buildDist();
    cluster = await startCluster({ nodes: 3, transport, totem: { token: 1000 } });
    for (const id of [1, 2, 3]) {
      const child = cluster.node(id).spawn([process.execPath, script('watch.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
      const events: Ev[] = [];
      createInterface({ input: child.stdout! }).on('line', (l) => events.push(JSON.parse(l) as Ev));
      watchers.set(id, { child, events });
      const mon = cluster.node(id).spawn(['stdbuf', '-oL', 'corosync-quorumtool', '-m'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const m = { child: mon, out: '' };
      mon.stdout!.on('data', (d) => (m.out += String(d)));
      monitors.set(id, m);
    }
    await waitFor('the three watchers to be ready', () => [...watchers.values()].every((w) => w.events.some((e) => e.kind === 'ready')), { timeout: 60_000 });
  }, 240_000);

  afterAll(async () => {
    for (const w of watchers.values()) {
      w.child.stdin?.end();
      w.child.kill();
    }
    for (const m of monitors.values()) m.child.kill();
    await cluster?.close();
  });

  /** (quorate, members) states without consecutive repeats. */
  const dedupe = (states: string[]) => states.filter((x, i) => i === 0 || x !== states[i - 1]);
  const monitorStates = (id: number) =>
    dedupe(
      monitors.get(id)!.out
        .split('Quorum information')
        .slice(1)
        .filter((b) => b.includes('Membership information') && /\n\s*$/.test(b.split('Membership information')[1]!))
        .map((b) => {
          const quorate = /Quorate:\s+(Yes|No)/.exec(b)![1] === 'Yes';
          const members = b.split('Membership information')[1]!.split('\n').map((l) => /^\s+(\d+)\s+\d+\s+\S+/.exec(l)?.[1]).filter(Boolean).map(Number);
          return `${quorate} ${sorted(members)}`;
        }),
    );
  const clientStates = (id: number) =>
    dedupe(watchers.get(id)!.events.filter((e) => e.kind === 'quorum').map((e) => `${e.quorate} ${sorted(e.view)}`));

  const last = (id: number, kind: string) => [...watchers.get(id)!.events].reverse().find((e) => e.kind === kind);
  const sorted = (l: number[] | undefined) => [...(l ?? [])].sort((a, b) => a - b);

  /** Waits until node `id`'s TS client reports this state, then checks quorumtool agrees. */
  async function agree(id: number, quorate: boolean, members: number[]) {
    await waitFor(`node ${id}'s client to report quorate=${quorate} members=${members}`, () => {
      const q = last(id, 'quorum');
      const v = last(id, 'vq');
      return q?.quorate === quorate && sorted(q.view).join() === members.join() && v?.quorate === quorate;
    }, { timeout: 60_000, detail: () => JSON.stringify(watchers.get(id)!.events.slice(-6)) });
    const tool = await quorumtool(cluster, id);
    const q = last(id, 'quorum')!;
    expect({ node: id, quorate: q.quorate, members: sorted(q.view) }).toEqual({ node: id, ...tool });
    expect(sorted(last(id, 'nodelist')?.members)).toEqual(members);
  }

  it('all three together: quorate everywhere, same members as quorumtool', async () => {
    for (const id of [1, 2, 3]) await agree(id, true, [1, 2, 3]);
  }, 120_000);

  it('node 3 cut off: 1 and 2 keep quorum and see 3 leave; 3 loses quorum', async () => {
    await cluster.isolate(3);
    await cluster.waitForPartitions([[1, 2], [3]]);
    await agree(1, true, [1, 2]);
    await agree(2, true, [1, 2]);
    await agree(3, false, [3]);
    for (const id of [1, 2]) expect(last(id, 'nodelist')).toMatchObject({ left: [3], joined: [] });
    expect(sorted(last(3, 'nodelist')?.left)).toEqual([1, 2]);
    // node 3's transition as its client saw it: quorate, then not
    const q3 = watchers.get(3)!.events.filter((e) => e.kind === 'quorum').map((e) => e.quorate);
    expect(q3.slice(-1)).toEqual([false]);
    expect(q3).toContain(true);
  }, 180_000);

  it('healed: all converge back to one quorate partition', async () => {
    await cluster.heal();
    await cluster.waitForPartitions([[1, 2, 3]]);
    for (const id of [1, 2, 3]) await agree(id, true, [1, 2, 3]);
    expect(sorted(last(3, 'nodelist')?.joined)).toEqual([1, 2]);
    for (const id of [1, 2]) expect(last(id, 'nodelist')).toMatchObject({ joined: [3], left: [] });
  }, 180_000);

  it('over the whole run, each client saw the same quorate/member transitions as corosync-quorumtool -m', async () => {
    for (const id of [1, 2, 3]) {
      await waitFor(`quorumtool -m on node ${id} to show the healed cluster`, () => monitorStates(id).at(-1) === 'true 1,2,3', {
        timeout: 60_000,
        detail: () => monitors.get(id)!.out.slice(-2000),
      });
      expect({ node: id, transitions: clientStates(id) }).toEqual({ node: id, transitions: monitorStates(id) });
    }
    expect(clientStates(3)).toEqual(['true 1,2,3', 'false 3', 'true 1,2,3']);
    expect(clientStates(1)).toEqual(['true 1,2,3', 'true 1,2', 'true 1,2,3']);
  }, 120_000);
});
}
