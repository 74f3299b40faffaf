import { encoders } from '@corosync-ts/codec-wasm';
import { CS_ERR_NOT_EXIST } from '@corosync-ts/types';
import { BaseConn, notSupported, type ServiceDef } from './connection.js';

const AF_INET = 2;
const AF_INET6 = 10;
/** cfg_get_node_addrs answers at most this many addresses (KNET_MAX_LINK). */
const MAX_ADDRS = 8;

function ipBytes(addr: string): { family: number; bytes: Uint8Array } | undefined {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
  if (v4) {
    const b = new Uint8Array(16);
    for (let i = 0; i < 4; i++) b[i] = Number(v4[i + 1]) & 255;
    return { family: AF_INET, bytes: b };
  }
  if (addr.includes(':')) {
    const b = new Uint8Array(16);
    const [head, tail = ''] = addr.split('::') as [string, string?];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t].slice(0, 8);
    groups.forEach((g, i) => {
      const v = Number.parseInt(g || '0', 16) & 0xffff;
      b[i * 2] = v >> 8;
      b[i * 2 + 1] = v & 255;
    });
    return { family: AF_INET6, bytes: b };
  }
  return undefined;
}

/** The cfg service keeps no per-connection state in the mock. */
export class CfgConn extends BaseConn {
  close(): void {}
}

/** exec/cfg.c `cfg_lib_engine[]`: the mock serves the node address and local node id queries only. */
export const cfgService: ServiceDef<'cfg', CfgConn> = {
  service: 'cfg',
  open: (node, sink) => new CfgConn(node, sink),
  handlers: {
    getNodeAddrs(c, req) {
      const want = req.num('nodeid') || c.sim.id;
      const target = c.sim.clusterNode(want);
      const parsed = (target?.addrs ?? []).map(ipBytes).filter((a) => a !== undefined)
        // corosync drops addresses whose first two bytes are zero (an ss_family cast bug)
        .filter((a) => a.bytes[0] !== 0 || a.bytes[1] !== 0)
        .slice(0, MAX_ADDRS);
      if (parsed.length === 0) {
        return c.sink.respond(encoders.cfg.res.getNodeAddrs({ family: 0, numAddrs: 0, addrs: [] }, { error: CS_ERR_NOT_EXIST }));
      }
      c.sink.respond(encoders.cfg.res.getNodeAddrs({ family: parsed[0]!.family, addrs: parsed.map((a) => a.bytes) }));
    },

    localGet(c) {
      c.sink.respond(encoders.cfg.res.localGet({ localNodeid: c.sim.id }));
    },

    ringStatusGet: notSupported,
    ringReenable: notSupported,
    killNode: notSupported,
    tryShutdown: notSupported,
    replytoShutdown: notSupported,
    reloadConfig: notSupported,
    reopenLogFiles: notSupported,
    nodeStatusGet: notSupported,
    trackstart: notSupported,
    trackstop: notSupported,
  },
};
