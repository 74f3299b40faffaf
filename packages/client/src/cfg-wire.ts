/** cfg's frames: apart from wire.ts so that they load with cfg, on its first use. */
import { encoders } from '@corosync-ts/codec-wasm';
import { CS_ERR_LIBRARY, CsError } from '@corosync-ts/types';
import { decodeAnswer, tag, type Answer } from './wire.js';

export const cfgReq = {
  ringStatusGet: () => tag<'cfg.ringStatusGet'>(encoders.cfg.req.ringStatusGet({})),
  killNode: (nodeid: number, reason: string) => tag<'cfg.killNode'>(encoders.cfg.req.killNode({ nodeid, reason })),
  tryShutdown: (flags: number) => tag<'cfg.tryShutdown'>(encoders.cfg.req.tryShutdown({ flags })),
  replytoShutdown: (response: number) => tag<'cfg.replytoShutdown'>(encoders.cfg.req.replytoShutdown({ response })),
  getNodeAddrs: (nodeid: number) => tag<'cfg.getNodeAddrs'>(encoders.cfg.req.getNodeAddrs({ nodeid })),
  localGet: () => tag<'cfg.localGet'>(encoders.cfg.req.localGet({})),
  reloadConfig: () => tag<'cfg.reloadConfig'>(encoders.cfg.req.reloadConfig({})),
  reopenLogFiles: () => tag<'cfg.reopenLogFiles'>(encoders.cfg.req.reopenLogFiles({})),
  nodeStatusGet: (nodeid: number, version: number) => tag<'cfg.nodeStatusGet'>(encoders.cfg.req.nodeStatusGet({ nodeid, version })),
  trackstart: (trackFlags: number) => tag<'cfg.trackstart'>(encoders.cfg.req.trackstart({ trackFlags })),
  trackstop: () => tag<'cfg.trackstop'>(encoders.cfg.req.trackstop({})),
};

/**
 * A cfg RINGSTATUSGET answer read as libcfg reads it: the header error is ignored, the names and
 * statuses are whatever the body holds.
 */
export function parseCfgRingStatus(res: Uint8Array, operation: string): Answer<'cfg.ringStatusGet'>['fields'] {
  // The codec reads an error answer's lists as empty: present the body as a CS_OK answer.
  const ok = res.slice();
  ok.fill(0, 16, 20);
  const d = decodeAnswer(ok, 'cfg', operation);
  if (d.name !== 'cfg.ringStatusGet' || d.dir !== 'res') throw new CsError(CS_ERR_LIBRARY, `unexpected answer ${d.name}`, { operation });
  return d.fields;
}

/** An answer whose header error the C library does not look at (cfg REPLYTOSHUTDOWN). */
export function parseTransportOnly(res: Uint8Array, operation: string): void {
  decodeAnswer(res, 'cfg', operation);
}
