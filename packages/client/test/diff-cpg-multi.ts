// Generated cpg/cfg sequences across several driver processes on one node (real-diff-cpg-multi.test.ts):
// the drivers of test/cref/diff-cpg.{c,mjs}, one per process, each command addressed to one of
// them. A small model of corosync 3.1.7 (exec/cpg.c's process list keyed by pid and group,
// confchg recipients in every process, PROCDOWN when a process dies; exec/cfg.c's shutdown vote)
// decides, as diff-cpg-harness.ts does for one process, how many callbacks to wait for, and keeps
// out what would block for good or is undefined in libcpg (a zero-copy buffer freed twice, used
// after its handle is gone, or read past its end: SIGSEGV in the driver or in corosync). It does
// not predict what is printed: the outputs of the implementations are compared with each other.
//
// A script line is `pK: <command>` (sent to driver K, its answer awaited), `pK& <command>` (sent,
// its answer collected later by `wait pK`: try_shutdown blocks until the votes are in),
// `kill pK` (SIGKILL of driver K) or `exit pK` (its stdin closed: it returns from main with its
// handles open). After a command that goes through totem, and after a kill or exit once
// corosync has dropped the process's connections, every live driver in turn sends a message of
// its probe and waits for it (a probe chain): all the events caused before are then on every
// driver's sockets. A script whose last command ends corosync (an allowed shutdown, KILLNODE of
// this node) waits for the daemon to exit; the test restarts it.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { waitFor, type Namespace } from '@corosync-ts/nstest/core';
import { NAMES } from './diff-cpg-harness.js';

export const PROCS = 3;
const nameTok = (i: number) => `x${NAMES[i]}`;
const nameLen = (i: number) => NAMES[i]!.length / 2;
const MAX_ATOMIC = 1047552;
const SIZES: number[][] = [[0], [1], [7], [3, 4], [MAX_ATOMIC], [MAX_ATOMIC + 1], [2500000]];
/** zcb_alloc sizes: empty, one byte, the atomic limit, IPC_REQUEST_SIZE, above it. */
const ZSIZES = [0, 1, 100, MAX_ATOMIC, 1048576, 2000000];
const ZCB_MAX = 1048576;

export type MOp =
  | { k: 'init'; p: number; s: number; v: 'init' | 'model'; flag: boolean; totem: boolean }
  | { k: 'join' | 'leave' | 'members'; p: number; s: number; n: number }
  | { k: 'mcast'; p: number; s: number; g: number; z: number }
  | { k: 'fin' | 'drain'; p: number; s: number }
  | { k: 'iinit'; p: number; s: number; t: number }
  | { k: 'inext' | 'ifin'; p: number }
  | { k: 'zalloc'; p: number; s: number; b: number; z: number }
  | { k: 'zmcast'; p: number; s: number; b: number; g: number; len: 'all' | 'zero' | 'one' | 'over' }
  | { k: 'zfree'; p: number; s: number; b: number }
  | { k: 'cinit' | 'cfin' | 'ctrack' | 'cuntrack' | 'cdrain'; p: number; c: number }
  | { k: 'cshut'; p: number; c: number; flags: number }
  | { k: 'creply'; p: number; c: number; r: number }
  | { k: 'ckill'; p: number; c: number; node: number; reason: number }
  | { k: 'kill' | 'exit' | 'wait'; p: number };

