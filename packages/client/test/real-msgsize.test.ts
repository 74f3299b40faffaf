import { afterAll, beforeAll, expect, it } from 'vitest';
import { crashTraceEnv, describeDifference, describeReal, settled, type Namespace } from '@corosync-ts/nstest';
import { THREE_NODES, realAndMock } from './diff-cpg-harness.js';
import { buildDist, script } from './real-helpers.js';

// Mock fidelity for the max_msg_size of the libqb handshake (test/cref/msgsize.mjs against
// corosync 3.1.7 and against corosync-mock, each in its own namespace): the size granted for
// what is asked, and what becomes of an answer or event larger than the grant: corosync sends
// it whatever the grant; over socket our client then loses the connection, over shm it arrives
// if it fits the ring (the grant rounded up to whole pages), else the answer is lost, and so is
// the event with every later one while the connection stays up.

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`max_msg_size: corosync-mock vs corosync 3.1.7 (${transport})`, () => {
    const pair = realAndMock(`msgsize-${transport}`, THREE_NODES.replace('qb_ipc_type: socket', `qb_ipc_type: ${transport}`));

    beforeAll(async () => {
      buildDist();
      await pair.start();
    }, 180_000);

    afterAll(() => pair.close());

    const run = async (ns: Namespace) => {
      const r = await ns.exec([process.execPath, script('msgsize.mjs')], { timeout: 60_000, env: await crashTraceEnv() });
      const out = r.stdout.trimEnd().split('\n');
      if (r.code !== 0 || out.at(-1) !== 'end') throw new Error(`msgsize.mjs exited with ${r.code ?? r.signal}:\n${r.stdout}\n${r.stderr.slice(-3000)}`);
      return out;
    };

    it('grants the size corosync grants and loses the oversized traffic corosync loses', async () => {
      const [r, m] = await settled([run(pair.real!), run(pair.mockNs!)]);
      if (r.join('\n') !== m.join('\n')) throw new Error(describeDifference(['msgsize.mjs'], { name: 'corosync', lines: r }, { name: 'corosync-mock', lines: m }));
      // What the comparison rests on, spelled out once.
      expect(r).toContain('raw cpg ask=100 granted=100');
      expect(r).toContain('ipc cmap maxMessageSize=100 granted=12328');
      expect(r).toContain('cmap set len=13000 set=26 then=1');
      expect(r).toContain('cpg deliver len=11000 sender=0 received=11000,7 then localGet=1 up');
      expect(r).toContain(transport === 'socket'
        ? 'cpg deliver len=15000 sender=0 received=none then localGet=2 lost 2'
        : 'cpg deliver len=20000 sender=0 received=none then localGet=1 up');
    }, 120_000);
  });
}
