import type { RingId } from '@corosync-ts/codec-wasm';
import { CmapValueType as T } from '@corosync-ts/types';
import { applyReload, CFG_EXEC_RELOAD, type ReloadMessage } from './cfg/reload.js';
import { CmapStore } from './cmap-store.js';
import { ManualClock, type Clock } from './clock.js';
import { parseCorosyncConf, type ConfigEntry } from './config.js';
import { CpgBus, type CpgNode } from './cpg/groups.js';
import { ConfigError, MockError } from './errors.js';
import { specToConf, type ClusterSpec } from './spec.js';
import { SimQdevice, type QdeviceOptions } from './qdevice.js';
import { seedRuntimeKeys } from './runtime-keys.js';
import { TotemBus } from './totem-bus.js';
import { VotequorumEngine, VQ_EXEC_ID, type VqHost, type VqMessage } from './votequorum.js';

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
  /** A membership change reached the node: a sync starts (corosync's confchg_fn). */
  syncStarted?(): void;
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
  private readonly qdevice: SimQdevice;

  constructor(private readonly cluster: Cluster, conf: ConfNode) {
    this.id = conf.id;
    this.pos = conf.pos;
    this.name = conf.name;
    this.addrs = conf.addrs;
    this.qdevice = new SimQdevice(this, cluster);
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
    this.qdevice.stop();
    this.running = false;
    this.vq = undefined;
    this.members = [];
    this.cluster.bus.dropMessagesFrom(this.id);
    this.cluster.cpg.nodeDown(this.id);
    for (const l of [...this.listeners]) l.down?.();
  }

  /** @internal */
  bootstrap(): void {
    this.cmap.retire();
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
        mcast: (msg) => this.cluster.bus.mcast(this, 'votequorum', VQ_EXEC_ID[msg.kind], msg),
        quorumCallback: (members, quorate, ring) => this.setQuorum(members, quorate, ring),
        sendQuorumNotification: () => this.emit((l) => l.vqQuorum?.()),
        sendNodelistNotification: () => this.emit((l) => l.vqNodelist?.()),
        sendExpectedVotesNotification: () => this.emit((l) => l.vqExpectedVotes?.()),
        qdeviceRegisterDone: (err) => this.emit((l) => l.qdeviceRegisterDone?.(err)),
        loadEvTrackingBarrier: () => this.evTrackingBarrier,
        saveEvTrackingBarrier: (v) => { this.evTrackingBarrier = v; },
        afterTimer: () => this.cluster.kick(),
      };
      const vq = new VotequorumEngine(host);
      this.vq = vq;
      this.running = true;
      const err = vq.init();
      if (err !== undefined) {
        this.running = false;
        this.vq = undefined;
        this.cluster.bus.dropMessagesFrom(this.id);
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
    this.emit((l) => l.syncStarted?.());
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
    seedRuntimeKeys(this.cmap, {
      hasVotequorum: this.cluster.hasVotequorum,
      localNodePos: this.cluster.hasNodelist ? this.pos : undefined,
      firstAddr: this.addrs[0],
      configEntries: this.cluster.configEntries,
      nodeCount: this.cluster.nodes.length,
    });
  }

  /**
   * Runs a simulated quorum device on this node (see SimQdevice): it registers, then polls
   * like corosync-qdevice, or like corosync-vqsim's `qdevice on` with `vqsimCompat`.
   */
  qdeviceOn(opts: QdeviceOptions = {}): this {
    this.qdevice.on(opts);
    return this;
  }

  /** vqsim's `qdevice off`: one poll with cast_vote=0, then no more polls. */
  qdeviceOff(): this {
    this.qdevice.off();
    return this;
  }

  /** @internal */
  requireVq(): VotequorumEngine {
    if (!this.running || this.vq === undefined) throw new MockError('ENOTRUNNING', `node ${this.id} is not running votequorum`);
    return this.vq;
  }

  /** Every node of the cluster (for the knet statistics). */
  clusterNodes(): readonly SimNode[] {
    return this.cluster.nodes;
  }

  /**
   * cfg RELOAD_CONFIG: multicasts the parsed corosync.conf (undefined: it did not parse); every
   * node of the ring applies it when totem delivers it, and `reply` answers on this node then.
   */
  reloadConfig(entries: readonly ConfigEntry[] | undefined, reply: (error: number) => void): void {
    const msg: ReloadMessage = { entries, reply };
    this.cluster.bus.mcast(this, 'cfg', CFG_EXEC_RELOAD, msg);
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

  /** @internal After a library call: the cluster's next totem step delivers what it sent and finishes a sync it unblocked. */
  scheduleTotemStep(): void {
    this.cluster.scheduleTotemStep();
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
 * partition); timers, and the totem delivery of what a library call multicast after its answer,
 * wait for the clock (`clock.advance()`) or `settle()`.
 */
export class Cluster {
  readonly clock: Clock;
  readonly configText: string;
  readonly configEntries: ConfigEntry[];
  readonly hasVotequorum: boolean;
  readonly hasNodelist: boolean;
  private readonly nodeList: SimNode[] = [];
  /** @internal */
  readonly bus = new TotemBus((id) => this.node(id), () => this.scheduleTotemStep());
  private totemStep: unknown = undefined;
  /** The cpg service of every node; its messages ride the totem bus. */
  readonly cpg: CpgBus = new CpgBus((id) => this.nodeById(id), this.bus);
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
    this.bus.register<VqMessage>('votequorum', {
      accepts: (n) => n.vq !== undefined,
      deliver: (n, msg, from) => n.vq!.deliver(msg, from),
    });
    this.bus.register<ReloadMessage>('cfg', {
      accepts: () => true,
      deliver: (n, msg, from) => {
        const error = applyReload(n.cmap, n.id, msg.entries);
        if (n.id === from) msg.reply(error);
      },
    });
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

  /**
   * The totem step now: delivers every message in flight (what library calls and cmap changes
   * multicast, answered already) and finishes a sync they unblocked, then lets microtask-delivered
   * events out. Every other operation runs to completion synchronously.
   */
  async settle(): Promise<void> {
    this.kick();
    await new Promise<void>((r) => setImmediate(r));
  }

  status(): NodeStatus[] {
    return this.nodeList.map((n) => n.status());
  }

  // ------------------------------------------------------------------ internals (per node use)

  /** @internal Delivers queued totem messages in order until none is left. */
  pump(): void {
    this.bus.pump();
    if (this.totemStep !== undefined && !this.bus.inFlight && !this.pendingSyncs.length) {
      this.clock.clearTimer(this.totemStep);
      this.totemStep = undefined;
    }
  }

  /**
   * corosync answers a library call before totem delivers what it multicast: the delivery is the
   * next step of the cluster clock (`advance(0)` of a ManualClock, the next timer turn of the
   * SystemClock), or settle().
   */
  /** @internal Also after a call that may unblock a waiting sync (corosync retries sync_process from its main loop). */
  scheduleTotemStep(): void {
    if (this.totemStep !== undefined || (!this.bus.inFlight && !this.pendingSyncs.length)) return;
    this.totemStep = this.clock.setTimer(0, () => {
      this.totemStep = undefined;
      this.kick();
    });
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

  /** @internal Delivers what a call or a timer multicast and finishes a sync it unblocked. */
  kick(): void {
    this.pump();
    this.completeSyncs();
  }
}

/** Builds a cluster from a spec (`{nodes: 3}`) or a corosync.conf (`{config}`) and boots it. */
export function createCluster(opts: CreateClusterOptions): Cluster {
  return new Cluster(opts);
}
