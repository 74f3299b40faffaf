import { IpcError } from './errors.js';
import { native } from './native.js';

/**
 * Schedule the process SCHED_RR, as corosync schedules itself unless started with `-p` (at the
 * highest priority, 99 on Linux, unless `priority` says otherwise): a server that must answer at
 * once on a loaded machine preempts every normal process. Every thread of the process changes,
 * as all of corosync's run SCHED_RR (it asks before creating any): the calling thread first,
 * then the others (Node's V8 workers, started before any JS ran, which the event loop thread
 * waits for when the garbage collector or the compiler hands them work; left at normal priority
 * they would wait behind every busy process). Threads created later inherit the policy. Returns
 * the priority set. Without CAP_SYS_NICE (and an RLIMIT_RTPRIO below the priority) the kernel
 * refuses: an IpcError with code EPERM, and no thread has changed.
 */
export function setRoundRobinScheduling(priority = 0): number {
  if (!Number.isInteger(priority) || priority < 0) throw new IpcError('EINVAL', `invalid SCHED_RR priority ${priority}`);
  const r = native().schedRoundRobin(priority);
  if (r < 0) throw IpcError.fromErrno(r, `sched_setscheduler(SCHED_RR${priority ? `, ${priority}` : ''}) (needs root, CAP_SYS_NICE or RLIMIT_RTPRIO)`);
  return r;
}
