// What each step of capture.c (and each stock-tool run) must have put on the wire, built from
// what the program did and what the library handed back: its arguments, its return values, its
// callbacks. Nothing here looks at the captured bytes except where noted (the opaque server
// pointer of the setup reply, which no API exposes).

import { setupExpectations } from './setup.mjs';

const CS_OK = 1;

/** The cmap store as this program changed it: key -> { type, hex }. */
export class CmapModel {
  constructor() {
    this.keys = new Map();
  }
  set(key, type, hex) {
    // strings are stored with their NUL (icmap), everything else verbatim
    this.keys.set(key, { type, hex: type === 11 ? `${hex}00` : hex });
  }
  adjust(key, step) {
    const e = this.keys.get(key);
    const widths = { 1: 8, 2: 8, 3: 16, 4: 16, 5: 32, 6: 32, 7: 64, 8: 64 };
    const bits = widths[e.type];
    const buf = Buffer.from(e.hex, 'hex');
    let v = 0n;
    for (let i = bits / 8 - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[i]);
    v = BigInt.asUintN(bits, v + BigInt(step));
    for (let i = 0; i < bits / 8; i++) buf[i] = Number((v >> BigInt(8 * i)) & 0xffn);
    e.hex = buf.toString('hex');
  }
}

function req(service, name, fields) {
  return { service, dir: 'req', name, fields };
}
function res(service, name, fields, error) {
  return { service, dir: 'res', name, fields, error };
}
function evt(service, name, fields) {
  return { service, dir: 'evt', name, fields, error: CS_OK };
}

const GET_ERROR_BODY = { valueLen: '0', type: 0, value: '' };

/**
 * Expected messages of one capture.c step.
 * @param step {op, ...args} as printed before the call
 * @param ret  {rc, ...}     as printed after it
 * @param evts callback facts printed during the step, in order
 */
