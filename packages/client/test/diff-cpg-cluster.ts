// Generated cpg sequences across the nodes of a 3-node cluster (real-diff-cpg-cluster.test.ts):
// two driver processes per node (test/cref/diff-cpg.{c,mjs}, the drivers of diff-cpg-multi.ts),
// driver pK on node ⌊K/2⌋+1, slot 0 of each for group A and slot 1 for group B (model v1 handles
// with the totem callback). The steps: joins and leaves, bursts of small messages sent at once
// from several nodes, one fragmented message (above the IPC atomic size), a node cut off at the
// switch and healed, a node's corosync stopped, or killed by a driver of another node through cfg
// (corosync_cfg_kill_node), and started again (its drivers die with it and start again), a
// driver killed (SIGKILL) or exiting with its handles open, a dead driver started again.
//
// After each step a barrier: the cluster state is waited for (the quorum views on a real cluster,
// the totem step on the simulator), then every live driver in turn sends a message of its probe
// and waits for it (a probe chain: totem's total order puts everything caused before it ahead of
// it on every node of its ring), then every live slot dispatches what it has. Nothing is waited
// for by time, and the output of each step is every driver's lines in label order.
import type { ChildProcess } from 'node:child_process';
import fc from 'fast-check';
import { Driver, PidOrder } from './diff-cpg-multi.js';

export const NODES = 3;
const PER_NODE = 2;
export const PROCS = NODES * PER_NODE;
export const nodeOf = (p: number) => Math.floor(p / PER_NODE) + 1;
/** Group A and B ("mn-a", "mn-b"), as the drivers take names. */
const GROUPS = ['x6d6e2d61', 'x6d6e2d62'];
const MAX_ATOMIC = 1047552;

export type COp =
  | { k: 'join' | 'leave'; p: number; g: number }
  | { k: 'burst'; sends: { p: number; g: number }[] }
  | { k: 'big'; p: number; g: number }
  | { k: 'isolate' | 'stop' | 'start'; n: number }
  | { k: 'heal' }
  | { k: 'kill' | 'exit' | 'spawn'; p: number }
  | { k: 'ckill'; p: number; n: number };

const proc = fc.integer({ min: 0, max: PROCS - 1 });
const group = fc.integer({ min: 0, max: 1 });
const node = fc.integer({ min: 1, max: NODES });
const cop: fc.Arbitrary<COp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('join' as const), p: proc, g: group }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('leave' as const), p: proc, g: group }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('burst' as const), sends: fc.array(fc.record({ p: proc, g: group }), { minLength: 1, maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('big' as const), p: proc, g: group }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('isolate' as const), n: node }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('heal' as const) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constantFrom('stop' as const, 'start' as const), n: node }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constantFrom('kill' as const, 'exit' as const, 'spawn' as const), p: proc }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('ckill' as const), p: proc, n: node }) },
);

/** Every driver starts in group A and some in B too, so that most of what follows changes a group. */
export const clusterSequences = (maxLength: number) =>
  fc.array(cop, { minLength: Math.min(8, maxLength), maxLength, size: 'max' }).map((ops): COp[] => [
    ...Array.from({ length: PROCS }, (_, p): COp => ({ k: 'join', p, g: 0 })),
    ...[0, 3, 4].map((p): COp => ({ k: 'join', p, g: 1 })),
    ...ops,
  ]);

/** What one step does on a cluster and its drivers. */
export type Step =
  /** Each driver's commands in turn, the drivers at once (a burst: the order is totem's). */
  | { do: 'cmds'; cmds: Map<number, string[]>; burst: boolean }
  /** A message above the atomic size: every receiving slot dispatches it before its fragments fill the event channel. */
  | { do: 'big'; p: number; cmd: string; receivers: [number, number][] }
  | { do: 'isolate'; n: number; parts: number[][] }
  | { do: 'heal' | 'stop' | 'start'; n: number; parts: number[][] }
  /** Driver p asks cfg to kill node n (corosync_cfg_kill_node): n's daemon exits. */
  | { do: 'ckill'; p: number; n: number; parts: number[][] }
  | { do: 'kill' | 'exit' | 'spawn'; p: number };

