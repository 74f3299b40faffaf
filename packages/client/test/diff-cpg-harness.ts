// Generated cpg/cfg command sequences for the differential tests (real-diff-cpg*.test.ts): fast-check
// draws abstract operations, a small model of corosync 3.1.7's cpg (one process, one node:
// exec/cpg.c's join checks, confchg recipients, leave that never returns a connection to
// "unjoined", PROCDOWN on close) turns them into the command lines of test/cref/diff-cpg.c and
// .mjs. The model does not predict any output: both drivers' outputs are compared with each other.
// It only decides when to dispatch and how many callbacks to wait for (dispatching more than
// will come would block), keeps out what would block libcpg for good (a join after a leave:
// CS_ERR_BUSY, re-sent forever), and keeps at most 8 events queued per handle: corosync's socket
// holds 10 datagrams (net.unix.max_dgram_qlen), the rest follow when its loop retries, so a
// CS_DISPATCH_ALL behind more would see a time-dependent part of them. A fragmented message is
// always drained at once for the same reason.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { crashTraceEnv, sequenceShare, startNamespace, waitFor, type Namespace } from '@corosync-ts/nstest/core';

const CLI = fileURLToPath(new URL('../../testkit/src/cli.ts', import.meta.url));
const TESTKIT = fileURLToPath(new URL('../../testkit', import.meta.url));

/** Group names: empty, short, 127/128/129 bytes, NUL and odd bytes inside. */
export const NAMES: string[] = [
  '',
  '61',
  '62',
  Buffer.from(Array.from({ length: 127 }, (_, i) => (i * 37 + 1) & 0xff)).toString('hex'),
  Buffer.concat([Buffer.from('g\0'), Buffer.alloc(126, 0xfe)]).toString('hex'),
  Buffer.alloc(129, 0x63).toString('hex'),
  '610062',
  Buffer.from('\\\n\t ').toString('hex'),
];
const nameTok = (i: number) => `x${NAMES[i]}`;
const nameLen = (i: number) => NAMES[i]!.length / 2;
const MAX_ATOMIC = 1047552;
const SIZES: number[][] = [[0], [1], [7], [3, 4], [0, 0], [MAX_ATOMIC - 1], [MAX_ATOMIC], [MAX_ATOMIC + 1], [MAX_ATOMIC + 1, 5], [3000000]];
const CFG_NODES = [0, 1, 2, 3, 99];

export type Op =
  | { k: 'init'; s: number; v: 'init' | 'model' | 'badmodel' | 'badflags'; flag: boolean; totem: boolean }
  | { k: 'join' | 'leave' | 'members'; s: number; n: number }
  | { k: 'mcast'; s: number; g: number; z: number }
  | { k: 'local' | 'maxsize' | 'fcstate' | 'fin' | 'drain'; s: number }
  | { k: 'iinit'; s: number; i: number; t: number; n: number | null }
  | { k: 'inext' | 'ifin'; i: number }
  | { k: 'dispatch'; s: number; m: 'one' | 'all' | 'nb' | 'blocking' }
  | { k: 'cinit' | 'clocal' | 'cring' | 'cuntrack' | 'creload' | 'creopen' | 'cfin'; s: number }
  | { k: 'cnode'; s: number; node: number; ver: number }
  | { k: 'caddrs'; s: number; node: number; max: number }
  | { k: 'ctrack'; s: number; flags: number }
  | { k: 'creply'; s: number; r: number }
  | { k: 'cdispatch'; s: number; m: 'all' | 'nb' };

