import {
  CS_OK, CS_ERR_INVALID_PARAM, CS_ERR_NOT_EXIST, CS_ERR_NAME_NOT_FOUND, CS_ERR_ACCESS, CS_ERR_EXIST,
  CS_ERR_TRY_AGAIN, CS_ERR_MESSAGE_ERROR, CmapValueType as T,
  VOTEQUORUM_INFO_TWONODE, VOTEQUORUM_INFO_QUORATE, VOTEQUORUM_INFO_WAIT_FOR_ALL,
  VOTEQUORUM_INFO_LAST_MAN_STANDING, VOTEQUORUM_INFO_AUTO_TIE_BREAKER, VOTEQUORUM_INFO_ALLOW_DOWNSCALE,
  VOTEQUORUM_INFO_QDEVICE_REGISTERED, VOTEQUORUM_INFO_QDEVICE_ALIVE, VOTEQUORUM_INFO_QDEVICE_CAST_VOTE,
  VOTEQUORUM_INFO_QDEVICE_MASTER_WINS, VOTEQUORUM_NODESTATE_MEMBER, VOTEQUORUM_NODESTATE_DEAD,
  VOTEQUORUM_NODESTATE_LEAVING, VOTEQUORUM_QDEVICE_NODEID, VOTEQUORUM_QDEVICE_DEFAULT_TIMEOUT,
  VOTEQUORUM_QDEVICE_DEFAULT_SYNC_TIMEOUT, CMAP_TRACK_ADD, CMAP_TRACK_DELETE, CMAP_TRACK_MODIFY, CMAP_TRACK_PREFIX,
} from '@corosync-ts/types';
import type { RingId } from '@corosync-ts/codec-wasm';
import type { CmapStore } from './cmap-store.js';
import type { Clock } from './clock.js';
import { LMS_WINDOW_DEFAULT, parseAtbList, readVqConfigKeys, u8 } from './votequorum-config.js';

export type { RingId };

/** Node flags carried in nodeinfo messages. */
export const NodeFlags = {
  QUORATE: 1, LEAVING: 2, WFASTATUS: 4, FIRST: 8,
  QDEVICE_REGISTERED: 16, QDEVICE_ALIVE: 32, QDEVICE_CAST_VOTE: 64, QDEVICE_MASTER_WINS: 128,
} as const;
const F = NodeFlags;

export const NodeState = {
  MEMBER: VOTEQUORUM_NODESTATE_MEMBER, DEAD: VOTEQUORUM_NODESTATE_DEAD, LEAVING: VOTEQUORUM_NODESTATE_LEAVING,
} as const;

export const Atb = { NONE: 0, LOWEST: 1, HIGHEST: 2, LIST: 3 } as const;

const RECONFIG_EXPECTED_VOTES = 1;
const RECONFIG_NODE_VOTES = 2;
const RECONFIG_CANCEL_WFA = 3;
const QDEVICE_OP_REGISTER = 0;
const QDEVICE_OP_UNREGISTER = 1;
const QDEVICE_NODEID = VOTEQUORUM_QDEVICE_NODEID;
const TRACK_ALL = CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX;

/** The votequorum totem messages (all delivered in one total order inside a partition). */
export type VqMessage =
  | { kind: 'nodeinfo'; nodeid: number; votes: number; expectedVotes: number; flags: number }
  | { kind: 'reconfigure'; param: number; nodeid: number; value: number }
  | { kind: 'qdeviceReg'; operation: number; name: string }
  | { kind: 'qdeviceReconfigure'; oldname: string; newname: string };

/** The exec message id of each votequorum message (its runtime.services.votequorum.<id> counters). */
export const VQ_EXEC_ID: Readonly<Record<VqMessage['kind'], number>> = { nodeinfo: 0, reconfigure: 1, qdeviceReg: 2, qdeviceReconfigure: 3 };

/** What the engine needs from the node that hosts it. */
export interface VqHost {
  readonly nodeid: number;
  readonly cmap: CmapStore;
  readonly clock: Clock;
  mcast(msg: VqMessage): void;
  /** quorum service's set_quorum (vsf_quorum). */
  quorumCallback(members: readonly number[], quorate: boolean, ring: RingId): void;
  /** Broadcasts to this node's votequorum trackers. */
  sendQuorumNotification(): void;
  sendNodelistNotification(): void;
  sendExpectedVotesNotification(): void;
  /** Answer of a deferred QDEVICE_REGISTER. */
  qdeviceRegisterDone(error: number): void;
  loadEvTrackingBarrier(): number;
  /** After a timer callback: deliver what it multicast, finish a sync it unblocked. */
  afterTimer?(): void;
  saveEvTrackingBarrier(v: number): void;
}

export interface VqNode { nodeid: number; state: number; votes: number; expectedVotes: number; flags: number }