export const label = (s: Step): string => {
  switch (s.do) {
    case 'cmds':
      return [...s.cmds].map(([p, c]) => `p${p}: ${c.join('; ')}`).join(' | ');
    case 'big':
      return `p${s.p}: ${s.cmd}`;
    case 'ckill':
      return `p${s.p}: ${ckill(s.n)}`;
    case 'kill':
    case 'exit':
    case 'spawn':
      return `${s.do} p${s.p}`;
    default:
      return `${s.do} node ${s.n}`;
  }
};

const INIT = [...[0, 1].map((s) => `model ${s} 1 0 1`), 'cinit 0'];
const ckill = (n: number) => `ckill 0 ${n} 4`;

/**
 * The steps of `ops` that mean something in the state they come in (a small model of the cluster:
 * which nodes run and who is cut off, which drivers live, which slots are joined). Message lengths
 * are unique within a script, so that a delivered message is known by its sender and length.
 */
export function clusterScript(ops: COp[]): Step[] {
  const running = new Set(Array.from({ length: NODES }, (_, i) => i + 1));
  let isolated = 0;
  const alive = Array.from({ length: PROCS }, () => true);
  const joined = Array.from({ length: PROCS }, () => [false, false]);
  let len = 8;
  const steps: Step[] = [];
  const component = (n: number) => (n === isolated ? [n] : [...running].filter((m) => m !== isolated));
  const parts = () => (isolated ? [component(0), [isolated]] : [[...running]]);
  const live = (p: number) => alive[p]! && running.has(nodeOf(p));
  const down = (p: number) => {
    alive[p] = false;
    joined[p] = [false, false];
  };
  for (const o of ops) {
    switch (o.k) {
      case 'join':
      case 'leave': {
        if (!live(o.p) || joined[o.p]![o.g] === (o.k === 'join')) break;
        // a left handle would re-send a join answered CS_ERR_BUSY forever (libcpg): a fresh one instead
        const cmds = o.k === 'join' ? [`join ${o.g} ${GROUPS[o.g]}`] : [`leave ${o.g} ${GROUPS[o.g]}`, `fin ${o.g}`, INIT[o.g]!];
        joined[o.p]![o.g] = o.k === 'join';
        steps.push({ do: 'cmds', cmds: new Map([[o.p, cmds]]), burst: false });
        break;
      }
      case 'burst': {
        const cmds = new Map<number, string[]>();
        for (const { p, g } of o.sends) if (live(p)) cmds.set(p, [...(cmds.get(p) ?? []), `mcast ${g} 0 ${len++}`]);
        if (cmds.size > 0) steps.push({ do: 'cmds', cmds, burst: cmds.size > 1 });
        break;
      }
      case 'big': {
        if (!live(o.p)) break;
        const receivers: [number, number][] = [];
        if (joined[o.p]![o.g]) {
          const nodes = component(nodeOf(o.p));
          for (let q = 0; q < PROCS; q++) if (live(q) && joined[q]![o.g] && nodes.includes(nodeOf(q))) receivers.push([q, o.g]);
        }
        steps.push({ do: 'big', p: o.p, cmd: `mcast ${o.g} 0 ${MAX_ATOMIC + len++}`, receivers });
        break;
      }
      case 'isolate':
        if (isolated || !running.has(o.n) || running.size < 2) break;
        isolated = o.n;
        steps.push({ do: 'isolate', n: o.n, parts: parts() });
        break;
      case 'heal':
        if (!isolated) break;
        steps.push({ do: 'heal', n: isolated, parts: (isolated = 0, parts()) });
        break;
      case 'stop':
      case 'ckill': {
        const by = o.k === 'ckill' ? o.p : -1;
        if (isolated || !running.has(o.n) || running.size < 2) break;
        if (by >= 0 && (!live(by) || nodeOf(by) === o.n)) break;
        running.delete(o.n);
        for (let q = 0; q < PROCS; q++) if (nodeOf(q) === o.n) down(q);
        steps.push(by < 0 ? { do: 'stop', n: o.n, parts: parts() } : { do: 'ckill', p: by, n: o.n, parts: parts() });
        break;
      }
      case 'start': {
        // the stopped node next to n: a start finds one whenever there is one
        const n = Array.from({ length: NODES }, (_, i) => ((o.n - 1 + i) % NODES) + 1).find((m) => !running.has(m));
        if (isolated || n === undefined) break;
        running.add(n);
        steps.push({ do: 'start', n, parts: parts() });
        for (let q = 0; q < PROCS; q++) {
          if (nodeOf(q) !== n) continue;
          alive[q] = true;
          steps.push({ do: 'spawn', p: q });
        }
        break;
      }
      case 'kill':
      case 'exit':
        if (!live(o.p) || alive.filter((a, q) => a && live(q)).length <= 1) break;
        down(o.p);
        steps.push({ do: o.k, p: o.p });
        break;
      case 'spawn': {
        // the dead driver of a running node next to p
        const p = Array.from({ length: PROCS }, (_, i) => (o.p + i) % PROCS).find((q) => !alive[q] && running.has(nodeOf(q)));
        if (p === undefined) break;
        alive[p] = true;
        steps.push({ do: 'spawn', p });
        break;
      }
    }
  }
  return steps;
}

