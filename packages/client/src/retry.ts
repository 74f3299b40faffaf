import { CS_ERR_INTERRUPT, CS_ERR_INVALID_PARAM, CS_ERR_QUEUE_FULL, CS_ERR_TRY_AGAIN, CsError, isCsError } from '@corosync-ts/types';

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
  // A string spread into the defaults was the default policy, null none: both are mistakes.
  if (typeof policy !== 'object' || policy === null) {
    throw new CsError(CS_ERR_INVALID_PARAM, `retry must be a boolean or a RetryPolicy, got ${String(policy)}`);
  }
  const p = { ...DEFAULT_RETRY, ...policy };
  checkPolicy('retry', p, ['retries', 'initialDelay', 'maxDelay', 'factor']);
  // Read only when an answer is retryable: a wrong one was a TypeError there, or never matched.
  if (!Array.isArray(p.codes) || !p.codes.every((c) => Number.isInteger(c))) {
    throw new CsError(CS_ERR_INVALID_PARAM, `retry.codes must be an array of cs_error_t codes, got ${String(p.codes)}`);
  }
  return p;
}

/** CS_ERR_INVALID_PARAM unless each of `keys` is a finite number >= 0 (a NaN delay is a 1 ms timer). */
export function checkPolicy<K extends string>(what: string, p: Record<K, unknown>, keys: readonly K[]): void {
  for (const k of keys) {
    const v = p[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new CsError(CS_ERR_INVALID_PARAM, `${what}.${k} must be a finite number >= 0, got ${String(v)}`);
    }
  }
}

// Node's timers hold at most 2^31-1 ms: a longer one fires after 1 ms. Longer waits are re-armed.
const MAX_TIMER_MS = 0x7fffffff;

/** setTimeout for any delay >= 0 (Infinity: never); returns what cancels it. */
export function after(ms: number, fn: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (left: number): void => {
    timer = left > MAX_TIMER_MS ? setTimeout(() => arm(left - MAX_TIMER_MS), MAX_TIMER_MS) : setTimeout(fn, left);
  };
  if (ms !== Infinity) arm(ms);
  return () => clearTimeout(timer);
}

/** The n-th delay (0-based) of a policy: exponential, capped. */
export function retryDelay(policy: Required<RetryPolicy>, attempt: number): number {
  return Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** attempt);
}

export function abortError(signal: AbortSignal, operation?: string): CsError {
  return new CsError(CS_ERR_INTERRUPT, 'aborted', { cause: signal.reason, ...(operation ? { operation } : {}) });
}

/** The calls watching one signal: the one listener on it runs them all. */
type Watchers = { readonly fns: Set<() => void>; readonly listener: () => void };
const watched = new WeakMap<AbortSignal, Watchers>();

/**
 * Runs `fn` when `signal` aborts; returns what stops watching. One listener on the signal for
 * every call watching it, removed when the last stops: a signal shared by many calls at once
 * (a shutdown signal) otherwise drew Node's MaxListenersExceededWarning from the 11th call on,
 * and each call's removeEventListener searched all the others' listeners.
 */
export function watchAbort(signal: AbortSignal, fn: () => void): () => void {
  let w = watched.get(signal);
  if (w === undefined) {
    const fns = new Set<() => void>();
    const listener = () => {
      watched.delete(signal);
      for (const f of fns) f();
      fns.clear();
    };
    w = { fns, listener };
    watched.set(signal, w);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { fns, listener } = w;
  // A function may watch twice: its own wrapper is what is added and removed.
  const mine = () => fn();
  fns.add(mine);
  return () => {
    if (!fns.delete(mine) || fns.size > 0) return;
    watched.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}

/** Waits `ms`, or rejects with a CsError(CS_ERR_INTERRUPT) when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      cancel();
      reject(abortError(signal!));
    };
    const cancel = after(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
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
