import { codec, encoders, type RingId } from '@corosync-ts/codec-wasm';
import { CS_OK, CS_ERR_NOT_EXIST } from '@corosync-ts/types';
import { CpgIterationType, type CpgAddress, type CpgClient, type CpgConn as CpgMember, type CpgIterationEntry } from '../cpg/groups.js';
import { ZeroCopyMaps } from '../cpg/zerocopy.js';
import type { NodeServices } from '../node-services.js';
import { BaseConn, type ClientInfo, type FrameSink, type ServiceDef } from './connection.js';

const bare = (id: number, error: number) => encoders.cpg.res.error({}, { id, error });
const DELIVER = codec.messageIndex('cpg.deliverCallback', 'evt');
const PARTIAL_DELIVER = codec.messageIndex('cpg.partialDeliverCallback', 'evt');

/** One cpg client connection: its member state in the node's cpg service, frames out. */
export class CpgConn extends BaseConn implements CpgClient {
  readonly member: CpgMember;
  /** The body of the last ITERATIONNEXT answer: the daemon sends it again with an error. */
  lastEntry: CpgIterationEntry = { group: new Uint8Array(0), nodeid: 0, pid: 0 };
  readonly zc = new ZeroCopyMaps();
  /** Deliveries are encoded into an event before deliver() returns. */
  readonly takesViews = true;

  constructor(node: NodeServices, sink: FrameSink, readonly uid: number) {
    super(node, sink);
    this.member = node.node.cpg.connect(this);
  }

  /** Lets the node's totem deliver what the request multicast (the reply went first). */
  deliver_(): void {
    this.member.node.bus.pump();
    this.member.keepLent();
  }

  confchg(group: Uint8Array, members: CpgAddress[], left: CpgAddress[], joined: CpgAddress[]): void {
    this.sink.sendEvent(encoders.cpg.evt.confchgCallback({ groupName: group, memberList: members, leftList: left, joinedList: joined }));
  }

  // Deliveries (up to 1 MiB) are encoded in place in codec memory when the sink sends or copies
  // them at once (FrameSink.takesViews): no fresh buffer per message and receiver.
  deliver(group: Uint8Array, nodeid: number, pid: number, message: Uint8Array): void {
    const fields = { groupName: group, nodeid, pid, message };
    this.sink.sendEvent(this.sink.takesViews ? codec.encodeView(DELIVER, fields) : encoders.cpg.evt.deliverCallback(fields));
  }

  partialDeliver(group: Uint8Array, nodeid: number, pid: number, msglen: number, type: number, fragment: Uint8Array): void {
    const fields = { groupName: group, msglen, nodeid, pid, type, fragment };
    this.sink.sendEvent(this.sink.takesViews ? codec.encodeView(PARTIAL_DELIVER, fields) : encoders.cpg.evt.partialDeliverCallback(fields));
  }

  totemConfchg(ring: RingId, members: readonly number[]): void {
    this.sink.sendEvent(encoders.cpg.evt.totemConfchgCallback({ ringId: { nodeid: ring.nodeid, seq: ring.seq }, memberList: [...members] }));
  }

  close(): void {
    this.member.close();
    this.zc.close();
    this.deliver_();
  }
}

/** A handler that multicasts: the node's totem delivers what it sent once the reply went. */
function fc<R>(handler: (c: CpgConn, req: R) => void): (c: CpgConn, req: R) => void {
  return (c, req) => {
    handler(c, req);
    c.deliver_();
  };
}

/** exec/cpg.c `cpg_lib_engine[]`. */
export const cpgService: ServiceDef<'cpg', CpgConn> = {
  service: 'cpg',
  open: (node, sink, info?: ClientInfo) => new CpgConn(node, sink, info?.uid ?? 0),
  flowControlled: ['join', 'leave', 'mcastJoined', 'finalize', 'zcbAlloc', 'zcbFree', 'zcbMcastJoined', 'partialMcast'],
  handlers: {
    join: fc((c, req) => {
      c.sink.respond(encoders.cpg.res.join({}, { error: c.member.join(req.cpgName('groupName'), req.num('pid'), req.num('flags')) }));
    }),
    leave: fc((c, req) => {
      c.sink.respond(encoders.cpg.res.leave({}, { error: c.member.leave(req.cpgName('groupName'), req.num('pid')) }));
    }),
    // never answered; the payload is msglen bytes, whatever the frame's size says
    mcastJoined: fc((c, req) => {
      c.member.mcast(req.bytesIn('message'));
    }),
    membershipGet(c, req) {
      c.sink.respond(encoders.cpg.res.membershipGet({ memberList: c.member.node.membership(req.cpgName('groupName')) }));
    },
    localGet(c) {
      c.sink.respond(encoders.cpg.res.localGet({ localNodeid: c.member.node.id }));
    },
    iterationInitialize(c, req) {
      const type = req.num('iterationType');
      // libcpg leaves the name unset unless ONE_GROUP (cpgtool -n sends garbage there)
      const group = type === CpgIterationType.ONE_GROUP ? req.cpgName('groupName') : new Uint8Array(0);
      c.sink.respond(encoders.cpg.res.iterationInitialize({ iterationHandle: c.member.node.iterationInitialize(type, group) }));
    },
    iterationNext(c, req) {
      const { error, entry } = c.member.node.iterationNext(req.big('iterationHandle'));
      if (entry !== undefined) c.lastEntry = entry;
      const e = c.lastEntry;
      c.sink.respond(encoders.cpg.res.iterationNext({ groupName: e.group, nodeid: e.nodeid, pid: e.pid }, { error }));
    },
    iterationFinalize(c, req) {
      c.sink.respond(encoders.cpg.res.iterationFinalize({}, { error: c.member.node.iterationFinalize(req.big('iterationHandle')) }));
    },
    finalize: fc((c) => {
      c.member.finalize();
      c.sink.respond(encoders.cpg.res.finalize({}));
    }),
    // ZC_ALLOC and ZC_FREE answer a bare id 0 header whatever happens (their error is never set)
    zcbAlloc: fc((c, req) => {
      c.zc.alloc(req.big('mapSize'), req.str('pathToFile'), c.uid);
      c.sink.respond(bare(0, CS_OK));
    }),
    zcbFree: fc((c, req) => {
      c.zc.free(req.big('serverAddress'));
      c.sink.respond(bare(0, CS_OK));
    }),
    zcbMcastJoined: fc((c, req) => {
      const message = c.zc.message(req.big('serverAddress'), c.uid);
      c.sink.respond(encoders.cpg.res.zcbMcastJoined({}, { error: message === undefined ? CS_ERR_NOT_EXIST : c.member.zcMcast(message) }));
    }),
    partialMcast: fc((c, req) => {
      const error = c.member.partial(req.num('msglen'), req.num('type'), req.bytesIn('fragment'));
      c.sink.respond(encoders.cpg.res.partialMcast({}, { error }));
    }),
  },
};