/** One side: a real cluster or the simulator, the way to start a driver on a node and to change the cluster. */
export interface Side {
  readonly name: string;
  /** Driver pK on node n. */
  spawn(p: number, n: number): ChildProcess;
  /** Does the step to the cluster and waits until every running node is in `parts`. */
  cluster(step: Extract<Step, { parts: number[][] }>): Promise<void>;
  /** The daemon of node `n` has closed every IPC connection of `pid`. */
  connectionsGone(n: number, pid: number): Promise<void>;
}

/** A run's lines, step by step ("== <step>" then every driver's lines, labelled). */
export async function runCluster(side: Side, steps: Step[], ms = 60_000): Promise<string[]> {
  const drivers: (Driver | undefined)[] = Array.from({ length: PROCS }, () => undefined);
  const out: string[] = [];
  let lastPid = 0;
  const live = () => drivers.flatMap((d, p) => (d && !d.exited ? [[p, d] as const] : []));
  const ask = async (d: Driver, cmd: string) => {
    d.send(cmd);
    return d.answer(cmd, ms);
  };
  const spawn = async (p: number) => {
    const d = new Driver(`p${p}`, side.spawn(p, nodeOf(p)));
    drivers[p] = d;
    d.pid = Number((await ask(d, 'whoami')).at(-1)!.split(' ').at(-1));
    if (d.pid < lastPid) throw new PidOrder();
    lastPid = d.pid;
    for (const [q, e] of live()) {
      await ask(d, `peer p${q} ${e.pid}`);
      if (e !== d) await ask(e, `peer p${p} ${d.pid}`);
    }
    const lines: string[] = [];
    for (const c of INIT) lines.push(...(await ask(d, c)));
    return lines;
  };
  const gone = async (p: number, how: 'kill' | 'exit') => {
    const d = drivers[p]!;
    const exited = new Promise((r) => (d.exited ? r(null) : d.child.once('exit', r)));
    if (how === 'kill') process.kill(d.pid, 'SIGKILL');
    else d.child.stdin!.end();
    await exited;
    drivers[p] = undefined;
    return d;
  };
  try {
    for (let p = 0; p < PROCS; p++) await spawn(p);
    for (const step of steps) {
      out.push(`== ${label(step)}`);
      const lines = new Map<number, string[]>();
      const put = (p: number, l: string[]) => lines.set(p, [...(lines.get(p) ?? []), ...l]);
      switch (step.do) {
        case 'cmds':
          await Promise.all([...step.cmds].map(async ([p, cmds]) => {
            for (const c of cmds) put(p, await ask(drivers[p]!, c));
          }));
          break;
        case 'big':
          put(step.p, await ask(drivers[step.p]!, step.cmd));
          for (const [q, s] of step.receivers) put(q, await ask(drivers[q]!, `until ${s} 1`));
          break;
        case 'kill':
        case 'exit': {
          const d = await gone(step.p, step.do);
          if (step.do === 'exit' && d.lines.join('\n') !== 'end') throw new Error(`p${step.p} printed at its end:\n${d.lines.join('\n')}\n${d.stderr}`);
          await side.connectionsGone(nodeOf(step.p), d.pid);
          break;
        }
        case 'spawn':
          put(step.p, await spawn(step.p));
          break;
        case 'ckill':
          put(step.p, await ask(drivers[step.p]!, ckill(step.n)));
        // falls through: the node is gone as if stopped
        case 'stop':
          await side.cluster(step);
          // their daemon is gone: what they would print now is the library's reconnect policy, not cpg
          for (const [p] of live()) if (nodeOf(p) === step.n) await gone(p, 'kill');
          break;
        default:
          await side.cluster(step);
      }
      for (const [, d] of live()) await ask(d, 'barrier');
      for (const [p, d] of live()) for (const s of [0, 1]) put(p, await ask(d, `dispatch ${s} all`));
      for (const [p, l] of [...lines].sort((a, b) => a[0] - b[0])) out.push(...l.map((x) => `p${p} ${x}`));
    }
    for (const [p] of live()) {
      const d = await gone(p, 'exit');
      if (d.lines.join('\n') !== 'end') throw new Error(`p${p} printed at its end:\n${d.lines.join('\n')}\n${d.stderr}`);
    }
    return out;
  } catch (e) {
    if (e instanceof PidOrder) throw e;
    throw new Error(`on ${side.name}: ${(e as Error).message}\nprinted so far:\n${out.join('\n')}`, { cause: e });
  } finally {
    for (const d of drivers) {
      if (d && !d.exited) {
        const exited = new Promise((r) => d.child.once('exit', r));
        d.child.kill('SIGKILL');
        await exited;
      }
    }
  }
}

