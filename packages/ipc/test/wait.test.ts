// Issue 13: a client spins for a reply only while that pays (src/wait.ts).
import { describe, expect, it } from 'vitest';
import { SpinPolicy } from '../src/wait.js';

const skipped = (p: SpinPolicy) => {
  let n = 0;
  while (p.budget() === 0) n++;
  return n;
};

describe('SpinPolicy', () => {
  it('spins, up to 20 µs, as long as some spins catch their replies', () => {
    const p = new SpinPolicy();
    for (let i = 0; i < 100; i++) {
      expect(p.budget()).toBe(20000);
      p.record(i % 7 === 0);
    }
  });

  it('after 8 misses in a row, goes without for 16 replies, then tries once; a catch ends it', () => {
    const p = new SpinPolicy();
    for (let i = 0; i < 7; i++) p.record(false);
    expect(p.budget()).toBe(20000);
    p.record(false);
    expect(skipped(p)).toBe(16);
    p.record(false);
    expect(skipped(p)).toBe(16);
    p.record(true);
    for (let i = 0; i < 7; i++) {
      expect(p.budget()).toBe(20000);
      p.record(false);
    }
    expect(p.budget()).toBe(20000);
  });
});
