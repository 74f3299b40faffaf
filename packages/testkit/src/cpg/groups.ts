import {
  CS_OK, CS_ERR_BUSY, CS_ERR_EXIST, CS_ERR_INTERRUPT, CS_ERR_LIBRARY, CS_ERR_NAME_TOO_LONG, CS_ERR_NO_SECTIONS,
  CS_ERR_NOT_EXIST, CS_ERR_TRY_AGAIN,
} from '@corosync-ts/types';
import type { SimNode } from '../cluster.js';
import type { TotemBus } from '../totem-bus.js';
import type { RingId } from '../votequorum.js';

/**
 * corosync 3.1.7's cpg service (exec/cpg.c) over the simulated nodes, without IPC: every node
 * keeps its own process list, and everything a node multicasts reaches the running members of
 * its ring in one total order (the sender included), as totem's agreed order does. The IPC layer
 * turns the CpgClient callbacks into frames; tests can drive it directly.
 */

export const CPG_MAX_NAME_LENGTH = 128;
export const CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF = 0x01;

export const CpgReason = { JOIN: 1, LEAVE: 2, NODEDOWN: 3, NODEUP: 4, PROCDOWN: 5 } as const;
export const CpgIterationType = { NAME_ONLY: 1, ONE_GROUP: 2, ALL: 3 } as const;
export const PartialType = { FIRST: 1, CONTINUED: 2, LAST: 3 } as const;

export interface CpgAddress { nodeid: number; pid: number; reason: number }
export interface CpgProcess { nodeid: number; pid: number; group: Uint8Array }
export interface CpgIterationEntry { group: Uint8Array; nodeid: number; pid: number }

/** What one client connection hears from its node (the events of the cpg IPC channel). */
export interface CpgClient {
  confchg(group: Uint8Array, members: CpgAddress[], left: CpgAddress[], joined: CpgAddress[]): void;
  deliver(group: Uint8Array, nodeid: number, pid: number, message: Uint8Array): void;
  partialDeliver(group: Uint8Array, nodeid: number, pid: number, msglen: number, type: number, fragment: Uint8Array): void;
  totemConfchg(ring: RingId, members: readonly number[]): void;
  /**
   * The client is done with `message` (a partial's `fragment`) when deliver() returns: it may then
   * be a view of the sender's request frame, which the transport reuses (the mock's IPC
   * connections, which encode it at once). Any other client gets bytes of its own to keep.
   */
  readonly takesViews?: boolean;
}

/** The connection states of exec/cpg.c (cpd_state). */
export const JoinState = { UNJOINED: 0, JOIN_STARTED: 1, JOIN_COMPLETED: 2, LEAVE_STARTED: 3 } as const;
export type JoinStateValue = (typeof JoinState)[keyof typeof JoinState];

type CpgMessage =
  | { kind: 'join'; nodeid: number; pid: number; group: Uint8Array }
  | { kind: 'leave'; nodeid: number; pid: number; group: Uint8Array; reason: number }
  | { kind: 'mcast'; nodeid: number; pid: number; group: Uint8Array; message: Uint8Array }
  | { kind: 'partial'; nodeid: number; pid: number; group: Uint8Array; msglen: number; type: number; fragment: Uint8Array };

const EMPTY = new Uint8Array(0);

