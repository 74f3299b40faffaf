// The ipc layer compares the addon's -errno results with @corosync-ts/types' Errno table (its
// one errno table): every entry must be the number Linux uses.
import { constants } from 'node:os';
import { Errno } from '@corosync-ts/types';
import { describe, expect, it } from 'vitest';

describe('Errno', () => {
  it('matches the errno values of the running Linux', () => {
    const os = constants.errno as Record<string, number>;
    // Node's table lacks EBADE (52, "invalid exchange", which corosync maps to FAILED_OPERATION).
    const known = Object.entries(Errno).filter(([name]) => name !== 'EBADE');
    expect(known.length).toBeGreaterThan(30);
    for (const [name, value] of known) expect([name, value]).toEqual([name, os[name]]);
  });
});
