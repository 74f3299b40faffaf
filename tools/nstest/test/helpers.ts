import { readFileSync } from 'node:fs';
import { pidsInNetns } from '../src/index.js';

/** Mount sources the harness uses; none may ever show up in the host's mount table. */
export function hostHasNstestMounts(): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => / - tmpfs nstest /.test(l));
}

export function leftovers(netns: string): number[] {
  return pidsInNetns(netns);
}
