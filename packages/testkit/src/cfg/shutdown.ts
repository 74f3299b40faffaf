import { CS_OK, CS_ERR_ACCESS, CS_ERR_BUSY, CS_ERR_EXIST, CS_ERR_TIMEOUT } from '@corosync-ts/types';
import type { Clock } from '../clock.js';

export const ShutdownFlag = { REQUEST: 0, REGARDLESS: 1, IMMEDIATE: 2 } as const;
export const DEFAULT_SHUTDOWN_TIMEOUT = 5000;

/** A cfg connection as the shutdown protocol sees it. */
export interface ShutdownParty {
  /** TESTSHUTDOWN event (10) with the requester's flags (its header error: CS_OK, or CS_ERR_TIMEOUT from the timer). */
  testShutdown(flags: number, error?: number): void;
}

interface Session {
  requester: ShutdownParty;
  flags: number;
  yes: number;
  no: number;
  expected: number;
  timer: unknown;
  reply: (error: number) => void;
}

export interface ShutdownHost {
  clock: Clock;
  /** cmap u32 `cfg.shutdown_timeout`, read at each try_shutdown. */
  timeoutMs(): number;
  /** The decision is OK: the node shuts down (after the requester has its answer). */
  shutdown(): void;
}

/**
 * corosync 3.1.7's shutdown vote (exec/cfg.c): trackers, the one pending try_shutdown, votes
 * counted per reply message (not per tracker, not only from trackers), the timeout that turns
 * missing votes into NO, and IMMEDIATE that asks nobody.
 */
export class ShutdownTracker {
  private readonly trackers: ShutdownParty[] = [];
  private session: Session | undefined;
  /** Each connection's last vote of the session (the daemon's per-connection shutdown_reply). */
  private readonly votes = new Map<ShutdownParty, 'yes' | 'no'>();
  /**
   * Connections that once started a session (exec/cfg.c's ci->conn, set then and never cleared):
   * the only trackers the timer's TESTSHUTDOWN reaches, as send_test_shutdown filters on it.
   */
  private readonly requesters = new WeakSet<ShutdownParty>();

  constructor(private readonly host: ShutdownHost) {}

  get pending(): boolean {
    return this.session !== undefined;
  }

  isTracking(p: ShutdownParty): boolean {
    return this.trackers.includes(p);
  }

  /** TRACKSTART: always OK; a newcomer during a session is asked at once. */
  trackstart(p: ShutdownParty): number {
    if (this.trackers.includes(p)) return CS_OK;
    this.trackers.push(p);
    const s = this.session;
    if (s !== undefined) {
      s.expected++;
      this.votes.delete(p);
      p.testShutdown(s.flags);
    }
    return CS_OK;
  }

  /** TRACKSTOP: always OK. */
  trackstop(p: ShutdownParty): number {
    this.remove(p);
    return CS_OK;
  }

  /** The connection closed: as TRACKSTOP, and a pending requester silently cancels its session. */
  disconnect(p: ShutdownParty): void {
    this.remove(p);
  }

  private remove(p: ShutdownParty): void {
    const s = this.session;
    if (s !== undefined && s.requester === p) {
      this.host.clock.clearTimer(s.timer);
      this.session = undefined;
    }
    const i = this.trackers.indexOf(p);
    if (i < 0) return;
    this.trackers.splice(i, 1);
    // a tracker that goes away during a session takes its vote back and counts as a YES
    if (this.session !== undefined) {
      const v = this.votes.get(p);
      if (v === 'yes') this.session.yes--;
      else if (v === 'no') this.session.no--;
      this.votes.delete(p);
      this.session.yes++;
      this.decide();
    }
  }

  /** TRYSHUTDOWN: `reply` is called once, maybe later (the deferred response 9). */
  tryShutdown(p: ShutdownParty, flags: number, reply: (error: number) => void): void {
    if (flags === ShutdownFlag.IMMEDIATE) {
      reply(CS_OK);
      this.host.shutdown();
      return;
    }
    if (this.session !== undefined) {
      reply(CS_ERR_EXIST);
      return;
    }
    const asked = this.trackers.filter((t) => t !== p);
    if (asked.length === 0) {
      reply(CS_OK);
      this.host.shutdown();
      return;
    }
    const s: Session = { requester: p, flags, yes: 0, no: 0, expected: asked.length, timer: undefined, reply };
    this.session = s;
    this.requesters.add(p);
    this.votes.clear();
    s.timer = this.host.clock.setTimer(this.host.timeoutMs(), () => {
      if (this.session !== s) return;
      // every vote still missing is a NO (the daemon sets no = expected)
      s.no = s.expected;
      this.decide();
      for (const t of [...this.trackers]) if (this.requesters.has(t)) t.testShutdown(s.flags, CS_ERR_TIMEOUT);
    });
    for (const t of asked) t.testShutdown(flags);
  }

  /** REPLYTOSHUTDOWN: ACCESS with no session, else the vote is counted and OK. */
  replyToShutdown(p: ShutdownParty, response: number): number {
    const s = this.session;
    if (s === undefined) return CS_ERR_ACCESS;
    if (response !== 0) s.yes++;
    else s.no++;
    this.votes.set(p, response !== 0 ? 'yes' : 'no');
    this.decide();
    return CS_OK;
  }

  private decide(): void {
    const s = this.session;
    if (s === undefined || s.yes + s.no < s.expected) return;
    this.session = undefined;
    this.host.clock.clearTimer(s.timer);
    if (s.yes >= s.expected || s.flags === ShutdownFlag.REGARDLESS) {
      s.reply(CS_OK);
      this.host.shutdown();
    } else {
      s.reply(CS_ERR_BUSY);
    }
  }

  /** The node went down: nothing survives. */
  reset(): void {
    if (this.session !== undefined) this.host.clock.clearTimer(this.session.timer);
    this.session = undefined;
    this.trackers.length = 0;
    this.votes.clear();
  }
}
