// loopTurn(): a native uv_check count of this thread's loop turns, which the cork and cpg's
// multicasts per turn read instead of scheduling a setImmediate per send.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loopTurn } from '../src/turns.js';

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

  it('moves between a timer and the code that set it', async () => {
    const before = loopTurn();
    const inTimer = await new Promise<number>((resolve) => setTimeout(() => resolve(loopTurn()), 0));
    expect(inTimer).not.toBe(before);
  });

  it('counts per thread, survives Workers that end with their count running, and never keeps the process alive', async () => {
    const r = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [script], { timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        const e = err as { code?: number; signal?: string } | null;
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
      });
    });
    expect(r).toEqual({ code: 0, signal: null, stdout: 'ok', stderr: '' });
  });
});
