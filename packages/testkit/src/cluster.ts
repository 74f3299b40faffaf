import { CmapValueType as T } from '@corosync-ts/types';
import { CmapStore } from './cmap-store.js';
import { ManualClock, type Clock } from './clock.js';
import { parseCorosyncConf, type ConfigEntry } from './config.js';
import { CpgBus, type CpgNode } from './cpg/groups.js';
import { ConfigError, MockError } from './errors.js';
import { specToConf, type ClusterSpec } from './spec.js';
import { VotequorumEngine, type RingId, type VqHost, type VqMessage } from './votequorum.js';

/** What the service layer of a node hears from the simulator. */
export interface NodeListener {
  /** quorum service set_quorum: V0/V1 quorum notifications to quorum trackers. */
  quorumChanged?(): void;
  /** quorum service sync activation: V1 nodelist notifications. */
  quorumNodelist?(members: readonly number[], joined: readonly number[], left: readonly number[], ring: RingId): void;
  vqQuorum?(): void;
  vqNodelist?(): void;
  vqExpectedVotes?(): void;
  qdeviceRegisterDone?(error: number): void;
  /** The node stopped or died: every client connection to it is gone. */
  down?(): void;
  /** The node (re)started with a fresh state. */
  up?(): void;
  /** cfg ends this node as corosync would exit: after a shutdown, or killed by KILLNODE. */
  cfgExit?(how: 'shutdown' | 'killed'): void;
}

export interface NodeStatus {
  id: number;
  running: boolean;
  quorate: boolean;
  ringId: RingId;
  members: number[];
  expectedVotes: number;
  highestExpected: number;
  totalVotes: number;
  quorum: number;
  flags: number;
}

interface ConfNode { pos: number; id: number; name?: string; addrs: string[] }

const SERVICES_WITH_VQ = ['cmap', 'cfg', 'cpg', 'quorum', 'pload', 'votequorum', 'mon', 'wd'];
const SERVICES_NO_VQ = ['cmap', 'cfg', 'cpg', 'quorum', 'pload', 'mon', 'wd'];
const SERVICE_IDS: Record<string, number> = { cmap: 0, cfg: 1, cpg: 2, quorum: 3, pload: 4, votequorum: 5, mon: 6, wd: 7 };
/** Exec message ids each service registers rx/tx counters for (runtime.services.<svc>.<id>.*). */
const EXEC_COUNTERS: Record<string, number> = { cmap: 1, cfg: 5, cpg: 7, pload: 2, votequorum: 4 };

/** A simulated corosync node: its own cmap, quorum service state and votequorum engine. */
export class SimNode {
  readonly id: number;
  readonly pos: number;
  readonly name: string | undefined;
  readonly addrs: string[];
  running = false;
  partition = 0;
  cmap: CmapStore = new CmapStore();
  vq: VotequorumEngine | undefined;
  /** quorum service (vsf_quorum) state. */
  quorate = false;
  viewList: number[] = [];
  quorumRing: RingId = { nodeid: 0, seq: 0n };
  members: number[] = [];
  ring: RingId = { nodeid: 0, seq: 0n };
  lastSeq = 1n;
  readonly listeners = new Set<NodeListener>();
  private evTrackingBarrier = 0;
  private joinCounts = new Map<number, number>();

  constructor(private readonly cluster: Cluster, conf: ConfNode) {
    this.id = conf.id;
    this.pos = conf.pos;
    this.name = conf.name;
    this.addrs = conf.addrs;
  }

  get quorumType(): number {
    return this.cluster.hasVotequorum ? 1 : 0;
  }

  /** Boots the node: fresh cmap from the configuration, votequorum init, then it joins its partition. */
  start(opts: { partition?: number } = {}): this {
    if (this.running) throw new MockError('EALREADY', `node ${this.id} is already running`);
    if (opts.partition !== undefined) this.partition = opts.partition;
    this.bootstrap();
    this.cluster.reform();
    return this;
  }

  /** Graceful shutdown (with allow_downscale the others see it LEAVING). */
  stop(): this {
    if (!this.running) throw new MockError('ENOTRUNNING', `node ${this.id} is not running`);
    this.cpg.exitAll();
    this.vq?.exit(true);
    this.cluster.pump();
    this.halt();
    this.cluster.reform();
    return this;
  }

