/** Time source for the simulator's timers (last_man_standing window, qdevice timeouts). */
export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
}

interface Pending { at: number; seq: number; fn: () => void; cancelled: boolean }

/**
 * A clock that only moves when told to: `advance(ms)` runs every timer that falls due, in
 * deadline order (ties in creation order), so a test is fully deterministic.
 */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: Pending[] = [];

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): unknown {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(p);
    return p;
  }

  clearTimer(handle: unknown): void {
    const p = handle as Pending;
    p.cancelled = true;
    this.timers = this.timers.filter((x) => x !== p);
  }

  /** Number of timers still waiting. */
  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.timers) {
        if (p.at <= until && (next === undefined || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      }
      if (next === undefined) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      if (!next.cancelled) next.fn();
    }
    this.t = until;
  }
}

const MAX_TIMER_MS = 0x7fffffff;

/** Wall-clock timers, for the command-line daemon. */
export class SystemClock implements Clock {
  private readonly start = performance.now();
  now(): number {
    return performance.now() - this.start;
  }
  setTimer(ms: number, fn: () => void): unknown {
    // Node's timers hold at most 2^31-1 ms (a longer one fires after 1 ms): re-armed for the rest.
    const handle: { t?: ReturnType<typeof setTimeout> } = {};
    const arm = (left: number): void => {
      handle.t = left > MAX_TIMER_MS ? setTimeout(() => arm(left - MAX_TIMER_MS), MAX_TIMER_MS) : setTimeout(fn, left);
      handle.t.unref?.();
    };
    arm(ms);
    return handle;
  }
  clearTimer(handle: unknown): void {
    clearTimeout((handle as { t?: ReturnType<typeof setTimeout> }).t);
  }
}