export interface VqInfo {
  nodeid: number; state: number; votes: number; expectedVotes: number; highestExpected: number;
  totalVotes: number; quorum: number; flags: number; qdeviceVotes: number; qdeviceName: string;
}

/**
 * One node's votequorum service (corosync 3.1.7 exec/votequorum.c semantics): its own view of
 * every node it has heard of, the quorum arithmetic, wait_for_all, last_man_standing,
 * auto_tie_breaker, allow_downscale and the quorum device.
 */
export class VotequorumEngine {
  readonly nodes: VqNode[] = []; // in corosync's list order (see allocate), never shrinks
  readonly us: VqNode;
  readonly qdevice: VqNode = { nodeid: QDEVICE_NODEID, state: 0, votes: 0, expectedVotes: 0, flags: 0 };
  qdeviceName = '';
  quorum = 0;
  quorate = false;
  twoNode = 0;
  waitForAll = 0;
  waitForAllAutoset = false;
  waitForAllStatus = 0;
  lastManStanding = 0;
  lmsWindow = LMS_WINDOW_DEFAULT;
  atb: number = Atb.NONE;
  initialAtb: number = Atb.NONE;
  atbList: number[] = [];
  allowDownscale = 0;
  evTracking = 0;
  evBarrier = 0;
  evTrackingBarrier = 0;
  qdeviceMasterWins = 0;
  qdeviceCanOperate = 1;
  qdeviceTimeout = VOTEQUORUM_QDEVICE_DEFAULT_TIMEOUT;
  qdeviceSyncTimeout = VOTEQUORUM_QDEVICE_DEFAULT_SYNC_TIMEOUT;
  lowestNodeId = 0;
  highestNodeId = 0;
  members: number[] = [];
  previousMembers: number[] = [];
  ringId: RingId = { nodeid: 0, seq: 0n };
  syncInProgress = false;
  private syncNodeinfoSent = false;
  syncWaitForPoll = false;
  private lmsTimer: unknown = undefined;
  private qdeviceTimer: unknown = undefined;
  private qdeviceRegPending = false;
  private readonly untrackConfig: (() => void)[] = [];

  constructor(private readonly host: VqHost) {
    this.us = this.allocate(host.nodeid);
  }

  /** exec_init: returns corosync's error string when the configuration is refused. */
  init(): string | undefined {
    this.host.cmap.set('runtime.votequorum.this_node_id', T.UINT32, this.us.nodeid);
    this.us.state = NodeState.MEMBER;
    this.us.votes = 1;
    this.us.flags |= F.FIRST;
    const err = this.readConfig(false);
    if (err !== undefined) return err;
    this.recalculate(false, false);
    const onChange = (c: { key: string }) => this.refreshConfig(c.key);
    const store = this.host.cmap;
    for (const [key, flags] of [['nodelist.', TRACK_ALL], ['quorum.', TRACK_ALL], ['config.totemconfig_reload_in_progress', CMAP_TRACK_ADD | CMAP_TRACK_MODIFY]] as const) {
      const t = store.track(key, flags, onChange);
      this.untrackConfig.push(() => store.untrack(t));
    }
    this.sendNodeinfo(this.us.nodeid);
    return undefined;
  }

  /** Stops timers and config tracking; with allow_downscale tells the others we leave. */
  exit(graceful: boolean): void {
    if (graceful && this.allowDownscale) {
      this.us.flags |= F.LEAVING;
      this.sendNodeinfo(this.us.nodeid);
    }
    this.shutdown();
  }

  /** Forget timers without sending anything (the node died). */
  shutdown(): void {
    for (const u of this.untrackConfig.splice(0)) u();
    if (this.lmsTimer !== undefined) this.host.clock.clearTimer(this.lmsTimer);
    if (this.qdeviceTimer !== undefined) this.host.clock.clearTimer(this.qdeviceTimer);
    this.lmsTimer = this.qdeviceTimer = undefined;
  }

  find(nodeid: number): VqNode | undefined {
    if (nodeid === QDEVICE_NODEID) return this.qdevice;
    return this.nodes.find((n) => n.nodeid === nodeid);
  }

  private allocate(nodeid: number): VqNode {
    const n: VqNode = { nodeid, state: 0, votes: 0, expectedVotes: 0, flags: 0 };
    if (nodeid === QDEVICE_NODEID) return n;
    // corosync's node_add_ordered inserts before the first node with a larger id, or, when there
    // is none, before the LAST node (qb_list_add_tail on that node): node 1 sees 2 and 3 as
    // [2, 3, 1]. The quorum notification lists nodes in this order, so keep it.
    if (this.nodes.length === 0) {
      this.nodes.push(n);
      return n;
    }
    let i = this.nodes.findIndex((x) => nodeid < x.nodeid);
    if (i < 0) i = this.nodes.length - 1;
    this.nodes.splice(i, 0, n);
    return n;
  }