  /** Sudden death: no goodbye. */
  kill(): this {
    if (!this.running) throw new MockError('ENOTRUNNING', `node ${this.id} is not running`);
    this.vq?.shutdown();
    this.halt();
    this.cluster.reform();
    return this;
  }

  private halt(): void {
    if (this.qdeviceTimer !== undefined) this.cluster.clock.clearTimer(this.qdeviceTimer);
    this.qdeviceTimer = undefined;
    this.running = false;
    this.vq = undefined;
    this.members = [];
    this.cluster.dropMessagesFrom(this.id);
    this.cluster.cpg.nodeDown(this.id);
    for (const l of [...this.listeners]) l.down?.();
  }

  /** @internal */
  bootstrap(): void {
    this.cmap = new CmapStore();
    this.joinCounts = new Map();
    for (const e of this.cluster.configEntries) this.cmap.set(e.key, e.type, e.value);
    this.seedRuntimeKeys();
    this.members = [];
    this.ring = { nodeid: 0, seq: 0n };
    this.quorate = !this.cluster.hasVotequorum;
    this.viewList = [];
    if (this.cluster.hasVotequorum) {
      const host: VqHost = {
        nodeid: this.id,
        cmap: this.cmap,
        clock: this.cluster.clock,
        mcast: (msg) => this.cluster.mcast(this, msg),
        quorumCallback: (members, quorate, ring) => this.setQuorum(members, quorate, ring),
        sendQuorumNotification: () => this.emit((l) => l.vqQuorum?.()),
        sendNodelistNotification: () => this.emit((l) => l.vqNodelist?.()),
        sendExpectedVotesNotification: () => this.emit((l) => l.vqExpectedVotes?.()),
        qdeviceRegisterDone: (err) => this.emit((l) => l.qdeviceRegisterDone?.(err)),
        loadEvTrackingBarrier: () => this.evTrackingBarrier,
        saveEvTrackingBarrier: (v) => { this.evTrackingBarrier = v; },
      };
      const vq = new VotequorumEngine(host);
      vq.afterTimer = () => this.cluster.afterTimer();
      this.vq = vq;
      this.running = true;
      const err = vq.init();
      if (err !== undefined) {
        this.running = false;
        this.vq = undefined;
        this.cluster.dropMessagesFrom(this.id);
        throw new ConfigError(err);
      }
      // the init nodeinfo is delivered before any ring exists: only we see it
      this.cluster.pump();
    } else {
      this.running = true;
    }
    for (const l of [...this.listeners]) l.up?.();
  }

  private emit(fn: (l: NodeListener) => void): void {
    for (const l of [...this.listeners]) fn(l);
  }

  private setQuorum(members: readonly number[], quorate: boolean, ring: RingId): void {
    this.quorate = quorate;
    this.viewList = [...members];
    this.quorumRing = { ...ring };
    this.emit((l) => l.quorumChanged?.());
  }

  /** @internal quorum + votequorum sync_init, and the runtime.members.* bookkeeping of totem. */
  syncInit(members: number[], ring: RingId): { joined: number[]; left: number[] } {
    const prev = this.members;
    const joined = members.filter((m) => !prev.includes(m));
    const left = prev.filter((m) => !members.includes(m));
    this.members = [...members];
    this.ring = { ...ring };
    this.lastSeq = ring.seq;
    for (const id of joined) {
      const n = this.cluster.nodeById(id);
      const count = (this.joinCounts.get(id) ?? 0) + 1;
      this.joinCounts.set(id, count);
      this.cmap.set(`runtime.members.${id}.config_version`, T.UINT64, 0n);
      this.cmap.set(`runtime.members.${id}.ip`, T.STRING, (n?.addrs ?? []).map((a, i) => `r(${i}) ip(${a}) `).join(''));
      this.cmap.set(`runtime.members.${id}.join_count`, T.UINT32, count);
      this.cmap.set(`runtime.members.${id}.status`, T.STRING, 'joined');
    }
    for (const id of left) this.cmap.set(`runtime.members.${id}.status`, T.STRING, 'left');
    this.countExec('cmap', 0, 1, members.length);
    this.countExec('cpg', 5, 1, members.length);
    this.vq?.syncInit(members, ring);
    return { joined, left };
  }