const slot = fc.integer({ min: 0, max: 2 });
const name = fc.integer({ min: 0, max: NAMES.length - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('init' as const), s: slot, v: fc.constantFrom('init' as const, 'model' as const, 'model' as const, 'badmodel' as const, 'badflags' as const), flag: fc.boolean(), totem: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('join' as const), s: slot, n: name }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('leave' as const), s: slot, n: name }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('members' as const), s: slot, n: name }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('mcast' as const), s: slot, g: fc.integer({ min: 0, max: 3 }), z: fc.integer({ min: 0, max: SIZES.length - 1 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constantFrom('local' as const, 'maxsize' as const, 'fcstate' as const), s: slot }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('fin' as const), s: slot }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('drain' as const), s: slot }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('dispatch' as const), s: slot, m: fc.constantFrom('one' as const, 'all' as const, 'nb' as const, 'blocking' as const) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('iinit' as const), s: slot, i: fc.integer({ min: 0, max: 1 }), t: fc.integer({ min: 0, max: 4 }), n: fc.option(name, { nil: null }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constantFrom('inext' as const, 'ifin' as const), i: fc.integer({ min: 0, max: 1 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constantFrom('cinit' as const, 'clocal' as const, 'cring' as const, 'cuntrack' as const, 'creload' as const, 'creopen' as const, 'cfin' as const), s: fc.integer({ min: 0, max: 1 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cnode' as const), s: fc.integer({ min: 0, max: 1 }), node: fc.constantFrom(...CFG_NODES), ver: fc.constantFrom(1, 1, 2) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('caddrs' as const), s: fc.integer({ min: 0, max: 1 }), node: fc.constantFrom(...CFG_NODES), max: fc.constantFrom(0, 1, 8) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('ctrack' as const), s: fc.integer({ min: 0, max: 1 }), flags: fc.constantFrom(0, 255) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('creply' as const), s: fc.integer({ min: 0, max: 1 }), r: fc.constantFrom(0, 1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cdispatch' as const), s: fc.integer({ min: 0, max: 1 }), m: fc.constantFrom('all' as const, 'nb' as const) }) },
);
/** A sequence starts with two cpg handles and a cfg one, so that most of what follows does something. */
export const sequences = fc.array(op, { minLength: 8, maxLength: 50, size: 'large' }).map((ops): Op[] => [
  { k: 'init', s: 0, v: 'model', flag: true, totem: true },
  { k: 'init', s: 1, v: 'init', flag: false, totem: false },
  { k: 'cinit', s: 0 },
  ...ops,
]);

interface Item { cb: boolean; big: boolean }
interface Slot { open: boolean; state: 'U' | 'J' | 'L'; group: number; flag: boolean; totemCb: boolean; totemSent: boolean; queue: Item[] }

