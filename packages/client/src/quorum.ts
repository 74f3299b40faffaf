import {
  CS_ERR_INVALID_PARAM,
  CS_ERR_LIBRARY,
  CS_TRACK_CHANGES,
  CS_TRACK_CHANGES_ONLY,
  CS_TRACK_CURRENT,
  CsError,
  QUORUM_MODEL_V0,
  QUORUM_MODEL_V1,
} from '@corosync-ts/types';
import { checkU32, invalidParam, toCsError } from './errors.js';
import { checkHandleOptions, checkKeys } from './options.js';
import { Session, type CallOptions, type HandleOptions, type IpcClientLike } from './session.js';
import type { EventStream } from './stream.js';
import { decodeEvent, req, type RingId } from './wire.js';

export type { RingId };

/** quorum_notification_fn_t (model V0). */
export interface QuorumNotification {
  handle: QuorumHandle;
  quorate: boolean;
  ringSeq: bigint;
  viewList: number[];
}
/** quorum_v1_quorum_notification_fn_t. */
export interface QuorumV1QuorumNotification {
  handle: QuorumHandle;
  quorate: boolean;
  ringId: RingId;
  viewList: number[];
}
/** quorum_v1_nodelist_notification_fn_t. */
export interface QuorumV1NodelistNotification {
  handle: QuorumHandle;
  ringId: RingId;
  memberList: number[];
  joinedList: number[];
  leftList: number[];
}

/** quorum_callbacks_t / quorum_model_v0_data_t. */
export interface QuorumCallbacks {
  quorumNotify?: ((n: QuorumNotification) => void) | null;
}
/** quorum_model_v1_data_t. */
export interface QuorumV1Callbacks {
  quorumNotify?: ((n: QuorumV1QuorumNotification) => void) | null;
  nodelistNotify?: ((n: QuorumV1NodelistNotification) => void) | null;
}

/** One item of notifications(): which callback it would have been, and its arguments. */
export type QuorumEvent =
  | ({ type: 'quorum'; model: 0 } & QuorumNotification)
  | ({ type: 'quorum'; model: 1 } & QuorumV1QuorumNotification)
  | ({ type: 'nodelist'; model: 1 } & QuorumV1NodelistNotification);

/** What a reconnect hands back; tracking was restarted, so the snapshot callbacks follow too. */
export interface QuorumSnapshot {
  quorumType: number;
  quorate: boolean;
  /** The trackstart flags that were re-registered (0 if the handle was not tracking). */
  trackFlags: number;
}

