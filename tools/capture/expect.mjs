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
const NODE_STATUS_ERROR_BODY = {
  version: 0, nodeid: 0, reachable: 0, remote: 0, external: 0, onwireMin: 0, onwireMax: 0, onwireVer: 0, linkStatus: [],
};

/** cpg_max_atomic_msgsize_get(): IPC_REQUEST_SIZE - 1024 (lib/cpg.c) */
const CPG_MAX_ATOMIC = 1047552;
/** the bytes capture.c's pattern_byte() writes */
function patternHex(off, len) {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = ((off + i) * 7 + 3) & 0xff;
  return b.toString('hex');
}

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
    case 'corosync_cfg_ring_status_get':
      // libcfg ignores the header error: count and strings are what it copied out of the reply
      return [
        req('cfg', 'cfg.ringStatusGet', {}),
        res('cfg', 'cfg.ringStatusGet', { interfaceCount: ret.count, interfaceName: ret.names, interfaceStatus: ret.status }, rc),
      ];
    case 'corosync_cfg_node_status_get': {
      const { rc: _rc, k: _k, ...status } = ret;
      return [
        req('cfg', 'cfg.nodeStatusGet', { nodeid: step.nodeid, version: step.version }),
        rc === CS_OK
          ? res('cfg', 'cfg.nodeStatusGet', status, rc)
          : res('cfg', 'cfg.nodeStatusGet', NODE_STATUS_ERROR_BODY, rc),
      ];
    }
    case 'corosync_cfg_kill_node':
      return [req('cfg', 'cfg.killNode', { nodeid: step.nodeid, reason: step.reason }), res('cfg', 'cfg.killNode', {}, rc)];
    case 'corosync_cfg_trackstart':
      return [req('cfg', 'cfg.trackstart', { trackFlags: step.flags }), res('cfg', 'cfg.trackstart', {}, rc)];
    case 'corosync_cfg_trackstop':
      return [req('cfg', 'cfg.trackstop', {}), res('cfg', 'cfg.trackstop', {}, rc)];
    case 'corosync_cfg_try_shutdown':
      return [req('cfg', 'cfg.tryShutdown', { flags: step.flags }), res('cfg', 'cfg.tryShutdown', {}, rc)];
    case 'corosync_cfg_dispatch':
      return evts.map((e) => {
        if (e.cb !== 'cfg_shutdown') throw new Error(`unexpected callback ${e.cb} in corosync_cfg_dispatch`);
        return evt('cfg', 'cfg.shutdownCallback', { flags: e.flags });
      });
    case 'corosync_cfg_replyto_shutdown':
      // libcfg returns only the transport result. The try_shutdown session ended before this
      // vote (BUSY above), and exec/cfg.c answers a vote outside a session with CS_ERR_ACCESS.
      if (rc !== CS_OK) throw new Error(`replyto_shutdown transport failed: ${rc}`);
      return [req('cfg', 'cfg.replytoShutdown', { response: step.response }), res('cfg', 'cfg.replytoShutdown', {}, 11)];
    case 'corosync_cfg_reload_config':
      return [req('cfg', 'cfg.reloadConfig', {}), res('cfg', 'cfg.reloadConfig', {}, rc)];
    case 'corosync_cfg_reopen_log_files':
      return [req('cfg', 'cfg.reopenLogFiles', {}), res('cfg', 'cfg.reopenLogFiles', {}, rc)];

    // ------------------------------------------------------------------- cpg
    case 'cpg_model_initialize':
      model.cpg = { flags: step.flags, partials: [] };
      return setupExpectations('cpg');
    case 'cpg_local_get':
      model.cpg.nodeid = ret.nodeid;
      return [req('cpg', 'cpg.localGet', {}), res('cpg', 'cpg.localGet', { localNodeid: ret.nodeid }, rc)];
    case 'cpg_join':
      model.cpg.group = step.group;
      model.cpg.pid = step.pid;
      return [req('cpg', 'cpg.join', { groupName: step.group, pid: step.pid, flags: model.cpg.flags }), res('cpg', 'cpg.join', {}, rc)];
    case 'cpg_leave':
      return [req('cpg', 'cpg.leave', { groupName: step.group, pid: step.pid }), res('cpg', 'cpg.leave', {}, rc)];
    case 'cpg_finalize':
      return [req('cpg', 'cpg.finalize', {}), res('cpg', 'cpg.finalize', {}, rc)];
    case 'cpg_mcast_joined': {
      if (rc !== CS_OK) throw new Error(`cpg_mcast_joined failed: ${rc}`);
      if (step.msg !== undefined) {
        // one MCAST, no reply
        return [{ ...req('cpg', 'cpg.mcastJoined', { guarantee: step.guarantee, msglen: step.msg.length / 2, message: step.msg }), garbageError: true }];
      }
      // libcpg's fragmentation of one iovec: FIRST, CONTINUED..., LAST, each answered by PARTIAL_SEND
      const total = step.pattern;
      const out = [];
      for (let off = 0; off < total; off += CPG_MAX_ATOMIC) {
        const fraglen = Math.min(CPG_MAX_ATOMIC, total - off);
        const type = off === 0 ? 1 : off + fraglen === total ? 3 : 2;
        const fragment = patternHex(off, fraglen);
        out.push(
          { ...req('cpg', 'cpg.partialMcast', { guarantee: step.guarantee, msglen: total, fraglen, type, fragment }), garbageError: true },
          res('cpg', 'cpg.partialMcast', {}, CS_OK),
        );
        model.cpg.partials.push({ msglen: total, fraglen, type, fragment });
      }
      return out;
    }
    case 'cpg_dispatch': {
      const c = model.cpg;
      const partial = () => {
        const p = c.partials.shift();
        if (!p) throw new Error('a cpg event without callback, but no fragment outstanding');
        return { ...evt('cpg', 'cpg.partialDeliverCallback', { groupName: c.group, msglen: p.msglen, fraglen: p.fraglen, nodeid: c.nodeid, pid: c.pid, type: p.type, fragment: p.fragment }), garbageError: true };
      };
      // libcpg calls no callback for a FIRST or CONTINUED fragment
      if (evts.length === 0) return [partial()];
      return evts.map((e) => {
        if (e.cb === 'cpg_confchg') {
          return evt('cpg', 'cpg.confchgCallback', {
            groupName: e.group,
            memberListEntries: e.members.length,
            joinedListEntries: e.joined.length,
            leftListEntries: e.left.length,
            memberList: e.members,
            leftList: e.left,
            joinedList: e.joined,
          });
        }
        if (e.cb === 'cpg_totem_confchg') {
          return evt('cpg', 'cpg.totemConfchgCallback', {
            ringId: { nodeid: e.ringNodeid, seq: e.ringSeq },
            memberListEntries: e.members.length,
            memberList: e.members,
          });
        }
        if (e.cb === 'cpg_deliver' && e.pattern !== undefined) {
          // the LAST fragment: libcpg has checked nothing, the program checked every byte
          if (e.pattern !== 1 || e.nodeid !== c.nodeid || e.pid !== c.pid) throw new Error(`reassembled message differs: ${JSON.stringify(e)}`);
          const last = partial();
          if (last.fields.type !== 3) throw new Error('the reassembled message ended before its LAST fragment');
          return last;
        }
        if (e.cb === 'cpg_deliver') {
          return {
            ...evt('cpg', 'cpg.deliverCallback', { groupName: e.group, msglen: e.msglen, nodeid: e.nodeid, pid: e.pid, message: e.msg }),
            garbageError: true,
          };
        }
        throw new Error(`unexpected callback ${e.cb} in cpg_dispatch`);
      });
    }
    // ZC_ALLOC's and ZC_FREE's replies are bare headers with id 0 (read as cpg.join) and an
    // error nobody sets
    case 'cpg_zcb_alloc':
      // map_size = size + the 16-byte zc header + the 40-byte MCAST header (lib/cpg.c)
      if (ret.mapSize !== step.size + 56) throw new Error(`zc map_size ${ret.mapSize}`);
      return [
        req('cpg', 'cpg.zcbAlloc', { mapSize: String(ret.mapSize), pathToFile: ret.path }),
        { ...res('cpg', 'cpg.join', {}, rc), garbageError: true },
      ];
    case 'cpg_zcb_mcast_joined':
      return [req('cpg', 'cpg.zcbMcastJoined', { serverAddress: step.serverAddress }), res('cpg', 'cpg.zcbMcastJoined', {}, rc)];
    case 'cpg_zcb_free':
      return [
        req('cpg', 'cpg.zcbFree', { mapSize: String(step.mapSize), serverAddress: step.serverAddress }),
        { ...res('cpg', 'cpg.join', {}, rc), garbageError: true },
      ];
    case 'cpg_membership_get':
      // the daemon never sets `reason` (masked: read as 0)
      return [
        req('cpg', 'cpg.membershipGet', { groupName: step.group }),
        res('cpg', 'cpg.membershipGet', { memberCount: ret.members.length, memberList: ret.members.map((m) => ({ ...m, reason: 0 })) }, rc),
      ];
    case 'cpg_iteration_initialize': {
      const c = model.cpg;
      // ONE_GROUP only: otherwise libcpg leaves the group name uninitialised (masked: empty)
      return [
        req('cpg', 'cpg.iterationInitialize', { groupName: step.type === 2 ? step.group : '', iterationType: step.type }),
        {
          ...res('cpg', 'cpg.iterationInitialize', undefined, rc),
          // the daemon's iterator handle: the API hands out a client-side handle instead
          fill(bytes) {
            c.iter = Buffer.from(bytes).readBigUInt64LE(24).toString();
            return { iterationHandle: c.iter };
          },
        },
      ];
    }
    case 'cpg_iteration_next': {
      const c = model.cpg;
      return [
        { ...req('cpg', 'cpg.iterationNext', undefined), fill: () => ({ iterationHandle: c.iter }) },
        rc === CS_OK
          ? res('cpg', 'cpg.iterationNext', { groupName: ret.group, nodeid: ret.nodeid, pid: ret.pid }, rc)
          : res('cpg', 'cpg.iterationNext', { groupName: '', nodeid: 0, pid: 0 }, rc),
      ];
    }
    case 'cpg_iteration_finalize': {
      const c = model.cpg;
      return [{ ...req('cpg', 'cpg.iterationFinalize', undefined), fill: () => ({ iterationHandle: c.iter }) }, res('cpg', 'cpg.iterationFinalize', {}, rc)];
    }
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
    case 'ringReenable':
      // libcfg 3.1.7 has no call that sends it
      return [req('cfg', 'cfg.ringReenable', {}), res('cfg', 'cfg.ringReenable', {}, e)];
    default:
      throw new Error(`no expectation for raw step ${JSON.stringify(step)}`);
  }
}
