import { IpcError } from './errors.js';
import { native } from './native.js';

/**
 * Move the calling thread into a new, empty network namespace (unshare(2),
 * CLONE_NEWNET; needs CAP_SYS_ADMIN). Sockets the thread creates from now on, and
 * processes it spawns, live there: abstract socket names are per network namespace,
 * so a libqb server started afterwards is what clients in that namespace reach.
 * Other threads (Node workers included) stay where they were.
 */
export function unshareNetns(): void {
  const r = native().netnsUnshare();
  if (r < 0) throw IpcError.fromErrno(r, 'unshare(CLONE_NEWNET) (needs root or CAP_SYS_ADMIN)');
}

/** Move the calling thread into the network namespace of an open nsfs fd (setns(2)). */
export function enterNetns(fd: number): void {
  const r = native().netnsEnter(fd);
  if (r < 0) throw IpcError.fromErrno(r, 'setns(CLONE_NEWNET)');
}