  /** @internal */
  countExec(service: string, msgId: number, tx: number, rx: number): void {
    for (const [dir, n] of [['tx', tx], ['rx', rx]] as const) {
      if (!n) continue;
      const key = `runtime.services.${service}.${msgId}.${dir}`;
      const cur = this.cmap.getValue(key);
      this.cmap.set(key, T.UINT64, (typeof cur === 'bigint' ? cur : 0n) + BigInt(n));
    }
  }

  /** @internal */
  quorumSyncActivate(members: readonly number[], joined: readonly number[], left: readonly number[], ring: RingId): void {
    if (this.cluster.hasVotequorum) this.emit((l) => l.quorumNodelist?.(members, joined, left, ring));
  }

  private seedRuntimeKeys(): void {
    const c = this.cmap;
    const services = this.cluster.hasVotequorum ? SERVICES_WITH_VQ : SERVICES_NO_VQ;
    services.forEach((s, i) => {
      c.set(`internal_configuration.service.${i}.name`, T.STRING, `corosync_${s}`);
      c.set(`internal_configuration.service.${i}.ver`, T.UINT32, 0);
    });
    if (this.cluster.hasNodelist) c.set('nodelist.local_node_pos', T.UINT32, this.pos);
    c.set('resources.system.load_15min.current', T.DOUBLE, 0);
    c.set('resources.system.load_15min.last_updated', T.UINT64, 0n);
    c.set('resources.system.load_15min.poll_period', T.UINT64, 3000n);
    c.set('resources.system.load_15min.state', T.STRING, 'stopped');
    c.set('resources.system.memory_used.current', T.INT32, 0);
    c.set('resources.system.memory_used.last_updated', T.UINT64, 0n);
    c.set('resources.system.memory_used.poll_period', T.UINT64, 3000n);
    c.set('resources.system.memory_used.state', T.STRING, 'stopped');
    if (!c.has('resources.watchdog_timeout')) c.set('resources.watchdog_timeout', T.UINT32, 6);
    c.set('runtime.blackbox.dump_flight_data', T.STRING, 'no');
    c.set('runtime.blackbox.dump_state', T.STRING, 'no');
    c.set('runtime.force_gather', T.STRING, 'no');
    for (const [k, t, v] of this.cluster.totemRuntime()) c.set(k, t, v);
    for (const s of services) {
      c.set(`runtime.services.${s}.service_id`, T.UINT16, SERVICE_IDS[s]!);
      const n = EXEC_COUNTERS[s] ?? 0;
      for (let i = 0; i < n; i++) {
        c.set(`runtime.services.${s}.${i}.rx`, T.UINT64, 0n);
        c.set(`runtime.services.${s}.${i}.tx`, T.UINT64, 0n);
      }
    }
    if (!c.has('totem.interface.0.bindnetaddr') && this.addrs[0] !== undefined) {
      c.set('totem.interface.0.bindnetaddr', T.STRING, this.addrs[0]);
    }
  }

  private qdeviceTimer: unknown = undefined;
  private qdeviceCfg = { name: 'SimQdevice', castVote: true, vqsimCompat: false };

  /**
   * Runs a simulated quorum device on this node: it registers, polls first after
   * quorum.device.timeout ms and then every timeout/2, with the ring of the last votequorum
   * nodelist notification (what corosync-qdevice does). `vqsimCompat` instead polls with the
   * ring of the last quorum callback and stops after a refused poll, exactly like
   * corosync-vqsim's `qdevice on` (so a sync waiting for the device runs into its timeout).
   */
  qdeviceOn(opts: { name?: string; castVote?: boolean; vqsimCompat?: boolean } = {}): this {
    const vq = this.requireVq();
    this.qdeviceCfg = {
      name: opts.name ?? this.qdeviceCfg.name,
      castVote: opts.castVote ?? true,
      vqsimCompat: opts.vqsimCompat ?? false,
    };
    if (!(vq.us.flags & 16)) {
      vq.qdeviceRegister(this.qdeviceCfg.name);
      this.cluster.kick();
      if (!(vq.us.flags & 16)) return this;
      this.scheduleQdevicePoll(vq.qdeviceTimeout);
    } else if (this.qdeviceTimer === undefined) {
      this.scheduleQdevicePoll(vq.qdeviceTimeout / 2);
    }
    return this;
  }

