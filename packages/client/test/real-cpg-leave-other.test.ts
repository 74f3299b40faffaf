import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { buildDist, pkgDir, script } from './real-helpers.js';
import { THREE_NODES, startMock } from './diff-cpg-harness.js';
import { runMultiOrdered } from './diff-cpg-multi.js';

// cpg_leave naming a group other than the connection's own (issue 14). exec/cpg.c's LEAVE checks
// only the connection's state: it goes LEAVE_STARTED and multicasts PROCLEAVE with the request's
// name and pid. Recorded here on corosync 3.1.7 through libcpg (test/cref/diff-cpg.c, three driver
// processes: their pids are p0 < p1 < p2), then the same script through @corosync-ts/client and
// through libcpg against corosync-mock must print the same lines. x61 = 'a', x62 = 'b'.
const SCRIPT = [
  'p0: init 0', 'p0: init 1', 'p1: init 0', 'p2: init 0',
  'p1: init 1', 'p1: leave 1 x61',
  'p0: join 0 x61', 'p0: until 0 1',
  'p1: join 0 x62', 'p1: until 0 1',
  'p2: join 0 x61', 'p0: until 0 1', 'p2: until 0 1',
  'p0: join 1 x62', 'p0: until 1 1', 'p1: until 0 1',
  // p0's handle 0, joined to 'a', leaves 'b'
  'p0: leave 0 x62', 'p0: until 1 1', 'p1: until 0 1', 'p0: dispatch 0 nb', 'p2: dispatch 0 nb',
  'p2: members 0 x61', 'p2: members 0 x62',
  // p2's handle 1, joined to 'c', leaves 'b', where p2 never was
  'p2: init 1', 'p2: join 1 x610062', 'p2: until 1 1', 'p2: leave 1 x62', 'p1: until 0 1', 'p2: dispatch 1 nb',
  'p0: leave 0 x62', 'p0: leave 0 x61', 'p0: join 0 x61',
  'p0: mcast 0 1 1', 'p2: mcast 0 1 2', 'p0: until 0 1', 'p2: until 0 1',
  'p0: mcast 1 1 3', 'p0: until 1 1', 'p1: until 0 1',
  'p0: fin 1', 'p1: until 0 1',
  'p0: fin 0', 'p2: dispatch 0 nb', 'p2: members 0 x61',
  'p0: init 2', 'p0: join 2 x61',
  'exit p0', 'p2: members 0 x61', 'p2: dispatch 0 nb',
];