  // ------------------------------------------------------------------------- configuration

  private setAtbType(): void {
    this.host.cmap.set('runtime.votequorum.atb_type', T.UINT32, this.atb);
  }

  private parseAtb(s: string): void {
    this.atb = Atb.NONE;
    if (s === 'lowest') this.atb = Atb.LOWEST;
    if (s === 'highest') this.atb = Atb.HIGHEST;
    if (Number.parseInt(s, 10)) {
      this.atbList = parseAtbList(s);
      if (this.atbList.length) this.atb = Atb.LIST;
    }
    this.setAtbType();
  }

  private updateWfaStatus(v: number): void {
    this.waitForAllStatus = v;
    if (v) this.us.flags |= F.WFASTATUS;
    else this.us.flags &= ~F.WFASTATUS;
    this.host.cmap.set('runtime.votequorum.wait_for_all_status', T.UINT8, v);
  }

  private updateQdeviceCanOperate(v: number): void {
    this.qdeviceCanOperate = v;
    this.host.cmap.set('runtime.votequorum.qdevice_can_operate', T.UINT8, v);
  }

  private updateEvTrackingBarrier(v: number): void {
    this.evTrackingBarrier = v;
    this.host.cmap.set('runtime.votequorum.ev_tracking_barrier', T.UINT32, v);
    this.host.saveEvTrackingBarrier(v);
  }

  private readConfig(runtime: boolean): string | undefined {
    const store = this.host.cmap;
    if (runtime) {
      this.twoNode = 0;
      this.atb = this.initialAtb;
      this.setAtbType();
    }
    const k = readVqConfigKeys(store);
    let expectedVotes = k.expectedVotes;
    const nl = k.nodelist;
    const model = k.deviceModel;
    let haveQdevice = false;
    let qdeviceVotes = 0;
    if (model !== undefined && model.length > 0) {
      haveQdevice = true;
      qdeviceVotes = k.deviceVotes;
      this.qdeviceTimeout = k.deviceTimeout;
      this.qdeviceSyncTimeout = k.deviceSyncTimeout;
      this.updateQdeviceCanOperate(1);
    }
    this.twoNode = k.twoNode;

    if (nl === undefined && !expectedVotes) {
      return runtime ? undefined : 'configuration error: nodelist or quorum.expected_votes must be configured!';
    }
    if (this.twoNode && haveQdevice) {
      if (!runtime) return 'configuration error: two_node and quorum device cannot be configured at the same time!';
      if (this.us.flags & F.QDEVICE_REGISTERED) this.twoNode = 0;
      else this.updateQdeviceCanOperate(0);
    }
    if (!runtime) {
      this.allowDownscale = k.allowDownscale;
      const wfa = k.waitForAll;
      if (wfa === undefined) this.waitForAllAutoset = true;
      else this.waitForAll = wfa;
      this.lastManStanding = k.lastManStanding;
      this.lmsWindow = k.lmsWindow;
      this.evTracking = k.evTracking;
      const atb = k.autoTieBreaker;
      const atbString = k.autoTieBreakerNode;
      if (atb) {
        this.atb = Atb.LOWEST;
        this.setAtbType();
      } else {
        this.atb = Atb.NONE;
      }
      if (atb && atbString !== undefined) this.parseAtb(atbString);
      this.initialAtb = this.atb;
      if (this.allowDownscale) this.evTracking = 1;
      if (this.evTracking) this.updateEvTrackingBarrier(this.host.loadEvTrackingBarrier());
    }
    if (this.waitForAllAutoset) this.waitForAll = this.twoNode;
    if (this.twoNode && this.atb !== Atb.NONE) this.twoNode = 0;
    const nodeExpected0 = nl?.expected ?? 0;
    if (this.atb !== Atb.NONE && nodeExpected0 % 2 && !this.waitForAll) {
      if (this.lastManStanding) {
        return 'configuration error: auto_tie_breaker & last_man_standing not available in odd sized cluster';
      }
      this.atb = Atb.NONE;
      this.setAtbType();
    }
    const incompatible = (cond: boolean, msg: string): string | undefined => {
      if (!cond) return undefined;
      if (!runtime) return msg;
      this.updateQdeviceCanOperate(0);
      return undefined;
    };
    const e =
      incompatible(haveQdevice && !!this.lastManStanding, 'configuration error: quorum.device is not compatible with last_man_standing') ??
      incompatible(haveQdevice && this.atb !== Atb.NONE, 'configuration error: quorum.device is not compatible with auto_tie_breaker') ??
      incompatible(haveQdevice && !!this.allowDownscale, 'configuration error: quorum.device is not compatible with allow_downscale') ??
      incompatible(!!expectedVotes && haveQdevice && qdeviceVotes === -1, 'configuration error: quorum.device.votes must be specified when quorum.expected_votes is set') ??
      incompatible(haveQdevice && qdeviceVotes === -1 && nl !== undefined && nl.count !== nl.expected, 'configuration error: quorum.device.votes must be specified when not all nodes votes 1') ??
      incompatible(qdeviceVotes > 0 && !!expectedVotes && expectedVotes - qdeviceVotes < 2, 'configuration error: quorum.device.votes is too high or expected_votes is too low');
    if (e !== undefined) return e;

    let nodeExpected = nodeExpected0;
    if (haveQdevice && qdeviceVotes === -1 && !expectedVotes && nl !== undefined && nl.count === nl.expected) {
      qdeviceVotes = nl.expected - 1;
      nodeExpected += qdeviceVotes;
    }
    if (this.evTracking) expectedVotes = this.evTrackingBarrier;
    if (nl !== undefined) {
      this.us.votes = nl.votes;
      this.us.expectedVotes = nodeExpected;
    } else {
      this.us.votes = k.votes;
    }
    if (expectedVotes) this.us.expectedVotes = expectedVotes;
    if (!haveQdevice) this.qdevice.votes = 0;
    if (qdeviceVotes !== -1 && haveQdevice) this.qdevice.votes = qdeviceVotes;
    this.updateEvBarrier(this.us.expectedVotes);
    store.set('runtime.votequorum.two_node', T.UINT8, this.twoNode);
    if (this.waitForAll) {
      if (!runtime) this.updateWfaStatus(1);
    } else if (this.waitForAllAutoset && this.waitForAllStatus) {
      this.updateWfaStatus(0);
    }
    return undefined;
  }

