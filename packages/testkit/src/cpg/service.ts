import { encoders } from '@corosync-ts/codec-wasm';
import { CS_ERR_TRY_AGAIN } from '@corosync-ts/types';
import type { RingId } from '../votequorum.js';
import type { RequestView } from '../wire.js';
import { CPG_MAX_NAME_LENGTH, type CpgAddress, type CpgClient, type CpgConn, type CpgIterationEntry, type CpgNode } from './groups.js';
import { ZeroCopyMaps } from './zerocopy.js';

/** Where the frames of one cpg client go. */
export interface CpgSink {
  respond(frame: Uint8Array): void;
  sendEvent(frame: Uint8Array): void;
}

/** mar_cpg_name_t: u32 length, the bytes at +8. A length over 128 keeps one byte more, enough to refuse it. */
function cpgName(req: RequestView, off: number): Uint8Array {
  return req.bytesAt(off + 8, Math.min(req.u32(off), CPG_MAX_NAME_LENGTH + 1));
}

const bare = (id: number, error: number) => encoders.cpg.res.error({}, { id, error });

/** Requests of `cpg_lib_engine[]` that need room in the totem queue (flow_control = REQUIRED). */
const FLOW_CONTROLLED = new Set([0, 1, 2, 8, 9, 10, 11, 12]);
const MCAST = 2;
const PARTIAL_MCAST = 12;

/** One client connection of the cpg service (exec/cpg.c lib handlers), frames in and out. */
export class CpgServiceConn implements CpgClient {
  private readonly conn: CpgConn;
  /** The body of the last ITERATIONNEXT answer: the daemon sends it again with an error. */
  private lastEntry: CpgIterationEntry = { group: new Uint8Array(0), nodeid: 0, pid: 0 };
  private readonly zc = new ZeroCopyMaps();

  constructor(node: CpgNode, private readonly sink: CpgSink, private readonly uid: number) {
    this.conn = node.connect(this);
  }

  handle(req: RequestView): void {
    const r = this.sink;
    const node = this.conn.node;
    if (node.flowControl && FLOW_CONTROLLED.has(req.id)) {
      // the daemon drops an MCAST it can not queue (with a log line) and answers nothing
      if (req.id !== MCAST) r.respond(bare(0, CS_ERR_TRY_AGAIN));
      return;
    }
    try {
      this.dispatch(req);
    } finally {
      node.bus.pump();
    }
  }

  private dispatch(req: RequestView): void {
    const r = this.sink;
    const node = this.conn.node;
    switch (req.id) {
      case 0: // JOIN
        return r.respond(encoders.cpg.res.join({}, { error: this.conn.join(cpgName(req, 16), req.u32(152), req.u32(160)) }));
      case 1: // LEAVE
        return r.respond(encoders.cpg.res.leave({}, { error: this.conn.leave(cpgName(req, 16), req.u32(152)) }));
      case MCAST:
        // the payload is msglen bytes at 40, whatever the frame size says; never answered
        this.conn.mcast(req.bytesAt(40, Math.min(req.u32(32), Math.max(0, req.length - 40))));
        return;
      case 3: { // MEMBERSHIP
        const name = cpgName(req, 16);
        return r.respond(encoders.cpg.res.membershipGet({ memberList: name.length > CPG_MAX_NAME_LENGTH ? [] : node.membership(name) }));
      }
      case 4: // LOCAL_GET
        return r.respond(encoders.cpg.res.localGet({ localNodeid: node.id }));
      case 5: { // ITERATIONINITIALIZE
        const type = req.u32(152);
        const handle = node.iterationInitialize(type, type === 2 ? cpgName(req, 16) : new Uint8Array(0));
        return r.respond(encoders.cpg.res.iterationInitialize({ iterationHandle: handle }));
      }
      case 6: { // ITERATIONNEXT
        const { error, entry } = node.iterationNext(req.u64(16));
        if (entry !== undefined) this.lastEntry = entry;
        const e = this.lastEntry;
        return r.respond(encoders.cpg.res.iterationNext({ groupName: e.group, nodeid: e.nodeid, pid: e.pid }, { error }));
      }
      case 7: // ITERATIONFINALIZE
        return r.respond(encoders.cpg.res.iterationFinalize({}, { error: node.iterationFinalize(req.u64(16)) }));
      case 8: // FINALIZE
        this.conn.finalize();
        return r.respond(encoders.cpg.res.finalize({}));
      case 9: // ZC_ALLOC: answered with a bare id 0 header whatever happens
        this.zc.alloc(req.u64(16), req.cstr(24, 128), this.uid);
        return r.respond(bare(0, 1));
      case 10: // ZC_FREE
        this.zc.free(req.u64(24));
        return r.respond(bare(0, 1));
      case 11: { // ZC_EXECUTE
        const message = this.zc.message(req.u64(16));
        return r.respond(encoders.cpg.res.zcbMcastJoined({}, { error: message === undefined ? 12 : this.conn.zcMcast(message) }));
      }
      case PARTIAL_MCAST: {
        const fraglen = Math.min(req.u32(40), Math.max(0, req.length - 56));
        const error = this.conn.partial(req.u32(32), req.u32(48), req.bytesAt(56, fraglen));
        return r.respond(encoders.cpg.res.partialMcast({}, { error }));
      }
    }
  }

  close(): void {
    this.conn.close();
    this.zc.close();
    this.conn.node.bus.pump();
  }

  // ------------------------------------------------------------------ CpgClient (events)

  confchg(group: Uint8Array, members: CpgAddress[], left: CpgAddress[], joined: CpgAddress[]): void {
    this.sink.sendEvent(encoders.cpg.evt.confchgCallback({ groupName: group, memberList: members, leftList: left, joinedList: joined }));
  }

  deliver(group: Uint8Array, nodeid: number, pid: number, message: Uint8Array): void {
    this.sink.sendEvent(encoders.cpg.evt.deliverCallback({ groupName: group, nodeid, pid, message }));
  }

  partialDeliver(group: Uint8Array, nodeid: number, pid: number, msglen: number, type: number, fragment: Uint8Array): void {
    this.sink.sendEvent(encoders.cpg.evt.partialDeliverCallback({ groupName: group, msglen, nodeid, pid, type, fragment }));
  }

  totemConfchg(ring: RingId, members: readonly number[]): void {
    this.sink.sendEvent(encoders.cpg.evt.totemConfchgCallback({ ringId: { nodeid: ring.nodeid, seq: ring.seq }, memberList: [...members] }));
  }
}