/** The command lines for `ops`, and whether the daemon keeps member entries after the driver exits. */
export function commands(ops: Op[]): { lines: string[]; leftovers: boolean } {
  const slots: Slot[] = Array.from({ length: 3 }, () => ({ open: false, state: 'U', group: -1, flag: false, totemCb: false, totemSent: false, queue: [] }));
  const cfgOpen = [false, false];
  const entries = new Set<number>();
  const lines: string[] = [];
  const holders = (g: number) => slots.filter((t) => t.open && (t.state === 'J' || t.state === 'L') && t.group === g);
  const confchg = (g: number) => {
    for (const t of holders(g)) t.queue.push({ cb: true, big: false });
  };
  const drain = (i: number) => {
    const t = slots[i]!;
    const cbs = t.queue.filter((x) => x.cb).length;
    if (cbs > 0) {
      lines.push(`until ${i} ${cbs}`);
      // what follows the last callback stays queued
      let n = 0;
      while (n < cbs) if (t.queue.shift()!.cb) n++;
    } else if (t.queue.length > 0) {
      lines.push(`dispatch ${i} all`);
      t.queue = [];
    }
  };
  for (const o of ops) {
    switch (o.k) {
      case 'init': {
        const t = slots[o.s]!;
        if (t.open) break;
        if (o.v === 'init') lines.push(`init ${o.s}`);
        else if (o.v === 'badmodel') lines.push(`model ${o.s} 2 0 1`);
        else if (o.v === 'badflags') lines.push(`model ${o.s} 1 2 1`);
        else lines.push(`model ${o.s} 1 ${o.flag ? 1 : 0} ${o.totem ? 1 : 0}`);
        if (o.v === 'init' || o.v === 'model') {
          Object.assign(t, { open: true, state: 'U', group: -1, flag: o.v === 'model' && o.flag, totemCb: o.v === 'model' && o.totem, totemSent: false, queue: [] });
        }
        break;
      }
      case 'join': {
        const t = slots[o.s]!;
        if (t.open && nameLen(o.n) <= 128 && !slots.some((u) => u.open && u.state !== 'U' && u.group === o.n) && !entries.has(o.n)) {
          // libcpg re-sends a join answered CS_ERR_BUSY forever
          if (t.state === 'L') break;
          if (t.state === 'U') {
            Object.assign(t, { state: 'J', group: o.n });
            entries.add(o.n);
            confchg(o.n);
            if (t.flag && !t.totemSent) {
              t.totemSent = true;
              t.queue.push({ cb: t.totemCb, big: false });
            }
          }
        }
        lines.push(`join ${o.s} ${nameTok(o.n)}`);
        break;
      }
      case 'leave': {
        const t = slots[o.s]!;
        lines.push(`leave ${o.s} ${nameTok(o.n)}`);
        if (t.open && nameLen(o.n) <= 128 && t.state === 'J') {
          // the leave names a group, not necessarily the connection's own
          t.state = 'L';
          confchg(o.n);
          entries.delete(o.n);
        }
        break;
      }
      case 'mcast': {
        const t = slots[o.s]!;
        const sizes = SIZES[o.z]!;
        const total = sizes.reduce((x, y) => x + y, 0);
        lines.push(`mcast ${o.s} ${o.g} ${sizes.join(',')}`);
        if (t.open && t.state === 'J' && entries.has(t.group)) {
          const recipients = holders(t.group);
          for (const r of recipients) r.queue.push({ cb: true, big: total > MAX_ATOMIC });
          if (total > MAX_ATOMIC) for (const r of recipients) drain(slots.indexOf(r));
        }
        break;
      }
      case 'members':
        lines.push(`members ${o.s} ${nameTok(o.n)}`);
        break;
      case 'local':
      case 'maxsize':
      case 'fcstate':
        lines.push(`${o.k} ${o.s}`);
        break;
      case 'fin': {
        const t = slots[o.s]!;
        lines.push(`fin ${o.s}`);
        if (!t.open) break;
        t.open = false;
        t.queue = [];
        if (t.state === 'J' && nameLen(t.group) > 0) {
          confchg(t.group);
          entries.delete(t.group);
        }
        break;
      }
      case 'drain':
        if (slots[o.s]!.open) drain(o.s);
        break;
      case 'dispatch': {
        const t = slots[o.s]!;
        if (!t.open) {
          lines.push(`dispatch ${o.s} ${o.m}`);
          break;
        }
        if (t.queue.some((x) => x.big)) {
          drain(o.s);
          break;
        }
        if (o.m === 'blocking' || (o.m === 'one' && t.queue.length === 0)) break; // would block for good
        lines.push(`dispatch ${o.s} ${o.m}`);
        if (o.m === 'all') t.queue = [];
        else t.queue.shift();
        break;
      }
      case 'iinit':
        lines.push(`iinit ${o.s} ${o.i} ${o.t} ${o.n === null ? '-' : nameTok(o.n)}`);
        break;
      case 'inext':
      case 'ifin':
        lines.push(`${o.k} ${o.i}`);
        break;
      case 'cinit':
        if (cfgOpen[o.s]) break;
        cfgOpen[o.s] = true;
        lines.push(`cinit ${o.s}`);
        break;
      case 'cfin':
        cfgOpen[o.s] = false;
        lines.push(`cfin ${o.s}`);
        break;
      case 'clocal':
      case 'cring':
      case 'cuntrack':
      case 'creload':
      case 'creopen':
        lines.push(`${o.k} ${o.s}`);
        break;
      case 'cnode':
        lines.push(`cnode ${o.s} ${o.node} ${o.ver}`);
        break;
      case 'caddrs':
        lines.push(`caddrs ${o.s} ${o.node} ${o.max}`);
        break;
      case 'ctrack':
        lines.push(`ctrack ${o.s} ${o.flags}`);
        break;
      case 'creply':
        lines.push(`creply ${o.s} ${o.r}`);
        break;
      case 'cdispatch':
        lines.push(`cdispatch ${o.s} ${o.m}`);
        break;
    }
    for (let i = 0; i < slots.length; i++) if (slots[i]!.open && slots[i]!.queue.length > 8) drain(i);
  }
  // At exit a joined connection's entry goes (PROCDOWN); the empty name's and a left one's stay.
  const remaining = new Set(entries);
  for (const t of slots) if (t.open && t.state === 'J' && nameLen(t.group) > 0) remaining.delete(t.group);
  return { lines, leftovers: remaining.size > 0 };
}

/**
 * fast-check's parameters: a fixed seed and 40 sequences in CI, half of them in each of its two
 * passes (the property returns at once while `skip()` is true: see sequenceShare); DIFF_CPG_RUNS=N
 * for more, DIFF_CPG_SEED=S for another seed, DIFF_CPG_SHRINK=0 to stop at the first difference
 * unshrunk. Shrinking runs the drivers again for each candidate: it stops after 15 minutes with the
 * shortest sequence found by then.
 */