  /** vqsim's `qdevice off`: one poll with cast_vote=0, then no more polls. */
  qdeviceOff(): this {
    const vq = this.requireVq();
    vq.qdevicePoll(this.qdeviceCfg.name, false, this.qdeviceCfg.vqsimCompat ? this.quorumRing : vq.ringId);
    this.cluster.kick();
    if (this.qdeviceTimer !== undefined) this.cluster.clock.clearTimer(this.qdeviceTimer);
    this.qdeviceTimer = undefined;
    return this;
  }

  private scheduleQdevicePoll(ms: number): void {
    this.qdeviceTimer = this.cluster.clock.setTimer(ms, () => {
      this.qdeviceTimer = undefined;
      const vq = this.vq;
      if (!this.running || vq === undefined) return;
      const ring = this.qdeviceCfg.vqsimCompat ? this.quorumRing : vq.ringId;
      const err = vq.qdevicePoll(this.qdeviceCfg.name, this.qdeviceCfg.castVote, ring);
      this.cluster.kick();
      if (err === 1 || !this.qdeviceCfg.vqsimCompat) this.scheduleQdevicePoll(vq.qdeviceTimeout / 2);
    });
  }

  private requireVq(): VotequorumEngine {
    if (!this.running || this.vq === undefined) throw new MockError('ENOTRUNNING', `node ${this.id} is not running votequorum`);
    return this.vq;
  }

  /** Every node of the cluster (for the knet statistics). */
  clusterNodes(): readonly SimNode[] {
    return this.cluster.nodes;
  }

  /** The corosync.conf the cluster runs (what cfg reload rereads by default). */
  get configText(): string {
    return this.cluster.configText;
  }

  /** The cluster's clock (cfg's shutdown timeout runs off it). */
  get clock(): Clock {
    return this.cluster.clock;
  }

  /** This node's cpg service. */
  get cpg(): CpgNode {
    return this.cluster.cpg.node(this.id);
  }

  /** Any node of the cluster by id (for cfg address lookups). */
  clusterNode(id: number): SimNode | undefined {
    return this.cluster.nodeById(id);
  }

  /** Delivers queued messages and finishes a sync that was waiting (after a library call). */
  kick(): void {
    this.cluster.kick();
  }

  /** Snapshot of this node's votequorum view. */
  status(): NodeStatus {
    const info = this.vq?.getinfo(0).info;
    return {
      id: this.id, running: this.running, quorate: this.quorate, ringId: { ...this.ring }, members: [...this.members],
      expectedVotes: info?.expectedVotes ?? 0, highestExpected: info?.highestExpected ?? 0,
      totalVotes: info?.totalVotes ?? 0, quorum: info?.quorum ?? 0, flags: info?.flags ?? 0,
    };
  }
}

interface Queued { sender: SimNode; to: SimNode[]; msg: VqMessage }

export interface CreateClusterOptions extends Partial<ClusterSpec> {
  /** corosync.conf text; takes precedence over the spec fields. */
  config?: string;
  /** Defaults to a ManualClock. */
  clock?: Clock;
  /** Which node ids boot at creation (default: all). */
  start?: number[] | 'all' | 'none';
}

/**
 * The simulated cluster: nodes, partitions, rings and the votequorum message flow. Every
 * operation runs to completion synchronously (messages are delivered in one total order per
 * partition); only timers wait for `clock.advance()`.
 */
export class Cluster {
  readonly clock: Clock;
  readonly configText: string;
  readonly configEntries: ConfigEntry[];
  readonly hasVotequorum: boolean;
  readonly hasNodelist: boolean;
  /** The cpg service of every node and the total order of its messages. */
  readonly cpg: CpgBus = new CpgBus((id) => this.nodeById(id));
  private readonly nodeList: SimNode[] = [];
  private queue: Queued[] = [];
  private pumping = false;
  private pendingSyncs: { nodes: SimNode[]; ring: RingId; lists: Map<number, { joined: number[]; left: number[] }> }[] = [];