  private updateEvBarrier(v: number): void {
    this.evBarrier = v;
    this.host.cmap.set('runtime.votequorum.ev_barrier', T.UINT32, v);
  }

  private refreshConfig(key: string): void {
    const store = this.host.cmap;
    if (u8(store, 'config.totemconfig_reload_in_progress')) return;
    if (key === 'quorum.cancel_wait_for_all' && (u8(store, 'quorum.cancel_wait_for_all') ?? 0) >= 1) {
      store.set('quorum.cancel_wait_for_all', T.UINT8, 0);
      this.host.mcast({ kind: 'reconfigure', param: RECONFIG_CANCEL_WFA, nodeid: this.us.nodeid, value: 0 });
      return;
    }
    const oldVotes = this.us.votes;
    const oldExpected = this.us.expectedVotes;
    this.readConfig(true);
    this.sendNodeinfo(this.us.nodeid);
    this.sendNodeinfo(QDEVICE_NODEID);
    if (this.us.votes !== oldVotes) {
      this.host.mcast({ kind: 'reconfigure', param: RECONFIG_NODE_VOTES, nodeid: this.us.nodeid, value: this.us.votes });
    }
    if (this.us.expectedVotes !== oldExpected) {
      this.host.mcast({ kind: 'reconfigure', param: RECONFIG_EXPECTED_VOTES, nodeid: this.us.nodeid, value: this.us.expectedVotes });
    }
  }

  // ---------------------------------------------------------------------------- arithmetic

  calculateQuorum(allowDecrease: boolean, maxExpected: number): { quorum: number; totalVotes: number } {
    if (this.allowDownscale && allowDecrease && maxExpected) maxExpected = Math.max(this.evBarrier, maxExpected);
    let highest = 0;
    let total = 0;
    let totalNodes = 0;
    for (const n of this.nodes) {
      if (n.state === NodeState.MEMBER) {
        highest = Math.max(highest, n.expectedVotes);
        total = (total + n.votes) >>> 0;
        totalNodes++;
      }
    }
    if (this.us.flags & F.QDEVICE_CAST_VOTE) {
      total = (total + this.qdevice.votes) >>> 0;
      totalNodes++;
    }
    if (maxExpected > 0) highest = maxExpected;
    // unsigned int arithmetic, as calculate_quorum's: expected votes near 2^32 wrap to a small quorum
    let q = Math.max(((highest + 2) >>> 0) >>> 1, ((total + 2) >>> 0) >>> 1);
    if (!allowDecrease) q = Math.max(this.quorum, q);
    if (this.twoNode && totalNodes <= 2) q = 1;
    // the whole value: setexpected and setvotes check it before votequorum stores it in its uint8_t
    return { quorum: q, totalVotes: total };
  }

  private updateNodeExpected(v: number): void {
    if (!v) return;
    for (const n of this.nodes) if (n.state === NodeState.MEMBER) n.expectedVotes = v;
  }

