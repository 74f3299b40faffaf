import { IpcError } from './errors.js';
import { native } from './native.js';

/**
 * Schedule the calling thread SCHED_RR, as corosync schedules itself unless started with `-p`
 * (at the highest priority, 99 on Linux, unless `priority` says otherwise): a server that must
 * answer at once on a loaded machine preempts every normal process. Only the calling thread
 * changes (Node's main thread, where the event loop serves every connection); threads created
 * after it inherit the policy. Returns the priority set. Without CAP_SYS_NICE (and an
 * RLIMIT_RTPRIO below the priority) the kernel refuses: an IpcError with code EPERM, and the
 * thread keeps its normal scheduling.
 */
export function setRoundRobinScheduling(priority = 0): number {
  if (!Number.isInteger(priority) || priority < 0) throw new IpcError('EINVAL', `invalid SCHED_RR priority ${priority}`);
  const r = native().schedRoundRobin(priority);
  if (r < 0) throw IpcError.fromErrno(r, `sched_setscheduler(SCHED_RR${priority ? `, ${priority}` : ''}) (needs root, CAP_SYS_NICE or RLIMIT_RTPRIO)`);
  return r;
}