  constructor(opts: CreateClusterOptions) {
    this.clock = opts.clock ?? new ManualClock();
    if (opts.config !== undefined) {
      this.configText = opts.config;
    } else {
      if (opts.nodes === undefined) throw new ConfigError('createCluster needs `nodes` or `config`');
      this.configText = specToConf(opts as ClusterSpec);
    }
    this.configEntries = parseCorosyncConf(this.configText);
    const get = (k: string) => this.configEntries.find((e) => e.key === k)?.value;
    this.hasVotequorum = get('quorum.provider') === 'corosync_votequorum';
    const byPos = new Map<number, ConfNode>();
    for (const e of this.configEntries) {
      const m = /^nodelist\.node\.(\d+)\.(.+)$/.exec(e.key);
      if (!m) continue;
      const pos = Number(m[1]);
      let n = byPos.get(pos);
      if (n === undefined) byPos.set(pos, (n = { pos, id: 0, addrs: [] }));
      if (m[2] === 'nodeid') n.id = Number(e.value);
      else if (m[2] === 'name') n.name = String(e.value);
      else {
        const r = /^ring(\d+)_addr$/.exec(m[2]!);
        if (r) n.addrs[Number(r[1])] = String(e.value);
      }
    }
    this.hasNodelist = byPos.size > 0;
    if (!this.hasNodelist) throw new ConfigError('the mock needs a nodelist to know its nodes');
    const seen = new Set<number>();
    for (const n of [...byPos.values()].sort((a, b) => a.pos - b.pos)) {
      if (!n.id) throw new ConfigError(`nodelist.node.${n.pos}.nodeid is required`);
      if (seen.has(n.id)) throw new ConfigError(`duplicate nodeid ${n.id} in nodelist`);
      seen.add(n.id);
      n.addrs = n.addrs.filter((a) => a !== undefined);
      this.nodeList.push(new SimNode(this, n));
    }
    const start = opts.start ?? 'all';
    const ids = start === 'all' ? this.nodeList.map((n) => n.id) : start === 'none' ? [] : start;
    for (const id of ids) this.node(id).bootstrap();
    this.reform();
  }

  get nodes(): readonly SimNode[] {
    return this.nodeList;
  }

  node(id: number): SimNode {
    const n = this.nodeById(id);
    if (n === undefined) throw new MockError('ENONODE', `no node ${id} in this cluster`);
    return n;
  }

  nodeById(id: number): SimNode | undefined {
    return this.nodeList.find((n) => n.id === id);
  }

  /** Splits the cluster: each array is one partition; nodes not named form one more partition. */
  partition(...groups: number[][]): this {
    const named = new Set<number>();
    groups.forEach((g, i) => {
      for (const id of g) {
        if (named.has(id)) throw new MockError('EINVAL', `node ${id} is in two partitions`);
        named.add(id);
        this.node(id).partition = i + 1;
      }
    });
    for (const n of this.nodeList) if (!named.has(n.id)) n.partition = groups.length + 1;
    this.reform();
    return this;
  }

  /** Moves nodes into partition `part` (corosync-vqsim's `split part:ids`). */
  move(part: number, ids: number[]): this {
    for (const id of ids) this.node(id).partition = part;
    this.reform();
    return this;
  }

  /** Joins partitions into the first one (corosync-vqsim's `join a b ...`). */
  join(into: number, ...parts: number[]): this {
    for (const n of this.nodeList) if (parts.includes(n.partition)) n.partition = into;
    this.reform();
    return this;
  }

  /** Heals every partition. */
  merge(): this {
    for (const n of this.nodeList) n.partition = 0;
    this.reform();
    return this;
  }

  /** Everything is synchronous; this resolves once queued work (and microtask-delivered events) is done. */
  async settle(): Promise<void> {
    this.pump();
    await new Promise<void>((r) => setImmediate(r));
  }

  status(): NodeStatus[] {
    return this.nodeList.map((n) => n.status());
  }

  // ------------------------------------------------------------------ internals (per node use)