  private setLowestHighest(): void {
    let lo = this.us.nodeid;
    let hi = this.us.nodeid;
    for (const n of this.nodes) {
      if (n.state !== NodeState.MEMBER) continue;
      lo = Math.min(lo, n.nodeid);
      hi = Math.max(hi, n.nodeid);
    }
    this.lowestNodeId = lo;
    this.highestNodeId = hi;
    this.host.cmap.set('runtime.votequorum.lowest_node_id', T.UINT32, lo);
    this.host.cmap.set('runtime.votequorum.highest_node_id', T.UINT32, hi);
  }

  private memberPresent(id: number): boolean {
    return this.nodes.some((n) => n.state === NodeState.MEMBER && n.nodeid === id);
  }

  private atbCheck(): boolean {
    if (this.atb === Atb.LOWEST) return this.memberPresent(this.lowestNodeId);
    if (this.atb === Atb.HIGHEST) return this.memberPresent(this.highestNodeId);
    for (let i = 0; i < this.atbList.length; i++) {
      if (this.members.includes(this.atbList[i]!)) {
        for (let j = 0; j < i; j++) if (this.previousMembers.includes(this.atbList[j]!)) return false;
        return true;
      }
    }
    return false;
  }

  private areWeQuorate(totalVotes: number): void {
    if (this.waitForAll && this.waitForAllStatus) {
      if (totalVotes !== this.us.expectedVotes) return;
      this.updateWfaStatus(0);
    }
    let quorate = this.quorum <= totalVotes;
    if (quorate) this.setLowestHighest();
    if (
      this.atb !== Atb.NONE &&
      totalVotes === Math.floor(this.us.expectedVotes / 2) &&
      this.previousMembers.length - this.members.length < this.quorum &&
      this.atbCheck()
    ) quorate = true;
    if (this.qdeviceMasterWins && !quorate &&
      this.nodes.some((n) => n.state === NodeState.MEMBER && n.flags & F.QDEVICE_MASTER_WINS && n.flags & F.QDEVICE_CAST_VOTE)) {
      quorate = true;
    }
    const changed = quorate !== this.quorate;
    this.quorate = quorate;
    if (quorate) this.us.flags |= F.QUORATE;
    else this.us.flags &= ~F.QUORATE;
    if (this.waitForAll) this.updateWfaStatus(quorate ? 0 : 1);
    if (changed && !this.syncInProgress) {
      this.host.quorumCallback(this.members, quorate, this.ringId);
      this.host.sendQuorumNotification();
    }
  }

  recalculate(allowDecrease: boolean, byCurrentNodes: boolean): void {
    let total = 0;
    let count = 0;
    for (const n of this.nodes) {
      if (n.state === NodeState.MEMBER) {
        count++;
        total = (total + n.votes) >>> 0;
      }
    }
    if (this.qdevice.votes) {
      total = (total + this.qdevice.votes) >>> 0;
      count++;
    }
    if (!byCurrentNodes) count = 0;
    if (total > this.us.expectedVotes) {
      this.us.expectedVotes = total;
      this.host.sendExpectedVotesNotification();
    }
    if (this.evTracking && this.us.expectedVotes > this.evTrackingBarrier) this.updateEvTrackingBarrier(this.us.expectedVotes);
    const r = this.calculateQuorum(allowDecrease, count);
    // votequorum keeps quorum in a uint8_t
    this.quorum = r.quorum & 0xff;
    this.updateNodeExpected(count);
    this.areWeQuorate(r.totalVotes);
  }

  // ------------------------------------------------------------------------------ messages

  sendNodeinfo(nodeid: number): void {
    const n = this.find(nodeid);
    if (n === undefined) return;
    this.host.mcast({ kind: 'nodeinfo', nodeid, votes: n.votes, expectedVotes: n.expectedVotes, flags: n.flags });
  }

  deliver(msg: VqMessage, sender: number): void {
    switch (msg.kind) {
      case 'nodeinfo': return this.onNodeinfo(msg, sender);
      case 'reconfigure': return this.onReconfigure(msg);
      case 'qdeviceReg': return this.onQdeviceReg(msg, sender);
      case 'qdeviceReconfigure':
        if (msg.oldname === this.qdeviceName) this.qdeviceName = msg.newname;
        return;
    }
  }

