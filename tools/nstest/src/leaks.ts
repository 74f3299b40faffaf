import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/**
 * The sockets and /dev/shm files among this process's open fds (their /proc link targets,
 * sorted): what a leaked IPC connection shows up as. Compare a snapshot from before with one
 * from after.
 */
export function ipcFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the fd readdir itself used, closed by now
    }
    if (target.startsWith('socket:') || target.startsWith('/dev/shm/')) out.push(target);
  }
  return out.sort();
}

/** This process's mappings of libqb files in /dev/shm (a leaked mmap outlives its fd); libqb's blackbox aside. */
export function shmMappings(): string[] {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes('/dev/shm/qb-') && !l.includes('blackbox'));
}