/** Group names compare by length, then bytes (exec/cpg.c mar_name_compare). */
export function sameName(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** strcmp-like order of the names (the order the daemon walks groups at a membership change). */
function compareNames(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const isRecipientState = (s: JoinStateValue) => s === JoinState.JOIN_COMPLETED || s === JoinState.LEAVE_STARTED;

/** One client connection's daemon-side state (struct cpg_pd). */
export class CpgConn {
  state: JoinStateValue = JoinState.UNJOINED;
  pid = 0;
  group: Uint8Array = EMPTY;
  flags = 0;
  /** Confchgs this connection has received (the partial-mcast interruption check). */
  transitions = 0;
  initialTransition = 0;
  initialTotemSent = false;
  /** FINALIZE took it off the notification list; requests still work. */
  detached = false;
  closed = false;
  /** The multicast of the request being handled: its payload may view the request frame. */
  private lent: CpgMessage | undefined;

  constructor(readonly node: CpgNode, readonly client: CpgClient) {}

  /** JOIN (request 0). The confchg follows once the bus delivers the join. */
  join(group: Uint8Array, pid: number, flags: number): number {
    return this.node.join(this, group, pid, flags);
  }
  leave(group: Uint8Array, pid: number): number {
    return this.node.leave(this, group, pid);
  }
  /** MCAST (request 2): no reply in any case; false when the daemon drops it. */
  mcast(message: Uint8Array): boolean {
    if (this.state !== JoinState.JOIN_STARTED && this.state !== JoinState.JOIN_COMPLETED) return false;
    this.node.send((this.lent = { kind: 'mcast', nodeid: this.node.id, pid: this.pid, group: this.group, message }));
    return true;
  }
  /** ZC_EXECUTE (request 11): a multicast that answers. */
  zcMcast(message: Uint8Array): number {
    return this.mcast(message) ? CS_OK : CS_ERR_NOT_EXIST;
  }
  /** PARTIAL_MCAST (request 12). */
  partial(msglen: number, type: number, fragment: Uint8Array): number {
    if (this.state !== JoinState.JOIN_STARTED && this.state !== JoinState.JOIN_COMPLETED) return CS_ERR_NOT_EXIST;
    if (type === PartialType.FIRST) this.initialTransition = this.transitions;
    if (this.transitions !== this.initialTransition) return CS_ERR_INTERRUPT;
    this.node.send((this.lent = { kind: 'partial', nodeid: this.node.id, pid: this.pid, group: this.group, msglen, type, fragment }));
    return CS_OK;
  }

  /**
   * After the handler of a multicast request has let totem deliver: a message still waiting
   * (held, a pump already under way) gets a copy of its payload, whose request frame the
   * transport may reuse from now on (ServerOptions.borrowRequests).
   */
  keepLent(): void {
    const m = this.lent;
    this.lent = undefined;
    if (m === undefined || !this.node.bus.pending) return;
    if (m.kind === 'mcast') m.message = m.message.slice();
    else if (m.kind === 'partial') m.fragment = m.fragment.slice();
  }
  /** FINALIZE (request 8): no more events; the group membership stays until the disconnect. */
  finalize(): void {
    this.detached = true;
  }
  /** The client went away (cpg_lib_exit_fn). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detached = true;
    this.node.disconnect(this);
  }
}

interface Iteration { entries: CpgIterationEntry[]; pos: number }

/** One node's cpg service: its process list, its client connections and iterators. */
export class CpgNode {
  /** Cluster-wide processes this node knows, sorted by (nodeid, pid). */
  processes: CpgProcess[] = [];
  readonly conns = new Set<CpgConn>();
  private iterations = new Map<bigint, Iteration>();
  private iterCheck = 0x2f0f5a11n;
  private iterIndex = 0n;
  /** The members of the last ring this node activated (my_old_member_list). */
  private ringMembers: number[] = [];
  /** Simulated totem back-pressure: fc requests get TRY_AGAIN, MCAST is dropped. */
  flowControl = false;

  constructor(readonly bus: CpgBus, readonly totem: SimNode) {}

  get id(): number {
    return this.totem.id;
  }

  connect(client: CpgClient): CpgConn {
    const c = new CpgConn(this, client);
    this.conns.add(c);
    return c;
  }

  /** @internal */
  send(msg: CpgMessage): void {
    this.bus.send(this, msg);
  }

  /** @internal */
  join(conn: CpgConn, group: Uint8Array, pid: number, flags: number): number {
    // FINALIZE took a connection off the daemon's list this looks through (its entry stays, below);
    // an unjoined one is on it as pid 0 with the empty name, this one too
    for (const c of this.conns) {
      if (!c.detached && c.pid === pid && sameName(c.group, group)) return CS_ERR_EXIST;
    }
    if (this.processes.some((p) => p.nodeid === this.id && p.pid === pid && sameName(p.group, group))) return CS_ERR_TRY_AGAIN;
    if (group.length > CPG_MAX_NAME_LENGTH) return CS_ERR_NAME_TOO_LONG;
    switch (conn.state) {
      case JoinState.UNJOINED:
        conn.state = JoinState.JOIN_STARTED;
        conn.pid = pid;
        conn.group = group.slice();
        conn.flags = flags;
        this.send({ kind: 'join', nodeid: this.id, pid, group: conn.group });
        return CS_OK;
      case JoinState.LEAVE_STARTED:
        return CS_ERR_BUSY;
      default:
        return CS_ERR_EXIST;
    }
  }

  /** @internal LEAVE trusts the request's name and pid, not the connection's. */
  leave(conn: CpgConn, group: Uint8Array, pid: number): number {
    switch (conn.state) {
      case JoinState.JOIN_STARTED:
        return CS_ERR_BUSY;
      case JoinState.JOIN_COMPLETED:
        conn.state = JoinState.LEAVE_STARTED;
        this.send({ kind: 'leave', nodeid: this.id, pid, group: group.slice(), reason: CpgReason.LEAVE });
        return CS_OK;
      default:
        return CS_ERR_NOT_EXIST;
    }
  }

  /** @internal */
  disconnect(conn: CpgConn): void {
    this.conns.delete(conn);
    // an empty name never leaves: corosync keeps such a member listed forever
    if (this.totem.running && conn.group.length > 0 && conn.state !== JoinState.LEAVE_STARTED && conn.state !== JoinState.UNJOINED) {
      this.send({ kind: 'leave', nodeid: this.id, pid: conn.pid, group: conn.group, reason: CpgReason.PROCDOWN });
    }
  }

  /**
   * The daemon shuts down cleanly (SIGTERM, cfg shutdown): it closes every IPC connection first,
   * and cpg's lib_exit_fn tells the others that each process is gone, so they see PROCDOWN rather
   * than the NODEDOWN of a crash. qb_ipcs_destroy closes them from the head of libqb's list, where
   * each accepted connection was put: newest first.
   */
  exitAll(): void {
    for (const c of [...this.conns].reverse()) {
      if (c.group.length === 0 || c.state === JoinState.LEAVE_STARTED || c.state === JoinState.UNJOINED) continue;
      c.state = JoinState.LEAVE_STARTED;
      this.send({ kind: 'leave', nodeid: this.id, pid: c.pid, group: c.group, reason: CpgReason.PROCDOWN });
    }
  }

  /** MEMBERSHIP (request 3): the group's processes in list order; an unknown group is empty. */
  membership(group: Uint8Array): CpgAddress[] {
    return this.processes.filter((p) => sameName(p.group, group)).map((p) => ({ nodeid: p.nodeid, pid: p.pid, reason: 0 }));
  }

  /** ITERATIONINITIALIZE (request 5): a snapshot in the daemon's odd order; any other type acts as ALL. */
  iterationInitialize(type: number, group: Uint8Array): bigint {
    const entries: CpgIterationEntry[] = [];
    const place = (e: CpgIterationEntry, nameOnly: boolean) => {
      const first = entries.findIndex((x) => sameName(x.group, e.group));
      if (first < 0) entries.unshift(e);
      else if (!nameOnly) entries.splice(first + 1, 0, e);
    };
    for (const p of this.processes) {
      if (type === CpgIterationType.ONE_GROUP && !sameName(p.group, group)) continue;
      if (type === CpgIterationType.NAME_ONLY) place({ group: p.group, nodeid: 0, pid: 0 }, true);
      else place({ group: p.group, nodeid: p.nodeid, pid: p.pid }, false);
    }
    const handle = (this.iterCheck << 32n) | this.iterIndex++;
    this.iterations.set(handle, { entries, pos: 0 });
    return handle;
  }

  /** ITERATIONNEXT (request 6): after the end comes 27, then the first entry again. */
  iterationNext(handle: bigint): { error: number; entry?: CpgIterationEntry } {
    const it = this.iterations.get(handle);
    if (it === undefined) return { error: CS_ERR_LIBRARY };
    if (it.pos >= it.entries.length) {
      it.pos = 0;
      return { error: CS_ERR_NO_SECTIONS };
    }
    return { error: CS_OK, entry: it.entries[it.pos++]! };
  }

  iterationFinalize(handle: bigint): number {
    return this.iterations.delete(handle) ? CS_OK : CS_ERR_LIBRARY;
  }

  // ------------------------------------------------------------------------------- delivery

  /** @internal A message of the total order reaches this node. */
  deliver(msg: CpgMessage): void {
    switch (msg.kind) {
      case 'join': {
        if (this.processes.some((p) => p.nodeid === msg.nodeid && p.pid === msg.pid && sameName(p.group, msg.group))) return;
        this.insert({ nodeid: msg.nodeid, pid: msg.pid, group: msg.group });
        this.notifyJoinlist(msg.group, [], [{ nodeid: msg.nodeid, pid: msg.pid, reason: CpgReason.JOIN }]);
        return;
      }
      case 'leave': {
        this.notifyJoinlist(msg.group, [{ nodeid: msg.nodeid, pid: msg.pid, reason: msg.reason }], []);
        this.processes = this.processes.filter((p) => !(p.nodeid === msg.nodeid && p.pid === msg.pid && sameName(p.group, msg.group)));
        return;
      }
      case 'mcast':
      case 'partial': {
        // a message from a node with no process in the group is dropped ("Unknown node")
        if (!this.processes.some((p) => p.nodeid === msg.nodeid && sameName(p.group, msg.group))) return;
        let own: Uint8Array | undefined;
        for (const c of this.recipients(msg.group)) {
          const bytes = msg.kind === 'mcast' ? msg.message : msg.fragment;
          const b = c.client.takesViews ? bytes : (own ??= bytes.slice());
          if (msg.kind === 'mcast') c.client.deliver(msg.group, msg.nodeid, msg.pid, b);
          else c.client.partialDeliver(msg.group, msg.nodeid, msg.pid, msg.msglen, msg.type, b);
        }
        return;
      }
    }
  }

  private recipients(group: Uint8Array): CpgConn[] {
    return [...this.conns].filter((c) => !c.detached && isRecipientState(c.state) && sameName(c.group, group));
  }

  private insert(p: CpgProcess): void {
    let i = this.processes.length;
    while (i > 0) {
      const q = this.processes[i - 1]!;
      if (q.nodeid < p.nodeid || (q.nodeid === p.nodeid && q.pid <= p.pid)) break;
      i--;
    }
    this.processes.splice(i, 0, p);
  }

  /** notify_lib_joinlist: one confchg to the group's local members, then the initial totem confchgs. */
  private notifyJoinlist(group: Uint8Array, left: CpgAddress[], joined: CpgAddress[]): void {
    const isLeft = (p: CpgProcess) => left.some((l) => l.nodeid === p.nodeid && l.pid === p.pid);
    const members = this.processes
      .filter((p) => sameName(p.group, group) && !isLeft(p))
      .map((p) => ({ nodeid: p.nodeid, pid: p.pid, reason: 0 }));
    for (const j of joined) {
      if (j.nodeid !== this.id) continue;
      for (const c of this.conns) {
        if (c.state === JoinState.JOIN_STARTED && c.pid === j.pid && sameName(c.group, group)) c.state = JoinState.JOIN_COMPLETED;
      }
    }
    for (const c of this.recipients(group)) {
      c.transitions++;
      c.client.confchg(group, members.map((m) => ({ ...m })), left.map((m) => ({ ...m })), joined.map((m) => ({ ...m })));
    }
    // (the daemon's reset of a leaver to UNJOINED loops over the joined count: it never runs)
    for (const c of this.conns) {
      if (c.detached || c.initialTotemSent || !(c.flags & CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF)) continue;
      c.initialTotemSent = true;
      c.client.totemConfchg({ ...this.totem.ring }, [...this.ringMembers]);
    }
  }

  /**
   * @internal cpg_sync_activate on a new ring: per group the processes of nodes that left
   * (NODEDOWN), then per group the processes learnt from the other members' join lists
   * (NODEUP), then known processes those lists no longer hold (PROCDOWN), then a totem confchg
   * to every connection.
   */
  syncActivate(members: readonly number[], ring: RingId, joinlists: Map<number, CpgProcess[]>): void {
    const leftNodes = this.ringMembers.filter((id) => !members.includes(id));
    const groupsOf = (ps: CpgProcess[]) => {
      const groups: Uint8Array[] = [];
      for (const p of ps) if (!groups.some((g) => sameName(g, p.group))) groups.push(p.group);
      return groups.sort(compareNames);
    };
    const gone = this.processes.filter((p) => leftNodes.includes(p.nodeid));
    for (const g of groupsOf(gone)) {
      const left = gone.filter((p) => sameName(p.group, g)).map((p) => ({ nodeid: p.nodeid, pid: p.pid, reason: CpgReason.NODEDOWN }));
      this.notifyJoinlist(g, left, []);
      this.processes = this.processes.filter((p) => !(leftNodes.includes(p.nodeid) && sameName(p.group, g)));
    }
    const known = (p: CpgProcess) => this.processes.some((q) => q.nodeid === p.nodeid && q.pid === p.pid && sameName(q.group, p.group));
    const learnt: CpgProcess[] = [];
    // the order corosync 3.1.7 delivered the join lists on a real 3-node ring (the same every run):
    // the highest node's first, then the others in ring order
    const ordered = [...members].sort((a, b) => a - b);
    for (const id of [...ordered.slice(-1), ...ordered.slice(0, -1)]) {
      if (id === this.id) continue;
      for (const p of joinlists.get(id) ?? []) if (!known(p) && !learnt.some((q) => q.nodeid === p.nodeid && q.pid === p.pid && sameName(q.group, p.group))) learnt.push(p);
    }
    for (const g of groupsOf(learnt)) {
      const mine = learnt.filter((p) => sameName(p.group, g));
      for (const p of mine) this.insert({ ...p });
      // the daemon stacks the join lists it receives (qb_list_add): the joined list comes out in
      // the reverse of their delivery (node 3 rejoining nodes 1 and 2 gets joined = [2, 1])
      this.notifyJoinlist(g, [], mine.reverse().map((p) => ({ nodeid: p.nodeid, pid: p.pid, reason: CpgReason.NODEUP })));
    }
    for (const p of [...this.processes]) {
      if (p.nodeid === this.id || !members.includes(p.nodeid)) continue;
      const list = joinlists.get(p.nodeid) ?? [];
      if (list.some((q) => q.pid === p.pid && sameName(q.group, p.group))) continue;
      this.notifyJoinlist(p.group, [{ nodeid: p.nodeid, pid: p.pid, reason: CpgReason.PROCDOWN }], []);
      this.processes = this.processes.filter((q) => q !== p);
    }
    this.ringMembers = [...members];
    for (const c of this.conns) if (!c.detached) c.client.totemConfchg({ ...ring }, [...members]);
  }

  /** The join list this node sends at a sync: its own processes. */
  joinlist(): CpgProcess[] {
    return this.processes.filter((p) => p.nodeid === this.id);
  }

  /** @internal The node stopped: every local state is gone (its clients are disconnected by the IPC layer). */
  reset(): void {
    for (const c of this.conns) c.closed = c.detached = true;
    this.conns.clear();
    this.processes = [];
    this.iterations = new Map();
    this.ringMembers = [];
    this.flowControl = false;
  }
}

/** cpg's exec message ids (runtime.services.cpg.<id>.tx/rx). */
const CPG_EXEC_ID: Record<CpgMessage['kind'], number> = { join: 0, leave: 1, mcast: 3, partial: 6 };

/** The cpg service of every simulated node; its messages ride the cluster's totem bus in one total order with everything else. */
export class CpgBus {
  private readonly nodes = new Map<number, CpgNode>();
  /** Messages held back by `hold()`: multicast by `release()` (a slow totem). */
  private held: { sender: CpgNode; msg: CpgMessage }[] | undefined;

  constructor(private readonly lookup: (id: number) => SimNode | undefined, private readonly totem: TotemBus) {
    totem.register<CpgMessage>('cpg', {
      accepts: () => true,
      deliver: (node, msg) => this.node(node.id).deliver(msg),
    });
  }

  node(id: number): CpgNode {
    let n = this.nodes.get(id);
    if (n === undefined) {
      const t = this.lookup(id);
      if (t === undefined) throw new RangeError(`no node ${id}`);
      this.nodes.set(id, (n = new CpgNode(this, t)));
    }
    return n;
  }

  /** @internal */
  send(sender: CpgNode, msg: CpgMessage): void {
    if (!sender.totem.running) return;
    if (this.held !== undefined) this.held.push({ sender, msg });
    else this.totem.mcast(sender.totem, 'cpg', CPG_EXEC_ID[msg.kind], msg);
  }

  /**
   * @internal Whether a multicast sent just now may still wait for delivery: held (every send
   * is, while holding), or totem not done (a pump already under way delivers it later). No search
   * for the message: when anything waits, the newest one does too.
   */
  get pending(): boolean {
    return this.held !== undefined || this.totem.inFlight;
  }

  /** Holds cpg multicasts until release(): what a client sees while totem has not yet delivered. */
  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const h of held) this.send(h.sender, h.msg);
    this.pump();
  }

  /** Delivers every queued message, in one total order, to the running members of the sender's ring. */
  pump(): void {
    this.totem.pump();
  }

  /** A node stopped or died: its state is gone (the bus forgets its undelivered messages). */
  nodeDown(id: number): void {
    if (this.held !== undefined) this.held = this.held.filter((h) => h.sender.id !== id);
    this.nodes.get(id)?.reset();
  }

  /** A ring formed: every running member activates it with the others' join lists. */
  syncActivate(members: readonly number[], ring: RingId): void {
    this.pump();
    const joinlists = new Map<number, CpgProcess[]>();
    for (const id of members) joinlists.set(id, this.node(id).joinlist().map((p) => ({ ...p })));
    for (const id of members) {
      const n = this.node(id);
      if (n.totem.running) n.syncActivate(members, ring, joinlists);
    }
  }
}