/** A quorum connection (quorum_handle_t). */
export class QuorumHandle extends Session<QuorumSnapshot> {
  protected readonly service = 'quorum' as const;
  readonly model: number;
  #quorumType = 0;
  // One slot per callback: the model decides which notification shape it receives.
  readonly #cb: {
    quorumNotify?: ((n: QuorumNotification & QuorumV1QuorumNotification) => void) | null;
    nodelistNotify?: ((n: QuorumV1NodelistNotification) => void) | null;
  };
  #trackFlags = 0;
  readonly #streams = new Set<EventStream<QuorumEvent>>();

  private constructor(model: number, cb: QuorumCallbacks | QuorumV1Callbacks | null | undefined, opts: HandleOptions | undefined) {
    super(opts);
    this.model = model;
    this.#cb = { ...cb };
  }

  /** quorum_initialize(): model V0 (sends GETTYPE). */
  static initialize(callbacks?: QuorumCallbacks | null, opts?: HandleOptions): Promise<QuorumHandle> {
    return QuorumHandle.modelInitialize(QUORUM_MODEL_V0, callbacks, undefined, opts);
  }

  /**
   * quorum_model_initialize(): QUORUM_MODEL_V0 or QUORUM_MODEL_V1 (any other → 7 before
   * connecting, like libquorum). `context` is what contextGet() returns.
   */
  static modelInitialize(model: 0, modelData?: QuorumCallbacks | null, context?: unknown, opts?: HandleOptions): Promise<QuorumHandle>;
  static modelInitialize(model: 1, modelData?: QuorumV1Callbacks | null, context?: unknown, opts?: HandleOptions): Promise<QuorumHandle>;
  static modelInitialize(
    model: number,
    modelData?: QuorumCallbacks | QuorumV1Callbacks | null,
    context?: unknown,
    opts?: HandleOptions,
  ): Promise<QuorumHandle>;
  static async modelInitialize(
    model: number,
    modelData?: QuorumCallbacks | QuorumV1Callbacks | null,
    context?: unknown,
    opts?: HandleOptions,
  ): Promise<QuorumHandle> {
    if (model !== QUORUM_MODEL_V0 && model !== QUORUM_MODEL_V1) {
      throw new CsError(CS_ERR_INVALID_PARAM, `unknown quorum model ${String(model)}`, { operation: 'quorum.modelInitialize' });
    }
    checkKeys('quorum.modelInitialize', 'callbacks', modelData, model === QUORUM_MODEL_V0 ? ['quorumNotify'] : ['quorumNotify', 'nodelistNotify']);
    checkHandleOptions('quorum.modelInitialize', opts);
    const h = new QuorumHandle(model, modelData, opts);
    await h.openAnd('quorum.modelInitialize', async (each) => {
      h.#quorumType = await h.#gettype(undefined, each);
    });
    h.contextSet(context);
    return h;
  }

  async #gettype(ipc: IpcClientLike | undefined, each?: CallOptions): Promise<number> {
    const op = this.model === QUORUM_MODEL_V0 ? 'quorum.initialize' : 'quorum.modelInitialize';
    const frame = this.model === QUORUM_MODEL_V0 ? req.quorumGettype() : req.quorumModelGettype(this.model);
    const d = ipc ? await this.exchange(op, ipc, frame) : await this.call(op, frame, each);
    return d.fields.quorumType;
  }

  /** The *quorum_type output of initialize: QUORUM_FREE (0) or QUORUM_SET (1). */
  get quorumType(): number {
    return this.#quorumType;
  }

  /** quorum_getquorate(). */
  async getquorate(opts?: CallOptions): Promise<boolean> {
    const d = await this.call('quorum.getquorate', req.quorumGetquorate(), opts);
    return d.fields.quorate !== 0;
  }

  /**
   * quorum_trackstart(): CS_TRACK_CURRENT sends a snapshot, CS_TRACK_CHANGES a snapshot and then
   * changes, CS_TRACK_CHANGES_ONLY just changes. CS_ERR_EXIST if already tracking (the snapshot
   * is still sent).
   */
  async trackstart(flags: number, opts?: CallOptions): Promise<void> {
    const op = 'quorum.trackstart';
    this.assertOpen(op);
    checkU32(op, 'flags', flags);
    await this.call(op, req.quorumTrackstart(flags), opts);
    if (flags & (CS_TRACK_CHANGES | CS_TRACK_CHANGES_ONLY)) this.#trackFlags = flags;
  }

  /** quorum_trackstop() (the daemon answers CS_OK even when not tracking). */
  async trackstop(opts?: CallOptions): Promise<void> {
    await this.call('quorum.trackstop', req.quorumTrackstop(), opts);
    this.#trackFlags = 0;
  }

  /**
   * The notifications as an async iterator (alongside the callbacks). Items arrive as they are
   * dispatched; `return()` just stops listening (it does not trackstop).
   */
  notifications(): EventStream<QuorumEvent> {
    return this.openStream('quorum.notifications', this.#streams);
  }

  protected dispatchFlags(flags: number): number {
    if (!Session.isDispatchFlag(flags)) throw invalidParam('quorum.dispatch', `invalid dispatch flags ${String(flags)}`);
    return flags;
  }

  protected deliver(frame: Uint8Array): void {
    let d;
    try {
      d = decodeEvent('quorum', frame);
    } catch (e) {
      throw toCsError(e, 'quorum.dispatch');
    }
    // As in libquorum, an event of the other model is as unknown as a made-up id.
    if (this.model === QUORUM_MODEL_V0 && d.name === 'quorum.notification') {
      const f = d.fields;
      const n: QuorumNotification = { handle: this, quorate: f.quorate !== 0, ringSeq: f.ringSeq, viewList: f.viewList };
      this.#emit({ type: 'quorum', model: 0, ...n });
      this.#cb.quorumNotify?.(n as QuorumNotification & QuorumV1QuorumNotification);
    } else if (this.model === QUORUM_MODEL_V1 && d.name === 'quorum.v1QuorumNotification') {
      const f = d.fields;
      const n: QuorumV1QuorumNotification = { handle: this, quorate: f.quorate !== 0, ringId: f.ringId, viewList: f.viewList };
      this.#emit({ type: 'quorum', model: 1, ...n });
      this.#cb.quorumNotify?.(n as QuorumNotification & QuorumV1QuorumNotification);
    } else if (this.model === QUORUM_MODEL_V1 && d.name === 'quorum.v1NodelistNotification') {
      const f = d.fields;
      const n: QuorumV1NodelistNotification = { handle: this, ringId: f.ringId, memberList: f.memberList, joinedList: f.joinedList, leftList: f.leftList };
      this.#emit({ type: 'nodelist', model: 1, ...n });
      this.#cb.nodelistNotify?.(n);
    } else {
      throw new CsError(CS_ERR_LIBRARY, `unexpected event ${d.name} (id ${d.id}) for model V${this.model}`, { operation: 'quorum.dispatch' });
    }
  }

  #emit(e: QuorumEvent): void {
    for (const s of this.#streams) s.push(e);
  }

  protected override onFinalize(): void {
    this.#streams.clear();
  }

  protected async restore(ipc: IpcClientLike): Promise<QuorumSnapshot> {
    this.#quorumType = await this.#gettype(ipc);
    const quorate = (await this.exchange('quorum.reconnect', ipc, req.quorumGetquorate())).fields.quorate !== 0;
    if (this.#trackFlags) {
      await this.exchange('quorum.reconnect', ipc, req.quorumTrackstart(this.#trackFlags | CS_TRACK_CURRENT));
    }
    return { quorumType: this.#quorumType, quorate, trackFlags: this.#trackFlags };
  }
}
