import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { compileC, describeReal, startCluster, type Cluster as RealCluster, type Namespace } from '@corosync-ts/nstest';
import { afterAll, expect, test } from 'vitest';
import { createCluster, type CpgAddress, type CpgClient } from '../src/index.js';

const MEMBER_C = readFileSync(new URL('./fixtures/cpg-member.c', import.meta.url), 'utf8');

async function waitFor(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Member { child: ChildProcess; pid: number; out(): string }

async function member(ns: Namespace, bin: string): Promise<Member> {
  const child = ns.spawn([bin, 'grp'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await waitFor('cpg-member ready', () => /^ready \d+\n/.test(out) || child.exitCode !== null);
  const pid = Number(/^ready (\d+)/.exec(out)?.[1]);
  if (!pid) throw new Error(`cpg-member failed: ${out}`);
  child.stdin!.write('join\n');
  await waitFor('join answered', () => out.includes('join 1\n'));
  return { child, pid, out: () => out };
}

/** cpg-member's lines for the callbacks (what both sides are compared on). */
const callbacks = (s: string) => s.split('\n').filter((l) => l.startsWith('confchg') || l.startsWith('totem'));

/** A simulated process printing what cpg-member prints. */
function simMember(): CpgClient & { log: string[] } {
  const log: string[] = [];
  const list = (l: CpgAddress[]) => l.map((a) => `${a.nodeid}:${a.pid}/${a.reason}`).join(',');
  return {
    log,
    confchg: (g, m, l, j) => log.push(`confchg ${new TextDecoder().decode(g)} members=[${list(m)}] left=[${list(l)}] joined=[${list(j)}]`),
    deliver: () => {},
    partialDeliver: () => {},
    totemConfchg: (_ring, members) => log.push(`totem members=[${members.join(',')}]`),
  };
}

describeReal('cpg on a real 3-node corosync cluster vs the simulator: join, partition, heal, clean stop', () => {
  let real: RealCluster | undefined;
  afterAll(async () => {
    await real?.close();
  }, 120_000);

  test('every member sees the same confchg sequence on both', async () => {
    const bin = await compileC(MEMBER_C, ['cpg']);
    real = await startCluster({ nodes: 3, totem: { token: 1000 } });
    const members: Member[] = [];
    for (const id of [1, 2, 3]) {
      members.push(await member(real.node(id), bin));
      // each join is seen everywhere before the next one, so both sides join in the same order
      await waitFor(`join of node ${id} seen by node 1`, () => members[0]!.out().includes(`joined=[${id}:${members[id - 1]!.pid}/1]`));
    }
    const seen = (id: number, re: RegExp) => waitFor(`${re} on node ${id}`, () => re.test(members[id - 1]!.out()))
      .catch((e: unknown) => { throw new Error(`${(e as Error).message}; node ${id} printed:\n${members[id - 1]!.out()}`); });
    await real.isolate(3);
    await real.waitForPartitions([[1, 2], [3]]);
    await seen(1, /left=\[3:\d+\/3\]/);
    await seen(3, /left=\[1:\d+\/3,2:\d+\/3\]/);
    await real.heal(3);
    await real.waitForPartitions([[1, 2, 3]]);
    await seen(1, /joined=\[3:\d+\/4\]/);
    await seen(3, /joined=\[2:\d+\/4,1:\d+\/4\]/);
    await real.stopNode(2);
    await seen(1, /left=\[2:\d+\/5\]/);
    await seen(3, /left=\[2:\d+\/5\]/);
    await seen(1, /totem members=\[1,3\]\n/);
    await seen(3, /totem members=\[1,3\]\n/);

    const sim = createCluster({ config: real.node(1).corosyncProcess!.conf });
    const procs = [1, 2, 3].map((id) => {
      const m = simMember();
      const conn = sim.node(id).cpg.connect(m);
      conn.join(new TextEncoder().encode('grp'), members[id - 1]!.pid, 0);
      sim.cpg.pump();
      return m;
    });
    sim.partition([1, 2], [3]);
    sim.merge();
    sim.node(2).stop();
    for (const id of [1, 3]) {
      expect({ node: id, log: procs[id - 1]!.log }).toEqual({ node: id, log: callbacks(members[id - 1]!.out()) });
    }
  }, 300_000);
});
