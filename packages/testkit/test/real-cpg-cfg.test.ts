import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { compileC, describeReal, type Namespace } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startRealAndMock, stopRealAndMock, type MockProcess } from './helpers/mockns.js';

const THREE = readFileSync(new URL('./fixtures/three-nodes.conf', import.meta.url), 'utf8');
/** The same cluster with node 1 alone in its nodelist. */
const ONE = THREE.replace(/\tnode \{\n\t\tname: node2[\s\S]*?\n\t\}\n\tnode \{\n\t\tname: node3[\s\S]*?\n\t\}\n/, '');
const MEMBER_C = readFileSync(new URL('./fixtures/cpg-member.c', import.meta.url), 'utf8');

/** A cpg-member process: its pid and everything it printed. */
interface Member { child: ChildProcess; pid: number; out(): string; send(line: string): Promise<void> }

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function member(ns: Namespace, bin: string, group: string, flags = 0): Promise<Member> {
  const child = ns.spawn([bin, group, String(flags)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await waitFor('cpg-member ready', () => /^ready \d+\n/.test(out) || child.exitCode !== null);
  const pid = Number(/^ready (\d+)/.exec(out)?.[1]);
  if (!pid) throw new Error(`cpg-member failed: ${out}`);
  return {
    child, pid, out: () => out,
    // a command is done when its status line ("<cmd> <cs_error>") is printed, or the member exited
    send: async (line) => {
      if (line === 'exit') {
        child.stdin!.write('exit\n');
        await waitFor('member exit', () => child.exitCode !== null);
        return;
      }
      const lines = () => out.split('\n').filter((l) => l.startsWith(`${line.split(' ')[0]} `)).length;
      const before = lines();
      child.stdin!.write(`${line}\n`);
      await waitFor(`${line} answered`, () => lines() > before);
    },
  };
}

/** Pids differ between the two runs: name them. */
function named(s: string, pids: Record<string, number>): string {
  for (const [name, pid] of Object.entries(pids)) s = s.replace(new RegExp(`\\b${pid}\\b`, 'g'), name);
  return s;
}

for (const [label, conf] of [['1 node', ONE], ['3 nodes, node 1 up', THREE]] as const) {
  for (const transport of ['socket', 'shm'] as const) {
    const c = conf.replace('qb_ipc_type: socket', `qb_ipc_type: ${transport}`);
    describeReal(`corosync-cpgtool and corosync-cfgtool: mock vs real corosync 3.1.7 (${label}, ${transport})`, () => {
      let real: Namespace;
      let mockNs: Namespace;
      let mock: MockProcess;
      let bin: string;

      beforeAll(async () => {
        bin = await compileC(MEMBER_C, ['cpg']);
        ({ real, mockNs, mock } = await startRealAndMock({ real: 'tk-cpg-real', mock: 'tk-cpg-mock' }, c));
      }, 120_000);
      afterAll(() => stopRealAndMock({ mock, mockNs, real }), 60_000);

      const both = async (cmd: string[], pids: [Record<string, number>, Record<string, number>] = [{}, {}]) => {
        const [r, m] = await Promise.all([real.exec(cmd, { timeout: 30_000 }), mockNs.exec(cmd, { timeout: 30_000 })]);
        return {
          real: { code: r.code, out: named(r.stdout, pids[0]), err: named(r.stderr, pids[0]) },
          mock: { code: m.code, out: named(m.stdout, pids[1]), err: named(m.stderr, pids[1]) },
        };
      };

      test('cpgtool with no group, cfgtool -s / -b / -n / -a / -L / -k of a node that is not up', async () => {
        for (const cmd of [
          ['corosync-cpgtool'], ['corosync-cpgtool', '-n'], ['corosync-cpgtool', '-d', ','], ['corosync-cpgtool', '-e'],
          ['corosync-cfgtool', '-s'], ['corosync-cfgtool', '-s', '-b'], ['corosync-cfgtool', '-s', '-i', '127.0.0.1'],
          ['corosync-cfgtool', '-n'], ['corosync-cfgtool', '-a', '1'], ['corosync-cfgtool', '-a', '2'],
          ['corosync-cfgtool', '-a', '9'], ['corosync-cfgtool', '-L'], ['corosync-cfgtool', '-k', '2'], ['corosync-cfgtool', '-k', '9'],
        ]) {
          const r = await both(cmd);
          expect({ cmd, ...r.mock }).toEqual({ cmd, ...r.real });
        }
      }, 120_000);

      test('the confchg sequence of join, mcast, leave and a killed member; cpgtool listing the groups', async () => {
        const run = async (ns: Namespace) => {
          const a = await member(ns, bin, 'grpA', 1);
          await a.send('join');
          await waitFor('own join', () => a.out().includes('totem members'));
          const b = await member(ns, bin, 'grpA');
          await b.send('join');
          const o = await member(ns, bin, 'odd\tname\\x');
          await o.send('join');
          await b.send('mcast hello-1');
          await a.send('mcast hello-2');
          await waitFor('deliveries', () => (b.out().match(/^deliver/gm) ?? []).length === 2);
          await a.send('members');
          await a.send('local');
          const pids = { A: a.pid, B: b.pid, O: o.pid };
          const tools = await Promise.all([
            ['corosync-cpgtool'], ['corosync-cpgtool', '-n'], ['corosync-cpgtool', '-d', ','], ['corosync-cpgtool', '-e'],
          ].map(async (cmd) => {
            const r = await ns.exec(cmd, { timeout: 30_000 });
            return { cmd, code: r.code, out: named(r.stdout, pids), err: r.stderr };
          }));
          await b.send('leave');
          await waitFor('leave confchg', () => /left=\[1:\d+\/2\]/.test(a.out()));
          await b.send('mcast after-leave'); // LEAVE_STARTED: dropped
          await a.send('mcast still-there');
          await waitFor('B still receives', () => b.out().includes('still-there'));
          const k = await member(ns, bin, 'grpA');
          await k.send('join');
          await waitFor('K joined', () => a.out().includes(`${k.pid}/1`));
          k.child.kill('SIGKILL');
          await waitFor('PROCDOWN', () => a.out().includes(`${k.pid}/5`) && b.out().includes(`${k.pid}/5`));
          await b.send('finalize');
          await o.send('exit');
          // B had left (no PROCDOWN for it), O was in another group: A's view is itself
          await a.send('members');
          await a.send('finalize');
          // callbacks and command answers are two streams: compare each in its own order
          const split = (out: string) => {
            const lines = named(out, { ...pids, K: k.pid }).split('\n');
            const isEvent = (l: string) => /^(confchg|deliver|totem) /.test(l);
            return { events: lines.filter(isEvent), answers: lines.filter((l) => !isEvent(l)) };
          };
          return { tools, a: split(a.out()), b: split(b.out()), inSpawnOrder: a.pid < b.pid && b.pid < o.pid && o.pid < k.pid };
        };
        // Lists are in pid order (nodeid, then pid), and the lines name processes by role: pids
        // that wrapped (pid_max 32768) between two spawns of a run reorder them. Once more then;
        // a second wrap is thousands of processes away.
        let [r, m] = await Promise.all([run(real), run(mockNs)]);
        if (!r.inSpawnOrder || !m.inSpawnOrder) [r, m] = await Promise.all([run(real), run(mockNs)]);
        expect(r.inSpawnOrder && m.inSpawnOrder).toBe(true);
        expect(r.a.events).toContain('confchg grpA members=[1:A/0,1:B/0] left=[] joined=[1:B/1]');
        expect(m.tools).toEqual(r.tools);
        expect(m.a).toEqual(r.a);
        expect(m.b).toEqual(r.b);
      }, 120_000);

      // the daemon ends by a shutdown over socket, by a kill of itself over shm
      const end = transport === 'socket' ? ['corosync-cfgtool', '-H'] : ['corosync-cfgtool', '-k', '1'];
      test(`cfgtool -R, then ${end.slice(1).join(' ')} stops the daemon as it stops corosync`, async () => {
        const r = await both(['sh', '-c', 'corosync-cfgtool -R; echo rc=$?; corosync-cmapctl config.reload_status']);
        expect(r.mock).toEqual(r.real);
        const h = await both(end);
        expect(h.mock).toEqual(h.real);
        const [realExit, mockExit] = await Promise.all([real.corosyncProcess!.exited, new Promise<number | null>((res) => {
          if (mock.child.exitCode !== null) res(mock.child.exitCode);
          else mock.child.once('exit', (code) => res(code));
        })]);
        expect(mockExit).toBe(realExit.code);
      }, 120_000);
    });
  }
}
