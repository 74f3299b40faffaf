import { encoders } from '@corosync-ts/codec-wasm';
import {
  CS_OK, CS_ERR_EXIST, CS_ERR_NOT_EXIST, CS_ERR_TRY_AGAIN, CS_TRACK_CURRENT, CS_TRACK_CHANGES, CS_TRACK_CHANGES_ONLY,
  VOTEQUORUM_QDEVICE_MAX_NAME_LEN,
} from '@corosync-ts/types';
import type { VotequorumEngine } from '../votequorum.js';
import { BaseConn, type ServiceDef } from './connection.js';

export class VotequorumConn extends BaseConn {
  context = 0n;

  status(error: number): void {
    this.sink.respond(encoders.votequorum.res.status({}, { error }));
  }

  sendQuorum(context: bigint): void {
    const vq = this.sim.vq;
    if (vq === undefined) return;
    this.sink.sendEvent(encoders.votequorum.evt.quorumNotification({
      quorate: vq.quorate ? 1 : 0, context, nodeList: vq.notificationNodes(),
    }));
  }

  sendNodelist(context: bigint): void {
    const vq = this.sim.vq;
    if (vq === undefined) return;
    this.sink.sendEvent(encoders.votequorum.evt.nodelistNotification({
      context, ringId: { nodeid: vq.ringId.nodeid, seq: vq.ringId.seq }, nodeList: [...vq.members],
    }));
  }

  sendExpected(context: bigint): void {
    const vq = this.sim.vq;
    if (vq === undefined) return;
    this.sink.sendEvent(encoders.votequorum.evt.expectedvotesNotification({ context, expectedVotes: vq.us.expectedVotes }));
  }

  close(): void {
    this.node.untrackVq(this);
    if (this.node.registeringQdevice === this) {
      this.node.registeringQdevice = undefined;
      this.sim.vq?.qdeviceRegisterAbandoned();
    }
  }
}

/** Cuts a string to at most `max` UTF-8 bytes (a char[N] field holds N-1 bytes and its NUL). */
function clampUtf8(s: string, max: number): string {
  const b = new TextEncoder().encode(s);
  if (b.length <= max) return s;
  return new TextDecoder().decode(b.subarray(0, max)).replace(/\uFFFD+$/, '');
}

/**
 * Runs a handler with the node's votequorum engine (CS_ERR_NOT_EXIST without one). What it
 * multicasts is delivered at the cluster's next totem step, after the answer, as in corosync.
 */
function withVq<R>(fn: (c: VotequorumConn, req: R, vq: VotequorumEngine) => void) {
  return (c: VotequorumConn, req: R): void => {
    const vq = c.sim.vq;
    if (vq === undefined) return c.status(CS_ERR_NOT_EXIST);
    fn(c, req, vq);
    c.sim.scheduleTotemStep();
  };
}

/** exec/votequorum.c `votequorum_lib_service[]`. */
export const votequorumService: ServiceDef<'votequorum', VotequorumConn> = {
  service: 'votequorum',
  open: (node, sink) => new VotequorumConn(node, sink),
  handlers: {
    getinfo: withVq((c, req, vq) => {
      // the C field is an int; the engine compares it as the unsigned nodeid it is
      const { error, info } = vq.getinfo(req.num('nodeid') >>> 0);
      c.sink.respond(encoders.votequorum.res.getinfo({
        nodeid: info.nodeid, state: info.state, votes: info.votes, expectedVotes: info.expectedVotes,
        highestExpected: info.highestExpected, totalVotes: info.totalVotes, quorum: info.quorum, flags: info.flags,
        qdeviceVotes: info.qdeviceVotes, qdeviceName: clampUtf8(info.qdeviceName, VOTEQUORUM_QDEVICE_MAX_NAME_LEN - 1),
      }, { error }));
    }),

    setexpected: withVq((c, req, vq) => c.status(vq.setExpected(req.num('expectedVotes')))),

    setvotes: withVq((c, req, vq) => c.status(vq.setVotes(req.num('nodeid') >>> 0, req.num('votes')))),

    trackstart: withVq((c, req) => {
      const ctx = req.big('context');
      const flags = req.num('trackFlags');
      if (flags & (CS_TRACK_CURRENT | CS_TRACK_CHANGES)) {
        c.sendNodelist(ctx);
        c.sendQuorum(ctx);
      }
      if (c.node.isVqTracker(c)) return c.status(CS_ERR_EXIST);
      if (flags & (CS_TRACK_CHANGES | CS_TRACK_CHANGES_ONLY)) {
        c.context = ctx;
        c.node.trackVq(c);
      }
      c.status(CS_OK);
    }),

    trackstop: withVq((c) => {
      if (!c.node.isVqTracker(c)) return c.status(CS_ERR_NOT_EXIST);
      c.node.untrackVq(c);
      c.status(CS_OK);
    }),

    qdeviceRegister: (c, req) => {
      const vq = c.sim.vq;
      if (vq === undefined) return c.status(CS_ERR_NOT_EXIST);
      if (c.node.registeringQdevice !== undefined && vq.qdeviceRegistrationPending) return c.status(CS_ERR_TRY_AGAIN);
      c.node.registeringQdevice = c;
      const err = vq.qdeviceRegister(req.str('name'));
      if (err !== undefined) {
        c.node.registeringQdevice = undefined;
        return c.status(err);
      }
      // answered by NodeServices.qdeviceRegisterDone once totem delivers our own message back
    },

    qdeviceUnregister: withVq((c, req, vq) => c.status(vq.qdeviceUnregister(req.str('name')))),

    qdeviceUpdate: withVq((c, req, vq) => c.status(vq.qdeviceUpdate(req.str('oldname'), req.str('newname')))),

    qdevicePoll: withVq((c, req, vq) => c.status(vq.qdevicePoll(req.str('name'), req.num('castVote') !== 0, req.ring('ringId')))),

    qdeviceMasterWins: withVq((c, req, vq) => c.status(vq.qdeviceMasterWinsSet(req.str('name'), req.num('allow') !== 0))),
  },
};
