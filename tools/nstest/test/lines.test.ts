import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { watchLines } from '../src/index.js';

const node = (code: string) => spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'pipe'] });

it('waitLine resolves with the line once it comes, also for a line printed before the wait', async () => {
  const child = node(`console.log('one'); process.stdin.once('data', () => { console.log('two 2'); process.exit(0); });`);
  const w = watchLines(child);
  expect(await w.waitLine(/^one$/)).toBe('one');
  expect(await w.waitLine(/^one$/)).toBe('one');
  const two = w.waitLine(/^two \d$/);
  child.stdin!.write('go\n');
  expect(await two).toBe('two 2');
  expect(await w.exited).toEqual({ code: 0, signal: null });
  expect(w.lines).toEqual(['one', 'two 2']);
});

it('a process that ends without the line rejects the wait at once, with what it printed on both streams', async () => {
  const w = watchLines(node(`console.log('starting'); console.error('boom'); process.exit(3);`));
  await expect(w.waitLine(/^ready$/)).rejects.toThrow(/exited with 3 before printing \/\^ready\$\/[^]*starting[^]*boom/);
});

it('a process killed by a signal says which', async () => {
  const child = node(`console.log('up'); setInterval(() => {}, 1000);`);
  const w = watchLines(child);
  await w.waitLine(/^up$/);
  const never = w.waitLine(/^never$/);
  child.kill('SIGKILL');
  await expect(never).rejects.toThrow(/killed by SIGKILL/);
  expect(await w.exited).toEqual({ code: null, signal: 'SIGKILL' });
});

it('a line that never comes from a process that keeps running rejects after the bound', async () => {
  const child = node(`console.log('up'); setInterval(() => {}, 1000);`);
  try {
    const w = watchLines(child, 200);
    await expect(w.waitLine(/^never$/)).rejects.toThrow(/no line \/\^never\$\/ within 0.2 s; so far:\nup/);
  } finally {
    child.kill('SIGKILL');
  }
});
