import { describe, expect, it } from 'vitest';
import { Fifo } from '../src/fifo.js';
import { EventStream } from '../src/stream.js';

describe('Fifo', () => {
  it('gives items back in order across compactions, pushes in between, and clear', () => {
    const q = new Fifo<number>();
    expect(q.shift()).toBeUndefined();
    const out: number[] = [];
    let next = 0;
    // Bursts larger and smaller than the compaction point, drained partly and wholly.
    for (const [put, take] of [[5000, 3000], [100, 2100], [3000, 3000], [1, 1], [2500, 1200], [0, 1300]] as const) {
      for (let i = 0; i < put; i++) q.push(next++);
      for (let i = 0; i < take; i++) out.push(q.shift()!);
      expect(q.length).toBe(next - out.length);
    }
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(q.shift()).toBeUndefined();
    q.push(1);
    q.push(2);
    q.clear();
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
    q.push(3);
    expect(q.shift()).toBe(3);
  });

  it('an EventStream drains a backlog of 200,000 items in order', async () => {
    const s = new EventStream<number>();
    for (let i = 0; i < 200_000; i++) s.push(i);
    let expected = 0;
    let misordered = 0;
    for await (const v of s) {
      if (v !== expected++) misordered++;
      if (expected === 200_000) break;
    }
    expect([expected, misordered]).toEqual([200_000, 0]);
  });
});