  private onNodeinfo(msg: Extract<VqMessage, { kind: 'nodeinfo' }>, sender: number): void {
    let node = this.find(msg.nodeid);
    let isNew = false;
    if (node === undefined) {
      node = this.allocate(msg.nodeid);
      isNew = true;
    }
    const old = isNew
      ? { votes: 0, expected: 0, state: NodeState.DEAD as number, flags: 0 }
      : { votes: node.votes, expected: node.expectedVotes, state: node.state, flags: node.flags };
    let allowDowngrade = false;
    let byNode = false;
    if (msg.nodeid === QDEVICE_NODEID) {
      const s = this.find(sender);
      if (!this.quorate && s !== undefined && s.flags & F.QUORATE) node.votes = msg.votes;
      else node.votes = Math.max(node.votes, msg.votes);
    } else {
      node.flags = msg.flags;
      node.votes = msg.votes;
      node.state = NodeState.MEMBER;
      if (node.flags & F.LEAVING) {
        node.state = NodeState.LEAVING;
        allowDowngrade = true;
        byNode = true;
      }
      if (!this.quorate && node.flags & F.QUORATE) {
        allowDowngrade = true;
        this.us.expectedVotes = msg.expectedVotes;
      }
      node.expectedVotes = node.flags & F.QUORATE || this.evTracking ? msg.expectedVotes : this.us.expectedVotes;
      if (this.lastManStanding && node.votes > 1) {
        this.lastManStanding = 0;
        if (this.lmsTimer !== undefined) {
          this.host.clock.clearTimer(this.lmsTimer);
          this.lmsTimer = undefined;
        }
      }
    }
    if (isNew || msg.nodeid === this.us.nodeid || node.flags & F.FIRST || old.votes !== node.votes ||
      old.expected !== node.expectedVotes || old.flags !== node.flags || old.state !== node.state) {
      this.recalculate(allowDowngrade, byNode);
    }
    if (this.waitForAll && !(node.flags & F.WFASTATUS) && node.flags & F.QUORATE) this.updateWfaStatus(0);
  }

  private onReconfigure(msg: Extract<VqMessage, { kind: 'reconfigure' }>): void {
    switch (msg.param) {
      case RECONFIG_EXPECTED_VOTES:
        this.updateNodeExpected(msg.value);
        this.host.sendExpectedVotesNotification();
        this.updateEvBarrier(msg.value);
        if (this.evTracking) this.us.expectedVotes = Math.max(this.us.expectedVotes, this.evTrackingBarrier);
        this.recalculate(true, false);
        break;
      case RECONFIG_NODE_VOTES: {
        const n = this.find(msg.nodeid);
        if (n === undefined) return;
        n.votes = msg.value;
        this.recalculate(true, false);
        break;
      }
      case RECONFIG_CANCEL_WFA:
        this.updateWfaStatus(0);
        this.recalculate(false, false);
        break;
    }
  }

  private onQdeviceReg(msg: Extract<VqMessage, { kind: 'qdeviceReg' }>, sender: number): void {
    if (msg.operation === QDEVICE_OP_REGISTER) {
      if (sender !== this.us.nodeid) {
        if (!this.qdeviceName) this.qdeviceName = msg.name;
        return;
      }
      if (this.us.flags & F.QDEVICE_REGISTERED) return;
      if (!this.qdeviceRegPending) return;
      if (!this.qdeviceName) this.qdeviceName = msg.name;
      let error: number = CS_OK;
      if (msg.name === this.qdeviceName) {
        this.us.flags |= F.QDEVICE_REGISTERED;
        this.sendNodeinfo(QDEVICE_NODEID);
        this.sendNodeinfo(this.us.nodeid);
      } else {
        error = CS_ERR_EXIST;
      }
      this.qdeviceRegPending = false;
      this.host.qdeviceRegisterDone(error);
    } else if (msg.operation === QDEVICE_OP_UNREGISTER) {
      const someoneHas = this.nodes.some((n) => n.state === NodeState.MEMBER && n.flags & F.QDEVICE_REGISTERED);
      if (!someoneHas) this.qdeviceName = '';
    }
  }

  // ---------------------------------------------------------------------------------- sync

  syncInit(memberList: readonly number[], ring: RingId): void {
    this.syncInProgress = true;
    this.syncNodeinfoSent = false;
    this.syncWaitForPoll = false;
    if (memberList.length > 1) this.us.flags &= ~F.FIRST;
    let left = false;
    for (const id of this.members) {
      if (!memberList.includes(id)) {
        left = true;
        const n = this.find(id);
        if (n !== undefined) n.state = NodeState.DEAD;
      }
    }
    if (this.lastManStanding) {
      if ((memberList.length >= this.quorum && left) ||
        (memberList.length <= this.quorum && this.atb !== Atb.NONE && this.memberPresent(this.lowestNodeId))) {
        if (this.lmsTimer !== undefined) this.host.clock.clearTimer(this.lmsTimer);
        this.lmsTimer = this.host.clock.setTimer(this.lmsWindow, () => {
          this.lmsTimer = undefined;
          if (this.quorate) this.recalculate(true, true);
          this.host.afterTimer?.();
        });
      }
    }
    this.previousMembers = this.members;
    this.members = [...memberList];
    this.ringId = { ...ring };
    if (this.us.flags & F.QDEVICE_REGISTERED && this.us.flags & F.QDEVICE_ALIVE) {
      if (this.qdeviceTimer !== undefined) this.host.clock.clearTimer(this.qdeviceTimer);
      this.qdeviceTimer = this.host.clock.setTimer(this.qdeviceSyncTimeout, () => this.qdeviceTimerFired());
      this.syncWaitForPoll = true;
    }
  }