export function diffParams(): { params: fc.Parameters<[Op[]]>; skip(): boolean } {
  const { numRuns, skip } = sequenceShare(Number(process.env.DIFF_CPG_RUNS ?? 40));
  const params = {
    seed: Number(process.env.DIFF_CPG_SEED ?? 20261206),
    numRuns,
    endOnFailure: process.env.DIFF_CPG_SHRINK === '0',
    interruptAfterTimeLimit: 15 * 60_000,
  };
  return { params, skip };
}

/** The daemon under test: a 3-node nodelist, node 1 up (nodes 2 and 3 configured, down). */
export const THREE_NODES = readFileSync(new URL('../../testkit/test/fixtures/three-nodes.conf', import.meta.url), 'utf8');

/** Each driver starts on a daemon whose process list is empty: entries a run leaves behind for good (the empty name's, a left connection's) take a restart. */
export async function cleanDaemon(ns: Namespace, restart: () => Promise<void>, leftovers: boolean): Promise<void> {
  if (leftovers) return restart();
  const empty = async () => {
    const r = await ns.exec(['corosync-cpgtool', '-d', ','], { timeout: 10_000 });
    return r.code === 0 && r.stdout.trim().split('\n').length <= 1;
  };
  try {
    await waitFor('the cpg process list to empty', empty, { timeout: 10_000 });
  } catch {
    await restart();
  }
}

export async function runDriver(ns: Namespace, argv: string[], lines: string[]): Promise<string[]> {
  const r = await ns.exec(argv, { input: `${lines.join('\n')}\n`, timeout: 120_000, env: await crashTraceEnv() });
  const out = r.stdout.trimEnd().split('\n');
  if (r.code !== 0 || out.at(-1) !== 'end') throw new Error(`${argv.at(-1)} exited with ${r.code ?? r.signal}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return out;
}

/** What the comparison rests on: the model's waits were right (nothing timed out, no member stayed listed). */
export function checkModel(out: string[]): void {
  const bad = out.find((l) => / TIMEOUT | STILL-LISTED/.test(` ${l} `));
  if (bad) throw new Error(`the sequence waited for something that never came: ${bad}`);
}

/** corosync-mock inside `ns`, serving the real names (as root, like the daemon). */
export async function startMock(ns: Namespace, conf: string): Promise<{ child: ChildProcess; exited: Promise<void>; stop(): Promise<void> }> {
  const confPath = join(ns.dir, 'mock.conf');
  writeFileSync(confPath, conf);
  // nsenter starts in the namespace's /, where tsx would not resolve
  const child = ns.spawn(['sh', '-c', 'cd "$0" && exec "$@"', TESTKIT, process.execPath, '--import', 'tsx', CLI, '--config', confPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: await crashTraceEnv(),
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor('corosync-mock to serve', () => {
    if (child.exitCode !== null) throw new Error(`corosync-mock exited: ${err}`);
    return /serving/.test(err);
  }, { timeout: 60_000 });
  return {
    child,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

type Mock = Awaited<ReturnType<typeof startMock>>;

/**
 * corosync 3.1.7 and corosync-mock from the same corosync.conf, each in a namespace of its own
 * (`client-<name>-real`, `client-<name>-mock`), for a script run against both. `restartMock`
 * replaces `mock`; `close` stops whatever was started, also after a start that failed halfway.
 */
export interface RealAndMock {
  real?: Namespace;
  mockNs?: Namespace;
  mock?: Mock;
  restartMock(): Promise<void>;
  close(): Promise<void>;
}

export function realAndMock(name: string, conf: string): RealAndMock & { start(): Promise<void> } {
  const pair: RealAndMock & { start(): Promise<void> } = {
    async start() {
      pair.real = await startNamespace({ name: `client-${name}-real` });
      pair.mockNs = await startNamespace({ name: `client-${name}-mock` });
      await pair.real.startCorosync({ conf });
      pair.mock = await startMock(pair.mockNs, conf);
    },
    async restartMock() {
      await pair.mock?.stop();
      pair.mock = await startMock(pair.mockNs!, conf);
    },
    async close() {
      await pair.mock?.stop();
      await pair.mockNs?.close();
      await pair.real?.close();
    },
  };
  return pair;
}
