import { encoders } from '@corosync-ts/codec-wasm';
import { CS_OK, CS_ERR_INVALID_PARAM, CS_ERR_NOT_EXIST, CS_ERR_NOT_SUPPORTED, CmapValueType as T } from '@corosync-ts/types';
import type { SimNode } from '../cluster.js';
import { parseCorosyncConf } from '../config.js';
import type { RequestView } from '../wire.js';
import { DEFAULT_SHUTDOWN_TIMEOUT, ShutdownTracker, type ShutdownParty } from './shutdown.js';
import { nodeAddrs, nodeStatus, ringStatus } from './status.js';

/** Where the frames of one cfg client go. */
export interface CfgSink {
  respond(frame: Uint8Array): void;
  sendEvent(frame: Uint8Array): void;
}

/** How a simulated node leaves through cfg: a shutdown (exit 0) or a kill by KILLNODE (a fatal error). */
export type CfgExit = 'shutdown' | 'killed';

/** What cfg keeps per node across its connections. */
interface CfgNodeState {
  shutdown: ShutdownTracker;
  /** GET_NODE_ADDRS answers an unknown node with the previous answer's family and count. */
  lastAddrs: { family: number; numAddrs: number };
}

const states = new WeakMap<SimNode, CfgNodeState>();

/** NODESTATUSGET's error answer is only res_lib_cfg_nodestatusget_version: header and version (left 0). */
function nodeStatusError(error: number): Uint8Array {
  const f = new Uint8Array(32);
  const dv = new DataView(f.buffer);
  dv.setInt32(0, 16, true);
  dv.setInt32(8, f.length, true);
  dv.setInt32(16, error, true);
  return f;
}

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

/** One client connection of the cfg service (exec/cfg.c lib handlers). */
export class CfgServiceConn implements ShutdownParty {
  private closed = false;

  constructor(private readonly sim: SimNode, private readonly sink: CfgSink, private readonly configSource: () => string) {}

  private get state(): CfgNodeState {
    return stateOf(this.sim);
  }

  handle(req: RequestView): void {
    const r = this.sink;
    const sim = this.sim;
    const nodes = sim.clusterNodes();
    switch (req.id) {
      case 0: { // RINGSTATUSGET
        const { names, statuses } = ringStatus(sim, nodes);
        return r.respond(encoders.cfg.res.ringStatusGet({ interfaceName: names, interfaceStatus: statuses }));
      }
      case 1: // RINGREENABLE: gone from corosync 3
        return r.respond(encoders.cfg.res.ringReenable({}, { error: CS_ERR_NOT_SUPPORTED }));
      case 2: { // KILLNODE
        const target = req.u32(16);
        const status = sim.cmap.getValue(`runtime.members.${target}.status`);
        if (status !== 'joined') return r.respond(encoders.cfg.res.killNode({}, { error: CS_ERR_NOT_EXIST }));
        r.respond(encoders.cfg.res.killNode({}));
        const victim = sim.clusterNode(target);
        if (victim !== undefined && victim.running && sim.members.includes(target)) exitNode(victim, 'killed');
        return;
      }
      case 3: // TRYSHUTDOWN: the answer may come much later
        return this.state.shutdown.tryShutdown(this, req.u32(16), (error) => {
          if (!this.closed) r.respond(encoders.cfg.res.tryShutdown({}, { error }));
        });
      case 4: // REPLYTOSHUTDOWN
        return r.respond(encoders.cfg.res.replytoShutdown({}, { error: this.state.shutdown.replyToShutdown(this, req.u32(16)) }));
      case 5: { // GET_NODE_ADDRS
        const st = this.state;
        const a = nodeAddrs(sim, nodes, req.u32(16), st.lastAddrs);
        if (a.error !== CS_OK) {
          const f = encoders.cfg.res.getNodeAddrs({ family: 0, numAddrs: 0, addrs: [] }, { error: a.error });
          new DataView(f.buffer, f.byteOffset, f.byteLength).setUint32(24, a.family, true);
          new DataView(f.buffer, f.byteOffset, f.byteLength).setUint32(28, a.numAddrs, true);
          return r.respond(f);
        }
        st.lastAddrs = { family: a.family, numAddrs: a.numAddrs };
        return r.respond(encoders.cfg.res.getNodeAddrs({ family: a.family, addrs: a.addrs }));
      }
      case 6: // LOCAL_GET
        return r.respond(encoders.cfg.res.localGet({ localNodeid: sim.id }));
      case 7: // RELOAD_CONFIG
        return r.respond(encoders.cfg.res.reloadConfig({}, { error: this.reload() }));
      case 8: // REOPEN_LOG_FILES
        return r.respond(encoders.cfg.res.reopenLogFiles({}));
      case 9: { // NODESTATUSGET
        const s = nodeStatus(sim, nodes, req.u32(16), req.u32(24));
        if (!('status' in s)) return r.respond(nodeStatusError(s.error));
        return r.respond(encoders.cfg.res.nodeStatusGet(s.status));
      }
      case 10: // TRACKSTART (its flags are ignored)
        return r.respond(encoders.cfg.res.trackstart({}, { error: this.state.shutdown.trackstart(this) }));
      case 11: // TRACKSTOP
        return r.respond(encoders.cfg.res.trackstop({}, { error: this.state.shutdown.trackstop(this) }));
    }
  }

  /** Every node rereads corosync.conf; one that does not parse leaves config.reload_status alone. */
  private reload(): number {
    try {
      parseCorosyncConf(this.configSource());
    } catch {
      return CS_ERR_INVALID_PARAM;
    }
    for (const n of this.sim.clusterNodes()) if (n.running) n.cmap.set('config.reload_status', T.INT32, CS_OK);
    return CS_OK;
  }

  testShutdown(flags: number): void {
    if (!this.closed) this.sink.sendEvent(encoders.cfg.evt.shutdownCallback({ flags }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state.shutdown.disconnect(this);
  }
}