  /** Returns false while waiting for the quorum device to poll with the new ring. */
  syncProcess(): boolean {
    if (!this.syncNodeinfoSent) {
      this.sendNodeinfo(this.us.nodeid);
      this.sendNodeinfo(QDEVICE_NODEID);
      if (this.qdeviceName) this.host.mcast({ kind: 'qdeviceReg', operation: QDEVICE_OP_REGISTER, name: this.qdeviceName });
      this.host.sendNodelistNotification();
      this.syncNodeinfoSent = true;
    }
    return !(this.us.flags & F.QDEVICE_REGISTERED && this.syncWaitForPoll);
  }

  syncActivate(): void {
    this.recalculate(false, false);
    this.host.quorumCallback(this.members, this.quorate, this.ringId);
    this.host.sendQuorumNotification();
    this.syncInProgress = false;
  }

  private qdeviceTimerFired(): void {
    this.qdeviceTimer = undefined;
    if (!(this.us.flags & F.QDEVICE_ALIVE)) return;
    this.us.flags &= ~(F.QDEVICE_ALIVE | F.QDEVICE_CAST_VOTE);
    this.sendNodeinfo(this.us.nodeid);
    this.syncWaitForPoll = false;
    this.host.afterTimer?.();
  }

  // ------------------------------------------------------------------------ library calls

  getinfo(nodeid: number): { error: number; info: VqInfo } {
    const node = this.find(nodeid === 0 ? this.us.nodeid : nodeid);
    const zero: VqInfo = {
      nodeid: 0, state: 0, votes: 0, expectedVotes: 0, highestExpected: 0, totalVotes: 0, quorum: 0, flags: 0,
      qdeviceVotes: 0, qdeviceName: '',
    };
    if (node === undefined || node.nodeid === QDEVICE_NODEID) return { error: CS_ERR_NOT_EXIST, info: zero };
    let highest = 0;
    let total = 0;
    for (const n of this.nodes) {
      if (n.state === NodeState.MEMBER) {
        highest = Math.max(highest, n.expectedVotes);
        total = (total + n.votes) >>> 0;
      }
    }
    if (node.flags & F.QDEVICE_CAST_VOTE) total = (total + this.qdevice.votes) >>> 0;
    let flags = 0;
    if (this.twoNode) flags |= VOTEQUORUM_INFO_TWONODE;
    if (this.quorate) flags |= VOTEQUORUM_INFO_QUORATE;
    if (this.waitForAll) flags |= VOTEQUORUM_INFO_WAIT_FOR_ALL;
    if (this.lastManStanding) flags |= VOTEQUORUM_INFO_LAST_MAN_STANDING;
    if (this.atb !== Atb.NONE) flags |= VOTEQUORUM_INFO_AUTO_TIE_BREAKER;
    if (this.allowDownscale) flags |= VOTEQUORUM_INFO_ALLOW_DOWNSCALE;
    if (node.flags & F.QDEVICE_REGISTERED) flags |= VOTEQUORUM_INFO_QDEVICE_REGISTERED;
    if (node.flags & F.QDEVICE_ALIVE) flags |= VOTEQUORUM_INFO_QDEVICE_ALIVE;
    if (node.flags & F.QDEVICE_CAST_VOTE) flags |= VOTEQUORUM_INFO_QDEVICE_CAST_VOTE;
    if (node.flags & F.QDEVICE_MASTER_WINS) flags |= VOTEQUORUM_INFO_QDEVICE_MASTER_WINS;
    return {
      error: CS_OK,
      info: {
        nodeid: node.nodeid, state: node.state, votes: node.votes, expectedVotes: node.expectedVotes,
        highestExpected: highest, totalVotes: total, quorum: this.quorum, flags,
        qdeviceVotes: this.qdevice.votes, qdeviceName: this.qdeviceName,
      },
    };
  }

  setExpected(expected: number): number {
    const saved = this.allowDownscale;
    this.allowDownscale = 0;
    const r = this.calculateQuorum(true, expected);
    this.allowDownscale = saved;
    if (expected < r.totalVotes || (this.quorate && r.quorum > r.totalVotes)) return CS_ERR_INVALID_PARAM;
    this.updateNodeExpected(expected);
    this.host.mcast({ kind: 'reconfigure', param: RECONFIG_EXPECTED_VOTES, nodeid: this.us.nodeid, value: expected });
    return CS_OK;
  }

  setVotes(nodeid: number, votes: number): number {
    const node = this.find(nodeid);
    if (node === undefined) return CS_ERR_NAME_NOT_FOUND;
    const saved = node.votes;
    node.votes = votes;
    const r = this.calculateQuorum(true, 0);
    if (r.quorum < Math.floor(r.totalVotes / 2) || r.quorum > r.totalVotes) {
      node.votes = saved;
      return CS_ERR_INVALID_PARAM;
    }
    this.host.mcast({ kind: 'reconfigure', param: RECONFIG_NODE_VOTES, nodeid, value: votes });
    return CS_OK;
  }

