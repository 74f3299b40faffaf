import { describe, expect, it } from 'vitest';
import { SystemClock } from '../src/index.js';

describe('SystemClock', () => {
  it('a timer beyond Node\'s 2^31-1 ms limit waits (a plain setTimeout would fire after 1 ms); cleared, it never fires', async () => {
    const clock = new SystemClock();
    let fired = 0;
    const long = clock.setTimer(2 ** 32, () => fired++);
    // Timers fire in order: one of 20 ms armed after it ran after any 1 ms timer.
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toBe(0);
    clock.clearTimer(long);
    const short = new Promise<void>((r) => clock.setTimer(1, r));
    await short;
    expect(fired).toBe(0);
  });
});
