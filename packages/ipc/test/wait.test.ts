// Issue 13: a client sleeps for a due reply on the loop thread, bounded, only while that pays (src/wait.ts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect } from '../src/index.js';
import { native } from '../src/native.js';
import { RETRY_WAIT_NS, WAIT_NS, WaitPolicy, afterCaller, waitFor } from '../src/wait.js';
import { echoServer, reqFrame, until, uniqueName } from './helpers.js';

const skipped = (p: WaitPolicy) => {
  let n = 0;
  while (p.budget() === 0) n++;
  return n;
};

/**
 * A fresh copy of wait.ts (it keeps process.hrtime from when it loads) on a clock that moves only
 * when `advance`d: on the real one, a catch the test means as quick took 200 µs or more whenever
 * the process was descheduled or collected garbage between the two reads (5 of 20,000 runs of the
 * sequence below under load).
 */
async function withClock() {
  let ms = 0;
  const hrtime = vi.spyOn(process, 'hrtime').mockImplementation((() => [Math.floor(ms / 1e3), Math.round((ms % 1e3) * 1e6)]) as typeof process.hrtime);
  vi.resetModules();
  const fresh = await import('../src/wait.js');
  return { fresh, hrtime, advance: (by: number) => (ms += by) };
}

describe('WaitPolicy', () => {
  afterEach(() => vi.restoreAllMocks());

  it('waits as long as some waits catch their replies: up to 5 ms after a catch, 200 µs first and after a miss', () => {
    const p = new WaitPolicy();
    expect(WAIT_NS).toBe(5000000);
    expect(RETRY_WAIT_NS).toBe(200000);
    let caught = false;
    for (let i = 0; i < 100; i++) {
      expect(p.budget()).toBe(caught ? WAIT_NS : RETRY_WAIT_NS);
      caught = i % 7 === 0;
      p.record(caught);
    }
  });

  it('keeps the long bound only while replies come within 200 µs: a daemon answering in milliseconds holds the loop 5 ms at most once', async () => {
    const { fresh, advance } = await withClock();
    const p = new fresh.WaitPolicy();
    const budgets: number[] = [];
    // each wait catches its reply; every third a millisecond later, as a slow call would
    const answer = (ns: number) => {
      budgets.push(ns);
      if (budgets.length % 3 === 0) advance(1);
      return 1;
    };
    for (let i = 0; i < 9; i++) fresh.waitFor(p, answer, false);
    const W = WAIT_NS;
    const R = RETRY_WAIT_NS;
    expect(budgets).toEqual([R, W, W, R, W, W, R, W, W]);
    // A reply the transport counts as there already is taken without a sleep: quick, however
    // long fn took (no clock is read for it).
    budgets.length = 0;
    for (let i = 0; i < 6; i++) fresh.waitFor(p, answer, true);
    expect(budgets).toEqual([R, W, W, W, W, W]);
    p.record(true, false);
    expect(p.budget()).toBe(RETRY_WAIT_NS);
    p.record(true, true);
    expect(p.budget()).toBe(WAIT_NS);
  });

  it('reads the clock around a long wait only: once for one that catches nothing, twice for a catch (how long it took sets the next bound), never for a reply already counted', async () => {
    const { fresh, hrtime } = await withClock();
    const p = new fresh.WaitPolicy();
    const reads = (got: number, ready = false) => {
      hrtime.mockClear();
      fresh.waitFor(p, () => got, ready);
      return hrtime.mock.calls.length;
    };
    expect(reads(1)).toBe(0); // the short bound: any catch is quick
    expect(p.budget()).toBe(WAIT_NS);
    expect(reads(0)).toBe(1);
    expect(p.budget()).toBe(RETRY_WAIT_NS);
    expect(reads(1)).toBe(0);
    expect(reads(1)).toBe(2);
    expect(p.budget()).toBe(WAIT_NS);
    expect(reads(1, true)).toBe(0); // a reply counted as there already cannot be slow
    expect(p.budget()).toBe(WAIT_NS);
  });

  it('hands fn the ready it was given, with or without a budget', () => {
    const p = new WaitPolicy();
    const seen: [number, boolean][] = [];
    const fn = (ns: number, ready: boolean) => {
      seen.push([ns, ready]);
      return 0;
    };
    waitFor(p, fn, true);
    waitFor(p, fn, false);
    for (let i = 0; i < 6; i++) p.record(false);
    waitFor(p, fn, true);
    expect(seen).toEqual([
      [RETRY_WAIT_NS, true],
      [RETRY_WAIT_NS, false],
      [0, true],
    ]);
  });

  it('after 8 misses in a row, goes without for 16 replies, then tries once; a catch ends it', () => {
    const p = new WaitPolicy();
    for (let i = 0; i < 7; i++) p.record(false);
    expect(p.budget()).toBe(RETRY_WAIT_NS);
    p.record(false);
    expect(skipped(p)).toBe(16);
    p.record(false);
    expect(skipped(p)).toBe(16);
    p.record(true);
    expect(p.budget()).toBe(WAIT_NS);
    for (let i = 0; i < 7; i++) {
      p.record(false);
      expect(p.budget()).toBe(RETRY_WAIT_NS);
    }
  });
});

