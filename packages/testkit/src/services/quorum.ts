import { encoders, type RingId } from '@corosync-ts/codec-wasm';
import {
  CS_OK, CS_ERR_EXIST, CS_ERR_INVALID_PARAM, CS_TRACK_CURRENT, CS_TRACK_CHANGES, QUORUM_MODEL_V0, QUORUM_MODEL_V1,
} from '@corosync-ts/types';
import { BaseConn, type ServiceDef } from './connection.js';

export class QuorumConn extends BaseConn {
  model = QUORUM_MODEL_V0;

  sendQuorum(): void {
    const sim = this.sim;
    if (this.model === QUORUM_MODEL_V1) {
      this.sink.sendEvent(encoders.quorum.evt.v1QuorumNotification({
        quorate: sim.quorate ? 1 : 0, ringId: { nodeid: sim.quorumRing.nodeid, seq: sim.quorumRing.seq }, viewList: sim.viewList,
      }));
    } else {
      this.sink.sendEvent(encoders.quorum.evt.notification({
        quorate: sim.quorate ? 1 : 0, ringSeq: sim.quorumRing.seq, viewList: sim.viewList,
      }));
    }
  }

  sendNodelist(members: readonly number[], joined: readonly number[], left: readonly number[], ring: RingId): void {
    this.sink.sendEvent(encoders.quorum.evt.v1NodelistNotification({
      ringId: { nodeid: ring.nodeid, seq: ring.seq }, memberList: [...members], joinedList: [...joined], leftList: [...left],
    }));
  }

  close(): void {
    this.node.untrackQuorum(this);
  }
}

/** exec/vsf_quorum.c `quorum_lib_service[]`. */
export const quorumService: ServiceDef<'quorum', QuorumConn> = {
  service: 'quorum',
  open: (node, sink) => new QuorumConn(node, sink),
  handlers: {
    getquorate(c) {
      c.sink.respond(encoders.quorum.res.getquorate({ quorate: c.sim.quorate ? 1 : 0 }));
    },

    trackstart(c, req) {
      const flags = req.num('trackFlags');
      if (flags & (CS_TRACK_CURRENT | CS_TRACK_CHANGES)) {
        if (c.model === QUORUM_MODEL_V1) c.sendNodelist(c.sim.members, [], [], c.sim.ring);
        c.sendQuorum();
      }
      const ok = c.node.trackQuorum(c, flags);
      c.sink.respond(encoders.quorum.res.trackstart({}, { error: ok ? CS_OK : CS_ERR_EXIST }));
    },

    trackstop(c) {
      // corosync answers CS_OK whether or not the connection was tracking
      c.node.untrackQuorum(c);
      c.sink.respond(encoders.quorum.res.trackstop({}));
    },

    gettype(c) {
      c.sink.respond(encoders.quorum.res.gettype({ quorumType: c.sim.quorumType }));
    },

    modelGettype(c, req) {
      const model = req.num('model');
      const ok = model === QUORUM_MODEL_V0 || model === QUORUM_MODEL_V1;
      if (ok) c.model = model;
      c.sink.respond(encoders.quorum.res.modelGettype({ quorumType: c.sim.quorumType }, { error: ok ? CS_OK : CS_ERR_INVALID_PARAM }));
    },
  },
};
