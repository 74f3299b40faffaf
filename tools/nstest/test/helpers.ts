import { closeSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { pidsInNetns } from '../src/index.js';
import { holdNetns } from '../src/namespace.js';

/** Mount sources the harness uses; none may ever show up in the host's mount table. */
export function hostHasNstestMounts(): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => / - tmpfs nstest /.test(l));
}

/** This process's fds that hold the network namespace `netns` ("net:[inode]"). */
export function fdsHolding(netns: string): number[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === netns ? [Number(fd)] : [];
    } catch {
      return [];
    }
  });
}

/**
 * What is left in a namespace's network namespace after close(), asked while an fd of ours keeps
 * that namespace from being freed. A freed namespace's inode number goes to the next namespace
 * anyone creates (the kernel hands out the lowest free one), and tests running in parallel create
 * them all the time: asked by inode alone, "what is left" could be another test's daemon.
 * Take it while the namespace is open; `leftovers()` any time, then release it.
 */
export function pin(ns: { pid: number; netns: string }): { leftovers(): number[]; release(): void } {
  const fd = holdNetns(ns.pid, ns.netns);
  return { leftovers: () => pidsInNetns(ns.netns), release: () => closeSync(fd) };
}
