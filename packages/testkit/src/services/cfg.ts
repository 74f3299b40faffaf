import { encoders } from '@corosync-ts/codec-wasm';
import { CS_OK, CS_ERR_NOT_EXIST, CS_ERR_NOT_SUPPORTED, CmapValueType as T } from '@corosync-ts/types';
import { DEFAULT_SHUTDOWN_TIMEOUT, ShutdownTracker, type ShutdownParty } from '../cfg/shutdown.js';
import { nodeAddrs, nodeStatus, ringStatus } from '../cfg/status.js';
import type { SimNode } from '../cluster.js';
import { parseCorosyncConf, type ConfigEntry } from '../config.js';
import { BaseConn, type ServiceDef } from './connection.js';

/** How a simulated node leaves through cfg: a shutdown (exit 0) or a kill by KILLNODE (a fatal error). */
export type CfgExit = 'shutdown' | 'killed';

/** What cfg keeps per node across its connections. */
interface CfgNodeState {
  shutdown: ShutdownTracker;
  /** GET_NODE_ADDRS answers an unknown node with the previous answer's family and count. */
  lastAddrs: { family: number; numAddrs: number };
}

const states = new WeakMap<SimNode, CfgNodeState>();

/**
 * Ends a node the way cfg does, once the requester has its answer: SHUTDOWN runs the normal
 * shutdown (the others see it leave), KILLNODE dies at once. Listeners hear `cfgExit` first so
 * a daemon process can exit as corosync does.
 */
function exitNode(node: SimNode, how: CfgExit): void {
  setImmediate(() => {
    if (!node.running) return;
    for (const l of [...node.listeners]) l.cfgExit?.(how);
    if (!node.running) return;
    if (how === 'shutdown') node.stop();
    else node.kill();
  });
}

function stateOf(node: SimNode): CfgNodeState {
  let s = states.get(node);
  if (s === undefined) {
    s = {
      shutdown: new ShutdownTracker({
        clock: node.clock,
        // icmap_get_uint32: a value of another type does not count
        timeoutMs: () => {
          const v = node.cmap.get('cfg.shutdown_timeout')?.type === T.UINT32 ? node.cmap.getValue('cfg.shutdown_timeout') : undefined;
          return typeof v === 'number' ? v : DEFAULT_SHUTDOWN_TIMEOUT;
        },
        shutdown: () => exitNode(node, 'shutdown'),
      }),
      lastAddrs: { family: 0, numAddrs: 0 },
    };
    states.set(node, s);
  }
  return s;
}

/** NODESTATUSGET's error answer is only res_lib_cfg_nodestatusget_version: header and version (left 0). */
function nodeStatusError(error: number): Uint8Array {
  const f = new Uint8Array(32);
  const dv = new DataView(f.buffer);
  dv.setInt32(0, 16, true);
  dv.setInt32(8, f.length, true);
  dv.setInt32(16, error, true);
  return f;
}

/** One cfg client connection: a possible shutdown tracker and requester. */
export class CfgConn extends BaseConn implements ShutdownParty {
  private closed = false;

  get state(): CfgNodeState {
    return stateOf(this.sim);
  }

  testShutdown(flags: number, error = CS_OK): void {
    if (!this.closed) this.sink.sendEvent(encoders.cfg.evt.shutdownCallback({ flags }, { error }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state.shutdown.disconnect(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** exec/cfg.c `cfg_lib_engine[]`. */
export const cfgService: ServiceDef<'cfg', CfgConn> = {
  service: 'cfg',
  open: (node, sink) => new CfgConn(node, sink),
  flowControlled: ['ringStatusGet', 'ringReenable', 'killNode', 'tryShutdown', 'replytoShutdown', 'reloadConfig', 'trackstart', 'trackstop'],
  handlers: {
    ringStatusGet(c) {
      const { names, statuses } = ringStatus(c.sim, c.sim.clusterNodes());
      c.sink.respond(encoders.cfg.res.ringStatusGet({ interfaceName: names, interfaceStatus: statuses }));
    },
    // gone from corosync 3
    ringReenable(c) {
      c.sink.respond(encoders.cfg.res.ringReenable({}, { error: CS_ERR_NOT_SUPPORTED }));
    },
    killNode(c, req) {
      const target = req.num('nodeid');
      const sim = c.sim;
      if (sim.cmap.getValue(`runtime.members.${target}.status`) !== 'joined') {
        return c.sink.respond(encoders.cfg.res.killNode({}, { error: CS_ERR_NOT_EXIST }));
      }
      c.sink.respond(encoders.cfg.res.killNode({}));
      const victim = sim.clusterNode(target);
      if (victim !== undefined && victim.running && sim.members.includes(target)) exitNode(victim, 'killed');
    },
    // the answer may come much later (the trackers' votes, or the timeout)
    tryShutdown(c, req) {
      c.state.shutdown.tryShutdown(c, req.num('flags'), (error) => {
        if (!c.isClosed) c.sink.respond(encoders.cfg.res.tryShutdown({}, { error }));
      });
    },
    replytoShutdown(c, req) {
      c.sink.respond(encoders.cfg.res.replytoShutdown({}, { error: c.state.shutdown.replyToShutdown(c, req.num('response')) }));
    },
    getNodeAddrs(c, req) {
      const st = c.state;
      const a = nodeAddrs(c.sim, c.sim.clusterNodes(), req.num('nodeid'), st.lastAddrs);
      if (a.error !== CS_OK) {
        const f = encoders.cfg.res.getNodeAddrs({ family: 0, numAddrs: 0, addrs: [] }, { error: a.error });
        const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
        dv.setUint32(24, a.family, true);
        dv.setUint32(28, a.numAddrs, true);
        return c.sink.respond(f);
      }
      st.lastAddrs = { family: a.family, numAddrs: a.numAddrs };
      c.sink.respond(encoders.cfg.res.getNodeAddrs({ family: a.family, addrs: a.addrs }));
    },
    localGet(c) {
      c.sink.respond(encoders.cfg.res.localGet({ localNodeid: c.sim.id }));
    },
    // every node of the ring rereads corosync.conf when totem delivers the request; answered then
    reloadConfig(c) {
      let entries: ConfigEntry[] | undefined;
      try {
        entries = parseCorosyncConf(c.node.configSource());
      } catch {
        entries = undefined;
      }
      c.sim.reloadConfig(entries, (error) => {
        if (!c.isClosed) c.sink.respond(encoders.cfg.res.reloadConfig({}, { error }));
      });
    },
    reopenLogFiles(c) {
      c.sink.respond(encoders.cfg.res.reopenLogFiles({}));
    },
    nodeStatusGet(c, req) {
      const s = nodeStatus(c.sim, c.sim.clusterNodes(), req.num('nodeid'), req.num('version'));
      c.sink.respond('status' in s ? encoders.cfg.res.nodeStatusGet(s.status) : nodeStatusError(s.error));
    },
    // its flags are ignored
    trackstart(c) {
      c.sink.respond(encoders.cfg.res.trackstart({}, { error: c.state.shutdown.trackstart(c) }));
    },
    trackstop(c) {
      c.sink.respond(encoders.cfg.res.trackstop({}, { error: c.state.shutdown.trackstop(c) }));
    },
  },
};
