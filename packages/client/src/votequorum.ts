import {
  CS_ERR_LIBRARY,
  CS_TRACK_CHANGES,
  CS_TRACK_CHANGES_ONLY,
  CS_TRACK_CURRENT,
  CsError,
  VOTEQUORUM_QDEVICE_MAX_NAME_LEN,
} from '@corosync-ts/types';
import { byteLength, checkI32, checkU32, checkU64, invalidParam, toCsError } from './errors.js';
import { checkHandleOptions, checkKeys } from './options.js';
import { Session, type CallOptions, type HandleOptions, type IpcClientLike } from './session.js';
import type { EventStream } from './stream.js';
import { decodeEvent, req, type Answer, type RingId } from './wire.js';

/** struct votequorum_info. */
export interface VotequorumInfo {
  nodeId: number;
  nodeState: number;
  nodeVotes: number;
  nodeExpectedVotes: number;
  highestExpected: number;
  totalVotes: number;
  quorum: number;
  /** VOTEQUORUM_INFO_* bits. */
  flags: number;
  qdeviceVotes: number;
  qdeviceName: string;
}

export interface VotequorumNodeEntry {
  nodeid: number;
  /** VOTEQUORUM_NODESTATE_MEMBER / DEAD / LEAVING (0 for the qdevice entry). */
  state: number;
}

/** votequorum_quorum_notification_fn_t. */
export interface VotequorumQuorumNotification {
  handle: VotequorumHandle;
  context: bigint;
  quorate: boolean;
  nodeList: VotequorumNodeEntry[];
}
/** votequorum_expectedvotes_notification_fn_t. */
export interface VotequorumExpectedVotesNotification {
  handle: VotequorumHandle;
  context: bigint;
  expectedVotes: number;
}
/** votequorum_nodelist_notification_fn_t. */
export interface VotequorumNodelistNotification {
  handle: VotequorumHandle;
  context: bigint;
  ringId: RingId;
  nodeList: number[];
}

/** votequorum_callbacks_t; any may be left out. */
export interface VotequorumCallbacks {
  quorumNotify?: ((n: VotequorumQuorumNotification) => void) | null;
  expectedVotesNotify?: ((n: VotequorumExpectedVotesNotification) => void) | null;
  nodelistNotify?: ((n: VotequorumNodelistNotification) => void) | null;
}

export type VotequorumEvent =
  | ({ type: 'quorum' } & VotequorumQuorumNotification)
  | ({ type: 'expectedVotes' } & VotequorumExpectedVotesNotification)
  | ({ type: 'nodelist' } & VotequorumNodelistNotification);

/** What a reconnect hands back; tracking was restarted, so the snapshot callbacks follow too. */
export interface VotequorumSnapshot {
  info: VotequorumInfo;
  /** Re-registered tracking (flags 0 if the handle was not tracking). */
  trackFlags: number;
  trackContext: bigint;
}

function checkQdeviceName(operation: string, what: string, name: unknown): string {
  if (typeof name !== 'string') throw invalidParam(operation, `${what} must be a string`);
  const n = byteLength(name);
  if (n === 0 || n >= VOTEQUORUM_QDEVICE_MAX_NAME_LEN || name.includes('\0')) {
    throw invalidParam(operation, `${what} must be 1..${VOTEQUORUM_QDEVICE_MAX_NAME_LEN - 1} bytes without NUL, got ${n}`);
  }
  return name;
}

/** A votequorum connection (votequorum_handle_t). */
export class VotequorumHandle extends Session<VotequorumSnapshot> {
  protected readonly service = 'votequorum' as const;
  readonly #cb: VotequorumCallbacks;
  #trackFlags = 0;
  #trackContext = 0n;
  readonly #streams = new Set<EventStream<VotequorumEvent>>();

  private constructor(cb: VotequorumCallbacks | null | undefined, opts: HandleOptions | undefined) {
    super(opts);
    this.#cb = { ...cb };
  }