/** The deliveries each slot saw, per group: "sender/len" in the order delivered. */
function deliveries(lines: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  for (const l of lines) {
    const m = /^(p\d+) +(\d) deliver (x[0-9a-f]+) node=\d+ pid=(\S+) len=(\d+)/.exec(l);
    if (m) seen.set(`${m[1]}/${m[2]} ${m[3]}`, [...(seen.get(`${m[1]}/${m[2]} ${m[3]}`) ?? []), `${m[4]}/${m[5]}`]);
  }
  return seen;
}

/**
 * Every slot delivers every message once, each sender's in the order sent (lengths grow with
 * each message a script sends, a fragmented one's MAX_ATOMIC beyond), and any two slots of a group deliver the messages both saw in the
 * same order (one total order on every node); a description of the first breach.
 */
export function totalOrderBreach(lines: string[]): string | undefined {
  const seen = [...deliveries(lines)];
  for (const [slot, msgs] of seen) {
    if (new Set(msgs).size !== msgs.length) return `${slot} delivered a message twice: ${msgs.join(' ')}`;
    const last = new Map<string, number>();
    for (const m of msgs) {
      const [from, len] = [m.split('/')[0]!, Number(m.split('/')[1])];
      // a fragmented message's length is MAX_ATOMIC beyond the script's count
      const n = len > MAX_ATOMIC ? len - MAX_ATOMIC : len;
      if (n < (last.get(from) ?? 0)) return `${slot} delivered ${from}'s messages out of the order sent: ${msgs.join(' ')}`;
      last.set(from, n);
    }
  }
  for (const [a, x] of seen) {
    for (const [b, y] of seen) {
      if (a >= b || a.split(' ')[1] !== b.split(' ')[1]) continue;
      const both = (u: string[], v: string[]) => u.filter((m) => v.includes(m));
      if (both(x, y).join(' ') !== both(y, x).join(' ')) return `${a} and ${b} delivered in different orders:\n  ${both(x, y).join(' ')}\n  ${both(y, x).join(' ')}`;
    }
  }
  return undefined;
}

/**
 * The lines as two runs are compared: within a step's dispatch, which of several senders' messages
 * came first is totem's choice, so a run of deliveries is compared as a set (the order is checked
 * within each run by totalOrderBreach).
 */
export function comparable(lines: string[]): string[] {
  const out: string[] = [];
  let run: string[] = [];
  const flush = () => {
    out.push(...run.sort());
    run = [];
  };
  for (const l of lines) {
    if (/^p\d+ +\d deliver /.test(l)) run.push(l);
    else {
      flush();
      out.push(l);
    }
  }
  flush();
  return out;
}

/** How many ring changes (totem callbacks) each step showed: a real cluster that flapped shows more. */
export function ringChanges(lines: string[]): number[] {
  const counts: number[] = [];
  for (const l of lines) {
    if (l.startsWith('== ')) counts.push(0);
    else if (/^p\d+ +\d totem /.test(l)) counts[counts.length - 1]!++;
  }
  return counts;
}