const proc = fc.integer({ min: 0, max: PROCS - 1 });
const slot = fc.constantFrom(0, 0, 0, 1);
const name = fc.constantFrom(0, 1, 1, 2, 2, 3, 6);
const mop: fc.Arbitrary<MOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('init' as const), p: proc, s: slot, v: fc.constantFrom('init' as const, 'model' as const), flag: fc.boolean(), totem: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('join' as const), p: proc, s: slot, n: name }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('leave' as const), p: proc, s: slot, n: name }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('members' as const), p: proc, s: slot, n: name }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('mcast' as const), p: proc, s: slot, g: fc.integer({ min: 0, max: 3 }), z: fc.integer({ min: 0, max: SIZES.length - 1 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('fin' as const), p: proc, s: slot }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('drain' as const), p: proc, s: slot }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('iinit' as const), p: proc, s: slot, t: fc.constantFrom(1, 3) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constantFrom('inext' as const, 'ifin' as const), p: proc }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('zalloc' as const), p: proc, s: slot, b: slot, z: fc.integer({ min: 0, max: ZSIZES.length - 1 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('zmcast' as const), p: proc, s: slot, b: slot, g: fc.integer({ min: 0, max: 3 }), len: fc.constantFrom('all' as const, 'all' as const, 'zero' as const, 'one' as const, 'over' as const) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('zfree' as const), p: proc, s: slot, b: slot }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constantFrom('cinit' as const, 'cfin' as const, 'cuntrack' as const, 'cdrain' as const), p: proc, c: fc.constant(0) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('ctrack' as const), p: proc, c: fc.constant(0) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('cshut' as const), p: proc, c: fc.constant(0), flags: fc.constantFrom(0, 0, 0, 1, 1, 2, 7) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('creply' as const), p: proc, c: fc.constant(0), r: fc.constantFrom(0, 1, 1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('ckill' as const), p: proc, c: fc.constant(0), node: fc.constantFrom(1, 2, 3, 99), reason: fc.constantFrom(4, 255, 256) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constantFrom('kill' as const, 'exit' as const), p: proc }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('wait' as const), p: proc }) },
);

/** Every driver starts with a cpg handle (slot 0) and a cfg one, so that most of what follows does something. */
export const multiSequences = fc.array(mop, { minLength: 10, maxLength: 45, size: 'large' }).map((ops): MOp[] => [
  ...Array.from({ length: PROCS }, (_, p): MOp[] => [
    { k: 'init', p, s: 0, v: 'model', flag: p === 0, totem: true },
    { k: 'cinit', p, c: 0 },
  ]).flat(),
  // a second handle in one driver: zero-copy buffers used across handles
  { k: 'init', p: 1, s: 1, v: 'init', flag: false, totem: false },
  ...ops,
]);

interface Item { cb: boolean; big: boolean }
interface Slot { open: boolean; state: 'U' | 'J' | 'L'; group: number; flag: boolean; totemCb: boolean; totemSent: boolean; queue: Item[] }
/** `asked`: it has called try_shutdown (exec/cfg.c's ci->conn), which the timer's TESTSHUTDOWN goes to. */
interface Cfg { open: boolean; tracker: boolean; asked: boolean; reply: 'U' | 'Y' | 'N'; queue: number }
interface Zbuf { owner: number; size: number }
interface Session { p: number; c: number; flags: number; expected: number; yes: number; no: number; ops: number }

/** A session pending this many commands is brought to its end (the votes must come before cfg.shutdown_timeout). */
const SESSION_OPS = 6;

/**
 * The script for `ops`, whether it ends corosync, and whether the daemon keeps member entries
 * after every driver is gone (an empty name's, a left connection's).
 */
