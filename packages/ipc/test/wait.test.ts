// Issue 13: a client spins for a reply only while that pays (src/wait.ts).
import { describe, expect, it } from 'vitest';
import { SpinPolicy } from '../src/wait.js';

describe('SpinPolicy', () => {
  it('spins while spins catch their replies, for about three times their wait (2 to 20 µs)', () => {
    const p = new SpinPolicy(() => false);
    expect(p.budget()).toBe(15000);
    for (let i = 0; i < 50; i++) p.record(true, 3000, p.budget());
    expect(p.budget()).toBeGreaterThanOrEqual(9000);
    expect(p.budget()).toBeLessThan(10000);
    for (let i = 0; i < 50; i++) p.record(true, 100, p.budget());
    expect(p.budget()).toBe(2000);
    expect(p.paying).toBe(true);
  });

  it('after a miss, goes without for 1, 2, 4 ... 64 replies, and a catch ends the backoff', () => {
    const p = new SpinPolicy(() => false);
    const skipped = () => {
      let n = 0;
      while (p.budget() === 0) n++;
      return n;
    };
    const runs: number[] = [];
    for (let i = 0; i < 9; i++) {
      p.record(false, 20000, 20000);
      expect(p.paying).toBe(false);
      runs.push(skipped());
    }
    expect(runs).toEqual([1, 2, 4, 8, 16, 32, 64, 64, 64]);
    // A missed reply raises the budget towards the wait it did not cover.
    expect(p.budget()).toBe(20000);
    p.record(true, 5000, 20000);
    expect(p.paying).toBe(true);
    expect(p.budget()).toBeGreaterThan(0);
  });

  it('does not spin at all while the machine is busy', () => {
    let busy = true;
    const p = new SpinPolicy(() => busy);
    for (let i = 0; i < 10; i++) expect(p.budget()).toBe(0);
    expect(p.paying).toBe(false);
    busy = false;
    expect(p.budget()).toBeGreaterThan(0);
    expect(p.paying).toBe(true);
  });
});
