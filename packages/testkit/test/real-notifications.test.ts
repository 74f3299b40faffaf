import { fileURLToPath } from 'node:url';
import { decodedToJSON, encoders } from '@corosync-ts/codec-wasm';
import { describeReal, startCluster, waitFor, type Cluster as RealCluster } from '@corosync-ts/nstest';
import { afterEach, expect, test } from 'vitest';
import { createCluster, NodeServices } from '../src/index.js';
import { FrameClient } from './helpers/frames.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/track-events.mjs', import.meta.url));
const PKG = fileURLToPath(new URL('..', import.meta.url));

interface Ev { name: string; fields: Record<string, unknown> }

/** Ring seqs differ between any two runs; everything else must match. */
function norm(e: Ev): Ev {
  const f = { ...e.fields };
  if (f.ringId) f.ringId = { ...(f.ringId as object), seq: '<seq>' };
  if ('ringSeq' in f) f.ringSeq = '<seq>';
  return { name: e.name, fields: f };
}
const split = (evs: Ev[]) => ({
  quorum: evs.filter((e) => e.name.startsWith('quorum.')).map(norm),
  votequorum: evs.filter((e) => e.name.startsWith('votequorum.')).map(norm),
});

describeReal('notifications: order and content vs a real corosync 3.1.7 cluster', () => {
  let real: RealCluster | undefined;
  afterEach(async () => {
    await real?.close();
    real = undefined;
  }, 120_000);

  test('V1 quorum and votequorum trackers on node 1: snapshot, node 3 cut off and back, node 2 stopped and restarted', async () => {
    real = await startCluster({ nodes: 3, totem: { token: 1000 } });
    const child = real.node(1).spawn(['sh', '-c', 'cd "$0" && exec "$@"', PKG, process.execPath, SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    for (let i = 0; i < 400 && !out.includes('"ready"'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(out).toContain('"ready"');
    // A change is through when each service's latest notification is the quorum one for the new
    // membership (the last of each service's notifications for a change, as the simulator sends them).
    const told = (members: number[]) => waitFor(`node 1's trackers told of members ${members}`, () => {
      const evs = out.slice(0, out.lastIndexOf('\n')).split('\n').map((l) => JSON.parse(l) as Ev).filter((e) => e.name);
      const q = evs.filter((e) => e.name.startsWith('quorum.')).at(-1);
      const v = evs.filter((e) => e.name.startsWith('votequorum.')).at(-1);
      return q?.name === 'quorum.v1QuorumNotification' && JSON.stringify(q.fields.viewList) === JSON.stringify(members)
        && v?.name === 'votequorum.quorumNotification'
        && (v.fields.nodeList as { nodeid: number; state: number }[]).every((n) => (n.state === 1) === members.includes(n.nodeid));
    }, { timeout: 60_000, detail: () => out });
    await real.isolate(3);
    await real.waitForPartitions([[1, 2], [3]]);
    await told([1, 2]);
    await real.heal();
    await real.waitForPartitions([[1, 2, 3]]);
    await told([1, 2, 3]);
    await real.stopNode(2);
    await real.waitForPartitions([[1, 3]]);
    await told([1, 3]);
    await real.startNode(2);
    await real.waitForPartitions([[1, 2, 3]]);
    await told([1, 2, 3]);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    const realEvents = out.trim().split('\n').map((l) => JSON.parse(l) as Ev & { ready?: boolean }).filter((e) => !e.ready);

    const sim = createCluster({ config: real.node(1).corosyncProcess!.conf });
    const svc = new NodeServices(sim.node(1));
    const q = new FrameClient('quorum', svc);
    const v = new FrameClient('votequorum', svc);
    q.call(encoders.quorum.req.modelGettype({ model: 1 }));
    q.call(encoders.quorum.req.trackstart({ trackFlags: 2 }));
    v.call(encoders.votequorum.req.trackstart({ context: 7n, trackFlags: 2 }));
    sim.partition([1, 2], [3]);
    sim.merge();
    sim.node(2).stop();
    sim.node(2).start();
    const simEvents = [...q.takeEvents(), ...v.takeEvents()].map((d) => ({ name: d.name, fields: decodedToJSON(d).fields as Record<string, unknown> }));

    // snapshot (2 per service) + 4 membership changes (2 per service each) at least
    expect(split(realEvents).quorum.length).toBeGreaterThanOrEqual(10);
    expect(split(realEvents).votequorum.length).toBeGreaterThanOrEqual(10);
    expect(split(simEvents)).toEqual(split(realEvents));
  }, 300_000);
});