export function multiScript(ops: MOp[]): { lines: string[]; ends: boolean; leftovers: boolean } {
  const slots: Slot[][] = Array.from({ length: PROCS }, () =>
    Array.from({ length: 2 }, () => ({ open: false, state: 'U' as const, group: -1, flag: false, totemCb: false, totemSent: false, queue: [] })),
  );
  const cfgs: Cfg[][] = Array.from({ length: PROCS }, () => [{ open: false, tracker: false, asked: false, reply: 'U' as const, queue: 0 }]);
  const zbufs: (Zbuf | null)[][] = Array.from({ length: PROCS }, () => [null, null]);
  const alive = Array.from({ length: PROCS }, () => true);
  /** Process-list entries "pid:group" (pid = driver number). */
  const entries = new Set<string>();
  const iterating = Array.from({ length: PROCS }, () => false);
  let session: Session | null = null;
  let ends = false;
  const lines: string[] = [];
  const blocked = (p: number) => session !== null && session.p === p;
  const holders = (g: number) => slots.flatMap((ps, p) => (alive[p] ? ps : [])).filter((t) => t.open && (t.state === 'J' || t.state === 'L') && t.group === g);
  const confchg = (g: number) => {
    for (const t of holders(g)) t.queue.push({ cb: true, big: false });
  };
  const groupHasEntry = (g: number) => [...entries].some((e) => e.endsWith(`:${g}`));
  const drain = (p: number, i: number) => {
    const t = slots[p]![i]!;
    const cbs = t.queue.filter((x) => x.cb).length;
    if (cbs > 0) {
      lines.push(`p${p}: until ${i} ${cbs}`);
      let n = 0;
      while (n < cbs) if (t.queue.shift()!.cb) n++;
    } else if (t.queue.length > 0) {
      lines.push(`p${p}: dispatch ${i} all`);
      t.queue = [];
    }
  };
  const cdrain = (p: number, c: number) => {
    const f = cfgs[p]![c]!;
    if (f.queue > 0) lines.push(`p${p}: cuntil ${c} ${f.queue}`);
    f.queue = 0;
  };
  /** exec/cfg.c check_shutdown_status. */
  const decide = () => {
    const s = session;
    if (!s || s.yes + s.no < s.expected) return;
    session = null;
    lines.push(`wait p${s.p}`);
    if (s.yes >= s.expected || s.flags === 1) ends = true;
  };
  /** exec/cfg.c remove_ci_from_shutdown: trackstop or disconnect. */
  const untrack = (p: number, c: number) => {
    const f = cfgs[p]![c]!;
    if (session && session.p === p && session.c === c) session = null;
    if (!f.tracker) return;
    f.tracker = false;
    if (session) {
      if (f.reply === 'Y') session.yes--;
      if (f.reply === 'N') session.no--;
    }
    f.reply = 'Y';
    if (session) {
      session.yes++;
      decide();
    }
  };
  const procdown = (p: number, t: Slot) => {
    if (t.open && t.state === 'J' && nameLen(t.group) > 0) {
      t.open = false;
      confchg(t.group);
      entries.delete(`${p}:${t.group}`);
    }
    t.open = false;
    t.queue = [];
  };

  /** What ends corosync comes only among the last commands, so that most scripts have a long life first. */
  const mayEnd = (i: number) => i >= ops.length - 6;
  for (const [i, o] of ops.entries()) {
    if (ends) break;
    const p = o.p;
    if (!alive[p] || blocked(p)) continue;
    // While a shutdown is being decided only cfg commands, kills and waits: the requester's
    // driver cannot dispatch meanwhile, and the votes must come before the daemon's timer.
    if (session && !['creply', 'cuntrack', 'cfin', 'ctrack', 'cdrain', 'kill', 'wait', 'cshut'].includes(o.k)) continue;
    if (session) session.ops++;
    switch (o.k) {
      case 'init': {
        const t = slots[p]![o.s]!;
        if (t.open) break;
        lines.push(o.v === 'init' ? `p${p}: init ${o.s}` : `p${p}: model ${o.s} 1 ${o.flag ? 1 : 0} ${o.totem ? 1 : 0}`);
        Object.assign(t, { open: true, state: 'U', group: -1, flag: o.v === 'model' && o.flag, totemCb: o.v === 'model' && o.totem, totemSent: false, queue: [] });
        break;
      }
      case 'join': {
        const t = slots[p]![o.s]!;
        const mine = (u: Slot) => u.open && u.state !== 'U' && u.group === o.n;
        if (t.open && nameLen(o.n) <= 128 && !slots[p]!.some(mine) && !entries.has(`${p}:${o.n}`)) {
          if (t.state === 'L') break; // libcpg re-sends a join answered CS_ERR_BUSY forever
          if (t.state === 'U') {
            Object.assign(t, { state: 'J', group: o.n });
            entries.add(`${p}:${o.n}`);
            confchg(o.n);
            if (t.flag && !t.totemSent) {
              t.totemSent = true;
              t.queue.push({ cb: t.totemCb, big: false });
            }
          }
        }
        lines.push(`p${p}: join ${o.s} ${nameTok(o.n)}`);
        break;
      }
      case 'leave': {
        const t = slots[p]![o.s]!;
        lines.push(`p${p}: leave ${o.s} ${nameTok(o.n)}`);
        if (t.open && t.state === 'J') {
          t.state = 'L';
          confchg(o.n);
          entries.delete(`${p}:${o.n}`);
        }
        break;
      }
      case 'mcast':
      case 'zmcast': {
        const t = slots[p]![o.s]!;
        let total: number;
        if (o.k === 'mcast') {
          const sizes = SIZES[o.z]!;
          total = sizes.reduce((x, y) => x + y, 0);
          lines.push(`p${p}: mcast ${o.s} ${o.g} ${sizes.join(',')}`);
        } else {
          const z = zbufs[p]![o.b];
          // libcpg dereferences the buffer (and corosync its mapping) once the handle is valid
          if (t.open && (!z || !slots[p]![z.owner]!.open)) break;
          const size = z?.size ?? 0;
          // corosync takes up to 1048576 bytes but drops a delivery that does not fit a receiver's
          // event ring (README): above the atomic size whether it arrives is not the library's doing
          total = o.len === 'all' ? Math.min(size, MAX_ATOMIC) : o.len === 'zero' ? 0 : o.len === 'one' ? Math.min(1, size) : ZCB_MAX + 1;
          lines.push(`p${p}: zmcast ${o.s} ${o.b} ${o.g} ${total}`);
          if (total > ZCB_MAX) break;
        }
        if (t.open && t.state === 'J' && groupHasEntry(t.group)) {
          const recipients = holders(t.group);
          const big = o.k === 'mcast' && total > MAX_ATOMIC;
          for (const r of recipients) r.queue.push({ cb: true, big });
          if (big) for (const r of recipients) drainSlot(r);
        }
        break;
      }
      case 'zalloc': {
        const t = slots[p]![o.s]!;
        lines.push(`p${p}: zalloc ${o.s} ${o.b} ${ZSIZES[o.z]}`);
        if (t.open) zbufs[p]![o.b] = { owner: o.s, size: ZSIZES[o.z]! };
        break;
      }
      case 'zfree': {
        const t = slots[p]![o.s]!;
        const z = zbufs[p]![o.b];
        if (t.open && !z) break; // a second free: SIGSEGV in libcpg
        lines.push(`p${p}: zfree ${o.s} ${o.b}`);
        if (t.open) zbufs[p]![o.b] = null;
        break;
      }
      case 'members':
        lines.push(`p${p}: members ${o.s} ${nameTok(o.n)}`);
        break;
      case 'fin': {
        const t = slots[p]![o.s]!;
        lines.push(`p${p}: fin ${o.s}`);
        if (!t.open) break;
        procdown(p, t);
        // corosync unmapped its buffers: using one now would make it read freed memory
        for (let b = 0; b < 2; b++) if (zbufs[p]![b]?.owner === o.s) zbufs[p]![b] = null;
        break;
      }
      case 'drain':
        if (slots[p]![o.s]!.open) drain(p, o.s);
        break;
      case 'iinit':
        if (iterating[p]) break;
        lines.push(`p${p}: iinit ${o.s} 0 ${o.t} -`);
        iterating[p] = slots[p]![o.s]!.open;
        break;
      case 'inext':
        lines.push(`p${p}: inext 0`);
        break;
      case 'ifin':
        lines.push(`p${p}: ifin 0`);
        iterating[p] = false;
        break;
      case 'cinit': {
        const f = cfgs[p]![o.c]!;
        if (f.open) break;
        Object.assign(f, { open: true, tracker: false, asked: false, reply: 'U', queue: 0 });
        lines.push(`p${p}: cinit ${o.c}`);
        break;
      }
      case 'cfin': {
        const f = cfgs[p]![o.c]!;
        lines.push(`p${p}: cfin ${o.c}`);
        if (!f.open) break;
        f.open = false;
        f.queue = 0;
        untrack(p, o.c);
        break;
      }
      case 'ctrack': {
        const f = cfgs[p]![o.c]!;
        lines.push(`p${p}: ctrack ${o.c} 0`);
        if (!f.open || f.tracker) break;
        f.tracker = true;
        if (session) {
          session.expected++;
          f.reply = 'U';
          f.queue++;
        }
        break;
      }
      case 'cuntrack': {
        const f = cfgs[p]![o.c]!;
        lines.push(`p${p}: cuntrack ${o.c}`);
        if (f.open) untrack(p, o.c);
        break;
      }
      case 'cdrain':
        if (cfgs[p]![o.c]!.open) cdrain(p, o.c);
        break;
      case 'creply': {
        const f = cfgs[p]![o.c]!;
        lines.push(`p${p}: creply ${o.c} ${o.r}`);
        if (!f.open || !session) break;
        if (o.r) session.yes++;
        else session.no++;
        f.reply = o.r ? 'Y' : 'N';
        decide();
        break;
      }
      case 'cshut': {
        const f = cfgs[p]![o.c]!;
        if (!f.open) {
          lines.push(`p${p}: cshut ${o.c} ${o.flags}`);
          break;
        }
        if (o.flags === 2) {
          if (!mayEnd(i)) break;
          lines.push(`p${p}: cshut ${o.c} ${o.flags}`);
          ends = true;
          break;
        }
        if (session) {
          lines.push(`p${p}: cshut ${o.c} ${o.flags}`); // CS_ERR_EXIST at once
          break;
        }
        if (o.flags === 1 && !mayEnd(i)) break; // REGARDLESS ends corosync whatever the votes
        const trackers = cfgs.flatMap((fs, q) => fs.map((x, c) => ({ x, q, c }))).filter(({ x, q, c }) => alive[q] && x.open && x.tracker && !(q === p && c === o.c));
        if (trackers.length === 0) {
          if (!mayEnd(i)) break;
          lines.push(`p${p}: cshut ${o.c} ${o.flags}`);
          ends = true;
          break;
        }
        lines.push(`p${p}& cshut ${o.c} ${o.flags}`);
        f.asked = true;
        session = { p, c: o.c, flags: o.flags, expected: trackers.length, yes: 0, no: 0, ops: 0 };
        for (const { x } of trackers) {
          x.reply = 'U';
          x.queue++;
        }
        // corosync has taken the request once a tracker of another driver has its question
        const first = trackers.find(({ q }) => q !== p);
        if (first) cdrain(first.q, first.c);
        else decideByTimeout();
        break;
      }
      case 'ckill': {
        const f = cfgs[p]![o.c]!;
        if (f.open && o.node === 1 && o.reason < 256) {
          if (!mayEnd(i)) break;
          ends = true;
        }
        lines.push(`p${p}: ckill ${o.c} ${o.node} ${o.reason}`);
        break;
      }
      case 'kill':
      case 'exit': {
        if (alive.filter(Boolean).length === 1) break; // someone must stay to watch
        // exit: the driver returns from main with its handles open (no finalize)
        const at = lines.push(`${o.k} p${p}`) - 1;
        alive[p] = false;
        for (const t of slots[p]!) procdown(p, t);
        for (let c = 0; c < cfgs[p]!.length; c++) {
          if (!cfgs[p]![c]!.open) continue;
          cfgs[p]![c]!.open = false;
          untrack(p, c);
        }
        // its implicit YES decided the shutdown: corosync goes down, nothing to wait for
        if (ends) lines[at] += ' ends';
        break;
      }
      case 'wait':
        if (session) decideByTimeout();
        break;
    }
    if (session && session.ops >= SESSION_OPS) decideByTimeout();
    for (let q = 0; q < PROCS; q++) {
      if (!alive[q] || blocked(q)) continue;
      for (let i = 0; i < 2; i++) if (slots[q]![i]!.open && slots[q]![i]!.queue.length > 8) drain(q, i);
      if (cfgs[q]![0]!.open && cfgs[q]![0]!.queue > 4) cdrain(q, 0);
    }
  }
  if (session && !ends) decideByTimeout();
  // what is still queued is shown too
  if (!ends) {
    for (let q = 0; q < PROCS; q++) {
      if (!alive[q]) continue;
      for (let i = 0; i < 2; i++) if (slots[q]![i]!.open) drain(q, i);
      if (cfgs[q]![0]!.open) cdrain(q, 0);
    }
  }
  // At exit a joined connection's entry goes (PROCDOWN); the empty name's and a left one's stay.
  const remaining = new Set(entries);
  slots.forEach((ps, p) => {
    for (const t of ps) if (t.open && t.state === 'J' && nameLen(t.group) > 0) remaining.delete(`${p}:${t.group}`);
  });
  return { lines, ends, leftovers: remaining.size > 0 };

  function drainSlot(r: Slot) {
    for (let q = 0; q < PROCS; q++) {
      const i = slots[q]!.indexOf(r);
      if (i >= 0 && !blocked(q)) drain(q, i);
    }
  }
  /** Votes still missing: the timer decides (they count as NO). */
  function decideByTimeout() {
    const s = session!;
    s.no = s.expected - s.yes;
    decide();
    // then TESTSHUTDOWN (error TIMEOUT, which libcfg ignores) to the trackers that once asked themselves
    cfgs.forEach((fs, q) => {
      if (alive[q]) for (const x of fs) if (x.open && x.tracker && x.asked) x.queue++;
    });
  }
}