describe('afterCaller', () => {
  it('runs a step after the synchronous code, before the loop turns', async () => {
    const order: string[] = [];
    await new Promise<void>((resolve) => setImmediate(resolve)); // a fresh chain
    setImmediate(() => order.push('immediate'));
    afterCaller(() => order.push('step'));
    order.push('sync');
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(order).toEqual(['sync', 'step', 'immediate']);
  });

  it('a chain of steps that never lets the loop turn yields to it once it has lasted 1 ms', async () => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    let immediateRan = false;
    setImmediate(() => (immediateRan = true));
    let steps = 0;
    let stepsBeforeTurn = -1;
    await new Promise<void>((resolve) => {
      // Each step schedules the next, as a sequential caller whose replies are all caught does.
      const step = () => {
        steps++;
        // Without the bound the chain would never end (capped here so that failure is not a hang).
        if (immediateRan || steps > 5000) {
          stepsBeforeTurn = steps;
          return resolve();
        }
        const until = performance.now() + 0.05;
        while (performance.now() < until);
        afterCaller(step);
      };
      afterCaller(step);
    });
    expect(immediateRan).toBe(true);
    expect(stepsBeforeTurn).toBeGreaterThan(1);
    // Each step spins 0.05 ms of the monotonic clock, so 1 ms has passed after 20 of them, and
    // a loaded machine only makes each step longer: the chain turns within 20 steps (+ the step
    // that starts it and the one that sees the immediate). Not a wall-clock bound on the whole
    // chain, which a descheduled process breaks (and which no chain shorter than ~300 ms failed).
    expect(stepsBeforeTurn).toBeLessThanOrEqual(1 / 0.05 + 2);
  });
});

describe('a server that never answers', () => {
  afterEach(() => vi.restoreAllMocks());

  for (const transport of ['socket', 'shm'] as const) {
    it(`${transport}: holds the loop at most one bounded wait per call, and soon none`, async () => {
      const name = uniqueName(`mute-${transport}`);
      const { server, conns } = await echoServer(name, { transport });
      const c = await connect(name);
      await until(() => conns.length === 1);
      conns[0]!.removeAllListeners('request');
      let seen = 0;
      conns[0]!.on('request', () => seen++);
      const n = native();
      const waits: number[] = [];
      for (const fn of ['pollWait', 'waiterWaitTake'] as const) {
        const orig = n[fn] as unknown as (...a: number[]) => number;
        vi.spyOn(n, fn).mockImplementation(((...a: number[]) => {
          // The timeout: pollWait(p, ns, queued), waiterWaitTake(w, max, ns).
          waits.push(fn === 'pollWait' ? a[1]! : a[2]!);
          return orig(...a);
        }) as never);
      }
      const calls = 42;
      for (let i = 0; i < calls; i++) {
        const t0 = performance.now();
        // A small answer: the timed-out calls keep their slots, and room for all of them.
        await expect(c.request(reqFrame(3, 16), { timeout: 5, maxResponseSize: 64 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
        // Bounded (loose: the machine may be loaded); an unbounded wait would never let the timer fire.
        expect(performance.now() - t0).toBeLessThan(5000);
      }
      const slept = waits.filter((ns) => ns > 0);
      // Never a catch here: every wait is a first or follows a miss.
      expect(slept.every((ns) => ns <= RETRY_WAIT_NS)).toBe(true);
      // 8 missed waits in a row, then one per 17 calls.
      expect(slept.length).toBeLessThanOrEqual(8 + Math.ceil((calls - 8) / 17));
      expect(slept.length).toBeGreaterThanOrEqual(8);
      await until(() => seen === calls);
      await c.close();
      await server.close();
    });
  }
});

describe('the native bounded waits', () => {
  it('pollWait returns 0 after sleeping at most 5 ms when nothing comes, whatever it is asked', async () => {
    const name = uniqueName('pw');
    const { server, conns } = await echoServer(name, { transport: 'socket' });
    const c = await connect(name);
    await until(() => conns.length === 1);
    // The client's response watcher: reached through the transport, as the wait uses it.
    const req = (c as unknown as { impl: { req: { wait(ns: number, queued?: boolean): number } } }).impl.req;
    // queued false: straight to ppoll, without the first recv.
    for (const queued of [true, false]) {
      for (const ns of [0, 100_000, 2 ** 31 - 1]) {
        // A descheduled thread only adds to a wait, and a wait that slept as asked takes 2.1 s
        // in every attempt: the shortest of up to 3 is the wait's own.
        const took: number[] = [];
        for (let a = 0; a < 3 && !(took.length > 0 && Math.min(...took) < 1_000_000_000); a++) {
          const t0 = process.hrtime.bigint();
          expect(req.wait(ns, queued)).toBe(0);
          took.push(Number(process.hrtime.bigint() - t0));
          if (ns > 0) expect(took.at(-1)).toBeGreaterThanOrEqual(Math.min(ns, 5_000_000) * 0.9);
        }
        expect(Math.min(...took), `ns per attempt: ${took.join(', ')}`).toBeLessThan(1_000_000_000);
      }
    }
    await c.close();
    await server.close();
  });
});