  /** Returns undefined when the answer is deferred until our own registration message comes back. */
  qdeviceRegister(name: string): number | undefined {
    if (!this.qdeviceCanOperate) return CS_ERR_ACCESS;
    if (this.us.flags & F.QDEVICE_REGISTERED) return name === this.qdeviceName ? CS_OK : CS_ERR_EXIST;
    if (this.qdeviceRegPending) return CS_ERR_TRY_AGAIN;
    this.qdeviceRegPending = true;
    this.host.mcast({ kind: 'qdeviceReg', operation: QDEVICE_OP_REGISTER, name });
    return undefined;
  }

  /** The registering connection went away before its answer. */
  qdeviceRegisterAbandoned(): void {
    this.qdeviceRegPending = false;
  }

  get qdeviceRegistrationPending(): boolean {
    return this.qdeviceRegPending;
  }

  qdeviceUnregister(name: string): number {
    if (!(this.us.flags & F.QDEVICE_REGISTERED)) return CS_ERR_NOT_EXIST;
    if (name !== this.qdeviceName) return CS_ERR_INVALID_PARAM;
    if (this.qdeviceTimer !== undefined) {
      this.host.clock.clearTimer(this.qdeviceTimer);
      this.qdeviceTimer = undefined;
      this.syncWaitForPoll = false;
    }
    this.us.flags &= ~(F.QDEVICE_REGISTERED | F.QDEVICE_ALIVE | F.QDEVICE_CAST_VOTE | F.QDEVICE_MASTER_WINS);
    this.sendNodeinfo(this.us.nodeid);
    this.host.mcast({ kind: 'qdeviceReg', operation: QDEVICE_OP_UNREGISTER, name });
    return CS_OK;
  }

  qdeviceUpdate(oldname: string, newname: string): number {
    if (!(this.us.flags & F.QDEVICE_REGISTERED)) return CS_ERR_NOT_EXIST;
    if (oldname !== this.qdeviceName) return CS_ERR_INVALID_PARAM;
    this.host.mcast({ kind: 'qdeviceReconfigure', oldname, newname });
    return CS_OK;
  }

  qdevicePoll(name: string, castVote: boolean, ring: RingId): number {
    if (!this.qdeviceCanOperate) return CS_ERR_ACCESS;
    if (!(this.us.flags & F.QDEVICE_REGISTERED)) return CS_ERR_NOT_EXIST;
    if (ring.nodeid !== this.ringId.nodeid || ring.seq !== this.ringId.seq) return CS_ERR_MESSAGE_ERROR;
    if (name !== this.qdeviceName) return CS_ERR_INVALID_PARAM;
    if (this.qdeviceTimer !== undefined) this.host.clock.clearTimer(this.qdeviceTimer);
    const old = this.us.flags;
    this.us.flags |= F.QDEVICE_ALIVE;
    if (castVote) this.us.flags |= F.QDEVICE_CAST_VOTE;
    else this.us.flags &= ~F.QDEVICE_CAST_VOTE;
    if (this.us.flags !== old) this.sendNodeinfo(this.us.nodeid);
    this.qdeviceTimer = this.host.clock.setTimer(this.qdeviceTimeout, () => this.qdeviceTimerFired());
    this.syncWaitForPoll = false;
    return CS_OK;
  }

  qdeviceMasterWinsSet(name: string, allow: boolean): number {
    const old = this.us.flags;
    if (!this.qdeviceCanOperate) return CS_ERR_ACCESS;
    if (!(this.us.flags & F.QDEVICE_REGISTERED)) return CS_ERR_NOT_EXIST;
    if (name !== this.qdeviceName) return CS_ERR_INVALID_PARAM;
    if (allow) this.us.flags |= F.QDEVICE_MASTER_WINS;
    else this.us.flags &= ~F.QDEVICE_MASTER_WINS;
    if (this.us.flags !== old) this.sendNodeinfo(this.us.nodeid);
    this.qdeviceMasterWins = allow ? 1 : 0;
    this.host.cmap.set('runtime.votequorum.qdevice_master_wins', T.UINT8, this.qdeviceMasterWins);
    return CS_OK;
  }

  /** Every node this node has heard of, with its state, for the quorum notification. */
  notificationNodes(): { nodeid: number; state: number }[] {
    const out = this.nodes.map((n) => ({ nodeid: n.nodeid, state: n.state }));
    if (this.us.flags & F.QDEVICE_REGISTERED) out.push({ nodeid: QDEVICE_NODEID, state: this.qdevice.state });
    return out;
  }
}
