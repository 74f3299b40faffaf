import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeReal, startCluster, waitFor, type Cluster } from '@corosync-ts/nstest';
import { buildDist, script } from './real-helpers.js';

interface Ev { kind: 'confchg' | 'deliver'; members?: number[]; left?: number[][]; joined?: number[][]; from?: number; text?: string }

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`cpg on a real 3-node cluster (${transport}): one order everywhere, confchg on partition and heal`, () => {
    let cluster: Cluster;
    const members = new Map<number, { child: ChildProcess; events: Ev[] }>();
    const events = (id: number) => members.get(id)!.events;
    const delivered = (id: number) => events(id).filter((e) => e.kind === 'deliver').map((e) => e.text!);
    const confchgs = (id: number) => events(id).filter((e) => e.kind === 'confchg');

    beforeAll(async () => {
      buildDist();
      cluster = await startCluster({ nodes: 3, transport, totem: { token: 1000 } });
      for (const id of [1, 2, 3]) {
        const child = cluster.node(id).spawn([process.execPath, script('cpg-node.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
        const evs: Ev[] = [];
        createInterface({ input: child.stdout! }).on('line', (l) => evs.push(JSON.parse(l) as Ev));
        members.set(id, { child, events: evs });
      }
      await waitFor('every member to see the three', () => [1, 2, 3].every((id) => confchgs(id).some((c) => c.members!.length === 3)), { timeout: 60_000 });
    }, 240_000);

    afterAll(async () => {
      for (const m of members.values()) {
        m.child.stdin?.end();
        m.child.kill();
      }
      await cluster?.close();
    });

    it('messages sent from every node at once arrive in the same order on every node', async () => {
      for (const id of [1, 2, 3]) members.get(id)!.child.stdin!.write('send 30\n');
      await waitFor('90 deliveries everywhere', () => [1, 2, 3].every((id) => delivered(id).length === 90), { timeout: 60_000 });
      expect(delivered(2)).toEqual(delivered(1));
      expect(delivered(3)).toEqual(delivered(1));
      for (const id of [1, 2, 3]) {
        const mine = delivered(1).filter((t) => t.startsWith(`${id}-`));
        expect(mine).toEqual(Array.from({ length: 30 }, (_, i) => `${id}-${i}`));
      }
    }, 120_000);

    it('a cut-off node leaves with CPG_REASON_NODEDOWN and comes back with CPG_REASON_NODEUP', async () => {
      const before = new Map([1, 2, 3].map((id) => [id, confchgs(id).length]));
      await cluster.isolate(3);
      await cluster.waitForPartitions([[1, 2], [3]]);
      await waitFor('nodes 1 and 2 to see node 3 leave', () => [1, 2].every((id) => confchgs(id).slice(before.get(id)).some((c) => c.left!.length > 0)), { timeout: 60_000 });
      await waitFor('node 3 to see 1 and 2 leave', () => confchgs(3).slice(before.get(3)).some((c) => c.left!.length > 0), { timeout: 60_000 });
      for (const id of [1, 2]) {
        const c = confchgs(id).slice(before.get(id)).find((x) => x.left!.length > 0)!;
        expect(c).toEqual({ kind: 'confchg', members: [1, 2], left: [[3, 3]], joined: [] });
      }
      const c3 = confchgs(3).slice(before.get(3)).find((x) => x.left!.length > 0)!;
      expect(c3).toEqual({ kind: 'confchg', members: [3], left: [[1, 3], [2, 3]], joined: [] });

      const mid = new Map([1, 2, 3].map((id) => [id, confchgs(id).length]));
      await cluster.heal();
      await cluster.waitForPartitions([[1, 2, 3]]);
      await waitFor('every member to see the three again', () => [1, 2, 3].every((id) => confchgs(id).slice(mid.get(id)).some((c) => c.members!.length === 3)), { timeout: 60_000 });
      for (const id of [1, 2]) {
        const c = confchgs(id).slice(mid.get(id)).find((x) => x.joined!.length > 0)!;
        expect(c).toEqual({ kind: 'confchg', members: [1, 2, 3], left: [], joined: [[3, 4]] });
      }
      const j3 = confchgs(3).slice(mid.get(3)).find((x) => x.joined!.length > 0)!;
      // The joined list follows the order the daemon learnt the others in (seen: [2, 1]), not nodeid order.
      expect({ ...j3, joined: [...j3.joined!].sort((a, b) => a[0]! - b[0]!) }).toEqual({ kind: 'confchg', members: [1, 2, 3], left: [], joined: [[1, 4], [2, 4]] });
    }, 180_000);
  });
}