export function expectCStep(step, ret, evts, model) {
  const rc = ret?.rc;
  switch (step.op) {
    // ------------------------------------------------------------------ cmap
    case 'cmap_initialize':
      return setupExpectations('cmap');
    case 'cmap_initialize_map':
      return [
        ...setupExpectations('cmap'),
        req('cmap', 'cmap.setCurrentMap', { map: step.map }),
        res('cmap', 'cmap.setCurrentMap', {}, rc),
      ];
    case 'cmap_finalize':
      return [];
    case 'cmap_set': {
      const len = step.value.length / 2;
      const out = [
        req('cmap', 'cmap.set', { keyName: step.key, valueLen: String(len), type: step.type, value: step.value }),
        res('cmap', 'cmap.set', {}, rc),
      ];
      if (rc === CS_OK) model.set(step.key, step.type, step.value);
      return out;
    }
    case 'cmap_get_int': {
      // cmap_get_<int> asks with a 16-byte scratch buffer; the library checks the type itself
      const stored = model.keys.get(step.key);
      const out = [req('cmap', 'cmap.get', { keyName: step.key, valueLen: '16' })];
      if (!stored) {
        out.push(res('cmap', 'cmap.get', GET_ERROR_BODY, 12));
        if (rc !== 12) throw new Error(`${step.key}: expected 12, program got ${rc}`);
      } else {
        out.push(res('cmap', 'cmap.get', { valueLen: String(stored.hex.length / 2), type: stored.type, value: stored.hex }, CS_OK));
        if (rc === CS_OK && !ret.value.startsWith(stored.hex)) {
          throw new Error(`${step.key}: model says ${stored.hex}, program read ${ret.value}`);
        }
      }
      return out;
    }
    case 'cmap_get_int_stats': {
      // a stats value is computed by the daemon: what the program read is the truth
      return [
        req('cmap', 'cmap.get', { keyName: step.key, valueLen: '16' }),
        res('cmap', 'cmap.get', { valueLen: '8', type: 8, value: ret.value.slice(0, 16) }, rc),
      ];
    }
    case 'cmap_get_string': {
      const v = ret.value; // hex with the NUL
      const len = String(v.length / 2);
      return [
        req('cmap', 'cmap.get', { keyName: step.key, valueLen: '0' }),
        res('cmap', 'cmap.get', { valueLen: len, type: 11, value: '' }, rc),
        req('cmap', 'cmap.get', { keyName: step.key, valueLen: len }),
        res('cmap', 'cmap.get', { valueLen: len, type: 11, value: v }, rc),
      ];
    }
    case 'cmap_get':
      return [
        req('cmap', 'cmap.get', { keyName: step.key, valueLen: String(step.cap) }),
        rc === CS_OK
          ? res('cmap', 'cmap.get', { valueLen: String(ret.len), type: ret.type, value: ret.value }, rc)
          : res('cmap', 'cmap.get', GET_ERROR_BODY, rc),
      ];
    case 'cmap_get_meta':
      return [
        req('cmap', 'cmap.get', { keyName: step.key, valueLen: '0' }),
        res('cmap', 'cmap.get', { valueLen: String(ret.len), type: ret.type, value: '' }, rc),
      ];
    case 'cmap_inc':
    case 'cmap_dec': {
      const s = step.op === 'cmap_inc' ? 1 : -1;
      if (rc === CS_OK) model.adjust(step.key, s);
      return [req('cmap', 'cmap.adjustInt', { keyName: step.key, step: s }), res('cmap', 'cmap.adjustInt', {}, rc)];
    }
    case 'cmap_delete':
      if (rc === CS_OK) model.keys.delete(step.key);
      return [req('cmap', 'cmap.delete', { keyName: step.key }), res('cmap', 'cmap.delete', {}, rc)];
    case 'cmap_iter_init':
      return [
        req('cmap', 'cmap.iterInit', { prefix: step.prefix ?? '' }),
        res('cmap', 'cmap.iterInit', { iterHandle: rc === CS_OK ? ret.iter : '0' }, rc),
      ];
    case 'cmap_iter_next':
      return [
        req('cmap', 'cmap.iterNext', { iterHandle: step.iter }),
        rc === CS_OK
          ? res('cmap', 'cmap.iterNext', { keyName: ret.key, valueLen: String(ret.len), type: ret.type }, rc)
          : res('cmap', 'cmap.iterNext', { keyName: '', valueLen: '0', type: 0 }, rc),
      ];
    case 'cmap_iter_finalize':
      return [req('cmap', 'cmap.iterFinalize', { iterHandle: step.iter }), res('cmap', 'cmap.iterFinalize', {}, rc)];
    case 'cmap_track_add':
      return [
        req('cmap', 'cmap.trackAdd', { keyName: step.key, trackType: step.type, trackInstHandle: step.cookie }),
        res('cmap', 'cmap.trackAdd', { trackHandle: rc === CS_OK ? ret.track : '0' }, rc),
      ];
    case 'cmap_track_delete':
      return [
        req('cmap', 'cmap.trackDelete', { trackHandle: step.track }),
        res('cmap', 'cmap.trackDelete', { trackInstHandle: rc === CS_OK ? step.cookie : '0' }, rc),
      ];
    case 'cmap_dispatch':
      return evts.map((e) =>
        evt('cmap', 'cmap.notify', {
          trackInstHandle: e.cookie,
          keyName: e.key,
          event: e.event,
          newValueType: e.newType,
          oldValueType: e.oldType,
          newValueLen: String(e.newLen),
          oldValueLen: String(e.oldLen),
          newValue: e.newValue,
          oldValue: e.oldValue,
        }),
      );

    // ---------------------------------------------------------------- quorum
    case 'quorum_initialize':
      return [
        ...setupExpectations('quorum'),
        req('quorum', 'quorum.gettype', {}),
        res('quorum', 'quorum.gettype', { quorumType: ret.quorumType }, rc),
      ];
    case 'quorum_model_initialize':
      return [
        ...setupExpectations('quorum'),
        req('quorum', 'quorum.modelGettype', { model: step.model }),
        res('quorum', 'quorum.modelGettype', { quorumType: ret.quorumType }, rc),
      ];
    case 'quorum_getquorate':
      return [req('quorum', 'quorum.getquorate', {}), res('quorum', 'quorum.getquorate', { quorate: ret.quorate }, rc)];
    case 'quorum_trackstart':
      return [req('quorum', 'quorum.trackstart', { trackFlags: step.flags }), res('quorum', 'quorum.trackstart', {}, rc)];
    case 'quorum_trackstop':
      return [req('quorum', 'quorum.trackstop', {}), res('quorum', 'quorum.trackstop', {}, rc)];
    case 'quorum_dispatch':
      return evts.map((e) => {
        switch (e.cb) {
          case 'quorum_v0':
            return evt('quorum', 'quorum.notification', {
              quorate: e.quorate,
              ringSeq: e.ringSeq,
              viewListEntries: e.viewList.length,
              viewList: e.viewList,
            });
          case 'quorum_v1_quorum':
            return evt('quorum', 'quorum.v1QuorumNotification', {
              quorate: e.quorate,
              ringId: e.ringId,
              viewListEntries: e.viewList.length,
              viewList: e.viewList,
            });
          case 'quorum_v1_nodelist':
            return evt('quorum', 'quorum.v1NodelistNotification', {
              ringId: e.ringId,
              memberListEntries: e.memberList.length,
              joinedListEntries: e.joinedList.length,
              leftListEntries: e.leftList.length,
              memberList: e.memberList,
              joinedList: e.joinedList,
              leftList: e.leftList,
            });
          default:
            throw new Error(`unexpected callback ${e.cb} in quorum_dispatch`);
        }
      });

    // ------------------------------------------------------------ votequorum
    case 'votequorum_initialize':
      return setupExpectations('votequorum');
    case 'votequorum_getinfo':
      return [
        req('votequorum', 'votequorum.getinfo', { nodeid: step.nodeid }),
        rc === CS_OK
          ? res(
              'votequorum',
              'votequorum.getinfo',
              {
                nodeid: ret.nodeid,
                state: ret.state,
                votes: ret.votes,
                expectedVotes: ret.expectedVotes,
                highestExpected: ret.highestExpected,
                totalVotes: ret.totalVotes,
                quorum: ret.quorum,
                flags: ret.flags,
                qdeviceVotes: ret.qdeviceVotes,
                qdeviceName: ret.qdeviceName,
              },
              rc,
            )
          : // the daemon leaves the body uninitialised (masked); zeros are what an encoder sends
            res(
              'votequorum',
              'votequorum.getinfo',
              {
                nodeid: 0,
                state: 0,
                votes: 0,
                expectedVotes: 0,
                highestExpected: 0,
                totalVotes: 0,
                quorum: 0,
                flags: 0,
                qdeviceVotes: 0,
                qdeviceName: '',
              },
              rc,
            ),
      ];
    case 'votequorum_setexpected':
      return [
        req('votequorum', 'votequorum.setexpected', { expectedVotes: step.expected }),
        res('votequorum', 'votequorum.status', {}, rc),
      ];
    case 'votequorum_setvotes':
      return [
        req('votequorum', 'votequorum.setvotes', { votes: step.votes, nodeid: step.nodeid }),
        res('votequorum', 'votequorum.status', {}, rc),
      ];
    case 'votequorum_trackstart':
      return [
        req('votequorum', 'votequorum.trackstart', { context: step.context, trackFlags: step.flags }),
        res('votequorum', 'votequorum.status', {}, rc),
      ];
    case 'votequorum_trackstop':
      return [req('votequorum', 'votequorum.trackstop', {}), res('votequorum', 'votequorum.status', {}, rc)];
    case 'votequorum_qdevice_register':
      return [req('votequorum', 'votequorum.qdeviceRegister', { name: step.name }), res('votequorum', 'votequorum.status', {}, rc)];
    case 'votequorum_qdevice_unregister':
      return [req('votequorum', 'votequorum.qdeviceUnregister', { name: step.name }), res('votequorum', 'votequorum.status', {}, rc)];
    case 'votequorum_qdevice_update':
      return [
        req('votequorum', 'votequorum.qdeviceUpdate', { oldname: step.oldname, newname: step.newname }),
        res('votequorum', 'votequorum.status', {}, rc),
      ];
    case 'votequorum_qdevice_poll':
      return [
        req('votequorum', 'votequorum.qdevicePoll', { name: step.name, castVote: step.castVote, ringId: step.ringId }),
        res('votequorum', 'votequorum.status', {}, rc),
      ];
    case 'votequorum_qdevice_master_wins':
      return [
        req('votequorum', 'votequorum.qdeviceMasterWins', { name: step.name, allow: step.allow }),
        res('votequorum', 'votequorum.status', {}, rc),
      ];
    case 'votequorum_dispatch':
      return evts.map((e) => {
        switch (e.cb) {
          case 'votequorum_quorum':
            return evt('votequorum', 'votequorum.quorumNotification', {
              quorate: e.quorate,
              context: e.context,
              nodeListEntries: e.nodeList.length,
              nodeList: e.nodeList,
            });
          case 'votequorum_expectedvotes':
            return evt('votequorum', 'votequorum.expectedvotesNotification', {
              context: e.context,
              expectedVotes: e.expectedVotes,
            });
          case 'votequorum_nodelist':
            return evt('votequorum', 'votequorum.nodelistNotification', {
              context: e.context,
              ringId: e.ringId,
              nodeListEntries: e.nodeList.length,
              nodeList: e.nodeList,
            });
          default:
            throw new Error(`unexpected callback ${e.cb} in votequorum_dispatch`);
        }
      });

    // ------------------------------------------------------------------- cfg
    case 'corosync_cfg_initialize':
      return setupExpectations('cfg');
    case 'corosync_cfg_local_get':
      return [req('cfg', 'cfg.localGet', {}), res('cfg', 'cfg.localGet', { localNodeid: ret.nodeid }, rc)];
    case 'corosync_cfg_get_node_addrs':
      return [
        req('cfg', 'cfg.getNodeAddrs', { nodeid: step.nodeid }),
        rc === CS_OK
          ? res('cfg', 'cfg.getNodeAddrs', { family: ret.family, numAddrs: ret.numAddrs, addrs: ret.addrs }, rc)
          : res('cfg', 'cfg.getNodeAddrs', { family: 0, numAddrs: 0, addrs: [] }, rc),
      ];
    default:
      throw new Error(`no expectation for op ${step.op}`);
  }
}