const EXPECTED = [
  'p0 init 0 -> 1',
  'p0 init 1 -> 1',
  'p1 init 0 -> 1',
  'p2 init 0 -> 1',
  'p1 init 1 -> 1',
  'p1 leave 1 x61 -> 12',
  'p0 join 0 x61 -> 1',
  'p0   0 confchg x61 members=1:p0:0 left= joined=1:p0:1',
  'p0 until 0 1 -> 1',
  'p1 join 0 x62 -> 1',
  'p1   0 confchg x62 members=1:p1:0 left= joined=1:p1:1',
  'p1 until 0 1 -> 1',
  'p2 join 0 x61 -> 1',
  'p0   0 confchg x61 members=1:p0:0,1:p2:0 left= joined=1:p2:1',
  'p0 until 0 1 -> 1',
  'p2   0 confchg x61 members=1:p0:0,1:p2:0 left= joined=1:p2:1',
  'p2 until 0 1 -> 1',
  'p0 join 1 x62 -> 1',
  'p0   1 confchg x62 members=1:p0:0,1:p1:0 left= joined=1:p0:1',
  'p0 until 1 1 -> 1',
  'p1   0 confchg x62 members=1:p0:0,1:p1:0 left= joined=1:p0:1',
  'p1 until 0 1 -> 1',
  // OK: p0 leaves 'b' (its handle 1's entry), not 'a'; the leaving handle 0 gets nothing
  'p0 leave 0 x62 -> 1',
  'p0   1 confchg x62 members=1:p1:0 left=1:p0:2 joined=',
  'p0 until 1 1 -> 1',
  'p1   0 confchg x62 members=1:p1:0 left=1:p0:2 joined=',
  'p1 until 0 1 -> 1',
  'p0 dispatch 0 nb -> 6 callbacks=0',
  'p2 dispatch 0 nb -> 6 callbacks=0',
  'p2 members 0 x61 -> 1 n=2 members=1:p0:0,1:p2:0',
  'p2 members 0 x62 -> 1 n=1 members=1:p1:0',
  'p2 init 1 -> 1',
  'p2 join 1 x610062 -> 1',
  'p2   1 confchg x610062 members=1:p2:0 left= joined=1:p2:1',
  'p2 until 1 1 -> 1',
  // 'b' members see p2 leave, though it never was one
  'p2 leave 1 x62 -> 1',
  'p1   0 confchg x62 members=1:p1:0 left=1:p2:2 joined=',
  'p1 until 0 1 -> 1',
  'p2 dispatch 1 nb -> 6 callbacks=0',
  // handle 0 is LEAVE_STARTED now: no leave, no join, its multicasts dropped, 'a' delivered to it
  'p0 leave 0 x62 -> 12',
  'p0 leave 0 x61 -> 12',
  'p0 join 0 x61 -> 14',
  'p0 mcast 0 1 1 -> 1',
  'p2 mcast 0 1 2 -> 1',
  'p0   0 deliver x61 node=1 pid=p2 len=2 sum=95',
  'p0 until 0 1 -> 1',
  'p2   0 deliver x61 node=1 pid=p2 len=2 sum=95',
  'p2 until 0 1 -> 1',
  // handle 1, unlisted in 'b', is still joined: it sends, receives, and its finalize is a PROCDOWN
  'p0 mcast 1 1 3 -> 1',
  'p0   1 confchg x62 members=1:p1:0 left=1:p2:2 joined=',
  'p0 until 1 1 -> 1',
  'p1   0 deliver x62 node=1 pid=p0 len=3 sum=4002',
  'p1 until 0 1 -> 1',
  'p0 fin 1 -> 1',
  'p1   0 confchg x62 members=1:p1:0 left=1:p0:5 joined=',
  'p1 until 0 1 -> 1',
  // no PROCDOWN for handle 0: p0 stays listed in 'a', even after it exits
  'p0 fin 0 -> 1',
  'p2 dispatch 0 nb -> 6 callbacks=0',
  'p2 members 0 x61 -> 1 n=2 members=1:p0:0,1:p2:0',
  'p0 init 2 -> 1',
  'p0 join 2 x61 -> 6',
  'exit p0',
  'p2 members 0 x61 -> 1 n=2 members=1:p0:0,1:p2:0',
  'p2 dispatch 0 nb -> 6 callbacks=0',
];

describeReal('cpg_leave of another group than the joined one: corosync 3.1.7, the client, the mock', () => {
  let real: Namespace;
  let mockNs: Namespace;
  let mock: Awaited<ReturnType<typeof startMock>> | undefined;
  let C: string[];
  let T: string[];
  const restartReal = async () => {
    await real.stopCorosync();
    await real.startCorosync({ conf: THREE_NODES });
  };
  const restartMock = async () => {
    await mock?.stop();
    mock = await startMock(mockNs, THREE_NODES);
  };

  beforeAll(async () => {
    buildDist();
    C = [await compileC(readFileSync(new URL('./cref/diff-cpg.c', import.meta.url), 'utf8'), ['cpg', 'cfg'])];
    T = ['sh', '-c', 'cd "$0" && exec "$@"', pkgDir, process.execPath, script('diff-cpg.mjs')];
    real = await startNamespace({ name: 'client-leave-other' });
    mockNs = await startNamespace({ name: 'client-leave-other-mock' });
    await Promise.all([real.startCorosync({ conf: THREE_NODES }), restartMock()]);
  }, 180_000);

  afterAll(async () => {
    await mock?.stop();
    await mockNs?.close();
    await real?.close();
  });

  // The script leaves p0 listed in 'a' until corosync restarts: a daemon runs it once.
  const used = new Set<Namespace>();
  const run = async (ns: Namespace, restart: () => Promise<void>, argvs: string[][]) => {
    if (used.has(ns)) await restart();
    used.add(ns);
    return runMultiOrdered(ns, argvs, SCRIPT, false, { daemonExit: () => new Promise(() => {}) });
  };

  it('corosync 3.1.7 through libcpg', async () => {
    expect(await run(real, restartReal, [C, C, C])).toEqual(EXPECTED);
  }, 300_000);

  it('corosync 3.1.7 through the client', async () => {
    expect(await run(real, restartReal, [T, T, T])).toEqual(EXPECTED);
  }, 300_000);

  it('corosync-mock through libcpg', async () => {
    expect(await run(mockNs, restartMock, [C, C, C])).toEqual(EXPECTED);
  }, 300_000);
});
