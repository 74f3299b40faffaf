// loopTurn(): a native uv_check count of this thread's loop turns, which the cork and cpg's
// multicasts per turn read instead of scheduling a setImmediate per send.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loopTurn } from '../src/turns.js';
import { crashTraceEnv } from '@corosync-ts/nstest/core';

const script = fileURLToPath(new URL('./fixtures/turns.mjs', import.meta.url));

describe('loopTurn', () => {
  it('stays the same through synchronous code and microtasks', async () => {
    const t = loopTurn();
    expect(loopTurn()).toBe(t);
    await Promise.resolve();
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(loopTurn()).toBe(t);
  });

  it('moves once per loop iteration, before that iteration runs its immediates', async () => {
    const before = loopTurn();
    const seen: number[] = [];
    await new Promise<void>((resolve) => {
      setImmediate(() => seen.push(loopTurn()));
      setImmediate(() => {
        seen.push(loopTurn());
        resolve();
      });
    });
    expect(seen[0]).not.toBe(before);
    // both immediates ran in one check phase: one turn
    expect(seen[1]).toBe(seen[0]);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(loopTurn()).not.toBe(seen[0]);
  });

  it('moves between a timer and the timer or I/O callback that set it', async () => {
    // From a timer: the next timer runs in a later iteration's timers phase, after its check.
    const fromTimer = await new Promise<{ before: number; inTimer: number }>((resolve) =>
      setTimeout(() => {
        const before = loopTurn();
        setTimeout(() => resolve({ before, inTimer: loopTurn() }), 0);
      }, 0),
    );
    expect(fromTimer.inTimer).not.toBe(fromTimer.before);
    // From an I/O callback (the poll phase): the check phase comes between it and any timer.
    const fromIo = await new Promise<{ before: number; inTimer: number }>((resolve) => {
      const { port1, port2 } = new MessageChannel();
      port1.onmessage = () => {
        port1.close();
        const before = loopTurn();
        setTimeout(() => resolve({ before, inTimer: loopTurn() }), 0);
      };
      port2.postMessage(0);
    });
    expect(fromIo.inTimer).not.toBe(fromIo.before);
  });

  it('does not move between an immediate and a timer it set that is due by the end of that iteration', async () => {
    // libuv runs the timers after the check and close phases of the same iteration (>= 1.45,
    // every Node we support): a turn is check phase to check phase, so code in an immediate
    // and a timer due before the loop polls again share it. The cork and cpg's per-turn
    // counts rest on this being one turn, not on a timer always starting one.
    const r = await new Promise<{ before: number; inTimer: number }>((resolve) =>
      setImmediate(() => {
        const before = loopTurn();
        setTimeout(() => resolve({ before, inTimer: loopTurn() }), 1);
        // Due before this iteration's timers phase, whatever the load.
        const due = performance.now() + 5;
        while (performance.now() < due);
      }),
    );
    expect(r.inTimer).toBe(r.before);
  });

  it('counts per thread, survives Workers that end with their count running, and never keeps the process alive', async () => {
    const start = performance.now();
    let killed = false;
    const preloaded = await crashTraceEnv();
    const r = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
      const env = { ...preloaded, TURNS_REPORT_AT: String(Date.now() + 59_000) };
      execFile(process.execPath, [script], { env, timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        const e = err as { code?: number; signal?: string; killed?: boolean } | null;
        killed = e?.killed === true;
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
      });
    });
    // On a failure the fixture's stderr says what it saw; how long it ran and whether the
    // timeout killed it say the rest.
    expect(r, `after ${Math.round(performance.now() - start)} ms${killed ? ', killed by the 60 s timeout' : ''}`).toEqual({ code: 0, signal: null, stdout: 'ok', stderr: '' });
  });
});