  /** votequorum_initialize(): connects; sends nothing. */
  static async initialize(callbacks?: VotequorumCallbacks | null, opts?: HandleOptions): Promise<VotequorumHandle> {
    checkKeys('votequorum.initialize', 'callbacks', callbacks, ['quorumNotify', 'expectedVotesNotify', 'nodelistNotify']);
    checkHandleOptions('votequorum.initialize', opts);
    const h = new VotequorumHandle(callbacks, opts);
    await h.open(opts?.signal);
    return h;
  }

  /** votequorum_getinfo(): nodeid 0 = this node; CS_ERR_NOT_EXIST for a node never seen. */
  async getinfo(nodeid = 0, opts?: CallOptions): Promise<VotequorumInfo> {
    const op = `votequorum.getinfo(${String(nodeid)})`;
    this.assertOpen(op);
    checkU32(op, 'nodeid', nodeid);
    return this.#info((await this.call(op, req.vqGetinfo(nodeid | 0), opts)).fields);
  }

  #info(f: Answer<'votequorum.getinfo'>['fields']): VotequorumInfo {
    return {
      nodeId: f.nodeid,
      nodeState: f.state,
      nodeVotes: f.votes,
      nodeExpectedVotes: f.expectedVotes,
      highestExpected: f.highestExpected,
      totalVotes: f.totalVotes,
      quorum: f.quorum,
      flags: f.flags,
      qdeviceVotes: f.qdeviceVotes,
      qdeviceName: f.qdeviceName,
    };
  }

  /** votequorum_setexpected(). */
  async setexpected(expectedVotes: number, opts?: CallOptions): Promise<void> {
    const op = 'votequorum.setexpected';
    this.assertOpen(op);
    checkU32(op, 'expectedVotes', expectedVotes);
    await this.call(op, req.vqSetexpected(expectedVotes), opts);
  }

  /** votequorum_setvotes(nodeid, votes): nodeid 0 = this node. */
  async setvotes(nodeid: number, votes: number, opts?: CallOptions): Promise<void> {
    const op = 'votequorum.setvotes';
    this.assertOpen(op);
    checkU32(op, 'nodeid', nodeid);
    checkU32(op, 'votes', votes);
    await this.call(op, req.vqSetvotes(nodeid | 0, votes), opts);
  }

  /**
   * votequorum_trackstart(context, flags): `context` (a u64) comes back in every notification.
   * CS_ERR_EXIST if already tracking (the snapshot is still sent, with the new context).
   */
  async trackstart(context: bigint | number, flags: number, opts?: CallOptions): Promise<void> {
    const op = 'votequorum.trackstart';
    this.assertOpen(op);
    const ctx = checkU64(op, 'context', context);
    checkU32(op, 'flags', flags);
    await this.call(op, req.vqTrackstart(ctx, flags), opts);
    if (flags & (CS_TRACK_CHANGES | CS_TRACK_CHANGES_ONLY)) {
      this.#trackFlags = flags;
      this.#trackContext = ctx;
    }
  }

  /** votequorum_trackstop(): CS_ERR_NOT_EXIST when not tracking. */
  async trackstop(opts?: CallOptions): Promise<void> {
    await this.call('votequorum.trackstop', req.vqTrackstop(), opts);
    this.#trackFlags = 0;
  }

  /** votequorum_qdevice_register(name). */
  async qdeviceRegister(name: string, opts?: CallOptions): Promise<void> {
    const op = 'votequorum.qdeviceRegister';
    checkQdeviceName(op, 'name', name);
    await this.call(op, req.vqQdeviceRegister(name), opts);
  }

  /** votequorum_qdevice_unregister(name). */
  async qdeviceUnregister(name: string, opts?: CallOptions): Promise<void> {
    const op = 'votequorum.qdeviceUnregister';
    checkQdeviceName(op, 'name', name);
    await this.call(op, req.vqQdeviceUnregister(name), opts);
  }

  /** votequorum_qdevice_update(oldname, newname). */
  async qdeviceUpdate(oldname: string, newname: string, opts?: CallOptions): Promise<void> {
    const op = 'votequorum.qdeviceUpdate';
    checkQdeviceName(op, 'oldname', oldname);
    checkQdeviceName(op, 'newname', newname);
    await this.call(op, req.vqQdeviceUpdate(oldname, newname), opts);
  }

  /** votequorum_qdevice_poll(name, cast_vote, ring_id): ring_id must be the current one (else 22). */
  async qdevicePoll(name: string, castVote: boolean | number, ringId: RingId, opts?: CallOptions): Promise<void> {
    const op = 'votequorum.qdevicePoll';
    checkQdeviceName(op, 'name', name);
    this.assertOpen(op);
    const cast = typeof castVote === 'boolean' ? Number(castVote) : checkI32(op, 'castVote', castVote);
    if (typeof ringId !== 'object' || ringId === null) throw invalidParam(op, 'ringId must be {nodeid, seq}');
    const ring = { nodeid: checkU32(op, 'ringId.nodeid', ringId.nodeid), seq: checkU64(op, 'ringId.seq', ringId.seq) };
    await this.call(op, req.vqQdevicePoll(name, cast, ring), opts);
  }

  /** votequorum_qdevice_master_wins(name, allow). */
  async qdeviceMasterWins(name: string, allow: boolean | number, opts?: CallOptions): Promise<void> {
    const op = 'votequorum.qdeviceMasterWins';
    checkQdeviceName(op, 'name', name);
    this.assertOpen(op);
    const a = typeof allow === 'boolean' ? Number(allow) : checkU32(op, 'allow', allow);
    await this.call(op, req.vqQdeviceMasterWins(name, a), opts);
  }

  /** The notifications as an async iterator (alongside the callbacks); return() stops listening. */
  notifications(): EventStream<VotequorumEvent> {
    return this.openStream('votequorum.notifications', this.#streams);
  }

  protected dispatchFlags(flags: number): number {
    if (!Session.isDispatchFlag(flags)) throw invalidParam('votequorum.dispatch', `invalid dispatch flags ${String(flags)}`);
    return flags;
  }

  protected deliver(frame: Uint8Array): void {
    let d;
    try {
      d = decodeEvent('votequorum', frame);
    } catch (e) {
      throw toCsError(e, 'votequorum.dispatch');
    }
    switch (d.name) {
      case 'votequorum.quorumNotification': {
        const f = d.fields;
        const n: VotequorumQuorumNotification = { handle: this, context: f.context, quorate: f.quorate !== 0, nodeList: f.nodeList };
        this.#emit({ type: 'quorum', ...n });
        this.#cb.quorumNotify?.(n);
        return;
      }
      case 'votequorum.expectedvotesNotification': {
        const f = d.fields;
        const n: VotequorumExpectedVotesNotification = { handle: this, context: f.context, expectedVotes: f.expectedVotes };
        this.#emit({ type: 'expectedVotes', ...n });
        this.#cb.expectedVotesNotify?.(n);
        return;
      }
      case 'votequorum.nodelistNotification': {
        const f = d.fields;
        const n: VotequorumNodelistNotification = { handle: this, context: f.context, ringId: f.ringId, nodeList: f.nodeList };
        this.#emit({ type: 'nodelist', ...n });
        this.#cb.nodelistNotify?.(n);
        return;
      }
      default: {
        // Unreachable by type (decode knows only these three events) but kept for a codec that grows one.
        const other: { name: string; id: number } = d;
        throw new CsError(CS_ERR_LIBRARY, `unexpected event ${other.name} (id ${other.id})`, { operation: 'votequorum.dispatch' });
      }
    }
  }

  #emit(e: VotequorumEvent): void {
    for (const s of this.#streams) s.push(e);
  }

  protected override onFinalize(): void {
    this.#streams.clear();
  }

  protected async restore(ipc: IpcClientLike): Promise<VotequorumSnapshot> {
    const info = this.#info((await this.exchange('votequorum.reconnect', ipc, req.vqGetinfo(0))).fields);
    if (this.#trackFlags) {
      await this.exchange('votequorum.reconnect', ipc, req.vqTrackstart(this.#trackContext, this.#trackFlags | CS_TRACK_CURRENT));
    }
    return { info, trackFlags: this.#trackFlags, trackContext: this.#trackContext };
  }
}
