import { CS_ERR_INTERRUPT, CS_ERR_QUEUE_FULL, CS_ERR_TRY_AGAIN, CsError, isCsError } from '@corosync-ts/types';

/**
 * Opt-in retry of calls the daemon (or libqb flow control) answers with CS_ERR_TRY_AGAIN or
 * CS_ERR_QUEUE_FULL. The C libraries never retry; every caller (cmapctl, Pacemaker's cs_repeat)
 * writes the same loop, so it lives here once.
 */
export interface RetryPolicy {
  /** Further attempts after the first one. Default 10 (corosync-cmapctl's count). */
  retries?: number;
  /** Delay before the first retry, in ms. Default 10. */
  initialDelay?: number;
  /** Upper bound of one delay, in ms. Default 1000 (cmapctl sleeps 1 s). */
  maxDelay?: number;
  /** Growth of the delay per attempt. Default 2. */
  factor?: number;
  /** cs_error_t codes worth retrying. Default [CS_ERR_TRY_AGAIN, CS_ERR_QUEUE_FULL]. */
  codes?: readonly number[];
}

export const DEFAULT_RETRY: Readonly<Required<RetryPolicy>> = Object.freeze({
  retries: 10,
  initialDelay: 10,
  maxDelay: 1000,
  factor: 2,
  codes: Object.freeze([CS_ERR_TRY_AGAIN, CS_ERR_QUEUE_FULL]),
});

export function resolveRetry(policy: RetryPolicy | boolean | undefined): Required<RetryPolicy> | undefined {
  if (policy === undefined || policy === false) return undefined;
  if (policy === true) return { ...DEFAULT_RETRY };
  const p = { ...DEFAULT_RETRY, ...policy };
  for (const k of ['retries', 'initialDelay', 'maxDelay', 'factor'] as const) {
    if (!Number.isFinite(p[k]) || p[k] < 0) throw new RangeError(`retry.${k} must be a finite number >= 0`);
  }
  return p;
}

/** The n-th delay (0-based) of a policy: exponential, capped. */
export function retryDelay(policy: Required<RetryPolicy>, attempt: number): number {
  return Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** attempt);
}

export function abortError(signal: AbortSignal, operation?: string): CsError {
  return new CsError(CS_ERR_INTERRUPT, 'aborted', { cause: signal.reason, ...(operation ? { operation } : {}) });
}

/** Waits `ms`, or rejects with a CsError(CS_ERR_INTERRUPT) when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `attempt` and retries it per `policy` while it rejects with a retryable CsError. */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  policy: Required<RetryPolicy> | undefined,
  signal?: AbortSignal,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!policy || n >= policy.retries || !isCsError(e) || !policy.codes.includes(e.code)) throw e;
      if (signal?.aborted) throw e;
      await sleep(retryDelay(policy, n), signal);
    }
  }
}