  /** @internal */
  mcast(sender: SimNode, msg: VqMessage): void {
    // before its first ring a node only hears itself (and totem does not count that as sent)
    const to = sender.members.length ? sender.members.map((id) => this.node(id)) : [sender];
    this.queue.push({ sender, to, msg });
    if (sender.members.length) sender.countExec('votequorum', messageId(msg), 1, 0);
  }

  /** @internal */
  dropMessagesFrom(id: number): void {
    this.queue = this.queue.filter((q) => q.sender.id !== id);
  }

  /** @internal Delivers queued votequorum messages in order until none is left. */
  pump(): void {
    this.cpg.pump();
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let q = this.queue.shift(); q !== undefined; q = this.queue.shift()) {
        for (const n of q.to) {
          if (!n.running || n.vq === undefined) continue;
          // a node that moved to another ring since the send does not get it
          if (q.to.length > 1 && !n.members.includes(q.sender.id)) continue;
          n.countExec('votequorum', messageId(q.msg), 0, 1);
          n.vq.deliver(q.msg, q.sender.id);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** @internal */
  afterTimer(): void {
    this.pump();
    this.completeSyncs();
  }

  /** @internal Recomputes memberships; every partition whose membership changed gets a new ring. */
  reform(): void {
    this.pump();
    const groups = new Map<number, SimNode[]>();
    for (const n of this.nodeList) {
      if (!n.running) continue;
      let g = groups.get(n.partition);
      if (g === undefined) groups.set(n.partition, (g = []));
      g.push(n);
    }
    for (const g of groups.values()) {
      const ids = g.map((n) => n.id).sort((a, b) => a - b);
      const unchanged = g.every((n) => n.members.length === ids.length && n.members.every((m, i) => m === ids[i]));
      if (unchanged) continue;
      const seq = g.reduce((s, n) => (n.lastSeq > s ? n.lastSeq : s), 0n) + 4n;
      const ring: RingId = { nodeid: ids[0]!, seq };
      // a new sync replaces any unfinished one of these nodes
      this.pendingSyncs = this.pendingSyncs.filter((p) => !p.nodes.some((n) => ids.includes(n.id)));
      const lists = new Map<number, { joined: number[]; left: number[] }>();
      for (const n of g) lists.set(n.id, n.syncInit(ids, ring));
      this.pendingSyncs.push({ nodes: g, ring, lists });
    }
    this.completeSyncs();
  }

  private completeSyncs(): void {
    for (const p of [...this.pendingSyncs]) {
      if (!this.pendingSyncs.includes(p)) continue;
      const ids = p.nodes.map((n) => n.id);
      let done = true;
      for (const n of p.nodes) if (n.running && n.vq && !n.vq.syncProcess()) done = false;
      this.pump();
      if (!done) continue;
      this.pendingSyncs = this.pendingSyncs.filter((x) => x !== p);
      this.cpg.syncActivate([...ids].sort((a, b) => a - b), p.ring);
      for (const n of p.nodes) {
        if (!n.running) continue;
        const l = p.lists.get(n.id)!;
        n.quorumSyncActivate(ids, l.joined, l.left, p.ring);
        n.vq?.syncActivate();
        if (!n.vq) n.viewList = [...ids];
      }
      this.pump();
    }
  }

  /** @internal True while a sync of this node waits for its quorum device. */
  syncPending(node: SimNode): boolean {
    return this.pendingSyncs.some((p) => p.nodes.includes(node));
  }

  /** @internal Called after a qdevice poll so a waiting sync can finish. */
  kick(): void {
    this.pump();
    this.completeSyncs();
  }

  /** @internal runtime.config.totem.* as totemconfig derives them. */
  totemRuntime(): [string, number, number | string][] {
    const get = (k: string) => this.configEntries.find((e) => e.key === k)?.value;
    const num = (k: string, d: number) => {
      const v = get(k);
      return typeof v === 'number' ? v : d;
    };
    const nodes = this.nodeList.length;
    const coefficient = num('totem.token_coefficient', 650);
    let token = num('totem.token', 3000);
    if (nodes > 2) token += (nodes - 2) * coefficient;
    const retransmits = num('totem.token_retransmits_before_loss_const', 4);
    const tokenRetransmit = num('totem.token_retransmit', Math.trunc(token / (retransmits + 0.2)));
    const hold = num('totem.hold', Math.trunc(tokenRetransmit * 0.8 - 1000 / 100));
    const out: [string, number, number | string][] = [
      ['runtime.config.totem.block_unlisted_ips', T.UINT32, get('totem.block_unlisted_ips') === 'no' ? 0 : 1],
      ['runtime.config.totem.cancel_token_hold_on_retransmit', T.UINT32, get('totem.cancel_token_hold_on_retransmit') === 'yes' ? 1 : 0],
      ['runtime.config.totem.consensus', T.UINT32, num('totem.consensus', Math.trunc(1.2 * token))],
      ['runtime.config.totem.downcheck', T.UINT32, num('totem.downcheck', 1000)],
      ['runtime.config.totem.fail_recv_const', T.UINT32, num('totem.fail_recv_const', 2500)],
      ['runtime.config.totem.heartbeat_failures_allowed', T.UINT32, num('totem.heartbeat_failures_allowed', 0)],
      ['runtime.config.totem.hold', T.UINT32, hold],
    ];
    const pong = 2;
    const links = new Set<number>([0]);
    for (const e of this.configEntries) {
      const m = /^totem\.interface\.(\d+)\./.exec(e.key);
      if (m) links.add(Number(m[1]));
    }
    for (const l of [...links].sort((a, b) => a - b)) {
      out.push([`runtime.config.totem.interface.${l}.knet_ping_interval`, T.UINT32, num(`totem.interface.${l}.knet_ping_interval`, Math.trunc(token / (pong * 2)))]);
      out.push([`runtime.config.totem.interface.${l}.knet_ping_timeout`, T.UINT32, num(`totem.interface.${l}.knet_ping_timeout`, Math.trunc(token / pong))]);
    }
    out.push(
      ['runtime.config.totem.join', T.UINT32, num('totem.join', 50)],
      ['runtime.config.totem.knet_compression_level', T.INT32, num('totem.knet_compression_level', 0)],
      ['runtime.config.totem.knet_compression_model', T.STRING, String(get('totem.knet_compression_model') ?? 'none')],
      ['runtime.config.totem.knet_compression_threshold', T.UINT32, num('totem.knet_compression_threshold', 0)],
      ['runtime.config.totem.knet_mtu', T.UINT32, num('totem.knet_mtu', 0)],
      ['runtime.config.totem.knet_pmtud_interval', T.UINT32, num('totem.knet_pmtud_interval', 30)],
      ['runtime.config.totem.max_messages', T.UINT32, num('totem.max_messages', 17)],
      ['runtime.config.totem.max_network_delay', T.UINT32, num('totem.max_network_delay', 50)],
      ['runtime.config.totem.merge', T.UINT32, num('totem.merge', 200)],
      ['runtime.config.totem.miss_count_const', T.UINT32, num('totem.miss_count_const', 5)],
      ['runtime.config.totem.send_join', T.UINT32, num('totem.send_join', 0)],
      ['runtime.config.totem.seqno_unchanged_const', T.UINT32, num('totem.seqno_unchanged_const', 30)],
      ['runtime.config.totem.token', T.UINT32, token],
      ['runtime.config.totem.token_retransmit', T.UINT32, tokenRetransmit],
      ['runtime.config.totem.token_retransmits_before_loss_const', T.UINT32, retransmits],
      ['runtime.config.totem.token_warning', T.UINT32, num('totem.token_warning', 75)],
      ['runtime.config.totem.window_size', T.UINT32, num('totem.window_size', 50)],
    );
    return out;
  }
}

function messageId(msg: VqMessage): number {
  switch (msg.kind) {
    case 'nodeinfo': return 0;
    case 'reconfigure': return 1;
    case 'qdeviceReg': return 2;
    case 'qdeviceReconfigure': return 3;
  }
}

/** Builds a cluster from a spec (`{nodes: 3}`) or a corosync.conf (`{config}`) and boots it. */
export function createCluster(opts: CreateClusterOptions): Cluster {
  return new Cluster(opts);
}
