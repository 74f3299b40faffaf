import { describe, expect, test } from 'vitest';
import { runCommand } from '../src/commands.js';
import { createCluster, isMockError, ManualClock } from '../src/index.js';

describe('the command interpreter of corosync-mock and the vqsim comparison', () => {
  test('vqsim groups: [partition:]id,id; show lists the running nodes', () => {
    const c = createCluster({ clock: new ManualClock(), nodes: 4, start: [1, 2] });
    expect(runCommand(c, 'up 1:3 2:4').output).toBe('OK up 1:3 2:4\n');
    expect(c.node(3).partition).toBe(1);
    expect(c.node(4).partition).toBe(2);
    runCommand(c, 'split 2:1,2');
    runCommand(c, 'join 2 1');
    expect(runCommand(c, 'show').output.split('\n').filter(Boolean).map((l) => l.slice(0, 9)))
      .toEqual(['2:1: q=1 ', '2:2: q=1 ', '2:3: q=1 ', '2:4: q=1 ']);
    runCommand(c, 'down 3,4');
    expect(c.nodes.map((n) => n.running)).toEqual([true, true, false, false]);
  });

  test('wait asks the caller to let time pass; comments and blank lines do nothing; unknown verbs throw', () => {
    const c = createCluster({ clock: new ManualClock(), nodes: 2 });
    expect(runCommand(c, 'wait 250')).toEqual({ output: 'OK wait 250\n', waitMs: 250 });
    expect(runCommand(c, '  # up 1')).toEqual({ output: '' });
    expect(runCommand(c, '')).toEqual({ output: '' });
    expect(() => runCommand(c, 'wait soon')).toThrow(/wait wants milliseconds/);
    let err: unknown;
    try {
      runCommand(c, 'fly 1');
    } catch (e) {
      err = e;
    }
    expect(isMockError(err) && err.message).toMatch(/unknown command fly/);
  });
});