/** One driver process of a run (diff-cpg-cluster.ts runs them on several nodes). */
export class Driver {
  readonly lines: string[] = [];
  stderr = '';
  exited = false;
  pid = 0;
  #wake: (() => void) | undefined;

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    createInterface({ input: child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.#wake?.();
    });
    child.on('exit', () => {
      this.exited = true;
      this.#wake?.();
    });
    child.stdin!.on('error', () => {});
  }

  send(cmd: string): void {
    this.child.stdin!.write(`${cmd}\n`);
  }

  /** The lines up to and including the answer to `cmd` (callbacks come before it). */
  async answer(cmd: string, ms: number): Promise<string[]> {
    const deadline = Date.now() + ms;
    const done = () => this.lines.findIndex((l) => l.startsWith(`${cmd} -> `) || !(l.startsWith('  ') || l.includes(' -> ')));
    for (;;) {
      const i = done();
      if (i >= 0) {
        const got = this.lines.splice(0, i + 1);
        if (!got.at(-1)!.startsWith(`${cmd} -> `)) throw new Error(`${this.label} printed ${got.at(-1)} waiting for "${cmd}":\n${got.join('\n')}\n${this.stderr}`);
        return got;
      }
      if (this.exited) throw new Error(`${this.label} exited waiting for "${cmd}":\n${this.lines.join('\n')}\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label} did not answer "${cmd}" within ${ms} ms:\n${this.lines.join('\n')}\n${this.stderr}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#wake = () => (clearTimeout(t), r());
      });
      this.#wake = undefined;
    }
  }
}

export interface MultiOptions {
  /** Resolves once the daemon has exited (a script that `ends`). */
  daemonExit(): Promise<unknown>;
  /** How long one answer may take. */
  ms?: number;
}

/** The commands of a script line that go through totem: every driver then takes its turn at the probe. */
const SYNC = new Set(['join', 'leave', 'mcast', 'zmcast', 'fin']);

/**
 * Runs `script` on one driver process per argv (started one after the other, so that their pids,
 * which order corosync's member lists, ascend as their labels do) and returns what they printed,
 * each line labelled with its driver, in script order.
 */
export async function runMulti(ns: Namespace, argvs: string[][], script: string[], ends: boolean, opts: MultiOptions): Promise<string[]> {
  const ms = opts.ms ?? 60_000;
  const drivers: Driver[] = [];
  const out: string[] = [];
  try {
    for (let k = 0; k < argvs.length; k++) {
      const d = new Driver(`p${k}`, ns.spawn(argvs[k]!, { stdio: ['pipe', 'pipe', 'pipe'] }));
      drivers.push(d);
      d.send('whoami');
      const [who] = (await d.answer('whoami', ms)).slice(-1);
      d.pid = Number(who!.split(' ').at(-1));
      if (k > 0 && d.pid < drivers[k - 1]!.pid) throw new PidOrder();
    }
    for (const d of drivers) {
      for (const e of drivers) {
        d.send(`peer ${e.label} ${e.pid}`);
        await d.answer(`peer ${e.label} ${e.pid}`, ms);
      }
    }
    const pending = new Map<Driver, string>();
    const live = () => drivers.filter((d) => !d.exited && !pending.has(d) && !killed.has(d));
    const killed = new Set<Driver>();
    const chain = async () => {
      for (const d of live()) {
        d.send('barrier');
        await d.answer('barrier', ms);
      }
    };
    for (const line of script) {
      let m: RegExpMatchArray | null;
      if ((m = /^p(\d+): (.*)$/.exec(line))) {
        const d = drivers[Number(m[1])]!;
        d.send(m[2]!);
        out.push(...(await d.answer(m[2]!, ms)).map((l) => `${d.label} ${l}`));
        if (SYNC.has(m[2]!.split(' ')[0]!)) await chain();
      } else if ((m = /^p(\d+)& (.*)$/.exec(line))) {
        const d = drivers[Number(m[1])]!;
        d.send(m[2]!);
        pending.set(d, m[2]!);
      } else if ((m = /^wait p(\d+)$/.exec(line))) {
        const d = drivers[Number(m[1])]!;
        const cmd = pending.get(d)!;
        out.push(...(await d.answer(cmd, ms)).map((l) => `${d.label} ${l}`));
        pending.delete(d);
      } else if ((m = /^(kill|exit) p(\d+)( ends)?$/.exec(line))) {
        const d = drivers[Number(m[2])]!;
        killed.add(d);
        const gone = new Promise((r) => (d.exited ? r(null) : d.child.once('exit', r)));
        if (m[1] === 'kill') process.kill(d.pid, 'SIGKILL');
        else d.child.stdin!.end();
        await gone;
        if (m[1] === 'exit' && d.lines.join('\n') !== 'end') throw new Error(`${d.label} printed at its end:\n${d.lines.join('\n')}\n${d.stderr}`);
        out.push(line);
        if (m[3]) continue;
        await connectionsGone(ns, d.pid);
        await chain();
      } else throw new Error(`bad script line ${line}`);
    }
    if (ends) {
      await opts.daemonExit();
      out.push('corosync exited');
    } else {
      for (const d of live()) {
        const gone = new Promise((r) => (d.exited ? r(null) : d.child.once('exit', r)));
        d.child.stdin!.end();
        await gone;
        if (d.lines.join('\n') !== 'end') throw new Error(`${d.label} printed at its end:\n${d.lines.join('\n')}\n${d.stderr}`);
      }
    }
    return out;
  } catch (e) {
    if (e instanceof PidOrder) throw e;
    throw new Error(`${(e as Error).message}\nprinted so far:\n${out.join('\n')}`, { cause: e });
  } finally {
    for (const d of drivers) {
      if (!d.exited) {
        const gone = new Promise((r) => d.child.once('exit', r));
        d.child.kill('SIGKILL');
        await gone;
      }
    }
  }
}

/** A driver got a lower pid than one started before it (pid wrap): member lists (pid order) would differ; the run starts again. */
export class PidOrder extends Error {}

/** `run`, again while the drivers' pids came out of order, at most `attempts` times in all. */
export async function againWhilePidOrder<T>(run: () => Promise<T>, attempts: number): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run();
    } catch (e) {
      if (!(e instanceof PidOrder) || i >= attempts) throw e;
    }
  }
}

/** runMulti again while the pids came out of order. */
export function runMultiOrdered(ns: Namespace, argvs: string[][], script: string[], ends: boolean, opts: MultiOptions): Promise<string[]> {
  return againWhilePidOrder(() => runMulti(ns, argvs, script, ends, opts), 6);
}

/** corosync has closed every IPC connection of `pid` (its per-connection stats keys are gone). */
export async function connectionsGone(ns: Namespace, pid: number): Promise<void> {
  const re = new RegExp(`^stats\\.ipcs\\.service\\d+\\.${pid}\\.`, 'm');
  await waitFor(`corosync to close the connections of ${pid}`, async () => {
    const r = await ns.exec(['corosync-cmapctl', '-m', 'stats', 'stats.ipcs.'], { timeout: 10_000 });
    return r.code === 0 && !re.test(r.stdout);
  }, { timeout: 20_000 });
}