// ------------------------------------------------------------------ raw.c

/** (u)int8 arithmetic of ADJUST_INT: the daemon adds in the unsigned width of the type */
function wrap8(hex, step) {
  return ((parseInt(hex, 16) + step) & 0xff).toString(16).padStart(2, '0');
}

/**
 * Expected messages of one raw.c step. `o` is the oracle (capture.c oracle) for the quorum and
 * votequorum snapshots; `raw` keeps state across steps (values set, the iterator handle).
 * Requests to unknown ids have no catalog name: they are consumed ({skip: true}) but not kept;
 * their reply is the bare header ipc_glue.c sends (id 0, CS_ERR_INVALID_PARAM), which by the
 * naming convention is `cmap.set` for cmap (id 0 is SET's bare reply), `votequorum.status` for
 * votequorum, and `<service>.error` for the others.
 */
export function expectRawStep(step, ret, evts, facts, o, raw) {
  const e = ret?.error;
  if (step.op === 'raw_connect') return setupExpectations(step.service);
  if (step.op === 'raw_event') {
    // events were announced by the step before; filled in there
    return raw.pendingEvents.splice(0, evts.length);
  }
  if (step.what === 'unknown') {
    const svc = raw.service;
    const name = svc === 'cmap' ? 'cmap.set' : svc === 'votequorum' ? 'votequorum.status' : `${svc}.error`;
    if (e !== 7 || ret.id !== 0 || ret.size !== 24) throw new Error(`unknown id ${step.id} answered ${JSON.stringify(ret)}`);
    return [{ service: svc, dir: 'req', skip: true }, { ...res(svc, name, {}, e), viaGlue: true }];
  }
  switch (step.what) {
    case 'setCurrentMap':
      return [req('cmap', 'cmap.setCurrentMap', { map: step.map }), res('cmap', 'cmap.setCurrentMap', {}, e)];
    case 'set':
      raw.values.set(step.key, step.value);
      return [
        req('cmap', 'cmap.set', { keyName: step.key, valueLen: String(step.value.length / 2), type: step.type, value: step.value }),
        res('cmap', 'cmap.set', {}, e),
      ];
    case 'adjustInt':
      raw.values.set(step.key, wrap8(raw.values.get(step.key), step.step));
      return [req('cmap', 'cmap.adjustInt', { keyName: step.key, step: step.step }), res('cmap', 'cmap.adjustInt', {}, e)];
    case 'get': {
      const v = raw.values.get(step.key);
      const fact = facts.find((f) => f.value !== undefined);
      if (fact && fact.value !== v) throw new Error(`${step.key}: expected ${v} after wrap-around, program read ${fact.value}`);
      return [
        req('cmap', 'cmap.get', { keyName: step.key, valueLen: String(step.cap) }),
        res('cmap', 'cmap.get', { valueLen: '1', type: step.key === 'raw.u8' ? 2 : 1, value: v }, e),
      ];
    }
    case 'iterInit': {
      raw.iter = facts.find((f) => f.iterHandle !== undefined).iterHandle;
      return [req('cmap', 'cmap.iterInit', { prefix: step.prefix }), res('cmap', 'cmap.iterInit', { iterHandle: raw.iter }, e)];
    }
    case 'iterFinalize':
      return [req('cmap', 'cmap.iterFinalize', { iterHandle: step.iterHandle }), res('cmap', 'cmap.iterFinalize', {}, e)];
    case 'iterNext':
      return [
        req('cmap', 'cmap.iterNext', { iterHandle: step.iterHandle }),
        res('cmap', 'cmap.iterNext', { keyName: '', valueLen: '0', type: 0 }, e),
      ];
    case 'modelGettype':
      // the daemon fills quorum_type even when it refuses the model
      return [req('quorum', 'quorum.modelGettype', { model: step.model }), res('quorum', 'quorum.modelGettype', { quorumType: o.quorumType }, e)];
    case 'trackstart':
      if (raw.service === 'quorum') {
        if (step.flags & 3) {
          // a V0 connection (no MODEL_GETTYPE): the quorum notification only
          raw.pendingEvents.push(
            evt('quorum', 'quorum.notification', {
              quorate: o.v0.quorate,
              ringSeq: o.v0.ringSeq,
              viewListEntries: o.v0.viewList.length,
              viewList: o.v0.viewList,
            }),
          );
        }
        return [req('quorum', 'quorum.trackstart', { trackFlags: step.flags }), res('quorum', 'quorum.trackstart', {}, e)];
      }
      raw.pendingEvents.push(
        evt('votequorum', 'votequorum.nodelistNotification', {
          context: step.context,
          ringId: o.vqNodelist.ringId,
          nodeListEntries: o.vqNodelist.nodeList.length,
          nodeList: o.vqNodelist.nodeList,
        }),
        evt('votequorum', 'votequorum.quorumNotification', {
          quorate: o.vqQuorum.quorate,
          context: step.context,
          nodeListEntries: o.vqQuorum.nodeList.length,
          nodeList: o.vqQuorum.nodeList,
        }),
      );
      return [
        req('votequorum', 'votequorum.trackstart', { context: step.context, trackFlags: step.flags }),
        res('votequorum', 'votequorum.status', {}, e),
      ];
    case 'localGet':
      return [req('cfg', 'cfg.localGet', {}), res('cfg', 'cfg.localGet', { localNodeid: o.thisNodeId }, e)];
    default:
      throw new Error(`no expectation for raw step ${JSON.stringify(step)}`);
  }
}
