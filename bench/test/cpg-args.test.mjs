import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cbenchSides, parseCpgArgs } from '../cpg/args.mjs';

describe('cpg/args.mjs (the command line of cpg/ab.mjs and cpg/acct.mjs)', () => {
  it('reads MODE SIZE N W ROUNDS and the tsbench files; every side gets MODE SIZE N W', () => {
    expect(parseCpgArgs(['tput', '1024', '5000', '500', '3', 'a/tsbench.mjs', 'b/tsbench.mjs'])).toEqual({
      mode: 'tput',
      n: 5000,
      warmup: 500,
      rounds: 3,
      args: ['tput', '1024', '5000', '500'],
      tsbenches: ['a/tsbench.mjs', 'b/tsbench.mjs'],
    });
    expect(parseCpgArgs(['lat', '3', '1', '0', '1', 't.mjs'])).toBeUndefined();
    expect(parseCpgArgs(['lat', '4', '1', '0', '1', 't.mjs'])).toMatchObject({ mode: 'lat', n: 1, warmup: 0, rounds: 1 });
  });

  it('refuses another mode, a missing tsbench, and counts that are not counts (zero rounds ran nothing, silently)', () => {
    for (const argv of [
      [],
      ['both', '1024', '10', '1', '1', 't.mjs'],
      ['tput', '1024', '10', '1', '1'],
      ['tput', '1024', '10', '1', '0', 't.mjs'],
      ['tput', '1024', '0', '1', '1', 't.mjs'],
      ['tput', '1k', '10', '1', '1', 't.mjs'],
      ['tput', '1024', '10', '-1', '1', 't.mjs'],
      ['tput', '1024', '10', '1', 'x', 't.mjs'],
    ]) {
      expect(parseCpgArgs(argv), argv.join(' ')).toBeUndefined();
    }
  });

  it('CWAITS names libcpg\'s sides: WAIT[:K] or one[:B], each with its environment; anything else is refused', () => {
    const sides = (v) => {
      const old = process.env.CWAITS;
      if (v === undefined) delete process.env.CWAITS;
      else process.env.CWAITS = v;
      try {
        return cbenchSides();
      } finally {
        if (old === undefined) delete process.env.CWAITS;
        else process.env.CWAITS = old;
      }
    };
    expect(sides(undefined)).toEqual([['libcpg', ['CBENCH_WAIT=poll', 'CBENCH_FLIP=0']]]);
    expect(sides('poll,epoll,poll:16')).toEqual([
      ['libcpg', ['CBENCH_WAIT=poll', 'CBENCH_FLIP=0']],
      ['libcpg epoll', ['CBENCH_WAIT=epoll', 'CBENCH_FLIP=0']],
      ['libcpg flip 16', ['CBENCH_WAIT=poll', 'CBENCH_FLIP=16']],
    ]);
    expect(sides('poll,one,one:32')).toEqual([
      ['libcpg', ['CBENCH_WAIT=poll', 'CBENCH_FLIP=0']],
      ['libcpg one thread', ['CBENCH_THREADS=1', 'CBENCH_BATCH=0']],
      ['libcpg one thread batch 32', ['CBENCH_THREADS=1', 'CBENCH_BATCH=32']],
    ]);
    for (const bad of ['select', 'poll:', 'poll:x', 'epoll:1:2', 'one:', 'ones', '']) expect(() => sides(bad), bad).toThrow(/CWAITS/);
  });

  for (const script of ['ab.mjs', 'acct.mjs']) {
    it(`${script} prints its usage on --help (status 0) and on bad arguments (status 2), before building anything`, () => {
      const path = new URL(`../cpg/${script}`, import.meta.url).pathname;
      expect(execFileSync(process.execPath, [path, '--help'], { encoding: 'utf8' })).toBe(`usage: ${script} tput|lat SIZE N W ROUNDS A/tsbench.mjs [B/tsbench.mjs ...]\n`);
      const bad = spawnSync(process.execPath, [path, 'tput', '1024'], { encoding: 'utf8' });
      expect([bad.status, bad.stdout, bad.stderr]).toEqual([2, '', `usage: ${script} tput|lat SIZE N W ROUNDS A/tsbench.mjs [B/tsbench.mjs ...]\n`]);
    });
  }
});
